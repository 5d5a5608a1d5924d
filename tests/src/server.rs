//! Starting the real `oshirase-server` binary as a child process on `127.0.0.1:0` with its own
//! SQLite file, and one helper per endpoint the tests use. The process is killed when the
//! [`TestServer`] is dropped, so a failing test never leaves a server behind.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// How long the server may take to print its listening line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// What the server prints once it listens, followed by its URL.
const LISTENING_PREFIX: &str = "oshirase-server listening on ";

/// A running `oshirase-server` with a private SQLite file in a temporary folder.
#[derive(Debug)]
pub struct TestServer {
    child: Child,
    base_url: String,
    client: reqwest::Client,
    env: Vec<(String, String)>,
    startup_stdout: Vec<String>,
    output: Arc<Mutex<Vec<String>>>,
    // Dropped last: the database folder outlives the process using it.
    data_dir: TempDir,
}

impl TestServer {
    /// Starts the server with default settings and a fresh database.
    pub async fn start() -> TestServer {
        TestServer::start_with(&[]).await
    }

    /// Starts the server with extra `OSHIRASE_*` settings and a fresh database.
    pub async fn start_with(env: &[(&str, &str)]) -> TestServer {
        let data_dir = tempfile::Builder::new().prefix("oshirase-e2e-").tempdir().expect("create a temporary folder for the database");
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        TestServer::spawn(data_dir, env, "127.0.0.1:0").await
    }

    /// Stops the process (SIGKILL: only what was committed survives) and starts a new one on
    /// the same SQLite file and settings. The new process has a new port.
    pub async fn restart(self) -> TestServer {
        self.stop().await.start_again_on("127.0.0.1:0").await
    }

    /// Stops the process (SIGKILL) and keeps its SQLite file, settings and address, so that
    /// [`StoppedServer::start_again`] brings it back where its clients (a kiosk) expect it.
    pub async fn stop(self) -> StoppedServer {
        let TestServer { mut child, base_url, env, data_dir, .. } = self;
        child.kill().await.expect("stop the server process");
        let address = base_url.strip_prefix("http://").unwrap_or(&base_url).to_owned();
        StoppedServer { address, env, data_dir }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// An HTTP client that does not follow redirects, so tests see every 303.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The server's SQLite file.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.path().join("oshirase.sqlite")
    }

    /// The stdout lines printed up to and including the listening line.
    pub fn startup_stdout(&self) -> &[String] {
        &self.startup_stdout
    }

    /// Everything the process printed after start-up so far (stdout and stderr interleaved),
    /// for failure messages and for checking what reaches the logs.
    pub fn output(&self) -> String {
        self.output.lock().unwrap_or_else(PoisonError::into_inner).join("\n")
    }

    /// The absolute URL of `path_or_url`: a path is joined to the base URL, a URL is kept.
    pub fn url(&self, path_or_url: &str) -> String {
        if path_or_url.to_ascii_lowercase().starts_with("http") { path_or_url.to_owned() } else { format!("{}{path_or_url}", self.base_url) }
    }

    /// `GET` a path or URL; any status.
    pub async fn get(&self, path_or_url: &str) -> reqwest::Response {
        let url = self.url(path_or_url);
        self.client.get(&url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }

    /// `GET` a scanned code's path or URL and assert that it leads into LINE: a redirect to the
    /// official account's chat (`…/R/oaMessage/%40oshirase/?…`) with the check-in text for
    /// `code`. Returns the deep link.
    pub async fn assert_leads_into_line(&self, path_or_url: &str, code: &str) -> String {
        let response = self.get(path_or_url).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "GET {path_or_url} redirects into LINE");
        let location = response.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(location.contains("/R/oaMessage/%40oshirase/?"), "{path_or_url} → {location}");
        assert!(location.ends_with(&format!("%20{}", code.to_ascii_uppercase())), "{path_or_url} → {location} carries the code");
        location
    }

