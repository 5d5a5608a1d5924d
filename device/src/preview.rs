//! The screen preview over HTTP: the kiosk's current screen as a PNG, and a page that reloads
//! it every second, so the local demo shows the kiosk in a browser and the LINE sandbox's
//! "phone" can scan it. (On the Pi the same frames go to the framebuffer.)
//!
//! With the simulated camera (`--camera-dir`) the preview is also the camera's view: `POST
//! /camera` with a PNG body puts that image in front of the camera as its next frame, and the
//! page has a form to upload one and a "このカードを見せる" button for each PNG of the camera
//! folder. With the simulated feedback pins it has the help button too. `GET /state` says
//! what the kiosk shows and what became of the last pass, for scripts and tests.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::json;
use time::{OffsetDateTime, UtcOffset};
use tokio::sync::mpsc;

use crate::camera::recorded::{RecordedFrames, png_to_frame};
use crate::camera::simulated::{FrameInjector, InjectError};
use crate::feedback::{HelpPressed, Outcome};
use crate::panel::{Panel, Shared};
use crate::protocol::DisplayState;
use crate::screen::{Fonts, PngFrame, Screen, draw};

/// Preview frame size: the common 800×480 Pi touch screen.
pub const PREVIEW_SIZE: (u32, u32) = (800, 480);

/// The largest image `POST /camera` takes.
pub const MAX_FRAME_BYTES: usize = 5 * 1024 * 1024;

/// What the unpaired screen tells the venue to run.
const HOW_TO_PAIR: &str = "oshirase-kiosk pair --server URL --code CODE";

/// The screen to draw for a display state, with `pending_scans` unsent scans on the code
/// screens. `how_to_pair` is shown on the unpaired screen.
pub fn screen_for(display: &DisplayState, pending_scans: u32, how_to_pair: &str) -> Screen {
    match display {
        DisplayState::Code { venue_name, checkin_url, seconds_to_next, offline_since_ms: None } => {
            Screen::Idle { venue_name: venue_name.clone(), checkin_url: checkin_url.clone(), seconds_to_next: *seconds_to_next, pending_scans }
        }
        DisplayState::Code { venue_name, checkin_url, seconds_to_next, offline_since_ms: Some(since) } => Screen::Offline {
            since: format!("{}から", hh_mm_jst(*since)),
            checkin_url: Some(checkin_url.clone()),
            venue_name: venue_name.clone(),
            seconds_to_next: *seconds_to_next,
            pending_scans,
        },
        DisplayState::Unpaired => Screen::Unpaired { how_to: how_to_pair.to_owned() },
        DisplayState::ClockUntrusted => Screen::ClockUntrusted,
        DisplayState::Disabled => Screen::Disabled,
    }
}

/// `HH:MM` in Japan time for Unix milliseconds.
pub fn hh_mm_jst(ms: i64) -> String {
    let jst = UtcOffset::from_hms(9, 0, 0).unwrap_or(UtcOffset::UTC);
    match OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) {
        Ok(t) => {
            let t = t.to_offset(jst);
            format!("{:02}:{:02}", t.hour(), t.minute())
        }
        Err(_) => "--:--".to_owned(),
    }
}

/// Renders the panel's screen as a PNG.
pub fn render_png(panel: &Panel, fonts: &Fonts) -> Vec<u8> {
    let mut frame = PngFrame::new(PREVIEW_SIZE.0, PREVIEW_SIZE.1);
    // Drawing into memory cannot fail.
    let _ = draw(&panel.screen(HOW_TO_PAIR), fonts, &mut frame);
    frame.to_png()
}

/// The kiosk's camera, as the preview sees it.
#[derive(Debug, Clone, Default)]
pub enum CameraAccess {
    /// No camera: `POST /camera` answers 404.
    #[default]
    None,
    /// A real camera: `POST /camera` answers 409.
    Real,
    /// The simulated camera: `POST /camera` shows it a frame.
    Simulated {
        /// Hands it frames.
        injector: FrameInjector,
        /// The folder whose PNGs the page offers ("このカードを見せる").
        dir: Option<PathBuf>,
    },
}

