//! The kiosk's screens, rendered to PNG and compared pixel for pixel with the golden images in
//! `tests/golden/`, plus checks that the code on screen reads back — also through a
//! camera-like blur — to the exact URL.
//!
//! To accept a deliberate change of look, run with `OSHIRASE_UPDATE_GOLDEN=1` (it rewrites
//! the golden images), then look at them before committing.

// Tests fail by panicking, so unwrapping is how they report an unexpected error.
#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::OnceLock;

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::{DrawTarget, OriginDimensions, Pixel, Point, Size};
use embedded_graphics::primitives::Rectangle;
use oshirase_device::screen::{DEFAULT_FONT_PATH, Fonts, PngFrame, RefusalReason, Screen, draw};

/// A realistic check-in URL (version 3 at level M): the first vector of `docs/protocol.md`.
const URL: &str = "HTTPS://OSHIRASE.EXAMPLE.JP/K/KX7PQ2M901R2DW0A70PJXV6XG";
const VENUE: &str = "市民体育館 メインアリーナ";
/// The screen sizes the kiosk is designed for.
const SIZES: [(u32, u32); 3] = [(800, 480), (1024, 600), (1920, 1080)];

fn fonts() -> &'static Fonts {
    static FONTS: OnceLock<Fonts> = OnceLock::new();
    FONTS.get_or_init(|| {
        Fonts::load(DEFAULT_FONT_PATH).unwrap_or_else(|error| {
            panic!(
                "{error}\nThe screen tests need the IPAex Gothic font: run the project's test \
                 script (scripts/test), which installs fonts-ipaexfont-gothic."
            )
        })
    })
}

fn render(screen: &Screen, (width, height): (u32, u32)) -> PngFrame {
    let mut frame = PngFrame::new(width, height);
    let Ok(()) = draw(screen, fonts(), &mut frame);
    frame
}

fn idle(venue_name: &str) -> Screen {
    Screen::Idle {
        venue_name: venue_name.to_owned(),
        checkin_url: URL.to_owned(),
        seconds_to_next: 12,
        pending_scans: 0,
    }
}

fn offline(checkin_url: Option<&str>) -> Screen {
    Screen::Offline {
        since: "18:20から".to_owned(),
        checkin_url: checkin_url.map(str::to_owned),
        venue_name: VENUE.to_owned(),
        seconds_to_next: 12,
        pending_scans: 0,
    }
}

/// `screen` (Idle or Offline) with `count` pass scans waiting to be sent.
fn with_pending(mut screen: Screen, count: u32) -> Screen {
    if let Screen::Idle { pending_scans, .. } | Screen::Offline { pending_scans, .. } = &mut screen
    {
        *pending_scans = count;
    }
    screen
}

/// A pass label far longer than anyone would choose: it shrinks, then ends in "…".
const LONG_LABEL: &str = "おばあちゃん（さいたま市の実家）いつもの水曜日のデイサービス用";

fn accepted(label: Option<&str>) -> Screen {
    Screen::ScanAccepted {
        label: label.map(str::to_owned),
        time: "14:05".to_owned(),
    }
}

const REASONS: [(RefusalReason, &str); 4] = [
    (RefusalReason::Forged, "forged"),
    (RefusalReason::Expired, "expired"),
    (RefusalReason::Revoked, "revoked"),
    (RefusalReason::Unreadable, "unreadable"),
];

