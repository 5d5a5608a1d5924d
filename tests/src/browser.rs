//! Headless Chromium driven through Debian's `chromedriver` with fantoccini, at a phone's
//! screen size, so tests can walk the pages the way a venue owner would. Each [`Browser`]
//! has its own chromedriver on a free port, a fresh profile and a private download folder;
//! dropping it ends the browser session and stops chromedriver.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::ClientBuilder;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tempfile::TempDir;

/// The viewport of a common Android phone, in CSS pixels.
pub const PHONE_WIDTH: u32 = 412;
/// See [`PHONE_WIDTH`].
pub const PHONE_HEIGHT: u32 = 915;
/// How long chromedriver may take to answer its status endpoint.
const DRIVER_STARTUP: Duration = Duration::from_secs(15);

/// A headless Chromium session. Derefs to the fantoccini [`fantoccini::Client`].
#[derive(Debug)]
pub struct Browser {
    client: fantoccini::Client,
    driver: Child,
    driver_port: u16,
    session_id: Option<String>,
    download_dir: TempDir,
    _profile_dir: TempDir,
}

impl Browser {
    /// Starts chromedriver and opens a headless Chromium session at phone size.
    pub async fn start() -> Browser {
        let driver_port = free_port();
        let mut driver = Command::new("chromedriver")
            .arg(format!("--port={driver_port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run `chromedriver` ({e}): install chromium and chromium-driver (`apt-get install chromium chromium-driver`); the project's test script installs them")
            });
        let driver_url = format!("http://127.0.0.1:{driver_port}");
        wait_until_driver_answers(&mut driver, &driver_url).await;
        let profile_dir = tempfile::Builder::new().prefix("oshirase-chromium-profile-").tempdir().expect("create a profile folder");
        let download_dir = tempfile::Builder::new().prefix("oshirase-downloads-").tempdir().expect("create a download folder");
        let capabilities = capabilities(profile_dir.path(), download_dir.path());
        let connected = ClientBuilder::new(HttpConnector::new()).capabilities(capabilities).connect(&driver_url).await;
        let client = match connected {
            Ok(client) => client,
            Err(e) => {
                let _ = driver.kill();
                let _ = driver.wait();
                panic!("chromedriver could not start Chromium: {e}");
            }
        };
        let session_id = client.session_id().await.ok().flatten();
        let browser = Browser { client, driver, driver_port, session_id, download_dir, _profile_dir: profile_dir };
        // Headless Chromium widens a window narrower than 500 px, whatever `--window-size`
        // says; emulating the screen gives pages a true phone viewport.
        browser.emulate_screen(PHONE_WIDTH, PHONE_HEIGHT).await;
        browser
    }

    /// The folder Chromium saves downloads into.
    pub fn download_dir(&self) -> &Path {
        self.download_dir.path()
    }

    /// Waits up to `timeout` for a finished download whose name ends in `.{extension}` (no
    /// `.crdownload` left in the folder) and returns its path, or `None` if none arrived.
    pub async fn wait_for_download(&self, extension: &str, timeout: Duration) -> Option<PathBuf> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(path) = finished_download(self.download_dir(), extension) {
                return Some(path);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a PNG of the whole page at phone width (the emulated screen is made as tall as
    /// the page for the shot, then restored), creating the folder if needed. The page is
    /// scrolled to its top first, so a page opened at an anchor is shot whole too.
    pub async fn screenshot(&self, path: &Path) {
        self.client.execute("window.scrollTo(0, 0);", vec![]).await.expect("scroll to the top");
        let page_height = self.script_number("return Math.ceil(document.documentElement.scrollHeight);").await;
        let page_height = u32::try_from(page_height).unwrap_or(PHONE_HEIGHT).max(PHONE_HEIGHT);
        self.emulate_screen(PHONE_WIDTH, page_height).await;
        let png = self.client.screenshot().await;
        self.emulate_screen(PHONE_WIDTH, PHONE_HEIGHT).await;
        let png = png.expect("take a screenshot");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        }
        std::fs::write(path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// Ends the browser session cleanly and stops chromedriver.
    pub async fn quit(mut self) {
        if self.session_id.take().is_some() {
            let _ = self.client.clone().close().await;
        }
    }

    /// Makes the page see a phone screen of exactly `width`×`height` CSS pixels (mobile
    /// viewport rules, overlay scrollbars), through chromedriver's Chrome DevTools passthrough.
    async fn emulate_screen(&self, width: u32, height: u32) {
        let params = json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": true });
        self.devtools("Emulation.setDeviceMetricsOverride", params).await;
    }

    /// Runs a Chrome DevTools Protocol command (`POST /session/{id}/goog/cdp/execute`).
    async fn devtools(&self, command: &str, params: Value) -> Value {
        let session = self.session_id.as_deref().expect("an open browser session");
        let url = format!("http://127.0.0.1:{}/session/{session}/goog/cdp/execute", self.driver_port);
        let response = reqwest::Client::new()
            .post(&url)
            .json(&json!({ "cmd": command, "params": params }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("DevTools {command}: {e}"));
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_else(|e| panic!("DevTools {command} answered no JSON: {e}"));
        assert!(status.is_success(), "DevTools {command} failed: {body}");
        body
    }

    async fn script_number(&self, script: &str) -> u64 {
        let value = self.client.execute(script, vec![]).await.unwrap_or_else(|e| panic!("run `{script}`: {e}"));
        value.as_u64().or_else(|| value.as_f64().map(|f| f as u64)).unwrap_or_else(|| panic!("`{script}` returned {value}"))
    }
}

impl Deref for Browser {
    type Target = fantoccini::Client;

    fn deref(&self) -> &fantoccini::Client {
        &self.client
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session makes chromedriver quit Chromium; killing chromedriver alone
        // could leave the browser running. Blocking I/O: no runtime is needed in drop.
        if let Some(session) = self.session_id.take() {
            delete_session(self.driver_port, &session);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The capabilities STACK.md records as working with Debian's chromedriver, plus a phone
/// window size and a download folder that needs no prompt.
fn capabilities(profile: &Path, downloads: &Path) -> serde_json::Map<String, Value> {
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-dev-shm-usage",
                format!("--user-data-dir={}", profile.display()),
                format!("--window-size={PHONE_WIDTH},{PHONE_HEIGHT}"),
            ],
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
            },
        },
    });
    match capabilities {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    listener.local_addr().expect("a bound address").port()
}

async fn wait_until_driver_answers(driver: &mut Child, driver_url: &str) {
    let deadline = Instant::now() + DRIVER_STARTUP;
    let client = reqwest::Client::new();
    loop {
        if let Ok(response) = client.get(format!("{driver_url}/status")).send().await
            && response.status().is_success()
        {
            return;
        }
        if let Ok(Some(status)) = driver.try_wait() {
            panic!("chromedriver exited at start-up with {status}");
        }
        if Instant::now() >= deadline {
            let _ = driver.kill();
            panic!("chromedriver did not answer on {driver_url} within {DRIVER_STARTUP:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn finished_download(dir: &Path, extension: &str) -> Option<PathBuf> {
    let entries: Vec<PathBuf> = std::fs::read_dir(dir).ok()?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    let in_progress = entries.iter().any(|p| p.extension().is_some_and(|e| e == "crdownload"));
    if in_progress {
        return None;
    }
    entries.into_iter().find(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case(extension)))
}

/// `DELETE /session/{id}` over a plain socket, waiting briefly for the answer.
fn delete_session(port: u16, session: &str) {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(2)) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!("DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_ok() {
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
    }
}
