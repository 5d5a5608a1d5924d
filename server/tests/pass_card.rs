//! The printable pass card, looked at as a printer and a kiosk camera would: poppler reads the
//! page size and text, `pdftoppm` rasterises the card at 300 dpi and `rqrr` decodes its QR
//! code. The layout checks work on the pixels: whatever the name, nothing dark may appear in
//! the card's margins, in the QR code's quiet zone, or between the QR code and the text.
//! Each rendered card is also saved under `target/screenshots/` (PNG and PDF) for a person
//! to look at.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use std::path::Path;

use oshirase_e2e::{pdf_info, pdf_text, pdf_to_png, png_to_luma, target_dir};
use oshirase_server::poster::{PassCard, PassCardRenderer};
use rqrr::BitGrid as _;
use time::macros::date;

/// The font the deployment uses (Debian package fonts-ipaexfont-gothic).
const FONT: &str = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf";
/// The first pass of docs/protocol.md's test vectors: 131 characters, version 6 at level M.
const PASS: &str = "OSP100GE1R70W3GE1R70W3PPJEJ01G0C6KY2T8K653ENE3SQ30K909D8FA8V0Y5BPF5BWCBYVV1EVC79R0DV64M97P9VB0WYCBE7YFZKPT6R7C25BY8XVQBYGAB0GCT27G0";
const DPI: f32 = 300.0;
const PX_PER_MM: f32 = DPI / 25.4;
/// ISO/IEC 7810 ID-1.
const CARD_MM: (f32, f32) = (85.60, 53.98);
/// Nothing but the grey cut line may lie closer than this to the card's edge.
const MARGIN_MM: f32 = 2.9;
/// Luma below this is ink: black and the dark grey of the English lines; the light grey cut
/// line is not.
const DARK: u8 = 128;

const JAPANESE_20: &str = "埼玉県さいたま市浦和区高砂三丁目の祖母";
const WIDE_LATIN_20: &str = "WWWWWWWWWWWWWWWWWWWW";

fn renderer() -> PassCardRenderer {
    PassCardRenderer::load(Path::new(FONT)).unwrap_or_else(|error| {
        panic!("{error}\nThe pass card tests need fonts-ipaexfont-gothic (scripts/test).")
    })
}

fn card(label: &str) -> PassCard<'_> {
    PassCard {
        qr_text: PASS,
        label,
        short_id: "1R7X",
        expires: date!(2027 - 05 - 24),
    }
}

fn without_white_space(text: &str) -> String {
    text.chars().filter(|ch| !ch.is_whitespace()).collect()
}

/// The card as a 300 dpi greyscale raster; the PNG and the PDF are also saved as
/// `target/screenshots/<name>.png` and `.pdf`.
struct Raster {
    width: usize,
    height: usize,
    luma: Vec<u8>,
}

impl Raster {
    fn of(pdf: &[u8], name: &str) -> Raster {
        let png = pdf_to_png(pdf, DPI as u32);
        let dir = target_dir().join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
        std::fs::write(dir.join(format!("{name}.pdf")), pdf).unwrap();
        let (width, height, luma) = png_to_luma(&png);
        Raster {
            width,
            height,
            luma,
        }
    }

    fn is_dark(&self, x: usize, y: usize) -> bool {
        self.luma[y * self.width + x] < DARK
    }

