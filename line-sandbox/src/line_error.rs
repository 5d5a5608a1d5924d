//! Every error the Messaging API answers, with LINE's status codes and message texts, in one
//! enum so that each refusal has exactly one shape (`{"message", "details"?, "sentMessages"?}`).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::validate::{Detail, summary};

/// A Messaging API error response.
#[derive(Debug, Clone, PartialEq)]
pub enum LineError {
    /// Missing or wrong `Authorization: Bearer` token (401).
    Unauthorized,
    /// The body is not JSON, or not a JSON object (400).
    NotJson,
    /// The body failed the checks of [`crate::validate`] (400).
    InvalidBody(Vec<Detail>),
    /// The reply token is unknown, used or expired (400).
    InvalidReplyToken,
    /// `X-Line-Retry-Key` on an endpoint that does not take it (400).
    RetryKeyNotAllowed,
    /// `X-Line-Retry-Key` is not a UUID (400).
    RetryKeyInvalid,
    /// The retry key was accepted before (409); carries the first request's id and, for
    /// push, its `sentMessages`.
    RetryKeyAccepted {
        /// `x-line-request-id` of the accepted request.
        accepted_request_id: String,
        /// What the accepted push sent (none for multicast).
        sent_messages: Option<Value>,
    },
    /// Unknown user, not a friend, or blocked (404).
    NotFound,
    /// The endpoint's requests-per-second limit (429).
    RateLimited,
    /// The monthly message quota would be exceeded (429).
    QuotaExceeded,
    /// Injected server error (500).
    Internal,
    /// Injected outage (503).
    Unavailable,
}

impl LineError {
    /// The HTTP status LINE answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotJson | Self::InvalidBody(_) | Self::InvalidReplyToken | Self::RetryKeyNotAllowed | Self::RetryKeyInvalid => {
                StatusCode::BAD_REQUEST
            }
            Self::RetryKeyAccepted { .. } => StatusCode::CONFLICT,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::RateLimited | Self::QuotaExceeded => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let message = match self {
            Self::Unauthorized => "Authentication failed. Confirm that the access token in the authorization header is valid.",
            Self::NotJson => "The request body could not be parsed as JSON",
            Self::InvalidBody(details) => return json!({"message": summary(details), "details": details}),
            Self::InvalidReplyToken => "Invalid reply token",
            Self::RetryKeyNotAllowed => "The X-Line-Retry-Key header cannot be used with this API",
            Self::RetryKeyInvalid => "The X-Line-Retry-Key header must be a UUID",
            Self::RetryKeyAccepted { sent_messages, .. } => {
                let mut body = json!({"message": "The retry key is already accepted"});
                if let Some(sent) = sent_messages {
                    body["sentMessages"] = sent.clone();
                }
                return body;
            }
            Self::NotFound => "Not found",
            Self::RateLimited => "The API rate limit has been exceeded. Try again later.",
            Self::QuotaExceeded => "You have reached your monthly limit.",
            Self::Internal => "An error occurred in the server",
            Self::Unavailable => "The service is temporarily unavailable",
        };
        json!({ "message": message })
    }
}

impl IntoResponse for LineError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        if let Self::RetryKeyAccepted { accepted_request_id, .. } = &self
            && let Ok(value) = HeaderValue::from_str(accepted_request_id)
        {
            response.headers_mut().insert("x-line-accepted-request-id", value);
        }
        response
    }
}
