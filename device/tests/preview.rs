//! The preview over real HTTP: `/state` says what the kiosk shows and what became of the last
//! pass; with the simulated camera, `POST /camera` and the page's buttons put an image in
//! front of the camera; the simulated help button; a kiosk with a real camera or none says so.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use oshirase_device::camera::degrade::{Symbol, printed};
use oshirase_device::camera::simulated::SimulatedCamera;
use oshirase_device::camera::{FrameSource, GrayFrame};
use oshirase_device::feedback::{HelpPressed, Outcome};
use oshirase_device::panel::{Panel, Shared};
use oshirase_device::preview::{CameraAccess, MAX_FRAME_BYTES, PreviewOptions, router};
use oshirase_device::protocol::DisplayState;
use oshirase_device::screen::{DEFAULT_FONT_PATH, Fonts, RefusalReason, Screen};
use oshirase_device::station::ScanOutcome;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::mpsc;

fn fonts() -> Arc<Fonts> {
    static FONTS: OnceLock<Arc<Fonts>> = OnceLock::new();
    Arc::clone(FONTS.get_or_init(|| Arc::new(Fonts::load(DEFAULT_FONT_PATH).unwrap())))
}

/// Serves the preview on a free port; its base URL.
async fn serve(shared: Shared, options: PreviewOptions) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(shared, fonts(), options)).await.unwrap() });
    base
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn code_display() -> DisplayState {
    DisplayState::Code { venue_name: "市民ホール".into(), checkin_url: "HTTPS://X/K/Y".into(), seconds_to_next: 5, offline_since_ms: None }
}

async fn state(base: &str) -> Value {
    http().get(format!("{base}/state")).send().await.unwrap().json().await.unwrap()
}

