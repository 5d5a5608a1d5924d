//! Passes through the conversation and `app()` (issue 7): a consented resident asks for a
//! pass in LINE and gets its text, its image (served at the secret link, a QR code that
//! verifies with the public key kiosks get) and its card link; lists and revokes passes;
//! kiosks get the revocation list in heartbeats; synced scans become the resident's visits at
//! the corrected time, each (kiosk, sequence number) once, and bad scans are refused.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod support;

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use oshirase_common::pass::{self, Pass, PassId};
use oshirase_server::line::messages::Message;
use oshirase_server::line::webhook::{Event, EventKind, Mode};
use oshirase_server::residents::{Context, handle};
use serde_json::{Value, json};
use oshirase_server::staff::Role;
use support::{PASS_SEED, TestApp, add_staff, add_token, api_call, json_body};
use time::OffsetDateTime;

const USER: &str = "U0123456789abcdef0123456789abcdef";
const OTHER: &str = "Ufedcba9876543210fedcba9876543210";

struct World {
    app: TestApp,
    next: std::cell::Cell<u32>,
    sync_token: String,
    location: String,
    code: String,
}

impl World {
    async fn new() -> World {
        let app = TestApp::new();
        let venue = json!({
            "business_type": "sports", "daily_visitors": 800, "name": "市民体育館 メインアリーナ",
            "postal_code": "330-9301", "address": "埼玉県さいたま市浦和区高砂3-15-1", "phone": "048-824-2111", "email": "gym@example.jp"
        });
        let body = json_body(app.post_json("/api/v1/venues", &venue.to_string()).await).await;
        let manage = body["registration"]["manage_token"].as_str().unwrap().to_owned();
        let location = body["venues"][0]["location_id"].as_str().unwrap().to_owned();
        let venue_code = body["venues"][0]["code"].as_str().unwrap().to_owned();
        let code = json_body(api_call(&app, "POST", &format!("/api/v1/manage/venues/{location}/kiosks"), Some(&manage), None).await).await;
        let paired = app.post_json("/api/v1/kiosks/pair", &json!({ "pairing_code": code["pairing_code"] }).to_string()).await;
        assert_eq!(paired.status(), StatusCode::CREATED);
        let paired = json_body(paired).await;
        let expected_key = STANDARD.encode(ed25519_dalek::SigningKey::from_bytes(&PASS_SEED).verifying_key().as_bytes());
        assert_eq!(paired["pass_public_key"], expected_key.as_str(), "the kiosk gets the public key at pairing");
        World { app, next: std::cell::Cell::new(0), sync_token: paired["sync_token"].as_str().unwrap().to_owned(), location, code: venue_code }
    }

    async fn say(&self, user: &str, kind: EventKind) -> Vec<Message> {
        self.next.set(self.next.get() + 1);
        let event = Event {
            kind,
            mode: Mode::Active,
            timestamp_ms: i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap(),
            user_id: Some(user.into()),
            webhook_event_id: format!("01PS{:022}", self.next.get()),
            is_redelivery: false,
            reply_token: Some("token".into()),
        };
        let s = &self.app.state;
        let ctx = Context { store: s.store.as_ref(), settings: &s.checkin, kiosk: &s.kiosk, passes: &s.passes, privacy_url: "https://oshirase.example.jp/privacy".into(), now: OffsetDateTime::now_utc() };
        handle(&ctx, &event).await.unwrap().map(|r| r.messages).unwrap_or_default()
    }

    async fn text(&self, user: &str, text: &str) -> Vec<Message> {
        self.say(user, EventKind::Text { text: text.into() }).await
    }

    async fn consent(&self, user: &str) {
        self.say(user, EventKind::Postback { data: "consent=2026-11".into() }).await;
    }

    async fn heartbeat(&self, version: Option<i64>) -> Value {
        self.heartbeat_pending(version, 0).await
    }

    async fn heartbeat_pending(&self, version: Option<i64>, pending: u64) -> Value {
        let body = json!({"version": "0.1.0", "uptime_seconds": 1, "clock_offset_ms": 0, "screen": "idle", "last_error": null, "pending_scans": pending, "revocations_version": version});
        let response = api_call(&self.app, "POST", "/api/v1/kiosk/heartbeat", Some(&self.sync_token), Some(body)).await;
        assert_eq!(response.status(), StatusCode::OK);
        json_body(response).await
    }

