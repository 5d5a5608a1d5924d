//! URL → handler. [`app`] builds the whole router from an [`AppState`]; each area has its
//! own file and `router()`:
//!
//! | area | file | paths |
//! |---|---|---|
//! | health and metrics | `health.rs` | `/healthz`, `/readyz`, `/metrics` |
//! | registration pages | `register.rs` | `/`, `/venues/new`, `/venues`, `/venues/bulk…` |
//! | venue management | `manage.rs` | `/manage/{token}…` (posters, withdrawal) |
//! | JSON API | `api.rs` | `/api/v1/…` |
//! | scanned codes | `checkin.rs` | `/c/{code}`, `/C/{code}`, `/k/{token}`, `/K/{token}` |
//! | kiosk pairing | `kiosks.rs` | `/api/v1/kiosks/pair`, `/api/v1/manage/…/kiosks…` |
//! | LINE webhook | `line_webhook.rs` | `/line/webhook` |
//! | public information | `info.rs` | `/how-it-works`, `/faq`, `/privacy`, `/notices` |
//! | staff console and API | `staff/` | `/staff…`, `/api/v1/staff/…` (roles in `staff::ROUTES`) |
//!
//! Who may use what: public pages and scanned codes are open; a venue's pages and API need
//! its management secret; a kiosk's heartbeat its sync token; the webhook LINE's signature;
//! `/metrics` its bearer token when one is set; staff routes the role `staff::ROUTES` names.

pub mod api;
pub mod checkin;
pub mod error;
pub mod extract;
pub mod health;
pub mod info;
pub mod kiosks;
pub mod line_webhook;
pub mod manage;
pub mod passes;
pub mod register;
pub mod scans;
pub mod staff;

use std::sync::Arc;

use axum::Router;
use axum::response::IntoResponse as _;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, header};
use secrecy::SecretString;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::{AlertSettings, CheckinSettings, KioskSettings, LimitSettings, MatchingSettings, PublicBaseUrl, RetentionSettings, StaffSettings};
use crate::line::client::LineClient;
use crate::metrics::Metrics;
use crate::poster::PosterRenderer;
use crate::store::Store;

/// Everything handlers share. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Poster renderer with its font loaded.
    pub posters: PosterRenderer,
    /// Pass card renderer (the same font).
    pub pass_cards: crate::poster::PassCardRenderer,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
    /// The URL residents reach the server at.
    pub base_url: PublicBaseUrl,
    /// Request limits.
    pub limits: LimitSettings,
    /// Bearer token required by `/metrics`, if any.
    pub metrics_token: Option<SecretString>,
    /// Where scanned codes send residents in LINE.
    pub line_links: LineLinks,
    /// The LINE channel, if configured; without it the webhook answers 503.
    pub line_channel: Option<LineChannel>,
    /// Check-in rules.
    pub checkin: CheckinSettings,
    /// How long data is kept (stated on the privacy page, applied by the purge worker).
    pub retention: RetentionSettings,
    /// Kiosk code rules.
    pub kiosk: KioskSettings,
    /// Staff sign-in rules.
    pub staff: StaffSettings,
    /// Sign-in attempts per client address.
    pub login_limiter: staff::SharedLimiter,
    /// Matching rules.
    pub matching: MatchingSettings,
    /// The alert's contact and sending rules.
    pub alerts: AlertSettings,
    /// Wakes the alert sender when a case is approved.
    pub alert_wakeup: Arc<tokio::sync::Notify>,
    /// The pass signing key and rules.
    pub passes: Arc<crate::passes::Passes>,
}

/// LINE's deep links for the official account.
#[derive(Debug, Clone)]
pub struct LineLinks {
    /// Base of `…/R/oaMessage/…` (LINE, or the sandbox).
    pub deep_link_base: PublicBaseUrl,
    /// The account's basic id (`@oshirase`).
    pub basic_id: String,
}

/// A configured Messaging API channel.
#[derive(Debug, Clone)]
pub struct LineChannel {
    /// Verifies webhook signatures.
    pub channel_secret: SecretString,
    /// Sends replies and pushes.
    pub client: LineClient,
}

/// Only our own origin; no scripts at all; inline styles (the one stylesheet).
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The whole application.
pub fn app(state: AppState) -> Router {
    let body_limit = state.limits.body_bytes;
    Router::new()
        .merge(health::router())
        .merge(register::router(state.limits.upload_bytes))
        .merge(manage::router())
        .merge(api::router(state.limits.upload_bytes))
        .merge(checkin::router())
        .merge(line_webhook::router(state.limits.upload_bytes))
        .merge(info::router())
        .merge(kiosks::router())
        .merge(scans::router())
        .merge(passes::router())
        .merge(staff::router(state.clone()))
        .fallback(|uri: axum::http::Uri| async move {
            // JSON clients get JSON, people get a page.
            if uri.path().starts_with("/api/") { error::ApiError::NotFound.into_response() } else { error::PageError::NotFound.into_response() }
        })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&state.metrics), crate::metrics::track))
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::overriding(HeaderName::from_static("x-frame-options"), HeaderValue::from_static("DENY")))
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            // The matched route, never the raw path: paths can hold management secrets.
            let route = req.extensions().get::<axum::extract::MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
            tracing::info_span!("request", method = %req.method(), route)
        }))
        .with_state(state)
}

/// The token of an `Authorization: Bearer <token>` header, if there is one.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
}

/// A time in the JSON API: RFC 3339, UTC.
pub fn timestamp(t: time::OffsetDateTime) -> serde_json::Value {
    t.format(&time::format_description::well_known::Rfc3339).map_or(serde_json::Value::Null, serde_json::Value::String)
}

/// Headers that keep responses holding secrets out of caches.
pub fn no_store() -> [(HeaderName, HeaderValue); 1] {
    [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]
}
