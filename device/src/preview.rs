//! The screen preview over HTTP: the kiosk's current screen as a PNG, and a page that reloads
//! it every second, so the local demo shows the kiosk in a browser and the LINE sandbox's
//! "phone" can scan it. (On the Pi the same frames go to the framebuffer.)

use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use time::{OffsetDateTime, UtcOffset};

use crate::protocol::DisplayState;
use crate::screen::{Fonts, PngFrame, Screen, draw};

/// Preview frame size: the common 800×480 Pi touch screen.
pub const PREVIEW_SIZE: (u32, u32) = (800, 480);

/// What the preview shows; the run loop keeps it current.
pub type Shared = Arc<Mutex<DisplayState>>;

/// The screen to draw for a display state. `how_to_pair` is shown on the unpaired screen.
pub fn screen_for(display: &DisplayState, how_to_pair: &str) -> Screen {
    match display {
        DisplayState::Code { venue_name, checkin_url, seconds_to_next, offline_since_ms: None } => {
            Screen::Idle { venue_name: venue_name.clone(), checkin_url: checkin_url.clone(), seconds_to_next: *seconds_to_next, pending_scans: 0 }
        }
        DisplayState::Code { venue_name, checkin_url, seconds_to_next, offline_since_ms: Some(since) } => Screen::Offline {
            since: format!("{}から", hh_mm_jst(*since)),
            checkin_url: Some(checkin_url.clone()),
            venue_name: venue_name.clone(),
            seconds_to_next: *seconds_to_next,
            pending_scans: 0,
        },
        DisplayState::Unpaired => Screen::Unpaired { how_to: how_to_pair.to_owned() },
        DisplayState::ClockUntrusted => Screen::ClockUntrusted,
        DisplayState::Disabled => Screen::Disabled,
    }
}

/// `HH:MM` in Japan time for Unix milliseconds.
fn hh_mm_jst(ms: i64) -> String {
    let jst = UtcOffset::from_hms(9, 0, 0).unwrap_or(UtcOffset::UTC);
    match OffsetDateTime::from_unix_timestamp(ms / 1000) {
        Ok(t) => {
            let t = t.to_offset(jst);
            format!("{:02}:{:02}", t.hour(), t.minute())
        }
        Err(_) => "--:--".to_owned(),
    }
}

/// Renders the current screen as a PNG.
pub fn render_png(display: &DisplayState, fonts: &Fonts) -> Vec<u8> {
    let mut frame = PngFrame::new(PREVIEW_SIZE.0, PREVIEW_SIZE.1);
    let screen = screen_for(display, "oshirase-kiosk pair --server URL --code CODE");
    // Drawing into memory cannot fail.
    let _ = draw(&screen, fonts, &mut frame);
    frame.to_png()
}

#[derive(Clone)]
struct PreviewState {
    shared: Shared,
    fonts: Arc<Fonts>,
    /// One render at a time: browsers polling the preview cannot pile up render threads (and
    /// glibc's per-thread memory pools) on a small Pi.
    rendering: Arc<tokio::sync::Semaphore>,
}

/// `GET /` (a page that reloads the frame), `GET /screen.png` and `GET /state` (which screen,
/// as JSON, for scripts and tests: `{"screen": "code", "offline": false}`).
pub fn router(shared: Shared, fonts: Arc<Fonts>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/screen.png", get(png))
        .route("/state", get(state_json))
        .with_state(PreviewState { shared, fonts, rendering: Arc::new(tokio::sync::Semaphore::new(1)) })
}

/// The name of a display state: `code`, `unpaired`, `clock_untrusted` or `disabled`.
pub fn display_name(display: &DisplayState) -> &'static str {
    match display {
        DisplayState::Code { .. } => "code",
        DisplayState::Unpaired => "unpaired",
        DisplayState::ClockUntrusted => "clock_untrusted",
        DisplayState::Disabled => "disabled",
    }
}

async fn state_json(State(state): State<PreviewState>) -> Response {
    let display = state.shared.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let offline = matches!(display, DisplayState::Code { offline_since_ms: Some(_), .. });
    let body = serde_json::json!({ "screen": display_name(&display), "offline": offline });
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}

async fn page() -> Html<&'static str> {
    Html(concat!(
        "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"1\">",
        "<title>キオスクの画面 | oshirase</title><style>body{margin:0;background:#222;display:flex;justify-content:center;align-items:center;min-height:100vh}",
        "img{max-width:100%;height:auto;box-shadow:0 0 24px #000}</style></head>",
        "<body><img src=\"/screen.png\" alt=\"キオスクの画面 / kiosk screen\" width=\"800\" height=\"480\"></body></html>"
    ))
}

async fn png(State(state): State<PreviewState>) -> Response {
    let Ok(_permit) = state.rendering.acquire().await else {
        return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let display = state.shared.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let fonts = Arc::clone(&state.fonts);
    let bytes = tokio::task::spawn_blocking(move || render_png(&display, &fonts)).await.unwrap_or_default();
    ([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], bytes).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_codes_keep_their_code_and_say_since_when_in_japan_time() {
        let display = DisplayState::Code { venue_name: "市民ホール".into(), checkin_url: "HTTPS://X/K/Y".into(), seconds_to_next: 5, offline_since_ms: Some(1_764_097_200_000) };
        let Screen::Offline { since, checkin_url, .. } = screen_for(&display, "") else { panic!("offline") };
        assert_eq!(since, "04:00から");
        assert_eq!(checkin_url.as_deref(), Some("HTTPS://X/K/Y"));
        assert_eq!(screen_for(&DisplayState::Disabled, ""), Screen::Disabled);
    }
}
