//! The real kiosk binary, end to end: `oshirase-kiosk pair` with a code from the venue's
//! management API, `oshirase-kiosk run` with its screen preview, the preview's QR code read the
//! way a phone reads a screen (decoded from the PNG), and a LINE sandbox resident scanning it:
//! the visit lands at the kiosk's place. Then the two things a Pi without a real-time clock on
//! a flaky network must get right: no code before its clock is trusted, and codes that go on
//! (and are still accepted) while the server is down, with the outage reported afterwards.

use std::process::Stdio;
use std::time::{Duration, Instant};

use oshirase_e2e::kiosk::kiosk_binary;
use oshirase_e2e::{KioskProcess, LineWorld, TestServer, pair_kiosk, valid_venue};
use serde_json::Value;

/// Heartbeats every second and retries after a second, so the tests see changes quickly.
const QUICK: [&str; 6] = ["--heartbeat-every", "1", "--retry-after", "1", "--retry-max", "1"];

/// Runs the kiosk with quick heartbeats and a clock-synchronised flag file that does not exist
/// (as on a Pi that has not reached its time server), so only the server can give it the time.
async fn run_untrusted(data_dir: &std::path::Path, flag_dir: &tempfile::TempDir) -> KioskProcess {
    let flag = flag_dir.path().join("synchronized");
    let flag = flag.to_str().expect("a UTF-8 path");
    let mut args = QUICK.to_vec();
    args.extend(["--clock-synced-flag", flag]);
    KioskProcess::run(data_dir, &args).await
}

async fn register(server: &TestServer, name: &str) -> (String, String) {
    let body = server.register(&valid_venue(name)).await;
    (body["venues"][0]["location_id"].as_str().expect("location").to_owned(), body["registration"]["manage_token"].as_str().expect("token").to_owned())
}

/// The venue's one kiosk as its fleet view reports it.
async fn fleet(server: &TestServer, manage_token: &str) -> Value {
    let response = server.client().get(server.url("/api/v1/manage/kiosks")).bearer_auth(manage_token).send().await.expect("the fleet view");
    response.json::<Value>().await.expect("JSON")["kiosks"][0].clone()
}

