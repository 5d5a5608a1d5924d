//! What the A4 poster and the pass card draw alike: lines of text placed by measured width,
//! how they are set ([`Style`]), rectangles, the QR code's modules and the few path shapes,
//! and the krilla calls that put them on a page.
//!
//! Positions are in PDF points (1/72 inch) from the page's top-left corner, y downwards, as
//! krilla takes them. Each document keeps its own marks and layout and uses these to draw.

use krilla::Document;
use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule, LineJoin, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};

use super::font::Face;
use super::pdf::PosterError;
use super::qr::{QUIET_ZONE, QrMatrix};
use super::wrap::Measure;

/// Shades are grey levels (0 black, 255 white): everything is printed in black and grey on
/// white, nothing relies on colour.
pub(super) const BLACK: u8 = 0;
/// Secondary text; dark grey stays crisp on a monochrome laser printer.
pub(super) const DARK_GREY: u8 = 64;

/// IPAex Gothic has a single weight; bold is imitated by stroking the glyph outlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Weight {
    /// The font as it is.
    Regular,
    /// The glyphs filled and outlined (see [`draw_text`]).
    Bold,
}

/// How a run of lines is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Style {
    /// Font size in pt.
    pub(super) size: f32,
    /// Line pitch as a multiple of the size.
    pub(super) leading: f32,
    /// Grey level of the text.
    pub(super) shade: u8,
    /// Regular or imitated bold.
    pub(super) weight: Weight,
}

impl Style {
    /// A style; `const` so that documents can name theirs as constants.
    pub(super) const fn new(size: f32, leading: f32, shade: u8, weight: Weight) -> Style {
        Style {
            size,
            leading,
            shade,
            weight,
        }
    }

    /// Line pitch in pt.
    pub(super) fn line_height(self) -> f32 {
        self.size * self.leading
    }

    /// The baseline of a line whose line box (of [`Style::line_height`]) starts at `top`,
    /// with the glyph box centred in the line box.
    pub(super) fn baseline_in_line_box(self, face: &Face<'_>, top: f32) -> f32 {
        let glyph_box = (face.ascent_em + face.descent_em) * self.size;
        top + (self.line_height() - glyph_box) / 2.0 + face.ascent_em * self.size
    }
}

/// A rectangle on the page: its top-left corner and its size, in pt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Area {
    pub(super) x: f32,
    pub(super) y: f32,
    pub(super) width: f32,
    pub(super) height: f32,
}

impl Area {
    /// The same rectangle `dy` pt lower.
    pub(super) fn moved_down(self, dy: f32) -> Area {
        Area {
            y: self.y + dy,
            ..self
        }
    }
}

/// One line of text, measured and placed.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TextMark {
    /// Left edge of the line.
    pub(super) x: f32,
    pub(super) baseline: f32,
    /// Font size in pt.
    pub(super) size: f32,
    /// Measured width in pt.
    pub(super) width: f32,
    /// Distance from the baseline to the top and bottom of the glyph box, in pt.
    pub(super) ascent: f32,
    pub(super) descent: f32,
    /// What is printed, already made printable ([`Face::printable`]) where it needs to be.
    pub(super) text: String,
    pub(super) shade: u8,
    pub(super) weight: Weight,
}

impl TextMark {
    /// `text` set in `style` from `x` on `baseline`, its width and glyph box measured with
    /// `face`.
    pub(super) fn new(
        face: &Face<'_>,
        x: f32,
        baseline: f32,
        text: String,
        style: Style,
    ) -> TextMark {
        TextMark {
            x,
            baseline,
            size: style.size,
            width: face.width_em(&text) * style.size,
            ascent: face.ascent_em * style.size,
            descent: face.descent_em * style.size,
            text,
            shade: style.shade,
            weight: style.weight,
        }
    }

    /// The same line `dy` pt lower.
    pub(super) fn moved_down(self, dy: f32) -> TextMark {
        TextMark {
            baseline: self.baseline + dy,
            ..self
        }
    }
}

/// The document information every printed PDF carries: `title`, Japanese, made by oshirase.
pub(super) fn metadata(title: String) -> Metadata {
    Metadata::new()
        .title(title)
        .language("ja".to_owned())
        .creator("oshirase".to_owned())
}

