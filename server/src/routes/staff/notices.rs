//! Cluster notices (R18, admin): publish a place, a period and a message on the public page
//! `/notices`, and withdraw it. Audited; not linked to any case.

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use oshirase_common::LocationId;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{FormFields, StaffUser};
use crate::audit::AuditEvent;
use crate::cases::parse_jst;
use crate::routes::error::{ApiError, PageError};
use crate::routes::extract::{ApiJson, ApiPath};
use crate::routes::{AppState, no_store, timestamp};
use crate::store::cases::NewNotice;

/// Why a notice was refused (Japanese first: admins read it).
const BAD_NOTICE: &str = "施設・期間（開始日〜終了日、最長31日）・文面（1〜500文字）を確かめてください。（check the place, the period of at most 31 days and the message）";

fn check(location: &str, from: Option<OffsetDateTime>, to: Option<OffsetDateTime>, message: &str) -> Option<(LocationId, OffsetDateTime, OffsetDateTime, String)> {
    let location = LocationId::parse(location).ok()?;
    let (from, to) = (from?, to?);
    let message = message.trim().to_owned();
    let ok = to > from && to - from <= time::Duration::days(31) && (1..=500).contains(&message.chars().count()) && !message.chars().any(|c| c.is_control() && c != '\n' && c != '\r');
    ok.then_some((location, from, to, message))
}

async fn publish(state: &AppState, user: &StaffUser, checked: Option<(LocationId, OffsetDateTime, OffsetDateTime, String)>) -> Result<Option<i64>, crate::store::StoreError> {
    let Some((location_id, from, to, message)) = checked else {
        return Ok(None);
    };
    let audit = AuditEvent::new(user.actor.clone(), "notice.published").with(json!({ "location_id": location_id.as_str(), "from": timestamp(from), "to": timestamp(to) }));
    state.store.publish_notice(NewNotice { location_id, from, to, message, published_by: user.staff_id }, OffsetDateTime::now_utc(), audit).await
}

#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    q: Option<String>,
}

async fn render(state: &AppState, user: &StaffUser, query: Option<&str>, error: Option<&str>, status: StatusCode) -> Result<Response, PageError> {
    let notices = state.store.notices(true).await?;
    let query = query.map(str::trim).filter(|q| !q.is_empty());
    let places = match query {
        Some(q) => state.store.search_places(q.to_owned(), 20).await?,
        None => Vec::new(),
    };
    let today = super::cases::today_jst();
    Ok((status, no_store(), crate::pages::notices::staff(user, &notices, query.map(|q| (q, places.as_slice())), error, &today)).into_response())
}

/// `GET /staff/notices?q=…`
pub async fn page(State(state): State<AppState>, Extension(user): Extension<StaffUser>, Query(query): Query<NoticeQuery>) -> Result<Response, PageError> {
    render(&state, &user, query.q.as_deref(), None, StatusCode::OK).await
}

/// `POST /staff/notices`: a place and whole days in Japan time.
pub async fn create(State(state): State<AppState>, Extension(user): Extension<StaffUser>, form: FormFields) -> Result<Response, PageError> {
    let from = parse_jst(form.get("from").unwrap_or_default(), "00:00").ok();
    let to = parse_jst(form.get("to").unwrap_or_default(), "00:00").ok().map(|t| t + time::Duration::days(1));
    let checked = check(form.get("location_id").unwrap_or_default(), from, to, form.get("message").unwrap_or_default());
    match publish(&state, &user, checked).await? {
        Some(_) => Ok(Redirect::to("/staff/notices").into_response()),
        None => render(&state, &user, None, Some(BAD_NOTICE), StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

/// `POST /staff/notices/{id}/withdraw`
pub async fn withdraw(State(state): State<AppState>, Extension(user): Extension<StaffUser>, Path(id): Path<i64>) -> Result<Response, PageError> {
    let audit = AuditEvent::new(user.actor.clone(), "notice.withdrawn").about(format!("notice:{id}"));
    if !state.store.withdraw_notice(id, OffsetDateTime::now_utc(), audit).await? {
        return Err(PageError::NotFound);
    }
    Ok(Redirect::to("/staff/notices").into_response())
}

fn notice_value(n: &crate::store::cases::NoticeRecord) -> Value {
    json!({ "id": n.id, "venue_name": n.venue_name, "address": n.address, "from": timestamp(n.from), "to": timestamp(n.to), "message": n.message,
            "published_at": timestamp(n.published_at), "withdrawn_at": n.withdrawn_at.map_or(Value::Null, timestamp) })
}

/// `GET /api/v1/staff/notices`: every notice, withdrawn ones included.
pub async fn list_json(State(state): State<AppState>) -> Result<Response, ApiError> {
    let notices = state.store.notices(true).await?;
    Ok(axum::Json(json!({ "notices": notices.iter().map(notice_value).collect::<Vec<_>>() })).into_response())
}

/// A notice through the API.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeRequest {
    location_id: String,
    #[serde(with = "time::serde::rfc3339")]
    from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    to: OffsetDateTime,
    message: String,
}

/// `POST /api/v1/staff/notices` → `201` with its id.
pub async fn create_json(State(state): State<AppState>, Extension(user): Extension<StaffUser>, ApiJson(body): ApiJson<NoticeRequest>) -> Result<Response, ApiError> {
    let checked = check(&body.location_id, Some(body.from), Some(body.to), &body.message);
    match publish(&state, &user, checked).await? {
        Some(id) => Ok((StatusCode::CREATED, axum::Json(json!({ "id": id }))).into_response()),
        None => Err(ApiError::Unprocessable { code: "invalid_notice", message: BAD_NOTICE.to_owned() }),
    }
}

/// `POST /api/v1/staff/notices/{id}/withdraw`
pub async fn withdraw_json(State(state): State<AppState>, Extension(user): Extension<StaffUser>, ApiPath(id): ApiPath<i64>) -> Result<Response, ApiError> {
    let audit = AuditEvent::new(user.actor.clone(), "notice.withdrawn").about(format!("notice:{id}"));
    if !state.store.withdraw_notice(id, OffsetDateTime::now_utc(), audit).await? {
        return Err(ApiError::NotFound);
    }
    Ok(axum::Json(json!({ "id": id, "withdrawn": true })).into_response())
}
