//! Cases in the console and the JSON API (issue 6): create, find places, add exposures,
//! preview counts, approve (a second person), close, resume, and follow the sending.
//! Every change and every preview is in the audit log.

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use oshirase_common::LocationId;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{FormFields, StaffUser, urlencode};
use crate::audit::AuditEvent;
use crate::cases::template::AlertTemplate;
use crate::cases::{CaseInputError, CaseReference, StayPeriod, parse_jst};
use crate::pages::cases::{self as pages, CaseView};
use crate::routes::error::{ApiError, PageError};
use crate::routes::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::{AppState, no_store, timestamp};
use crate::staff::Role;
use crate::store::StoreError;
use crate::store::cases::{Approval, ApprovalRequest, CasePreview, CaseRecord, ExposureSource, HistoryImport, NewCase};

/// Places the search shows at most.
const SEARCH_LIMIT: u32 = 50;

/// What a case operation came to, before it is a page or JSON.
enum Refusal {
    Input(CaseInputError),
    NotFound,
    Store(StoreError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Store(e)
    }
}

impl From<CaseInputError> for Refusal {
    fn from(e: CaseInputError) -> Self {
        Refusal::Input(e)
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Input(e) => ApiError::Unprocessable { code: "invalid_case", message: e.to_string() },
            Refusal::NotFound => ApiError::NotFound,
            Refusal::Store(e) => e.into(),
        }
    }
}

fn optional_minutes(value: Option<&str>) -> Result<Option<u32>, CaseInputError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse::<u32>().ok().filter(|m| (1..=1440).contains(m)).map(Some).ok_or(CaseInputError::BadMinutes),
    }
}

async fn create_case(state: &AppState, user: &StaffUser, reference: &str, tail: Option<u32>, dwell: Option<u32>) -> Result<i64, Refusal> {
    let reference = CaseReference::parse(reference)?;
    let audit = AuditEvent::new(user.actor.clone(), "case.created").with(json!({ "reference": reference.as_str(), "tail_minutes": tail, "dwell_minutes": dwell }));
    let case = NewCase { reference, created_by: user.staff_id, tail_minutes: tail, dwell_minutes: dwell };
    match state.store.create_case(case, OffsetDateTime::now_utc(), audit).await {
        Ok(id) => Ok(id),
        Err(StoreError::Conflict(_)) => Err(CaseInputError::ReferenceTaken.into()),
        Err(e) => Err(e.into()),
    }
}

async fn record_exposure(state: &AppState, user: &StaffUser, case_id: i64, location: &str, period: Result<StayPeriod, CaseInputError>) -> Result<i64, Refusal> {
    let period = period?;
    let location = LocationId::parse(location).map_err(|_| CaseInputError::UnknownPlace)?;
    let Some(case) = state.store.case(case_id).await? else {
        return Err(Refusal::NotFound);
    };
    if case.status != crate::cases::CaseStatus::Open {
        return Err(CaseInputError::NotOpen.into());
    }
    let audit = AuditEvent::new(user.actor.clone(), "exposure.added")
        .about(format!("case:{case_id}"))
        .with(json!({ "location_id": location.as_str(), "starts_at": timestamp(period.starts_at()), "ends_at": timestamp(period.ends_at()) }));
    state.store.add_exposure(case_id, location, period, ExposureSource::Staff, OffsetDateTime::now_utc(), audit).await?.ok_or(Refusal::Input(CaseInputError::UnknownPlace))
}

async fn import(state: &AppState, user: &StaffUser, case_id: i64, code: &str) -> Result<u32, Refusal> {
    let code = crate::secrets::HistoryCode::parse(code).map_err(|_| CaseInputError::UnknownHistoryCode)?;
    let now = OffsetDateTime::now_utc();
    let since = now - time::Duration::days(i64::from(state.matching.history_days));
    let audit = AuditEvent::new(user.actor.clone(), "case.history_imported").about(format!("case:{case_id}"));
    match state.store.import_history(case_id, code.hash(), since, state.matching.clone(), now, audit).await? {
        HistoryImport::Imported { exposures } => Ok(exposures),
        HistoryImport::UnknownCode => Err(CaseInputError::UnknownHistoryCode.into()),
        HistoryImport::NotOpen => Err(CaseInputError::NotOpen.into()),
    }
}

