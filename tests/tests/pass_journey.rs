//! Passes end to end with the real binaries (issue 7): the server, the LINE sandbox and a
//! paired kiosk with its simulated camera.
//!
//! - A resident asks for a pass in the sandbox chat ("パス 太郎"); the server answers with a
//!   text and an image message, and the sandbox fetches the image from the server as LINE
//!   does. That very image, "photographed" — blurred, turned, tilted, on a busy background,
//!   noisy — becomes the kiosk camera's recorded frames: the kiosk beeps, shows its green
//!   screen, buffers the scan, syncs it, and the server records a visit of the resident who
//!   asked. An approved case at that place and time then alerts that resident's LINE account.
//!   Revoked in LINE ("パス取消"), the pass is refused by the kiosk after its next heartbeat.
//! - Scans made while the server is down wait in the kiosk's buffer and are synced once
//!   when it is back; a kiosk killed with SIGKILL in the middle of a stream of scans loses
//!   none it confirmed and the server stores each exactly once.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use oshirase_device::camera::degrade::{self, Kind, Symbol};
use oshirase_device::camera::recorded::png_to_frame;
use oshirase_e2e::line::now_ms;
use oshirase_e2e::texts::{catalog, texts};
use oshirase_e2e::{KioskProcess, LineWorld, PairedKiosk, Venue, pair_kiosk};
use reqwest::{Method, StatusCode};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Heartbeats every second and a retry a second after a failure: changes show quickly.
const QUICK: [&str; 6] = ["--heartbeat-every", "1", "--retry-after", "1", "--retry-max", "1"];
/// How long the kiosk may take to see, buffer and sync a scan.
const WAIT: Duration = Duration::from_secs(30);

/// A resident's pass, as LINE delivered it.
struct IssuedPass {
    /// The image the sandbox fetched from the server (PNG).
    png: Vec<u8>,
    /// The last four symbols of its number, as the text names it.
    short: String,
}

/// The resident asks for a pass named `name`; returns the image LINE fetched and the number.
async fn ask_for_pass(world: &LineWorld, user: &str, name: &str) -> IssuedPass {
    let before = world.line.inbox(user).await.len();
    world.line.send_text(user, &format!("パス {name}")).await;
    let inbox = world.wait_for_inbox(user, before + 2).await;
    let new = &inbox[before..];
    let text = texts(new).pop().unwrap_or_else(|| panic!("a text about the pass: {new:#?}"));
    assert!(text.starts_with(&format!("「{name}」のパスを発行しました（番号 …")), "{text}");
    let short = text.split("番号 …").nth(1).and_then(|rest| rest.get(..4)).unwrap_or_else(|| panic!("a number in {text}")).to_owned();
    let image = new.iter().find(|m| m["message"]["type"] == "image").unwrap_or_else(|| panic!("an image message: {new:#?}"));
    let message_id = image["message_id"].as_str().unwrap_or_else(|| panic!("a message id: {image}"));
    assert!(!image.to_string().contains(user), "the image's address names nobody: {image}");
    let png = world.line.fetched_image(user, message_id, WAIT).await;
    IssuedPass { png, short }
}

/// A venue with a paired kiosk.
async fn venue_with_kiosk(world: &LineWorld, name: &str) -> (Venue, PairedKiosk) {
    let venue = world.register_venue(name).await;
    let kiosk = pair_kiosk(&world.server, &venue.location_id, &venue.manage_token).await;
    (venue, kiosk)
}

/// Visit times at `location` of `user` (or of everybody), from the server's database.
fn visits(world: &LineWorld, location: &str, user: Option<&str>) -> Vec<i64> {
    let db = rusqlite::Connection::open(world.server.database_path()).expect("open the server's database");
    let mut statement = db
        .prepare("SELECT v.scanned_at_ms FROM visits v JOIN residents r ON r.id = v.resident_id WHERE v.location_id = ?1 AND (?2 IS NULL OR r.line_user_id = ?2) ORDER BY v.scanned_at_ms")
        .expect("prepare");
    let rows = statement.query_map(rusqlite::params![location, user], |r| r.get(0)).expect("query visits");
    rows.collect::<Result<_, _>>().expect("read visits")
}

