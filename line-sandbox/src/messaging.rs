//! The Messaging API as LINE serves it under `/v2`: bearer-token auth, `x-line-request-id`
//! on every answer, injected faults, per-endpoint rate limits, retry keys, body checks, the
//! monthly quota — in that order — then the work itself in [`Sandbox`].

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Map, Value};

use crate::faults::Verdict;
use crate::ids::{is_uuid, new_uuid, now_ms};
use crate::line_error::LineError;
use crate::sandbox::{Endpoint, RequestRecord, Sandbox};
use crate::validate;

/// The header carrying a retry key.
const RETRY_KEY: &str = "x-line-retry-key";

/// The Messaging API routes (full paths under `/v2`). Unknown `/v2` paths are answered by
/// [`crate::server::app`]'s fallback with LINE's 404.
pub fn router(sandbox: Sandbox) -> Router {
    Router::new()
        .route("/v2/bot/message/reply", post(reply))
        .route("/v2/bot/message/push", post(push))
        .route("/v2/bot/message/multicast", post(multicast))
        .route("/v2/bot/message/quota", get(quota))
        .route("/v2/bot/message/quota/consumption", get(consumption))
        .route("/v2/bot/profile/{user_id}", get(profile))
        .route_layer(middleware::from_fn_with_state(sandbox.clone(), gate))
        .with_state(sandbox)
}

/// The request's `x-line-request-id`, for handlers that remember it (retry keys).
#[derive(Debug, Clone)]
struct RequestId(String);

/// Runs around every call: request id, faults, authentication, and the request log.
async fn gate(State(sandbox): State<Sandbox>, mut request: Request, next: Next) -> Response {
    let request_id = new_uuid();
    let at = now_ms();
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let retry_key = request.headers().get(RETRY_KEY).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let (latency, verdict) = sandbox.judge_faults();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut response = match verdict {
        Verdict::Outage => LineError::Unavailable.into_response(),
        Verdict::ServerError => LineError::Internal.into_response(),
        Verdict::Pass => {
            let auth = request.headers().get("authorization").and_then(|v| v.to_str().ok());
            match sandbox.authorize(auth) {
                Ok(()) => {
                    request.extensions_mut().insert(RequestId(request_id.clone()));
                    next.run(request).await
                }
                Err(e) => e.into_response(),
            }
        }
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-line-request-id", value);
    }
    let status = response.status().as_u16();
    tracing::info!(%method, %path, status, retry_key = retry_key.as_deref(), "messaging api");
    sandbox.log_request(RequestRecord { at, method, path, status, retry_key, request_id });
    response
}

async fn reply(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Result<Json<Value>, LineError> {
    sandbox.check_rate(Endpoint::Reply)?;
    if headers.contains_key(RETRY_KEY) {
        return Err(LineError::RetryKeyNotAllowed);
    }
    let request = validate::reply_request(&json_object(&body)?, sandbox.media_schemes()).map_err(LineError::InvalidBody)?;
    Ok(Json(sandbox.reply(&request)?))
}

async fn push(
    State(sandbox): State<Sandbox>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, LineError> {
    sandbox.check_rate(Endpoint::Push)?;
    let key = retry_key(&sandbox, &headers)?;
    let request = validate::push_request(&json_object(&body)?, sandbox.media_schemes()).map_err(LineError::InvalidBody)?;
    Ok(Json(sandbox.push(&request, key.as_deref(), &request_id)?))
}

async fn multicast(
    State(sandbox): State<Sandbox>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, LineError> {
    sandbox.check_rate(Endpoint::Multicast)?;
    let key = retry_key(&sandbox, &headers)?;
    let request = validate::multicast_request(&json_object(&body)?, sandbox.media_schemes()).map_err(LineError::InvalidBody)?;
    Ok(Json(sandbox.multicast(&request, key.as_deref(), &request_id)?))
}

async fn quota(State(sandbox): State<Sandbox>) -> Json<Value> {
    Json(sandbox.quota())
}

async fn consumption(State(sandbox): State<Sandbox>) -> Json<Value> {
    Json(sandbox.consumption())
}

async fn profile(State(sandbox): State<Sandbox>, Path(user_id): Path<String>) -> Result<Json<Value>, LineError> {
    Ok(Json(sandbox.profile(&user_id)?))
}

/// The retry key, if any: it must be a UUID, and one accepted before answers 409 at once.
fn retry_key(sandbox: &Sandbox, headers: &HeaderMap) -> Result<Option<String>, LineError> {
    let Some(value) = headers.get(RETRY_KEY) else { return Ok(None) };
    let key = value.to_str().ok().filter(|k| is_uuid(k)).ok_or(LineError::RetryKeyInvalid)?;
    sandbox.check_retry_key(key)?;
    Ok(Some(key.to_owned()))
}

fn json_object(body: &[u8]) -> Result<Map<String, Value>, LineError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(LineError::NotJson),
    }
}
