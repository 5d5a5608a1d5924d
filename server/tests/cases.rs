//! Cases through the staff API: matching counts, approval by a second person, the outbox.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod support;

use axum::http::{StatusCode, header};
use axum::response::Response;
use oshirase_server::cases::parse_jst;
use oshirase_server::staff::Role;
use serde_json::json;
use support::{call, TestApp, add_staff, add_token, json_body};


/// Registers a place of a business type; returns its location id.
async fn place(app: &TestApp, name: &str, business_type: &str) -> String {
    let body = json!({ "business_type": business_type, "daily_visitors": 100, "name": name, "postal_code": "330-9301",
                       "address": "埼玉県さいたま市浦和区高砂3-15-1", "phone": "048-824-2111", "email": "x@example.jp" });
    let answer = json_body(app.post_json("/api/v1/venues", &body.to_string()).await).await;
    answer["venues"][0]["location_id"].as_str().unwrap().to_owned()
}

/// The day the tests' visits happened: two days ago in Japan (recent enough for a history code).
fn day() -> String {
    let t = time::OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(9, 0, 0).unwrap()) - time::Duration::days(2);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// A consented resident with visits at `(place, "HH:MM" on day() JST)`; returns its row id.
fn resident(app: &TestApp, user: &str, visits: &[(&str, &str)], blocked: bool) -> i64 {
    let db = rusqlite::Connection::open(&app.db).unwrap();
    let now = 1_795_000_000_000i64;
    db.execute(
        "INSERT INTO residents (line_user_id, created_at_ms, consent_terms, consented_at_ms, blocked_at_ms) VALUES (?1, ?2, '2026-11', ?2, ?3)",
        rusqlite::params![user, now, blocked.then_some(now)],
    )
    .unwrap();
    let id = db.last_insert_rowid();
    for (location, at) in visits {
        let ms = parse_jst(&day(), at).unwrap().unix_timestamp() * 1000;
        db.execute("INSERT INTO visits (resident_id, location_id, scanned_at_ms, recorded_at_ms) VALUES (?1, ?2, ?3, ?3)", rusqlite::params![id, location, ms]).unwrap();
    }
    id
}

fn user_id(n: usize) -> String {
    format!("U{n:032x}")
}

fn at(t: &str) -> String {
    parse_jst(&day(), t).unwrap().format(&time::format_description::well_known::Rfc3339).unwrap()
}

struct Staff {
    investigator: String,
    approver: String,
    /// One person with both roles: as investigator, and as approver.
    both: (String, String),
}

async fn staff(app: &TestApp) -> Staff {
    let i = add_staff(app, "investigator", &[Role::Investigator]).await;
    let a = add_staff(app, "approver", &[Role::Approver]).await;
    let b = add_staff(app, "both", &[Role::Investigator, Role::Approver]).await;
    Staff {
        investigator: add_token(app, i, Role::Investigator, None).await,
        approver: add_token(app, a, Role::Approver, None).await,
        both: (add_token(app, b, Role::Investigator, None).await, add_token(app, b, Role::Approver, None).await),
    }
}

async fn new_case(app: &TestApp, token: &str, reference: &str) -> i64 {
    let created = call(app, "POST", "/api/v1/staff/cases", token, Some(json!({ "reference": reference }))).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    json_body(created).await["id"].as_i64().unwrap()
}

async fn expose(app: &TestApp, token: &str, case: i64, location: &str, from: &str, to: &str) -> Response {
    call(app, "POST", &format!("/api/v1/staff/cases/{case}/exposures"), token, Some(json!({ "location_id": location, "starts_at": at(from), "ends_at": at(to) }))).await
}

