//! The real `oshirase-kiosk` binary as a child process: paired through the venue's management
//! API with `oshirase-kiosk pair`, then `oshirase-kiosk run` with its screen preview on a free
//! port. Tests look at the screen the way a phone does (the preview's PNG, decoded) and at the
//! preview's `/state`. The process is killed when the [`KioskProcess`] is dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;
use tokio::process::{Child, Command};

use crate::qr::decode_qr_png;
use crate::server::{TestServer, lines, target_dir, wait_until_listening};

/// What the kiosk prints once its preview listens, followed by its URL.
const PREVIEW_PREFIX: &str = "oshirase-kiosk preview on ";

/// The path of the `oshirase-kiosk` binary under the target folder; panics, saying how to
/// build it, when it is missing.
pub fn kiosk_binary() -> PathBuf {
    let path = target_dir().join("debug").join("oshirase-kiosk");
    assert!(path.is_file(), "{} does not exist: run `cargo build --workspace --bins` first (the project's test script does)", path.display());
    path
}

/// A kiosk's data folder after `oshirase-kiosk pair` succeeded.
#[derive(Debug)]
pub struct PairedKiosk {
    /// The kiosk's data folder (its identity).
    pub data_dir: TempDir,
    /// The kiosk id the server gave.
    pub kiosk_id: String,
}

/// Gets a pairing code for `location_id` from the management API and runs
/// `oshirase-kiosk pair` with it.
pub async fn pair_kiosk(server: &TestServer, location_id: &str, manage_token: &str) -> PairedKiosk {
    let code: Value = server
        .client()
        .post(server.url(&format!("/api/v1/manage/venues/{location_id}/kiosks")))
        .bearer_auth(manage_token)
        .send()
        .await
        .expect("ask for a pairing code")
        .json()
        .await
        .expect("the pairing code as JSON");
    let data_dir = tempfile::Builder::new().prefix("oshirase-kiosk-").tempdir().expect("the kiosk's data folder");
    let paired = std::process::Command::new(kiosk_binary())
        .args(["pair", "--server", server.base_url(), "--code", code["pairing_code"].as_str().unwrap_or_else(|| panic!("no pairing code in {code}")), "--data-dir"])
        .arg(data_dir.path())
        .output()
        .expect("run oshirase-kiosk pair");
    assert!(paired.status.success(), "pairing failed: {}", String::from_utf8_lossy(&paired.stderr));
    let identity: Value = serde_json::from_slice(&std::fs::read(data_dir.path().join("identity.json")).expect("the kiosk's identity")).expect("identity JSON");
    let kiosk_id = identity["kiosk_id"].as_str().expect("kiosk id").to_owned();
    PairedKiosk { data_dir, kiosk_id }
}

/// A running `oshirase-kiosk run` with its preview.
#[derive(Debug)]
pub struct KioskProcess {
    child: Child,
    preview: String,
    output: Arc<Mutex<Vec<String>>>,
}

impl KioskProcess {
    /// Runs the kiosk on `data_dir` with a preview on a free port and `extra` arguments
    /// (timings, the clock flag). Waits until the preview listens.
    pub async fn run(data_dir: &Path, extra: &[&str]) -> KioskProcess {
        let mut child = Command::new(kiosk_binary())
            .args(["run", "--preview-listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env("RUST_LOG", "info")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("run oshirase-kiosk");
        let started = wait_until_listening(&mut child, "oshirase-kiosk", PREVIEW_PREFIX).await;
        KioskProcess { child, preview: started.base_url, output: started.output }
    }

    /// What the kiosk printed after its preview line (its log).
    pub fn output(&self) -> String {
        lines(&self.output)
    }

    /// The preview's URL (`http://127.0.0.1:PORT`).
    pub fn preview_url(&self) -> &str {
        &self.preview
    }

    /// The lines printed so far that start with `prefix` (`scan accepted`, `scans synced`…).
    pub fn lines_starting(&self, prefix: &str) -> Vec<String> {
        self.output.lock().map(|l| l.iter().filter(|l| l.starts_with(prefix)).cloned().collect()).unwrap_or_default()
    }

    /// Waits up to `timeout` for the `n`th line (from 1) starting with `prefix`; panics with the
    /// kiosk's log if it does not come.
    pub async fn wait_for_line(&self, prefix: &str, n: usize, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.lines_starting(prefix).get(n - 1) {
                return line.clone();
            }
            assert!(Instant::now() < deadline, "no line {n} starting with {prefix:?} within {timeout:?}; the kiosk's log:\n{}", self.output());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The preview's `/state`: `{"screen": "code" | "unpaired" | "clock_untrusted" | "disabled", "offline": bool}`.
    pub async fn state(&self) -> Value {
        reqwest::get(format!("{}/state", self.preview)).await.expect("the preview's state").json().await.expect("state JSON")
    }

    /// The screen as a PNG.
    pub async fn screen_png(&self) -> Vec<u8> {
        reqwest::get(format!("{}/screen.png", self.preview)).await.expect("the preview's screen").bytes().await.expect("PNG").to_vec()
    }

    /// Shows `png` to the kiosk's simulated camera (`POST /camera` on its preview) as its
    /// next frame; returns the answer's status (`202` taken, `503` the camera is busy).
    pub async fn show(&self, png: Vec<u8>) -> reqwest::StatusCode {
        let client = reqwest::Client::new();
        client.post(format!("{}/camera", self.preview)).header("content-type", "image/png").body(png).send().await.expect("POST /camera").status()
    }

    /// Kills the kiosk at once (SIGKILL: no shutdown code runs, as in a power cut) and waits
    /// until it is gone; returns everything it printed.
    pub async fn kill9(mut self) -> String {
        self.child.kill().await.expect("kill -9 the kiosk");
        // Let the readers drain what the process wrote before it died.
        tokio::time::sleep(Duration::from_millis(100)).await;
        lines(&self.output)
    }

    /// The QR codes a phone reads off the screen now.
    pub async fn codes_on_screen(&self) -> Vec<String> {
        decode_qr_png(&self.screen_png().await)
    }

    /// Waits up to `timeout` for `/state` to satisfy `done`; panics with the kiosk's log if it
    /// never does.
    pub async fn wait_for_state(&self, what: &str, timeout: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let state = self.state().await;
            if done(&state) {
                return state;
            }
            assert!(Instant::now() < deadline, "the kiosk did not reach {what} within {timeout:?} (last state {state}); its log:\n{}", self.output());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits up to `timeout` for a readable code on the screen and returns it.
    pub async fn wait_for_code(&self, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(url) = self.codes_on_screen().await.into_iter().next() {
                return url;
            }
            assert!(Instant::now() < deadline, "the kiosk showed no code within {timeout:?}; its log:\n{}", self.output());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for KioskProcess {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
