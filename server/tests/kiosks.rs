//! Kiosk pairing and kiosk codes through `app()`: a venue asks for a pairing code, a kiosk
//! redeems it once, its rotating codes lead into LINE while fresh and are refused when old,
//! forged or revoked, and a resident's check-in with one lands at the kiosk's place at the
//! code's own time.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use oshirase_common::kiosk_token::{KioskId, KioskSecret, KioskToken, Steps};
use oshirase_server::line::signature::sign;
use secrecy::SecretString;
use serde_json::{Value, json};
use support::{TestApp, json_body, text};

const SECRET: &str = "kiosk-test-channel-secret";

fn venue() -> String {
    json!({
        "business_type": "sports", "daily_visitors": 800, "name": "市民体育館 メインアリーナ",
        "postal_code": "330-9301", "address": "埼玉県さいたま市浦和区高砂3-15-1", "phone": "048-824-2111", "email": "gym@example.jp"
    })
    .to_string()
}

async fn bearer_post(app: &TestApp, path: &str, token: &str) -> axum::response::Response {
    app.send(Request::post(path).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap()).await
}

struct Paired {
    manage_token: String,
    sync_token: String,
    location: String,
    kiosk: KioskId,
    secret: KioskSecret,
}

async fn pair(app: &TestApp) -> Paired {
    let body = json_body(app.post_json("/api/v1/venues", &venue()).await).await;
    let manage_token = body["registration"]["manage_token"].as_str().unwrap().to_owned();
    let location = body["venues"][0]["location_id"].as_str().unwrap().to_owned();
    let code = bearer_post(app, &format!("/api/v1/manage/venues/{location}/kiosks"), &manage_token).await;
    assert_eq!(code.status(), StatusCode::CREATED);
    let code = json_body(code).await;
    let pairing_code = code["pairing_code"].as_str().unwrap().to_owned();
    assert!(code["pair_command"].as_str().unwrap().contains(&pairing_code));
    let paired = app.post_json("/api/v1/kiosks/pair", &json!({ "pairing_code": pairing_code.to_lowercase() }).to_string()).await;
    assert_eq!(paired.status(), StatusCode::CREATED);
    let paired = json_body(paired).await;
    assert_eq!(paired["location_id"], location.as_str());
    assert_eq!(paired["venue_name"], "市民体育館 メインアリーナ");
    assert_eq!(paired["step_seconds"], 30);
    let secret: [u8; 32] = STANDARD.decode(paired["kiosk_secret"].as_str().unwrap()).unwrap().try_into().unwrap();
    // The same code never pairs twice.
    let again = app.post_json("/api/v1/kiosks/pair", &json!({ "pairing_code": pairing_code }).to_string()).await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let sync_token = paired["sync_token"].as_str().unwrap().to_owned();
    Paired { manage_token, sync_token, location, kiosk: KioskId::parse(paired["kiosk_id"].as_str().unwrap()).unwrap(), secret: KioskSecret::new(secret) }
}

fn now_step() -> u64 {
    Steps { seconds: 30 }.at(u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap())
}

