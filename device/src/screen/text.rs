//! Japanese text drawn on any `DrawTarget`: IPAex Gothic rasterised by `ab_glyph`, with line
//! breaking that suits Japanese (a break may fall between any two kana or kanji, but not
//! before 、。or a small kana, and Latin words stay whole) and shrink-to-fit for names of any
//! length.
//!
//! `DrawTarget` cannot read pixels back, so anti-aliasing blends each pixel's coverage between
//! the text colour and the background colour the caller says is under the text. Every screen
//! draws text only on areas it has just filled with a known colour, so this is exact.

use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontArc, FontVec, GlyphId, PxScale, ScaleFont, point};
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::{DrawTarget, Pixel, Point, RgbColor};

/// Where Debian's `fonts-ipaexfont-gothic` package installs IPAex Gothic.
pub const DEFAULT_FONT_PATH: &str = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf";

/// The fonts the screens use, loaded once at start-up and shared by every frame.
#[derive(Clone)]
pub struct Fonts {
    gothic: FontArc,
}

/// Why the kiosk's font could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FontError {
    /// The file could not be read (missing, or not readable by the kiosk's user).
    #[error("cannot read the font file {path}: {source}")]
    Read {
        /// The file that was asked for.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a TrueType/OpenType font.
    #[error("{path} is not a font that can be read")]
    Parse {
        /// The file that was asked for.
        path: PathBuf,
    },
    /// The font has no Japanese glyphs, so every message would show as empty boxes.
    #[error("{path} has no Japanese glyphs (expected IPAex Gothic)")]
    NoJapanese {
        /// The file that was asked for.
        path: PathBuf,
    },
}

impl Fonts {
    /// Reads and checks the font at `path` (normally [`DEFAULT_FONT_PATH`]). Glyph outlines
    /// are parsed lazily, so this costs little more than reading the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Fonts, FontError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| FontError::Read {
            path: path.to_owned(),
            source,
        })?;
        let font = FontVec::try_from_vec(bytes).map_err(|_| FontError::Parse {
            path: path.to_owned(),
        })?;
        if font.glyph_id('あ') == GlyphId(0) || font.glyph_id('館') == GlyphId(0) {
            return Err(FontError::NoJapanese {
                path: path.to_owned(),
            });
        }
        Ok(Fonts {
            gothic: FontArc::new(font),
        })
    }
}

impl std::fmt::Debug for Fonts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fonts").finish_non_exhaustive()
    }
}

/// How a run of text looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Style {
    /// Em size in pixels (a kanji is about this wide).
    pub size: f32,
    /// The text colour.
    pub color: Rgb888,
    /// The colour already under the text, blended with for anti-aliasing.
    pub background: Rgb888,
    /// Thicker strokes (IPAex Gothic has one weight; bold widens each stroke by a few pixels).
    pub bold: bool,
}

impl Style {
    /// Regular text.
    pub fn regular(size: f32, color: Rgb888, background: Rgb888) -> Style {
        Style {
            size,
            color,
            background,
            bold: false,
        }
    }

    /// The same style, bold.
    pub fn bold(self) -> Style {
        Style { bold: true, ..self }
    }

    /// The same style at another size.
    fn sized(self, size: f32) -> Style {
        Style { size, ..self }
    }

    /// Height of one line box: Japanese reads best with generous leading.
    pub fn line_height(&self) -> f32 {
        self.size * 1.42
    }

    /// Extra pixels each stroke is widened by when bold.
    fn embolden_px(&self) -> usize {
        if self.bold {
            // Rounded to whole pixels: at least one, about a thirtieth of the em.
            (self.size / 30.0).round().max(1.0) as usize
        } else {
            0
        }
    }
}

/// Horizontal placement of each line within its box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    /// Flush with the left edge.
    Left,
    /// Centred.
    Center,
}

/// Text broken into lines at one style, ready to measure and draw.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Paragraph {
    pub lines: Vec<String>,
    pub style: Style,
}

impl Paragraph {
    /// Total height of the line boxes in pixels.
    pub fn height(&self) -> i32 {
        (self.lines.len() as f32 * self.style.line_height()).round() as i32
    }

