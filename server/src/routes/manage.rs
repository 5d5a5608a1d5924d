//! The venue's private management pages under `/manage/{token}`: the registration's places,
//! their posters (PDF, PNG, SVG) and withdrawal. An unknown or malformed secret is a plain
//! 404, indistinguishable from a page that never existed.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use oshirase_common::{Lang, LocationId};
use serde::Deserialize;
use time::OffsetDateTime;

use super::error::PageError;
use super::extract::PageForm;
use super::{AppState, no_store};
use crate::pages;
use crate::pages::manage::ManageView;
use crate::poster::PosterContent;
use crate::poster::qr::QrMatrix;
use crate::secrets::ManageToken;
use crate::store::{RegistrationRecord, VenueRecord, Withdrawal};

/// `/manage/{token}…`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/manage/{token}", get(show))
        .route("/manage/{token}/posters.pdf", get(all_posters))
        .route("/manage/{token}/venues/{location}/{file}", get(download))
        .route("/manage/{token}/venues/{location}/withdraw", get(confirm_withdraw).post(withdraw))
        .route("/manage/{token}/venues/{location}/kiosks", axum::routing::post(add_kiosk))
        .route("/manage/{token}/kiosks/{kiosk}/revoke", axum::routing::post(revoke_kiosk))
}

/// The path of a registration's management page.
pub fn manage_path(token: &ManageToken) -> String {
    format!("/manage/{}", token.expose())
}

/// Loads the registration a secret manages; anything wrong is a 404.
pub async fn load(state: &AppState, token: &str) -> Result<(ManageToken, RegistrationRecord), PageError> {
    let token = ManageToken::parse(token).map_err(|_| PageError::NotFound)?;
    let registration = state.store.registration_by_token(token.hash()).await?.ok_or(PageError::NotFound)?;
    Ok((token, registration))
}

fn find<'a>(registration: &'a RegistrationRecord, location: &str) -> Result<&'a VenueRecord, PageError> {
    let id = LocationId::parse(location).map_err(|_| PageError::NotFound)?;
    registration.venues.iter().find(|v| v.location_id == id).ok_or(PageError::NotFound)
}

#[derive(Debug, Deserialize)]
struct ShowQuery {
    registered: Option<String>,
    withdrawn: Option<String>,
}

async fn show(State(state): State<AppState>, Path(token): Path<String>, Query(query): Query<ShowQuery>) -> Result<Response, PageError> {
    let (token, registration) = load(&state, &token).await?;
    let kiosks = state.store.kiosks_of(registration.id).await?;
    let base_path = manage_path(&token);
    let manage_url = state.base_url.join(&base_path);
    let view = ManageView {
        registration: &registration,
        manage_url: &manage_url,
        base_path: &base_path,
        just_registered: query.registered.is_some(),
        just_withdrawn: query.withdrawn.is_some(),
        public_base: &state.base_url,
        kiosks: &kiosks,
        now: OffsetDateTime::now_utc(),
    };
    Ok((no_store(), pages::manage::manage(&view)).into_response())
}

/// The URL a place's QR code holds.
pub fn qr_url(state: &AppState, venue: &VenueRecord) -> String {
    state.base_url.qr_url(&format!("/C/{}", venue.code))
}

async fn download(State(state): State<AppState>, Path((token, location, file)): Path<(String, String, String)>) -> Result<Response, PageError> {
    let (_, registration) = load(&state, &token).await?;
    let venue = find(&registration, &location)?;
    if !venue.is_active() {
        return Err(PageError::NotFound);
    }
    let url = qr_url(&state, venue);
    let name = format!("oshirase-{}", venue.code);
    let (content_type, filename, bytes) = match file.as_str() {
        "poster.pdf" => ("application/pdf", format!("{name}-poster.pdf"), render_posters(&state, vec![venue.clone()]).await?),
        "qr.png" => ("image/png", format!("{name}-qr.png"), qr(&url)?.to_png(16)),
        "qr.svg" => ("image/svg+xml", format!("{name}-qr.svg"), qr(&url)?.to_svg().into_bytes()),
        _ => return Err(PageError::NotFound),
    };
    Ok(attachment(content_type, &filename, bytes))
}

