//! The Messaging API client: a plain struct over `reqwest` with an injectable base URL, so
//! tests and the demo point it at the LINE sandbox and production at `https://api.line.me`.
//!
//! Retries follow LINE's rules: only 5xx answers and timeouts are retried, with backoff and
//! the byte-identical body (and the same `X-Line-Retry-Key`); a 409 for a retry key means
//! the request was accepted before; 429 is never retried here, and the monthly-quota 429 is
//! told apart from rate limiting so callers can pause instead of spinning.

use std::time::Duration;

use oshirase_common::LineUserId;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use thiserror::Error;

use super::messages::Message;
use crate::config::PublicBaseUrl;

/// LINE's text for the monthly quota 429.
const QUOTA_MESSAGE: &str = "You have reached your monthly limit.";

/// How failed requests are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Wait before the second attempt; doubled each time after.
    pub first_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { attempts: 4, first_backoff: Duration::from_millis(250) }
    }
}

/// One entry of LINE's error `details`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorDetail {
    /// What is wrong.
    #[serde(default)]
    pub message: String,
    /// Where (e.g. `messages[0].text`).
    #[serde(default)]
    pub property: String,
}

/// Errors of the Messaging API, each with LINE's own `message` and `details`.
#[derive(Debug, Error)]
pub enum LineError {
    /// 429 with LINE's monthly-limit message: nothing more can be sent this month.
    #[error("LINE monthly message quota exhausted: {message}")]
    QuotaExhausted {
        /// LINE's message.
        message: String,
    },
    /// 429 for request rate or concurrency: back off and try later.
    #[error("LINE rate limit: {message}")]
    RateLimited {
        /// LINE's message.
        message: String,
    },
    /// 401/403: the channel access token is wrong.
    #[error("LINE refused the channel access token ({status}): {message}")]
    Unauthorized {
        /// HTTP status.
        status: u16,
        /// LINE's message.
        message: String,
    },
    /// Another 4xx: the request is wrong and retrying will not help.
    #[error("LINE refused the request ({status}): {message} {details:?}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// LINE's message.
        message: String,
        /// LINE's details.
        details: Vec<ErrorDetail>,
    },
    /// 5xx after every retry.
    #[error("LINE server error ({status}) after {attempts} attempts: {message}")]
    Server {
        /// Last HTTP status.
        status: u16,
        /// LINE's message.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// No answer (timeout, connection refused) after every retry.
    #[error("LINE unreachable after {attempts} attempts: {reason}")]
    Unreachable {
        /// The last transport error.
        reason: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The answer was not what LINE documents.
    #[error("unexpected answer from LINE: {0}")]
    Unexpected(String),
}

/// The outcome of a push or multicast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted now.
    Accepted {
        /// LINE's `x-line-request-id`.
        request_id: Option<String>,
    },
    /// Accepted before under the same retry key (409): already delivered, not a failure.
    AlreadyAccepted {
        /// LINE's `x-line-accepted-request-id`.
        accepted_request_id: Option<String>,
    },
}

/// The monthly message quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// The limit, or `None` if unlimited.
    pub limit: Option<u64>,
    /// Messages counted this month.
    pub used: u64,
}

/// A friend's public profile.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// Display name.
    pub display_name: String,
    /// The user's language, if shared.
    #[serde(default)]
    pub language: Option<String>,
}

