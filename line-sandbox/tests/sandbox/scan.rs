//! Scanning a venue's code: a tiny stand-in for the server redirects good codes to the
//! sandbox's `oaMessage` deep link and answers bad ones with a Japanese page.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{Receiver, TestSandbox};

/// Serves `/c/{code}`: `GOOD…` codes redirect (303) to `deep_link_base`'s oaMessage link for
/// `basic_id`; anything else is a 404 page in Japanese.
async fn venue_server(deep_link_base: String, basic_id: &'static str) -> String {
    let app = Router::new().route(
        "/c/{code}",
        get(move |Path(code): Path<String>| {
            let base = deep_link_base.clone();
            async move {
                if code.starts_with("GOOD") {
                    let text = percent_encode(&format!("チェックイン {code}"));
                    let location = format!("{base}/R/oaMessage/{}/?{text}", percent_encode(basic_id));
                    (StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response()
                } else {
                    let page = "<!DOCTYPE html><html lang=\"ja\"><head><title>このコードは使えません</title></head><body>無効</body></html>";
                    (StatusCode::NOT_FOUND, Html(page)).into_response()
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[tokio::test]
async fn scanning_a_code_that_leads_to_the_deep_link_adds_the_account_and_sends_the_text() {
    let receiver = Receiver::start().await;
    let t = TestSandbox::delivering_to(&receiver).await;
    let venue = venue_server(t.handle.base_url().replace("127.0.0.1", "localhost"), "@oshirase").await;
    let id = t.resident("佐藤").await;
    let report = t.act(&id, "scan", Some(json!({"url": format!("{venue}/c/GOOD1234")}))).await;
    assert_eq!(report["outcome"], "message_sent", "{report}");
    assert_eq!(report["text"], "チェックイン GOOD1234");
    assert_eq!((report["followed"].as_bool(), report["delivered"].as_bool(), report["status"].as_u64()), (Some(true), Some(true), Some(200)));
    let events = receiver.events();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["follow", "message"]);
    assert_eq!(events[1]["message"]["text"], "チェックイン GOOD1234");
    assert!(events[1]["replyToken"].is_string());
    assert_eq!(report["events"], json!([events[0]["webhookEventId"], events[1]["webhookEventId"]]));

    // A friend scanning again only sends the message.
    let again = t.act(&id, "scan", Some(json!({"url": format!("{venue}/c/GOOD5678")}))).await;
    assert_eq!((again["outcome"].as_str(), again["followed"].as_bool()), (Some("message_sent"), Some(false)));
    assert_eq!(receiver.events().len(), 3);
}

#[tokio::test]
async fn a_blocked_resident_who_scans_unblocks_first() {
    let receiver = Receiver::start().await;
    let t = TestSandbox::delivering_to(&receiver).await;
    let venue = venue_server(t.handle.base_url(), "@oshirase").await;
    let id = t.friend("佐藤").await;
    t.act(&id, "block", None).await;
    t.act(&id, "scan", Some(json!({"url": format!("{venue}/c/GOOD1")}))).await;
    let events = receiver.events();
    assert_eq!(events[2]["type"], "follow");
    assert_eq!(events[2]["follow"], json!({"isUnblocked": true}));
    assert_eq!(events[3]["type"], "message");
}

#[tokio::test]
async fn scanning_a_code_that_shows_a_page_delivers_nothing() {
    let receiver = Receiver::start().await;
    let t = TestSandbox::delivering_to(&receiver).await;
    let venue = venue_server(t.handle.base_url(), "@oshirase").await;
    let id = t.resident("佐藤").await;
    let report = t.act(&id, "scan", Some(json!({"url": format!("{venue}/c/BAD")}))).await;
    assert_eq!(report, json!({"outcome": "page", "status": 404, "title": "このコードは使えません"}));
    assert!(receiver.events().is_empty());
    let resident = t.control(Method::GET, &format!("/sandbox/residents/{id}"), None, 200).await;
    assert_eq!(resident["friendship"], "not_friend");
}

#[tokio::test]
async fn a_deep_link_to_another_account_or_host_sends_nothing() {
    let receiver = Receiver::start().await;
    let t = TestSandbox::delivering_to(&receiver).await;
    let id = t.resident("佐藤").await;
    let other_account = venue_server(t.handle.base_url(), "@someone").await;
    let real_line = venue_server("https://line.me".to_owned(), "@oshirase").await;
    for venue in [other_account, real_line] {
        let report = t.act(&id, "scan", Some(json!({"url": format!("{venue}/c/GOOD1")}))).await;
        assert_eq!((report["outcome"].as_str(), report["status"].as_u64()), (Some("redirect"), Some(303)), "{report}");
    }
    let unreachable = t.act(&id, "scan", Some(json!({"url": "http://127.0.0.1:1/c/X"}))).await;
    assert_eq!(unreachable["outcome"], "unreachable");
    assert!(receiver.events().is_empty());
}

#[tokio::test]
async fn the_deep_link_page_asks_for_the_line_app_in_japanese_and_shows_the_text() {
    let t = TestSandbox::start().await;
    t.resident("佐藤").await;
    let link = t.sandbox().deep_link("チェックイン ABC+1");
    assert!(link.starts_with(&format!("{}/R/oaMessage/%40oshirase/?", t.handle.base_url())), "{link}");
    let response = t.http.get(&link).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("<html lang=\"ja\">"));
    assert!(html.contains("LINEアプリで開いてください"));
    assert!(html.contains("チェックイン ABC+1"), "the prefilled text, with its plus sign");
    assert!(html.contains("form class=\"send-as\""));
}