    /// Draws the lines from `top`, each aligned in the box from `left` that is `width` wide.
    pub fn draw<D>(
        &self,
        fonts: &Fonts,
        left: i32,
        top: i32,
        width: i32,
        align: Align,
        target: &mut D,
    ) -> Result<(), D::Error>
    where
        D: DrawTarget<Color = Rgb888>,
    {
        let line_height = self.style.line_height();
        for (index, line) in self.lines.iter().enumerate() {
            let line_top = top as f32 + index as f32 * line_height;
            let x = match align {
                Align::Left => left as f32,
                Align::Center => left as f32 + (width as f32 - fonts.width(line, self.style)) / 2.0,
            };
            fonts.draw_line(line, self.style, x.round(), line_top, target)?;
        }
        Ok(())
    }
}

/// Paragraphs set one under another, each with the space above it in pixels.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Stack(pub Vec<(Paragraph, i32)>);

impl Stack {
    /// Total height in pixels, spaces included.
    pub fn height(&self) -> i32 {
        self.0.iter().map(|(paragraph, above)| above + paragraph.height()).sum()
    }

    /// Draws the paragraphs from `top`, each line aligned in the box from `left` that is
    /// `width` wide.
    pub fn draw<D>(
        &self,
        fonts: &Fonts,
        left: i32,
        top: i32,
        width: i32,
        align: Align,
        target: &mut D,
    ) -> Result<(), D::Error>
    where
        D: DrawTarget<Color = Rgb888>,
    {
        let mut y = top;
        for (paragraph, above) in &self.0 {
            y += above;
            paragraph.draw(fonts, left, y, width, align, target)?;
            y += paragraph.height();
        }
        Ok(())
    }
}

impl Fonts {
    /// Breaks `text` into lines no wider than `max_width` at `style`.
    pub(crate) fn paragraph(&self, text: &str, style: Style, max_width: f32) -> Paragraph {
        Paragraph {
            lines: self.wrap(text, style, max_width),
            style,
        }
    }

    /// The largest paragraph of `text`, from `style.size` down to `min_size`, that fits in
    /// `max_lines` lines and `max_height` pixels. If even `min_size` does not fit, the last
    /// line that fits ends in "…".
    pub(crate) fn fit(
        &self,
        text: &str,
        style: Style,
        max_width: f32,
        max_height: f32,
        max_lines: usize,
        min_size: f32,
    ) -> Paragraph {
        let mut size = style.size;
        loop {
            let style = style.sized(size);
            let allowed = max_lines
                .min((max_height / style.line_height()) as usize)
                .max(1);
            let mut paragraph = self.paragraph(text, style, max_width);
            if paragraph.lines.len() <= allowed {
                return paragraph;
            }
            let smaller = size * 0.92;
            if smaller < min_size {
                paragraph.lines.truncate(allowed);
                if let Some(last) = paragraph.lines.last_mut() {
                    *last = self.ellipsize(last, style, max_width);
                }
                return paragraph;
            }
            size = smaller;
        }
    }