/// The next frame the camera sees, read on a blocking thread.
async fn next_frame(camera: SimulatedCamera) -> (SimulatedCamera, GrayFrame) {
    tokio::task::spawn_blocking(move || {
        let mut camera = camera;
        let frame = camera.next_frame().unwrap().unwrap();
        (camera, frame)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_state_says_what_is_shown_and_what_became_of_the_last_pass() {
    let shared = Panel::shared(code_display());
    let base = serve(Arc::clone(&shared), PreviewOptions::default()).await;
    let first = state(&base).await;
    assert_eq!(
        first,
        serde_json::json!({"screen": "code", "offline": false, "overlay": null, "pending_scans": 0, "accepted_scans": 0,
            "last_scan": null, "feedback": null, "camera": "none"})
    );
    {
        let mut panel = shared.lock().unwrap();
        panel.overlay = Some(Screen::ScanRefused { reason: RefusalReason::Expired });
        panel.pending_scans = 4;
        panel.accepted_scans = 4;
        panel.last_scan = Some(ScanOutcome::Refused(RefusalReason::Expired));
        panel.feedback = Some(Outcome::Refused);
    }
    let after = state(&base).await;
    assert_eq!((&after["overlay"], &after["pending_scans"], &after["accepted_scans"]), (&"scan_refused".into(), &4.into(), &4.into()));
    assert_eq!(after["last_scan"], serde_json::json!({"outcome": "refused", "reason": "expired"}));
    assert_eq!(after["feedback"], "refused");
    let png = http().get(format!("{base}/screen.png")).send().await.unwrap().bytes().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "the overlay is drawn");
}

#[tokio::test]
async fn a_png_posted_to_the_simulated_camera_is_its_next_frame_and_anything_else_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let card = printed(&Symbol::encode("HELLO").unwrap(), 4);
    std::fs::write(dir.path().join("pass-ok.png"), card.to_png()).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a card").unwrap();
    let (camera, injector) = SimulatedCamera::new(None, Duration::ZERO);
    let options = PreviewOptions { camera: CameraAccess::Simulated { injector, dir: Some(dir.path().to_owned()) }, help_button: None };
    let base = serve(Panel::shared(code_display()), options).await;
    let post = |path: &str, body: Vec<u8>| http().post(format!("{base}{path}")).body(body).send();

    let shown = GrayFrame::uniform(3, 2, 42).unwrap();
    assert_eq!(post("/camera", shown.to_png()).await.unwrap().status(), StatusCode::ACCEPTED);
    let (camera, seen) = next_frame(camera).await;
    assert_eq!(seen, shown);
    assert_eq!(post("/camera", b"GIF89a not a png".to_vec()).await.unwrap().status(), StatusCode::BAD_REQUEST);
    assert_eq!(post("/camera", b"\x89PNG\r\n\x1a\n but broken".to_vec()).await.unwrap().status(), StatusCode::BAD_REQUEST);
    assert_eq!(post("/camera", vec![0; MAX_FRAME_BYTES + 1]).await.unwrap().status(), StatusCode::PAYLOAD_TOO_LARGE);

    let page = http().get(format!("{base}/")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("このカードを見せる") && page.contains("value=\"pass-ok.png\"") && !page.contains("notes.txt"), "{page}");
    assert!(page.contains("<html lang=\"ja\">") && page.contains("enctype=\"multipart/form-data\""));
    assert_eq!(http().get(format!("{base}/camera/frames/pass-ok.png")).send().await.unwrap().bytes().await.unwrap(), card.to_png());

    let pick = |file: &str| http().post(format!("{base}/camera/pick")).form(&[("file", file)]).send();
    assert_eq!(pick("pass-ok.png").await.unwrap().status(), StatusCode::SEE_OTHER);
    let (camera, seen) = next_frame(camera).await;
    assert_eq!(seen, card);
    assert_eq!(pick("../pass-ok.png").await.unwrap().status(), StatusCode::NOT_FOUND, "only the folder's own PNGs");
    assert_eq!(pick("notes.txt").await.unwrap().status(), StatusCode::NOT_FOUND);

    let form = reqwest::multipart::Form::new().part("frame", reqwest::multipart::Part::bytes(shown.to_png()).file_name("photo.png"));
    let uploaded = http().post(format!("{base}/camera/upload")).multipart(form).send().await.unwrap();
    assert_eq!(uploaded.status(), StatusCode::SEE_OTHER);
    let (_camera, seen) = next_frame(camera).await;
    assert_eq!(seen, shown);
    assert_eq!(state(&base).await["camera"], "simulated");
}

#[tokio::test]
async fn a_kiosk_with_a_real_camera_or_none_refuses_frames_and_a_real_help_button_cannot_be_pressed_here() {
    let png = GrayFrame::uniform(2, 2, 0).unwrap().to_png();
    for (camera, status) in [(CameraAccess::Real, StatusCode::CONFLICT), (CameraAccess::None, StatusCode::NOT_FOUND)] {
        let base = serve(Panel::shared(code_display()), PreviewOptions { camera, help_button: None }).await;
        let answer = http().post(format!("{base}/camera")).body(png.clone()).send().await.unwrap();
        assert_eq!(answer.status(), status);
        let page = http().get(format!("{base}/")).send().await.unwrap().text().await.unwrap();
        assert!(!page.contains("/camera/upload") && !page.contains("/help"), "no simulated controls: {page}");
        assert_eq!(http().post(format!("{base}/help")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn the_simulated_help_button_is_pressed_from_the_page() {
    let (button, mut presses) = mpsc::channel(4);
    let base = serve(Panel::shared(code_display()), PreviewOptions { camera: CameraAccess::None, help_button: Some(button) }).await;
    assert!(http().get(format!("{base}/")).send().await.unwrap().text().await.unwrap().contains("ヘルプボタンを押す"));
    assert_eq!(http().post(format!("{base}/help")).send().await.unwrap().status(), StatusCode::SEE_OTHER);
    assert_eq!(presses.recv().await, Some(HelpPressed));
}