#[tokio::test]
async fn residents_whose_stay_overlaps_are_counted_once_and_blocked_ones_apart() {
    let app = TestApp::new();
    let staff = staff(&app).await;
    let gym = place(&app, "市民体育館", "sports").await; // dwell 120 min
    let shop = place(&app, "駅前書店", "retail").await; // dwell 30 min
    resident(&app, &user_id(1), &[(&gym, "17:00"), (&shop, "20:10")], false); // both exposures: counted once
    resident(&app, &user_id(2), &[(&gym, "15:59")], false); // left (17:59) before 18:00
    resident(&app, &user_id(3), &[(&gym, "19:29")], false); // inside the 30-minute tail
    resident(&app, &user_id(4), &[(&gym, "19:31")], false); // after the tail
    resident(&app, &user_id(5), &[(&gym, "18:10")], true); // blocked: counted apart
    resident(&app, &user_id(6), &[(&shop, "19:39")], false); // shop stay 19:39–20:09 overlaps 20:00–20:30
    resident(&app, &user_id(7), &[(&shop, "19:30")], false); // left the shop at 20:00 exactly

    let case = new_case(&app, &staff.investigator, "2026-TEST-001").await;
    assert_eq!(expose(&app, &staff.investigator, case, &gym, "18:00", "19:00").await.status(), StatusCode::CREATED);
    assert_eq!(expose(&app, &staff.investigator, case, &shop, "20:00", "20:30").await.status(), StatusCode::CREATED);
    let preview = json_body(call(&app, "GET", &format!("/api/v1/staff/cases/{case}/preview"), &staff.approver, None).await).await;
    assert_eq!(preview["total"], 3, "residents 1, 3 and 6: {preview}");
    assert_eq!(preview["blocked"], 1);
    let per: Vec<u64> = preview["per_exposure"].as_array().unwrap().iter().map(|e| e["residents"].as_u64().unwrap()).collect();
    assert_eq!(per, vec![2, 2], "gym: 1 and 3 (5 is blocked); shop: 1 and 6");
    let text = preview.to_string();
    assert!(!text.contains(&user_id(1)) && !text.contains("U0000"), "counts only, never who");
}

