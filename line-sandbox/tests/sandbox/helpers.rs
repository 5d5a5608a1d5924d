//! What every test needs: a started sandbox with a client that knows its token, and a webhook
//! receiver that records what it got and answers what it is told to.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use oshirase_line_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use reqwest::Response;
use serde_json::{Value, json};

pub const SECRET: &str = "sandbox-test-channel-secret";
pub const TOKEN: &str = "sandbox-test-access-token";

/// A running sandbox and an HTTP client.
pub struct TestSandbox {
    pub handle: SandboxHandle,
    pub http: reqwest::Client,
}

impl TestSandbox {
    pub async fn start() -> TestSandbox {
        Self::with(SandboxConfig::new(SECRET, TOKEN)).await
    }

    pub async fn with(config: SandboxConfig) -> TestSandbox {
        let handle = Sandbox::start(config).await.unwrap();
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        TestSandbox { handle, http }
    }

    /// Started with its webhook pointed at `receiver` and fast redelivery.
    pub async fn delivering_to(receiver: &Receiver) -> TestSandbox {
        let sandbox = Self::with(SandboxConfig::new(SECRET, TOKEN).with_webhook_url(&receiver.url)).await;
        sandbox.configure(json!({"redelivery_backoff_ms": 20})).await;
        sandbox
    }

    pub fn sandbox(&self) -> &Sandbox {
        self.handle.sandbox()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.handle.base_url())
    }

    /// A Messaging API POST with the right token.
    pub async fn api_post(&self, path: &str, body: &Value) -> Response {
        self.http.post(self.url(path)).bearer_auth(TOKEN).json(body).send().await.unwrap()
    }

    /// A Messaging API POST with a retry key.
    pub async fn api_post_with_key(&self, path: &str, key: &str, body: &Value) -> Response {
        self.http.post(self.url(path)).bearer_auth(TOKEN).header("X-Line-Retry-Key", key).json(body).send().await.unwrap()
    }

    pub async fn api_get(&self, path: &str) -> Response {
        self.http.get(self.url(path)).bearer_auth(TOKEN).send().await.unwrap()
    }

    pub async fn push_text(&self, to: &str, text: &str) -> Response {
        self.api_post("/v2/bot/message/push", &json!({"to": to, "messages": [{"type": "text", "text": text}]})).await
    }

    /// A control API call answering JSON; panics unless the status is `expected`.
    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>, expected: u16) -> Value {
        let mut request = self.http.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let value: Value = response.json().await.unwrap();
        assert_eq!(status, expected, "{path}: {value}");
        value
    }

    pub async fn configure(&self, body: Value) -> Value {
        self.control(reqwest::Method::PUT, "/sandbox/config", Some(body), 200).await
    }

    /// A resident through the control API; answers the user id.
    pub async fn resident(&self, name: &str) -> String {
        let created = self.control(reqwest::Method::POST, "/sandbox/residents", Some(json!({"display_name": name})), 201).await;
        created["user_id"].as_str().unwrap().to_owned()
    }

    /// A resident who has added the account.
    pub async fn friend(&self, name: &str) -> String {
        let id = self.resident(name).await;
        self.act(&id, "follow", None).await;
        id
    }

    /// Makes a resident act through the control API (200 expected).
    pub async fn act(&self, id: &str, action: &str, body: Option<Value>) -> Value {
        self.control(reqwest::Method::POST, &format!("/sandbox/residents/{id}/{action}"), Some(body.unwrap_or(json!({}))), 200).await
    }

    pub async fn inbox(&self, id: &str) -> Vec<Value> {
        let inbox = self.control(reqwest::Method::GET, &format!("/sandbox/residents/{id}/inbox"), None, 200).await;
        inbox.as_array().unwrap().clone()
    }

    pub async fn webhook_log(&self) -> Vec<Value> {
        self.control(reqwest::Method::GET, "/sandbox/webhook-log", None, 200).await.as_array().unwrap().clone()
    }

    /// Waits (up to 5 s) until the webhook log has at least `n` attempts.
    pub async fn wait_for_attempts(&self, n: usize) -> Vec<Value> {
        for _ in 0..250 {
            let log = self.webhook_log().await;
            if log.len() >= n {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("fewer than {n} webhook attempts after 5 s: {:?}", self.webhook_log().await);
    }
}

/// Status and JSON body of a response.
pub async fn answer(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// One webhook POST as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct ReceiverState {
    received: Vec<Received>,
    statuses: Vec<u16>,
    delay: Duration,
}

/// A stand-in for the server's webhook endpoint.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    state: Arc<Mutex<ReceiverState>>,
}

impl Receiver {
    /// Answers 200 to everything.
    pub async fn start() -> Receiver {
        Self::answering(&[]).await
    }

    /// Answers `statuses` in turn, then 200.
    pub async fn answering(statuses: &[u16]) -> Receiver {
        Self::build(statuses, Duration::ZERO).await
    }

    /// Answers 200, but only after `delay`.
    pub async fn slow(delay: Duration) -> Receiver {
        Self::build(&[], delay).await
    }

    async fn build(statuses: &[u16], delay: Duration) -> Receiver {
        let state = Arc::new(Mutex::new(ReceiverState { received: Vec::new(), statuses: statuses.iter().rev().copied().collect(), delay }));
        let app = Router::new().route("/webhook", post(receive)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/webhook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, state }
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Every event received, in order, across bodies.
    pub fn events(&self) -> Vec<Value> {
        self.received().iter().flat_map(|r| r.json()["events"].as_array().unwrap().clone()).collect()
    }
}

async fn receive(State(state): State<Arc<Mutex<ReceiverState>>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let (status, delay) = {
        let mut state = state.lock().unwrap();
        state.received.push(Received { headers, body });
        (state.statuses.pop().unwrap_or(200), state.delay)
    };
    tokio::time::sleep(delay).await;
    StatusCode::from_u16(status).unwrap()
}
