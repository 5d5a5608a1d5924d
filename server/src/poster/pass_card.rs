//! The printable pass card: a resident's pass as a credit-card-sized PDF (ISO/IEC 7810 ID-1,
//! 85.60 × 53.98 mm, landscape) to cut out and carry, in Japanese with short English lines.
//!
//! The QR code sits on the left, 34 mm wide with its 4-module quiet zone, so that a version 6
//! pass (131 alphanumeric characters) has modules of about 0.7 mm, which a kiosk camera reads
//! at arm's length. The right-hand column holds the title, the name the resident gave the
//! pass, its expiry, its short number and one instruction. A thin grey rounded outline is the
//! cut line. Like the poster, everything is black and grey on white and every line is placed
//! by measured glyph widths: the name is user input and is shrunk, wrapped onto two lines and,
//! failing that, cut short with "…", but it never leaves its column.
//!
//! [`PassCardRenderer::pass_card_pdf`] is a pure function of the card's contents and the font
//! read once at start-up ([`PassCardRenderer::load`]); krilla embeds only the glyphs used.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use krilla::Document;
use krilla::geom::PathBuilder;
use krilla::surface::Surface;
use krilla::text::Font;

use super::draw::{
    Area, BLACK, DARK_GREY, Style, TextMark, Weight, add_page, draw_built, draw_qr, draw_text,
    metadata, push_rounded_rect, stroke_only,
};
use super::font::{Face, LoadedFont, read_font_file};
use super::pdf::PosterError;
use super::qr::QrMatrix;
use super::wrap::{Line, wrap_balanced, wrap_paragraph};

/// What one pass card shows. Text is printed as given, except that control characters are
/// dropped and characters the font lacks print as 〓 (an emoji with its joiners and modifiers
/// as a single 〓).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassCard<'a> {
    /// What the QR code encodes: the pass text, `OSP1` and 127 base32 symbols.
    pub qr_text: &'a str,
    /// The name the resident gave the pass (up to 20 characters, Japanese or Latin). It is
    /// set as large as fits on one or two lines; a longer one is cut short with "…".
    pub label: &'a str,
    /// The pass id's last four symbols (`PassId::short`), printed as "番号 …XXXX".
    pub short_id: &'a str,
    /// The last day the pass is valid, printed as "2027年5月24日" / "24 May 2027".
    pub expires: time::Date,
}

/// Draws pass cards with one Japanese font, parsed once at start-up. Cloning is cheap (the
/// font is shared), and one renderer serves concurrent requests.
#[derive(Clone)]
pub struct PassCardRenderer {
    font: Arc<LoadedFont>,
}

impl PassCardRenderer {
    /// Reads the font at `font_path` (the poster font, IPAex Gothic) and checks that it has
    /// glyphs for every fixed text on the card.
    pub fn load(font_path: &Path) -> Result<PassCardRenderer, PosterError> {
        PassCardRenderer::from_font_data(font_path, read_font_file(font_path)?)
    }

    /// Like [`PassCardRenderer::load`], with the font file already read (so that it can be
    /// shared with the poster renderer); `font_path` is only named in errors.
    pub fn from_font_data(
        font_path: &Path,
        bytes: Arc<Vec<u8>>,
    ) -> Result<PassCardRenderer, PosterError> {
        Ok(PassCardRenderer {
            font: Arc::new(LoadedFont::new(font_path, bytes, &REQUIRED_TEXTS)?),
        })
    }

    /// One page of exactly ID-1 card size (242.646 × 153.014 pt, landscape).
    pub fn pass_card_pdf(&self, card: &PassCard<'_>) -> Result<Vec<u8>, PosterError> {
        let layout = self.layout(card)?;
        let mut document = Document::new();
        document.set_metadata(metadata(TITLE.to_owned()));
        add_page(&mut document, CARD_WIDTH, CARD_HEIGHT, |surface| {
            for mark in &layout.marks {
                draw_mark(surface, &self.font.pdf_font, mark);
            }
        })?;
        document
            .finish()
            .map_err(|error| PosterError::Pdf(error.to_string()))
    }

    fn layout(&self, card: &PassCard<'_>) -> Result<CardLayout, PosterError> {
        layout_card(&self.font.face()?, card)
    }
}