    /// `GET` a path or URL, asserting 200, and return the body.
    pub async fn get_bytes(&self, path_or_url: &str) -> Vec<u8> {
        let response = self.get(path_or_url).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path_or_url}");
        response.bytes().await.expect("read the response body").to_vec()
    }

    /// `POST` a JSON value to a path; any status.
    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        let url = self.url(path);
        self.client.post(&url).json(body).send().await.unwrap_or_else(|e| panic!("POST {url}: {e}"))
    }

    /// `POST` raw bytes with the given content type; any status.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        let url = self.url(path);
        self.client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"))
    }

    /// Registers one place through `POST /api/v1/venues`, asserting 201; returns the body.
    pub async fn register(&self, form: &Value) -> Value {
        created(self.post_json("/api/v1/venues", form).await).await
    }

    /// Registers places through `POST /api/v1/venues/bulk`, asserting 201; returns the body.
    pub async fn register_bulk(&self, forms: &[Value]) -> Value {
        created(self.post_json("/api/v1/venues/bulk", &json!({ "venues": forms })).await).await
    }

    /// `GET /api/v1/manage` with the registration's secret, asserting 200; returns the body.
    pub async fn manage(&self, token: &str) -> Value {
        let response = self.client.get(self.url("/api/v1/manage")).bearer_auth(token).send().await.expect("GET /api/v1/manage");
        let status = response.status();
        let body: Value = response.json().await.expect("the management API answers JSON");
        assert_eq!(status, StatusCode::OK, "GET /api/v1/manage: {body}");
        body
    }

    /// `POST /api/v1/manage/venues/{location_id}/withdraw` with a bearer token; any status.
    pub async fn withdraw(&self, token: &str, location_id: &str) -> reqwest::Response {
        let url = self.url(&format!("/api/v1/manage/venues/{location_id}/withdraw"));
        self.client.post(&url).bearer_auth(token).send().await.unwrap_or_else(|e| panic!("POST {url}: {e}"))
    }

    /// A staff account made with `oshirase-server admin create` on this server's database;
    /// returns its one-time password (the command's last line).
    pub fn create_staff(&self, login: &str, name: &str, roles: &str) -> String {
        let output = self.admin(&["admin", "create", "--login", login, "--name", name, "--roles", roles]);
        output.lines().last().expect("the password line").trim().to_owned()
    }

    /// A staff API token acting with `role` of the account `login`
    /// (`oshirase-server admin token`); returns the token (the command's last line).
    pub fn staff_token(&self, login: &str, role: &str, purpose: &str) -> String {
        let output = self.admin(&["admin", "token", "--login", login, "--role", role, "--name", purpose]);
        output.lines().last().expect("the token line").trim().to_owned()
    }

    /// Runs the server binary's administrative command on this server's database, asserting
    /// success; returns its standard output.
    fn admin(&self, args: &[&str]) -> String {
        let db = self.database_path();
        let output = run_server_binary(args, &[("OSHIRASE_DATABASE__PATH", db.to_str().expect("UTF-8 path"))]);
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// A staff JSON API call with `token`; the status and the JSON body (`null` if none).
    pub async fn staff_api(&self, token: &str, method: reqwest::Method, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
        let url = self.url(path);
        let mut request = self.client.request(method.clone(), &url).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `GET /metrics` without credentials, asserting 200; returns the exposition text.
    pub async fn metrics(&self) -> String {
        let response = self.get("/metrics").await;
        assert_eq!(response.status(), StatusCode::OK, "GET /metrics");
        response.text().await.expect("read /metrics")
    }

    async fn spawn(data_dir: TempDir, env: Vec<(String, String)>, listen: &str) -> TestServer {
        let binary = server_binary();
        let mut command = Command::new(&binary);
        command.arg("serve").stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        clear_oshirase_environment(&mut command);
        command.env("OSHIRASE_DATABASE__PATH", data_dir.path().join("oshirase.sqlite"));
        command.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        command.env("OSHIRASE_SERVER__LISTEN", listen);
        let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let started = wait_until_listening(&mut child, "oshirase-server", LISTENING_PREFIX).await;
        TestServer { child, base_url: started.base_url, client: no_redirect_client(), env, startup_stdout: started.startup_stdout, output: started.output, data_dir }
    }
}

/// A server stopped by [`TestServer::stop`]: its database and settings, and where it listened.
#[derive(Debug)]
pub struct StoppedServer {
    address: String,
    env: Vec<(String, String)>,
    data_dir: TempDir,
}

impl StoppedServer {
    /// Starts the server again on its old address, SQLite file and settings.
    pub async fn start_again(self) -> TestServer {
        let address = self.address.clone();
        self.start_again_on(&address).await
    }

    async fn start_again_on(self, listen: &str) -> TestServer {
        TestServer::spawn(self.data_dir, self.env, listen).await
    }
}

/// A valid registration form as the JSON API takes it.
pub fn valid_venue(name: &str) -> Value {
    json!({
        "business_type": "restaurant",
        "daily_visitors": 120,
        "name": name,
        "postal_code": "330-9301",
        "address": "埼玉県さいたま市浦和区高砂3-15-1",
        "phone": "048-824-2111",
        "email": "info@example.jp",
    })
}

/// Runs the server binary to completion with `args` and extra environment (no other
/// `OSHIRASE_*` variables), for `--help` and `check-config`.
pub fn run_server_binary(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let binary = server_binary();
    let mut command = std::process::Command::new(&binary);
    command.args(args).stdin(Stdio::null());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OSHIRASE_") {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    command.output().unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()))
}

/// The path of the `oshirase-server` binary: `$OSHIRASE_SERVER_BIN`, else
/// `<target>/debug/oshirase-server` where `<target>` is `$CARGO_TARGET_DIR` or the
/// workspace's `target/`. Panics, saying how to build it, when it is missing.
pub fn server_binary() -> PathBuf {
    let path = match std::env::var_os("OSHIRASE_SERVER_BIN") {
        Some(path) => PathBuf::from(path),
        None => target_dir().join("debug").join("oshirase-server"),
    };
    assert!(
        path.is_file(),
        "the server binary {} does not exist: run `cargo build --workspace --bins` first \
         (the project's test script does), or point OSHIRASE_SERVER_BIN at it",
        path.display()
    );
    path
}

/// The workspace's root folder (where `Cargo.toml` lists the members).
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits inside the workspace").to_owned()
}

