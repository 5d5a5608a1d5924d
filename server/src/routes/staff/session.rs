//! Signing in and out, the console's home, changing one's own password, and `me` for API
//! tokens.
//!
//! Sign-in answers the same for an unknown login, a wrong password and a disabled account
//! (and spends the same argon2 time on each), so it tells a guesser nothing. Each failure
//! counts against the account (locked after `lock_after_failures`) and against the client's
//! address (`login_attempts_per_address` per ten minutes); every attempt is in the audit log.

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::header::{HeaderMap, HeaderValue, SET_COOKIE};
use axum::http::{Extensions, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use super::{FormFields, SESSION_COOKIE, StaffUser, client_address};
use crate::audit::{Actor, AuditEvent};
use crate::pages::staff as pages;
use crate::routes::AppState;
use crate::routes::error::{ApiError, PageError};
use crate::secrets::StaffSecret;
use crate::staff::{StaffLogin, password};
use crate::store::staff::{LoginFailure, NewSession, StaffChange};

/// The one message for every failed sign-in.
const LOGIN_FAILED: &str = "ログイン名またはパスワードが正しくありません。（Wrong login or password.）";

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// `GET /staff/login`
pub async fn login_page(Query(query): Query<LoginQuery>) -> Response {
    (super::super::no_store(), pages::login(None, "", &safe_next(query.next.as_deref()))).into_response()
}

/// Only our own console pages are places to go after signing in.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/staff") && !n.starts_with("/staff/login") && !n.contains("//") && !n.contains('\\') => n.to_owned(),
        _ => "/staff".to_owned(),
    }
}

/// `POST /staff/login`
pub async fn login(State(state): State<AppState>, extensions: Extensions, headers: HeaderMap, form: FormFields) -> Result<Response, PageError> {
    let now = OffsetDateTime::now_utc();
    let typed = form.get("login").unwrap_or_default().to_owned();
    let next = safe_next(form.get("next"));
    let again = |status: StatusCode, message: &str| (status, super::super::no_store(), pages::login(Some(message), &typed, &next)).into_response();
    let client = client_address(&extensions, &headers, state.staff.trust_forwarded_for);
    if !state.login_limiter.allow(&client, state.staff.login_attempts_per_address) {
        tracing::warn!(%client, "too many sign-in attempts from one address");
        return Ok(again(StatusCode::TOO_MANY_REQUESTS, "ログインの試行が多すぎます。10分ほど待ってからもう一度お試しください。（Too many attempts; wait ten minutes.）"));
    }
    let password = SecretString::from(form.get("password").unwrap_or_default().to_owned());
    let found = match StaffLogin::parse(&typed) {
        Ok(login) => state.store.staff_for_login(login).await?,
        Err(_) => None,
    };
    let attempt = |action: &'static str| AuditEvent::new(Actor::Anonymous, action).about(format!("account:{}", typed.trim().to_ascii_lowercase().chars().take(32).collect::<String>())).with(json!({ "client": client }));
    let Some((account, stored_hash)) = found else {
        password::dummy_verify(&password);
        state.store.append_audit(now, attempt("login.failed")).await?;
        return Ok(again(StatusCode::UNAUTHORIZED, LOGIN_FAILED));
    };
    if let Some(until) = account.locked_until.filter(|u| *u > now) {
        password::dummy_verify(&password);
        state.store.append_audit(now, attempt("login.refused_locked")).await?;
        let message = format!("ログインの失敗が続いたため、このアカウントは{}までロックされています。（Locked for now.）", crate::pages::jst(until));
        return Ok(again(StatusCode::UNAUTHORIZED, &message));
    }
    let matches = password::verify(&password, &stored_hash);
    if !matches || account.disabled_at.is_some() {
        if account.disabled_at.is_some() {
            state.store.append_audit(now, attempt("login.refused_disabled")).await?;
            return Ok(again(StatusCode::UNAUTHORIZED, LOGIN_FAILED));
        }
        let lock_for = time::Duration::minutes(i64::from(state.staff.lock_minutes));
        let failure = state.store.login_failed(account.id, now, state.staff.lock_after_failures, lock_for, attempt("login.failed")).await?;
        if let LoginFailure::LockedNow(until) = failure {
            let message = format!("ログインの失敗が続いたため、このアカウントを{}までロックしました。（Locked after repeated failures.）", crate::pages::jst(until));
            return Ok(again(StatusCode::UNAUTHORIZED, &message));
        }
        return Ok(again(StatusCode::UNAUTHORIZED, LOGIN_FAILED));
    }
    let secret = StaffSecret::generate();
    let expires_at = now + time::Duration::hours(i64::from(state.staff.session_hours));
    let session = NewSession { hash: secret.hash(), csrf_token: StaffSecret::generate().expose().to_owned(), expires_at };
    let audit = AuditEvent::new(Actor::Staff(account.login.as_str().to_owned()), "login.succeeded").with(json!({ "client": client }));
    state.store.login_succeeded(account.id, session, now, audit).await?;
    let cookie = session_cookie(&state, secret.expose(), i64::from(state.staff.session_hours) * 3600);
    Ok(([(SET_COOKIE, cookie)], Redirect::to(&next)).into_response())
}