impl fmt::Debug for PassCardRenderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.font.debug_as("PassCardRenderer", f)
    }
}

/// Points per millimetre.
const MM: f32 = 72.0 / 25.4;
/// ISO/IEC 7810 ID-1, landscape, in PDF points.
const CARD_WIDTH: f32 = 85.60 * MM;
const CARD_HEIGHT: f32 = 53.98 * MM;
/// The corner radius of an ID-1 card.
const CORNER_RADIUS: f32 = 3.18 * MM;
/// The cut line: a thin grey outline just inside the page edge, so that no viewer or
/// printer clips half of it.
const CUT_LINE_INSET: f32 = 0.3 * MM;
const CUT_LINE_WIDTH: f32 = 0.5;
/// Nothing but the cut line lies within this distance of the edge: scissors may stray.
const MARGIN: f32 = 3.0 * MM;
/// The QR code's side including its quiet zone, and its left edge; centred vertically.
const QR_SIDE: f32 = 34.0 * MM;
const QR_X: f32 = MARGIN;
/// The text column, right of the QR code's quiet zone.
const COLUMN_GAP: f32 = 1.5 * MM;
const COLUMN_LEFT: f32 = QR_X + QR_SIDE + COLUMN_GAP;
const COLUMN_RIGHT: f32 = CARD_WIDTH - MARGIN;
const COLUMN_WIDTH: f32 = COLUMN_RIGHT - COLUMN_LEFT;
const COLUMN_TOP: f32 = MARGIN + 0.5 * MM;
const COLUMN_BOTTOM: f32 = CARD_HEIGHT - MARGIN - 0.5 * MM;
/// The least space between the column's sections.
const MIN_SECTION_GAP: f32 = 3.0;
/// The most space added to [`MIN_SECTION_GAP`] between the middle sections (the name and
/// the details); the rest is shared above and below them.
const MAX_SECTION_GAP: f32 = 6.0;

/// The cut line's shade, besides [`BLACK`] and [`DARK_GREY`] (0 black, 255 white).
const CUT_LINE_GREY: u8 = 150;
/// Width of the outline that imitates bold, as a multiple of the font size.
const BOLD_STROKE: f32 = 0.03;

const TITLE: &str = "oshirase 来場記録パス";
const TITLE_EN: &str = "Visit pass";
const EXPIRES_LABEL: &str = "有効期限 ";
const EXPIRES_LABEL_EN: &str = "Valid until ";
const NUMBER_LABEL: &str = "番号 …";
const INSTRUCTION: &str = "入口の端末のカメラにかざしてください";
const INSTRUCTION_EN: &str = "Hold it up to the kiosk camera";
/// Ends a name too long for two lines at the smallest size.
const ELLIPSIS: char = '…';

/// Text every card prints, checked against the font at load time.
const REQUIRED_TEXTS: [&str; 9] = [
    "0123456789年月日〓…",
    TITLE,
    TITLE_EN,
    EXPIRES_LABEL,
    EXPIRES_LABEL_EN,
    NUMBER_LABEL,
    INSTRUCTION,
    INSTRUCTION_EN,
    "JanuaryFebruaryMarchAprilMayJuneJulyAugustSeptemberOctoberNovemberDecember",
];

const TITLE_STYLE: Style = Style::new(9.5, 1.2, BLACK, Weight::Bold);
const ENGLISH_STYLE: Style = Style::new(6.0, 1.3, DARK_GREY, Weight::Regular);
const DETAIL_STYLE: Style = Style::new(7.5, 1.35, BLACK, Weight::Regular);
const INSTRUCTION_STYLE: Style = Style::new(6.5, 1.35, BLACK, Weight::Regular);
const LABEL_LEADING: f32 = 1.2;
/// Space between the title and the rule under it, and between the rule and what follows.
const RULE_GAP: f32 = 2.5;
const RULE_WIDTH: f32 = 0.5;

/// Ways to set the name, tried in order until one fits: size in pt and most lines. A name
/// stays on one line down to 11 pt, then takes two.
const LABEL_FITS: [(f32, usize); 10] = [
    (13.0, 1),
    (12.0, 1),
    (11.0, 1),
    (12.0, 2),
    (11.0, 2),
    (10.0, 2),
    (9.0, 2),
    (8.0, 2),
    (7.5, 2),
    (7.0, 2),
];