async fn all_posters(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, PageError> {
    let (_, registration) = load(&state, &token).await?;
    let active: Vec<VenueRecord> = registration.venues.into_iter().filter(VenueRecord::is_active).collect();
    if active.is_empty() {
        return Err(PageError::NotFound);
    }
    let bytes = render_posters(&state, active).await?;
    Ok(attachment("application/pdf", "oshirase-posters.pdf", bytes))
}

fn qr(url: &str) -> Result<QrMatrix, PageError> {
    QrMatrix::encode(url).map_err(|e| PageError::Internal(e.into()))
}

fn attachment(content_type: &'static str, filename: &str, bytes: Vec<u8>) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")).unwrap_or(HeaderValue::from_static("attachment"));
    ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type)), (header::CONTENT_DISPOSITION, disposition)], no_store(), bytes).into_response()
}

/// Renders A4 posters, one page per place, off the async runtime.
pub async fn render_posters(state: &AppState, venues: Vec<VenueRecord>) -> Result<Vec<u8>, PageError> {
    let renderer = state.posters.clone();
    let items: Vec<(String, String, String, String)> = venues
        .iter()
        .map(|v| (v.venue.name.as_str().to_owned(), v.venue.business_type.label(Lang::Ja).to_owned(), qr_url(state, v), v.code.grouped()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let contents: Vec<PosterContent<'_>> = items
            .iter()
            .map(|(name, kind, url, code)| PosterContent { venue_name: name, business_type: kind, checkin_url: url, code_grouped: code })
            .collect();
        renderer.a4_pdf(&contents)
    })
    .await
    .map_err(|e| PageError::Internal(e.into()))?
    .map_err(|e| PageError::Internal(e.into()))
}

async fn confirm_withdraw(State(state): State<AppState>, Path((token, location)): Path<(String, String)>) -> Result<Response, PageError> {
    let (token, registration) = load(&state, &token).await?;
    let venue = find(&registration, &location)?;
    let base_path = manage_path(&token);
    if !venue.is_active() {
        return Ok(Redirect::to(&base_path).into_response());
    }
    Ok((no_store(), pages::manage::confirm_withdraw(&base_path, venue)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WithdrawForm {
    confirm: Option<String>,
}

async fn withdraw(
    State(state): State<AppState>,
    Path((token, location)): Path<(String, String)>,
    PageForm(form): PageForm<WithdrawForm>,
) -> Result<Response, PageError> {
    let (token, registration) = load(&state, &token).await?;
    let venue = find(&registration, &location)?;
    let base_path = manage_path(&token);
    if form.confirm.as_deref() != Some("yes") {
        return Ok(Redirect::to(&format!("{base_path}/venues/{}/withdraw", venue.location_id)).into_response());
    }
    let outcome = state.store.withdraw_venue(registration.id, venue.location_id.clone(), OffsetDateTime::now_utc()).await?;
    if outcome == Withdrawal::Withdrawn {
        state.metrics.withdrawn();
        tracing::info!(registration = registration.id, "place withdrawn");
    }
    Ok(Redirect::to(&format!("{base_path}?withdrawn=1")).into_response())
}

async fn add_kiosk(State(state): State<AppState>, Path((token, location)): Path<(String, String)>) -> Result<Response, PageError> {
    let (token, registration) = load(&state, &token).await?;
    let venue = find(&registration, &location)?;
    if !venue.is_active() {
        return Err(PageError::NotFound);
    }
    let code = crate::secrets::PairingCode::generate();
    let now = OffsetDateTime::now_utc();
    let expires = now + time::Duration::minutes(i64::from(state.kiosk.pairing_code_minutes));
    if !state.store.create_pairing_code(registration.id, venue.location_id.clone(), code.hash(), now, expires).await? {
        return Err(PageError::NotFound);
    }
    let command = format!("oshirase-kiosk pair --server {} --code {}", state.base_url, code.grouped());
    let svg = qr(&code.grouped())?.to_svg();
    // Inline in HTML: the SVG element without its XML declaration.
    let inline = svg.find("<svg").map_or(svg.as_str(), |start| &svg[start..]);
    let page = pages::manage::pairing_code(&manage_path(&token), venue.venue.name.as_str(), &code.grouped(), expires, &command, inline);
    Ok((no_store(), page).into_response())
}

async fn revoke_kiosk(State(state): State<AppState>, Path((token, kiosk)): Path<(String, String)>) -> Result<Response, PageError> {
    let (token, registration) = load(&state, &token).await?;
    let kiosk = oshirase_common::kiosk_token::KioskId::parse(&kiosk).map_err(|_| PageError::NotFound)?;
    if !state.store.revoke_kiosk(registration.id, kiosk, OffsetDateTime::now_utc()).await? {
        return Err(PageError::NotFound);
    }
    Ok(Redirect::to(&manage_path(&token)).into_response())
}
