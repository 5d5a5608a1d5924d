//! `POST /api/v1/kiosk/scans` (issue 7): a kiosk uploads the pass scans it buffered, in
//! sequence order; each becomes a visit of the resident who asked for the pass, at the scan's
//! own time corrected by the kiosk's clock offset. Idempotent by (kiosk, sequence number):
//! the store keeps the highest number per kiosk, so a batch sent twice changes nothing the
//! second time. Format: `docs/protocol.md`, "Scan sync".

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use oshirase_common::pass::PassId;
use serde::Deserialize;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::error::ApiError;
use super::extract::ApiJson;
use super::{AppState, no_store};
use crate::secrets::ManageToken;
use crate::store::passes::{ScanWindow, SyncedScan};

/// Most scans in one upload.
pub const MAX_SCANS: usize = 1000;
/// Largest upload body (1,000 scans are about 110 KiB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// A corrected scan time may lie this far ahead of the server's clock.
const FUTURE_TOLERANCE: Duration = Duration::minutes(5);
/// A kiosk's clock offset beyond this is not a clock error but a broken clock.
const MAX_OFFSET_MS: i64 = 366 * 24 * 3_600_000;

/// `/api/v1/kiosk/scans`.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/kiosk/scans", post(upload).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Upload {
    scans: Vec<ScanJson>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScanJson {
    seq: u64,
    pass_id: String,
    scanned_at: String,
    clock_offset_ms: i64,
}

fn invalid(message: String) -> ApiError {
    ApiError::Unprocessable { code: "invalid_scans", message }
}

/// Checks the whole batch before anything is stored: one bad scan refuses the batch.
fn parse(upload: Upload) -> Result<Vec<SyncedScan>, ApiError> {
    if upload.scans.len() > MAX_SCANS {
        return Err(invalid(format!("at most {MAX_SCANS} scans per upload")));
    }
    let mut previous = 0;
    upload
        .scans
        .into_iter()
        .enumerate()
        .map(|(i, scan)| {
            if scan.seq == 0 || scan.seq <= previous {
                return Err(invalid(format!("scans[{i}].seq: sequence numbers start at 1 and strictly ascend")));
            }
            previous = scan.seq;
            let pass_id = PassId::parse(&scan.pass_id).map_err(|_| invalid(format!("scans[{i}].pass_id: not a pass id")))?;
            let kiosk_time = OffsetDateTime::parse(&scan.scanned_at, &Rfc3339).map_err(|_| invalid(format!("scans[{i}].scanned_at: not an RFC 3339 time")))?;
            if scan.clock_offset_ms.abs() > MAX_OFFSET_MS {
                return Err(invalid(format!("scans[{i}].clock_offset_ms: more than a year")));
            }
            let scanned_at = kiosk_time.checked_add(Duration::milliseconds(scan.clock_offset_ms)).ok_or_else(|| invalid(format!("scans[{i}]: time out of range")))?;
            Ok(SyncedScan { seq: scan.seq, pass_id, scanned_at })
        })
        .collect()
}

async fn upload(State(state): State<AppState>, headers: HeaderMap, ApiJson(upload): ApiJson<Upload>) -> Result<Response, ApiError> {
    let given = super::bearer_token(&headers).ok_or(ApiError::Unauthorized)?;
    let token = ManageToken::parse(given).map_err(|_| ApiError::Unauthorized)?;
    let kiosk = state.store.kiosk_by_sync_token(token.hash()).await?.ok_or(ApiError::Unauthorized)?;
    let scans = parse(upload)?;
    let now = OffsetDateTime::now_utc();
    let window = ScanWindow { not_before: now - Duration::days(i64::from(state.retention.visit_days)), not_after: now + FUTURE_TOLERANCE, now };
    let count = scans.len();
    let outcome = state.store.sync_scans(kiosk.kiosk_id.clone(), scans, window).await?;
    tracing::info!(kiosk = %kiosk.kiosk_id.as_str(), scans = count, recorded = outcome.recorded, duplicates = outcome.duplicates, refused = outcome.refused, "kiosk scans synced");
    let body = json!({
        "acknowledged_through": outcome.acknowledged_through,
        "recorded": outcome.recorded,
        "duplicates": outcome.duplicates,
        "refused": outcome.refused,
    });
    Ok((no_store(), axum::Json(body)).into_response())
}