/// Something drawn on the card, positioned in pt from the page's top-left corner.
#[derive(Debug, Clone, PartialEq)]
enum Mark {
    Text(TextMark),
    /// A horizontal line from `x0` to `x1` centred on `y`.
    Rule {
        x0: f32,
        x1: f32,
        y: f32,
    },
    /// The rounded cut line around the card.
    CutLine,
    /// The QR code; `area` is the square including the quiet zone.
    Qr {
        area: Area,
        matrix: QrMatrix,
    },
}

/// Everything drawn on the card.
#[derive(Debug, Clone, PartialEq)]
struct CardLayout {
    marks: Vec<Mark>,
}

/// A section of the text column, laid out from its own top (y = 0).
#[derive(Debug, Default)]
struct Section {
    marks: Vec<Mark>,
    height: f32,
}

impl Section {
    /// Appends one line at the column's left edge, its glyph box centred in a line box of the
    /// style's line height.
    fn push_line(&mut self, face: &Face<'_>, text: &str, style: Style) {
        let baseline = style.baseline_in_line_box(face, self.height);
        self.marks.push(Mark::Text(TextMark::new(
            face,
            COLUMN_LEFT,
            baseline,
            text.to_owned(),
            style,
        )));
        self.height += style.line_height();
    }

    fn push_lines(&mut self, face: &Face<'_>, lines: &[Line], style: Style) {
        for line in lines {
            self.push_line(face, &line.text, style);
        }
    }

    fn moved_down(self, dy: f32) -> impl Iterator<Item = Mark> {
        self.marks.into_iter().map(move |mark| match mark {
            Mark::Text(text) => Mark::Text(text.moved_down(dy)),
            Mark::Rule { x0, x1, y } => Mark::Rule { x0, x1, y: y + dy },
            other => other,
        })
    }
}

fn layout_card(face: &Face<'_>, card: &PassCard<'_>) -> Result<CardLayout, PosterError> {
    let matrix = QrMatrix::encode(card.qr_text)?;
    let mut marks = vec![
        Mark::CutLine,
        Mark::Qr {
            area: Area {
                x: QR_X,
                y: (CARD_HEIGHT - QR_SIDE) / 2.0,
                width: QR_SIDE,
                height: QR_SIDE,
            },
            matrix,
        },
    ];
    let label = face.printable(card.label);
    let short_id = face.printable(card.short_id);
    // With English lines first; without them only if a font with very wide glyphs needs it.
    for english in [true, false] {
        let mut sections = vec![title_section(face, english)];
        if !label.is_empty() {
            sections.push(label_section(face, &label));
        }
        sections.push(details_section(face, card.expires, &short_id, english));
        sections.push(instruction_section(face, english));
        if let Some(placed) = stack(sections) {
            marks.extend(placed);
            return Ok(CardLayout { marks });
        }
    }
    Err(PosterError::Pdf(
        "the pass card's text does not fit on the card with this font".to_owned(),
    ))
}

/// Places the first section at [`COLUMN_TOP`] and the last one ending at [`COLUMN_BOTTOM`],
/// and centres the others between them, at most [`MIN_SECTION_GAP`] + [`MAX_SECTION_GAP`]
/// apart; `None` if they do not fit at least [`MIN_SECTION_GAP`] apart or a line is wider
/// than the column.
fn stack(mut sections: Vec<Section>) -> Option<Vec<Mark>> {
    let too_wide = sections
        .iter()
        .flat_map(|s| &s.marks)
        .any(|mark| matches!(mark, Mark::Text(text) if text.x + text.width > COLUMN_RIGHT + 0.01));
    if too_wide || sections.len() < 2 {
        return None;
    }
    let last = sections.pop()?;
    let first = sections.remove(0);
    let middle = sections;
    let space = (COLUMN_BOTTOM - last.height) - (COLUMN_TOP + first.height);
    let middle_height: f32 = middle.iter().map(|s| s.height).sum();
    let inner_gaps = middle.len().saturating_sub(1) as f32;
    let spare = space - middle_height - (inner_gaps + 2.0) * MIN_SECTION_GAP;
    if spare < 0.0 {
        return None;
    }
    let inner_gap = MIN_SECTION_GAP + (spare / (inner_gaps + 2.0)).min(MAX_SECTION_GAP);
    let middle_total = middle_height + inner_gaps * inner_gap;
    let mut y = COLUMN_TOP + first.height + (space - middle_total) / 2.0;
    let last_top = COLUMN_BOTTOM - last.height;
    let mut marks: Vec<Mark> = first.moved_down(COLUMN_TOP).collect();
    marks.extend(last.moved_down(last_top));
    for section in middle {
        let height = section.height;
        marks.extend(section.moved_down(y));
        y += height + inner_gap;
    }
    Some(marks)
}

