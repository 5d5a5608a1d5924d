//! The A4 poster a venue prints and puts up at its entrance: a large QR code, the venue's
//! name and short bilingual instructions, as a PDF.
//!
//! The poster must survive an office printer: black and grey on white only, nothing that
//! relies on colour, the QR code about 10 cm wide with its quiet zone, and every line placed
//! by measured glyph widths so that no venue name, however long, runs off the page. The
//! Japanese font is read from disk once at start-up ([`PosterRenderer::load`]) and then shared
//! by every request; krilla embeds only the glyphs a poster uses, so a PDF stays under 50 KB.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use krilla::Document;
use krilla::geom::PathBuilder;
use krilla::metadata::Metadata;
use krilla::surface::Surface;
use krilla::text::Font;

use super::draw::{
    Area, BLACK, DARK_GREY, Style, TextMark, Weight, add_page, draw_built, draw_qr, draw_text,
    fill_only, metadata, push_area, push_circle, stroke_only,
};
use super::font::{Face, LoadedFont, read_font_file};
use super::qr::{QrError, QrMatrix};
use super::wrap::{Line, Measure, wrap_at_spaces, wrap_balanced, wrap_paragraph, wrap_sentences};

/// What one poster says. Every field is printed as given (already validated and normalised
/// by the caller), except that control and invisible formatting characters are dropped and
/// characters the font lacks print as 〓, the customary Japanese stand-in (an emoji with its
/// joiners and modifiers as a single 〓).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PosterContent<'a> {
    /// The venue's name, e.g. "カフェ・ド・浦和 2階 第1会議室"; up to 80 characters fit (it
    /// wraps onto up to 3 lines and the font shrinks as needed).
    pub venue_name: &'a str,
    /// The business type's Japanese label, e.g. "飲食店".
    pub business_type: &'a str,
    /// What the QR code encodes, e.g. "HTTP://127.0.0.1:8080/C/7K3M9QX2P4".
    pub checkin_url: &'a str,
    /// The venue code grouped for reading aloud, e.g. "7K3M9-QX2P4", printed under the QR.
    pub code_grouped: &'a str,
}

/// Why a poster could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PosterError {
    /// The font file could not be read.
    #[error("cannot read the poster font {}: {source}", path.display())]
    ReadFont {
        /// The font path as configured.
        path: PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
    /// The file was read but is not a usable TrueType/OpenType font.
    #[error("{} is not a usable font for posters: {reason}", path.display())]
    NotAFont {
        /// The font path as configured.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The font has no glyph for a character every poster prints, so it is not a Japanese font.
    #[error(
        "the font {} has no glyph for {ch:?}, so it cannot print the Japanese poster \
         (use a Japanese font such as IPAex Gothic)",
        path.display()
    )]
    MissingGlyph {
        /// The font path as configured.
        path: PathBuf,
        /// The first character the font lacks.
        ch: char,
    },
    /// `a4_pdf` was called with no posters.
    #[error("no posters were requested: a PDF needs at least one page")]
    NoPosters,
    /// The check-in URL cannot be made into a QR code.
    #[error("the check-in URL cannot be made into a QR code: {0}")]
    Qr(#[from] QrError),
    /// The text is too long for everything to fit on one A4 page.
    #[error("the poster text for {venue_name:?} is too long to fit on one A4 page")]
    DoesNotFit {
        /// The venue whose poster overflowed.
        venue_name: String,
    },
    /// krilla failed to write the PDF.
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

/// Draws posters with one Japanese font, parsed once at start-up. Cloning is cheap (the font
/// is shared), and one renderer serves concurrent requests.
#[derive(Clone)]
pub struct PosterRenderer {
    font: Arc<LoadedFont>,
}

impl PosterRenderer {
    /// Reads the font at `font_path` and checks that it parses and has glyphs for Japanese
    /// and for every fixed text on the poster.
    pub fn load(font_path: &Path) -> Result<PosterRenderer, PosterError> {
        let bytes = read_font_file(font_path)?;
        Ok(PosterRenderer {
            font: Arc::new(LoadedFont::new(font_path, bytes, &REQUIRED_TEXTS)?),
        })
    }

    /// The pass card renderer sharing this renderer's font (read once).
    pub fn pass_cards(&self) -> Result<super::PassCardRenderer, PosterError> {
        super::PassCardRenderer::from_font_data(&self.font.path, Arc::clone(&self.font.bytes))
    }

    /// One A4 portrait page (595.276 × 841.89 pt) per poster, in order.
    pub fn a4_pdf(&self, posters: &[PosterContent<'_>]) -> Result<Vec<u8>, PosterError> {
        if posters.is_empty() {
            return Err(PosterError::NoPosters);
        }
        let face = self.font.face()?;
        let pages = posters
            .iter()
            .map(|poster| layout_page(&face, poster))
            .collect::<Result<Vec<_>, _>>()?;
        let mut document = Document::new();
        document.set_metadata(poster_metadata(posters));
        for page in &pages {
            draw_page(&mut document, &self.font.pdf_font, page)?;
        }
        document
            .finish()
            .map_err(|error| PosterError::Pdf(error.to_string()))
    }
}

impl fmt::Debug for PosterRenderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.font.debug_as("PosterRenderer", f)
    }
}