/// Every screen the kiosk can show, with a name, in its widest realistic form.
fn every_screen() -> Vec<(String, Screen)> {
    let longest = "埼玉県さいたま市浦和区高砂三丁目 株式会社サンプル商事 本社ビル 1階 \
                   エントランスホール受付前 特設イベント会場Aブロック 臨時受付カウ";
    let mut screens = vec![
        ("idle".to_owned(), idle(VENUE)),
        ("idle-long-name".to_owned(), idle(longest)),
        (
            "idle-pending".to_owned(),
            with_pending(idle(longest), 123_456),
        ),
        ("offline".to_owned(), offline(Some(URL))),
        (
            "offline-pending".to_owned(),
            with_pending(offline(Some(URL)), 123_456),
        ),
        ("offline-no-code".to_owned(), offline(None)),
        (
            "offline-no-code-pending".to_owned(),
            with_pending(offline(None), 123_456),
        ),
        (
            "unpaired".to_owned(),
            Screen::Unpaired {
                how_to: "oshirase-kiosk pair --server URL --code CODE".to_owned(),
            },
        ),
        ("clock-untrusted".to_owned(), Screen::ClockUntrusted),
        ("disabled".to_owned(), Screen::Disabled),
        ("scan-accepted".to_owned(), accepted(Some("こども1"))),
        ("scan-accepted-no-label".to_owned(), accepted(None)),
        (
            "scan-accepted-long-label".to_owned(),
            accepted(Some(LONG_LABEL)),
        ),
        ("help".to_owned(), Screen::Help),
        ("storage-full".to_owned(), Screen::StorageFull),
    ];
    for (reason, name) in REASONS {
        screens.push((
            format!("scan-refused-{name}"),
            Screen::ScanRefused { reason },
        ));
    }
    screens
}

/// A frame that also notes where each run of pixels went: every `draw_iter` call (one line
/// of text, one mark) as the box around its pixels, and anything drawn outside the frame.
/// Backgrounds (`fill_solid`) are only checked for staying inside.
struct InkRecorder {
    frame: PngFrame,
    inks: Vec<Rectangle>,
    outside: usize,
}

impl InkRecorder {
    fn new((width, height): (u32, u32)) -> InkRecorder {
        InkRecorder {
            frame: PngFrame::new(width, height),
            inks: Vec::new(),
            outside: 0,
        }
    }

    fn frame_box(&self) -> Rectangle {
        Rectangle::new(Point::zero(), self.frame.size())
    }
}

impl OriginDimensions for InkRecorder {
    fn size(&self) -> Size {
        self.frame.size()
    }
}

impl DrawTarget for InkRecorder {
    type Color = Rgb888;
    type Error = Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Infallible>
    where
        I: IntoIterator<Item = Pixel<Rgb888>>,
    {
        let pixels: Vec<Pixel<Rgb888>> = pixels.into_iter().collect();
        let frame = self.frame_box();
        self.outside += pixels.iter().filter(|p| !frame.contains(p.0)).count();
        if let Some(first) = pixels.first() {
            let (mut min, mut max) = (first.0, first.0);
            for Pixel(p, _) in &pixels {
                min = Point::new(min.x.min(p.x), min.y.min(p.y));
                max = Point::new(max.x.max(p.x), max.y.max(p.y));
            }
            self.inks.push(Rectangle::with_corners(min, max));
        }
        self.frame.draw_iter(pixels)
    }

    fn fill_solid(&mut self, area: &Rectangle, color: Rgb888) -> Result<(), Infallible> {
        let inside = self.frame_box().intersection(area);
        self.outside +=
            (area.size.width * area.size.height - inside.size.width * inside.size.height) as usize;
        self.frame.fill_solid(area, color)
    }
}

