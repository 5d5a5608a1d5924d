//! The alert sender against the LINE sandbox (in-process, real HTTP): every approved resident
//! gets the alert exactly once — after a crash between LINE's answer and our commit, through
//! server errors, and across the monthly quota running out — and the alert carries no date,
//! time or place.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use oshirase_line_sandbox::{ConfigUpdate, FaultSettings, Sandbox, SandboxConfig, SandboxHandle};
use oshirase_server::cases::parse_jst;
use oshirase_server::cases::template::AlertTemplate;
use oshirase_server::config::PublicBaseUrl;
use oshirase_server::line::client::{LineClient, RetryPolicy};
use oshirase_server::line::messages::Message;
use oshirase_server::staff::Role;
use oshirase_server::workers::alerts::{Outcome, send_one};
use secrecy::SecretString;
use serde_json::{Value, json};
use support::{TestApp, add_staff, add_token, json_body};

const TOKEN: &str = "alerts-test-token";
const CONTACT: &str = "さいたま市保健所 受診・相談センター 048-000-0000";

struct World {
    app: TestApp,
    line: SandboxHandle,
    client: LineClient,
    users: Vec<String>,
    case: i64,
}

async fn api(app: &TestApp, method: &str, path: &str, token: &str, body: Option<Value>) -> Value {
    let response = support::call(app, method, path, token, body).await;
    assert!(response.status().is_success(), "{method} {path}: {}", response.status());
    json_body(response).await
}

/// `residents` sandbox residents who were at a museum on 2026-11-20 at 14:00, a case for
/// 14:00–15:00 there, approved.
async fn approved_world(residents: usize) -> World {
    approved_world_with(residents, None).await
}

/// The same, with the admin's template saved through the API before approval.
async fn approved_world_with(residents: usize, template: Option<&str>) -> World {
    let mut app = TestApp::new();
    app.state.alerts.contact = CONTACT.to_owned();
    let line = Sandbox::start(SandboxConfig::new("alerts-channel-secret", TOKEN)).await.unwrap();
    let client = LineClient::new(PublicBaseUrl::parse(&line.base_url()).unwrap(), SecretString::from(TOKEN), Duration::from_secs(5), RetryPolicy { attempts: 2, first_backoff: Duration::from_millis(10) }).unwrap();
    let body = json!({ "business_type": "museum", "daily_visitors": 100, "name": "県立近代美術館", "postal_code": "330-0061",
                       "address": "埼玉県さいたま市浦和区常盤9-30-1", "phone": "048-824-0111", "email": "m@example.jp" });
    let location = json_body(app.post_json("/api/v1/venues", &body.to_string()).await).await["venues"][0]["location_id"].as_str().unwrap().to_owned();
    let db = rusqlite::Connection::open(&app.db).unwrap();
    let scanned = parse_jst("2026-11-20", "14:00").unwrap().unix_timestamp() * 1000;
    let mut users = Vec::new();
    for n in 0..residents {
        let resident = line.sandbox().add_resident(&format!("住民{n}")).unwrap();
        line.sandbox().follow(&resident.user_id).await.unwrap();
        db.execute("INSERT INTO residents (line_user_id, created_at_ms, consent_terms, consented_at_ms) VALUES (?1, ?2, '2026-11', ?2)", rusqlite::params![resident.user_id, scanned]).unwrap();
        db.execute("INSERT INTO visits (resident_id, location_id, scanned_at_ms, recorded_at_ms) VALUES (?1, ?2, ?3, ?3)", rusqlite::params![db.last_insert_rowid(), location, scanned]).unwrap();
        users.push(resident.user_id);
    }
    let investigator = add_staff(&app, "investigator", &[Role::Investigator]).await;
    let approver = add_staff(&app, "approver", &[Role::Approver]).await;
    let (i, a) = (add_token(&app, investigator, Role::Investigator, None).await, add_token(&app, approver, Role::Approver, None).await);
    if let Some(template) = template {
        let admin = add_staff(&app, "admin", &[Role::Admin]).await;
        let token = add_token(&app, admin, Role::Admin, None).await;
        api(&app, "PUT", "/api/v1/staff/template", &token, Some(json!({ "template": template, "contact": "浦和保健所 048-000-1111" }))).await;
    }
    let case = api(&app, "POST", "/api/v1/staff/cases", &i, Some(json!({ "reference": "2026-ALERT-1" }))).await["id"].as_i64().unwrap();
    let at = |t: &str| parse_jst("2026-11-20", t).unwrap().format(&time::format_description::well_known::Rfc3339).unwrap();
    api(&app, "POST", &format!("/api/v1/staff/cases/{case}/exposures"), &i, Some(json!({ "location_id": location, "starts_at": at("14:00"), "ends_at": at("15:00") }))).await;
    api(&app, "POST", &format!("/api/v1/staff/cases/{case}/approve"), &a, None).await;
    World { app, line, client, users, case }
}