/// A4 portrait, in PDF points (1/72 inch).
const PAGE_WIDTH: f32 = 595.276;
const PAGE_HEIGHT: f32 = 841.89;
/// Left and right margin; office printers cannot print the outer ~5 mm.
const MARGIN_X: f32 = 42.0;
const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN_X;
/// Where the stacked blocks may start and must end.
const CONTENT_TOP: f32 = 28.0;
const FOOTER_BASELINE: f32 = PAGE_HEIGHT - 24.0;
const CONTENT_BOTTOM: f32 = FOOTER_BASELINE - 16.0;

/// How tightly the page is packed, tried in order until everything fits: the QR code's side
/// including its quiet zone (10 cm down to 9.2 cm) and the least space between blocks. Only
/// a long venue name on three lines needs more than the first.
const COMPACTNESS: [Compactness; 4] = [
    Compactness {
        qr_side: 283.0,
        min_gap: 12.0,
    },
    Compactness {
        qr_side: 276.0,
        min_gap: 10.0,
    },
    Compactness {
        qr_side: 268.0,
        min_gap: 8.0,
    },
    Compactness {
        qr_side: 261.0,
        min_gap: 8.0,
    },
];

#[derive(Debug, Clone, Copy)]
struct Compactness {
    qr_side: f32,
    min_gap: f32,
}
/// Gap between the quiet zone and the thin grey frame around it.
const FRAME_GAP: f32 = 6.0;

/// Shades besides [`BLACK`] and [`DARK_GREY`] (0 black, 255 white).
const FRAME_GREY: u8 = 150;
const WHITE: u8 = 255;
/// Width of the outline that imitates bold, as a multiple of the font size.
const BOLD_STROKE: f32 = 0.035;

const HEADING: &str = "来店・来場時に QRコードを読み取ってください";
const HEADING_EN: &str = "Please scan this QR code when you arrive";
const STEPS: [(&str, &str); 3] = [
    (
        "LINEアプリ、またはスマートフォンのカメラ・QRコードリーダーで読み取ってください。",
        "Scan with LINE, your phone's camera or any QR reader.",
    ),
    (
        "来店・来場のたびに読み取ってください。1日に何度でも、それぞれ記録されます。",
        "Scan at every visit; each visit is recorded separately.",
    ),
    (
        "同じ時間帯に同じ場所で陽性の方がいた場合、保健所の判断によりLINEでお知らせが届きます。",
        "If a person who tested positive was here at the same time, LINE may notify you at \
         the health centre's discretion.",
    ),
];
const WARNING: &str = "このQRコードは施設・会場の中にだけ掲示してください。\
                       施設の外への掲示や配布、SNSへの投稿はしないでください。";
const WARNING_EN: &str = "Display this code inside the venue only. Do not post it outside, \
                          hand it out or share it online.";
const FOOTER: &str = "oshirase — 接触確認のお知らせサービス";
const CODE_LABEL: &str = "コード: ";
const BUSINESS_TYPE_LABEL: &str = "業種: ";
const TITLE_SUFFIX: &str = " — QRコード掲示用ポスター";

/// Text every poster prints, checked against the font at load time so that a wrong font is
/// caught at start-up instead of printing empty boxes.
const REQUIRED_TEXTS: [&str; 14] = [
    "あ漢〓0123456789",
    HEADING,
    HEADING_EN,
    STEPS[0].0,
    STEPS[0].1,
    STEPS[1].0,
    STEPS[1].1,
    STEPS[2].0,
    STEPS[2].1,
    WARNING,
    WARNING_EN,
    FOOTER,
    CODE_LABEL,
    BUSINESS_TYPE_LABEL,
];

/// Something drawn on the page, positioned in pt from the page's top-left corner.
#[derive(Debug, Clone, PartialEq)]
enum Mark {
    Text(TextMark),
    /// A stroked rectangle outline; the stroke is centred on `area`'s edges.
    Frame {
        area: Area,
        line_width: f32,
        shade: u8,
    },
    /// A filled circle.
    Disc {
        centre_x: f32,
        centre_y: f32,
        radius: f32,
        shade: u8,
    },
    /// The QR code; `area` is the square including the quiet zone.
    Qr {
        area: Area,
        matrix: QrMatrix,
    },
}