/// Counts for an open case, audited (a preview is a staff action).
async fn preview(state: &AppState, user: &StaffUser, case: &CaseRecord) -> Result<CasePreview, StoreError> {
    let counts = state.store.preview_case(case.id, state.matching.clone()).await?;
    let audit = AuditEvent::new(user.actor.clone(), "case.previewed").about(format!("case:{}", case.id)).with(json!({ "total": counts.total, "blocked": counts.blocked }));
    state.store.append_audit(OffsetDateTime::now_utc(), audit).await?;
    Ok(counts)
}

fn may_approve(state: &AppState, user: &StaffUser, case: &CaseRecord) -> bool {
    user.roles.has(Role::Approver) && !(state.alerts.require_second_approver && case.created_by_id == user.staff_id)
}

/// The alert as residents will read it: the admin's template (or the default) with the
/// contact, and nothing else — the template cannot reach the case.
pub async fn alert_text(state: &AppState) -> Result<String, StoreError> {
    let (template, contact) = match state.store.alert_template().await? {
        Some((template, contact)) => (AlertTemplate::parse(&template).unwrap_or_else(|_| AlertTemplate::default_template()), contact),
        None => (AlertTemplate::default_template(), state.alerts.contact.clone()),
    };
    Ok(template.render(&contact))
}

async fn approve_case(state: &AppState, user: &StaffUser, case_id: i64) -> Result<Approval, Refusal> {
    let audit = AuditEvent::new(user.actor.clone(), "case.approved").about(format!("case:{case_id}"));
    let text = alert_text(state).await?;
    let request = ApprovalRequest { approver: user.staff_id, require_second: state.alerts.require_second_approver, rules: state.matching.clone(), alert_text: text };
    let approval = state.store.approve_case(case_id, request, OffsetDateTime::now_utc(), audit).await?;
    match approval {
        Approval::Approved { .. } => {
            state.alert_wakeup.notify_one();
            Ok(approval)
        }
        Approval::NotOpen => Err(CaseInputError::NotOpen.into()),
        Approval::SelfApproval => Err(CaseInputError::SelfApproval.into()),
        Approval::Nobody => Err(CaseInputError::NobodyToAlert.into()),
    }
}

/// A period typed as a date and two times; an end before the start is the next day.
fn typed_period(date: &str, from: &str, to: &str) -> Result<StayPeriod, CaseInputError> {
    let starts = parse_jst(date, from)?;
    let mut ends = parse_jst(date, to)?;
    if ends <= starts {
        ends += time::Duration::days(1);
    }
    StayPeriod::new(starts, ends, OffsetDateTime::now_utc())
}

pub fn today_jst() -> String {
    let now = OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(9, 0, 0).unwrap_or(time::UtcOffset::UTC));
    format!("{:04}-{:02}-{:02}", now.year(), u8::from(now.month()), now.day())
}

// ---- console pages ----

/// `GET /staff/cases`
pub async fn list_page(State(state): State<AppState>, Extension(user): Extension<StaffUser>) -> Result<Response, PageError> {
    let cases = state.store.list_cases().await?;
    Ok((no_store(), pages::list(&user, &cases, None)).into_response())
}

/// `POST /staff/cases`
pub async fn create(State(state): State<AppState>, Extension(user): Extension<StaffUser>, form: FormFields) -> Result<Response, PageError> {
    let minutes = optional_minutes(form.get("tail_minutes")).and_then(|t| Ok((t, optional_minutes(form.get("dwell_minutes"))?)));
    let result = match minutes {
        Ok((tail, dwell)) => create_case(&state, &user, form.get("reference").unwrap_or_default(), tail, dwell).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(id) => Ok(Redirect::to(&format!("/staff/cases/{id}")).into_response()),
        Err(Refusal::Input(e)) => {
            let cases = state.store.list_cases().await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, pages::list(&user, &cases, Some(&e.to_string()))).into_response())
        }
        Err(Refusal::NotFound) => Err(PageError::NotFound),
        Err(Refusal::Store(e)) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct CaseQuery {
    q: Option<String>,
}

async fn render_case(state: &AppState, user: &StaffUser, case_id: i64, query: Option<&str>, error: Option<&str>, status: StatusCode) -> Result<Response, PageError> {
    let Some(case) = state.store.case(case_id).await? else {
        return Err(PageError::NotFound);
    };
    let counts = if case.status == crate::cases::CaseStatus::Open { Some(preview(state, user, &case).await?) } else { None };
    let query = query.map(str::trim).filter(|q| !q.is_empty());
    let places = match query {
        Some(q) => state.store.search_places(q.to_owned(), SEARCH_LIMIT).await?,
        None => Vec::new(),
    };
    let date = today_jst();
    let view = CaseView { user, case: &case, preview: counts.as_ref(), search: query.map(|q| (q, places.as_slice())), error, may_approve: may_approve(state, user, &case), default_date: &date, matching: &state.matching };
    Ok((status, no_store(), pages::case(&view)).into_response())
}