#[tokio::test]
async fn a_paired_kiosks_fresh_code_leads_into_line_and_old_forged_or_revoked_ones_are_refused() {
    let app = TestApp::new();
    let k = pair(&app).await;
    let fresh = KioskToken::issue(&k.kiosk, &k.secret, now_step());
    let scanned = app.get(&format!("/K/{fresh}")).await;
    assert_eq!(scanned.status(), StatusCode::SEE_OTHER);
    let location = scanned.headers()[header::LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with("https://line.me/R/oaMessage/%40oshirase/?") && location.ends_with(&format!("%20{fresh}")), "{location}");

    // A photo of the screen ten minutes later.
    let old = KioskToken::issue(&k.kiosk, &k.secret, now_step() - 20);
    let refused = app.get(&format!("/k/{old}")).await;
    assert_eq!(refused.status(), StatusCode::GONE);
    assert!(text(refused).await.contains("有効期限が切れています"));

    let forged = KioskToken::issue(&k.kiosk, &KioskSecret::new([0; 32]), now_step());
    assert_eq!(app.get(&format!("/k/{forged}")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get("/k/not-a-token").await.status(), StatusCode::NOT_FOUND);

    let revoked = bearer_post(&app, &format!("/api/v1/manage/kiosks/{}/revoke", k.kiosk.as_str()), &k.manage_token).await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(json_body(revoked).await["status"], "revoked");
    let after = app.get(&format!("/k/{}", KioskToken::issue(&k.kiosk, &k.secret, now_step()))).await;
    assert_eq!(after.status(), StatusCode::GONE);
    assert!(text(after).await.contains("このQRコードは現在受け付けていません"));
}

#[tokio::test]
async fn only_the_places_own_registration_can_ask_for_pairing_codes_and_revoke() {
    let app = TestApp::new();
    let k = pair(&app).await;
    let other = json_body(app.post_json("/api/v1/venues", &venue()).await).await;
    let other_token = other["registration"]["manage_token"].as_str().unwrap();
    assert_eq!(bearer_post(&app, &format!("/api/v1/manage/venues/{}/kiosks", k.location), other_token).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(bearer_post(&app, &format!("/api/v1/manage/kiosks/{}/revoke", k.kiosk.as_str()), other_token).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(bearer_post(&app, &format!("/api/v1/manage/venues/{}/kiosks", k.location), "nope").await.status(), StatusCode::UNAUTHORIZED);
    let unknown = app.post_json("/api/v1/kiosks/pair", r#"{"pairing_code": "00000-00000"}"#).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let listed = app.send(Request::get("/api/v1/manage/kiosks").header(header::AUTHORIZATION, format!("Bearer {}", k.manage_token)).body(Body::empty()).unwrap()).await;
    let listed: Value = json_body(listed).await;
    assert_eq!(listed["kiosks"][0]["kiosk_id"], k.kiosk.as_str());
    assert_eq!(listed["kiosks"][0]["status"], "active");
}

#[tokio::test]
async fn a_check_in_with_a_kiosk_code_is_a_visit_at_its_place_at_the_codes_time() {
    let app = TestApp::new().with_line_channel(SECRET);
    let k = pair(&app).await;
    let step = now_step() - 2;
    let token = KioskToken::issue(&k.kiosk, &k.secret, step);
    let now_ms = i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap();
    let event = |id: &str, kind: &str, extra: Value| {
        let mut e = json!({
            "type": kind, "mode": "active", "timestamp": now_ms, "source": { "type": "user", "userId": "U0000000000000000000000000000kio5" },
            "webhookEventId": id, "deliveryContext": { "isRedelivery": false }, "replyToken": format!("r-{id}")
        });
        e.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        e
    };
    let body = json!({ "destination": "Ubot", "events": [
        event("01KIOSKEVENT00000000000001", "postback", json!({ "postback": { "data": "consent=2026-11" } })),
        event("01KIOSKEVENT00000000000002", "message", json!({ "message": { "id": "1", "type": "text", "text": format!("来場登録 {token}") } })),
    ]})
    .to_string();
    let signature = sign(&SecretString::from(SECRET), body.as_bytes());
    let response = app
        .send(Request::post("/line/webhook").header(header::CONTENT_TYPE, "application/json").header("x-line-signature", signature).body(Body::from(body)).unwrap())
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let (location, scanned_ms): (String, i64) =
        rusqlite::Connection::open(&app.db).unwrap().query_row("SELECT location_id, scanned_at_ms FROM visits", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!(location, k.location);
    assert_eq!(scanned_ms, i64::try_from(Steps { seconds: 30 }.start(step)).unwrap() * 1000, "the visit's time is the code's step");
}

#[tokio::test]
async fn a_venue_adds_and_revokes_a_kiosk_from_its_management_page() {
    let app = TestApp::new();
    let body = json_body(app.post_json("/api/v1/venues", &venue()).await).await;
    let token = body["registration"]["manage_token"].as_str().unwrap().to_owned();
    let location = body["venues"][0]["location_id"].as_str().unwrap().to_owned();
    let manage = text(app.get(&format!("/manage/{token}")).await).await;
    assert!(manage.contains(&format!("action=\"/manage/{token}/venues/{location}/kiosks\"")));

    let page = app.post_form(&format!("/manage/{token}/venues/{location}/kiosks"), "").await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = text(page).await;
    let code = page.split("id=\"pairing-code\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert!(page.contains(&format!("oshirase-kiosk pair --server https://oshirase.example.jp --code {code}")));
    assert!(page.contains("<svg"), "the code is also shown as a QR code");

    let paired = json_body(app.post_json("/api/v1/kiosks/pair", &json!({ "pairing_code": code }).to_string()).await).await;
    let kiosk = paired["kiosk_id"].as_str().unwrap().to_owned();
    let listed = text(app.get(&format!("/manage/{token}")).await).await;
    assert!(listed.contains(&format!("data-kiosk=\"{kiosk}\"")) && listed.contains("使用中"));

    let revoked = app.post_form(&format!("/manage/{token}/kiosks/{kiosk}/revoke"), "").await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert!(text(app.get(&format!("/manage/{token}")).await).await.contains("無効化済み"));
}

async fn heartbeat(app: &TestApp, token: &str, body: Value) -> axum::response::Response {
    app.send(
        Request::post("/api/v1/kiosk/heartbeat")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn heartbeats_report_to_the_fleet_view_and_answer_with_time_settings_and_the_disable_flag() {
    let app = TestApp::new();
    let k = pair(&app).await;
    let report = json!({ "version": "0.1.0", "uptime_seconds": 3600, "clock_offset_ms": -250, "screen": "idle", "last_error": null,
                         "sent_at": "2026-11-25T19:30:00.000Z", "a_future_field": 1 });
    let answer = heartbeat(&app, &k.sync_token, report.clone()).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let answer = json_body(answer).await;
    assert_eq!(answer["disabled"], false);
    assert_eq!(answer["step_seconds"], 30);
    assert_eq!(answer["venue_name"], "市民体育館 メインアリーナ");
    let server_time = time::OffsetDateTime::parse(answer["server_time"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
    assert!((time::OffsetDateTime::now_utc() - server_time).abs() < time::Duration::seconds(5));

    let fleet = app.send(Request::get("/api/v1/manage/kiosks").header(header::AUTHORIZATION, format!("Bearer {}", k.manage_token)).body(Body::empty()).unwrap()).await;
    let fleet = json_body(fleet).await;
    assert_eq!(fleet["kiosks"][0]["version"], "0.1.0");
    assert_eq!(fleet["kiosks"][0]["clock_offset_ms"], -250);
    assert_eq!(fleet["kiosks"][0]["screen"], "idle");
    assert!(fleet["kiosks"][0]["last_seen_at"].is_string());

    assert_eq!(heartbeat(&app, "A".repeat(43).as_str(), report.clone()).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(heartbeat(&app, &k.manage_token, report.clone()).await.status(), StatusCode::UNAUTHORIZED, "a venue's secret is not a kiosk's");
    let mut bad = report.clone();
    bad["screen"] = json!("party");
    assert_eq!(heartbeat(&app, &k.sync_token, bad).await.status(), StatusCode::UNPROCESSABLE_ENTITY);

    bearer_post(&app, &format!("/api/v1/manage/kiosks/{}/revoke", k.kiosk.as_str()), &k.manage_token).await;
    assert_eq!(json_body(heartbeat(&app, &k.sync_token, report).await).await["disabled"], true);
}

#[tokio::test]
async fn an_outage_the_kiosk_reports_later_stays_visible_and_a_silent_kiosk_is_flagged() {
    let app = TestApp::new();
    let k = pair(&app).await;
    let report = |screen: &str, error: Option<&str>| json!({ "version": "0.1.0", "uptime_seconds": 60, "clock_offset_ms": 12, "screen": screen, "last_error": error });
    let fleet = async || json_body(app.send(Request::get("/api/v1/manage/kiosks").header(header::AUTHORIZATION, format!("Bearer {}", k.manage_token)).body(Body::empty()).unwrap()).await).await;

    assert_eq!(heartbeat(&app, &k.sync_token, report("idle", None)).await.status(), StatusCode::OK);
    assert_eq!(fleet().await["kiosks"][0]["last_error"], Value::Null);

    // Back after an outage: the first heartbeat carries the error; the next one is clean.
    heartbeat(&app, &k.sync_token, report("offline", Some("error sending request: connection refused"))).await;
    heartbeat(&app, &k.sync_token, report("idle", None)).await;
    let kiosk = &fleet().await["kiosks"][0];
    assert_eq!(kiosk["screen"], "idle");
    assert_eq!(kiosk["last_error"], "error sending request: connection refused");
    assert!(kiosk["last_error_at"].is_string(), "{kiosk}");
    let page = text(app.get(&format!("/manage/{}", k.manage_token)).await).await;
    assert!(page.contains("最後のエラー") && page.contains("connection refused"), "the venue sees the outage");
    assert!(!page.contains("連絡なし"), "a kiosk heard from just now is not silent");

    let ten_minutes_ago = time::OffsetDateTime::now_utc().unix_timestamp() * 1000 - 600_000;
    rusqlite::Connection::open(&app.db).unwrap().execute("UPDATE kiosks SET last_seen_at_ms = ?1", [ten_minutes_ago]).unwrap();
    let page = text(app.get(&format!("/manage/{}", k.manage_token)).await).await;
    assert!(page.contains("連絡なし"), "a kiosk not heard from for ten minutes is flagged");
}

#[tokio::test]
async fn staff_see_every_venues_kiosks_with_the_silent_ones_flagged() {
    let app = TestApp::new();
    let heard = pair(&app).await;
    let silent = pair(&app).await;
    heartbeat(&app, &heard.sync_token, json!({ "version": "0.1.0", "uptime_seconds": 5, "clock_offset_ms": 40, "screen": "idle", "last_error": null })).await;
    let admin = support::add_staff(&app, "admin", &[oshirase_server::staff::Role::Admin]).await;
    let token = support::add_token(&app, admin, oshirase_server::staff::Role::Admin, None).await;

    let fleet = json_body(app.send(Request::get("/api/v1/staff/kiosks").header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap()).await).await;
    let kiosks = fleet["kiosks"].as_array().unwrap();
    assert_eq!(kiosks.len(), 2, "kiosks of both registrations: {fleet}");
    let find = |id: &KioskId| kiosks.iter().find(|k| k["kiosk_id"] == id.as_str()).unwrap().clone();
    assert_eq!(find(&silent.kiosk)["silent"], true, "never heard from");
    assert_eq!(find(&heard.kiosk)["silent"], false);
    assert_eq!(find(&heard.kiosk)["clock_offset_ms"], 40);
    assert_eq!(kiosks[0]["kiosk_id"], silent.kiosk.as_str(), "the silent one first");

    // A venue's management secret does not open the staff view.
    let venue = app.send(Request::get("/api/v1/staff/kiosks").header(header::AUTHORIZATION, format!("Bearer {}", heard.manage_token)).body(Body::empty()).unwrap()).await;
    assert_eq!(venue.status(), StatusCode::UNAUTHORIZED);
}
