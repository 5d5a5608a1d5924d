//! Kiosk pairing (issue 5): a venue asks for a one-time pairing code for one of its places
//! (management API), the kiosk redeems it (`oshirase-kiosk pair --server URL --code CODE`) and
//! receives its id, its token secret and its sync token; the venue lists and revokes its kiosks.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use oshirase_common::LocationId;
use oshirase_common::kiosk_token::{KioskId, KioskSecret};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::api::authenticate;
use super::error::ApiError;
use super::extract::ApiJson;
use super::{AppState, no_store, timestamp};
use crate::secrets::{ManageToken, PairingCode, random_bytes};
use crate::store::{Heartbeat, KioskError, KioskRecord, NewKiosk, Pairing, StoreError};

/// `/api/v1/kiosks/pair`, `/api/v1/manage/venues/{location}/kiosks`, `/api/v1/manage/kiosks…`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/kiosks/pair", post(pair))
        .route("/api/v1/manage/venues/{location}/kiosks", post(new_pairing_code))
        .route("/api/v1/manage/kiosks", get(list))
        .route("/api/v1/manage/kiosks/{kiosk}/revoke", post(revoke))
        .route("/api/v1/kiosk/heartbeat", post(heartbeat))
}

async fn new_pairing_code(State(state): State<AppState>, headers: HeaderMap, Path(location): Path<String>) -> Result<Response, ApiError> {
    let (_, registration) = authenticate(&state, &headers).await?;
    let location = LocationId::parse(&location).map_err(|_| ApiError::NotFound)?;
    let code = PairingCode::generate();
    let now = OffsetDateTime::now_utc();
    let expires = now + time::Duration::minutes(i64::from(state.kiosk.pairing_code_minutes));
    if !state.store.create_pairing_code(registration.id, location, code.hash(), now, expires).await? {
        return Err(ApiError::NotFound);
    }
    let body = json!({
        "pairing_code": code.grouped(),
        "expires_at": timestamp(expires),
        "pair_command": format!("oshirase-kiosk pair --server {} --code {}", state.base_url, code.grouped()),
    });
    Ok((StatusCode::CREATED, no_store(), axum::Json(body)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PairRequest {
    pairing_code: String,
}

async fn pair(State(state): State<AppState>, ApiJson(request): ApiJson<PairRequest>) -> Result<Response, ApiError> {
    let code = PairingCode::parse(&request.pairing_code).map_err(|_| ApiError::NotFound)?;
    let now = OffsetDateTime::now_utc();
    let sync_token = ManageToken::generate();
    let mut attempt = 0;
    let (kiosk, outcome) = loop {
        attempt += 1;
        let kiosk = NewKiosk { kiosk_id: KioskId::from_random(random_bytes()), secret: KioskSecret::new(random_bytes()), sync_token_hash: sync_token.hash() };
        match state.store.pair_kiosk(code.hash(), kiosk.clone(), now).await {
            Err(StoreError::Conflict(_)) if attempt < 3 => continue,
            other => break (kiosk, other?),
        }
    };
    let (location_id, venue) = match outcome {
        Pairing::Paired { location_id, venue } => (location_id, venue),
        Pairing::Unknown => return Err(ApiError::NotFound),
        Pairing::Expired | Pairing::Used => {
            return Err(ApiError::Unprocessable { code: "pairing_code_spent", message: "the pairing code has expired or was used; ask for a new one".into() });
        }
    };
    tracing::info!(kiosk = %kiosk.kiosk_id.as_str(), "kiosk paired");
    let body = json!({
        "kiosk_id": kiosk.kiosk_id.as_str(),
        "kiosk_secret": STANDARD.encode(kiosk.secret.expose()),
        "sync_token": sync_token.expose(),
        "location_id": location_id,
        "venue_name": venue.as_str(),
        "public_base_url": state.base_url.to_string(),
        "step_seconds": state.kiosk.step_seconds,
        "window_behind_steps": state.kiosk.window_behind_steps,
        "window_ahead_steps": state.kiosk.window_ahead_steps,
        "server_time": timestamp(now),
        "pass_public_key": state.passes.key.public_key_base64(),
    });
    Ok((StatusCode::CREATED, no_store(), axum::Json(body)).into_response())
}

pub fn kiosk_json(k: &KioskRecord) -> Value {
    let last = k.last_heartbeat.as_ref();
    json!({
        "kiosk_id": k.kiosk_id.as_str(),
        "location_id": k.location_id,
        "venue_name": k.venue_name.as_str(),
        "paired_at": timestamp(k.paired_at),
        "status": if k.revoked_at.is_some() { "revoked" } else { "active" },
        "revoked_at": k.revoked_at.map_or(Value::Null, timestamp),
        "last_seen_at": last.map_or(Value::Null, |h| timestamp(h.at)),
        "version": last.map(|h| h.version.clone()),
        "uptime_seconds": last.map(|h| h.uptime_seconds),
        "clock_offset_ms": last.and_then(|h| h.clock_offset_ms),
        "pending_scans": last.and_then(|h| h.pending_scans),
        "screen": last.map(|h| h.screen.clone()),
        "last_error": last.and_then(|h| h.last_error.as_ref()).map(|e| e.message.clone()),
        "last_error_at": last.and_then(|h| h.last_error.as_ref()).map_or(Value::Null, |e| timestamp(e.reported_at)),
    })
}

/// Screens a kiosk may report.
const SCREENS: [&str; 5] = ["idle", "unpaired", "clock_untrusted", "offline", "disabled"];

/// A heartbeat body. Unknown fields are ignored, so kiosks of a newer version can report
/// more without being refused by an older server.
#[derive(Debug, Deserialize)]
struct HeartbeatRequest {
    version: String,
    uptime_seconds: u64,
    clock_offset_ms: Option<i64>,
    screen: String,
    last_error: Option<String>,
    /// Pass scans waiting in its buffer.
    pending_scans: Option<u64>,
    /// The version of the pass revocation list the kiosk holds.
    revocations_version: Option<i64>,
}

async fn heartbeat(State(state): State<AppState>, headers: HeaderMap, ApiJson(report): ApiJson<HeartbeatRequest>) -> Result<Response, ApiError> {
    let given = super::bearer_token(&headers).ok_or(ApiError::Unauthorized)?;
    let token = ManageToken::parse(given).map_err(|_| ApiError::Unauthorized)?;
    let kiosk = state.store.kiosk_by_sync_token(token.hash()).await?.ok_or(ApiError::Unauthorized)?;
    if !SCREENS.contains(&report.screen.as_str()) || report.version.is_empty() || report.version.chars().count() > 32 {
        return Err(ApiError::Unprocessable { code: "invalid_heartbeat", message: format!("screen must be one of {SCREENS:?}; version 1 to 32 characters") });
    }
    let now = OffsetDateTime::now_utc();
    let last_error = report.last_error.map(|e| KioskError { message: e.chars().take(500).collect(), reported_at: now });
    let record = Heartbeat { at: now, version: report.version, uptime_seconds: report.uptime_seconds, clock_offset_ms: report.clock_offset_ms, pending_scans: report.pending_scans, screen: report.screen, last_error };
    state.store.record_heartbeat(kiosk.kiosk_id.clone(), record).await?;
    // The revocation list only when the kiosk's copy is out of date.
    let version = state.store.revocations_version().await?;
    let (version, revoked) = if report.revocations_version == Some(version) {
        (version, Value::Null)
    } else {
        let list = state.store.revocations(now).await?;
        (list.version, json!(list.pass_ids.iter().map(|id| id.as_str()).collect::<Vec<_>>()))
    };
    let body = json!({
        "server_time": timestamp(now),
        "step_seconds": state.kiosk.step_seconds,
        "window_behind_steps": state.kiosk.window_behind_steps,
        "window_ahead_steps": state.kiosk.window_ahead_steps,
        "disabled": kiosk.revoked_at.is_some() || !kiosk.place_active,
        "venue_name": kiosk.venue_name.as_str(),
        "pass_public_key": state.passes.key.public_key_base64(),
        "revocations_version": version,
        "revoked_passes": revoked,
    });
    Ok((no_store(), axum::Json(body)).into_response())
}

async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let (_, registration) = authenticate(&state, &headers).await?;
    let kiosks = state.store.kiosks_of(registration.id).await?;
    Ok((no_store(), axum::Json(json!({ "kiosks": kiosks.iter().map(kiosk_json).collect::<Vec<_>>() }))).into_response())
}

async fn revoke(State(state): State<AppState>, headers: HeaderMap, Path(kiosk): Path<String>) -> Result<Response, ApiError> {
    let (_, registration) = authenticate(&state, &headers).await?;
    let kiosk = KioskId::parse(&kiosk).map_err(|_| ApiError::NotFound)?;
    if !state.store.revoke_kiosk(registration.id, kiosk.clone(), OffsetDateTime::now_utc()).await? {
        return Err(ApiError::NotFound);
    }
    let record = state.store.kiosk(kiosk).await?.ok_or(ApiError::NotFound)?;
    Ok((no_store(), axum::Json(kiosk_json(&record))).into_response())
}
