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
use oshirase_common::kiosk_token::{KioskToken, TokenError};
use time::OffsetDateTime;

use super::AppState;
use super::error::PageError;
use crate::line::deep_link::oa_message_url;
use crate::pages;
use crate::residents::commands::checkin_text;

/// `/c/{code}`, `/C/{code}`, and a kiosk's `/k/{token}`, `/K/{token}`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/c/{code}", get(scanned))
        .route("/C/{code}", get(scanned))
        .route("/k/{token}", get(kiosk_scanned))
        .route("/K/{token}", get(kiosk_scanned))
}

/// A kiosk's rotating code: checked now (a photo of an old screen is refused here), then the
/// same hand-over into LINE as a printed code, the token in the check-in text.
async fn kiosk_scanned(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, PageError> {
    let Ok(token) = KioskToken::parse(&token) else {
        return Ok((StatusCode::NOT_FOUND, pages::checkin::unknown()).into_response());
    };
    let Some(kiosk) = state.store.kiosk(token.kiosk().clone()).await? else {
        return Ok((StatusCode::NOT_FOUND, pages::checkin::unknown()).into_response());
    };
    let now_step = state.kiosk.steps().at(u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0));
    Ok(match token.verify(&kiosk.secret, now_step, state.kiosk.window()) {
        Err(TokenError::Expired | TokenError::Future) => (StatusCode::GONE, pages::checkin::expired()).into_response(),
        Err(_) => (StatusCode::NOT_FOUND, pages::checkin::unknown()).into_response(),
        Ok(()) if kiosk.revoked_at.is_some() || !kiosk.place_active => (StatusCode::GONE, pages::checkin::withdrawn()).into_response(),
        Ok(()) => {
            let links = &state.line_links;
            Redirect::to(&oa_message_url(&links.deep_link_base, &links.basic_id, &checkin_text(&token.to_string()))).into_response()
        }
    })
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
