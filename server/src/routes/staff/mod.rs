//! The staff console (`/staff/…`, Japanese pages, signed-in with a session cookie) and the
//! staff JSON API (`/api/v1/staff/…`, an API token scoped to one role).
//!
//! **Every route states who may use it**, in [`ROUTES`], and that table is what the guard
//! ([`guard`]) enforces: a route missing from it answers 500 to everyone, so forgetting to
//! declare one fails closed. The guard also checks the CSRF token of every form a session
//! posts and that the form came from our own origin, and puts the signed-in [`StaffUser`]
//! into the request for the handler.
//!
//! | area | file |
//! |---|---|
//! | sign-in, sign-out, the console's home | `session.rs` |
//! | accounts and API tokens (admin) | `accounts.rs` |
//! | the kiosk fleet | `fleet.rs` |
//! | the audit log (admin) | `audit.rs` |
//! | cases, exposures, preview, approval, progress | `cases.rs` |
//! | cluster notices (admin; the public page is `/notices`) | `notices.rs` |
//! | CSV exports (formula-safe) | `reports.rs` |
//! | the alert's template and contact (admin) | `template.rs` |

pub mod accounts;
pub mod audit;
pub mod cases;
pub mod fleet;
pub mod notices;
pub mod reports;
pub mod template;
pub mod session;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, FromRequest, MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use super::AppState;
use super::error::{ApiError, PageError};
use crate::audit::Actor;
use crate::secrets::{StaffSecret, TokenHash};
use crate::staff::{Role, Roles, StaffLogin, StaffName};

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (the sign-in page).
    Anyone,
    /// Any signed-in staff member, whatever their role.
    AnyStaff,
    /// Staff holding this role.
    Role(Role),
    /// Staff holding any of these roles.
    AnyOf(&'static [Role]),
}

/// How a route is reached and answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A console page: session cookie, CSRF on forms, Japanese error pages, sign-in redirect.
    Page,
    /// The JSON API: `Authorization: Bearer <API token>`, JSON errors.
    Api,
}

/// One route and who may use it.
#[derive(Debug, Clone, Copy)]
pub struct StaffRoute {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The route's path template.
    pub path: &'static str,
    /// Who may use it.
    pub access: Access,
    /// Page or API.
    pub kind: Kind,
}

const fn page(method: &'static str, path: &'static str, access: Access) -> StaffRoute {
    StaffRoute { method, path, access, kind: Kind::Page }
}

const fn api(method: &'static str, path: &'static str, access: Access) -> StaffRoute {
    StaffRoute { method, path, access, kind: Kind::Api }
}

use Access::{AnyStaff, Anyone};
const ADMIN: Access = Access::Role(Role::Admin);
const INVESTIGATOR: Access = Access::Role(Role::Investigator);
const APPROVER: Access = Access::Role(Role::Approver);
/// Cases are read by those who work on them.
const CASE_STAFF: Access = Access::AnyOf(&[Role::Investigator, Role::Approver]);