    async fn sync(&self, scans: Value) -> (StatusCode, Value) {
        let response = api_call(&self.app, "POST", "/api/v1/kiosk/scans", Some(&self.sync_token), Some(json!({ "scans": scans }))).await;
        let status = response.status();
        (status, json_body(response).await)
    }

    fn visits_at(&self, at_ms: i64) -> i64 {
        rusqlite::Connection::open(&self.app.db)
            .unwrap()
            .query_row("SELECT count(*) FROM visits WHERE location_id = ?1 AND scanned_at_ms = ?2", rusqlite::params![self.location, at_ms], |r| r.get(0))
            .unwrap()
    }
}

fn texts(messages: &[Message]) -> Vec<String> {
    messages.iter().filter_map(|m| if let Message::Text(t) = m { Some(t.clone()) } else { None }).collect()
}

/// The issued pass: its image URL's path and its text (decoded from the served PNG).
async fn issued(world: &World, messages: &[Message]) -> (String, String, PassId) {
    let Some(Message::Image { original_url, preview_url }) = messages.get(1) else { panic!("no image in {messages:?}") };
    let path = original_url.strip_prefix("https://oshirase.example.jp").unwrap().to_owned();
    assert!(path.starts_with("/p/") && path.ends_with("/qr.png"), "{path}");
    assert_eq!(preview_url.replace("preview.png", "qr.png"), *original_url);
    let response = world.app.get(&path).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/png");
    let png = axum::body::to_bytes(response.into_body(), 1 << 22).await.unwrap();
    let text = decode_png(&png);
    let verifying = ed25519_dalek::SigningKey::from_bytes(&PASS_SEED).verifying_key();
    let pass = pass::verify(&verifying, &text).unwrap();
    let preview = world.app.get(&path.replace("qr.png", "preview.png")).await;
    let preview = axum::body::to_bytes(preview.into_body(), 1 << 22).await.unwrap();
    assert!(preview.len() < 1_000_000 && preview.len() < png.len(), "LINE's preview is at most 1 MB");
    assert_eq!(decode_png(&preview), text);
    (path, text, pass.id)
}

fn decode_png(bytes: &[u8]) -> String {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let (w, h) = (info.width as usize, info.height as usize);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[(y * w + x) * channels]);
    let grids = image.detect_grids();
    grids[0].decode().unwrap().1
}

fn rfc3339_ms(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap().format(&time::format_description::well_known::Rfc3339).unwrap()
}

fn now_ms() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap()
}

