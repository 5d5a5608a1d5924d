//! The LINE side of end-to-end tests: the real `oshirase-line-sandbox` binary as a child
//! process on `127.0.0.1:0`, one helper per call of its control API (residents act, inboxes
//! and logs are read, faults are injected) and the Messaging API calls a test makes itself.
//! [`LineWorld`] is a sandbox and a server wired to each other: the server's LINE settings
//! point at the sandbox, and the sandbox delivers webhooks to the server.
//!
//! The server answers webhooks first and sends its replies afterwards, so every wait for a
//! reply is a polling loop with a deadline ([`LineSandbox::wait_for_inbox`]), never a sleep.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::process::{Child, Command};

use crate::server::{TestServer, clear_oshirase_environment, lines, no_redirect_client, target_dir, wait_until_listening};

/// The channel secret the sandbox signs webhooks with and the server checks them with.
pub const CHANNEL_SECRET: &str = "e2e-channel-secret-5f1c0a9d3b7e4c21";
/// The channel access token the sandbox's Messaging API accepts.
pub const CHANNEL_ACCESS_TOKEN: &str = "e2e-channel-access-token-8d2b6f0e";
/// How long a reply may take to reach an inbox (the server retries failed replies with
/// backoff for up to about two seconds).
pub const REPLY_WAIT: Duration = Duration::from_secs(10);
/// The first wait before the sandbox redelivers an unanswered webhook, in tests (LINE waits
/// much longer; tests should not).
pub const TEST_REDELIVERY_BACKOFF_MS: u64 = 200;
/// What the sandbox prints once it listens, followed by its URL.
const LISTENING_PREFIX: &str = "oshirase-line-sandbox listening on ";
/// How often polling loops look again.
const POLL_EVERY: Duration = Duration::from_millis(25);

/// A running `oshirase-line-sandbox`. Killed when dropped.
#[derive(Debug)]
pub struct LineSandbox {
    // Held for `kill_on_drop`: dropping the sandbox kills the process.
    _process: Child,
    base_url: String,
    client: reqwest::Client,
    output: Arc<Mutex<Vec<String>>>,
}