/// "scan accepted seq=N pass=…XXXX" lines the kiosk printed: the sequence numbers it confirmed.
fn confirmed(output: &str) -> Vec<u64> {
    output.lines().filter_map(|l| l.split("scan accepted seq=").nth(1)).filter_map(|rest| rest.split_whitespace().next()?.parse().ok()).collect()
}

/// The newest sequence number the kiosk's buffer ever handed out (committed, whether or not
/// the kiosk lived to confirm it).
fn last_committed(data_dir: &Path) -> u64 {
    let db = rusqlite::Connection::open(data_dir.join("scans.sqlite")).expect("the kiosk's buffer");
    let last: i64 = db.query_row("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'scans'), 0)", [], |r| r.get(0)).expect("its sequence");
    u64::try_from(last).expect("a positive sequence")
}

fn rfc3339_jst(unix_ms: i64) -> String {
    let offset = UtcOffset::from_hms(9, 0, 0).expect("JST");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000).expect("time").to_offset(offset).format(&Rfc3339).expect("format")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_from_the_chat_photographed_at_a_kiosk_is_one_visit_and_brings_the_alert_to_the_account_that_asked() {
    let world = LineWorld::start().await;
    let (venue, kiosk) = venue_with_kiosk(&world, "市民体育館 サブアリーナ").await;
    let parent = world.consenting_resident("佐藤 母").await;
    let bystander = world.consenting_resident("鈴木 通行人").await;
    let pass = ask_for_pass(&world, &parent, "太郎").await;

    // The image as LINE shows it, photographed at the kiosk: eight frames of a card held up,
    // each degraded its own way. A pass held in front of the camera is one scan however many
    // frames read it.
    let symbol = Symbol::from_printed(&png_to_frame(&pass.png).expect("a PNG")).expect("the image is a QR code");
    let recording = tempfile::tempdir().expect("a folder for frames");
    let kinds = [Kind::Blur, Kind::Rotation, Kind::Noise, Kind::Perspective, Kind::Motion, Kind::Lighting, Kind::Combined, Kind::Clean];
    let mut readable = 0;
    for (i, kind) in kinds.iter().enumerate() {
        let frame = degrade::frame(&symbol, *kind, 1000 + i as u64);
        readable += usize::from(!oshirase_device::camera::decode::decode(&frame).is_empty());
        std::fs::write(recording.path().join(format!("{i:03}-{}.png", kind.name())), frame.to_png()).expect("write a frame");
    }
    assert!(readable >= 4, "at least half the photographed frames can be read: {readable} of {}", kinds.len());

    let camera = recording.path().to_str().expect("a UTF-8 path");
    let running = KioskProcess::run(kiosk.data_dir.path(), &[&QUICK[..], &["--camera-dir", camera, "--scan-debounce-ms", "2000"]].concat()).await;
    // Beep and green: the accepted screen and the accepted sound and light, for the one scan.
    let seen = running
        .wait_for_state("the accepted screen and sound", WAIT, |s| s["overlay"] == "scan_accepted" || s["accepted_scans"].as_u64() >= Some(1))
        .await;
    assert_eq!(seen["feedback"], "accepted", "{seen}");
    let synced = running.wait_for_state("the scan synced", WAIT, |s| s["accepted_scans"] == 1 && s["pending_scans"] == 0 && s["last_scan"]["outcome"] == "accepted").await;
    let output = running.output();
    assert_eq!(confirmed(&output), vec![1], "one scan for the held card:\n{output}");
    assert!(output.contains(&format!("scan accepted seq=1 pass=…{}", pass.short)), "{output}");
    let at = visits(&world, &venue.location_id, Some(&parent));
    assert_eq!(at.len(), 1, "one visit of the parent's account at the kiosk's place: {synced}\n{}", world.server.output());
    assert!((now_ms() - at[0]).abs() < 60_000, "at the scan's own time");
    // The screen says it in Japanese; the resident's chat got nothing about it (no quota spent).
    let inbox_before_case = world.line.inbox(&parent).await.len();

    // The case: the positive person was at the place around the scan.
    let server = &world.server;
    server.create_staff("kimura", "木村 調査", "investigator");
    server.create_staff("ono", "小野 承認", "approver");
    let investigator = server.staff_token("kimura", "investigator", "e2e pass journey");
    let approver = server.staff_token("ono", "approver", "e2e pass journey");
    let (status, case) = server.staff_api(&investigator, Method::POST, "/api/v1/staff/cases", Some(&json!({ "reference": "E2E-PASS-1", "tail_minutes": 1, "dwell_minutes": 1 }))).await;
    assert_eq!(status, StatusCode::CREATED, "{case}");
    let case_id = case["id"].as_i64().expect("case id");
    let exposure = json!({ "location_id": venue.location_id, "starts_at": rfc3339_jst(at[0] - 60_000), "ends_at": rfc3339_jst(now_ms()) });
    let (status, case) = server.staff_api(&investigator, Method::POST, &format!("/api/v1/staff/cases/{case_id}/exposures"), Some(&exposure)).await;
    assert_eq!(status, StatusCode::CREATED, "{case}");
    let (_, preview) = server.staff_api(&investigator, Method::GET, &format!("/api/v1/staff/cases/{case_id}/preview"), None).await;
    assert_eq!(preview["total"], 1, "the pass's visit counts like a check-in: {preview}");
    let (status, approved) = server.staff_api(&approver, Method::POST, &format!("/api/v1/staff/cases/{case_id}/approve"), None).await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    let inbox = world.wait_for_inbox(&parent, inbox_before_case + 1).await;
    let alert = texts(&inbox[inbox_before_case..]).pop().unwrap_or_else(|| panic!("the alert: {inbox:#?}"));
    assert!(alert.starts_with("【oshirase 接触確認のお知らせ】") && alert.contains("受診・相談センター（お住まいの保健所）"), "the alert, to the account that asked for the pass: {alert}");
    assert!(!alert.contains(&venue.name) && !alert.contains("太郎"), "the alert names no place and no pass holder: {alert}");
    assert_eq!(world.line.inbox(&bystander).await.len(), 4, "the bystander was never at the place: nothing after the consent thanks");

    // Lost: the parent revokes it in LINE; after its next heartbeat the kiosk refuses it.
    let before = world.line.inbox(&parent).await.len();
    world.line.send_text(&parent, &format!("パス取消 {}", pass.short)).await;
    let inbox = world.wait_for_inbox(&parent, before + 1).await;
    let revoked = catalog().text("pass_revoked", &[("holder", "「太郎」"), ("holder_en", "太郎"), ("short", &pass.short)]);
    assert_eq!(texts(&inbox[before..]), [revoked]);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let deadline = Instant::now() + WAIT;
    let refused = loop {
        let shown = running.show(pass.png.clone()).await;
        assert!(matches!(shown, StatusCode::ACCEPTED | StatusCode::SERVICE_UNAVAILABLE), "{shown}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let state = running.state().await;
        if state["last_scan"]["reason"] == "revoked" {
            break state;
        }
        assert!(Instant::now() < deadline, "the revoked pass was not refused: {state}\n{}", running.output());
    };
    assert_eq!((refused["feedback"].as_str(), refused["accepted_scans"].as_u64()), (Some("refused"), Some(1)), "{refused}");
    assert_eq!(visits(&world, &venue.location_id, None).len(), 1, "nothing new was recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_made_while_the_server_is_down_or_cut_off_by_kill_9_reach_the_server_exactly_once() {
    let LineWorld { server, line } = LineWorld::start().await;
    let world = LineWorld { server, line };
    let (venue, kiosk) = venue_with_kiosk(&world, "駅前図書館").await;
    let user = world.consenting_resident("高橋 祖父").await;
    let pass = ask_for_pass(&world, &user, "おじいちゃん").await;
    let data_dir = kiosk.data_dir.path();
    // A simulated camera that sees only what is shown to it, and next to no debounce: every
    // frame that reads the pass is a scan, a stream of them.
    let camera = tempfile::tempdir().expect("an empty folder for the camera");
    let args = [&QUICK[..], &["--scan-debounce-ms", "1", "--camera-dir", camera.path().to_str().expect("a UTF-8 path")]].concat();

    // The server is down: scans are confirmed from the buffer and wait there.
    let running = KioskProcess::run(data_dir, &args).await;
    running.wait_for_state("a code on screen", WAIT, |s| s["screen"] == "code").await;
    let LineWorld { server, line } = world;
    let stopped = server.stop().await;
    let mut shown = 0;
    let deadline = Instant::now() + WAIT;
    while running.state().await["accepted_scans"].as_u64() < Some(5) {
        if running.show(pass.png.clone()).await == StatusCode::ACCEPTED {
            shown += 1;
        }
        assert!(Instant::now() < deadline, "five scans were not confirmed while the server was down ({shown} frames shown):\n{}", running.output());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let offline = running.wait_for_state("offline with scans waiting", WAIT, |s| s["offline"] == true).await;
    let waiting = offline["pending_scans"].as_u64().expect("pending scans");
    assert!(waiting >= 5, "{offline}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let server = stopped.start_again().await;
    let world = LineWorld { server, line };
    let state = running.wait_for_state("every scan synced", WAIT, |s| s["pending_scans"] == 0 && s["offline"] == false).await;
    let accepted = state["accepted_scans"].as_u64().expect("accepted scans");
    assert_eq!(visits(&world, &venue.location_id, Some(&user)).len() as u64, accepted, "each buffered scan once: {state}");

    // Streams of scans, the kiosk syncing as it goes, each cut by SIGKILL at a different
    // moment; the last kiosk runs to the end.
    let mut running = running;
    let mut confirmed_all = BTreeSet::new();
    let mut synced_before_kills = 0;
    for cut_after_ms in [2500, 1300, 700] {
        let streaming_until = Instant::now() + Duration::from_millis(cut_after_ms);
        while Instant::now() < streaming_until {
            running.show(pass.png.clone()).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let output = running.kill9().await;
        synced_before_kills += output.lines().filter(|l| l.starts_with("scans synced")).count();
        confirmed_all.extend(confirmed(&output));
        let committed = last_committed(data_dir);
        assert!(confirmed_all.iter().all(|seq| *seq <= committed), "every confirmed scan is in the buffer: {confirmed_all:?} ≤ {committed}");
        running = KioskProcess::run(data_dir, &args).await;
    }
    let committed = last_committed(data_dir);
    assert!(confirmed_all.len() as u64 > accepted + 20, "the streams confirmed many more scans: {confirmed_all:?}");

    // Back on: whatever the kiosk had committed reaches the server, once.
    let state = running.wait_for_state("the rest synced", WAIT, |s| s["pending_scans"] == 0 && s["offline"] == false).await;
    let stored = visits(&world, &venue.location_id, Some(&user));
    assert_eq!(stored.len() as u64, committed, "every committed scan exactly once, none twice: {state}\nthe last kiosk:\n{}", running.output());
    eprintln!(
        "kill -9 mid-stream ×3: {} scans confirmed, {committed} committed, {synced_before_kills} batches synced before the kills; {} visits stored",
        confirmed_all.len(),
        stored.len()
    );
}
