//! Webhooks as LINE delivers them: signed, shaped per webhook.yml, redelivered after a
//! failure with the same event id, and reported back to the control call that caused them.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::json;
use sha2::Sha256;

use crate::helpers::{Receiver, SECRET, TestSandbox};

/// The signature algorithm written out independently of the sandbox.
fn line_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn webhooks_are_signed_as_line_signs_them() {
    // The algorithm is LINE's: it reproduces the published example.
    let body = br#"{"destination":"U8e742f61d673b39c7fff3cecb7536ef0","events":[]}"#;
    assert_eq!(line_signature("8c570fa6dd201bb328f1c1eac23a96d8", body), "GhRKmvmHys4Pi8DxkF4+EayaH0OqtJtaZxgTD9fMDLs=");

    let receiver = Receiver::start().await;
    let t = TestSandbox::delivering_to(&receiver).await;
    let id = t.friend("佐藤").await;
    t.act(&id, "text", Some(json!({"text": "署名 ✓"}))).await;
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    for delivery in &received {
        let signature = delivery.headers["x-line-signature"].to_str().unwrap();
        assert_eq!(signature, line_signature(SECRET, &delivery.body));
        assert_ne!(signature, line_signature("another secret", &delivery.body));
        assert!(delivery.headers["content-type"].to_str().unwrap().starts_with("application/json"));
        assert_eq!(delivery.headers["user-agent"], "LineBotWebhook/2.0");
        assert_eq!(delivery.json()["destination"], t.sandbox().bot_user_id());
    }
}

#[tokio::test]
async fn follow_message_postback_and_unfollow_events_are_shaped_as_line_sends_them() {
    let receiver = Receiver::start().await;
    let t = TestSandbox::delivering_to(&receiver).await;
    let id = t.resident("佐藤").await;
    t.act(&id, "follow", None).await;
    t.act(&id, "text", Some(json!({"text": "こんにちは"}))).await;
    t.act(&id, "postback", Some(json!({"data": "consent=yes", "display_text": "同意する"}))).await;
    t.act(&id, "block", None).await;
    t.act(&id, "follow", None).await;
    let events = receiver.events();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["follow", "message", "postback", "unfollow", "follow"]);
    for event in &events {
        assert_eq!(event["mode"], "active");
        assert_eq!(event["source"], json!({"type": "user", "userId": id}));
        assert_eq!(event["deliveryContext"], json!({"isRedelivery": false}));
        assert!(event["timestamp"].as_u64().unwrap() > 1_600_000_000_000);
        let ulid = event["webhookEventId"].as_str().unwrap();
        assert_eq!(ulid.len(), 26);
        assert!(ulid.bytes().all(|c| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&c)), "{ulid}");
        assert_eq!(event["replyToken"].is_string(), event["type"] != "unfollow", "{event}");
    }
    let ids: Vec<&str> = events.iter().map(|e| e["webhookEventId"].as_str().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "event ids are time-ordered: {ids:?}");
    assert_eq!(events[0]["follow"], json!({"isUnblocked": false}));
    assert_eq!(events[4]["follow"], json!({"isUnblocked": true}));
    let message = &events[1]["message"];
    assert_eq!((message["type"].as_str(), message["text"].as_str()), (Some("text"), Some("こんにちは")));
    assert!(message["id"].is_string() && message["quoteToken"].is_string());
    assert_eq!(events[2]["postback"], json!({"data": "consent=yes"}));
}

#[tokio::test]
async fn a_control_call_reports_what_the_webhook_receiver_answered() {
    let receiver = Receiver::answering(&[503]).await;
    let t = TestSandbox::delivering_to(&receiver).await;
    t.configure(json!({"redelivery": false})).await;
    let id = t.resident("佐藤").await;
    let failed = t.act(&id, "follow", None).await;
    assert_eq!(failed["delivered"], false);
    assert_eq!(failed["status"], 503);
    let ok = t.act(&id, "text", Some(json!({"text": "x"}))).await;
    assert_eq!((ok["delivered"].as_bool(), ok["status"].as_u64()), (Some(true), Some(200)));
    let events = receiver.events();
    assert_eq!(ok["events"], json!([events[1]["webhookEventId"]]));
}