    /// The one QR code on the card: its text and the bounds of the symbol (without the quiet
    /// zone) in pixels, as left, top, right, bottom.
    fn qr_code(&self) -> (String, [f32; 4]) {
        let mut image =
            rqrr::PreparedImage::prepare_from_greyscale(self.width, self.height, |x, y| {
                self.luma[y * self.width + x]
            });
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1, "exactly one QR code on the card");
        let (_, text) = grids[0].decode().unwrap();
        // rqrr's bounds run from the symbol's top-left corner over one module more than the
        // symbol has (its grid coordinates 0 to size + 1).
        let modules = grids[0].grid.size() as f32;
        let xs = grids[0].bounds.map(|p| p.x as f32);
        let ys = grids[0].bounds.map(|p| p.y as f32);
        let min = |v: [f32; 4]| v.into_iter().fold(f32::MAX, f32::min);
        let max = |v: [f32; 4]| v.into_iter().fold(f32::MIN, f32::max);
        let (left, top) = (min(xs), min(ys));
        let scale = modules / (modules + 1.0);
        let (right, bottom) = (
            left + (max(xs) - left) * scale,
            top + (max(ys) - top) * scale,
        );
        (text, [left, top, right, bottom])
    }
}

fn mm(px: f32) -> f32 {
    px / PX_PER_MM
}

fn px(mm: f32) -> f32 {
    mm * PX_PER_MM
}

#[test]
fn the_page_is_one_id_1_card_in_landscape() {
    let pdf = renderer().pass_card_pdf(&card("祖母")).unwrap();
    let info = pdf_info(&pdf);
    let pages = info.lines().find_map(|line| line.strip_prefix("Pages:"));
    assert_eq!(pages.map(str::trim), Some("1"), "{info}");
    let size = info
        .lines()
        .find_map(|line| line.strip_prefix("Page size:"))
        .unwrap_or_else(|| panic!("no page size in:\n{info}"));
    let numbers: Vec<f32> = size
        .split_whitespace()
        .filter_map(|word| word.parse().ok())
        .collect();
    let [width_pt, height_pt] = numbers[..] else {
        panic!("cannot read the page size {size:?}");
    };
    let to_mm = |pt: f32| pt / 72.0 * 25.4;
    assert!((to_mm(width_pt) - CARD_MM.0).abs() < 0.1, "{size}");
    assert!((to_mm(height_pt) - CARD_MM.1).abs() < 0.1, "{size}");
}

#[test]
fn the_text_has_the_name_the_expiry_and_the_number() {
    let label = "ばあちゃん";
    let pdf = renderer().pass_card_pdf(&card(label)).unwrap();
    let text = without_white_space(&pdf_text(&pdf));
    for expected in [
        "oshirase来場記録パス",
        label,
        "有効期限",
        "2027年5月24日",
        "Validuntil24May2027",
        "番号",
        "1R7X",
        "入口の端末のカメラにかざしてください",
        "Holdituptothekioskcamera",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} is missing from:\n{text}"
        );
    }
}

#[test]
fn the_qr_code_decodes_to_the_pass_at_300_dpi_and_is_about_34_mm_wide() {
    let pdf = renderer().pass_card_pdf(&card("Grandma")).unwrap();
    let raster = Raster::of(&pdf, "pass-card");
    let (text, [left, top, right, bottom]) = raster.qr_code();
    assert_eq!(text, PASS);
    // Version 6: 41 modules, plus 4 of quiet zone on each side.
    let with_quiet_zone_mm = mm(right - left) * 49.0 / 41.0;
    assert!(
        (30.0..=34.5).contains(&with_quiet_zone_mm),
        "{with_quiet_zone_mm} mm"
    );
    assert!((mm(bottom - top) * 49.0 / 41.0 - with_quiet_zone_mm).abs() < 0.3);
    let (width, height) = (mm(raster.width as f32), mm(raster.height as f32));
    assert!((width - CARD_MM.0).abs() < 0.2 && (height - CARD_MM.1).abs() < 0.2);
}

