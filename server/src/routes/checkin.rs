//! A scanned venue code: `/c/{code}` (and `/C/{code}`, the upper-case form printed in QR
//! codes to keep them small). Today it names the venue and explains how to check in with
//! LINE; the LINE check-in issue turns an active code into a hand-over to LINE. Withdrawn
//! and unknown codes record nothing.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use oshirase_common::VenueCode;

use super::AppState;
use super::error::PageError;
use crate::pages;

/// `/c/{code}` and `/C/{code}`.
pub fn router() -> Router<AppState> {
    Router::new().route("/c/{code}", get(scanned)).route("/C/{code}", get(scanned))
}

async fn scanned(State(state): State<AppState>, Path(code): Path<String>) -> Result<Response, PageError> {
    let Ok(code) = VenueCode::parse(&code) else {
        return Ok((StatusCode::NOT_FOUND, pages::checkin::unknown()).into_response());
    };
    Ok(match state.store.venue_by_code(code).await? {
        Some(venue) if venue.is_active() => pages::checkin::active(venue.venue.name.as_str()).into_response(),
        Some(_) => (StatusCode::GONE, pages::checkin::withdrawn()).into_response(),
        None => (StatusCode::NOT_FOUND, pages::checkin::unknown()).into_response(),
    })
}
