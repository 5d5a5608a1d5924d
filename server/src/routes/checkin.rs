//! A scanned venue code: `/c/{code}` (and `/C/{code}`, the upper-case form printed in QR
//! codes to keep them small). An active code redirects into LINE: the official account's
//! chat opens with the check-in text typed in, and sending it records the visit. Withdrawn
//! and unknown codes get a Japanese page and record nothing.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use oshirase_common::VenueCode;

use super::AppState;
use super::error::PageError;
use crate::line::deep_link::oa_message_url;
use crate::pages;
use crate::residents::commands::checkin_text;

/// `/c/{code}` and `/C/{code}`.
pub fn router() -> Router<AppState> {
    Router::new().route("/c/{code}", get(scanned)).route("/C/{code}", get(scanned))
}

async fn scanned(State(state): State<AppState>, Path(code): Path<String>) -> Result<Response, PageError> {
    let Ok(code) = VenueCode::parse(&code) else {
        return Ok((StatusCode::NOT_FOUND, pages::checkin::unknown()).into_response());
    };
    Ok(match state.store.venue_by_code(code.clone()).await? {
        Some(venue) if venue.is_active() => {
            let links = &state.line_links;
            Redirect::to(&oa_message_url(&links.deep_link_base, &links.basic_id, &checkin_text(code.as_str()))).into_response()
        }
        Some(_) => (StatusCode::GONE, pages::checkin::withdrawn()).into_response(),
        None => (StatusCode::NOT_FOUND, pages::checkin::unknown()).into_response(),
    })
}