/// Compares `screen` at every size with `tests/golden/<name>-<w>x<h>.png`, or rewrites those
/// files when `OSHIRASE_UPDATE_GOLDEN=1`.
fn assert_matches_golden(name: &str, screen: &Screen) {
    let update = std::env::var("OSHIRASE_UPDATE_GOLDEN").is_ok_and(|value| value == "1");
    let mut failures = Vec::new();
    for size in SIZES {
        let file = format!("{name}-{}x{}.png", size.0, size.1);
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(&file);
        let frame = render(screen, size);
        if update {
            std::fs::write(&path, frame.to_png()).unwrap();
            continue;
        }
        let Ok(golden) = std::fs::read(&path) else {
            failures.push(format!(
                "{file}: missing; run with OSHIRASE_UPDATE_GOLDEN=1 to create it"
            ));
            continue;
        };
        let (golden_size, golden_rgb) = decode_rgb(&golden);
        if golden_size != size || golden_rgb != frame.rgb() {
            let actual = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(&file);
            std::fs::write(&actual, frame.to_png()).unwrap();
            let differing = golden_rgb
                .chunks_exact(3)
                .zip(frame.rgb().chunks_exact(3))
                .filter(|(a, b)| a != b)
                .count();
            failures.push(format!(
                "{file}: {differing} pixels differ (golden {golden_size:?}); this frame is in \
                 {}; if the change is intended, run with OSHIRASE_UPDATE_GOLDEN=1",
                actual.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Size and RGB bytes of an 8-bit RGB PNG.
fn decode_rgb(png_bytes: &[u8]) -> ((u32, u32), Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buffer).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buffer.truncate(info.buffer_size());
    ((info.width, info.height), buffer)
}

/// Every QR code `rqrr` finds in a greyscale image, decoded.
fn decode_qr(width: usize, height: usize, luma: &[u8]) -> Vec<String> {
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| luma[y * width + x]);
    image
        .detect_grids()
        .into_iter()
        .map(|grid| grid.decode().unwrap().1)
        .collect()
}

/// What a phone camera might see: half the resolution (each output pixel the mean of a 2×2
/// block), then a 3×3 box blur.
fn camera_like(width: usize, height: usize, luma: &[u8]) -> (usize, usize, Vec<u8>) {
    let (half_w, half_h) = (width / 2, height / 2);
    let mut small = vec![0_u8; half_w * half_h];
    for y in 0..half_h {
        for x in 0..half_w {
            let sum: u32 = [(0, 0), (1, 0), (0, 1), (1, 1)]
                .iter()
                .map(|(dx, dy)| u32::from(luma[(2 * y + dy) * width + 2 * x + dx]))
                .sum();
            small[y * half_w + x] = u8::try_from((sum + 2) / 4).unwrap();
        }
    }
    let mut blurred = vec![0_u8; small.len()];
    for y in 0..half_h {
        for x in 0..half_w {
            let mut sum = 0_u32;
            let mut count = 0_u32;
            for ny in y.saturating_sub(1)..=(y + 1).min(half_h - 1) {
                for nx in x.saturating_sub(1)..=(x + 1).min(half_w - 1) {
                    sum += u32::from(small[ny * half_w + nx]);
                    count += 1;
                }
            }
            blurred[y * half_w + x] = u8::try_from((sum + count / 2) / count).unwrap();
        }
    }
    (half_w, half_h, blurred)
}

#[test]
fn the_idle_screen_matches_its_golden_images() {
    assert_matches_golden("idle", &idle(VENUE));
}

#[test]
fn the_idle_screen_with_the_longest_venue_name_matches_its_golden_images() {
    let longest = "埼玉県さいたま市浦和区高砂三丁目 株式会社サンプル商事 本社ビル 1階 \
                   エントランスホール受付前 特設イベント会場Aブロック 臨時受付カウ";
    assert_matches_golden("idle-long-name", &idle(longest));
}

#[test]
fn the_offline_screen_with_a_code_matches_its_golden_images() {
    assert_matches_golden("offline", &offline(Some(URL)));
}

#[test]
fn the_offline_screen_without_a_code_matches_its_golden_images() {
    assert_matches_golden("offline-no-code", &offline(None));
}

#[test]
fn the_unpaired_screen_matches_its_golden_images() {
    let screen = Screen::Unpaired {
        how_to: "oshirase-kiosk pair XXXXX-XXXXX".to_owned(),
    };
    assert_matches_golden("unpaired", &screen);
}

#[test]
fn the_clock_untrusted_screen_matches_its_golden_images() {
    assert_matches_golden("clock-untrusted", &Screen::ClockUntrusted);
}

#[test]
fn the_disabled_screen_matches_its_golden_images() {
    assert_matches_golden("disabled", &Screen::Disabled);
}

#[test]
fn the_idle_screen_with_scans_waiting_matches_its_golden_images() {
    assert_matches_golden("idle-pending", &with_pending(idle(VENUE), 12));
}

#[test]
fn the_offline_screen_with_scans_waiting_matches_its_golden_images() {
    assert_matches_golden("offline-pending", &with_pending(offline(Some(URL)), 12));
    assert_matches_golden("offline-no-code-pending", &with_pending(offline(None), 1));
}

#[test]
fn the_scan_accepted_screen_matches_its_golden_images() {
    assert_matches_golden("scan-accepted", &accepted(Some("こども1")));
    assert_matches_golden("scan-accepted-no-label", &accepted(None));
    assert_matches_golden("scan-accepted-long-label", &accepted(Some(LONG_LABEL)));
}

#[test]
fn every_scan_refused_screen_matches_its_golden_images() {
    for (reason, name) in REASONS {
        assert_matches_golden(
            &format!("scan-refused-{name}"),
            &Screen::ScanRefused { reason },
        );
    }
}

#[test]
fn the_help_screen_matches_its_golden_images() {
    assert_matches_golden("help", &Screen::Help);
}

#[test]
fn the_storage_full_screen_matches_its_golden_images() {
    assert_matches_golden("storage-full", &Screen::StorageFull);
}

#[test]
fn every_screen_keeps_its_text_inside_the_frame_and_apart_at_every_size() {
    let mut failures = Vec::new();
    for (name, screen) in every_screen() {
        for size in SIZES {
            let mut recorder = InkRecorder::new(size);
            let Ok(()) = draw(&screen, fonts(), &mut recorder);
            if recorder.outside > 0 {
                failures.push(format!(
                    "{name} at {size:?}: {} pixels off the frame",
                    recorder.outside
                ));
            }
            // Nothing closer to the edge than 1% of the shorter side.
            let inset = i32::try_from(size.0.min(size.1) / 100).unwrap();
            let safe = Rectangle::new(
                Point::new(inset, inset),
                Size::new(size.0 - 2 * inset as u32, size.1 - 2 * inset as u32),
            );
            for ink in &recorder.inks {
                if safe.intersection(ink) != *ink {
                    failures.push(format!("{name} at {size:?}: {ink:?} reaches the edge"));
                }
            }
            for (index, first) in recorder.inks.iter().enumerate() {
                for second in &recorder.inks[index + 1..] {
                    if !first.intersection(second).is_zero_sized() {
                        failures.push(format!("{name} at {size:?}: {first:?} overlaps {second:?}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn waiting_scans_change_the_frame_but_not_the_code() {
    for screen in [idle(VENUE), offline(Some(URL))] {
        let plain = render(&screen, (800, 480));
        let pending = render(&with_pending(screen, 12), (800, 480));
        assert_ne!(plain.rgb(), pending.rgb());
        assert_eq!(decode_qr(800, 480, &pending.luma()), [URL]);
    }
}

#[test]
fn each_refusal_reason_draws_its_own_screen() {
    let frames: Vec<Vec<u8>> = REASONS
        .iter()
        .map(|(reason, _)| {
            render(&Screen::ScanRefused { reason: *reason }, (800, 480))
                .rgb()
                .to_vec()
        })
        .collect();
    for (index, frame) in frames.iter().enumerate() {
        for other in &frames[index + 1..] {
            assert_ne!(frame, other);
        }
    }
}

#[test]
fn the_pass_label_is_shown_only_when_the_pass_has_one() {
    let with = render(&accepted(Some("こども1")), (800, 480));
    let without = render(&accepted(None), (800, 480));
    let other = render(&accepted(Some("こども2")), (800, 480));
    assert_ne!(with.rgb(), without.rgb());
    assert_ne!(with.rgb(), other.rgb());
}

#[test]
fn the_idle_code_decodes_to_the_exact_url_at_every_size() {
    for size in SIZES {
        let frame = render(&idle(VENUE), size);
        let texts = decode_qr(size.0 as usize, size.1 as usize, &frame.luma());
        assert_eq!(texts, [URL], "at {size:?}");
    }
}

#[test]
fn the_offline_code_decodes_to_the_exact_url() {
    let frame = render(&offline(Some(URL)), (800, 480));
    assert_eq!(decode_qr(800, 480, &frame.luma()), [URL]);
}

#[test]
fn the_idle_code_still_decodes_after_a_camera_like_downscale_and_blur() {
    for size in SIZES {
        let frame = render(&idle(VENUE), size);
        let (width, height, luma) = camera_like(size.0 as usize, size.1 as usize, &frame.luma());
        assert_eq!(decode_qr(width, height, &luma), [URL], "at {size:?}");
    }
}

#[test]
fn the_code_has_whole_pixel_modules_and_a_white_quiet_zone_of_four_modules() {
    for size in SIZES {
        let frame = render(&idle(VENUE), size);
        let version = {
            let luma = frame.luma();
            let width = size.0 as usize;
            let mut image =
                rqrr::PreparedImage::prepare_from_greyscale(width, size.1 as usize, |x, y| {
                    luma[y * width + x]
                });
            let grids = image.detect_grids();
            assert_eq!(grids.len(), 1, "at {size:?}");
            grids[0].decode().unwrap().0.version.0
        };
        let modules = i32::try_from(17 + 4 * version).unwrap();
        // Only the code is pure black (text is a softer ink), so its extent is the symbol's.
        let black = Rgb888::new(0, 0, 0);
        let (width, height) = (
            i32::try_from(size.0).unwrap(),
            i32::try_from(size.1).unwrap(),
        );
        let dark: Vec<Point> = (0..height)
            .flat_map(|y| (0..width).map(move |x| Point::new(x, y)))
            .filter(|point| frame.pixel(*point) == Some(black))
            .collect();
        let min_x = dark.iter().map(|p| p.x).min().unwrap();
        let max_x = dark.iter().map(|p| p.x).max().unwrap();
        let min_y = dark.iter().map(|p| p.y).min().unwrap();
        let max_y = dark.iter().map(|p| p.y).max().unwrap();
        let side = max_x - min_x + 1;
        assert_eq!(side, max_y - min_y + 1, "the symbol is square at {size:?}");
        assert_eq!(
            side % modules,
            0,
            "{side} px is a whole number of {modules} modules"
        );
        let module = side / modules;
        assert!(
            module * (modules + 8) * 100 >= height * 90,
            "the code fills the height at {size:?}"
        );
        let quiet = 4 * module;
        for y in (min_y - quiet)..=(max_y + quiet) {
            for x in (min_x - quiet)..=(max_x + quiet) {
                let inside = (min_x..=max_x).contains(&x) && (min_y..=max_y).contains(&y);
                if !inside {
                    assert_eq!(
                        frame.pixel(Point::new(x, y)),
                        Some(Rgb888::new(255, 255, 255)),
                        "quiet zone pixel ({x}, {y}) at {size:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_different_venue_name_draws_a_different_frame() {
    let first = render(&idle(VENUE), (800, 480));
    let second = render(&idle("市民体育館 サブアリーナ"), (800, 480));
    assert_ne!(first.rgb(), second.rgb());
}

#[test]
fn the_countdown_changes_the_frame_but_not_the_code() {
    let mut later = idle(VENUE);
    if let Screen::Idle {
        seconds_to_next, ..
    } = &mut later
    {
        *seconds_to_next = 11;
    }
    let first = render(&idle(VENUE), (800, 480));
    let second = render(&later, (800, 480));
    assert_ne!(first.rgb(), second.rgb());
    assert_eq!(decode_qr(800, 480, &second.luma()), [URL]);
}

#[test]
fn a_missing_font_file_is_reported_with_its_path() {
    let error = Fonts::load("/nonexistent/ipaexg.ttf").unwrap_err();
    assert!(
        error.to_string().contains("/nonexistent/ipaexg.ttf"),
        "{error}"
    );
}

#[test]
fn a_png_frame_round_trips_through_png() {
    let frame = render(&Screen::Disabled, (800, 480));
    let (size, rgb) = decode_rgb(&frame.to_png());
    assert_eq!(size, (800, 480));
    assert_eq!(rgb, frame.rgb());
}