/// `GET /staff/cases/{id}?q=…`
pub async fn case_page(State(state): State<AppState>, Extension(user): Extension<StaffUser>, Path(id): Path<i64>, Query(query): Query<CaseQuery>) -> Result<Response, PageError> {
    render_case(&state, &user, id, query.q.as_deref(), None, StatusCode::OK).await
}

fn back_to(case_id: i64, query: Option<&str>) -> Response {
    match query.map(str::trim).filter(|q| !q.is_empty()) {
        Some(q) => Redirect::to(&format!("/staff/cases/{case_id}?q={}", urlencode(q))).into_response(),
        None => Redirect::to(&format!("/staff/cases/{case_id}")).into_response(),
    }
}

async fn page_result(state: &AppState, user: &StaffUser, case_id: i64, query: Option<&str>, result: Result<(), Refusal>) -> Result<Response, PageError> {
    match result {
        Ok(()) => Ok(back_to(case_id, query)),
        Err(Refusal::Input(e)) => render_case(state, user, case_id, query, Some(&e.to_string()), StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(Refusal::NotFound) => Err(PageError::NotFound),
        Err(Refusal::Store(e)) => Err(e.into()),
    }
}

/// `POST /staff/cases/{id}/exposures`: a place and a date with two times (Japan time).
pub async fn add_exposure(State(state): State<AppState>, Extension(user): Extension<StaffUser>, Path(id): Path<i64>, form: FormFields) -> Result<Response, PageError> {
    let period = typed_period(form.get("date").unwrap_or_default(), form.get("from").unwrap_or_default(), form.get("to").unwrap_or_default());
    let result = record_exposure(&state, &user, id, form.get("location_id").unwrap_or_default(), period).await.map(|_| ());
    page_result(&state, &user, id, form.get("q"), result).await
}

/// `POST /staff/cases/{id}/exposures/{exposure}/delete`
pub async fn remove_exposure(State(state): State<AppState>, Extension(user): Extension<StaffUser>, Path((id, exposure)): Path<(i64, i64)>) -> Result<Response, PageError> {
    let audit = AuditEvent::new(user.actor.clone(), "exposure.removed").about(format!("case:{id}")).with(json!({ "exposure": exposure }));
    let result = if state.store.remove_exposure(id, exposure, OffsetDateTime::now_utc(), audit).await? { Ok(()) } else { Err(Refusal::Input(CaseInputError::NotOpen)) };
    page_result(&state, &user, id, None, result).await
}

/// `POST /staff/cases/{id}/history`: the positive person's one-time history code.
pub async fn import_history(State(state): State<AppState>, Extension(user): Extension<StaffUser>, Path(id): Path<i64>, form: FormFields) -> Result<Response, PageError> {
    let result = import(&state, &user, id, form.get("code").unwrap_or_default()).await.map(|_| ());
    page_result(&state, &user, id, None, result).await
}

/// `POST /staff/cases/{id}/approve`
pub async fn approve(State(state): State<AppState>, Extension(user): Extension<StaffUser>, Path(id): Path<i64>) -> Result<Response, PageError> {
    let result = approve_case(&state, &user, id).await.map(|_| ());
    page_result(&state, &user, id, None, result).await
}

/// `POST /staff/cases/{id}/close`: only with the confirmation box ticked.
pub async fn close(State(state): State<AppState>, Extension(user): Extension<StaffUser>, Path(id): Path<i64>, form: FormFields) -> Result<Response, PageError> {
    if form.get("confirm") != Some("yes") {
        return page_result(&state, &user, id, None, Err(Refusal::Input(CaseInputError::NotConfirmed))).await;
    }
    let audit = AuditEvent::new(user.actor.clone(), "case.closed").about(format!("case:{id}"));
    let result = if state.store.close_case(id, OffsetDateTime::now_utc(), audit).await? { Ok(()) } else { Err(Refusal::Input(CaseInputError::NotOpen)) };
    page_result(&state, &user, id, None, result).await
}

/// `POST /staff/cases/{id}/resume`
pub async fn resume(State(state): State<AppState>, Extension(user): Extension<StaffUser>, Path(id): Path<i64>) -> Result<Response, PageError> {
    let audit = AuditEvent::new(user.actor.clone(), "case.resumed").about(format!("case:{id}"));
    let result = if state.store.resume_case(id, OffsetDateTime::now_utc(), audit).await? {
        state.alert_wakeup.notify_one();
        Ok(())
    } else {
        Err(Refusal::Input(CaseInputError::NotPaused))
    };
    page_result(&state, &user, id, None, result).await
}

// ---- JSON API ----

fn case_value(c: &CaseRecord) -> Value {
    json!({
        "id": c.id,
        "reference": c.reference.as_str(),
        "status": c.status.as_str(),
        "created_by": c.created_by,
        "created_at": timestamp(c.created_at),
        "tail_minutes": c.tail_minutes,
        "dwell_minutes": c.dwell_minutes,
        "excludes_positive_person": c.excludes_positive_person,
        "approved_by": c.approved.as_ref().map(|(who, _)| who.clone()),
        "approved_at": c.approved.as_ref().map_or(Value::Null, |(_, at)| timestamp(*at)),
        "recipients": c.recipients,
        "blocked": c.blocked,
        "pause_reason": c.pause_reason,
        "progress": {
            "batches": c.progress.batches,
            "sent_batches": c.progress.sent_batches,
            "failed_batches": c.progress.failed_batches,
            "sent_recipients": c.progress.sent_recipients,
        },
        "exposures": c.exposures.iter().map(|e| json!({
            "id": e.id,
            "location_id": e.location_id.as_str(),
            "venue_name": e.venue_name,
            "starts_at": timestamp(e.starts_at),
            "ends_at": timestamp(e.ends_at),
            "source": e.source.as_str(),
        })).collect::<Vec<_>>(),
    })
}

async fn found(state: &AppState, id: i64) -> Result<CaseRecord, ApiError> {
    state.store.case(id).await?.ok_or(ApiError::NotFound)
}

#[derive(Debug, Deserialize)]
pub struct PlacesQuery {
    q: String,
}

/// `GET /api/v1/staff/places?q=…`
pub async fn places_json(State(state): State<AppState>, ApiQuery(query): ApiQuery<PlacesQuery>) -> Result<Response, ApiError> {
    let places = state.store.search_places(query.q, SEARCH_LIMIT).await?;
    let list: Vec<Value> = places
        .iter()
        .map(|p| json!({ "location_id": p.location_id.as_str(), "code": p.code, "name": p.name, "address": p.address, "postal_code": p.postal_code, "business_type": p.business_type, "registration_id": p.registration_id, "withdrawn": p.withdrawn }))
        .collect();
    Ok(axum::Json(json!({ "places": list })).into_response())
}

/// `GET /api/v1/staff/cases`
pub async fn list_json(State(state): State<AppState>) -> Result<Response, ApiError> {
    let cases = state.store.list_cases().await?;
    let list: Vec<Value> = cases
        .iter()
        .map(|c| json!({ "id": c.id, "reference": c.reference.as_str(), "status": c.status.as_str(), "created_at": timestamp(c.created_at), "exposures": c.exposures, "recipients": c.recipients }))
        .collect();
    Ok(axum::Json(json!({ "cases": list })).into_response())
}

/// A new case through the API.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCaseRequest {
    reference: String,
    #[serde(default)]
    tail_minutes: Option<u32>,
    #[serde(default)]
    dwell_minutes: Option<u32>,
}