/// Every staff route with who may use it. The guard enforces exactly this.
pub const ROUTES: &[StaffRoute] = &[
    page("GET", "/staff/login", Anyone),
    page("POST", "/staff/login", Anyone),
    page("POST", "/staff/logout", AnyStaff),
    page("GET", "/staff", AnyStaff),
    page("GET", "/staff/password", AnyStaff),
    page("POST", "/staff/password", AnyStaff),
    page("GET", "/staff/accounts", ADMIN),
    page("POST", "/staff/accounts", ADMIN),
    page("POST", "/staff/accounts/{id}/disable", ADMIN),
    page("POST", "/staff/accounts/{id}/enable", ADMIN),
    page("POST", "/staff/accounts/{id}/reset-password", ADMIN),
    page("POST", "/staff/accounts/{id}/roles", ADMIN),
    page("GET", "/staff/api-tokens", ADMIN),
    page("POST", "/staff/api-tokens", ADMIN),
    page("POST", "/staff/api-tokens/{id}/revoke", ADMIN),
    page("GET", "/staff/kiosks", ADMIN),
    page("GET", "/staff/audit", ADMIN),
    page("GET", "/staff/reports/cases.csv", AnyStaff),
    page("GET", "/staff/template", ADMIN),
    page("POST", "/staff/template", ADMIN),
    page("GET", "/staff/notices", ADMIN),
    page("POST", "/staff/notices", ADMIN),
    page("POST", "/staff/notices/{id}/withdraw", ADMIN),
    page("GET", "/staff/cases", CASE_STAFF),
    page("POST", "/staff/cases", INVESTIGATOR),
    page("GET", "/staff/cases/{id}", CASE_STAFF),
    page("POST", "/staff/cases/{id}/exposures", INVESTIGATOR),
    page("POST", "/staff/cases/{id}/exposures/{exposure}/delete", INVESTIGATOR),
    page("POST", "/staff/cases/{id}/history", INVESTIGATOR),
    page("POST", "/staff/cases/{id}/approve", APPROVER),
    page("POST", "/staff/cases/{id}/close", INVESTIGATOR),
    page("POST", "/staff/cases/{id}/resume", APPROVER),
    api("GET", "/api/v1/staff/openapi.json", Anyone),
    api("GET", "/api/v1/staff/me", AnyStaff),
    api("GET", "/api/v1/staff/accounts", ADMIN),
    api("POST", "/api/v1/staff/accounts", ADMIN),
    api("GET", "/api/v1/staff/kiosks", ADMIN),
    api("GET", "/api/v1/staff/audit/verify", ADMIN),
    api("GET", "/api/v1/staff/reports/cases.csv", AnyStaff),
    api("GET", "/api/v1/staff/template", ADMIN),
    api("PUT", "/api/v1/staff/template", ADMIN),
    api("GET", "/api/v1/staff/notices", ADMIN),
    api("POST", "/api/v1/staff/notices", ADMIN),
    api("POST", "/api/v1/staff/notices/{id}/withdraw", ADMIN),
    api("GET", "/api/v1/staff/places", INVESTIGATOR),
    api("GET", "/api/v1/staff/cases", CASE_STAFF),
    api("POST", "/api/v1/staff/cases", INVESTIGATOR),
    api("GET", "/api/v1/staff/cases/{id}", CASE_STAFF),
    api("POST", "/api/v1/staff/cases/{id}/exposures", INVESTIGATOR),
    api("DELETE", "/api/v1/staff/cases/{id}/exposures/{exposure}", INVESTIGATOR),
    api("POST", "/api/v1/staff/cases/{id}/history", INVESTIGATOR),
    api("GET", "/api/v1/staff/cases/{id}/preview", CASE_STAFF),
    api("POST", "/api/v1/staff/cases/{id}/approve", APPROVER),
    api("POST", "/api/v1/staff/cases/{id}/close", INVESTIGATOR),
    api("POST", "/api/v1/staff/cases/{id}/resume", APPROVER),
];