fn title_section(face: &Face<'_>, english: bool) -> Section {
    let mut section = Section::default();
    section.push_line(face, TITLE, TITLE_STYLE);
    if english {
        section.push_line(face, TITLE_EN, ENGLISH_STYLE);
    }
    section.height += RULE_GAP;
    section.marks.push(Mark::Rule {
        x0: COLUMN_LEFT,
        x1: COLUMN_RIGHT,
        y: section.height,
    });
    section.height += RULE_GAP / 2.0;
    section
}

fn label_section(face: &Face<'_>, label: &str) -> Section {
    let (lines, size) = fit_label(face, label);
    let mut section = Section::default();
    section.push_lines(
        face,
        &lines,
        Style::new(size, LABEL_LEADING, BLACK, Weight::Bold),
    );
    section
}

/// The first setting in [`LABEL_FITS`] that fits; failing all, the smallest size on two
/// lines with the name cut short and ended with "…".
fn fit_label(face: &Face<'_>, label: &str) -> (Vec<Line>, f32) {
    // No more than this can fit on two lines even in narrow Latin letters; a longer text
    // (the caller is meant to pass at most 20 characters) is cut before measuring.
    const MOST_CHARS: usize = 120;
    let chars: Vec<char> = label.chars().take(MOST_CHARS + 1).collect();
    if chars.len() <= MOST_CHARS {
        for (size, max_lines) in LABEL_FITS {
            let lines = wrap_balanced(label, COLUMN_WIDTH / size, face);
            if lines.len() <= max_lines && fits_column(&lines, size) {
                return (lines, size);
            }
        }
    }
    let (size, max_lines) = LABEL_FITS[LABEL_FITS.len() - 1];
    let max_em = COLUMN_WIDTH / size;
    for keep in (0..chars.len().min(MOST_CHARS)).rev() {
        let mut shortened: String = chars[..keep].iter().collect::<String>();
        shortened = shortened.trim_end().to_owned();
        shortened.push(ELLIPSIS);
        let lines = wrap_paragraph(&shortened, max_em, face);
        if lines.len() <= max_lines && fits_column(&lines, size) {
            return (lines, size);
        }
    }
    (Vec::new(), size)
}

fn fits_column(lines: &[Line], size: f32) -> bool {
    lines
        .iter()
        .all(|line| line.width_em * size <= COLUMN_WIDTH + 0.01)
}

fn details_section(face: &Face<'_>, expires: time::Date, short_id: &str, english: bool) -> Section {
    let mut section = Section::default();
    section.push_line(
        face,
        &format!("{EXPIRES_LABEL}{}", japanese_date(expires)),
        DETAIL_STYLE,
    );
    if english {
        section.push_line(
            face,
            &format!("{EXPIRES_LABEL_EN}{}", english_date(expires)),
            ENGLISH_STYLE,
        );
    }
    section.height += 1.0;
    section.push_line(face, &format!("{NUMBER_LABEL}{short_id}"), DETAIL_STYLE);
    section
}

fn instruction_section(face: &Face<'_>, english: bool) -> Section {
    let mut section = Section::default();
    let lines = wrap_paragraph(INSTRUCTION, COLUMN_WIDTH / INSTRUCTION_STYLE.size, face);
    section.push_lines(face, &lines, INSTRUCTION_STYLE);
    if english {
        let lines = wrap_paragraph(INSTRUCTION_EN, COLUMN_WIDTH / ENGLISH_STYLE.size, face);
        section.push_lines(face, &lines, ENGLISH_STYLE);
    }
    section
}

