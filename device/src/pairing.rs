//! The kiosk's HTTP client for the server's kiosk API (issues 5 and 7, `docs/protocol.md`):
//! pairing with a one-time code (`POST /api/v1/kiosks/pair`), the heartbeat
//! (`POST /api/v1/kiosk/heartbeat`, which also brings the pass key and the revocation list)
//! and scan sync (`POST /api/v1/kiosk/scans`). It only translates between HTTP and the
//! kiosk's types; what to do with an answer is [`crate::protocol`]'s business, keeping the
//! answer is [`crate::storage`]'s and [`crate::passes`]'s.

use std::time::Duration;

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use oshirase_common::pass::PassId;

use crate::buffer::BufferedScan;
use crate::passes::{PassKey, RevocationList};
use crate::protocol::{HeartbeatReply, HeartbeatReport};
use crate::storage::{Identity, SyncToken, decode_secret};

/// The most scans one `POST /api/v1/kiosk/scans` carries (`docs/protocol.md`).
pub const MAX_SCANS_PER_BATCH: usize = 1000;

/// How long one request may take in all.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a request to the server failed.
#[derive(Debug, Error)]
pub enum ApiError {
    /// The `--server` value is not an `http(s)://` URL.
    #[error("the server URL {0:?} must start with https:// (or http:// for a local test)")]
    InvalidServerUrl(String),
    /// `404` from pairing.
    #[error(
        "the server does not know this pairing code; check it, or ask the venue's management page for a new one"
    )]
    UnknownPairingCode,
    /// `422` from pairing.
    #[error(
        "this pairing code has expired or was already used; ask the venue's management page for a new one"
    )]
    PairingCodeSpent,
    /// `401` from the heartbeat or scan sync.
    #[error(
        "the server does not know this kiosk any more; pair it again with `oshirase-kiosk pair`"
    )]
    UnknownKiosk,
    /// Any other status.
    #[error("the server answered {status}: {body}")]
    Status {
        /// The status.
        status: StatusCode,
        /// The start of the body.
        body: String,
    },
    /// The server could not be reached, or the request timed out.
    #[error("cannot reach the server: {0}")]
    Network(#[source] reqwest::Error),
    /// A `2xx` answer that does not follow `docs/protocol.md`.
    #[error("the server's answer is not understood: {0}")]
    BadAnswer(String),
}

/// Pairs the kiosk at `server` with a one-time `code`; the result is ready for
/// [`crate::storage::save`].
pub async fn pair(server: &str, code: &str) -> Result<Identity, ApiError> {
    ServerClient::new(server)?.pair(code).await
}

/// A client for one server.
#[derive(Debug, Clone)]
pub struct ServerClient {
    http: reqwest::Client,
    base_url: String,
}