impl LineSandbox {
    /// Starts the sandbox for the channel [`CHANNEL_SECRET`] / [`CHANNEL_ACCESS_TOKEN`], with
    /// no webhook URL yet. It accepts image URLs over plain HTTP (`--allow-http-media`): the
    /// test server has no TLS, and real LINE would insist on HTTPS.
    pub async fn start() -> LineSandbox {
        let binary = sandbox_binary();
        let mut command = Command::new(&binary);
        command
            .args(["--listen", "127.0.0.1:0", "--channel-secret", CHANNEL_SECRET, "--channel-access-token", CHANNEL_ACCESS_TOKEN, "--allow-http-media"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // The sandbox reads OSHIRASE_LINE__* and OSHIRASE_LINE_SANDBOX_*: nothing from the
        // developer's shell may reach it.
        clear_oshirase_environment(&mut command);
        let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let started = wait_until_listening(&mut child, "oshirase-line-sandbox", LISTENING_PREFIX).await;
        LineSandbox { _process: child, base_url: started.base_url, client: no_redirect_client(), output: started.output }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash: the Messaging API, the deep links,
    /// the control API and the page all live here.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Everything the process printed after start-up so far, for failure messages.
    pub fn output(&self) -> String {
        lines(&self.output)
    }

    /// `PUT /sandbox/config` with a partial update; returns the whole configuration.
    pub async fn set_config(&self, update: &Value) -> Value {
        self.control(Method::PUT, "/sandbox/config", Some(update)).await
    }

    /// `POST /sandbox/residents`: a new resident who has not added the account; returns the
    /// user id.
    pub async fn add_resident(&self, display_name: &str) -> String {
        let resident = self.control(Method::POST, "/sandbox/residents", Some(&json!({ "display_name": display_name }))).await;
        resident["user_id"].as_str().unwrap_or_else(|| panic!("a new resident has a user_id: {resident}")).to_owned()
    }

    /// `GET /sandbox/residents/{id}`: `{user_id, display_name, friendship, friend, blocked, inbox_count}`.
    pub async fn resident(&self, user: &str) -> Value {
        self.control(Method::GET, &format!("/sandbox/residents/{user}"), None).await
    }

    /// The resident's phone reads a QR code holding `url`; returns the sandbox's report
    /// (`outcome` `message_sent`, `page`, `redirect` or `unreachable`).
    pub async fn scan(&self, user: &str, url: &str) -> Value {
        self.control(Method::POST, &format!("/sandbox/residents/{user}/scan"), Some(&json!({ "url": url }))).await
    }

    /// The resident writes `text` to the account.
    pub async fn send_text(&self, user: &str, text: &str) -> Value {
        self.control(Method::POST, &format!("/sandbox/residents/{user}/text"), Some(&json!({ "text": text }))).await
    }

    /// The resident presses a button that posts back `data` (shown in the chat as `display_text`).
    pub async fn postback(&self, user: &str, data: &str, display_text: Option<&str>) -> Value {
        let body = json!({ "data": data, "display_text": display_text });
        self.control(Method::POST, &format!("/sandbox/residents/{user}/postback"), Some(&body)).await
    }

    /// The resident taps a postback action exactly as the bot sent it (a template's button).
    pub async fn tap(&self, user: &str, action: &Value) -> Value {
        assert_eq!(action["type"], "postback", "only postback buttons can be tapped here: {action}");
        let data = action["data"].as_str().unwrap_or_else(|| panic!("a postback action has data: {action}"));
        self.postback(user, data, action["displayText"].as_str()).await
    }

    /// The resident adds the account as a friend, or unblocks it.
    pub async fn follow(&self, user: &str) -> Value {
        self.control(Method::POST, &format!("/sandbox/residents/{user}/follow"), None).await
    }

    /// The resident blocks the account.
    pub async fn block(&self, user: &str) -> Value {
        self.control(Method::POST, &format!("/sandbox/residents/{user}/block"), None).await
    }

    /// `POST /sandbox/residents/{id}/reply-tokens`: reply tokens the Messaging API accepts for
    /// message events a test signs and posts to the server itself.
    pub async fn reply_tokens(&self, user: &str, count: usize) -> Vec<String> {
        let answer = self.control(Method::POST, &format!("/sandbox/residents/{user}/reply-tokens"), Some(&json!({ "count": count }))).await;
        array(answer["reply_tokens"].clone()).iter().map(|t| t.as_str().unwrap_or_else(|| panic!("a reply token is a string: {t}")).to_owned()).collect()
    }

    /// Every message that reached the resident: `[{received_at, via, message}]`, oldest first.
    pub async fn inbox(&self, user: &str) -> Vec<Value> {
        array(self.control(Method::GET, &format!("/sandbox/residents/{user}/inbox"), None).await)
    }

    /// Polls the resident's inbox until it holds at least `count` messages, or fails the test
    /// after `timeout` showing what did arrive.
    pub async fn wait_for_inbox(&self, user: &str, count: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let inbox = self.inbox(user).await;
            if inbox.len() >= count {
                return inbox;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{user} received {} of {count} messages within {timeout:?}:\n{}\nrequests to the Messaging API:\n{}\nsandbox output:\n{}",
                    inbox.len(),
                    pretty(&inbox),
                    pretty(&self.requests().await),
                    self.output()
                );
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// The image of a message in the resident's inbox, as the sandbox fetched it from the
    /// server (the way LINE fetches an image message's URL): waits until the fetch is done and
    /// fails the test if it failed. Returns the original's bytes.
    pub async fn fetched_image(&self, user: &str, message_id: &str, timeout: Duration) -> Vec<u8> {
        let deadline = Instant::now() + timeout;
        loop {
            let inbox = self.inbox(user).await;
            let entry = inbox.iter().find(|m| m["message_id"] == message_id).unwrap_or_else(|| panic!("no message {message_id} for {user}:\n{}", pretty(&inbox)));
            match entry["media"]["status"].as_str() {
                Some("fetched") => break,
                Some("pending") if Instant::now() < deadline => tokio::time::sleep(POLL_EVERY).await,
                _ => panic!("the image of {message_id} was not fetched: {entry}"),
            }
        }
        let url = format!("{}/sandbox/residents/{user}/inbox/{message_id}/content", self.base_url);
        let response = self.client.get(&url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
        assert!(response.status().is_success(), "GET {url}: {}", response.status());
        response.bytes().await.unwrap_or_else(|e| panic!("GET {url}: {e}")).to_vec()
    }

    /// `GET /sandbox/webhook-log`: `[{webhook_event_ids, status, error, is_redelivery, attempt, at, url}]`.
    pub async fn webhook_log(&self) -> Vec<Value> {
        array(self.control(Method::GET, "/sandbox/webhook-log", None).await)
    }

    /// Polls the webhook log until `done` holds for it, or fails the test after `timeout`.
    pub async fn wait_for_webhook_log(&self, what: &str, timeout: Duration, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.webhook_log().await;
            if done(&log) {
                return log;
            }
            assert!(Instant::now() < deadline, "webhook log: {what} did not happen within {timeout:?}:\n{}", pretty(&log));
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// `GET /sandbox/requests`: every Messaging API call, `[{at, method, path, status, retry_key, request_id}]`.
    pub async fn requests(&self) -> Vec<Value> {
        array(self.control(Method::GET, "/sandbox/requests", None).await)
    }

    /// Polls the Messaging API request log until `done` holds for it, or fails the test after `timeout`.
    pub async fn wait_for_requests(&self, what: &str, timeout: Duration, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.requests().await;
            if done(&log) {
                return log;
            }
            assert!(Instant::now() < deadline, "request log: {what} did not happen within {timeout:?}:\n{}", pretty(&log));
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// `PUT /sandbox/faults` (`{latency_ms?, error_rate?, seed?, outage_for_ms?, outage_until_cleared?}`).
    pub async fn set_faults(&self, faults: &Value) -> Value {
        self.control(Method::PUT, "/sandbox/faults", Some(faults)).await
    }

    /// `DELETE /sandbox/faults`.
    pub async fn clear_faults(&self) -> Value {
        self.control(Method::DELETE, "/sandbox/faults", None).await
    }

    /// `POST /v2/bot/message/push` with the channel access token, as the server would;
    /// returns the status and the JSON body.
    pub async fn push(&self, to: &str, messages: &Value) -> (StatusCode, Value) {
        let url = format!("{}/v2/bot/message/push", self.base_url);
        let response = self
            .client
            .post(&url)
            .bearer_auth(CHANNEL_ACCESS_TOKEN)
            .json(&json!({ "to": to, "messages": messages }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// One control call, asserting a 2xx answer; returns its JSON.
    async fn control(&self, method: Method, path: &str, body: Option<&Value>) -> Value {
        let url = format!("{}{path}", self.base_url);
        let mut request = self.client.request(method.clone(), &url);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or_else(|e| panic!("{method} {url} answered no JSON: {e}"));
        assert!(status.is_success(), "{method} {path} {}: {status} {answer}", body.map(Value::to_string).unwrap_or_default());
        answer
    }
}

/// A sandbox and a server wired to each other, each on its own port, with a fresh database.
#[derive(Debug)]
pub struct LineWorld {
    /// The server (dropped first).
    pub server: TestServer,
    /// The LINE platform stand-in.
    pub line: LineSandbox,
}

/// A place registered through the JSON API, as the tests use it.
#[derive(Debug, Clone)]
pub struct Venue {
    /// The name as registered.
    pub name: String,
    /// The printed code.
    pub code: String,
    /// The URL in its QR code (`HTTP://HOST:PORT/C/CODE`).
    pub checkin_url: String,
    /// Its location id.
    pub location_id: String,
    /// Where its QR code PNG is served.
    pub qr_png_url: String,
    /// The registration's management secret.
    pub manage_token: String,
}

impl LineWorld {
    /// A sandbox and a server with default settings.
    pub async fn start() -> LineWorld {
        LineWorld::start_with(&[]).await
    }

    /// A sandbox and a server with extra `OSHIRASE_*` settings.
    pub async fn start_with(env: &[(&str, &str)]) -> LineWorld {
        let line = LineSandbox::start().await;
        let server = TestServer::start_with_line(&line, env).await;
        LineWorld { server, line }
    }

    /// The server's webhook URL.
    pub fn webhook_url(&self) -> String {
        self.server.url("/line/webhook")
    }

    /// Registers one place named `name` through the JSON API.
    pub async fn register_venue(&self, name: &str) -> Venue {
        let body = self.server.register(&crate::valid_venue(name)).await;
        let venue = &body["venues"][0];
        let field = |v: &Value, key: &str| v[key].as_str().unwrap_or_else(|| panic!("registration answer lacks {key}: {body}")).to_owned();
        Venue {
            name: field(venue, "name"),
            code: field(venue, "code"),
            checkin_url: field(venue, "checkin_url"),
            location_id: field(venue, "location_id"),
            qr_png_url: field(venue, "qr_png_url"),
            manage_token: field(&body["registration"], "manage_token"),
        }
    }

    /// A new sandbox resident who adds the account and agrees to the terms (the welcome, the
    /// consent request and the question, then the thanks); returns their user id.
    pub async fn consenting_resident(&self, name: &str) -> String {
        use crate::texts::{button, catalog, confirm_templates, texts};
        let user = self.line.add_resident(name).await;
        let followed = self.line.follow(&user).await;
        assert_eq!(followed["delivered"], true, "{followed}");
        let inbox = self.wait_for_inbox(&user, 3).await;
        let question = confirm_templates(&inbox).pop().unwrap_or_else(|| panic!("a consent question: {inbox:#?}"));
        self.line.tap(&user, &button(&question, &catalog().question("consent_question").yes)).await;
        let inbox = self.wait_for_inbox(&user, 4).await;
        assert_eq!(texts(&inbox).last(), Some(&catalog().text("consent_thanks", &[])), "{inbox:#?}");
        user
    }

    /// [`LineSandbox::wait_for_inbox`] with [`REPLY_WAIT`], showing the server's output too on failure.
    pub async fn wait_for_inbox(&self, user: &str, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + REPLY_WAIT;
        loop {
            let inbox = self.line.inbox(user).await;
            if inbox.len() >= count {
                return inbox;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{user} received {} of {count} messages within {REPLY_WAIT:?}:\n{}\nrequests to the Messaging API:\n{}\nwebhooks:\n{}\nserver output:\n{}",
                    inbox.len(),
                    pretty(&inbox),
                    pretty(&self.line.requests().await),
                    pretty(&self.line.webhook_log().await),
                    self.server.output()
                );
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// Posts a webhook body straight to the server with the given `x-line-signature` (or
    /// none), as if LINE had sent it; returns the status.
    pub async fn post_webhook(&self, body: &[u8], signature: Option<&str>) -> StatusCode {
        let url = self.webhook_url();
        let mut request = self.server.client().post(&url).header(reqwest::header::CONTENT_TYPE, "application/json; charset=utf-8").body(body.to_vec());
        if let Some(signature) = signature {
            request = request.header("x-line-signature", signature);
        }
        request.send().await.unwrap_or_else(|e| panic!("POST {url}: {e}")).status()
    }
}

impl TestServer {
    /// Starts the server with its LINE channel pointed at `line` (Messaging API and deep
    /// links, secret and token), then tells the sandbox to deliver webhooks to it, quickly
    /// redelivering unanswered ones. `env` adds or overrides settings.
    pub async fn start_with_line(line: &LineSandbox, env: &[(&str, &str)]) -> TestServer {
        let mut settings = vec![
            ("OSHIRASE_LINE__API_BASE_URL", line.base_url()),
            ("OSHIRASE_LINE__DEEP_LINK_BASE_URL", line.base_url()),
            ("OSHIRASE_LINE__CHANNEL_SECRET", CHANNEL_SECRET),
            ("OSHIRASE_LINE__CHANNEL_ACCESS_TOKEN", CHANNEL_ACCESS_TOKEN),
        ];
        settings.extend_from_slice(env);
        let server = TestServer::start_with(&settings).await;
        line.set_config(&json!({ "webhook_url": server.url("/line/webhook"), "redelivery_backoff_ms": TEST_REDELIVERY_BACKOFF_MS })).await;
        server
    }
}

/// LINE's `x-line-signature` for `body`: base64(HMAC-SHA256(channel secret, body)).
pub fn sign_webhook(channel_secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(channel_secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).expect("the clock is after 1970");
    i64::try_from(since.as_millis()).expect("milliseconds fit in i64")
}

/// A port nothing listens on (bound, then released), for a webhook URL that refuses connections.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    listener.local_addr().expect("a bound address").port()
}

/// The path of the `oshirase-line-sandbox` binary: `$OSHIRASE_LINE_SANDBOX_BIN`, else
/// `<target>/debug/oshirase-line-sandbox`. Panics, saying how to build it, when it is missing.
pub fn sandbox_binary() -> std::path::PathBuf {
    let path = match std::env::var_os("OSHIRASE_LINE_SANDBOX_BIN") {
        Some(path) => std::path::PathBuf::from(path),
        None => target_dir().join("debug").join("oshirase-line-sandbox"),
    };
    assert!(
        path.is_file(),
        "the LINE sandbox binary {} does not exist: run `cargo build --workspace --bins` first \
         (the project's test script does), or point OSHIRASE_LINE_SANDBOX_BIN at it",
        path.display()
    );
    path
}

fn array(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        other => panic!("expected a JSON array, got {other}"),
    }
}

fn pretty(values: &[Value]) -> String {
    serde_json::to_string_pretty(values).unwrap_or_default()
}


