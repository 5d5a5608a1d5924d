//! Public information pages: how it works, FAQ, privacy policy, published cluster notices.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use maud::Markup;

use super::AppState;
use crate::pages;

/// `/how-it-works`, `/faq`, `/privacy`, `/notices`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/how-it-works", get(|| async { pages::info::how_it_works() }))
        .route("/faq", get(|| async { pages::info::faq() }))
        .route("/privacy", get(privacy))
        .route("/notices", get(notices))
}

/// `GET /notices`: the cluster notices the prefecture published (R18).
async fn notices(State(state): State<AppState>) -> Result<axum::response::Response, super::error::PageError> {
    use axum::response::IntoResponse as _;
    let notices = state.store.notices(false).await?;
    Ok(pages::notices::public(&notices).into_response())
}

async fn privacy(State(state): State<AppState>) -> Markup {
    pages::info::privacy(&state.checkin.terms_version, state.retention.visit_days)
}