/// A fresh `X-Line-Retry-Key` (a random UUID, version 4).
pub fn new_retry_key() -> String {
    let mut b: [u8; 16] = crate::secrets::random_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// The Messaging API client. Cheap to clone.
#[derive(Clone)]
pub struct LineClient {
    http: reqwest::Client,
    base_url: PublicBaseUrl,
    token: SecretString,
    retry: RetryPolicy,
}

impl std::fmt::Debug for LineClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineClient").field("base_url", &self.base_url.to_string()).finish_non_exhaustive()
    }
}

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl LineClient {
    /// A client for the API at `base_url`, each request bounded by `timeout`.
    pub fn new(base_url: PublicBaseUrl, token: SecretString, timeout: Duration, retry: RetryPolicy) -> Result<LineClient, LineError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("oshirase/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| LineError::Unexpected(e.to_string()))?;
        Ok(LineClient { http, base_url, token, retry })
    }

    /// Replies to an event (free of quota). The token is single-use and short-lived.
    pub async fn reply(&self, reply_token: &str, messages: &[Message]) -> Result<(), LineError> {
        let body = json!({ "replyToken": reply_token, "messages": messages.iter().map(Message::to_json).collect::<Vec<_>>() });
        self.call(Method::POST, "/v2/bot/message/reply", Some(&body), None).await.map(|_| ())
    }

    /// Pushes messages to one user, idempotently under `retry_key`.
    pub async fn push(&self, to: &LineUserId, messages: &[Message], retry_key: &str) -> Result<Delivery, LineError> {
        let body = json!({ "to": to.as_str(), "messages": messages.iter().map(Message::to_json).collect::<Vec<_>>() });
        self.send_keyed("/v2/bot/message/push", &body, retry_key).await
    }

    /// Sends the same messages to up to 500 users, idempotently under `retry_key`.
    pub async fn multicast(&self, to: &[LineUserId], messages: &[Message], retry_key: &str) -> Result<Delivery, LineError> {
        if to.is_empty() || to.len() > 500 {
            return Err(LineError::Rejected { status: 400, message: format!("multicast takes 1 to 500 recipients, not {}", to.len()), details: Vec::new() });
        }
        let body = json!({ "to": to.iter().map(LineUserId::as_str).collect::<Vec<_>>(), "messages": messages.iter().map(Message::to_json).collect::<Vec<_>>() });
        self.send_keyed("/v2/bot/message/multicast", &body, retry_key).await
    }

    /// A friend's profile; `None` if the user is unknown, not a friend, or blocked us.
    pub async fn profile(&self, user: &LineUserId) -> Result<Option<Profile>, LineError> {
        match self.call(Method::GET, &format!("/v2/bot/profile/{}", user.as_str()), None, None).await {
            Ok(answer) => serde_json::from_value(answer.body).map(Some).map_err(|e| LineError::Unexpected(e.to_string())),
            Err(LineError::Rejected { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// This month's quota and consumption.
    pub async fn quota(&self) -> Result<Quota, LineError> {
        let quota = self.call(Method::GET, "/v2/bot/message/quota", None, None).await?.body;
        let used = self.call(Method::GET, "/v2/bot/message/quota/consumption", None, None).await?.body;
        let limit = match quota["type"].as_str() {
            Some("none") => None,
            Some("limited") => Some(quota["value"].as_u64().ok_or_else(|| LineError::Unexpected(format!("quota {quota}")))?),
            _ => return Err(LineError::Unexpected(format!("quota {quota}"))),
        };
        let used = used["totalUsage"].as_u64().ok_or_else(|| LineError::Unexpected(format!("consumption {used}")))?;
        Ok(Quota { limit, used })
    }

    async fn send_keyed(&self, path: &str, body: &Value, retry_key: &str) -> Result<Delivery, LineError> {
        let answer = self.call(Method::POST, path, Some(body), Some(retry_key)).await?;
        if answer.status == StatusCode::CONFLICT {
            return Ok(Delivery::AlreadyAccepted { accepted_request_id: header(&answer.headers, "x-line-accepted-request-id") });
        }
        Ok(Delivery::Accepted { request_id: header(&answer.headers, "x-line-request-id") })
    }

    /// One API call with LINE's retry rules. Under a retry key a 409 comes back as an
    /// answer, for [`LineClient::send_keyed`] to read as "accepted before".
    async fn call(&self, method: Method, path: &str, body: Option<&Value>, retry_key: Option<&str>) -> Result<Answer, LineError> {
        let url = self.base_url.join(path);
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap_or_default());
        let mut backoff = self.retry.first_backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self.http.request(method.clone(), &url).bearer_auth(self.token.expose_secret());
            if let Some(bytes) = &bytes {
                request = request.header(reqwest::header::CONTENT_TYPE, "application/json").body(bytes.clone());
            }
            if let Some(key) = retry_key {
                request = request.header("X-Line-Retry-Key", key);
            }
            let failure = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    let body: Value = response.json().await.unwrap_or(Value::Null);
                    if status.is_success() {
                        return Ok(Answer { status, headers, body });
                    }
                    if status == StatusCode::CONFLICT && retry_key.is_some() {
                        return Ok(Answer { status, headers, body });
                    }
                    if !status.is_server_error() {
                        return Err(client_error(status, &body));
                    }
                    LineError::Server { status: status.as_u16(), message: message_of(&body), attempts: attempt }
                }
                Err(e) => LineError::Unreachable { reason: e.to_string(), attempts: attempt },
            };
            if attempt >= self.retry.attempts {
                return Err(failure);
            }
            tracing::warn!(%path, attempt, error = %failure, "LINE request failed; retrying with the same body");
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
    }
}

fn header(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn message_of(body: &Value) -> String {
    body["message"].as_str().unwrap_or_default().to_owned()
}

fn client_error(status: StatusCode, body: &Value) -> LineError {
    let message = message_of(body);
    match status.as_u16() {
        429 if message == QUOTA_MESSAGE => LineError::QuotaExhausted { message },
        429 => LineError::RateLimited { message },
        401 | 403 => LineError::Unauthorized { status: status.as_u16(), message },
        code => LineError::Rejected { status: code, message, details: serde_json::from_value(body["details"].clone()).unwrap_or_default() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_keys_are_version_4_uuids() {
        let key = new_retry_key();
        assert_eq!(key.len(), 36);
        let parts: Vec<&str> = key.split('-').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].chars().next(), Some('8' | '9' | 'a' | 'b')));
        assert_ne!(new_retry_key(), key);
    }

    #[test]
    fn the_quota_429_is_told_apart_from_rate_limiting() {
        let quota = client_error(StatusCode::TOO_MANY_REQUESTS, &json!({"message": QUOTA_MESSAGE}));
        assert!(matches!(quota, LineError::QuotaExhausted { .. }));
        let rate = client_error(StatusCode::TOO_MANY_REQUESTS, &json!({"message": "The API rate limit has been exceeded. Try again later."}));
        assert!(matches!(rate, LineError::RateLimited { .. }));
    }

    #[test]
    fn errors_carry_lines_message_and_details() {
        let e = client_error(
            StatusCode::BAD_REQUEST,
            &json!({"message": "The request body has 1 error(s)", "details": [{"message": "May not be empty", "property": "messages[0].text"}]}),
        );
        let LineError::Rejected { status, message, details } = e else { panic!("rejected") };
        assert_eq!((status, message.as_str()), (400, "The request body has 1 error(s)"));
        assert_eq!(details, vec![ErrorDetail { message: "May not be empty".into(), property: "messages[0].text".into() }]);
    }
}
