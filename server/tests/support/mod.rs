//! The handler-test harness shared by `http.rs` and `webhook.rs`: the real `app()` over a
//! real SQLite file in a temporary folder, driven with `oneshot`.

#![allow(dead_code, reason = "each test file uses the part of the harness it needs")]
#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, header};
use axum::response::Response;
use http_body_util::BodyExt;
use oshirase_server::config::{CheckinSettings, LimitSettings, PassSettings, PublicBaseUrl, Settings};
use oshirase_server::passes::{PassKey, Passes};
use oshirase_server::metrics::Metrics;
use oshirase_server::poster::PosterRenderer;
use oshirase_server::routes::{LineChannel, LineLinks};
use oshirase_server::store::SqliteStore;
use oshirase_server::{AppState, app};
use oshirase_server::audit::{Actor, AuditEvent};
use oshirase_server::secrets::StaffSecret;
use oshirase_server::staff::{Role, Roles, StaffLogin, StaffName, password};
use oshirase_server::store::staff::{NewApiToken, NewStaff};
use secrecy::SecretString;
use serde_json::Value;
use tower::ServiceExt;

pub struct TestApp {
    _dir: tempfile::TempDir,
    pub state: AppState,
    pub db: std::path::PathBuf,
}

/// The test server's pass signing key seed (tests sign their own passes with it).
#[allow(dead_code, reason = "not every test file uses every helper")]
pub const PASS_SEED: [u8; 32] = [42; 32];

impl TestApp {
    pub fn new() -> TestApp {
        Self::with_limits(LimitSettings::default())
    }

    pub fn with_limits(limits: LimitSettings) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("oshirase.sqlite");
        let font = Settings::default().poster.font_path;
        assert!(Path::new(&font).exists(), "{} is missing: run `bash scripts/test` once to install test dependencies", font.display());
        let state = AppState {
            store: Arc::new(SqliteStore::open(&db).unwrap()),
            posters: PosterRenderer::load(&font).unwrap(),
            pass_cards: PosterRenderer::load(&font).unwrap().pass_cards().unwrap(),
            metrics: Arc::new(Metrics::default()),
            base_url: PublicBaseUrl::parse("https://oshirase.example.jp").unwrap(),
            limits,
            metrics_token: None,
            line_links: LineLinks { deep_link_base: PublicBaseUrl::parse("https://line.me").unwrap(), basic_id: "@oshirase".into() },
            line_channel: None,
            checkin: CheckinSettings::default(),
            retention: oshirase_server::config::RetentionSettings::default(),
            kiosk: oshirase_server::config::KioskSettings::default(),
            staff: oshirase_server::config::StaffSettings::default(),
            login_limiter: Arc::default(),
            matching: oshirase_server::config::MatchingSettings::default(),
            alerts: oshirase_server::config::AlertSettings::default(),
            alert_wakeup: Arc::default(),
            passes: Arc::new(Passes { key: PassKey::from_seed(PASS_SEED), settings: PassSettings::default(), base_url: PublicBaseUrl::parse("https://oshirase.example.jp").unwrap() }),
        };
        TestApp { _dir: dir, state, db }
    }

    pub async fn send(&self, request: Request<Body>) -> Response {
        app(self.state.clone()).oneshot(request).await.unwrap()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send(Request::get(path).body(Body::empty()).unwrap()).await
    }

    pub async fn post_json(&self, path: &str, body: &str) -> Response {
        self.send(Request::post(path).header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_owned())).unwrap()).await
    }

    pub async fn post_form(&self, path: &str, body: &str) -> Response {
        self.send(Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::from(body.to_owned())).unwrap()).await
    }

    pub fn venue_rows(&self) -> i64 {
        self.count("venues")
    }

    /// The same application with a LINE channel whose API is unreachable: replies fail in
    /// the background, which these tests do not look at.
    pub fn with_line_channel(mut self, secret: &str) -> TestApp {
        let client = oshirase_server::line::client::LineClient::new(
            PublicBaseUrl::parse("http://127.0.0.1:9").unwrap(),
            secrecy::SecretString::from("token"),
            std::time::Duration::from_millis(200),
            oshirase_server::line::client::RetryPolicy { attempts: 1, first_backoff: std::time::Duration::from_millis(1) },
        )
        .unwrap();
        self.state.line_channel = Some(LineChannel { channel_secret: secrecy::SecretString::from(secret), client });
        self
    }

    /// Rows in a table.
    pub fn count(&self, table: &str) -> i64 {
        rusqlite::Connection::open(&self.db).unwrap().query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap()
    }
}

/// A JSON API request with an optional bearer token and an optional JSON body.
pub async fn api_call(app: &TestApp, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Response {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match body {
        Some(b) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    app.send(request.body(body).unwrap()).await
}

/// [`api_call`] with a token.
pub async fn call(app: &TestApp, method: &str, path: &str, token: &str, body: Option<Value>) -> Response {
    api_call(app, method, path, Some(token), body).await
}

/// The password of every staff account [`add_staff`] makes.
pub const PASSWORD: &str = "correct horse battery staple";

/// A staff account with [`PASSWORD`], straight into the store. Returns its id.
pub async fn add_staff(app: &TestApp, login: &str, roles: &[Role]) -> i64 {
    let hash = password::hash(&SecretString::from(PASSWORD)).unwrap();
    let staff = NewStaff { login: StaffLogin::parse(login).unwrap(), name: StaffName::parse("山田 花子").unwrap(), roles: Roles::new(roles).unwrap(), password_hash: hash };
    app.state.store.create_staff(staff, time::OffsetDateTime::now_utc(), AuditEvent::new(Actor::Cli, "account.created")).await.unwrap().id
}

/// An API token of `created_by` with one role; returns its secret.
pub async fn add_token(app: &TestApp, created_by: i64, role: Role, expires_at: Option<time::OffsetDateTime>) -> String {
    let secret = StaffSecret::generate();
    let token_id = format!("T{}", &secret.expose()[..7]);
    let token = NewApiToken { token_id, hash: secret.hash(), name: "test".into(), role, created_by, expires_at };
    app.state.store.create_api_token(token, time::OffsetDateTime::now_utc(), AuditEvent::new(Actor::Cli, "api_token.created")).await.unwrap();
    secret.expose().to_owned()
}

pub async fn text(response: Response) -> String {
    String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

pub async fn json_body(response: Response) -> Value {
    serde_json::from_str(&text(response).await).unwrap()
}