/// Waits up to ten seconds for the fleet view to report what `done` wants.
async fn wait_for_report(server: &TestServer, manage_token: &str, kiosk: &KioskProcess, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reported = fleet(server, manage_token).await;
        if done(&reported) {
            return reported;
        }
        assert!(Instant::now() < deadline, "the kiosk did not report {what}: {reported}; its log:\n{}", kiosk.output());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_scans_the_real_kiosks_screen_and_checks_in_at_its_place() {
    let world = LineWorld::start().await;
    let venue = world.register_venue("図書館 閲覧室").await;
    let paired = pair_kiosk(&world.server, &venue.location_id, &venue.manage_token).await;
    let kiosk = KioskProcess::run(paired.data_dir.path(), &[]).await;

    // The kiosk shows a code once its clock is trusted (after its first heartbeat here).
    let url = kiosk.wait_for_code(Duration::from_secs(20)).await;
    assert!(url.starts_with(&format!("{}/K/", world.server.base_url().to_ascii_uppercase())), "{url}");

    let user = world.line.add_resident("鈴木 一郎").await;
    world.line.follow(&user).await;
    world.line.postback(&user, "consent=2026-11", Some("同意する")).await;
    let report = world.line.scan(&user, &url).await;
    assert_eq!(report["outcome"], "message_sent", "{report}");
    let inbox = world.wait_for_inbox(&user, 5).await;
    let last = inbox.last().and_then(|m| m["message"]["text"].as_str()).unwrap_or_default();
    assert!(last.starts_with("「図書館 閲覧室」への来場を記録しました"), "{last}");
    let db = rusqlite::Connection::open(world.server.database_path()).expect("db");
    let at: String = db.query_row("SELECT location_id FROM visits", [], |r| r.get(0)).expect("one visit");
    assert_eq!(at, venue.location_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn until_its_clock_is_trusted_the_kiosk_shows_no_code() {
    let server = TestServer::start().await;
    let (location, manage_token) = register(&server, "公民館 ホール").await;
    let paired = pair_kiosk(&server, &location, &manage_token).await;
    // A power cut: the kiosk boots while the server is unreachable and NTP has not answered.
    let stopped = server.stop().await;
    let flag_dir = tempfile::tempdir().expect("a folder for the clock flag");
    let kiosk = run_untrusted(paired.data_dir.path(), &flag_dir).await;

    kiosk.wait_for_state("the clock screen", Duration::from_secs(10), |s| s["screen"] == "clock_untrusted").await;
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        assert_eq!(kiosk.state().await["screen"], "clock_untrusted", "the kiosk has no time it can trust yet");
        assert_eq!(kiosk.codes_on_screen().await, Vec::<String>::new(), "no code a phone could read");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // The server comes back: its answer gives the kiosk the time, and codes appear.
    let server = stopped.start_again().await;
    kiosk.wait_for_state("a code", Duration::from_secs(20), |s| s["screen"] == "code" && s["offline"] == false).await;
    let url = kiosk.wait_for_code(Duration::from_secs(5)).await;
    let token = url.rsplit('/').next().expect("a token");
    server.assert_leads_into_line(&url, token).await;
    wait_for_report(&server, &manage_token, &kiosk, "its offset to server time", |k| k["clock_offset_ms"].is_i64()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_the_system_clock_is_synchronised_the_kiosk_shows_codes_even_without_the_server() {
    let server = TestServer::start().await;
    let (location, manage_token) = register(&server, "駅前ギャラリー").await;
    let paired = pair_kiosk(&server, &location, &manage_token).await;
    let stopped = server.stop().await;
    let flag_dir = tempfile::tempdir().expect("a folder for the clock flag");
    let kiosk = run_untrusted(paired.data_dir.path(), &flag_dir).await;
    kiosk.wait_for_state("the clock screen", Duration::from_secs(10), |s| s["screen"] == "clock_untrusted").await;

    // NTP answers (systemd-timesyncd creates its flag file).
    std::fs::write(flag_dir.path().join("synchronized"), b"").expect("create the flag");
    kiosk.wait_for_state("an offline code", Duration::from_secs(10), |s| s["screen"] == "code" && s["offline"] == true).await;
    let url = kiosk.wait_for_code(Duration::from_secs(5)).await;
    let server = stopped.start_again().await;
    server.assert_leads_into_line(&url, url.rsplit('/').next().expect("a token")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_server_down_the_kiosk_keeps_showing_valid_codes_and_reports_the_outage_later() {
    // Five-second codes, so the test sees them rotate while the server is away.
    let server = TestServer::start_with(&[("OSHIRASE_KIOSK__STEP_SECONDS", "5")]).await;
    let (location, manage_token) = register(&server, "市民プール 受付").await;
    let paired = pair_kiosk(&server, &location, &manage_token).await;
    let flag_dir = tempfile::tempdir().expect("a folder for the clock flag");
    let kiosk = run_untrusted(paired.data_dir.path(), &flag_dir).await;
    kiosk.wait_for_state("a code", Duration::from_secs(20), |s| s["screen"] == "code" && s["offline"] == false).await;
    assert_eq!(fleet(&server, &manage_token).await["last_error"], Value::Null);

    let stopped = server.stop().await;
    kiosk.wait_for_state("the offline screen", Duration::from_secs(10), |s| s["screen"] == "code" && s["offline"] == true).await;
    let first = kiosk.wait_for_code(Duration::from_secs(5)).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let rotated = loop {
        let code = kiosk.wait_for_code(Duration::from_secs(5)).await;
        if code != first {
            break code;
        }
        assert!(Instant::now() < deadline, "the code did not rotate while offline");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(kiosk.state().await["offline"], true);

    let server = stopped.start_again().await;
    // The code the kiosk showed while the server was away is a valid code.
    server.assert_leads_into_line(&rotated, rotated.rsplit('/').next().expect("a token")).await;
    kiosk.wait_for_state("back online", Duration::from_secs(20), |s| s["screen"] == "code" && s["offline"] == false).await;
    let reported = wait_for_report(&server, &manage_token, &kiosk, "the outage", |k| k["screen"] == "idle" && k["last_error"].is_string()).await;
    assert!(reported["last_error_at"].is_string(), "{reported}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_systemd_the_kiosk_reports_ready_and_pings_the_watchdog() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket_path = dir.path().join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).expect("bind the notify socket");
    socket.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let child = tokio::process::Command::new(kiosk_binary())
        .args(["run", "--data-dir"])
        .arg(dir.path().join("unpaired"))
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "2000000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("run oshirase-kiosk");
    let _kiosk = child;
    let mut seen: Vec<String> = Vec::new();
    let mut buf = [0u8; 256];
    while !(seen.iter().any(|m| m.contains("READY=1")) && seen.iter().any(|m| m.contains("WATCHDOG=1"))) {
        let n = socket.recv(&mut buf).unwrap_or_else(|e| panic!("no notification within 20 s (got {seen:?}): {e}"));
        seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
}