/// Renders a card and checks by its pixels that the QR code still decodes, its quiet zone
/// is clear, and every other dark pixel lies in the text column: right of the quiet zone with
/// a gap, and inside the margins.
fn assert_layout_holds(label: &str, name: &str) -> Raster {
    let pdf = renderer().pass_card_pdf(&card(label)).unwrap();
    let raster = Raster::of(&pdf, name);
    let (text, [left, top, right, bottom]) = raster.qr_code();
    assert_eq!(text, PASS, "{label:?}");
    let quiet = (right - left) / 41.0 * 4.0;
    // A pixel's width of slack for where rqrr puts the symbol's edge.
    let slack = 2.0;
    let zone = [
        left - quiet + slack,
        top - quiet + slack,
        right + quiet - slack,
        bottom + quiet - slack,
    ];
    let inside = |b: [f32; 4], x: f32, y: f32| x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3];
    let symbol = [left - slack, top - slack, right + slack, bottom + slack];
    let column_left = zone[2] + px(1.0);
    let max_x = raster.width as f32 - px(MARGIN_MM);
    let (min_y, max_y) = (px(MARGIN_MM), raster.height as f32 - px(MARGIN_MM));
    let mut ink_in_column = 0;
    for y in 0..raster.height {
        for x in 0..raster.width {
            if !raster.is_dark(x, y) {
                continue;
            }
            let (fx, fy) = (x as f32, y as f32);
            if inside(symbol, fx, fy) {
                continue;
            }
            assert!(
                !inside(zone, fx, fy),
                "{label:?}: ink in the QR code's quiet zone at ({x}, {y}) px"
            );
            assert!(
                fx >= column_left && fx <= max_x && fy >= min_y && fy <= max_y,
                "{label:?}: ink outside the text column at ({:.1}, {:.1}) mm; the column is \
                 {:.1}..{:.1} × {:.1}..{:.1} mm",
                mm(fx),
                mm(fy),
                mm(column_left),
                mm(max_x),
                mm(min_y),
                mm(max_y),
            );
            ink_in_column += 1;
        }
    }
    assert!(ink_in_column > 1000, "the text column is not empty");
    raster
}

#[test]
fn a_twenty_character_japanese_name_stays_in_its_column_and_prints_in_full() {
    assert_layout_holds(JAPANESE_20, "pass-card-japanese-20");
    let pdf = renderer().pass_card_pdf(&card(JAPANESE_20)).unwrap();
    assert!(without_white_space(&pdf_text(&pdf)).contains(JAPANESE_20));
}

#[test]
fn a_twenty_character_wide_latin_name_stays_in_its_column_and_prints_in_full() {
    assert_layout_holds(WIDE_LATIN_20, "pass-card-latin-20");
    let pdf = renderer().pass_card_pdf(&card(WIDE_LATIN_20)).unwrap();
    assert!(without_white_space(&pdf_text(&pdf)).contains(WIDE_LATIN_20));
}

#[test]
fn names_far_too_long_or_full_of_emoji_never_break_the_layout() {
    let too_long = "W".repeat(300);
    let japanese_too_long = "寿限無".repeat(40);
    for (label, name) in [
        (too_long.as_str(), "pass-card-too-long"),
        (japanese_too_long.as_str(), "pass-card-japanese-too-long"),
        ("👵🏻 おばあちゃん 🇯🇵 ❤️", "pass-card-emoji"),
        ("", "pass-card-no-name"),
    ] {
        assert_layout_holds(label, name);
    }
}

#[test]
fn an_emoji_prints_as_a_geta_mark() {
    let pdf = renderer().pass_card_pdf(&card("👵🏻 おばあちゃん")).unwrap();
    let text = without_white_space(&pdf_text(&pdf));
    assert!(text.contains("〓おばあちゃん"), "{text}");
}

#[test]
fn a_card_stays_small_because_only_the_used_glyphs_are_embedded() {
    let pdf = renderer().pass_card_pdf(&card(JAPANESE_20)).unwrap();
    assert!(pdf.len() < 60_000, "{} bytes", pdf.len());
}

#[test]
fn the_same_card_renders_to_the_same_bytes() {
    let renderer = renderer();
    let first = renderer.pass_card_pdf(&card("祖母")).unwrap();
    let second = renderer.pass_card_pdf(&card("祖母")).unwrap();
    assert!(first == second, "the PDF depends only on the card");
}