    /// Advance width of one line of `text` in pixels.
    pub(crate) fn width(&self, text: &str, style: Style) -> f32 {
        let font = self.gothic.as_scaled(self.scale(style.size));
        let mut width = 0.0;
        let mut previous: Option<GlyphId> = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(previous) = previous {
                width += font.kern(previous, id);
            }
            width += font.h_advance(id);
            previous = Some(id);
        }
        width + style.embolden_px() as f32
    }

    /// Draws one line whose line box starts at (`left`, `top`).
    pub(crate) fn draw_line<D>(
        &self,
        text: &str,
        style: Style,
        left: f32,
        top: f32,
        target: &mut D,
    ) -> Result<(), D::Error>
    where
        D: DrawTarget<Color = Rgb888>,
    {
        let coverage = self.rasterise(text, style, left, top);
        let Some(coverage) = coverage else {
            return Ok(());
        };
        target.draw_iter(coverage.pixels(style))
    }

    /// Distance in pixels from the top of a line box to the baseline of its text, so that
    /// runs of two sizes on one line can share a baseline.
    pub(crate) fn baseline(&self, style: Style) -> f32 {
        let font = self.gothic.as_scaled(self.scale(style.size));
        let glyph_height = font.ascent() - font.descent();
        (style.line_height() - glyph_height) / 2.0 + font.ascent()
    }

    /// The em size in pixels as the `PxScale` ab_glyph wants (ascent to descent).
    fn scale(&self, em_px: f32) -> PxScale {
        let units_per_em = self.gothic.units_per_em().unwrap_or(1000.0);
        PxScale::from(em_px * self.gothic.height_unscaled() / units_per_em)
    }

    /// The coverage of one line, accumulated over all its glyphs so that touching glyphs
    /// blend correctly, then widened if bold. `None` for a line with no ink.
    fn rasterise(&self, text: &str, style: Style, left: f32, top: f32) -> Option<Coverage> {
        let scale = self.scale(style.size);
        let font = self.gothic.as_scaled(scale);
        let glyph_height = font.ascent() - font.descent();
        let baseline = (top + (style.line_height() - glyph_height) / 2.0 + font.ascent()).round();

        let mut outlines = Vec::with_capacity(text.len());
        let mut caret = left;
        let mut previous: Option<GlyphId> = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(previous) = previous {
                caret += font.kern(previous, id);
            }
            let glyph = id.with_scale_and_position(scale, point(caret, baseline));
            caret += font.h_advance(id);
            previous = Some(id);
            outlines.extend(font.outline_glyph(glyph));
        }

        let first = outlines.first()?.px_bounds();
        let (mut min_x, mut min_y, mut max_x, mut max_y) =
            (first.min.x, first.min.y, first.max.x, first.max.y);
        for bounds in outlines.iter().map(|outline| outline.px_bounds()) {
            min_x = min_x.min(bounds.min.x);
            min_y = min_y.min(bounds.min.y);
            max_x = max_x.max(bounds.max.x);
            max_y = max_y.max(bounds.max.y);
        }
        let embolden = style.embolden_px();
        let origin = Point::new(min_x as i32, min_y as i32);
        let width = (max_x - min_x) as usize + 1 + embolden;
        let height = (max_y - min_y) as usize + 1;
        let mut values = vec![0.0_f32; width * height];
        for outline in &outlines {
            let bounds = outline.px_bounds();
            let dx = (bounds.min.x as i32 - origin.x) as usize;
            let dy = (bounds.min.y as i32 - origin.y) as usize;
            outline.draw(|x, y, c| {
                let cell = &mut values[(dy + y as usize) * width + dx + x as usize];
                *cell = (*cell + c).min(1.0);
            });
        }
        if embolden > 0 {
            widen(&mut values, width, embolden);
        }
        Some(Coverage {
            origin,
            width,
            values,
        })
    }

    /// `line` shortened until it fits `max_width` with a trailing "…".
    fn ellipsize(&self, line: &str, style: Style, max_width: f32) -> String {
        let mut chars: Vec<char> = line.chars().collect();
        loop {
            let candidate: String = chars.iter().chain(['…'].iter()).collect();
            if chars.is_empty() || self.width(&candidate, style) <= max_width {
                return candidate;
            }
            chars.pop();
        }
    }

    /// Line breaking: between the words of a name written with spaces when that takes no
    /// more lines (so "メインアリーナ" is not cut in two), otherwise over [`break_units`].
    fn wrap(&self, text: &str, style: Style, max_width: f32) -> Vec<String> {
        let fine = self.wrap_units(break_units(text), style, max_width);
        if text.contains(' ') && !text.contains(PHRASE_BREAK) {
            let words: Vec<String> = text.split_inclusive(' ').map(str::to_owned).collect();
            let all_fit = words
                .iter()
                .all(|word| self.width(word.trim_end(), style) <= max_width);
            if all_fit {
                let coarse = self.wrap_units(words, style, max_width);
                if coarse.len() <= fine.len() {
                    return coarse;
                }
            }
        }
        fine
    }

    /// Greedy line breaking: as many units on each line as fit.
    fn wrap_units(&self, units: Vec<String>, style: Style, max_width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut current = String::new();
        for unit in units {
            let candidate = format!("{current}{unit}");
            if current.trim().is_empty() || self.width(candidate.trim_end(), style) <= max_width {
                current = candidate;
                if current.trim().is_empty() {
                    current.clear();
                }
            } else {
                lines.push(current.trim_end().to_owned());
                current = unit.trim_start().to_owned();
            }
            // A unit wider than a whole line (a long URL, a run of Latin letters) is cut
            // between characters.
            while self.width(current.trim_end(), style) > max_width && current.chars().count() > 1 {
                let (head, tail) = self.split_to_width(&current, style, max_width);
                lines.push(head);
                current = tail;
            }
        }
        if !current.trim().is_empty() {
            lines.push(current.trim_end().to_owned());
        }
        lines
    }

    /// The longest prefix of `text` (at least one character) that fits, and the rest.
    fn split_to_width(&self, text: &str, style: Style, max_width: f32) -> (String, String) {
        let chars: Vec<char> = text.chars().collect();
        let mut take = 1;
        while take < chars.len() {
            let prefix: String = chars[..=take].iter().collect();
            if self.width(&prefix, style) > max_width {
                break;
            }
            take += 1;
        }
        (
            chars[..take].iter().collect(),
            chars[take..].iter().collect(),
        )
    }
}