/// `POST /api/v1/staff/cases` → `201` with the case.
pub async fn create_json(State(state): State<AppState>, Extension(user): Extension<StaffUser>, ApiJson(body): ApiJson<NewCaseRequest>) -> Result<Response, ApiError> {
    let check = |m: Option<u32>| match m {
        Some(m) if !(1..=1440).contains(&m) => Err(Refusal::Input(CaseInputError::BadMinutes)),
        other => Ok(other),
    };
    let (tail, dwell) = (check(body.tail_minutes)?, check(body.dwell_minutes)?);
    let id = create_case(&state, &user, &body.reference, tail, dwell).await?;
    Ok((StatusCode::CREATED, axum::Json(case_value(&found(&state, id).await?))).into_response())
}

/// `GET /api/v1/staff/cases/{id}`
pub async fn case_json(State(state): State<AppState>, ApiPath(id): ApiPath<i64>) -> Result<Response, ApiError> {
    Ok(axum::Json(case_value(&found(&state, id).await?)).into_response())
}

/// An exposure through the API: RFC 3339 times.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewExposureRequest {
    location_id: String,
    #[serde(with = "time::serde::rfc3339")]
    starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    ends_at: OffsetDateTime,
}

/// `POST /api/v1/staff/cases/{id}/exposures` → `201` with the case.
pub async fn add_exposure_json(State(state): State<AppState>, Extension(user): Extension<StaffUser>, ApiPath(id): ApiPath<i64>, ApiJson(body): ApiJson<NewExposureRequest>) -> Result<Response, ApiError> {
    let period = StayPeriod::new(body.starts_at, body.ends_at, OffsetDateTime::now_utc());
    record_exposure(&state, &user, id, &body.location_id, period).await?;
    Ok((StatusCode::CREATED, axum::Json(case_value(&found(&state, id).await?))).into_response())
}