/// The staff routes, behind the guard.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/staff/login", get(session::login_page).post(session::login))
        .route("/staff/logout", post(session::logout))
        .route("/staff", get(session::home))
        .route("/staff/password", get(session::password_page).post(session::change_password))
        .route("/staff/accounts", get(accounts::list_page).post(accounts::create))
        .route("/staff/accounts/{id}/disable", post(accounts::disable))
        .route("/staff/accounts/{id}/enable", post(accounts::enable))
        .route("/staff/accounts/{id}/reset-password", post(accounts::reset_password))
        .route("/staff/accounts/{id}/roles", post(accounts::set_roles))
        .route("/staff/api-tokens", get(accounts::tokens_page).post(accounts::create_token))
        .route("/staff/api-tokens/{id}/revoke", post(accounts::revoke_token))
        .route("/staff/kiosks", get(fleet::page))
        .route("/staff/audit", get(audit::page))
        .route("/api/v1/staff/openapi.json", get(openapi))
        .route("/api/v1/staff/me", get(session::me))
        .route("/api/v1/staff/accounts", get(accounts::list_json).post(accounts::create_json))
        .route("/api/v1/staff/kiosks", get(fleet::json))
        .route("/api/v1/staff/audit/verify", get(audit::verify_json))
        .route("/staff/reports/cases.csv", get(reports::cases_page))
        .route("/staff/template", get(template::page).post(template::update))
        .route("/api/v1/staff/template", get(template::get_json).put(template::put_json))
        .route("/api/v1/staff/reports/cases.csv", get(reports::cases_api))
        .route("/staff/notices", get(notices::page).post(notices::create))
        .route("/staff/notices/{id}/withdraw", post(notices::withdraw))
        .route("/api/v1/staff/notices", get(notices::list_json).post(notices::create_json))
        .route("/api/v1/staff/notices/{id}/withdraw", post(notices::withdraw_json))
        .route("/staff/cases", get(cases::list_page).post(cases::create))
        .route("/staff/cases/{id}", get(cases::case_page))
        .route("/staff/cases/{id}/exposures", post(cases::add_exposure))
        .route("/staff/cases/{id}/exposures/{exposure}/delete", post(cases::remove_exposure))
        .route("/staff/cases/{id}/history", post(cases::import_history))
        .route("/staff/cases/{id}/approve", post(cases::approve))
        .route("/staff/cases/{id}/close", post(cases::close))
        .route("/staff/cases/{id}/resume", post(cases::resume))
        .route("/api/v1/staff/places", get(cases::places_json))
        .route("/api/v1/staff/cases", get(cases::list_json).post(cases::create_json))
        .route("/api/v1/staff/cases/{id}", get(cases::case_json))
        .route("/api/v1/staff/cases/{id}/exposures", post(cases::add_exposure_json))
        .route("/api/v1/staff/cases/{id}/exposures/{exposure}", axum::routing::delete(cases::remove_exposure_json))
        .route("/api/v1/staff/cases/{id}/history", post(cases::import_history_json))
        .route("/api/v1/staff/cases/{id}/preview", get(cases::preview_json))
        .route("/api/v1/staff/cases/{id}/approve", post(cases::approve_json))
        .route("/api/v1/staff/cases/{id}/close", post(cases::close_json))
        .route("/api/v1/staff/cases/{id}/resume", post(cases::resume_json))
        .route_layer(axum::middleware::from_fn_with_state(state, guard))
}

/// The staff API's OpenAPI description (`server/data/openapi.json`; a test keeps it in step
/// with [`ROUTES`]).
pub const OPENAPI: &str = include_str!("../../../data/openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// The signed-in staff member (or API token) a handler acts for.
#[derive(Debug, Clone)]
pub struct StaffUser {
    /// For the audit log.
    pub actor: Actor,
    /// The account's id (the creator's, for an API token).
    pub staff_id: i64,
    /// Login name (for a token: its creator's).
    pub login: StaffLogin,
    /// Display name.
    pub name: StaffName,
    /// The roles it acts with (a token: its one role).
    pub roles: Roles,
    /// The session's CSRF token, for the forms of the page (none for API tokens).
    pub csrf: Option<String>,
    /// The session's hash, for signing out.
    pub session: Option<TokenHash>,
}

impl StaffUser {
    /// The CSRF token to put in forms.
    pub fn csrf(&self) -> &str {
        self.csrf.as_deref().unwrap_or_default()
    }
}

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "oshirase_staff";

/// Checks who is asking against [`ROUTES`], the CSRF token and origin of posted forms, and
/// hands the [`StaffUser`] to the handler.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let Some(route) = ROUTES.iter().find(|r| r.path == path && r.method == request.method().as_str()) else {
        tracing::error!(%path, method = %request.method(), "staff route without a declared access; refused");
        return (StatusCode::INTERNAL_SERVER_ERROR, "route access not declared").into_response();
    };
    let now = OffsetDateTime::now_utc();
    let user = match route.kind {
        Kind::Page => session_user(&state, request.headers(), now).await.map_err(IntoResponse::into_response),
        Kind::Api => token_user(&state, request.headers(), now).await.map_err(IntoResponse::into_response),
    };
    let user = match user {
        Ok(user) => user,
        Err(response) => return response,
    };
    match (route.access, &user) {
        (Access::Anyone, _) => {}
        (_, None) => return unauthenticated(route, request.uri()),
        (Access::AnyStaff, Some(_)) => {}
        (Access::Role(role), Some(u)) if u.roles.has(role) => {}
        (Access::Role(role), Some(u)) => return forbidden(route, role, u),
        (Access::AnyOf(roles), Some(u)) if roles.iter().any(|r| u.roles.has(*r)) => {}
        (Access::AnyOf(roles), Some(u)) => return forbidden(route, roles[0], u),
    }
    let mut request = request;
    if route.kind == Kind::Page && request.method() == Method::POST {
        request = match check_form(&state, request, user.as_ref()).await {
            Ok(request) => request,
            Err(response) => return response,
        };
    }
    if let Some(user) = user {
        request.extensions_mut().insert(user);
    }
    next.run(request).await
}