impl CameraAccess {
    fn name(&self) -> &'static str {
        match self {
            CameraAccess::None => "none",
            CameraAccess::Real => "real",
            CameraAccess::Simulated { .. } => "simulated",
        }
    }
}

/// What the preview may do besides showing the screen.
#[derive(Debug, Clone, Default)]
pub struct PreviewOptions {
    /// The camera.
    pub camera: CameraAccess,
    /// The simulated help button (`POST /help`), when the feedback pins are simulated.
    pub help_button: Option<mpsc::Sender<HelpPressed>>,
}

#[derive(Clone)]
struct PreviewState {
    shared: Shared,
    fonts: Arc<Fonts>,
    /// One render at a time: browsers polling the preview cannot pile up render threads (and
    /// glibc's per-thread memory pools) on a small Pi.
    rendering: Arc<tokio::sync::Semaphore>,
    options: PreviewOptions,
}

/// `GET /` (a page that reloads the frame, with the simulated camera's form), `GET
/// /screen.png`, `GET /state` (JSON for scripts and tests), and for the simulated camera
/// `POST /camera` (a PNG body: 202), `POST /camera/upload` (the page's form),
/// `POST /camera/pick` (a PNG of the camera folder), `GET /camera/frames/{name}`, and
/// `POST /help` for the simulated help button.
///
/// `/state`: `{"screen": "code" | "unpaired" | "clock_untrusted" | "disabled", "offline":
/// bool, "overlay": null | "scan_accepted" | "scan_refused" | "storage_full" | "help",
/// "pending_scans": n, "accepted_scans": n, "last_scan": null | {"outcome": "accepted" |
/// "refused" | "not_recorded" | "not_checked", "reason": null | "forged" | …}, "feedback":
/// null | "accepted" | "refused" | "storage_full" | "error", "camera": "none" | "real" |
/// "simulated"}`.
pub fn router(shared: Shared, fonts: Arc<Fonts>, options: PreviewOptions) -> Router {
    let camera = Router::new()
        .route("/camera", post(camera_frame))
        .route("/camera/upload", post(camera_upload))
        .route("/camera/pick", post(camera_pick))
        .layer(DefaultBodyLimit::max(MAX_FRAME_BYTES));
    Router::new()
        .route("/", get(page))
        .route("/screen.png", get(png))
        .route("/state", get(state_json))
        .route("/camera/frames/{name}", get(camera_card))
        .route("/help", post(help))
        .merge(camera)
        .with_state(PreviewState { shared, fonts, rendering: Arc::new(tokio::sync::Semaphore::new(1)), options })
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

/// The name of a screen shown over the code.
fn overlay_name(screen: &Screen) -> &'static str {
    match screen {
        Screen::ScanAccepted { .. } => "scan_accepted",
        Screen::ScanRefused { .. } => "scan_refused",
        Screen::StorageFull => "storage_full",
        Screen::Help => "help",
        _ => "other",
    }
}

/// The name of a feedback outcome.
fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Accepted => "accepted",
        Outcome::Refused => "refused",
        Outcome::StorageFull => "storage_full",
        Outcome::Error => "error",
    }
}

async fn state_json(State(state): State<PreviewState>) -> Response {
    let panel = state.shared.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let offline = matches!(panel.display, DisplayState::Code { offline_since_ms: Some(_), .. });
    let body = json!({
        "screen": display_name(&panel.display),
        "offline": offline,
        "overlay": panel.overlay.as_ref().map(overlay_name),
        "pending_scans": panel.pending_scans,
        "accepted_scans": panel.accepted_scans,
        "last_scan": panel.last_scan.map(|scan| json!({"outcome": scan.name(), "reason": scan.reason()})),
        "feedback": panel.feedback.map(outcome_name),
        "camera": state.options.camera.name(),
    });
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}