impl ServerClient {
    /// A client for the server at `server_url` (`https://host[:port][/prefix]`).
    pub fn new(server_url: &str) -> Result<ServerClient, ApiError> {
        let base_url = server_url.trim().trim_end_matches('/').to_owned();
        let lower = base_url.to_ascii_lowercase();
        let host = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"));
        if host.is_none_or(str::is_empty) {
            return Err(ApiError::InvalidServerUrl(server_url.to_owned()));
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("oshirase-kiosk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ApiError::Network)?;
        Ok(ServerClient { http, base_url })
    }

    /// Redeems a pairing code.
    pub async fn pair(&self, code: &str) -> Result<Identity, ApiError> {
        let response = self
            .http
            .post(format!("{}/api/v1/kiosks/pair", self.base_url))
            .json(&serde_json::json!({ "pairing_code": code.trim() }))
            .send()
            .await
            .map_err(ApiError::Network)?;
        match response.status() {
            StatusCode::NOT_FOUND => return Err(ApiError::UnknownPairingCode),
            StatusCode::UNPROCESSABLE_ENTITY => return Err(ApiError::PairingCodeSpent),
            _ => {}
        }
        let answer: PairAnswer = success_json(response).await?;
        answer.into_identity(&self.base_url)
    }

    /// Sends one heartbeat.
    pub async fn heartbeat(
        &self,
        sync_token: &SyncToken,
        report: &HeartbeatReport,
    ) -> Result<HeartbeatReply, ApiError> {
        let body = HeartbeatBody {
            version: crate::VERSION,
            uptime_seconds: report.uptime_seconds,
            clock_offset_ms: report.clock_offset_ms,
            screen: report.screen,
            last_error: report.last_error.as_deref(),
            sent_at: format_ms(report.sent_at_ms),
            pending_scans: report.pending_scans,
            revocations_version: report.revocations_version,
        };
        let answer: HeartbeatAnswerBody = self.post_as_kiosk("/api/v1/kiosk/heartbeat", sync_token, &body).await?;
        answer.into_reply()
    }

    /// Sends the first [`MAX_SCANS_PER_BATCH`] of `scans` (ascending sequence numbers, as
    /// [`crate::buffer::ScanBuffer::after`] gives them); the answer says up to which sequence
    /// number the server has them, so the caller can prune its buffer and send the rest.
    pub async fn send_scans(&self, sync_token: &SyncToken, scans: &[BufferedScan]) -> Result<ScansReply, ApiError> {
        let body = ScansBody { scans: scans.iter().take(MAX_SCANS_PER_BATCH).map(ScanBody::from).collect() };
        self.post_as_kiosk("/api/v1/kiosk/scans", sync_token, &body).await
    }

    /// Posts `body` to `path` with the kiosk's sync token; `401` means the server does not
    /// know the kiosk (any more).
    async fn post_as_kiosk<B: serde::Serialize, T: serde::de::DeserializeOwned>(&self, path: &str, sync_token: &SyncToken, body: &B) -> Result<T, ApiError> {
        let response = self.http.post(format!("{}{path}", self.base_url)).bearer_auth(sync_token.expose()).json(body).send().await.map_err(ApiError::Network)?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(ApiError::UnknownKiosk);
        }
        success_json(response).await
    }
}

/// The server's answer to a batch of scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct ScansReply {
    /// The server has every scan of this kiosk up to this sequence number: prune them.
    pub acknowledged_through: u64,
    /// Scans of the batch that became visits.
    pub recorded: u64,
    /// Scans the server already had (a batch sent again).
    pub duplicates: u64,
    /// Scans the server acknowledged without recording them (unknown, revoked or expired
    /// pass, a time out of range, a revoked kiosk).
    pub refused: u64,
}

#[derive(Deserialize)]
struct PairAnswer {
    kiosk_id: String,
    kiosk_secret: String,
    sync_token: String,
    location_id: String,
    venue_name: String,
    public_base_url: String,
    step_seconds: u32,
    window_behind_steps: u32,
    window_ahead_steps: u32,
    /// Absent from a server without passes.
    #[serde(default)]
    pass_public_key: Option<String>,
}

impl PairAnswer {
    fn into_identity(self, server_url: &str) -> Result<Identity, ApiError> {
        let bad = |what: &str| ApiError::BadAnswer(format!("{what} is not valid"));
        if self.sync_token.is_empty() {
            return Err(bad("sync_token"));
        }
        Ok(Identity {
            kiosk_id: oshirase_common::kiosk_token::KioskId::parse(&self.kiosk_id)
                .map_err(|_| bad("kiosk_id"))?,
            kiosk_secret: decode_secret(&self.kiosk_secret).ok_or_else(|| bad("kiosk_secret"))?,
            sync_token: SyncToken::new(self.sync_token),
            location_id: self.location_id,
            venue_name: self.venue_name,
            server_url: server_url.to_owned(),
            public_base_url: self.public_base_url,
            step_seconds: positive(self.step_seconds)?,
            window_behind_steps: self.window_behind_steps,
            window_ahead_steps: self.window_ahead_steps,
            pass_public_key: pass_key(self.pass_public_key.as_deref())?,
        })
    }
}

#[derive(Serialize)]
struct HeartbeatBody<'a> {
    version: &'a str,
    uptime_seconds: u64,
    clock_offset_ms: Option<i64>,
    screen: &'a str,
    last_error: Option<&'a str>,
    sent_at: String,
    pending_scans: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    revocations_version: Option<u64>,
}

#[derive(Deserialize)]
struct HeartbeatAnswerBody {
    server_time: String,
    step_seconds: u32,
    window_behind_steps: u32,
    window_ahead_steps: u32,
    disabled: bool,
    venue_name: String,
    #[serde(default)]
    pass_public_key: Option<String>,
    #[serde(default)]
    revocations_version: Option<u64>,
    /// `null` (or absent): the kiosk's list is current.
    #[serde(default)]
    revoked_passes: Option<Vec<String>>,
}