fn unauthenticated(route: &StaffRoute, uri: &axum::http::Uri) -> Response {
    match route.kind {
        Kind::Page if route.method == "GET" => {
            let next = uri.path_and_query().map_or("/staff", |p| p.as_str());
            Redirect::to(&format!("/staff/login?next={}", urlencode(next))).into_response()
        }
        Kind::Page => Redirect::to("/staff/login").into_response(),
        Kind::Api => ApiError::Unauthorized.into_response(),
    }
}

fn forbidden(route: &StaffRoute, role: Role, user: &StaffUser) -> Response {
    tracing::warn!(login = %user.login, path = route.path, needs = %role, "staff route refused for a missing role");
    match route.kind {
        Kind::Page => PageError::Forbidden.into_response(),
        Kind::Api => ApiError::Forbidden(role.as_str()).into_response(),
    }
}

/// The session named by the cookie, if live.
async fn session_user(state: &AppState, headers: &HeaderMap, now: OffsetDateTime) -> Result<Option<StaffUser>, PageError> {
    let Some(secret) = cookie(headers, SESSION_COOKIE).and_then(|v| StaffSecret::parse(v).ok()) else {
        return Ok(None);
    };
    let hash = secret.hash();
    let Some(session) = state.store.session(hash, now).await? else {
        return Ok(None);
    };
    let account = session.account;
    Ok(Some(StaffUser {
        actor: Actor::Staff(account.login.as_str().to_owned()),
        staff_id: account.id,
        login: account.login,
        name: account.name,
        roles: account.roles,
        csrf: Some(session.csrf_token),
        session: Some(hash),
    }))
}

/// The API token in the `Authorization` header, if usable. A malformed, unknown, revoked or
/// expired token is `401`, as no token is.
async fn token_user(state: &AppState, headers: &HeaderMap, now: OffsetDateTime) -> Result<Option<StaffUser>, ApiError> {
    let Some(secret) = super::bearer_token(headers).and_then(|t| StaffSecret::parse(t).ok()) else {
        return Ok(None);
    };
    let Some(token) = state.store.api_token(secret.hash()).await?.filter(|t| t.usable_at(now)) else {
        return Ok(None);
    };
    let creator = state.store.staff_for_login(StaffLogin::parse(&token.created_by).map_err(|_| ApiError::Unauthorized)?).await?;
    let Some((account, _)) = creator else {
        return Ok(None);
    };
    Ok(Some(StaffUser {
        actor: Actor::Token(token.token_id.clone()),
        staff_id: account.id,
        login: account.login,
        name: account.name,
        roles: Roles::one(token.role),
        csrf: None,
        session: None,
    }))
}

/// A posted console form must come from our own origin and carry the session's CSRF token
/// (the sign-in form, posted before there is a session, only the origin check). The body is
/// read here and put back for the handler.
async fn check_form(state: &AppState, request: Request, user: Option<&StaffUser>) -> Result<Request, Response> {
    if !same_origin(request.headers()) {
        tracing::warn!("staff form posted from another origin; refused");
        return Err(PageError::Forbidden.into_response());
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, state.limits.body_bytes).await.map_err(|_| PageError::PayloadTooLarge.into_response())?;
    if let Some(expected) = user.and_then(|u| u.csrf.as_deref()) {
        let fields = FormFields::parse(&bytes).map_err(IntoResponse::into_response)?;
        let given = fields.get("csrf").unwrap_or_default();
        if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
            tracing::warn!("staff form without a valid CSRF token; refused");
            return Err(PageError::Forbidden.into_response());
        }
    }
    Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
}

