//! A resident checks in at a kiosk, end to end: a venue pairs a kiosk through the real server,
//! the test plays the kiosk (it signs its rotating codes with the secret it was paired with,
//! as `oshirase-kiosk` does), and a LINE sandbox resident scans the code: the visit lands at
//! the kiosk's place at the code's time; a photo of an old code and a revoked kiosk's code are
//! refused and record nothing.

use base64::Engine;
use oshirase_common::kiosk_token::{KioskId, KioskSecret, KioskToken, Steps};
use oshirase_e2e::LineWorld;
use oshirase_e2e::line::now_ms;
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Kiosk {
    id: KioskId,
    secret: KioskSecret,
}

async fn pair(world: &LineWorld, location: &str, manage_token: &str) -> Kiosk {
    let client = world.server.client();
    let code: Value = client
        .post(world.server.url(&format!("/api/v1/manage/venues/{location}/kiosks")))
        .bearer_auth(manage_token)
        .send()
        .await
        .expect("ask for a pairing code")
        .json()
        .await
        .expect("JSON");
    let paired = client.post(world.server.url("/api/v1/kiosks/pair")).json(&json!({ "pairing_code": code["pairing_code"] })).send().await.expect("pair");
    assert_eq!(paired.status(), StatusCode::CREATED);
    let paired: Value = paired.json().await.expect("JSON");
    let secret = base64::engine::general_purpose::STANDARD.decode(paired["kiosk_secret"].as_str().expect("secret")).expect("base64");
    Kiosk { id: KioskId::parse(paired["kiosk_id"].as_str().expect("id")).expect("kiosk id"), secret: KioskSecret::new(secret.try_into().expect("32 bytes")) }
}

fn step_now() -> u64 {
    Steps { seconds: 30 }.at(u64::try_from(now_ms() / 1000).expect("after 1970"))
}

fn url(world: &LineWorld, kiosk: &Kiosk, step: u64) -> String {
    format!("{}/K/{}", world.server.base_url().to_ascii_uppercase(), KioskToken::issue(&kiosk.id, &kiosk.secret, step))
}

fn visits(world: &LineWorld) -> Vec<(String, i64)> {
    let db = rusqlite::Connection::open(world.server.database_path()).expect("open the server's database");
    let mut stmt = db.prepare("SELECT location_id, scanned_at_ms FROM visits").expect("query");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).expect("rows").collect::<Result<_, _>>().expect("visits")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_scans_a_kiosk_code_and_the_visit_lands_at_its_place_at_the_codes_time() {
    let world = LineWorld::start().await;
    let venue = world.register_venue("市民ホール 大ホール").await;
    let kiosk = pair(&world, &venue.location_id, &venue.manage_token).await;
    let user = world.line.add_resident("佐藤 次郎").await;
    world.line.follow(&user).await;
    world.line.postback(&user, "consent=2026-11", Some("同意する")).await;

    let step = step_now();
    let report = world.line.scan(&user, &url(&world, &kiosk, step)).await;
    assert_eq!(report["outcome"], "message_sent", "{report}");
    let inbox = world.wait_for_inbox(&user, 5).await;
    let confirmation = inbox.last().and_then(|m| m["message"]["text"].as_str()).unwrap_or_default().to_owned();
    assert!(confirmation.starts_with("「市民ホール 大ホール」への来場を記録しました"), "{confirmation}");
    assert_eq!(visits(&world), vec![(venue.location_id.clone(), i64::try_from(Steps { seconds: 30 }.start(step)).expect("fits") * 1000)]);

    // A photo of the screen taken ten minutes ago is refused at the scan.
    let old = world.line.scan(&user, &url(&world, &kiosk, step - 20)).await;
    assert_eq!((old["outcome"].as_str(), old["status"].as_u64()), (Some("page"), Some(410)), "{old}");

    // A revoked kiosk's codes are refused.
    let revoked = world
        .server
        .client()
        .post(world.server.url(&format!("/api/v1/manage/kiosks/{}/revoke", kiosk.id.as_str())))
        .bearer_auth(&venue.manage_token)
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoked.status(), StatusCode::OK);
    let refused = world.line.scan(&user, &url(&world, &kiosk, step_now())).await;
    assert_eq!((refused["outcome"].as_str(), refused["status"].as_u64()), (Some("page"), Some(410)), "{refused}");
    assert_eq!(visits(&world).len(), 1, "nothing more was recorded");
}
