//! The HTTP layer's errors: [`ApiError`] answers JSON clients, [`PageError`] answers people
//! with a Japanese page. Each variant maps to one status code; internal errors get a generic
//! body and their cause goes to the log only.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use oshirase_common::{FieldErrors, Lang};
use serde_json::{Map, Value, json};

use crate::pages::errors::error_page;
use crate::store::StoreError;
use crate::venues::RegisterError;

/// Errors of the JSON API.
#[derive(Debug)]
pub enum ApiError {
    /// 422: fields failed validation. `bulk` lists errors per place index.
    Validation {
        /// (place index, errors) for each bad place.
        places: Vec<(usize, FieldErrors)>,
        /// True for the bulk endpoint (errors listed per place), false for one place.
        bulk: bool,
    },
    /// 400: the body is not valid JSON, or otherwise malformed.
    BadRequest(String),
    /// 422: well-formed JSON of the wrong shape (unknown field, wrong type), or a bad list.
    Unprocessable {
        /// Stable code.
        code: &'static str,
        /// What was wrong.
        message: String,
    },
    /// 415: the request is not `application/json`.
    UnsupportedMediaType,
    /// 413: the body is larger than allowed.
    PayloadTooLarge,
    /// 401: missing or unknown management secret or API token.
    Unauthorized,
    /// 403: known, but without the role this needs.
    Forbidden(&'static str),
    /// 404: no such thing.
    NotFound,
    /// 500: something failed inside; logged, never shown.
    Internal(anyhow::Error),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<RegisterError> for ApiError {
    fn from(e: RegisterError) -> Self {
        match e {
            RegisterError::Invalid(places) => ApiError::Validation { places, bulk: false },
            RegisterError::Empty => ApiError::Unprocessable { code: "no_places", message: "the list of places is empty".into() },
            RegisterError::TooMany { count, max } => ApiError::Unprocessable { code: "too_many_places", message: format!("{count} places; at most {max} per request") },
            RegisterError::Store(e) => e.into(),
        }
    }
}

fn field_errors_json(errors: &FieldErrors) -> Value {
    let mut fields = Map::new();
    for (field, error) in errors.iter() {
        fields.insert(
            field.key().to_owned(),
            json!({ "code": error.code(), "message": error.message(field, Lang::Ja), "message_en": error.message(field, Lang::En) }),
        );
    }
    Value::Object(fields)
}

fn body(code: &str, message: &str, message_en: &str) -> Value {
    json!({ "error": { "code": code, "message": message, "message_en": message_en } })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, value) = match self {
            ApiError::Validation { places, bulk } => {
                let mut value = body("validation_failed", "入力内容に誤りがあります。", "Some fields are invalid.");
                if bulk {
                    value["error"]["places"] = places.iter().map(|(i, e)| json!({ "index": i, "fields": field_errors_json(e) })).collect();
                } else if let Some((_, errors)) = places.first() {
                    value["error"]["fields"] = field_errors_json(errors);
                }
                (StatusCode::UNPROCESSABLE_ENTITY, value)
            }
            ApiError::BadRequest(detail) => {
                let mut value = body("malformed_body", "リクエストの形式が正しくありません。", "The request body is malformed.");
                value["error"]["detail"] = Value::String(detail);
                (StatusCode::BAD_REQUEST, value)
            }
            ApiError::Unprocessable { code, message } => {
                let mut value = body(code, "リクエストの内容が正しくありません。", "The request does not have the expected content.");
                value["error"]["detail"] = Value::String(message);
                (StatusCode::UNPROCESSABLE_ENTITY, value)
            }
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                body("unsupported_media_type", "Content-Type は application/json にしてください。", "Send the body as application/json."),
            ),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, body("payload_too_large", "リクエストが大きすぎます。", "The request body is too large.")),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                body("unauthorized", "認証情報（トークン）がないか、正しくありません。", "Missing or unknown token."),
            ),
            ApiError::Forbidden(role) => {
                let mut value = body("forbidden", "この操作の権限がありません。", "You do not have the role this needs.");
                value["error"]["detail"] = Value::String(format!("needs the {role} role"));
                (StatusCode::FORBIDDEN, value)
            }
            ApiError::NotFound => (StatusCode::NOT_FOUND, body("not_found", "見つかりません。", "Not found.")),
            ApiError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "internal error in API request");
                (StatusCode::INTERNAL_SERVER_ERROR, body("internal", "サーバーで問題が起きました。時間をおいてもう一度お試しください。", "Something went wrong on the server. Please try again later."))
            }
        };
        let mut response = (status, Json(value)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Errors of pages people read.
#[derive(Debug)]
pub enum PageError {
    /// 404.
    NotFound,
    /// 400: the submitted form could not be read.
    BadRequest,
    /// 413: the upload or form is too large.
    PayloadTooLarge,
    /// 415: the body is not a form.
    UnsupportedMediaType,
    /// 403: a staff page the signed-in person's role does not allow, or a form without its
    /// CSRF token or from another site.
    Forbidden,
    /// 500: logged, never shown.
    Internal(anyhow::Error),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        PageError::Internal(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, page) = match self {
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                error_page("ページが見つかりません", "Page not found", "お探しのページは見つかりませんでした。URLをお確かめください。", "The page you asked for does not exist. Please check the address."),
            ),
            PageError::BadRequest => (
                StatusCode::BAD_REQUEST,
                error_page("送信内容を読み取れません", "Bad request", "送信された内容を読み取れませんでした。もう一度フォームから送信してください。", "The submitted form could not be read. Please submit it again."),
            ),
            PageError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                error_page("ファイルが大きすぎます", "Too large", "送信された内容が大きすぎます。ファイルを分けて送信してください。", "What you sent is too large. Please split it up."),
            ),
            PageError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                error_page("送信形式が正しくありません", "Unsupported media type", "このページはフォームからの送信だけを受け付けます。もう一度フォームから送信してください。", "This page only accepts form submissions. Please submit the form again."),
            ),
            PageError::Forbidden => (
                StatusCode::FORBIDDEN,
                error_page("この操作はできません", "Forbidden", "この操作の権限がないか、フォームの有効期限が切れています。ページを開き直してからもう一度お試しください。", "You do not have the role this needs, or the form has expired. Please reload the page and try again."),
            ),
            PageError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "internal error in page request");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    error_page("問題が発生しました", "Server error", "サーバーで問題が起きました。時間をおいてもう一度お試しください。", "Something went wrong on the server. Please try again later."),
                )
            }
        };
        (status, page).into_response()
    }
}
