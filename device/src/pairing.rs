//! The kiosk's HTTP client for the server's kiosk API (issue 5, `docs/protocol.md`): pairing
//! with a one-time code (`POST /api/v1/kiosks/pair`) and the heartbeat
//! (`POST /api/v1/kiosk/heartbeat`). It only translates between HTTP and the kiosk's types;
//! what to do with an answer is [`crate::protocol`]'s business, keeping the answer is
//! [`crate::storage`]'s.

use std::time::Duration;

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::protocol::{HeartbeatReply, HeartbeatReport};
use crate::storage::{Identity, SyncToken, decode_secret};

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
    /// `401` from the heartbeat.
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
        };
        let response = self
            .http
            .post(format!("{}/api/v1/kiosk/heartbeat", self.base_url))
            .bearer_auth(sync_token.expose())
            .json(&body)
            .send()
            .await
            .map_err(ApiError::Network)?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(ApiError::UnknownKiosk);
        }
        let answer: HeartbeatAnswerBody = success_json(response).await?;
        Ok(HeartbeatReply {
            server_time_ms: parse_ms(&answer.server_time)?,
            disabled: answer.disabled,
            step_seconds: positive(answer.step_seconds)?,
            window_behind_steps: answer.window_behind_steps,
            window_ahead_steps: answer.window_ahead_steps,
            venue_name: answer.venue_name,
        })
    }
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
}

#[derive(Deserialize)]
struct HeartbeatAnswerBody {
    server_time: String,
    step_seconds: u32,
    window_behind_steps: u32,
    window_ahead_steps: u32,
    disabled: bool,
    venue_name: String,
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

/// Unix milliseconds as `2026-11-25T19:30:00.123Z`.
fn format_ms(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    t.format(&Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

    use super::*;

    #[test]
    fn times_travel_as_rfc3339_with_milliseconds() {
        assert_eq!(format_ms(1_795_635_000_123), "2026-11-25T19:30:00.123Z");
        assert_eq!(format_ms(1_795_635_000_080), "2026-11-25T19:30:00.08Z");
        assert_eq!(parse_ms("2026-11-25T19:30:00.080Z").unwrap() % 1000, 80);
        assert_eq!(
            parse_ms(&format_ms(1_795_635_000_123)).unwrap(),
            1_795_635_000_123
        );
        assert!(matches!(parse_ms("yesterday"), Err(ApiError::BadAnswer(_))));
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
