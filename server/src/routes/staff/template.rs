//! The alert's text (admin): a template that may hold only `{contact}`, and the consultation
//! contact. Changes are audited and apply to cases approved afterwards.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use super::{FormFields, StaffUser};
use crate::audit::AuditEvent;
use crate::cases::template::AlertTemplate;
use crate::routes::error::{ApiError, PageError};
use crate::routes::extract::ApiJson;
use crate::routes::{AppState, no_store};

async fn current(state: &AppState) -> Result<(String, String), crate::store::StoreError> {
    Ok(state.store.alert_template().await?.unwrap_or_else(|| (AlertTemplate::default_template().as_str().to_owned(), state.alerts.contact.clone())))
}

/// Checks and saves; the error is what to tell the admin.
async fn save(state: &AppState, user: &StaffUser, template: &str, contact: &str) -> Result<Result<(), String>, crate::store::StoreError> {
    let template = match AlertTemplate::parse(template) {
        Ok(t) => t,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let contact = oshirase_common::text::normalize(contact);
    if contact.is_empty() || contact.chars().count() > 200 {
        return Ok(Err("相談窓口は1〜200文字で入力してください。（contact: 1 to 200 characters）".to_owned()));
    }
    let audit = AuditEvent::new(user.actor.clone(), "template.changed").with(json!({ "template": template.as_str(), "contact": contact }));
    state.store.set_alert_template(template.as_str().to_owned(), contact, user.staff_id, OffsetDateTime::now_utc(), audit).await?;
    Ok(Ok(()))
}

/// `GET /staff/template`
pub async fn page(State(state): State<AppState>, Extension(user): Extension<StaffUser>) -> Result<Response, PageError> {
    let (template, contact) = current(&state).await?;
    Ok((no_store(), crate::pages::staff::template(&user, &template, &contact, None)).into_response())
}

/// `POST /staff/template`
pub async fn update(State(state): State<AppState>, Extension(user): Extension<StaffUser>, form: FormFields) -> Result<Response, PageError> {
    let (template, contact) = (form.get("template").unwrap_or_default(), form.get("contact").unwrap_or_default());
    match save(&state, &user, template, contact).await? {
        Ok(()) => Ok(Redirect::to("/staff/template").into_response()),
        Err(message) => Ok((StatusCode::UNPROCESSABLE_ENTITY, crate::pages::staff::template(&user, template, contact, Some(&message))).into_response()),
    }
}

/// `GET /api/v1/staff/template`
pub async fn get_json(State(state): State<AppState>) -> Result<Response, ApiError> {
    let (template, contact) = current(&state).await?;
    let rendered = AlertTemplate::parse(&template).map(|t| t.render(&contact)).unwrap_or_default();
    Ok(axum::Json(json!({ "template": template, "contact": contact, "rendered": rendered })).into_response())
}

/// A template through the API.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateRequest {
    template: String,
    contact: String,
}

/// `PUT /api/v1/staff/template`
pub async fn put_json(State(state): State<AppState>, Extension(user): Extension<StaffUser>, ApiJson(body): ApiJson<TemplateRequest>) -> Result<Response, ApiError> {
    match save(&state, &user, &body.template, &body.contact).await? {
        Ok(()) => get_json(State(state)).await,
        Err(message) => Err(ApiError::Unprocessable { code: "invalid_template", message }),
    }
}