impl HeartbeatAnswerBody {
    fn into_reply(self) -> Result<HeartbeatReply, ApiError> {
        let revocations = self.revoked_passes.map(|ids| {
            let parsed = ids.iter().filter_map(|id| PassId::parse(id).ok());
            let list = RevocationList::new(self.revocations_version, parsed);
            if list.len() != ids.len() {
                // An id that is no pass id matches no pass; the rest still count.
                tracing::warn!(skipped = ids.len() - list.len(), "the server's revocation list has entries that are not pass ids");
            }
            list
        });
        Ok(HeartbeatReply {
            server_time_ms: parse_ms(&self.server_time)?,
            disabled: self.disabled,
            step_seconds: positive(self.step_seconds)?,
            window_behind_steps: self.window_behind_steps,
            window_ahead_steps: self.window_ahead_steps,
            venue_name: self.venue_name,
            pass_public_key: pass_key(self.pass_public_key.as_deref())?,
            revocations,
        })
    }
}

#[derive(Serialize)]
struct ScansBody<'a> {
    scans: Vec<ScanBody<'a>>,
}

#[derive(Serialize)]
struct ScanBody<'a> {
    seq: u64,
    pass_id: &'a str,
    scanned_at: String,
    clock_offset_ms: i64,
}

impl<'a> From<&'a BufferedScan> for ScanBody<'a> {
    fn from(scan: &'a BufferedScan) -> Self {
        ScanBody { seq: scan.seq, pass_id: scan.pass_id.as_str(), scanned_at: format_ms(scan.scanned_at_ms), clock_offset_ms: scan.clock_offset_ms }
    }
}

/// The pass key as sent (base64 of 32 bytes), if any.
fn pass_key(text: Option<&str>) -> Result<Option<PassKey>, ApiError> {
    text.map(|text| PassKey::from_base64(text).ok_or_else(|| ApiError::BadAnswer("pass_public_key is not base64 of an Ed25519 public key".into())))
        .transpose()
}

async fn success_json<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, ApiError> {
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        return Err(ApiError::Status {
            status,
            body: body.chars().take(300).collect(),
        });
    }
    response
        .json()
        .await
        .map_err(|e| ApiError::BadAnswer(e.to_string()))
}

fn positive(step_seconds: u32) -> Result<u32, ApiError> {
    if step_seconds == 0 {
        Err(ApiError::BadAnswer("step_seconds is 0".into()))
    } else {
        Ok(step_seconds)
    }
}

fn parse_ms(text: &str) -> Result<i64, ApiError> {
    let t = OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| ApiError::BadAnswer(format!("server_time {text:?}: {e}")))?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| ApiError::BadAnswer(format!("server_time {text:?} is out of range")))
}

