//! `POST /line/webhook` through `app()`: signatures, idempotency and what each event
//! stores. (Replies are checked end to end against the LINE sandbox in `tests/`.)

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use oshirase_server::line::signature::sign;
use secrecy::SecretString;
use serde_json::{Value, json};
use support::{TestApp, json_body};

const SECRET: &str = "8c570fa6dd201bb328f1c1eac23a96d8";
const USER: &str = "U4af4980629a1b2c3d4e5f60718293a4b";

struct Line {
    app: TestApp,
    next: std::cell::Cell<u64>,
}

impl Line {
    fn new() -> Line {
        Line { app: TestApp::new().with_line_channel(SECRET), next: std::cell::Cell::new(0) }
    }

    fn event_id(&self) -> String {
        self.next.set(self.next.get() + 1);
        format!("01JEVENT{:018}", self.next.get())
    }

    async fn deliver(&self, events: Vec<Value>) -> Response {
        let body = json!({ "destination": "Ubot", "events": events }).to_string();
        let signature = sign(&SecretString::from(SECRET), body.as_bytes());
        self.deliver_raw(body, Some(&signature)).await
    }

    async fn deliver_raw(&self, body: String, signature: Option<&str>) -> Response {
        let mut request = Request::post("/line/webhook").header(header::CONTENT_TYPE, "application/json");
        if let Some(signature) = signature {
            request = request.header("x-line-signature", signature);
        }
        self.app.send(request.body(Body::from(body)).unwrap()).await
    }

    async fn venue_code(&self) -> String {
        let form = json!({
            "business_type": "cinema_theatre", "daily_visitors": 500, "name": "シネマ浦和 スクリーン2",
            "postal_code": "330-9301", "address": "埼玉県さいたま市浦和区高砂3-15-1", "phone": "048-824-2111", "email": "cinema@example.jp"
        });
        let body = json_body(self.app.post_json("/api/v1/venues", &form.to_string()).await).await;
        body["venues"][0]["code"].as_str().unwrap().to_owned()
    }

    fn base(&self, kind: &str, id: &str, extra: Value) -> Value {
        let mut event = json!({
            "type": kind, "mode": "active", "timestamp": now_ms() - 60_000,
            "source": { "type": "user", "userId": USER },
            "webhookEventId": id, "deliveryContext": { "isRedelivery": false }, "replyToken": format!("reply-{id}")
        });
        event.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        event
    }

    fn follow(&self) -> Value {
        self.base("follow", &self.event_id(), json!({ "follow": { "isUnblocked": false } }))
    }

    fn text(&self, id: &str, text: &str) -> Value {
        self.base("message", id, json!({ "message": { "id": "m1", "type": "text", "quoteToken": "q", "text": text } }))
    }

    fn postback(&self, data: &str) -> Value {
        self.base("postback", &self.event_id(), json!({ "postback": { "data": data } }))
    }
}

fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap()
}