impl Mark {
    fn moved_down(self, dy: f32) -> Mark {
        match self {
            Mark::Text(text) => Mark::Text(text.moved_down(dy)),
            Mark::Frame {
                area,
                line_width,
                shade,
            } => Mark::Frame {
                area: area.moved_down(dy),
                line_width,
                shade,
            },
            Mark::Disc {
                centre_x,
                centre_y,
                radius,
                shade,
            } => Mark::Disc {
                centre_x,
                centre_y: centre_y + dy,
                radius,
                shade,
            },
            Mark::Qr { area, matrix } => Mark::Qr {
                area: area.moved_down(dy),
                matrix,
            },
        }
    }
}

/// Everything drawn on one page.
#[derive(Debug, Clone, PartialEq)]
struct PageLayout {
    marks: Vec<Mark>,
}

/// A horizontal band of the page, laid out from its own top (y = 0).
#[derive(Debug, Default)]
struct Block {
    marks: Vec<Mark>,
    height: f32,
}

const HEADING_STYLE: Style = Style::new(29.0, 1.22, BLACK, Weight::Bold);
const HEADING_EN_STYLE: Style = Style::new(13.0, 1.35, DARK_GREY, Weight::Regular);
const LABEL_STYLE: Style = Style::new(12.0, 1.4, DARK_GREY, Weight::Regular);
const CODE_STYLE: Style = Style::new(11.0, 1.4, DARK_GREY, Weight::Regular);
const STEP_STYLE: Style = Style::new(12.0, 1.45, BLACK, Weight::Regular);
const STEP_EN_STYLE: Style = Style::new(9.0, 1.35, DARK_GREY, Weight::Regular);
const WARNING_STYLE: Style = Style::new(13.0, 1.5, BLACK, Weight::Bold);
const WARNING_EN_STYLE: Style = Style::new(9.0, 1.35, DARK_GREY, Weight::Regular);
const FOOTER_STYLE: Style = Style::new(8.5, 1.3, DARK_GREY, Weight::Regular);
const STEP_NUMBER_STYLE: Style = Style::new(12.0, 1.0, WHITE, Weight::Bold);

