//! Public information pages: how it works, FAQ, privacy policy.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use maud::Markup;

use super::AppState;
use crate::pages;

/// `/how-it-works`, `/faq`, `/privacy`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/how-it-works", get(|| async { pages::info::how_it_works() }))
        .route("/faq", get(|| async { pages::info::faq() }))
        .route("/privacy", get(privacy))
}

async fn privacy(State(state): State<AppState>) -> Markup {
    pages::info::privacy(&state.checkin.terms_version, state.retention.visit_days)
}