/// The session cookie: the secret, HttpOnly, SameSite=Strict, only for `/staff`, Secure when
/// the server is reached over HTTPS.
fn session_cookie(state: &AppState, value: &str, max_age_seconds: i64) -> HeaderValue {
    let secure = if state.base_url.to_string().starts_with("https://") { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}={value}; Path=/staff; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}{secure}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static("oshirase_staff=; Path=/staff; Max-Age=0"))
}

/// `POST /staff/logout`
pub async fn logout(State(state): State<AppState>, Extension(user): Extension<StaffUser>) -> Result<Response, PageError> {
    if let Some(hash) = user.session {
        state.store.end_session(hash, OffsetDateTime::now_utc(), AuditEvent::new(user.actor.clone(), "logout")).await?;
    }
    Ok(([(SET_COOKIE, session_cookie(&state, "", 0))], Redirect::to("/staff/login")).into_response())
}

/// `GET /staff`
pub async fn home(Extension(user): Extension<StaffUser>) -> Response {
    (super::super::no_store(), pages::home(&user)).into_response()
}

/// `GET /staff/password`
pub async fn password_page(Extension(user): Extension<StaffUser>) -> Response {
    (super::super::no_store(), pages::password(&user, None)).into_response()
}

/// `POST /staff/password`: the current password, then the new one twice. Every session of
/// the account ends, this one included.
pub async fn change_password(State(state): State<AppState>, Extension(user): Extension<StaffUser>, form: FormFields) -> Result<Response, PageError> {
    let again = |message: &str| (StatusCode::UNPROCESSABLE_ENTITY, pages::password(&user, Some(message))).into_response();
    let current = SecretString::from(form.get("current").unwrap_or_default().to_owned());
    let Some((_, stored)) = state.store.staff_for_login(user.login.clone()).await? else {
        return Err(PageError::Forbidden);
    };
    if !password::verify(&current, &stored) {
        return Ok(again("現在のパスワードが正しくありません。（The current password is wrong.）"));
    }
    let (new, confirm) = (form.get("new").unwrap_or_default(), form.get("confirm").unwrap_or_default());
    if new != confirm {
        return Ok(again("新しいパスワードが確認用と一致しません。（The new passwords differ.）"));
    }
    let hash = match password::hash(&SecretString::from(new.to_owned())) {
        Ok(hash) => hash,
        Err(e) => return Ok(again(&e.to_string())),
    };
    let audit = AuditEvent::new(user.actor.clone(), "password.changed").about(format!("account:{}", user.login));
    state.store.change_staff(user.staff_id, StaffChange::SetPassword(hash), OffsetDateTime::now_utc(), audit).await?;
    Ok(([(SET_COOKIE, session_cookie(&state, "", 0))], Redirect::to("/staff/login")).into_response())
}

/// `GET /api/v1/staff/me`: who the token acts as.
pub async fn me(Extension(user): Extension<StaffUser>) -> Result<Response, ApiError> {
    let roles: Vec<&str> = user.roles.iter().map(crate::staff::Role::as_str).collect();
    Ok(axum::Json(json!({ "login": user.login.as_str(), "name": user.name.as_str(), "roles": roles, "actor": user.actor.as_stored() })).into_response())
}