/// "2027年5月24日".
fn japanese_date(date: time::Date) -> String {
    format!(
        "{}年{}月{}日",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// "24 May 2027".
fn english_date(date: time::Date) -> String {
    format!("{} {} {}", date.day(), date.month(), date.year())
}

fn draw_mark(surface: &mut Surface<'_>, font: &Font, mark: &Mark) {
    match mark {
        Mark::Text(text) => draw_text(surface, font, text, BOLD_STROKE),
        Mark::Rule { x0, x1, y } => {
            let mut builder = PathBuilder::new();
            builder.move_to(*x0, *y);
            builder.line_to(*x1, *y);
            stroke_only(surface, BLACK, RULE_WIDTH);
            draw_built(surface, builder);
        }
        Mark::CutLine => {
            let mut builder = PathBuilder::new();
            let inset = CUT_LINE_INSET + CUT_LINE_WIDTH / 2.0;
            push_rounded_rect(
                &mut builder,
                Area {
                    x: inset,
                    y: inset,
                    width: CARD_WIDTH - 2.0 * inset,
                    height: CARD_HEIGHT - 2.0 * inset,
                },
                CORNER_RADIUS - inset,
            );
            stroke_only(surface, CUT_LINE_GREY, CUT_LINE_WIDTH);
            draw_built(surface, builder);
        }
        Mark::Qr { area, matrix } => draw_qr(surface, *area, matrix),
    }
}

#[cfg(test)]
mod tests {
    // Tests fail by panicking, so unwrapping is how they report an unexpected error.
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::poster::draw::boxes::{overlap, text_box};

    /// The font the deployment uses (Debian package fonts-ipaexfont-gothic).
    const FONT: &str = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf";
    /// The first test vector of docs/protocol.md.
    const PASS: &str = "OSP100GE1R70W3GE1R70W3PPJEJ01G0C6KY2T8K653ENE3SQ30K909D8FA8V0Y5BPF5BWCBYVV1EVC79R0DV64M97P9VB0WYCBE7YFZKPT6R7C25BY8XVQBYGAB0GCT27G0";

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
            expires: time::macros::date!(2027 - 05 - 24),
        }
    }

    fn layout(label: &str) -> CardLayout {
        renderer().layout(&card(label)).unwrap()
    }

    fn texts(layout: &CardLayout) -> Vec<&TextMark> {
        layout
            .marks
            .iter()
            .filter_map(|mark| match mark {
                Mark::Text(text) => Some(text),
                _ => None,
            })
            .collect()
    }

    fn qr(layout: &CardLayout) -> (Area, &QrMatrix) {
        layout
            .marks
            .iter()
            .find_map(|mark| match mark {
                Mark::Qr { area, matrix } => Some((*area, matrix)),
                _ => None,
            })
            .unwrap()
    }

    /// Labels that push the layout: the longest allowed in Japanese and in wide Latin, with
    /// and without spaces, far too long ones, and emoji.
    const HARD_LABELS: [&str; 8] = [
        "ばあちゃんの来場パス",
        "埼玉県さいたま市浦和区高砂三丁目の祖母",
        "WWWWWWWWWWWWWWWWWWWW",
        "Grandma Hanako Tanaka",
        "MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM",
        "寿限無寿限無五劫の擦り切れ海砂利水魚の水行末雲来末風来末食う寝る処に住む処",
        "👨‍👩‍👧 家族 🇯🇵",
        "",
    ];

    #[test]
    fn the_page_is_id_1_card_size_in_landscape() {
        assert!((CARD_WIDTH - 242.646).abs() < 0.01);
        assert!((CARD_HEIGHT - 153.014).abs() < 0.01);
    }

    #[test]
    fn a_pass_is_a_version_6_code_34_mm_wide_with_modules_of_about_0_7_mm() {
        let layout = layout("祖母");
        let (area, matrix) = qr(&layout);
        assert_eq!(matrix.version(), 6);
        assert_eq!(area.width, area.height);
        assert!((area.width / MM - 34.0).abs() < 0.01);
        let module_mm = area.width / matrix.width_with_quiet_zone() as f32 / MM;
        assert!(module_mm > 0.65, "{module_mm} mm");
        assert!(area.x >= MARGIN - 0.01 && area.y >= MARGIN);
        assert!(area.y + area.height <= CARD_HEIGHT - MARGIN);
    }

    #[test]
    fn every_line_stays_in_the_text_column_apart_from_the_others_and_the_qr_code() {
        for label in HARD_LABELS {
            let layout = layout(label);
            let (qr, _) = qr(&layout);
            let texts = texts(&layout);
            for (i, text) in texts.iter().enumerate() {
                let [left, top, right, bottom] = text_box(text);
                assert!(left >= qr.x + qr.width + 1.0, "{label:?}: {text:?}");
                assert!(right <= CARD_WIDTH - MARGIN + 0.01, "{label:?}: {text:?}");
                assert!(top >= MARGIN, "{label:?}: {text:?}");
                assert!(bottom <= CARD_HEIGHT - MARGIN, "{label:?}: {text:?}");
                for other in &texts[i + 1..] {
                    assert!(
                        !overlap(text_box(text), text_box(other)),
                        "{label:?}: {text:?} overlaps {other:?}"
                    );
                }
            }
        }
    }

    fn label_lines(layout: &CardLayout) -> Vec<&TextMark> {
        texts(layout)
            .into_iter()
            .filter(|text| text.weight == Weight::Bold && text.text != TITLE)
            .collect()
    }

    #[test]
    fn a_short_name_is_set_large_on_one_line() {
        let layout = layout("ばあちゃん");
        let lines = label_lines(&layout);
        assert_eq!(lines.len(), 1);
        assert_eq!(
            (lines[0].text.as_str(), lines[0].size),
            ("ばあちゃん", 13.0)
        );
    }

    #[test]
    fn a_twenty_character_name_prints_in_full_on_at_most_two_lines() {
        for label in [
            "埼玉県さいたま市浦和区高砂三丁目の祖母",
            "WWWWWWWWWWWWWWWWWWWW",
            "Grandma Hanako Tanaka",
        ] {
            let layout = layout(label);
            let lines = label_lines(&layout);
            assert!((1..=2).contains(&lines.len()), "{lines:?}");
            assert!(lines[0].size >= 9.0, "{lines:?}");
            let joined: String = lines.iter().map(|l| l.text.as_str()).collect();
            let strip = |s: &str| s.replace(' ', "");
            assert_eq!(strip(&joined), strip(label));
        }
    }

    #[test]
    fn a_name_too_long_for_two_lines_is_cut_short_with_an_ellipsis() {
        let label = "寿限無寿限無五劫の擦り切れ海砂利水魚の水行末雲来末風来末食う寝る処に住む処";
        let layout = layout(label);
        let lines = label_lines(&layout);
        assert_eq!(lines.len(), 2, "{lines:?}");
        let joined: String = lines.iter().map(|l| l.text.as_str()).collect();
        assert!(joined.ends_with('…'), "{joined}");
        assert!(label.starts_with(joined.trim_end_matches('…')), "{joined}");
    }

    #[test]
    fn the_details_are_in_japanese_with_english_beneath() {
        let layout = layout("祖母");
        let lines: Vec<&str> = texts(&layout).iter().map(|t| t.text.as_str()).collect();
        for expected in [
            TITLE,
            TITLE_EN,
            "祖母",
            "有効期限 2027年5月24日",
            "Valid until 24 May 2027",
            "番号 …1R7X",
            INSTRUCTION,
            INSTRUCTION_EN,
        ] {
            assert!(lines.contains(&expected), "{expected:?} not in {lines:?}");
        }
    }

    #[test]
    fn the_renderer_can_be_shared_between_threads_and_its_debug_output_omits_the_font() {
        fn shareable<T: Send + Sync + Clone + 'static>() {}
        shareable::<PassCardRenderer>();
        let debug = format!("{:?}", renderer());
        assert!(debug.contains(FONT) && debug.len() < 200, "{debug}");
    }

    #[test]
    fn text_that_is_not_a_qr_code_is_an_error() {
        let text = "A".repeat(5000);
        let result = renderer().pass_card_pdf(&PassCard {
            qr_text: &text,
            ..card("祖母")
        });
        assert!(matches!(result, Err(PosterError::Qr(_))), "{result:?}");
    }
}