#[tokio::test]
async fn a_forged_or_missing_signature_is_refused_and_nothing_is_stored() {
    let line = Line::new();
    let body = json!({ "destination": "Ubot", "events": [line.follow()] }).to_string();
    let forged = sign(&SecretString::from("another secret"), body.as_bytes());
    assert_eq!(line.deliver_raw(body.clone(), Some(&forged)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(line.deliver_raw(body.clone(), None).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(line.deliver_raw(body, Some("not base64")).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(line.app.count("residents"), 0);
    assert_eq!(line.app.count("webhook_events"), 0);
}

#[tokio::test]
async fn lines_connectivity_check_and_its_published_example_are_answered() {
    let line = Line::new();
    let body = r#"{"destination":"U8e742f61d673b39c7fff3cecb7536ef0","events":[]}"#.to_owned();
    assert_eq!(line.deliver_raw(body, Some("GhRKmvmHys4Pi8DxkF4+EayaH0OqtJtaZxgTD9fMDLs=")).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_a_channel_the_webhook_is_unavailable() {
    let app = TestApp::new();
    let response = app.send(Request::post("/line/webhook").body(Body::from("{}")).unwrap()).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn a_signed_but_malformed_body_is_refused() {
    let line = Line::new();
    let body = "{\"destination\": ".to_owned();
    let signature = sign(&SecretString::from(SECRET), body.as_bytes());
    assert_eq!(line.deliver_raw(body, Some(&signature)).await.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_first_time_scan_waits_for_consent_then_becomes_a_visit() {
    let line = Line::new();
    let code = line.venue_code().await;
    assert_eq!(line.deliver(vec![line.follow()]).await.status(), StatusCode::OK);
    assert_eq!(line.app.count("residents"), 1);

    let scan = line.event_id();
    assert_eq!(line.deliver(vec![line.text(&scan, &format!("来場登録 {code}"))]).await.status(), StatusCode::OK);
    assert_eq!((line.app.count("pending_scans"), line.app.count("visits")), (1, 0), "no visit before consent");

    assert_eq!(line.deliver(vec![line.postback("consent=2026-11")]).await.status(), StatusCode::OK);
    assert_eq!((line.app.count("pending_scans"), line.app.count("visits")), (0, 1));

    // LINE redelivers the scan: still one visit.
    let mut again = line.text(&scan, &format!("来場登録 {code}"));
    again["deliveryContext"]["isRedelivery"] = json!(true);
    assert_eq!(line.deliver(vec![again]).await.status(), StatusCode::OK);
    assert_eq!(line.app.count("visits"), 1);

    // Sending the check-in again a minute later (a double tap) is the same visit.
    let mut later = line.text(&line.event_id(), &format!("来場登録 {code}"));
    later["timestamp"] = json!(now_ms());
    line.deliver(vec![later]).await;
    assert_eq!(line.app.count("visits"), 1, "a repeat within the window is the same visit");
}

#[tokio::test]
async fn declining_consent_stores_no_visit() {
    let line = Line::new();
    let code = line.venue_code().await;
    line.deliver(vec![line.follow(), line.text(&line.event_id(), &format!("来場登録 {code}"))]).await;
    line.deliver(vec![line.postback("consent=decline")]).await;
    assert_eq!((line.app.count("pending_scans"), line.app.count("visits")), (0, 0));
}

#[tokio::test]
async fn standby_unknown_and_placeholder_events_are_accepted_and_ignored() {
    let line = Line::new();
    let code = line.venue_code().await;
    let mut standby = line.text(&line.event_id(), &format!("来場登録 {code}"));
    standby["mode"] = json!("standby");
    let beacon = line.base("beacon", &line.event_id(), json!({ "beacon": { "hwid": "d41d8cd98f", "type": "enter" } }));
    let mut placeholder = line.follow();
    placeholder["source"]["userId"] = json!("U123");
    assert_eq!(line.deliver(vec![standby, beacon, placeholder]).await.status(), StatusCode::OK);
    assert_eq!(line.app.count("pending_scans"), 0, "standby events are not ours to act on");
    assert_eq!(line.app.count("residents"), 1, "the placeholder user was welcomed");
}

#[tokio::test]
async fn unfollow_marks_the_resident_blocked_and_follow_unblocks() {
    let line = Line::new();
    line.deliver(vec![line.follow()]).await;
    let unfollow = json!({
        "type": "unfollow", "mode": "active", "timestamp": now_ms(), "source": { "type": "user", "userId": USER },
        "webhookEventId": line.event_id(), "deliveryContext": { "isRedelivery": false }
    });
    line.deliver(vec![unfollow]).await;
    let blocked = |app: &TestApp| -> i64 {
        rusqlite::Connection::open(&app.db).unwrap().query_row("SELECT count(*) FROM residents WHERE blocked_at_ms IS NOT NULL", [], |r| r.get(0)).unwrap()
    };
    assert_eq!(blocked(&line.app), 1);
    line.deliver(vec![line.follow()]).await;
    assert_eq!(blocked(&line.app), 0);
}

#[tokio::test]
async fn deleting_from_the_chat_removes_everything_of_the_resident() {
    let line = Line::new();
    let code = line.venue_code().await;
    line.deliver(vec![line.follow(), line.postback("consent=2026-11"), line.text(&line.event_id(), &format!("来場登録 {code}"))]).await;
    assert_eq!(line.app.count("visits"), 1);
    line.deliver(vec![line.text(&line.event_id(), "削除")]).await;
    assert_eq!(line.app.count("visits"), 1, "asking is not deleting");
    let until = now_ms() + 60_000;
    line.deliver(vec![line.postback(&format!("delete=confirm&until={until}"))]).await;
    assert_eq!((line.app.count("residents"), line.app.count("visits"), line.app.count("pending_scans")), (0, 0, 0));
}

#[tokio::test]
async fn an_expired_deletion_button_deletes_nothing() {
    let line = Line::new();
    line.deliver(vec![line.follow(), line.postback("consent=2026-11")]).await;
    line.deliver(vec![line.postback(&format!("delete=confirm&until={}", now_ms() - 1))]).await;
    assert_eq!(line.app.count("residents"), 1);
}

#[tokio::test]
async fn events_are_counted_in_the_metrics() {
    let line = Line::new();
    line.deliver(vec![line.follow(), line.text(&line.event_id(), "こんにちは")]).await;
    let metrics = support::text(line.app.get("/metrics").await).await;
    assert!(metrics.contains("oshirase_line_webhook_events_total 2"), "{metrics}");
}