/// Ways to set the venue name, tried in order until one fits: size, most lines, and where
/// lines may break. A name keeps a large size on two lines before it gets a third, and is
/// broken at its spaces down to 18 pt before words are broken.
const VENUE_NAME_FITS: [(f32, usize, NameBreaks); 16] = [
    (26.0, 2, NameBreaks::Anywhere),
    (24.0, 2, NameBreaks::Anywhere),
    (22.0, 2, NameBreaks::Anywhere),
    (20.0, 2, NameBreaks::Anywhere),
    (20.0, 3, NameBreaks::AtSpaces),
    (19.0, 3, NameBreaks::AtSpaces),
    (18.0, 3, NameBreaks::AtSpaces),
    (20.0, 3, NameBreaks::Anywhere),
    (19.0, 3, NameBreaks::Anywhere),
    (18.0, 3, NameBreaks::Anywhere),
    (17.0, 3, NameBreaks::Anywhere),
    (16.0, 3, NameBreaks::Anywhere),
    (15.0, 3, NameBreaks::Anywhere),
    (14.0, 3, NameBreaks::Anywhere),
    (13.0, 3, NameBreaks::Anywhere),
    (12.0, 3, NameBreaks::Anywhere),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameBreaks {
    /// Only at spaces.
    AtSpaces,
    /// At spaces where that costs no extra line, otherwise between any characters.
    Anywhere,
}
const VENUE_NAME_LEADING: f32 = 1.25;

/// The most spare height any one gap receives; the rest centres the stack on the page.
const MAX_EXTRA_GAP: f32 = 22.0;

fn layout_page(face: &Face<'_>, content: &PosterContent<'_>) -> Result<PageLayout, PosterError> {
    let matrix = QrMatrix::encode(content.checkin_url)?;
    let venue_name = face.printable(content.venue_name);
    let code = face.printable(content.code_grouped);
    let business_type = face.printable(content.business_type);
    for compactness in COMPACTNESS {
        let blocks = vec![
            heading_block(face),
            venue_block(face, &venue_name, &business_type),
            qr_block(face, &matrix, compactness.qr_side, &code),
            steps_block(face),
            warning_block(face),
        ];
        if let Some(mut marks) = stack(blocks, compactness.min_gap) {
            marks.push(footer(face));
            return Ok(PageLayout { marks });
        }
    }
    Err(PosterError::DoesNotFit {
        venue_name: content.venue_name.to_owned(),
    })
}

/// Places the blocks top to bottom between [`CONTENT_TOP`] and [`CONTENT_BOTTOM`], at least
/// `min_gap` apart, sharing out the spare height; `None` if they do not fit.
fn stack(blocks: Vec<Block>, min_gap: f32) -> Option<Vec<Mark>> {
    let gaps = blocks.len().saturating_sub(1) as f32;
    let needed: f32 = blocks.iter().map(|b| b.height).sum::<f32>() + gaps * min_gap;
    let spare = (CONTENT_BOTTOM - CONTENT_TOP) - needed;
    if spare < 0.0 {
        return None;
    }
    let extra = (spare / (gaps + 2.0)).min(MAX_EXTRA_GAP);
    let mut y = CONTENT_TOP + (spare - extra * gaps) / 2.0;
    let mut marks = Vec::new();
    for block in blocks {
        marks.extend(block.marks.into_iter().map(|mark| mark.moved_down(y)));
        y += block.height + min_gap + extra;
    }
    Some(marks)
}

fn heading_block(face: &Face<'_>) -> Block {
    let mut block = Block::default();
    let lines = wrap_balanced(HEADING, CONTENT_WIDTH / HEADING_STYLE.size, face);
    block.centred_lines(face, &lines, HEADING_STYLE);
    block.height += 4.0;
    let english = wrap_balanced(HEADING_EN, CONTENT_WIDTH / HEADING_EN_STYLE.size, face);
    block.centred_lines(face, &english, HEADING_EN_STYLE);
    block
}

fn venue_block(face: &Face<'_>, venue_name: &str, business_type: &str) -> Block {
    let mut block = Block::default();
    let (lines, style) = fit_venue_name(face, venue_name);
    block.centred_lines(face, &lines, style);
    block.height += 4.0;
    let label = format!("{BUSINESS_TYPE_LABEL}{business_type}");
    let label_lines = wrap_balanced(&label, CONTENT_WIDTH / LABEL_STYLE.size, face);
    block.centred_lines(face, &label_lines, LABEL_STYLE);
    block
}

/// The first setting in [`VENUE_NAME_FITS`] that fits; failing all, the smallest size with
/// however many lines it needs (the page layout then decides whether that still fits).
fn fit_venue_name(face: &Face<'_>, venue_name: &str) -> (Vec<Line>, Style) {
    let style = |size| Style::new(size, VENUE_NAME_LEADING, BLACK, Weight::Bold);
    let mut smallest = (Vec::new(), style(VENUE_NAME_FITS[0].0));
    for (size, max_lines, breaks) in VENUE_NAME_FITS {
        let max_em = CONTENT_WIDTH / size;
        let lines = match breaks {
            NameBreaks::AtSpaces => wrap_at_spaces(venue_name, max_em, face),
            NameBreaks::Anywhere => Some(wrap_balanced(venue_name, max_em, face)),
        };
        match lines {
            Some(lines) if lines.len() <= max_lines => return (lines, style(size)),
            Some(lines) => smallest = (lines, style(size)),
            None => {}
        }
    }
    smallest
}

fn qr_block(face: &Face<'_>, matrix: &QrMatrix, qr_side: f32, code: &str) -> Block {
    let mut block = Block::default();
    let frame_side = qr_side + 2.0 * FRAME_GAP;
    let frame = Area {
        x: (PAGE_WIDTH - frame_side) / 2.0,
        y: 0.0,
        width: frame_side,
        height: frame_side,
    };
    block.marks.push(Mark::Frame {
        area: frame,
        line_width: 0.75,
        shade: FRAME_GREY,
    });
    block.marks.push(Mark::Qr {
        area: Area {
            x: frame.x + FRAME_GAP,
            y: FRAME_GAP,
            width: qr_side,
            height: qr_side,
        },
        matrix: matrix.clone(),
    });
    block.height = frame_side + 4.0;
    let label = format!("{CODE_LABEL}{code}");
    let lines = wrap_balanced(&label, CONTENT_WIDTH / CODE_STYLE.size, face);
    block.centred_lines(face, &lines, CODE_STYLE);
    block
}

/// Left edge of the step texts, leaving room for the numbered disc.
const STEP_INDENT: f32 = 32.0;
const STEP_DISC_RADIUS: f32 = 11.0;

fn steps_block(face: &Face<'_>) -> Block {
    let mut block = Block::default();
    let text_x = MARGIN_X + STEP_INDENT;
    let text_width = CONTENT_WIDTH - STEP_INDENT;
    for (index, (japanese, english)) in STEPS.iter().enumerate() {
        if index > 0 {
            block.height += 7.0;
        }
        let first_line_middle = block.height + STEP_STYLE.line_height() / 2.0;
        block.number_disc(face, index + 1, first_line_middle);
        let lines = wrap_paragraph(japanese, text_width / STEP_STYLE.size, face);
        block.left_lines(face, text_x, &lines, STEP_STYLE);
        let lines = wrap_paragraph(english, text_width / STEP_EN_STYLE.size, face);
        block.left_lines(face, text_x, &lines, STEP_EN_STYLE);
    }
    block
}

/// Border and inner padding of the warning box.
const WARNING_BORDER: f32 = 2.5;
const WARNING_PADDING: f32 = 12.0;

fn warning_block(face: &Face<'_>) -> Block {
    let mut block = Block::default();
    let inset = WARNING_BORDER + WARNING_PADDING;
    let text_x = MARGIN_X + inset;
    let text_width = CONTENT_WIDTH - 2.0 * inset;
    block.height = inset - 2.0;
    let lines = wrap_sentences(WARNING, text_width / WARNING_STYLE.size, face);
    block.left_lines(face, text_x, &lines, WARNING_STYLE);
    let lines = wrap_paragraph(WARNING_EN, text_width / WARNING_EN_STYLE.size, face);
    block.left_lines(face, text_x, &lines, WARNING_EN_STYLE);
    block.height += inset - 2.0;
    let half = WARNING_BORDER / 2.0;
    block.marks.push(Mark::Frame {
        area: Area {
            x: MARGIN_X + half,
            y: half,
            width: CONTENT_WIDTH - WARNING_BORDER,
            height: block.height - WARNING_BORDER,
        },
        line_width: WARNING_BORDER,
        shade: BLACK,
    });
    block
}

fn footer(face: &Face<'_>) -> Mark {
    let width = face.width_em(FOOTER) * FOOTER_STYLE.size;
    Mark::Text(TextMark::new(
        face,
        (PAGE_WIDTH - width) / 2.0,
        FOOTER_BASELINE,
        FOOTER.to_owned(),
        FOOTER_STYLE,
    ))
}

impl Block {
    /// Appends lines centred on the page.
    fn centred_lines(&mut self, face: &Face<'_>, lines: &[Line], style: Style) {
        for line in lines {
            let x = (PAGE_WIDTH - line.width_em * style.size) / 2.0;
            self.push_line(face, x, line, style);
        }
    }

    /// Appends lines starting at `x`.
    fn left_lines(&mut self, face: &Face<'_>, x: f32, lines: &[Line], style: Style) {
        for line in lines {
            self.push_line(face, x, line, style);
        }
    }

    /// Appends one line, its glyph box centred in a line box of the style's line height.
    fn push_line(&mut self, face: &Face<'_>, x: f32, line: &Line, style: Style) {
        let baseline = style.baseline_in_line_box(face, self.height);
        self.marks.push(Mark::Text(TextMark::new(
            face,
            x,
            baseline,
            line.text.clone(),
            style,
        )));
        self.height += style.line_height();
    }

    /// A black disc with a white step number, centred on `middle_y` beside the step text.
    fn number_disc(&mut self, face: &Face<'_>, number: usize, middle_y: f32) {
        let centre_x = MARGIN_X + STEP_DISC_RADIUS;
        self.marks.push(Mark::Disc {
            centre_x,
            centre_y: middle_y,
            radius: STEP_DISC_RADIUS,
            shade: BLACK,
        });
        let digits = number.to_string();
        let style = STEP_NUMBER_STYLE;
        let width = face.width_em(&digits) * style.size;
        // Digits are about 0.7 em tall: centre them optically on the disc.
        let baseline = middle_y + 0.36 * style.size;
        self.marks.push(Mark::Text(TextMark::new(
            face,
            centre_x - width / 2.0,
            baseline,
            digits,
            style,
        )));
    }
}

fn poster_metadata(posters: &[PosterContent<'_>]) -> Metadata {
    let first = posters.first().map_or("", |p| p.venue_name);
    let others = posters.iter().filter(|p| p.venue_name != first).count();
    let name = if others == 0 {
        first.to_owned()
    } else {
        format!("{first} ほか{others}件")
    };
    metadata(format!("{name}{TITLE_SUFFIX}"))
}

fn draw_page(document: &mut Document, font: &Font, layout: &PageLayout) -> Result<(), PosterError> {
    add_page(document, PAGE_WIDTH, PAGE_HEIGHT, |surface| {
        for mark in &layout.marks {
            draw_mark(surface, font, mark);
        }
    })
}

fn draw_mark(surface: &mut Surface<'_>, font: &Font, mark: &Mark) {
    match mark {
        Mark::Text(text) => draw_text(surface, font, text, BOLD_STROKE),
        Mark::Frame {
            area,
            line_width,
            shade,
        } => {
            let mut builder = PathBuilder::new();
            push_area(&mut builder, *area);
            stroke_only(surface, *shade, *line_width);
            draw_built(surface, builder);
        }
        Mark::Disc {
            centre_x,
            centre_y,
            radius,
            shade,
        } => {
            let mut builder = PathBuilder::new();
            push_circle(&mut builder, *centre_x, *centre_y, *radius);
            fill_only(surface, *shade);
            draw_built(surface, builder);
        }
        Mark::Qr { area, matrix } => draw_qr(surface, *area, matrix),
    }
}

#[cfg(test)]
mod tests {
    // Tests fail by panicking, so unwrapping is how they report an unexpected error.
    #![allow(clippy::unwrap_used)]

    use oshirase_e2e::{decode_qr_luma, pdf_info, pdf_text, pdf_to_png, png_to_luma};

    use super::*;
    use crate::poster::draw::boxes::{area_box, overlap, text_box};

    /// The font the deployment uses (Debian package fonts-ipaexfont-gothic).
    const FONT: &str = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf";
    const VENUE: &str = "カフェ・ド・浦和 2階 第1会議室";
    const URL: &str = "HTTP://127.0.0.1:8080/C/7K3M9QX2P4";
    /// 80 characters, the longest name a venue can register, with few spaces to break at.
    const LONGEST_NAME: &str = "埼玉県さいたま市浦和区高砂三丁目 株式会社サンプル商事 本社ビル 1階 \
                                エントランスホール受付前 特設イベント会場Aブロック 臨時受付カウ";
    /// Rendering resolution for the checks that look at the printed page.
    const DPI: f32 = 150.0;

    fn renderer() -> PosterRenderer {
        PosterRenderer::load(Path::new(FONT)).unwrap_or_else(|error| {
            panic!(
                "{error}\nThe poster tests need the IPAex Gothic font: run the project's test \
                 script (scripts/test), which installs fonts-ipaexfont-gothic and poppler-utils."
            )
        })
    }

    fn poster(venue_name: &str) -> PosterContent<'_> {
        PosterContent {
            venue_name,
            business_type: "飲食店",
            checkin_url: URL,
            code_grouped: "7K3M9-QX2P4",
        }
    }

    fn layout(venue_name: &str) -> PageLayout {
        let renderer = renderer();
        let face = renderer.font.face().unwrap();
        layout_page(&face, &poster(venue_name)).unwrap()
    }

    fn without_white_space(text: &str) -> String {
        text.chars().filter(|ch| !ch.is_whitespace()).collect()
    }

    fn qr_area(layout: &PageLayout) -> Area {
        layout
            .marks
            .iter()
            .find_map(|mark| match mark {
                Mark::Qr { area, .. } => Some(*area),
                _ => None,
            })
            .unwrap()
    }

    fn texts(layout: &PageLayout) -> Vec<&TextMark> {
        layout
            .marks
            .iter()
            .filter_map(|mark| match mark {
                Mark::Text(text) => Some(text),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_pdf_qr_code_decodes_to_the_checkin_url() {
        let pdf = renderer().a4_pdf(&[poster(VENUE)]).unwrap();
        let (width, height, luma) = png_to_luma(&pdf_to_png(&pdf, DPI as u32));
        let mut decoded = decode_qr_luma(width, height, |x, y| luma[y * width + x]);
        if decoded.is_empty() {
            // Fall back to the region where the QR code was drawn, with a margin around it.
            let scale = DPI / 72.0;
            let [left, top, right, bottom] = area_box(qr_area(&layout(VENUE)));
            let to_px = |pt: f32| (pt * scale).max(0.0) as usize;
            let (x0, y0) = (to_px(left - 20.0), to_px(top - 20.0));
            let (x1, y1) = (
                to_px(right + 20.0).min(width),
                to_px(bottom + 20.0).min(height),
            );
            decoded = decode_qr_luma(x1 - x0, y1 - y0, |x, y| luma[(y0 + y) * width + x0 + x]);
        }
        assert_eq!(decoded, [URL]);
    }

    #[test]
    fn the_pdf_text_has_the_venue_name_the_heading_and_the_warning() {
        let pdf = renderer().a4_pdf(&[poster(VENUE)]).unwrap();
        let text = without_white_space(&pdf_text(&pdf));
        for expected in [
            VENUE,
            "読み取って",
            WARNING,
            WARNING_EN,
            "コード:7K3M9-QX2P4",
            "飲食店",
        ] {
            assert!(
                text.contains(&without_white_space(expected)),
                "{expected:?} is missing from the PDF text:\n{text}"
            );
        }
    }

    #[test]
    fn a_longest_venue_name_prints_in_full() {
        let pdf = renderer().a4_pdf(&[poster(LONGEST_NAME)]).unwrap();
        let text = without_white_space(&pdf_text(&pdf));
        assert!(text.contains(&without_white_space(LONGEST_NAME)), "{text}");
    }

    #[test]
    fn a_three_poster_document_has_one_page_per_poster() {
        let names = ["第1会議室", "第2会議室", LONGEST_NAME];
        let posters: Vec<_> = names.iter().map(|name| poster(name)).collect();
        let pdf = renderer().a4_pdf(&posters).unwrap();
        let info = pdf_info(&pdf);
        let pages = info.lines().find(|line| line.starts_with("Pages:"));
        assert_eq!(
            pages.map(without_white_space).as_deref(),
            Some("Pages:3"),
            "{info}"
        );
        assert!(info.contains("595.276 x 841.89 pts (A4)"), "{info}");
        let text = pdf_text(&pdf);
        assert_eq!(text.matches('\u{c}').count(), 3, "one form feed per page");
        let first_page = text.split('\u{c}').next().unwrap_or_default();
        assert!(first_page.contains("第1会議室") && !first_page.contains("第2会議室"));
    }

    #[test]
    fn the_pdf_title_names_the_venue_and_the_language_is_japanese() {
        let pdf = renderer().a4_pdf(&[poster(VENUE)]).unwrap();
        let info = pdf_info(&pdf);
        assert!(
            info.contains(&format!(
                "Title:           {VENUE} — QRコード掲示用ポスター"
            )),
            "{info}"
        );
        let lang: &[u8] = b"/Lang(ja)";
        assert!(pdf.windows(lang.len()).any(|window| window == lang));
    }

    #[test]
    fn a_poster_stays_small_because_only_the_used_glyphs_are_embedded() {
        let pdf = renderer().a4_pdf(&[poster(VENUE)]).unwrap();
        assert!(pdf.len() < 60_000, "{} bytes", pdf.len());
    }

    #[test]
    fn an_empty_list_of_posters_is_an_error() {
        assert!(matches!(
            renderer().a4_pdf(&[]),
            Err(PosterError::NoPosters)
        ));
    }

    #[test]
    fn a_name_too_long_for_the_page_is_refused_rather_than_overflowing() {
        let name = "会議室".repeat(150);
        assert!(matches!(
            renderer().a4_pdf(&[poster(&name)]),
            Err(PosterError::DoesNotFit { .. })
        ));
    }

    #[test]
    fn loading_a_missing_font_fails_with_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-font.ttf");
        let error = PosterRenderer::load(&path).unwrap_err();
        assert!(matches!(error, PosterError::ReadFont { .. }), "{error:?}");
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{error}"
        );
    }

    #[test]
    fn loading_a_file_that_is_not_a_font_fails_with_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.ttf");
        std::fs::write(&path, "これはフォントではありません").unwrap();
        let error = PosterRenderer::load(&path).unwrap_err();
        assert!(matches!(error, PosterError::NotAFont { .. }), "{error:?}");
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{error}"
        );
    }

    #[test]
    fn loading_a_font_without_japanese_fails_with_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latin-only.ttf");
        std::fs::write(&path, latin_only_font()).unwrap();
        let error = PosterRenderer::load(&path).unwrap_err();
        assert!(
            matches!(error, PosterError::MissingGlyph { ch: 'あ', .. }),
            "{error:?}"
        );
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{error}"
        );
    }

    #[test]
    fn the_renderer_can_be_shared_between_threads_and_its_debug_output_omits_the_font() {
        fn shareable<T: Send + Sync + Clone + 'static>() {}
        shareable::<PosterRenderer>();
        let debug = format!("{:?}", renderer());
        assert!(debug.contains(FONT), "{debug}");
        assert!(debug.len() < 200, "{debug}");
    }

    #[test]
    fn every_mark_stays_inside_the_margins_even_for_the_longest_venue_name() {
        for name in [
            VENUE,
            LONGEST_NAME,
            &"Grand Hotel Saitama Conference Centre ".repeat(2),
        ] {
            let layout = layout(name);
            for text in texts(&layout) {
                let [left, top, right, bottom] = text_box(text);
                assert!(left >= MARGIN_X - 0.01, "{text:?}");
                assert!(right <= PAGE_WIDTH - MARGIN_X + 0.01, "{text:?}");
                assert!(top >= CONTENT_TOP - 0.01, "{text:?}");
                assert!(bottom <= PAGE_HEIGHT - 18.0, "{text:?}");
            }
        }
    }

    #[test]
    fn no_line_of_text_overlaps_another_or_the_qr_code() {
        for name in [VENUE, LONGEST_NAME] {
            let layout = layout(name);
            let texts = texts(&layout);
            let qr = qr_area(&layout);
            let frame = Area {
                x: qr.x - FRAME_GAP,
                y: qr.y - FRAME_GAP,
                width: qr.width + 2.0 * FRAME_GAP,
                height: qr.height + 2.0 * FRAME_GAP,
            };
            for (i, a) in texts.iter().enumerate() {
                assert!(
                    !overlap(text_box(a), area_box(frame)),
                    "{a:?} overlaps the QR code"
                );
                for b in &texts[i + 1..] {
                    assert!(!overlap(text_box(a), text_box(b)), "{a:?} overlaps {b:?}");
                }
            }
        }
    }

    #[test]
    fn the_qr_code_is_about_ten_centimetres_wide_with_its_quiet_zone_and_centred() {
        for name in [VENUE, LONGEST_NAME] {
            let qr = qr_area(&layout(name));
            assert!((260.0..=290.0).contains(&qr.width), "{qr:?}");
            assert_eq!(qr.width, qr.height);
            assert!(
                (qr.x + qr.width / 2.0 - PAGE_WIDTH / 2.0).abs() < 0.01,
                "{qr:?}"
            );
        }
    }

    #[test]
    fn the_grey_frame_sits_outside_the_quiet_zone() {
        let layout = layout(VENUE);
        let qr = qr_area(&layout);
        let (frame, line_width) = layout
            .marks
            .iter()
            .find_map(|mark| match mark {
                Mark::Frame {
                    area,
                    line_width,
                    shade,
                } if *shade == FRAME_GREY => Some((*area, *line_width)),
                _ => None,
            })
            .unwrap();
        let inner_edge = |outline: f32, inward: f32| outline + inward * line_width / 2.0;
        assert!(inner_edge(frame.x, 1.0) < qr.x);
        assert!(inner_edge(frame.y, 1.0) < qr.y);
        assert!(inner_edge(frame.x + frame.width, -1.0) > qr.x + qr.width);
        assert!(inner_edge(frame.y + frame.height, -1.0) > qr.y + qr.height);
    }

    #[test]
    fn a_long_venue_name_wraps_onto_at_most_three_lines() {
        let layout = layout(LONGEST_NAME);
        let name_lines: Vec<_> = texts(&layout)
            .into_iter()
            .filter(|text| text.shade == BLACK && LONGEST_NAME.contains(text.text.as_str()))
            .collect();
        assert!((2..=3).contains(&name_lines.len()), "{name_lines:?}");
        let joined: String = name_lines.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(
            without_white_space(&joined),
            without_white_space(LONGEST_NAME)
        );
    }

    #[test]
    fn a_short_venue_name_is_set_large_on_one_line() {
        let layout = layout(VENUE);
        let name = texts(&layout)
            .into_iter()
            .find(|text| text.text == VENUE)
            .cloned();
        assert_eq!(name.map(|text| text.size), Some(26.0));
    }

    #[test]
    fn characters_the_font_lacks_print_as_geta_marks() {
        let layout = layout("ラーメン🍜屋");
        assert!(
            texts(&layout)
                .iter()
                .any(|text| text.text == "ラーメン〓屋"),
            "{:?}",
            texts(&layout)
        );
    }

    /// A minimal TrueType font whose character map has only "A": it parses, but has no
    /// Japanese.
    fn latin_only_font() -> Vec<u8> {
        fn u16s(values: &[u16]) -> Vec<u8> {
            values.iter().flat_map(|v| v.to_be_bytes()).collect()
        }
        let a = u16::from(b'A');
        let mut cmap = u16s(&[0, 1, 3, 1, 0, 12]);
        cmap.extend(u16s(&[4, 32, 0, 4, 4, 1, 0])); // format 4 header, two segments
        cmap.extend(u16s(&[a, 0xFFFF, 0, a, 0xFFFF])); // end codes, pad, start codes
        cmap.extend(u16s(&[1u16.wrapping_sub(a), 1, 0, 0])); // id deltas, range offsets
        let mut head = u16s(&[1, 0, 1, 0, 0, 0, 0x5F0F, 0x3CF5, 0, 1000]);
        head.extend([0; 16]); // created, modified
        head.extend(u16s(&[0, 0, 0, 0, 0, 8, 2, 0, 0])); // bbox, style, ppem, hints, loca
        let tables = [(*b"cmap", cmap), (*b"head", head)];
        let mut font = u16s(&[1, 0, 2, 32, 1, 0]);
        let mut offset = 12 + 16 * tables.len();
        for (tag, data) in &tables {
            font.extend(tag);
            font.extend([0; 4]); // checksum, not verified by readers
            font.extend(u32::try_from(offset).unwrap().to_be_bytes());
            font.extend(u32::try_from(data.len()).unwrap().to_be_bytes());
            offset += data.len().next_multiple_of(4);
        }
        for (_, data) in tables {
            let padded = data.len().next_multiple_of(4);
            font.extend(&data);
            font.resize(font.len() + padded - data.len(), 0);
        }
        font
    }
}