/// Runs the sender until nothing is due at `now`.
async fn drain(w: &World, now: time::OffsetDateTime) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    loop {
        let outcome = send_one(w.app.state.store.as_ref(), &w.client, now).await.unwrap();
        if outcome == Outcome::Idle {
            return outcomes;
        }
        outcomes.push(outcome);
    }
}

fn inbox_texts(w: &World, user: &str) -> Vec<String> {
    w.line.sandbox().inbox(user).unwrap().iter().map(|m| serde_json::to_value(m).unwrap()["message"]["text"].as_str().unwrap_or_default().to_owned()).collect()
}

async fn status(w: &World) -> Value {
    let db = rusqlite::Connection::open(&w.app.db).unwrap();
    let (status, sent): (String, i64) = db.query_row("SELECT status, sent FROM cases WHERE case_id = ?1", [w.case], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    json!({ "status": status, "sent": sent })
}

#[tokio::test]
async fn every_resident_gets_the_alert_once_and_it_names_no_date_time_or_place() {
    let w = approved_world(1_100).await;
    let outcomes = drain(&w, time::OffsetDateTime::now_utc()).await;
    assert_eq!(outcomes, vec![Outcome::Sent { recipients: 500 }, Outcome::Sent { recipients: 500 }, Outcome::Sent { recipients: 100 }]);
    for user in &w.users {
        let texts = inbox_texts(&w, user);
        assert_eq!(texts.len(), 1, "{user} has one message");
        let text = &texts[0];
        assert!(text.contains("診断ではありません") && text.contains(CONTACT));
        for leak in ["美術館", "常盤", "浦和", "11月", "11/20", "2026", "14:00", "14時", "330-0061"] {
            assert!(!text.contains(leak), "the alert must not name {leak}: {text}");
        }
    }
    assert_eq!(status(&w).await, json!({ "status": "sent", "sent": 1100 }));
    let log = w.line.sandbox().request_log();
    assert_eq!(log.len(), 3, "three multicasts");
    assert!(log.iter().all(|r| r.retry_key.is_some()), "each with a retry key");
}

#[tokio::test]
async fn a_batch_line_took_before_a_crash_is_not_sent_twice() {
    let w = approved_world(700).await;
    // The crash: LINE accepted the first batch, the server died before writing that down.
    let due = w.app.state.store.next_due_batch(time::OffsetDateTime::now_utc()).await.unwrap().unwrap();
    let text = AlertTemplate::default_template().render(CONTACT);
    w.client.multicast(&due.recipients, &[Message::Text(text)], &due.retry_key).await.unwrap();

    let outcomes = drain(&w, time::OffsetDateTime::now_utc()).await;
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    for user in &w.users {
        assert_eq!(inbox_texts(&w, user).len(), 1, "{user} got the alert exactly once");
    }
    assert_eq!(status(&w).await["status"], "sent");
}

#[tokio::test]
async fn server_errors_are_retried_later_with_the_same_key() {
    let w = approved_world(3).await;
    w.line.sandbox().set_faults(FaultSettings { error_rate: 1.0, seed: 1, ..FaultSettings::default() }).unwrap();
    let now = time::OffsetDateTime::now_utc();
    assert_eq!(drain(&w, now).await, vec![Outcome::Retry], "tried, then not due until the backoff passes");
    w.line.sandbox().set_faults(FaultSettings::default()).unwrap();
    assert_eq!(drain(&w, now + time::Duration::seconds(10)).await, vec![Outcome::Sent { recipients: 3 }]);
    let keys: std::collections::BTreeSet<_> = w.line.sandbox().request_log().iter().filter_map(|r| r.retry_key.clone()).collect();
    assert_eq!(keys.len(), 1, "every attempt used the batch's one key");
    assert!(w.users.iter().all(|u| inbox_texts(&w, u).len() == 1));
}

#[tokio::test]
async fn an_exhausted_monthly_quota_pauses_the_case_until_it_is_resumed() {
    let w = approved_world(700).await;
    w.line.sandbox().update_config(&ConfigUpdate { monthly_quota: Some(Some(600)), ..ConfigUpdate::default() }).unwrap();
    let outcomes = drain(&w, time::OffsetDateTime::now_utc()).await;
    assert_eq!(outcomes, vec![Outcome::Sent { recipients: 500 }, Outcome::Paused]);
    assert_eq!(status(&w).await["status"], "paused");

    // Staff see why, raise the plan, resume.
    let approver = add_staff(&w.app, "approver2", &[Role::Approver]).await;
    let token = add_token(&w.app, approver, Role::Approver, None).await;
    let case = api(&w.app, "GET", &format!("/api/v1/staff/cases/{}", w.case), &token, None).await;
    assert!(case["pause_reason"].as_str().unwrap().contains("上限"), "{case}");
    w.line.sandbox().update_config(&ConfigUpdate { monthly_quota: Some(None), ..ConfigUpdate::default() }).unwrap();
    let resumed = w.app.send(Request::post(format!("/api/v1/staff/cases/{}/resume", w.case)).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap()).await;
    assert_eq!(resumed.status(), StatusCode::OK);
    assert_eq!(drain(&w, time::OffsetDateTime::now_utc()).await, vec![Outcome::Sent { recipients: 200 }]);
    assert!(w.users.iter().all(|u| inbox_texts(&w, u).len() == 1));
    assert_eq!(status(&w).await, json!({ "status": "sent", "sent": 700 }));
}

#[tokio::test]
async fn the_admins_template_is_fixed_on_the_case_at_approval_and_cannot_name_the_case() {
    let w = approved_world_with(2, Some("【お知らせ】診断ではありません。ご相談は {contact} へ。")).await;
    let admin = add_staff(&w.app, "admin2", &[Role::Admin]).await;
    let token = add_token(&w.app, admin, Role::Admin, None).await;
    // Changed after approval: the case keeps the text it was approved with.
    api(&w.app, "PUT", "/api/v1/staff/template", &token, Some(json!({ "template": "別の文面 {contact}", "contact": "別の窓口" }))).await;
    drain(&w, time::OffsetDateTime::now_utc()).await;
    for user in &w.users {
        assert_eq!(inbox_texts(&w, user), vec!["【お知らせ】診断ではありません。ご相談は 浦和保健所 048-000-1111 へ。".to_owned()]);
    }
    for bad in ["{venue} で {date} に", "窓口がない文面"] {
        let refused = w.app.send(
            Request::put("/api/v1/staff/template").header(header::AUTHORIZATION, format!("Bearer {token}")).header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json!({ "template": bad, "contact": "x" }).to_string())).unwrap(),
        ).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

#[tokio::test]
async fn the_sender_loop_sends_every_batch_with_several_in_flight_and_each_resident_once() {
    let w = approved_world(2_300).await;
    w.line.sandbox().set_faults(FaultSettings { latency_ms: 50, ..FaultSettings::default() }).unwrap();
    let sender = tokio::spawn(oshirase_server::workers::alerts::run(std::sync::Arc::clone(&w.app.state.store), w.client.clone(), 200, std::sync::Arc::clone(&w.app.state.alert_wakeup)));
    let started = std::time::Instant::now();
    while status(&w).await["status"] != "sent" {
        assert!(started.elapsed() < Duration::from_secs(20), "not sent within 20 s: {}", status(&w).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sender.abort();
    // How fast is the benchmark's business (`oshirase-bench-sending`); here: each resident once.
    assert!(w.users.iter().all(|u| inbox_texts(&w, u).len() == 1));
    assert_eq!(w.line.sandbox().request_log().len(), 5);
}
