//! The real kiosk binary, end to end: `oshirase-kiosk pair` with a code from the venue's
//! management API, `oshirase-kiosk run` with its screen preview, the preview's QR code read the
//! way a phone reads a screen (decoded from the PNG), and a LINE sandbox resident scanning it:
//! the visit lands at the kiosk's place.

use std::process::Stdio;
use std::time::{Duration, Instant};

use oshirase_e2e::server::target_dir;
use oshirase_e2e::{LineWorld, decode_qr_png};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Kills the kiosk when the test ends, however it ends.
struct Kiosk(tokio::process::Child);

impl Drop for Kiosk {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

fn kiosk_binary() -> std::path::PathBuf {
    let path = target_dir().join("debug").join("oshirase-kiosk");
    assert!(path.is_file(), "{} does not exist: run `cargo build --workspace --bins` first (the project's test script does)", path.display());
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_scans_the_real_kiosks_screen_and_checks_in_at_its_place() {
    let world = LineWorld::start().await;
    let venue = world.register_venue("図書館 閲覧室").await;
    let code: Value = world
        .server
        .client()
        .post(world.server.url(&format!("/api/v1/manage/venues/{}/kiosks", venue.location_id)))
        .bearer_auth(&venue.manage_token)
        .send()
        .await
        .expect("pairing code")
        .json()
        .await
        .expect("JSON");
    let data = tempfile::tempdir().expect("kiosk data dir");
    let paired = std::process::Command::new(kiosk_binary())
        .args(["pair", "--server", world.server.base_url(), "--code", code["pairing_code"].as_str().expect("code"), "--data-dir"])
        .arg(data.path())
        .output()
        .expect("run oshirase-kiosk pair");
    assert!(paired.status.success(), "pairing failed: {}", String::from_utf8_lossy(&paired.stderr));

    let mut child = tokio::process::Command::new(kiosk_binary())
        .args(["run", "--preview-listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("run oshirase-kiosk");
    let stdout = child.stdout.take().expect("stdout");
    let kiosk = Kiosk(child);
    let mut lines = BufReader::new(stdout).lines();
    let preview = tokio::time::timeout(Duration::from_secs(20), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.strip_prefix("oshirase-kiosk preview on ") {
                return url.trim().to_owned();
            }
        }
        panic!("the kiosk exited without announcing its preview")
    })
    .await
    .expect("the kiosk announces its preview");

    // The kiosk shows a code once its clock is trusted (after its first heartbeat here).
    let deadline = Instant::now() + Duration::from_secs(20);
    let url = loop {
        let png = reqwest::get(format!("{preview}/screen.png")).await.expect("preview").bytes().await.expect("png");
        if let Some(url) = decode_qr_png(&png).into_iter().next() {
            break url;
        }
        assert!(Instant::now() < deadline, "the kiosk showed no code within 20 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
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
    drop(kiosk);
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
    let _kiosk = Kiosk(child);
    let mut seen: Vec<String> = Vec::new();
    let mut buf = [0u8; 256];
    while !(seen.iter().any(|m| m.contains("READY=1")) && seen.iter().any(|m| m.contains("WATCHDOG=1"))) {
        let n = socket.recv(&mut buf).unwrap_or_else(|e| panic!("no notification within 20 s (got {seen:?}): {e}"));
        seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
}
