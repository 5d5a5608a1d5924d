//! Pairing and heartbeat against the real server, started in-process on `127.0.0.1:0` with a
//! fresh SQLite file: a venue registers and asks for a pairing code, the kiosk pairs, keeps
//! its identity, sends heartbeats, and the code it then shows is one the server accepts.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use oshirase_device::pairing::{ApiError, ServerClient, pair};
use oshirase_device::protocol::{DisplayState, Event, Kiosk, Timing, View};
use oshirase_device::storage::{self, SyncToken};
use oshirase_server::config::Settings;
use oshirase_server::startup::Application;
use serde_json::{Value, json};

struct Server {
    base_url: String,
    http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("oshirase.sqlite");
        let toml = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[database]\npath = {:?}\n",
            db.display().to_string()
        );
        let app = Application::build(Settings::from_toml_and_env(&toml, []).unwrap())
            .await
            .unwrap();
        let base_url = app.base_url().to_string();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Server {
            base_url,
            http,
            _stop: stop,
            _dir: dir,
        }
    }

    async fn post(
        &self,
        path: &str,
        bearer: Option<&str>,
        body: Value,
    ) -> (reqwest::StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base_url))
            .json(&body);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Registers a venue; its manage token and its place's location id.
    async fn register_venue(&self) -> (String, String) {
        let venue = json!({
            "business_type": "sports", "daily_visitors": 800, "name": "市民体育館 メインアリーナ",
            "postal_code": "330-9301", "address": "埼玉県さいたま市浦和区高砂3-15-1", "phone": "048-824-2111", "email": "gym@example.jp"
        });
        let (status, body) = self.post("/api/v1/venues", None, venue).await;
        assert!(status.is_success(), "{status} {body}");
        (
            body["registration"]["manage_token"]
                .as_str()
                .unwrap()
                .to_owned(),
            body["venues"][0]["location_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    }

    async fn pairing_code(&self, manage_token: &str, location: &str) -> String {
        let (status, body) = self
            .post(
                &format!("/api/v1/manage/venues/{location}/kiosks"),
                Some(manage_token),
                Value::Null,
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
        body["pairing_code"].as_str().unwrap().to_owned()
    }
}

/// One heartbeat through the real client, fed to the state machine as the run loop does.
async fn heartbeat(client: &ServerClient, kiosk: &mut Kiosk, sync_token: &SyncToken, at: u64) {
    kiosk.handle(Event::HeartbeatSent {
        at_monotonic_ms: at,
    });
    let reply = client
        .heartbeat(sync_token, &kiosk.heartbeat_report())
        .await
        .unwrap();
    kiosk.handle(Event::HeartbeatAnswered(reply.answer(at, at + 50)));
}

#[tokio::test]
async fn a_kiosk_pairs_once_and_its_codes_are_accepted_after_a_heartbeat_until_it_is_revoked() {
    let server = Server::start().await;
    let (manage_token, location) = server.register_venue().await;
    let code = server.pairing_code(&manage_token, &location).await;

    let identity = pair(&server.base_url, &code.to_lowercase()).await.unwrap();
    assert_eq!(identity.location_id, location);
    assert_eq!(identity.venue_name, "市民体育館 メインアリーナ");
    assert_eq!(
        (
            identity.step_seconds,
            identity.window_behind_steps,
            identity.window_ahead_steps
        ),
        (30, 10, 1)
    );
    assert_eq!(identity.server_url, server.base_url);
    let message = pair(&server.base_url, &code).await.unwrap_err();
    assert!(matches!(message, ApiError::PairingCodeSpent), "{message}");
    assert!(message.to_string().contains("expired or was already used"));

    let dir = tempfile::tempdir().unwrap();
    storage::save(dir.path(), &identity).unwrap();
    let identity = storage::load(dir.path()).unwrap().unwrap();

    // Booted with a clock far off: no code until the server's time is known.
    let client = ServerClient::new(&identity.server_url).unwrap();
    let sync_token = identity.sync_token.clone();
    let mut kiosk = Kiosk::paired(identity, Timing::default(), 1);
    kiosk.handle(Event::Tick {
        now_monotonic_ms: 0,
        system_time_ms: 946_684_800_000,
        system_clock_synced: false,
    });
    assert_eq!(kiosk.view(), View::ClockUntrusted);
    heartbeat(&client, &mut kiosk, &sync_token, 0).await;
    kiosk.handle(Event::Tick {
        now_monotonic_ms: 50,
        system_time_ms: 946_684_800_050,
        system_clock_synced: false,
    });
    let DisplayState::Code {
        checkin_url,
        venue_name,
        offline_since_ms: None,
        ..
    } = kiosk.current_display()
    else {
        panic!(
            "a code after the heartbeat, not {:?}",
            kiosk.current_display()
        );
    };
    assert_eq!(venue_name, "市民体育館 メインアリーナ");
    assert!(
        checkin_url.starts_with("HTTP://127.0.0.1:"),
        "{checkin_url}"
    );

    // The code the kiosk shows is one the server accepts: it leads into LINE.
    let scanned = server
        .http
        .get(checkin_url.replacen("HTTP://", "http://", 1))
        .send()
        .await
        .unwrap();
    assert_eq!(
        scanned.status(),
        reqwest::StatusCode::SEE_OTHER,
        "{checkin_url}"
    );

    let (status, _) = server
        .post(
            &format!(
                "/api/v1/manage/kiosks/{}/revoke",
                kiosk.identity().unwrap().kiosk_id.as_str()
            ),
            Some(&manage_token),
            Value::Null,
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    heartbeat(&client, &mut kiosk, &sync_token, 60_000).await;
    assert_eq!(kiosk.view(), View::Disabled);
    assert_eq!(kiosk.current_display(), DisplayState::Disabled);
}

#[tokio::test]
async fn unknown_codes_and_unknown_kiosks_get_clear_errors() {
    let server = Server::start().await;
    let unknown = pair(&server.base_url, "00000-00000").await.unwrap_err();
    assert!(matches!(unknown, ApiError::UnknownPairingCode), "{unknown}");
    assert!(
        unknown
            .to_string()
            .contains("does not know this pairing code")
    );

    let client = ServerClient::new(&server.base_url).unwrap();
    let report = Kiosk::unpaired(Timing::default()).heartbeat_report();
    let refused = client
        .heartbeat(&SyncToken::new("x".repeat(43)), &report)
        .await
        .unwrap_err();
    assert!(matches!(refused, ApiError::UnknownKiosk), "{refused}");

    let unreachable = pair("http://127.0.0.1:9", "00000-00000").await.unwrap_err();
    assert!(matches!(unreachable, ApiError::Network(_)), "{unreachable}");
    assert!(matches!(
        pair("oshirase.example.jp", "x").await,
        Err(ApiError::InvalidServerUrl(_))
    ));
}