/// Unix milliseconds as `2026-11-25T19:30:00.120Z` (UTC, always three decimals).
fn format_ms(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    #[test]
    fn times_travel_as_rfc3339_with_milliseconds() {
        assert_eq!(format_ms(1_795_635_000_123), "2026-11-25T19:30:00.123Z");
        assert_eq!(format_ms(1_795_635_000_080), "2026-11-25T19:30:00.080Z");
        assert_eq!(format_ms(1_795_635_000_000), "2026-11-25T19:30:00.000Z");
        assert_eq!(format_ms(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(parse_ms("2026-11-25T19:30:00.080Z").unwrap() % 1000, 80);
        assert_eq!(
            parse_ms(&format_ms(1_795_635_000_123)).unwrap(),
            1_795_635_000_123
        );
        assert!(matches!(parse_ms("yesterday"), Err(ApiError::BadAnswer(_))));
    }

    const KEY: &str = "iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=";

    fn heartbeat_answer(extra: serde_json::Value) -> Result<HeartbeatReply, ApiError> {
        let mut body = serde_json::json!({"server_time": "2026-11-25T19:30:00.080Z", "step_seconds": 30, "window_behind_steps": 10,
            "window_ahead_steps": 1, "disabled": false, "venue_name": "市民体育館"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        serde_json::from_value::<HeartbeatAnswerBody>(body).unwrap().into_reply()
    }

    #[test]
    fn a_heartbeat_answer_brings_the_pass_key_and_a_new_revocation_list_or_null() {
        let reply = heartbeat_answer(serde_json::json!({"pass_public_key": KEY, "revocations_version": 14,
            "revoked_passes": ["0W3GE1R70W3GE1R7", "0000000000000000", "not a pass id"]}))
        .unwrap();
        assert_eq!(reply.pass_public_key, PassKey::from_base64(KEY));
        let list = reply.revocations.unwrap();
        assert_eq!((list.version(), list.len()), (Some(14), 2), "an entry that is no pass id is skipped");
        assert!(list.contains(&PassId::parse("0W3GE1R70W3GE1R7").unwrap()));

        let unchanged = heartbeat_answer(serde_json::json!({"pass_public_key": KEY, "revocations_version": 14, "revoked_passes": null})).unwrap();
        assert_eq!(unchanged.revocations, None, "null: the kiosk's list is current");
        let older_server = heartbeat_answer(serde_json::json!({})).unwrap();
        assert_eq!((older_server.pass_public_key, older_server.revocations), (None, None));
        let bad_key = heartbeat_answer(serde_json::json!({"pass_public_key": "c2hvcnQ="}));
        assert!(matches!(bad_key, Err(ApiError::BadAnswer(ref m)) if m.contains("pass_public_key")), "{bad_key:?}");
    }

    #[test]
    fn a_heartbeat_reports_pending_scans_and_omits_a_revocation_version_it_does_not_have() {
        let body = |revocations_version| {
            serde_json::to_value(HeartbeatBody {
                version: "0.1.0",
                uptime_seconds: 5,
                clock_offset_ms: None,
                screen: "idle",
                last_error: None,
                sent_at: format_ms(0),
                pending_scans: 7,
                revocations_version,
            })
            .unwrap()
        };
        let first = body(None);
        assert_eq!(first["pending_scans"], 7);
        assert!(first.get("revocations_version").is_none(), "{first}");
        assert_eq!(body(Some(12))["revocations_version"], 12);
    }

    #[test]
    fn scans_travel_with_their_pass_id_kiosk_time_and_offset() {
        let scans: Vec<BufferedScan> = (1..=1001)
            .map(|seq| BufferedScan { seq, pass_id: PassId::parse("0W3GE1R70W3GE1R7").unwrap(), scanned_at_ms: 1_795_635_000_000, clock_offset_ms: -250 })
            .collect();
        let body = ScansBody { scans: scans.iter().take(MAX_SCANS_PER_BATCH).map(ScanBody::from).collect() };
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["scans"].as_array().unwrap().len(), 1000);
        assert_eq!(json["scans"][0], serde_json::json!({"seq": 1, "pass_id": "0W3GE1R70W3GE1R7", "scanned_at": "2026-11-25T19:30:00.000Z", "clock_offset_ms": -250}));
        assert!(serde_json::to_string(&body).unwrap().len() < 256 * 1024, "a full batch fits the server's body limit");
        let reply: ScansReply = serde_json::from_str(r#"{"acknowledged_through": 17, "recorded": 1, "duplicates": 0, "refused": 0}"#).unwrap();
        assert_eq!(reply, ScansReply { acknowledged_through: 17, recorded: 1, duplicates: 0, refused: 0 });
    }

    #[test]
    fn a_pairing_answer_with_or_without_a_pass_key() {
        let answer = |key: serde_json::Value| {
            let mut body = serde_json::json!({"kiosk_id": "KX7PQ2M9", "kiosk_secret": STANDARD.encode([1u8; 32]), "sync_token": "t".repeat(43),
                "location_id": "L1", "venue_name": "市民体育館", "public_base_url": "https://x.example", "step_seconds": 30,
                "window_behind_steps": 10, "window_ahead_steps": 1, "server_time": "2026-11-25T19:30:00.123Z"});
            if !key.is_null() {
                body["pass_public_key"] = key;
            }
            serde_json::from_value::<PairAnswer>(body).unwrap().into_identity("https://x.example")
        };
        assert_eq!(answer(serde_json::json!(KEY)).unwrap().pass_public_key, PassKey::from_base64(KEY));
        assert_eq!(answer(serde_json::Value::Null).unwrap().pass_public_key, None, "a server without passes");
        assert!(matches!(answer(serde_json::json!("AAAA")), Err(ApiError::BadAnswer(_))));
    }

    #[test]
    fn a_server_url_must_be_http() {
        assert!(matches!(
            ServerClient::new("oshirase.example.jp"),
            Err(ApiError::InvalidServerUrl(_))
        ));
        assert!(matches!(
            ServerClient::new("https://"),
            Err(ApiError::InvalidServerUrl(_))
        ));
        assert_eq!(
            ServerClient::new("https://oshirase.example.jp/")
                .unwrap()
                .base_url,
            "https://oshirase.example.jp"
        );
    }
}