/// `DELETE /api/v1/staff/cases/{id}/exposures/{exposure}`
pub async fn remove_exposure_json(State(state): State<AppState>, Extension(user): Extension<StaffUser>, ApiPath((id, exposure)): ApiPath<(i64, i64)>) -> Result<Response, ApiError> {
    if found(&state, id).await?.status != crate::cases::CaseStatus::Open {
        return Err(Refusal::Input(CaseInputError::NotOpen).into());
    }
    let audit = AuditEvent::new(user.actor.clone(), "exposure.removed").about(format!("case:{id}")).with(json!({ "exposure": exposure }));
    if !state.store.remove_exposure(id, exposure, OffsetDateTime::now_utc(), audit).await? {
        return Err(ApiError::NotFound);
    }
    Ok(axum::Json(case_value(&found(&state, id).await?)).into_response())
}

/// A history code through the API.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryRequest {
    code: String,
}

/// `POST /api/v1/staff/cases/{id}/history` → the case with the imported exposures.
pub async fn import_history_json(State(state): State<AppState>, Extension(user): Extension<StaffUser>, ApiPath(id): ApiPath<i64>, ApiJson(body): ApiJson<HistoryRequest>) -> Result<Response, ApiError> {
    found(&state, id).await?;
    import(&state, &user, id, &body.code).await?;
    Ok(axum::Json(case_value(&found(&state, id).await?)).into_response())
}

/// `GET /api/v1/staff/cases/{id}/preview`: counts only.
pub async fn preview_json(State(state): State<AppState>, Extension(user): Extension<StaffUser>, ApiPath(id): ApiPath<i64>) -> Result<Response, ApiError> {
    let case = found(&state, id).await?;
    if case.status != crate::cases::CaseStatus::Open {
        // After approval the counts are fixed on the case (`recipients`, `blocked`).
        return Err(Refusal::Input(CaseInputError::NotOpen).into());
    }
    let counts = preview(&state, &user, &case).await?;
    let per: Vec<Value> = counts.per_exposure.iter().map(|(e, n)| json!({ "exposure": e, "residents": n })).collect();
    Ok(axum::Json(json!({ "case": id, "total": counts.total, "blocked": counts.blocked, "per_exposure": per })).into_response())
}

/// `POST /api/v1/staff/cases/{id}/approve`
pub async fn approve_json(State(state): State<AppState>, Extension(user): Extension<StaffUser>, ApiPath(id): ApiPath<i64>) -> Result<Response, ApiError> {
    found(&state, id).await?;
    approve_case(&state, &user, id).await?;
    Ok(axum::Json(case_value(&found(&state, id).await?)).into_response())
}

/// `POST /api/v1/staff/cases/{id}/close`
pub async fn close_json(State(state): State<AppState>, Extension(user): Extension<StaffUser>, ApiPath(id): ApiPath<i64>) -> Result<Response, ApiError> {
    found(&state, id).await?;
    let audit = AuditEvent::new(user.actor.clone(), "case.closed").about(format!("case:{id}"));
    if !state.store.close_case(id, OffsetDateTime::now_utc(), audit).await? {
        return Err(Refusal::Input(CaseInputError::NotOpen).into());
    }
    Ok(axum::Json(case_value(&found(&state, id).await?)).into_response())
}

/// `POST /api/v1/staff/cases/{id}/resume`
pub async fn resume_json(State(state): State<AppState>, Extension(user): Extension<StaffUser>, ApiPath(id): ApiPath<i64>) -> Result<Response, ApiError> {
    found(&state, id).await?;
    let audit = AuditEvent::new(user.actor.clone(), "case.resumed").about(format!("case:{id}"));
    if !state.store.resume_case(id, OffsetDateTime::now_utc(), audit).await? {
        return Err(Refusal::Input(CaseInputError::NotPaused).into());
    }
    state.alert_wakeup.notify_one();
    Ok(axum::Json(case_value(&found(&state, id).await?)).into_response())
}
