//! Registration pages: the single-place form and the CSV bulk form. Both validate
//! everything first and store all or nothing; on success they redirect (303) to the new
//! registration's management page, so reloading never registers twice.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use oshirase_common::{FieldErrors, Lang, VenueForm};
use time::OffsetDateTime;

use super::AppState;
use super::error::PageError;
use super::extract::PageForm;
use crate::metrics::RegistrationChannel;
use crate::pages;
use crate::pages::register::{BulkProblem, FormView};
use crate::venues::{self, RegisterError, csv_import};

/// `/`, `/venues/new`, `POST /venues`, `/venues/bulk`, `/venues/bulk/template.csv`.
pub fn router(upload_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { pages::home::home() }))
        .route("/venues/new", get(|| async { pages::register::new_venue(&FormView::default()) }))
        .route("/venues", axum::routing::post(create))
        .route("/venues/bulk", get(bulk_form).post(bulk_create).layer(DefaultBodyLimit::max(upload_bytes)))
        .route("/venues/bulk/template.csv", get(template))
}

async fn create(State(state): State<AppState>, PageForm(form): PageForm<VenueForm>) -> Result<Response, PageError> {
    let venues = match venues::validate_all(std::slice::from_ref(&form), 1) {
        Ok(venues) => venues,
        Err(RegisterError::Invalid(mut errors)) => {
            let errors: FieldErrors = errors.pop().map(|(_, e)| e).unwrap_or_default();
            let page = pages::register::new_venue(&FormView { values: Some(&form), errors: Some(&errors) });
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
        Err(e) => return Err(PageError::Internal(e.into())),
    };
    let registered = venues::register(state.store.as_ref(), venues, OffsetDateTime::now_utc()).await.map_err(|e| PageError::Internal(e.into()))?;
    state.metrics.registered(RegistrationChannel::Form, registered.record.venues.len());
    tracing::info!(registration = registered.record.id, places = 1, "venue registered");
    Ok(Redirect::to(&format!("/manage/{}?registered=1", registered.token.expose())).into_response())
}

async fn bulk_form(State(state): State<AppState>) -> impl IntoResponse {
    pages::register::bulk(state.limits.bulk_max_places, None)
}

async fn template() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8"), (header::CONTENT_DISPOSITION, "attachment; filename=\"oshirase-venues-template.csv\"")],
        csv_import::template(),
    )
}

/// Reads the uploaded file, or the pasted text if no file was chosen.
async fn read_upload(mut multipart: Multipart) -> Result<Vec<u8>, PageError> {
    let mut file = Vec::new();
    let mut pasted = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(|e| multipart_error(&e))? {
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(|e| multipart_error(&e))?;
        match name.as_str() {
            "csv" => file = bytes.to_vec(),
            "csv_text" => pasted = bytes.to_vec(),
            _ => return Err(PageError::BadRequest),
        }
    }
    Ok(if file.is_empty() { pasted } else { file })
}

fn multipart_error(e: &axum::extract::multipart::MultipartError) -> PageError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE { PageError::PayloadTooLarge } else { PageError::BadRequest }
}

async fn bulk_create(State(state): State<AppState>, multipart: Multipart) -> Result<Response, PageError> {
    let max = state.limits.bulk_max_places;
    let refuse = |problem: BulkProblem| Ok((StatusCode::UNPROCESSABLE_ENTITY, pages::register::bulk(max, Some(&problem))).into_response());
    let bytes = read_upload(multipart).await?;
    let rows = match csv_import::parse(&bytes) {
        Ok(rows) => rows,
        Err(e) => return refuse(BulkProblem::File { ja: e.message(Lang::Ja), en: e.message(Lang::En) }),
    };
    let forms: Vec<VenueForm> = rows.iter().map(|(_, form)| form.clone()).collect();
    let venues = match venues::validate_all(&forms, max) {
        Ok(venues) => venues,
        Err(RegisterError::Invalid(errors)) => {
            let by_line = errors.into_iter().map(|(index, e)| (rows[index].0, e)).collect();
            return refuse(BulkProblem::Rows(by_line));
        }
        Err(RegisterError::TooMany { count, max }) => {
            return refuse(BulkProblem::File {
                ja: format!("{count}か所あります。1回に登録できるのは{max}か所までです。ファイルを分けてください。"),
                en: format!("{count} places; at most {max} per upload. Please split the file."),
            });
        }
        Err(e) => return Err(PageError::Internal(e.into())),
    };
    let registered = venues::register(state.store.as_ref(), venues, OffsetDateTime::now_utc()).await.map_err(|e| PageError::Internal(e.into()))?;
    state.metrics.registered(RegistrationChannel::BulkForm, registered.record.venues.len());
    tracing::info!(registration = registered.record.id, places = registered.record.venues.len(), "venues registered in bulk");
    Ok(Redirect::to(&format!("/manage/{}?registered=1", registered.token.expose())).into_response())
}
