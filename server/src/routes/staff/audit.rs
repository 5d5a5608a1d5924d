//! The audit log for admins: the newest entries and whether the chain is intact.

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::StaffUser;
use crate::pages::staff as pages;
use crate::routes::error::{ApiError, PageError};
use crate::routes::{AppState, no_store};

/// Entries the page shows.
const SHOWN: u32 = 200;

/// `GET /staff/audit`
pub async fn page(State(state): State<AppState>, Extension(user): Extension<StaffUser>) -> Result<Response, PageError> {
    let verdict = state.store.verify_audit().await?;
    let rows = state.store.recent_audit(SHOWN).await?;
    Ok((no_store(), pages::audit(&user, &verdict, &rows)).into_response())
}

/// `GET /api/v1/staff/audit/verify`: `{"intact": true, "entries": N, "head": "<hex>"}` or
/// `{"intact": false, "problem": "…"}`.
pub async fn verify_json(State(state): State<AppState>) -> Result<Response, ApiError> {
    let body = match state.store.verify_audit().await? {
        Ok(head) => json!({ "intact": true, "entries": head.entries, "head": head.hash_hex() }),
        Err(e) => json!({ "intact": false, "problem": e.to_string() }),
    };
    Ok(axum::Json(body).into_response())
}