#[tokio::test]
async fn a_failed_delivery_is_redelivered_with_the_same_event_and_is_redelivery_true() {
    let receiver = Receiver::answering(&[500, 500]).await;
    let t = TestSandbox::delivering_to(&receiver).await;
    let id = t.resident("佐藤").await;
    let report = t.act(&id, "follow", None).await;
    assert_eq!((report["delivered"].as_bool(), report["status"].as_u64()), (Some(false), Some(500)));
    let log = t.wait_for_attempts(3).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(t.webhook_log().await.len(), 3, "redelivery stops after the first 2xx");
    assert_eq!(log.iter().map(|a| a["status"].as_u64().unwrap()).collect::<Vec<_>>(), [500, 500, 200]);
    assert_eq!(log.iter().map(|a| a["is_redelivery"].as_bool().unwrap()).collect::<Vec<_>>(), [false, true, true]);
    let events = receiver.events();
    assert_eq!(events.len(), 3);
    for event in &events[1..] {
        assert_eq!(event["webhookEventId"], events[0]["webhookEventId"]);
        assert_eq!(event["timestamp"], events[0]["timestamp"]);
        assert_eq!(event["replyToken"], events[0]["replyToken"]);
        assert_eq!(event["deliveryContext"]["isRedelivery"], true);
    }
    assert_eq!(events[0]["deliveryContext"]["isRedelivery"], false);
    let signatures: Vec<String> = receiver.received().iter().map(|r| r.headers["x-line-signature"].to_str().unwrap().to_owned()).collect();
    assert_ne!(signatures[0], signatures[1], "a redelivered body differs, so it is signed anew");
}

#[tokio::test]
async fn redelivery_gives_up_after_three_more_attempts_and_can_be_turned_off() {
    let receiver = Receiver::answering(&[500; 10]).await;
    let t = TestSandbox::delivering_to(&receiver).await;
    let id = t.resident("佐藤").await;
    t.act(&id, "follow", None).await;
    t.wait_for_attempts(4).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(t.webhook_log().await.len(), 4);

    t.configure(json!({"redelivery": false})).await;
    t.act(&id, "text", Some(json!({"text": "x"}))).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(t.webhook_log().await.len(), 5);
}

#[tokio::test]
async fn a_receiver_slower_than_the_timeout_counts_as_failed_with_no_status() {
    let receiver = Receiver::slow(Duration::from_millis(500)).await;
    let t = TestSandbox::delivering_to(&receiver).await;
    t.configure(json!({"webhook_timeout_ms": 100, "redelivery": false})).await;
    let id = t.resident("佐藤").await;
    let report = t.act(&id, "follow", None).await;
    assert_eq!(report["delivered"], false);
    assert!(report["status"].is_null());
    let log = t.webhook_log().await;
    assert!(log[0]["status"].is_null());
    assert!(log[0]["error"].as_str().unwrap().contains("100 ms"), "{}", log[0]);
}

#[tokio::test]
async fn without_a_webhook_url_actions_still_happen_but_nothing_is_delivered() {
    let t = TestSandbox::start().await;
    let id = t.resident("佐藤").await;
    let report = t.act(&id, "follow", None).await;
    assert_eq!(report["delivered"], false);
    assert_eq!(report["events"].as_array().unwrap().len(), 1);
    let resident = t.control(Method::GET, &format!("/sandbox/residents/{id}"), None, 200).await;
    assert_eq!(resident["friendship"], "friend");
    assert!(t.webhook_log().await.is_empty());
}

#[tokio::test]
async fn actions_that_do_not_fit_the_friendship_or_name_no_resident_are_refused() {
    let t = TestSandbox::start().await;
    let id = t.resident("佐藤").await;
    let path = |action: &str| format!("/sandbox/residents/{id}/{action}");
    let refused = t.control(Method::POST, &path("text"), Some(json!({"text": "x"})), 409).await;
    assert!(refused["error"].as_str().unwrap().contains("not added"), "{refused}");
    t.control(Method::POST, &path("block"), None, 409).await;
    t.control(Method::POST, &path("follow"), None, 200).await;
    t.control(Method::POST, &path("follow"), None, 409).await;
    t.control(Method::POST, &path("block"), None, 200).await;
    t.control(Method::POST, &path("postback"), Some(json!({"data": "x"})), 409).await;
    t.control(Method::POST, &path("text"), Some(json!({"txt": "x"})), 400).await;
    t.control(Method::POST, "/sandbox/residents/Unobody/follow", None, 404).await;
    t.control(Method::PUT, "/sandbox/config", Some(json!({"webhook_url": "not a url"})), 400).await;
    let residents = t.control(Method::GET, "/sandbox/residents", None, 200).await;
    assert_eq!(residents[0]["friendship"], "blocked");
    assert_eq!((residents[0]["friend"].as_bool(), residents[0]["blocked"].as_bool()), (Some(false), Some(true)));
}
