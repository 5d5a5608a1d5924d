//! The JSON API (`/api/v1`): the same registration and management operations as the pages,
//! for venues and chains that automate them. Management calls authenticate with the
//! registration's secret as `Authorization: Bearer <token>`.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use oshirase_common::{Lang, LocationId, VenueForm, business_type};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::error::ApiError;
use super::extract::ApiJson;
use super::manage::{manage_path, qr_url};
use super::{AppState, no_store, timestamp};
use crate::metrics::RegistrationChannel;
use crate::secrets::ManageToken;
use crate::store::{RegistrationRecord, VenueRecord, Withdrawal};
use crate::venues::{self, RegisterError};

/// `/api/v1/…`.
pub fn router(upload_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/api/v1/business-types", get(business_types))
        .route("/api/v1/venues", post(create))
        .route("/api/v1/venues/bulk", post(create_bulk).layer(DefaultBodyLimit::max(upload_bytes)))
        .route("/api/v1/manage", get(show))
        .route("/api/v1/manage/venues/{location}/withdraw", post(withdraw))
}

async fn business_types() -> axum::Json<Value> {
    axum::Json(json!({ "business_types": business_type::all().iter().map(|i| json!({ "key": i.key, "ja": i.ja, "en": i.en })).collect::<Vec<_>>() }))
}



fn venue_json(state: &AppState, base_path: &str, v: &VenueRecord) -> Value {
    let files = format!("{}{base_path}/venues/{}", state.base_url, v.location_id);
    let mut value = json!({
        "location_id": v.location_id,
        "code": v.code,
        "checkin_url": qr_url(state, v),
        "status": if v.is_active() { "active" } else { "withdrawn" },
        "withdrawn_at": v.withdrawn_at.map_or(Value::Null, timestamp),
        "business_type": v.venue.business_type.key(),
        "business_type_label": v.venue.business_type.label(Lang::Ja),
        "daily_visitors": v.venue.daily_visitors.get(),
        "name": v.venue.name.as_str(),
        "postal_code": v.venue.postal_code.to_string(),
        "address": v.venue.address.as_str(),
        "phone": v.venue.phone.digits(),
        "email": v.venue.email.as_str(),
    });
    if v.is_active() {
        value["poster_pdf_url"] = Value::String(format!("{files}/poster.pdf"));
        value["qr_png_url"] = Value::String(format!("{files}/qr.png"));
        value["qr_svg_url"] = Value::String(format!("{files}/qr.svg"));
    }
    value
}

fn registration_json(state: &AppState, token: &ManageToken, record: &RegistrationRecord) -> Value {
    let base_path = manage_path(token);
    let any_active = record.venues.iter().any(VenueRecord::is_active);
    json!({
        "registration": {
            "created_at": timestamp(record.created_at),
            "manage_url": state.base_url.join(&base_path),
            "posters_pdf_url": if any_active { Value::String(state.base_url.join(&format!("{base_path}/posters.pdf"))) } else { Value::Null },
        },
        "venues": record.venues.iter().map(|v| venue_json(state, &base_path, v)).collect::<Vec<_>>(),
    })
}

async fn store_all(state: &AppState, forms: &[VenueForm], max: usize, channel: RegistrationChannel) -> Result<Response, ApiError> {
    let bulk = channel == RegistrationChannel::BulkApi;
    let venues = venues::validate_all(forms, max).map_err(|e| match e {
        RegisterError::Invalid(places) => ApiError::Validation { places, bulk },
        other => other.into(),
    })?;
    let registered = venues::register(state.store.as_ref(), venues, OffsetDateTime::now_utc()).await?;
    state.metrics.registered(channel, registered.record.venues.len());
    tracing::info!(registration = registered.record.id, places = registered.record.venues.len(), "venues registered through the API");
    let mut body = registration_json(state, &registered.token, &registered.record);
    // The secret is handed over exactly once, here.
    body["registration"]["manage_token"] = Value::String(registered.token.expose().to_owned());
    Ok((StatusCode::CREATED, no_store(), axum::Json(body)).into_response())
}

async fn create(State(state): State<AppState>, ApiJson(form): ApiJson<VenueForm>) -> Result<Response, ApiError> {
    store_all(&state, std::slice::from_ref(&form), 1, RegistrationChannel::Api).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkRequest {
    venues: Vec<VenueForm>,
}

async fn create_bulk(State(state): State<AppState>, ApiJson(request): ApiJson<BulkRequest>) -> Result<Response, ApiError> {
    let max = state.limits.bulk_max_places;
    store_all(&state, &request.venues, max, RegistrationChannel::BulkApi).await
}

pub(super) async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<(ManageToken, RegistrationRecord), ApiError> {
    let given = super::bearer_token(headers).ok_or(ApiError::Unauthorized)?;
    let token = ManageToken::parse(given).map_err(|_| ApiError::Unauthorized)?;
    let record = state.store.registration_by_token(token.hash()).await?.ok_or(ApiError::Unauthorized)?;
    Ok((token, record))
}

async fn show(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let (token, record) = authenticate(&state, &headers).await?;
    Ok((no_store(), axum::Json(registration_json(&state, &token, &record))).into_response())
}

async fn withdraw(State(state): State<AppState>, headers: HeaderMap, Path(location): Path<String>) -> Result<Response, ApiError> {
    let (token, record) = authenticate(&state, &headers).await?;
    let location = LocationId::parse(&location).map_err(|_| ApiError::NotFound)?;
    match state.store.withdraw_venue(record.id, location, OffsetDateTime::now_utc()).await? {
        Withdrawal::NotFound => return Err(ApiError::NotFound),
        Withdrawal::Withdrawn => state.metrics.withdrawn(),
        Withdrawal::AlreadyWithdrawn => {}
    }
    let record = state.store.registration_by_token(token.hash()).await?.ok_or(ApiError::Unauthorized)?;
    Ok((no_store(), axum::Json(registration_json(&state, &token, &record))).into_response())
}