/// Cargo's target folder: `$CARGO_TARGET_DIR` (relative to the workspace if relative), else
/// the workspace's `target/`. Screenshots are saved under it too.
pub fn target_dir() -> PathBuf {
    let configured = std::env::var_os("CARGO_TARGET_DIR").or_else(|| option_env!("CARGO_TARGET_DIR").map(Into::into));
    match configured {
        Some(dir) => workspace_dir().join(dir),
        None => workspace_dir().join("target"),
    }
}

/// A child process that announced where it listens.
pub(crate) struct Started {
    /// The URL from its listening line, without a trailing slash.
    pub base_url: String,
    /// Its stdout up to and including the listening line.
    pub startup_stdout: Vec<String>,
    /// Everything else it prints, drained in the background so its pipes never fill.
    pub output: Arc<Mutex<Vec<String>>>,
}

/// Waits (up to [`STARTUP_TIMEOUT`]) for `child` to print `prefix` and its URL on stdout,
/// then keeps draining both pipes. Panics with what it printed if it never does.
pub(crate) async fn wait_until_listening(child: &mut Child, name: &str, prefix: &str) -> Started {
    let output = Arc::new(Mutex::new(Vec::new()));
    let stderr = child.stderr.take().expect("stderr is piped");
    tokio::spawn(keep_lines(BufReader::new(stderr).lines(), Arc::clone(&output)));
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
    let (startup_stdout, base_url) = match tokio::time::timeout(STARTUP_TIMEOUT, read_until_listening(&mut stdout, prefix)).await {
        Ok(Some(found)) => found,
        Ok(None) => panic!("{name} exited without printing its listening line; its output:\n{}", lines(&output)),
        Err(_) => panic!("{name} printed no listening line within {STARTUP_TIMEOUT:?}; its stderr:\n{}", lines(&output)),
    };
    tokio::spawn(keep_lines(stdout, Arc::clone(&output)));
    Started { base_url, startup_stdout, output }
}

/// An HTTP client that does not follow redirects, so tests see every 303.
pub(crate) fn no_redirect_client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(Duration::from_secs(30)).build().expect("build the HTTP client")
}

/// Settings from the developer's shell must not leak into a test's child processes.
pub(crate) fn clear_oshirase_environment(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OSHIRASE_") {
            command.env_remove(name);
        }
    }
}

/// Reads stdout until the listening line; returns the lines read and the URL it names, or
/// `None` if stdout closed first.
async fn read_until_listening(stdout: &mut Lines<BufReader<ChildStdout>>, prefix: &str) -> Option<(Vec<String>, String)> {
    let mut seen = Vec::new();
    while let Ok(Some(line)) = stdout.next_line().await {
        let url = line.strip_prefix(prefix).map(|url| url.trim().trim_end_matches('/').to_owned());
        seen.push(line);
        if let Some(url) = url {
            return Some((seen, url));
        }
    }
    None
}

/// Drains a pipe for as long as the process lives, so it never fills and blocks the child.
pub(crate) async fn keep_lines<R: AsyncRead + Unpin>(mut lines: Lines<BufReader<R>>, into: Arc<Mutex<Vec<String>>>) {
    while let Ok(Some(line)) = lines.next_line().await {
        into.lock().unwrap_or_else(PoisonError::into_inner).push(line);
    }
}

pub(crate) fn lines(output: &Mutex<Vec<String>>) -> String {
    output.lock().unwrap_or_else(PoisonError::into_inner).join("\n")
}

async fn created(response: reqwest::Response) -> Value {
    let status = response.status();
    let url = response.url().to_string();
    let body: Value = response.json().await.unwrap_or_else(|e| panic!("{url} did not answer JSON: {e}"));
    assert_eq!(status, StatusCode::CREATED, "POST {url}: {body}");
    body
}
