//! A pass's image and printable card (issue 7), at the secret link LINE and the resident
//! fetch: `/p/{link}/qr.png` (large), `/p/{link}/preview.png` (LINE's chat preview) and
//! `/p/{link}/card.pdf`. The link is derived from the pass's signature and stored as a hash
//! (`passes::PassKey::link_token`); a revoked or expired pass, or one whose resident deleted
//! their data, is not found.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use oshirase_common::pass::Pass;

use super::error::PageError;
use super::{AppState, no_store};
use crate::poster::PassCard;
use crate::poster::qr::QrMatrix;
use crate::secrets::ManageToken;
use crate::store::passes::PassRecord;

/// Pixels per QR module of the large image (a version 6 code: 49 modules with its quiet zone,
/// 588 pixels — sharp on a phone held up to a kiosk camera).
const IMAGE_MODULE_PX: u32 = 12;
/// Pixels per module of LINE's preview (196 pixels, a few kilobytes).
const PREVIEW_MODULE_PX: u32 = 4;

/// `/p/{link}/{file}`.
pub fn router() -> Router<AppState> {
    Router::new().route("/p/{link}/{file}", get(file))
}

async fn file(State(state): State<AppState>, Path((link, file)): Path<(String, String)>) -> Result<Response, PageError> {
    let link = ManageToken::parse(&link).map_err(|_| PageError::NotFound)?;
    let now = time::OffsetDateTime::now_utc();
    let record = state.store.pass_by_link(link.hash(), now).await?.ok_or(PageError::NotFound)?;
    let pass = Pass { id: record.pass_id.clone(), expires_at: u32::try_from(record.expires_at.unix_timestamp()).unwrap_or(u32::MAX) };
    let text = state.passes.key.issue(&pass);
    let (content_type, bytes) = match file.as_str() {
        "qr.png" => ("image/png", qr(&text)?.to_png(IMAGE_MODULE_PX)),
        "preview.png" => ("image/png", qr(&text)?.to_png(PREVIEW_MODULE_PX)),
        "card.pdf" => ("application/pdf", card(&state, &record, text).await?),
        _ => return Err(PageError::NotFound),
    };
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], no_store(), bytes).into_response())
}

fn qr(text: &str) -> Result<QrMatrix, PageError> {
    QrMatrix::encode(text).map_err(|e| PageError::Internal(e.into()))
}

/// The printable card, rendered off the async runtime.
async fn card(state: &AppState, record: &PassRecord, text: String) -> Result<Vec<u8>, PageError> {
    let renderer = state.pass_cards.clone();
    // A pass for the resident themself carries no name.
    let label = record.label.as_ref().map_or_else(String::new, |l| l.as_str().to_owned());
    let short = record.pass_id.short().to_owned();
    let expires = record.expires_at.to_offset(crate::pages::JST).date();
    tokio::task::spawn_blocking(move || renderer.pass_card_pdf(&PassCard { qr_text: &text, label: &label, short_id: &short, expires }))
        .await
        .map_err(|e| PageError::Internal(e.into()))?
        .map_err(|e| PageError::Internal(e.into()))
}