#[tokio::test]
async fn bad_exposures_are_refused_and_change_nothing() {
    let app = TestApp::new();
    let staff = staff(&app).await;
    let gym = place(&app, "市民体育館", "sports").await;
    let case = new_case(&app, &staff.investigator, "2026-TEST-002").await;
    assert_eq!(expose(&app, &staff.investigator, case, &gym, "19:00", "18:00").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(expose(&app, &staff.investigator, case, "0000000000000000000000000A", "18:00", "19:00").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let future = call(&app, "POST", &format!("/api/v1/staff/cases/{case}/exposures"), &staff.investigator, Some(json!({ "location_id": gym, "starts_at": "2099-01-01T00:00:00Z", "ends_at": "2099-01-01T01:00:00Z" }))).await;
    assert_eq!(future.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(call(&app, "POST", "/api/v1/staff/cases", &staff.investigator, Some(json!({ "reference": "山田太郎" }))).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(call(&app, "POST", "/api/v1/staff/cases", &staff.investigator, Some(json!({ "reference": "2026-TEST-002" }))).await.status(), StatusCode::UNPROCESSABLE_ENTITY, "a taken reference");
    assert_eq!(app.count("case_exposures"), 0);
    assert_eq!(app.count("cases"), 1);
}

#[tokio::test]
async fn approval_takes_a_second_person_and_writes_the_outbox_in_batches_of_500() {
    let app = TestApp::new();
    let staff = staff(&app).await;
    let hall = place(&app, "県民ホール 大ホール", "cinema_theatre").await;
    for n in 0..1203 {
        resident(&app, &user_id(n + 100), &[(&hall, "18:30")], false);
    }
    let case = new_case(&app, &staff.both.0, "2026-TEST-003").await;
    expose(&app, &staff.both.0, case, &hall, "18:00", "21:00").await;

    let own = call(&app, "POST", &format!("/api/v1/staff/cases/{case}/approve"), &staff.both.1, None).await;
    assert_eq!(own.status(), StatusCode::UNPROCESSABLE_ENTITY, "the creator cannot approve alone");
    assert_eq!(call(&app, "POST", &format!("/api/v1/staff/cases/{case}/approve"), &staff.investigator, None).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("alert_batches"), 0);

    let approved = call(&app, "POST", &format!("/api/v1/staff/cases/{case}/approve"), &staff.approver, None).await;
    assert_eq!(approved.status(), StatusCode::OK);
    let approved = json_body(approved).await;
    assert_eq!((approved["status"].as_str(), approved["recipients"].as_u64()), (Some("sending"), Some(1203)));
    let db = rusqlite::Connection::open(&app.db).unwrap();
    let sizes: Vec<i64> = db.prepare("SELECT size FROM alert_batches ORDER BY batch_id").unwrap().query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(sizes, vec![500, 500, 203]);
    let keys: i64 = db.query_row("SELECT count(DISTINCT retry_key) FROM alert_batches", [], |r| r.get(0)).unwrap();
    assert_eq!(keys, 3, "each batch has its own retry key");
    let everyone: i64 = db.query_row("SELECT count(DISTINCT value) FROM alert_batches, json_each(alert_batches.recipients)", [], |r| r.get(0)).unwrap();
    assert_eq!(everyone, 1203, "each resident once");

    assert_eq!(call(&app, "POST", &format!("/api/v1/staff/cases/{case}/approve"), &staff.approver, None).await.status(), StatusCode::UNPROCESSABLE_ENTITY, "approved once");
    assert_eq!(expose(&app, &staff.both.0, case, &hall, "10:00", "11:00").await.status(), StatusCode::UNPROCESSABLE_ENTITY, "no changes after approval");
    assert_eq!(app.count("alert_batches"), 3);
}

#[tokio::test]
async fn a_case_nobody_matches_cannot_be_approved_and_can_be_closed() {
    let app = TestApp::new();
    let staff = staff(&app).await;
    let hall = place(&app, "県民ホール", "hall").await;
    let case = new_case(&app, &staff.investigator, "2026-TEST-004").await;
    expose(&app, &staff.investigator, case, &hall, "18:00", "19:00").await;
    assert_eq!(call(&app, "POST", &format!("/api/v1/staff/cases/{case}/approve"), &staff.approver, None).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let closed = json_body(call(&app, "POST", &format!("/api/v1/staff/cases/{case}/close"), &staff.investigator, None).await).await;
    assert_eq!(closed["status"], "closed");
}

#[tokio::test]
async fn places_are_found_by_name_address_postal_code_or_code_with_their_sibling_places() {
    let app = TestApp::new();
    let staff = staff(&app).await;
    let body = json!({ "venues": [
        { "business_type": "cinema_theatre", "daily_visitors": 500, "name": "シネマ浦和 スクリーン1", "postal_code": "330-0063", "address": "埼玉県さいたま市浦和区高砂1-1-1", "phone": "048-000-0001", "email": "c@example.jp" },
        { "business_type": "cinema_theatre", "daily_visitors": 500, "name": "シネマ浦和 スクリーン2", "postal_code": "330-0063", "address": "埼玉県さいたま市浦和区高砂1-1-1", "phone": "048-000-0001", "email": "c@example.jp" }
    ] });
    let registered = json_body(app.post_json("/api/v1/venues/bulk", &body.to_string()).await).await;
    let code = registered["venues"][1]["code"].as_str().unwrap().to_owned();
    place(&app, "駅前書店", "retail").await;
    for query in ["スクリーン1", "高砂1-1", "3300063", code.as_str()] {
        let found = json_body(call(&app, "GET", &format!("/api/v1/staff/places?q={}", oshirase_server::routes::staff::urlencode(query)), &staff.investigator, None).await).await;
        let names: Vec<&str> = found["places"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, vec!["シネマ浦和 スクリーン1", "シネマ浦和 スクリーン2"], "{query}");
    }
}

#[tokio::test]
async fn a_history_code_imports_the_positive_persons_visits_once_and_leaves_them_out() {
    use oshirase_server::secrets::HistoryCode;
    use oshirase_server::store::EventKey;
    let app = TestApp::new();
    let staff = staff(&app).await;
    let cafe = place(&app, "カフェ 北浦和", "restaurant").await; // dwell 90 min
    let library = place(&app, "市立図書館", "other").await; // dwell 60 min
    resident(&app, &user_id(1), &[(&cafe, "12:00"), (&library, "15:00")], false); // the positive person
    resident(&app, &user_id(2), &[(&cafe, "12:30")], false);
    resident(&app, &user_id(3), &[(&library, "15:45")], false);
    resident(&app, &user_id(4), &[(&library, "17:00")], false); // after 15:00 + 60 + 30 tail
    let code = HistoryCode::generate();
    let event = EventKey { id: "01HISTORY0000000000000000".into(), received_at: time::OffsetDateTime::now_utc() };
    let stored = app.state.store.create_history_code(event, oshirase_common::LineUserId::parse(&user_id(1)).unwrap(), code.hash(), time::OffsetDateTime::now_utc() + time::Duration::hours(24), oshirase_server::store::HistoryOf::Resident).await.unwrap();
    assert_eq!(stored, oshirase_server::store::Processed::New(oshirase_server::store::HistoryCodeIssue::Issued));

    let case = new_case(&app, &staff.investigator, "2026-TEST-005").await;
    let path = format!("/api/v1/staff/cases/{case}/history");
    let history = |c: &str| call(&app, "POST", &path, &staff.investigator, Some(json!({ "code": c })));
    assert_eq!(history("ZZZZ-ZZZZ").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let imported = history(&code.grouped().to_lowercase()).await;
    assert_eq!(imported.status(), StatusCode::OK);
    let imported = json_body(imported).await;
    assert_eq!(imported["exposures"].as_array().unwrap().len(), 2);
    assert!(imported["exposures"].as_array().unwrap().iter().all(|e| e["source"] == "history"));
    assert_eq!(imported["excludes_positive_person"], true);
    assert_eq!(history(&code.grouped()).await.status(), StatusCode::UNPROCESSABLE_ENTITY, "used once");

    // Library: the positive person's assumed 60-minute stay from 15:00, widened by the tail.
    let preview = json_body(call(&app, "GET", &format!("/api/v1/staff/cases/{case}/preview"), &staff.approver, None).await).await;
    assert_eq!(preview["total"], 2, "residents 2 and 3, not the positive person: {preview}");

    let other = new_case(&app, &staff.investigator, "2026-TEST-006").await;
    let expired = HistoryCode::generate();
    let event = EventKey { id: "01HISTORY0000000000000001".into(), received_at: time::OffsetDateTime::now_utc() };
    app.state.store.create_history_code(event, oshirase_common::LineUserId::parse(&user_id(1)).unwrap(), expired.hash(), time::OffsetDateTime::now_utc() - time::Duration::minutes(1), oshirase_server::store::HistoryOf::Resident).await.unwrap();
    let late = call(&app, "POST", &format!("/api/v1/staff/cases/{other}/history"), &staff.investigator, Some(json!({ "code": expired.grouped() }))).await;
    assert_eq!(late.status(), StatusCode::UNPROCESSABLE_ENTITY, "expired");
}

#[tokio::test]
async fn when_retention_ends_a_case_keeps_its_counts_and_loses_its_places_times_and_recipients() {
    let app = TestApp::new();
    let staff = staff(&app).await;
    let hall = place(&app, "県民ホール", "hall").await;
    for n in 0..3 {
        resident(&app, &user_id(n + 500), &[(&hall, "18:30")], false);
    }
    let case = new_case(&app, &staff.investigator, "2026-TEST-007").await;
    expose(&app, &staff.investigator, case, &hall, "18:00", "19:00").await;
    call(&app, "POST", &format!("/api/v1/staff/cases/{case}/approve"), &staff.approver, None).await;
    assert_eq!((app.count("case_exposures"), app.count("alert_batches")), (1, 1));

    let later = time::OffsetDateTime::now_utc() + time::Duration::days(40);
    let settings = oshirase_server::config::RetentionSettings::default();
    let purged = oshirase_server::workers::purge::run_once(app.state.store.as_ref(), &settings, later).await.unwrap();
    assert_eq!(purged.visits, 3);
    assert_eq!(purged.case_details, 2, "one exposure and one outbox batch");
    assert_eq!((app.count("case_exposures"), app.count("alert_batches"), app.count("cases")), (0, 0, 1));
    let kept = json_body(call(&app, "GET", &format!("/api/v1/staff/cases/{case}"), &staff.approver, None).await).await;
    assert_eq!((kept["recipients"].as_u64(), kept["reference"].as_str()), (Some(3), Some("2026-TEST-007")));
    assert_eq!(kept["exposures"], json!([]));
}

#[tokio::test]
async fn the_case_statistics_csv_neutralises_formulas_and_is_audited() {
    let app = TestApp::new();
    let staff = staff(&app).await;
    new_case(&app, &staff.investigator, "-2-3").await;
    new_case(&app, &staff.investigator, "2026-TEST-008").await;
    let response = call(&app, "GET", "/api/v1/staff/reports/cases.csv", &staff.approver, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
    let csv = support::text(response).await;
    assert!(csv.starts_with('\u{feff}'), "a BOM, so spreadsheets read UTF-8");
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().any(|l| l.starts_with("'-2-3,")), "the formula-like reference is neutralised: {lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("2026-TEST-008,調査中,")));
    let exports: i64 = rusqlite::Connection::open(&app.db).unwrap().query_row("SELECT count(*) FROM audit_log WHERE action = 'export.cases_csv'", [], |r| r.get(0)).unwrap();
    assert_eq!(exports, 1);
}

#[tokio::test]
async fn a_resident_who_deletes_their_data_after_approval_is_taken_out_of_the_unsent_outbox() {
    use oshirase_server::store::EventKey;
    let app = TestApp::new();
    let staff = staff(&app).await;
    let hall = place(&app, "県民ホール", "hall").await;
    for n in 0..3 {
        resident(&app, &user_id(n + 700), &[(&hall, "18:30")], false);
    }
    let case = new_case(&app, &staff.investigator, "2026-TEST-009").await;
    expose(&app, &staff.investigator, case, &hall, "18:00", "19:00").await;
    call(&app, "POST", &format!("/api/v1/staff/cases/{case}/approve"), &staff.approver, None).await;
    let event = EventKey { id: "01DELETE000000000000000000".into(), received_at: time::OffsetDateTime::now_utc() };
    app.state.store.delete_resident(event, oshirase_common::LineUserId::parse(&user_id(701)).unwrap()).await.unwrap();
    let due = app.state.store.next_due_batch(time::OffsetDateTime::now_utc()).await.unwrap().unwrap();
    let left: Vec<String> = due.recipients.iter().map(|u| u.as_str().to_owned()).collect();
    assert_eq!(left, vec![user_id(700), user_id(702)]);
    let case = json_body(call(&app, "GET", &format!("/api/v1/staff/cases/{case}"), &staff.approver, None).await).await;
    assert_eq!(case["recipients"], 2);
}

#[tokio::test]
async fn after_approval_a_case_answers_its_fixed_counts_and_refuses_what_no_longer_applies() {
    let app = TestApp::new();
    let staff = staff(&app).await;
    let hall = place(&app, "県民ホール", "hall").await;
    resident(&app, &user_id(900), &[(&hall, "18:30")], false);
    let case = new_case(&app, &staff.investigator, "2026-TEST-010").await;
    expose(&app, &staff.investigator, case, &hall, "18:00", "19:00").await;
    call(&app, "POST", &format!("/api/v1/staff/cases/{case}/approve"), &staff.approver, None).await;
    for (method, path, token) in [
        ("GET", format!("/api/v1/staff/cases/{case}/preview"), &staff.approver),
        ("POST", format!("/api/v1/staff/cases/{case}/resume"), &staff.approver),
        ("DELETE", format!("/api/v1/staff/cases/{case}/exposures/1"), &staff.investigator),
    ] {
        let answer = call(&app, method, &path, token, None).await;
        assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY, "{method} {path}");
        assert_eq!(json_body(answer).await["error"]["code"], "invalid_case");
    }
    let bad_id = call(&app, "GET", "/api/v1/staff/cases/abc", &staff.approver, None).await;
    assert_eq!(bad_id.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_body(bad_id).await["error"]["code"], "malformed_body", "JSON, not axum's plain text");
    let unknown = call(&app, "GET", "/api/v1/staff/nothing-here", &staff.approver, None).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(json_body(unknown).await["error"]["code"], "not_found");
}