/// Adds a page of `width` × `height` pt to `document` and lets `draw` draw on it.
pub(super) fn add_page(
    document: &mut Document,
    width: f32,
    height: f32,
    draw: impl FnOnce(&mut Surface<'_>),
) -> Result<(), PosterError> {
    let settings = PageSettings::from_wh(width, height)
        .ok_or_else(|| PosterError::Pdf("invalid page size".to_owned()))?;
    let mut page = document.start_page_with(settings);
    let mut surface = page.surface();
    draw(&mut surface);
    surface.finish();
    page.finish();
    Ok(())
}

/// Draws a line of text in its shade; a bold one is also outlined, with a stroke
/// `bold_stroke` times its size wide.
pub(super) fn draw_text(surface: &mut Surface<'_>, font: &Font, text: &TextMark, bold_stroke: f32) {
    fill_only(surface, text.shade);
    if text.weight == Weight::Bold {
        surface.set_stroke(Some(Stroke {
            paint: luma::Color::new(text.shade).into(),
            width: text.size * bold_stroke,
            line_join: LineJoin::Round,
            ..Stroke::default()
        }));
    }
    surface.draw_text(
        Point::from_xy(text.x, text.baseline),
        font.clone(),
        text.size,
        &text.text,
        false,
        TextDirection::LeftToRight,
    );
}

/// Draws the QR code's dark modules in black; `area` is the square including the quiet zone.
pub(super) fn draw_qr(surface: &mut Surface<'_>, area: Area, matrix: &QrMatrix) {
    let module = area.width / matrix.width_with_quiet_zone() as f32;
    let mut builder = PathBuilder::new();
    for (row, start_x, len) in matrix.dark_runs() {
        push_area(
            &mut builder,
            Area {
                x: area.x + (start_x + QUIET_ZONE) as f32 * module,
                y: area.y + (row + QUIET_ZONE) as f32 * module,
                width: len as f32 * module,
                height: module,
            },
        );
    }
    fill_only(surface, BLACK);
    draw_built(surface, builder);
}

/// Makes the next paths filled in `shade`, not stroked.
pub(super) fn fill_only(surface: &mut Surface<'_>, shade: u8) {
    surface.set_stroke(None);
    surface.set_fill(Some(Fill {
        paint: luma::Color::new(shade).into(),
        opacity: NormalizedF32::ONE,
        rule: FillRule::NonZero,
    }));
}

/// Makes the next paths stroked in `shade`, `width` pt wide, not filled.
pub(super) fn stroke_only(surface: &mut Surface<'_>, shade: u8, width: f32) {
    surface.set_fill(None);
    surface.set_stroke(Some(Stroke {
        paint: luma::Color::new(shade).into(),
        width,
        ..Stroke::default()
    }));
}

/// Draws the path built so far, if it has anything in it.
pub(super) fn draw_built(surface: &mut Surface<'_>, builder: PathBuilder) {
    if let Some(path) = builder.finish() {
        surface.draw_path(&path);
    }
}

/// Adds `area` as a closed rectangle (nothing if it has no valid size).
pub(super) fn push_area(builder: &mut PathBuilder, area: Area) {
    if let Some(rect) = Rect::from_xywh(area.x, area.y, area.width, area.height) {
        builder.push_rect(rect);
    }
}

/// How far a cubic Bézier control point lies from its end of a quarter circle of radius 1.
const KAPPA: f32 = 0.552_284_8;

/// Adds a circle of radius `r` around (`cx`, `cy`), from four cubic Bézier quarter arcs.
pub(super) fn push_circle(builder: &mut PathBuilder, cx: f32, cy: f32, r: f32) {
    let k = r * KAPPA;
    builder.move_to(cx + r, cy);
    builder.cubic_to(cx + r, cy + k, cx + k, cy + r, cx, cy + r);
    builder.cubic_to(cx - k, cy + r, cx - r, cy + k, cx - r, cy);
    builder.cubic_to(cx - r, cy - k, cx - k, cy - r, cx, cy - r);
    builder.cubic_to(cx + k, cy - r, cx + r, cy - k, cx + r, cy);
    builder.close();
}

/// Adds `area` as a rectangle with quarter-circle corners of radius `r` (cubic Bézier arcs).
pub(super) fn push_rounded_rect(builder: &mut PathBuilder, area: Area, r: f32) {
    let k = r * KAPPA;
    let (left, top) = (area.x, area.y);
    let (right, bottom) = (area.x + area.width, area.y + area.height);
    builder.move_to(left + r, top);
    builder.line_to(right - r, top);
    builder.cubic_to(right - r + k, top, right, top + r - k, right, top + r);
    builder.line_to(right, bottom - r);
    builder.cubic_to(
        right,
        bottom - r + k,
        right - r + k,
        bottom,
        right - r,
        bottom,
    );
    builder.line_to(left + r, bottom);
    builder.cubic_to(left + r - k, bottom, left, bottom - r + k, left, bottom - r);
    builder.line_to(left, top + r);
    builder.cubic_to(left, top + r - k, left + r - k, top, left + r, top);
    builder.close();
}

/// Rectangles as `[left, top, right, bottom]` in pt, for the tests that check that nothing in
/// a layout leaves its place or overlaps anything else.
#[cfg(test)]
pub(super) mod boxes {
    use super::{Area, TextMark};

    /// The glyph box of a line of text.
    pub(in crate::poster) fn text_box(text: &TextMark) -> [f32; 4] {
        [
            text.x,
            text.baseline - text.ascent,
            text.x + text.width,
            text.baseline + text.descent,
        ]
    }

    /// The edges of `area`.
    pub(in crate::poster) fn area_box(area: Area) -> [f32; 4] {
        [area.x, area.y, area.x + area.width, area.y + area.height]
    }

    /// Whether two boxes overlap by more than a rounding error.
    pub(in crate::poster) fn overlap(a: [f32; 4], b: [f32; 4]) -> bool {
        const TOLERANCE: f32 = 0.01;
        a[0] < b[2] - TOLERANCE
            && b[0] < a[2] - TOLERANCE
            && a[1] < b[3] - TOLERANCE
            && b[1] < a[3] - TOLERANCE
    }
}
