//! The control API under `/sandbox/…`: JSON, no authentication, for tests and scripts to set
//! the sandbox up (webhook URL, quota, faults), to make residents act (each such call waits for
//! the webhook and answers what the server replied), and to read what happened (inboxes, the
//! webhook log, the request log, counts, fetched images). Faults never apply here.

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::config::{ConfigError, ConfigUpdate};
use crate::faults::{FaultError, FaultSettings};
use crate::sandbox::{ActionError, Sandbox};

/// The control routes.
pub fn router(sandbox: Sandbox) -> Router {
    Router::new()
        .route("/sandbox/config", get(config).put(update_config))
        .route("/sandbox/residents", get(residents).post(add_resident))
        .route("/sandbox/residents/{id}", get(resident))
        .route("/sandbox/residents/{id}/inbox", get(inbox))
        .route("/sandbox/residents/{id}/inbox/{message_id}/content", get(content))
        .route("/sandbox/residents/{id}/scan", post(scan))
        .route("/sandbox/residents/{id}/text", post(text))
        .route("/sandbox/residents/{id}/postback", post(postback))
        .route("/sandbox/residents/{id}/follow", post(follow))
        .route("/sandbox/residents/{id}/block", post(block))
        .route("/sandbox/residents/{id}/reply-tokens", post(reply_tokens))
        .route("/sandbox/webhook-log", get(webhook_log))
        .route("/sandbox/requests", get(requests))
        .route("/sandbox/stats", get(stats))
        .route("/sandbox/faults", get(faults).put(set_faults).delete(clear_faults))
        .with_state(sandbox)
}

/// A refused control call: `{"error": "…"}` with one status per kind.
#[derive(Debug)]
enum ControlError {
    /// Body missing, not JSON, or with unknown or mistyped fields (400).
    Body(String),
    /// A resident action refused (404, 409 or 400).
    Action(ActionError),
    /// A configuration refused (400).
    Config(ConfigError),
    /// Fault settings refused (400).
    Faults(FaultError),
    /// Nothing to serve at this path (404).
    NotFound(String),
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Self::Body(message) => (StatusCode::BAD_REQUEST, message),
            Self::Action(e @ ActionError::UnknownResident(_)) => (StatusCode::NOT_FOUND, e.to_string()),
            Self::Action(e @ ActionError::Invalid(_)) => (StatusCode::BAD_REQUEST, e.to_string()),
            Self::Action(e) => (StatusCode::CONFLICT, e.to_string()),
            Self::Config(e) => (StatusCode::BAD_REQUEST, e.to_string()),
            Self::Faults(e) => (StatusCode::BAD_REQUEST, e.to_string()),
            Self::NotFound(message) => (StatusCode::NOT_FOUND, message),
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

impl From<ActionError> for ControlError {
    fn from(e: ActionError) -> Self {
        Self::Action(e)
    }
}

/// `Json<T>` whose rejections are [`ControlError::Body`].
struct Body<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ControlError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(ControlError::Body(rejection.body_text())),
        }
    }
}

type Answer = Result<Response, ControlError>;

fn ok(value: impl serde::Serialize) -> Answer {
    Ok(Json(value).into_response())
}

async fn config(State(sandbox): State<Sandbox>) -> Answer {
    ok(sandbox.config())
}

async fn update_config(State(sandbox): State<Sandbox>, Body(update): Body<ConfigUpdate>) -> Answer {
    ok(sandbox.update_config(&update).map_err(ControlError::Config)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewResident {
    display_name: String,
}

async fn add_resident(State(sandbox): State<Sandbox>, Body(new): Body<NewResident>) -> Answer {
    let resident = sandbox.add_resident(&new.display_name)?;
    Ok((StatusCode::CREATED, Json(resident)).into_response())
}

async fn residents(State(sandbox): State<Sandbox>) -> Answer {
    ok(sandbox.residents())
}

async fn resident(State(sandbox): State<Sandbox>, Path(id): Path<String>) -> Answer {
    ok(sandbox.resident(&id)?)
}

async fn inbox(State(sandbox): State<Sandbox>, Path(id): Path<String>) -> Answer {
    ok(sandbox.inbox(&id)?)
}

/// The original image of one image message in the inbox, as the sandbox fetched it, with its
/// type as the bytes are (`image/png` or `image/jpeg`); 404 while pending, after a failure
/// of either URL, and for unknown residents and messages.
async fn content(State(sandbox): State<Sandbox>, Path((id, message_id)): Path<(String, String)>) -> Answer {
    let Some(image) = sandbox.image(&id, &message_id)? else {
        return Err(ControlError::NotFound(format!("no fetched image for message {message_id} in this inbox")));
    };
    Ok(([(CONTENT_TYPE, image.content_type), (X_CONTENT_TYPE_OPTIONS, "nosniff")], image.bytes).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scan {
    url: String,
}

async fn scan(State(sandbox): State<Sandbox>, Path(id): Path<String>, Body(scan): Body<Scan>) -> Answer {
    ok(sandbox.scan(&id, &scan.url).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Text {
    text: String,
}

async fn text(State(sandbox): State<Sandbox>, Path(id): Path<String>, Body(text): Body<Text>) -> Answer {
    ok(sandbox.send_text(&id, &text.text).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Postback {
    data: String,
    display_text: Option<String>,
}

async fn postback(State(sandbox): State<Sandbox>, Path(id): Path<String>, Body(postback): Body<Postback>) -> Answer {
    ok(sandbox.postback(&id, &postback.data, postback.display_text.as_deref()).await?)
}

async fn follow(State(sandbox): State<Sandbox>, Path(id): Path<String>) -> Answer {
    ok(sandbox.follow(&id).await?)
}

async fn block(State(sandbox): State<Sandbox>, Path(id): Path<String>) -> Answer {
    ok(sandbox.block(&id).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenCount {
    count: usize,
}

async fn reply_tokens(State(sandbox): State<Sandbox>, Path(id): Path<String>, Body(wanted): Body<TokenCount>) -> Answer {
    ok(json!({ "reply_tokens": sandbox.issue_reply_tokens(&id, wanted.count)? }))
}

async fn webhook_log(State(sandbox): State<Sandbox>) -> Answer {
    ok(sandbox.webhook_log())
}

async fn requests(State(sandbox): State<Sandbox>) -> Answer {
    ok(sandbox.request_log())
}

async fn stats(State(sandbox): State<Sandbox>) -> Answer {
    ok(sandbox.stats())
}

async fn faults(State(sandbox): State<Sandbox>) -> Answer {
    ok(sandbox.faults())
}

async fn set_faults(State(sandbox): State<Sandbox>, Body(settings): Body<FaultSettings>) -> Answer {
    ok(sandbox.set_faults(settings).map_err(ControlError::Faults)?)
}

async fn clear_faults(State(sandbox): State<Sandbox>) -> Answer {
    ok(sandbox.clear_faults())
}