#[tokio::test]
async fn a_consented_resident_gets_a_pass_whose_image_verifies_and_can_list_and_revoke_it() {
    let world = World::new().await;
    // Before consent: no pass, the consent question instead.
    let before = world.text(USER, "パス").await;
    assert!(texts(&before)[0].starts_with("パスを発行するには、先に利用規約への同意が必要です。"), "{before:?}");
    assert!(matches!(before.last(), Some(Message::Confirm { .. })));
    assert_eq!(world.app.count("passes"), 0);

    world.consent(USER).await;
    let mine = world.text(USER, "パス").await;
    let first = &texts(&mine)[0];
    assert!(first.starts_with("ご本人のパスを発行しました"), "{first}");
    let (path, text, id) = issued(&world, &mine).await;
    assert!(first.contains(&format!("…{}", id.short())) && first.contains("/card.pdf"), "{first}");
    let english = first.split("\n\n").nth(1).unwrap();
    assert!(english.contains("valid until ") && !english.contains('年'), "an English date in English: {english}");
    assert!(!text.contains(USER) && !first.contains(USER));

    let child = world.text(USER, "パス　たろう").await;
    assert!(texts(&child)[0].starts_with("「たろう」のパスを発行しました"), "{child:?}");
    let (child_image, child_text, child_id) = issued(&world, &child).await;
    // The printable card: the name, the number's end, and the same QR code.
    let card = world.app.get(&child_image.replace("qr.png", "card.pdf")).await;
    assert_eq!((card.status(), card.headers()["content-type"].to_str().unwrap()), (StatusCode::OK, "application/pdf"));
    let card = axum::body::to_bytes(card.into_body(), 1 << 22).await.unwrap();
    let words = oshirase_e2e::pdf::pdf_text(&card);
    assert!(words.contains("たろう") && words.contains(child_id.short()) && words.contains("有効期限"), "{words}");
    assert_eq!(oshirase_e2e::qr::decode_qr_png(&oshirase_e2e::pdf::pdf_to_png(&card, 300)), vec![child_text]);

    // Someone else cannot revoke it, nor list it.
    assert!(texts(&world.text(OTHER, &format!("パス取消 {}", id.short())).await)[0].starts_with("その番号の有効なパスは見つかりませんでした"));
    world.consent(OTHER).await;
    assert!(texts(&world.text(OTHER, "パス一覧").await)[0].starts_with("有効なパスはありません"));

    let list = texts(&world.text(USER, "パス一覧").await).remove(0);
    assert!(list.starts_with("有効なパス（2枚）"), "{list}");
    assert!(list.contains("ご本人") && list.contains("「たろう」") && list.contains(id.short()) && list.contains(child_id.short()), "{list}");

    let version_before = world.heartbeat(None).await["revocations_version"].as_i64().unwrap();
    let revoked = texts(&world.text(USER, &format!("パス取消 {}", child_id.short().to_lowercase())).await).remove(0);
    assert!(revoked.starts_with(&format!("パス（「たろう」、番号 …{}）を取り消しました", child_id.short())), "{revoked}");
    let list = texts(&world.text(USER, "パス一覧").await).remove(0);
    assert!(list.starts_with("有効なパス（1枚）") && !list.contains(child_id.short()), "{list}");

    // The revoked pass's image is gone; the kiosk gets it on its revocation list, once.
    let child_path = {
        let Message::Image { original_url, .. } = &child[1] else { unreachable!() };
        original_url.strip_prefix("https://oshirase.example.jp").unwrap().to_owned()
    };
    assert_eq!(world.app.get(&child_path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(world.app.get(&path).await.status(), StatusCode::OK);
    let beat = world.heartbeat(Some(version_before)).await;
    assert_eq!(beat["revoked_passes"], json!([child_id.as_str()]));
    let version = beat["revocations_version"].as_i64().unwrap();
    assert!(version > version_before);
    assert_eq!(world.heartbeat(Some(version)).await["revoked_passes"], Value::Null, "unchanged: not sent again");
    assert_eq!(beat["pass_public_key"], STANDARD.encode(ed25519_dalek::SigningKey::from_bytes(&PASS_SEED).verifying_key().as_bytes()));

    // A made-up or malformed link is not found.
    assert_eq!(world.app.get(&path.replace("qr.png", "other.png")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(world.app.get("/p/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/qr.png").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(world.app.get("/p/short/qr.png").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn labels_are_bounded_passes_per_resident_are_limited_and_a_redelivered_request_issues_nothing() {
    let world = World::new().await;
    world.consent(USER).await;
    let long = world.text(USER, &format!("パス {}", "あ".repeat(21))).await;
    assert!(texts(&long)[0].starts_with("パスの名前は20文字までで入力してください"));
    for i in 0..10 {
        let issued = world.text(USER, &format!("パス 家族{i}")).await;
        assert!(matches!(issued.get(1), Some(Message::Image { .. })), "{i}: {issued:?}");
    }
    let eleventh = world.text(USER, "パス").await;
    assert!(texts(&eleventh)[0].starts_with("発行できるパスは10枚までです"), "{eleventh:?}");
    assert_eq!(world.app.count("passes"), 10);
    // "パスワード" is not a request for a pass.
    assert!(!texts(&world.text(USER, "パスワード").await)[0].contains("パス（"));
}

#[tokio::test]
async fn synced_scans_become_the_residents_visits_at_the_corrected_time_each_sequence_number_once() {
    let world = World::new().await;
    world.consent(USER).await;
    let (_, _, id) = issued(&world, &world.text(USER, "パス").await).await;
    let t = now_ms() - 60_000;
    let scans = json!([
        {"seq": 1, "pass_id": id.as_str(), "scanned_at": rfc3339_ms(t), "clock_offset_ms": 1500},
        {"seq": 2, "pass_id": id.as_str(), "scanned_at": rfc3339_ms(t + 10_000), "clock_offset_ms": -500},
    ]);
    let (status, body) = world.sync(scans.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"acknowledged_through": 2, "recorded": 2, "duplicates": 0, "refused": 0}));
    assert_eq!(world.visits_at(t + 1500), 1, "the kiosk's time corrected by its offset");
    assert_eq!(world.visits_at(t + 9_500), 1);
    // The same batch again (the answer was lost): nothing new.
    let (_, again) = world.sync(scans).await;
    assert_eq!(again, json!({"acknowledged_through": 2, "recorded": 0, "duplicates": 2, "refused": 0}));
    assert_eq!(world.app.count("visits"), 2);

    // Refused but acknowledged: an unknown pass, a scan in the future, one past retention.
    let unknown = PassId::from_random([9; 10]);
    let (_, body) = world
        .sync(json!([
            {"seq": 3, "pass_id": unknown.as_str(), "scanned_at": rfc3339_ms(t), "clock_offset_ms": 0},
            {"seq": 4, "pass_id": id.as_str(), "scanned_at": rfc3339_ms(now_ms() + 3_600_000), "clock_offset_ms": 0},
            {"seq": 5, "pass_id": id.as_str(), "scanned_at": rfc3339_ms(now_ms() - 40 * 86_400_000), "clock_offset_ms": 0},
            {"seq": 7, "pass_id": id.as_str(), "scanned_at": rfc3339_ms(t + 20_000), "clock_offset_ms": 0},
        ]))
        .await;
    assert_eq!(body, json!({"acknowledged_through": 7, "recorded": 1, "duplicates": 0, "refused": 3}));
    assert_eq!(world.app.count("visits"), 3);

    // A revoked pass: scans before the revocation still count, later ones do not.
    let before_revocation = now_ms() - 1000;
    world.text(USER, &format!("パス取消 {}", id.short())).await;
    let (_, body) = world
        .sync(json!([
            {"seq": 8, "pass_id": id.as_str(), "scanned_at": rfc3339_ms(before_revocation), "clock_offset_ms": 0},
            {"seq": 9, "pass_id": id.as_str(), "scanned_at": rfc3339_ms(now_ms() + 1000), "clock_offset_ms": 0},
        ]))
        .await;
    assert_eq!(body, json!({"acknowledged_through": 9, "recorded": 1, "duplicates": 0, "refused": 1}));
}

#[tokio::test]
async fn a_bad_batch_changes_nothing_and_a_stranger_cannot_sync() {
    let world = World::new().await;
    world.consent(USER).await;
    let (_, _, id) = issued(&world, &world.text(USER, "パス").await).await;
    let t = rfc3339_ms(now_ms());
    for (bad, why) in [
        (json!([{"seq": 2, "pass_id": id.as_str(), "scanned_at": t, "clock_offset_ms": 0}, {"seq": 1, "pass_id": id.as_str(), "scanned_at": t, "clock_offset_ms": 0}]), "descending"),
        (json!([{"seq": 1, "pass_id": id.as_str(), "scanned_at": t, "clock_offset_ms": 0}, {"seq": 2, "pass_id": "NOT-A-PASS", "scanned_at": t, "clock_offset_ms": 0}]), "malformed pass id"),
        (json!([{"seq": 1, "pass_id": id.as_str(), "scanned_at": "yesterday", "clock_offset_ms": 0}]), "malformed time"),
        (json!([{"seq": 0, "pass_id": id.as_str(), "scanned_at": t, "clock_offset_ms": 0}]), "zero"),
        (json!([{"seq": 1, "pass_id": id.as_str(), "scanned_at": t, "clock_offset_ms": 99_999_999_999_i64}]), "absurd offset"),
    ] {
        let (status, body) = world.sync(bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {body}");
        assert_eq!(body["error"]["code"], "invalid_scans", "{why}: {body}");
    }
    let too_many: Vec<Value> = (1..=1001).map(|i| json!({"seq": i, "pass_id": id.as_str(), "scanned_at": t, "clock_offset_ms": 0})).collect();
    assert_eq!(world.sync(Value::Array(too_many)).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(world.app.count("visits"), 0);
    let stranger = api_call(&world.app, "POST", "/api/v1/kiosk/scans", Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), Some(json!({"scans": []}))).await;
    assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED);
    let nobody = api_call(&world.app, "POST", "/api/v1/kiosk/scans", None, Some(json!({"scans": []}))).await;
    assert_eq!(nobody.status(), StatusCode::UNAUTHORIZED);
    // A full batch of 1,000 fits the body limit.
    let full: Vec<Value> = (1..=1000).map(|i| json!({"seq": i, "pass_id": id.as_str(), "scanned_at": t, "clock_offset_ms": -1234})).collect();
    let (status, body) = world.sync(Value::Array(full)).await;
    assert_eq!((status, body["recorded"].as_i64()), (StatusCode::OK, Some(1000)), "{body}");
}

#[tokio::test]
async fn staff_see_how_many_scans_wait_on_each_kiosk() {
    let world = World::new().await;
    world.heartbeat_pending(None, 37).await;
    let admin = add_staff(&world.app, "kanri", &[Role::Admin]).await;
    let token = add_token(&world.app, admin, Role::Admin, None).await;
    let fleet = json_body(api_call(&world.app, "GET", "/api/v1/staff/kiosks", Some(&token), None).await).await;
    assert_eq!(fleet["kiosks"][0]["pending_scans"], 37, "{fleet}");
}

#[tokio::test]
async fn a_resident_who_deletes_their_data_takes_their_passes_with_them() {
    let world = World::new().await;
    world.consent(USER).await;
    let messages = world.text(USER, "パス").await;
    let (path, _, id) = issued(&world, &messages).await;
    let version = world.heartbeat(None).await["revocations_version"].as_i64().unwrap();
    let until = i64::try_from((OffsetDateTime::now_utc() + time::Duration::minutes(5)).unix_timestamp_nanos() / 1_000_000).unwrap();
    world.say(USER, EventKind::Postback { data: format!("delete=confirm&until={until}") }).await;
    assert_eq!(world.app.count("passes"), 0, "the pass and its label are gone");
    assert_eq!(world.app.get(&path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(world.heartbeat(Some(version)).await["revoked_passes"], json!([id.as_str()]), "kiosks refuse it from now on");
    let (_, body) = world.sync(json!([{"seq": 1, "pass_id": id.as_str(), "scanned_at": rfc3339_ms(now_ms()), "clock_offset_ms": 0}])).await;
    assert_eq!(body["refused"], 1);
    assert_eq!(world.app.count("visits"), 0);
    // The pass text itself never named the resident.
    let key = ed25519_dalek::SigningKey::from_bytes(&PASS_SEED);
    let text = pass::issue(&key, &Pass { id, expires_at: 2_000_000_000 });
    assert!(!text.contains(USER));
}

#[tokio::test]
async fn a_history_code_shares_either_the_residents_own_visits_or_one_passs_never_both() {
    let world = World::new().await;
    world.consent(USER).await;
    let recorded = texts(&world.text(USER, &format!("来場登録 {}", world.code)).await).remove(0);
    assert!(recorded.starts_with("「市民体育館 メインアリーナ」への来場を記録しました"), "{recorded}");
    let (_, _, id) = issued(&world, &world.text(USER, "パス 花子").await).await;
    let pass_visit = now_ms() - 3_600_000;
    world.sync(json!([{"seq": 1, "pass_id": id.as_str(), "scanned_at": rfc3339_ms(pass_visit), "clock_offset_ms": 0}])).await;
    assert_eq!(world.app.count("visits"), 2);

    let admin = add_staff(&world.app, "chosa", &[Role::Investigator]).await;
    let token = add_token(&world.app, admin, Role::Investigator, None).await;
    let code_in = |reply: &str| reply.lines().nth(1).unwrap().trim().to_owned();
    let import = |reference: &'static str, code: String| {
        let app = &world.app;
        let token = token.clone();
        async move {
            let case = json_body(api_call(app, "POST", "/api/v1/staff/cases", Some(&token), Some(json!({ "reference": reference }))).await).await;
            let id = case["id"].as_i64().unwrap();
            let imported = json_body(api_call(app, "POST", &format!("/api/v1/staff/cases/{id}/history"), Some(&token), Some(json!({ "code": code }))).await).await;
            imported["exposures"].as_array().unwrap().iter().map(|e| {
                let at = OffsetDateTime::parse(e["starts_at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
                i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap()
            }).collect::<Vec<i64>>()
        }
    };

    // The resident's own code: the LINE check-in only.
    let own = texts(&world.text(USER, "履歴コード").await).remove(0);
    assert!(own.starts_with("保健所の調査用の「履歴コード」です。") && own.contains("ご家族のパスでの来場は含まれません"), "{own}");
    let own_times = import("2026-PASS-H1", code_in(&own)).await;
    assert_eq!(own_times.len(), 1);
    assert!((now_ms() - own_times[0]).abs() < 60_000, "the check-in just now, not the pass's visit an hour ago: {own_times:?}");

    // The pass's code: its visit only.
    let child = texts(&world.text(USER, &format!("履歴コード {}", id.short())).await).remove(0);
    assert!(child.starts_with(&format!("パス（番号 …{}）で記録された来場", id.short())), "{child}");
    assert_eq!(import("2026-PASS-H2", code_in(&child)).await, vec![pass_visit]);

    // A number that is none of the resident's passes gets no code.
    let unknown = texts(&world.text(USER, "履歴コード ZZZZ").await).remove(0);
    assert!(unknown.starts_with("その番号の有効なパスは見つかりませんでした"), "{unknown}");
    assert_eq!(world.app.count("history_codes"), 2);
}