/// True when the request has no `Origin` (not a browser form, or an old browser) or its
/// `Origin` names the host the request was sent to. Our pages send `Referrer-Policy:
/// no-referrer`, under which browsers post forms with `Origin: null`; then the browser's own
/// `Sec-Fetch-Site` (which scripts cannot set) must say `same-origin`.
fn same_origin(headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if fetch_site.is_some_and(|site| site == "cross-site" || site == "same-site") {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if origin == "null" {
        return fetch_site == Some("same-origin");
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// A cookie's value from the `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The fields of a posted form, in order; a field may repeat (check boxes).
#[derive(Debug, Clone, Default)]
pub struct FormFields(Vec<(String, String)>);

impl FormFields {
    /// Parses `application/x-www-form-urlencoded` bytes.
    pub fn parse(bytes: &[u8]) -> Result<FormFields, PageError> {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes).map(FormFields).map_err(|_| PageError::BadRequest)
    }

    /// The first value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of a field.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }
}

impl<S: Send + Sync> FromRequest<S> for FormFields {
    type Rejection = PageError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, PageError> {
        let is_form = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(PageError::UnsupportedMediaType);
        }
        let bytes = axum::body::to_bytes(req.into_body(), usize::MAX).await.map_err(|_| PageError::BadRequest)?;
        FormFields::parse(&bytes)
    }
}

/// Percent-encodes a query value.
pub fn urlencode(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)]).map(|s| s[2..].to_owned()).unwrap_or_default()
}

/// Sign-in attempts per client address in a sliding ten-minute window, kept in memory: a
/// guesser trying many accounts from one address is slowed down, on top of the per-account
/// lock kept in the database.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    attempts: Mutex<HashMap<String, Vec<Instant>>>,
}

/// The window of [`LoginLimiter`].
const LOGIN_WINDOW: Duration = Duration::from_secs(600);

impl LoginLimiter {
    /// Counts an attempt from `client`; false when it is over `limit` in the window.
    pub fn allow(&self, client: &str, limit: u32) -> bool {
        let now = Instant::now();
        let mut attempts = self.attempts.lock().unwrap_or_else(PoisonError::into_inner);
        if attempts.len() > 10_000 {
            attempts.retain(|_, times| times.last().is_some_and(|t| now.duration_since(*t) < LOGIN_WINDOW));
        }
        let times = attempts.entry(client.to_owned()).or_default();
        times.retain(|t| now.duration_since(*t) < LOGIN_WINDOW);
        if times.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
            return false;
        }
        times.push(now);
        true
    }
}

/// The client's address: the peer of the TCP connection, or, behind a reverse proxy the
/// settings trust, the last address in `X-Forwarded-For`.
pub fn client_address(request_extensions: &axum::http::Extensions, headers: &HeaderMap, trust_forwarded_for: bool) -> String {
    if trust_forwarded_for
        && let Some(forwarded) = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()).and_then(|v| v.rsplit(',').next())
    {
        return forwarded.trim().to_owned();
    }
    request_extensions.get::<ConnectInfo<SocketAddr>>().map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
}

/// The login limiter, shared by every request.
pub type SharedLimiter = Arc<LoginLimiter>;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    #[test]
    fn every_declared_route_is_unique() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(!(a.method == b.method && a.path == b.path), "{} {} declared twice", a.method, a.path);
            }
        }
    }

    #[test]
    fn the_limiter_counts_per_client() {
        let limiter = LoginLimiter::default();
        assert!((0..3).all(|_| limiter.allow("192.0.2.1", 3)));
        assert!(!limiter.allow("192.0.2.1", 3));
        assert!(limiter.allow("192.0.2.2", 3));
    }

    #[test]
    fn cookies_and_origins_are_read_strictly() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; oshirase_staff=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&headers, "oshirase_staff"), Some("abc"));
        assert_eq!(cookie(&headers, "oshirase"), None);
        headers.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(!same_origin(&headers));
        // A form on one of our no-referrer pages: Origin null, but the browser says same-origin.
        headers.insert(header::ORIGIN, "null".parse().unwrap());
        assert!(!same_origin(&headers), "null without Sec-Fetch-Site");
        headers.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert!(same_origin(&headers));
        headers.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(!same_origin(&headers));
    }
}
