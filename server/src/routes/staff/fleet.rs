//! The kiosk fleet for admins: every kiosk of every venue with its last heartbeat (the venue's
//! own view of its kiosks is on its management page). Kiosks and places only; nothing about
//! residents.

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use time::OffsetDateTime;

use super::StaffUser;
use crate::pages::staff as pages;
use crate::routes::error::{ApiError, PageError};
use crate::routes::kiosks::kiosk_json;
use crate::routes::{AppState, no_store};

/// `GET /staff/kiosks`
pub async fn page(State(state): State<AppState>, Extension(user): Extension<StaffUser>) -> Result<Response, PageError> {
    let kiosks = state.store.all_kiosks().await?;
    Ok((no_store(), pages::fleet(&user, &kiosks, OffsetDateTime::now_utc())).into_response())
}

/// `GET /api/v1/staff/kiosks`: every kiosk, with `silent` for an active kiosk not heard from
/// for five minutes.
pub async fn json(State(state): State<AppState>) -> Result<Response, ApiError> {
    let now = OffsetDateTime::now_utc();
    let kiosks = state.store.all_kiosks().await?;
    let list: Vec<_> = kiosks
        .iter()
        .map(|k| {
            let mut value = kiosk_json(k);
            value["silent"] = json!(k.silent_at(now));
            value["place_active"] = json!(k.place_active);
            value
        })
        .collect();
    Ok(axum::Json(json!({ "kiosks": list })).into_response())
}