async fn page(State(state): State<PreviewState>) -> Response {
    let cards = match &state.options.camera {
        CameraAccess::Simulated { dir: Some(dir), .. } => {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || camera_cards(&dir)).await.unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let simulated = matches!(state.options.camera, CameraAccess::Simulated { .. });
    let html = page_html(simulated, &cards, state.options.help_button.is_some());
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

fn page_html(simulated: bool, cards: &[String], help_button: bool) -> String {
    let mut html = String::from(concat!(
        "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\">",
        "<noscript><meta http-equiv=\"refresh\" content=\"1\"></noscript>",
        "<title>キオスクの画面 | oshirase</title><style>",
        "body{margin:0;background:#222;color:#eee;font-family:sans-serif;display:flex;flex-direction:column;align-items:center;gap:16px;padding:16px}",
        "img.screen{max-width:100%;height:auto;box-shadow:0 0 24px #000}section{background:#333;padding:12px 16px;border-radius:8px;max-width:800px;width:100%;box-sizing:border-box}",
        "h2{font-size:1rem;margin:0 0 8px}ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:12px}li{display:flex;flex-direction:column;align-items:center;gap:4px}",
        "li img{width:120px;height:120px;object-fit:contain;background:#fff}small{color:#aaa}</style></head><body>",
        "<img class=\"screen\" id=\"screen\" src=\"/screen.png\" alt=\"キオスクの画面 / kiosk screen\" width=\"800\" height=\"480\">",
    ));
    if simulated {
        html.push_str(concat!(
            "<section><h2>カメラに見せる（模擬カメラ）<br><small>Show to the camera (simulated)</small></h2>",
            "<form method=\"post\" action=\"/camera/upload\" enctype=\"multipart/form-data\">",
            "<input type=\"file\" name=\"frame\" accept=\"image/png\" required> ",
            "<button>この画像を見せる / Show this image</button></form>",
        ));
        if !cards.is_empty() {
            html.push_str("<ul>");
            for card in cards {
                let name = escape(card);
                html.push_str(&format!(
                    "<li><img src=\"/camera/frames/{name}\" alt=\"{name}\"><small>{name}</small><form method=\"post\" action=\"/camera/pick\"><input type=\"hidden\" name=\"file\" value=\"{name}\"><button>このカードを見せる<br><small>Show this card</small></button></form></li>"
                ));
            }
            html.push_str("</ul>");
        }
        html.push_str("</section>");
    }
    if help_button {
        html.push_str("<section><form method=\"post\" action=\"/help\"><button>ヘルプボタンを押す / Press the help button</button></form></section>");
    }
    html.push_str("<script>setInterval(function(){document.getElementById('screen').src='/screen.png?t='+Date.now()},1000)</script></body></html>");
    html
}

/// The PNG files of the camera folder, by name.
fn camera_cards(dir: &Path) -> Vec<String> {
    RecordedFrames::open(dir)
        .map(|frames| frames.paths().iter().filter_map(|p| p.file_name()?.to_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

async fn png(State(state): State<PreviewState>) -> Response {
    let Ok(_permit) = state.rendering.acquire().await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let panel = state.shared.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let fonts = Arc::clone(&state.fonts);
    let bytes = tokio::task::spawn_blocking(move || render_png(&panel, &fonts)).await.unwrap_or_default();
    ([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], bytes).into_response()
}

/// Why an image was not shown to the camera: a status and a message, Japanese first.
type Refusal = (StatusCode, &'static str);

/// `POST /camera`: the body is a PNG to show the camera.
async fn camera_frame(State(state): State<PreviewState>, body: Bytes) -> Response {
    match show_to_camera(&state, body).await {
        Ok(()) => (StatusCode::ACCEPTED, "カメラに見せました / shown to the camera\n").into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

/// `POST /camera/upload`: the page's form, the PNG in the `frame` field.
async fn camera_upload(State(state): State<PreviewState>, mut form: Multipart) -> Response {
    let mut image = None;
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("frame") {
            image = field.bytes().await.ok();
            break;
        }
    }
    let Some(image) = image else {
        return (StatusCode::BAD_REQUEST, "画像がありません / no image in the form\n").into_response();
    };
    match show_to_camera(&state, image).await {
        Ok(()) => Redirect::to("/").into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

#[derive(serde::Deserialize)]
struct Pick {
    file: String,
}

/// `POST /camera/pick`: shows the camera folder's PNG named `file`.
async fn camera_pick(State(state): State<PreviewState>, axum::Form(pick): axum::Form<Pick>) -> Response {
    let image = match card_bytes(&state, &pick.file).await {
        Ok(image) => image,
        Err(refusal) => return refusal.into_response(),
    };
    match show_to_camera(&state, image.into()).await {
        Ok(()) => Redirect::to("/").into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

/// `GET /camera/frames/{name}`: a PNG of the camera folder (the page's thumbnails).
async fn camera_card(State(state): State<PreviewState>, UrlPath(name): UrlPath<String>) -> Response {
    match card_bytes(&state, &name).await {
        Ok(image) => ([(header::CONTENT_TYPE, "image/png")], image).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

/// The bytes of the camera folder's PNG named `name` (only a name the folder lists).
async fn card_bytes(state: &PreviewState, name: &str) -> Result<Vec<u8>, Refusal> {
    let CameraAccess::Simulated { dir: Some(dir), .. } = &state.options.camera else {
        return Err((StatusCode::NOT_FOUND, "カメラのフォルダがありません / no camera folder (start the kiosk with --camera-dir)\n"));
    };
    let dir = dir.clone();
    let listed = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || camera_cards(&dir)
    })
    .await
    .unwrap_or_default();
    if !listed.iter().any(|card| card == name) {
        return Err((StatusCode::NOT_FOUND, "そのカードはありません / no such card in the camera folder\n"));
    }
    tokio::fs::read(dir.join(name)).await.map_err(|_| (StatusCode::NOT_FOUND, "そのカードを読めません / the card cannot be read\n"))
}

/// Checks that `image` is a PNG and puts it in front of the simulated camera.
async fn show_to_camera(state: &PreviewState, image: Bytes) -> Result<(), Refusal> {
    let injector = match &state.options.camera {
        CameraAccess::Simulated { injector, .. } => injector.clone(),
        CameraAccess::Real => return Err((StatusCode::CONFLICT, "このキオスクには本物のカメラがあります / this kiosk has a real camera\n")),
        CameraAccess::None => return Err((StatusCode::NOT_FOUND, "このキオスクには模擬カメラがありません / no simulated camera (start the kiosk with --camera-dir)\n")),
    };
    const NOT_PNG: Refusal = (StatusCode::BAD_REQUEST, "PNG画像ではありません / the body is not a PNG image\n");
    if !image.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(NOT_PNG);
    }
    let frame = tokio::task::spawn_blocking(move || png_to_frame(&image)).await.map_err(|_| NOT_PNG)?.map_err(|_| NOT_PNG)?;
    injector.show(frame).map_err(|e| match e {
        InjectError::Busy => (StatusCode::SERVICE_UNAVAILABLE, "カメラが混んでいます。少し待ってください / the camera is busy; try again in a moment\n"),
        InjectError::Stopped => (StatusCode::SERVICE_UNAVAILABLE, "カメラが止まっています / the camera has stopped\n"),
    })
}

/// `POST /help`: the simulated help button.
async fn help(State(state): State<PreviewState>) -> Response {
    let Some(button) = &state.options.help_button else {
        return (StatusCode::NOT_FOUND, "このキオスクのヘルプボタンは本物です / this kiosk's help button is a real one\n").into_response();
    };
    // A full queue already holds a press the run loop has not seen.
    let _ = button.try_send(HelpPressed);
    Redirect::to("/").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_codes_keep_their_code_and_say_since_when_in_japan_time() {
        let display = DisplayState::Code { venue_name: "市民ホール".into(), checkin_url: "HTTPS://X/K/Y".into(), seconds_to_next: 5, offline_since_ms: Some(1_764_097_200_000) };
        let Screen::Offline { since, checkin_url, pending_scans, .. } = screen_for(&display, 3, "") else { panic!("offline") };
        assert_eq!(since, "04:00から");
        assert_eq!(checkin_url.as_deref(), Some("HTTPS://X/K/Y"));
        assert_eq!(pending_scans, 3);
        assert_eq!(screen_for(&DisplayState::Disabled, 0, ""), Screen::Disabled);
    }
}