/// The ink of one rasterised line.
struct Coverage {
    origin: Point,
    width: usize,
    /// Row-major coverage, 0.0 (none) to 1.0 (full).
    values: Vec<f32>,
}

impl Coverage {
    /// The inked pixels, each coloured by blending the text colour over the background.
    fn pixels(&self, style: Style) -> impl Iterator<Item = Pixel<Rgb888>> + '_ {
        self.values
            .iter()
            .enumerate()
            .filter(|(_, coverage)| **coverage >= 1.0 / 512.0)
            .map(move |(index, coverage)| {
                let x = self.origin.x + (index % self.width) as i32;
                let y = self.origin.y + (index / self.width) as i32;
                Pixel(
                    Point::new(x, y),
                    blend(style.background, style.color, *coverage),
                )
            })
    }
}

/// `from` moved towards `to` by `amount` (0.0 to 1.0), per channel.
pub(crate) fn blend(from: Rgb888, to: Rgb888, amount: f32) -> Rgb888 {
    let channel = |a: u8, b: u8| -> u8 {
        let value = f32::from(a) + (f32::from(b) - f32::from(a)) * amount;
        value.round().clamp(0.0, 255.0) as u8
    };
    Rgb888::new(
        channel(from.r(), to.r()),
        channel(from.g(), to.g()),
        channel(from.b(), to.b()),
    )
}

/// Widens strokes by `by` pixels to the right: each cell takes the maximum of itself and the
/// `by` cells to its left (the buffer has `by` spare columns on the right for this).
fn widen(values: &mut [f32], width: usize, by: usize) {
    for row in values.chunks_exact_mut(width) {
        for x in (1..width).rev() {
            let from = x.saturating_sub(by);
            let strongest = row[from..=x].iter().copied().fold(0.0_f32, f32::max);
            row[x] = strongest;
        }
    }
}

/// Characters that may not begin a line (Japanese kinsoku rules, plus Latin punctuation).
const NO_LINE_START: &str =
    "、。，．・：；？！ー－）」』】〕〉》ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々…,.:;!?)]}%";
/// Characters that may not end a line.
const NO_LINE_END: &str = "（「『【〔〈《([{";
/// Marks where a break is preferred: when a text contains it, lines break only there and at
/// spaces, so fixed messages wrap between phrases rather than inside words.
const PHRASE_BREAK: char = '\u{200B}';

/// Splits `text` into pieces a line may break between: phrases when the text marks them with
/// U+200B, otherwise single kana and kanji and whole Latin words, with spaces as pieces of
/// their own and kinsoku characters kept with their neighbours.
fn break_units(text: &str) -> Vec<String> {
    if text.contains(PHRASE_BREAK) {
        return text
            .split(PHRASE_BREAK)
            .flat_map(|phrase| phrase.split_inclusive(' '))
            .filter(|piece| !piece.is_empty())
            .map(str::to_owned)
            .collect();
    }
    let mut units: Vec<String> = Vec::new();
    let mut in_word = false;
    for c in text.chars() {
        let attach = match units.last() {
            None => false,
            Some(last) if c == ' ' || last == " " => false,
            Some(last) => {
                NO_LINE_START.contains(c)
                    || last.ends_with(|end| NO_LINE_END.contains(end))
                    || (in_word && c.is_ascii_graphic())
            }
        };
        match units.last_mut() {
            Some(last) if attach => last.push(c),
            _ => units.push(c.to_string()),
        }
        in_word = c.is_ascii_graphic()
            && units.last().is_some_and(|unit| {
                unit.chars()
                    .all(|ch| ch.is_ascii_graphic() || NO_LINE_END.contains(ch))
            });
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_words_stay_whole_and_kana_break_anywhere() {
        assert_eq!(break_units("Kiosk ok"), ["Kiosk", " ", "ok"]);
        assert_eq!(break_units("第1会議室"), ["第", "1", "会", "議", "室"]);
    }

    #[test]
    fn small_kana_and_commas_never_start_a_line_and_open_brackets_never_end_one() {
        assert_eq!(break_units("ちょっと、"), ["ちょっ", "と、"]);
        assert_eq!(break_units("「体育館」"), ["「体", "育", "館」"]);
    }

    #[test]
    fn marked_phrases_are_the_only_break_points() {
        assert_eq!(
            break_units("LINEの\u{200B}カメラで\u{200B}読み取る"),
            ["LINEの", "カメラで", "読み取る"]
        );
    }
}
