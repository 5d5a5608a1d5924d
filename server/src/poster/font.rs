//! The Japanese font both printed documents (the A4 poster and the pass card) are set in: read
//! from disk once at start-up, checked for the glyphs a document needs, and measured glyph by
//! glyph so that every line can be placed by its width.
//!
//! [`LoadedFont`] keeps the file's bytes twice over: for measuring ([`Face`], through skrifa)
//! and parsed for the PDF writer (krilla, which embeds only the glyphs used). Text is made
//! printable by [`Face::printable`] before it is measured, so that a character the font lacks
//! prints as one 〓 instead of an empty box.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use krilla::text::Font;
use skrifa::charmap::Charmap;
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, GlyphId, MetadataProvider};

use super::pdf::PosterError;
use super::wrap::Measure;

/// Printed in place of a character the font has no glyph for (the geta mark, 〓, the
/// customary Japanese stand-in).
pub(super) const SUBSTITUTE: char = '〓';

/// Reads the font file at `path`, to be shared by every renderer that uses it.
pub(super) fn read_font_file(path: &Path) -> Result<Arc<Vec<u8>>, PosterError> {
    std::fs::read(path)
        .map(Arc::new)
        .map_err(|source| PosterError::ReadFont {
            path: path.to_path_buf(),
            source,
        })
}

/// A font file read once at start-up, kept once for measuring (skrifa, through [`Face`]) and
/// once parsed for the PDF writer (krilla); both share the same bytes.
pub(super) struct LoadedFont {
    /// The font path as configured, named in errors and in `Debug` output.
    pub(super) path: PathBuf,
    /// The whole font file.
    pub(super) bytes: Arc<Vec<u8>>,
    /// The font as the PDF writer embeds it.
    pub(super) pdf_font: Font,
}

impl LoadedFont {
    /// Checks that `bytes` (the file at `path`) is a font the PDF writer can embed, with a
    /// glyph for every character but white space in `required_texts` (the fixed texts a
    /// document always prints), so that a wrong font is caught at start-up instead of
    /// printing empty boxes.
    pub(super) fn new(
        path: &Path,
        bytes: Arc<Vec<u8>>,
        required_texts: &[&str],
    ) -> Result<LoadedFont, PosterError> {
        let not_a_font = |reason: String| PosterError::NotAFont {
            path: path.to_path_buf(),
            reason,
        };
        let face = Face::parse(&bytes).map_err(not_a_font)?;
        if let Some(ch) = required_texts
            .iter()
            .flat_map(|text| text.chars())
            .find(|&ch| !ch.is_whitespace() && !face.has_glyph(ch))
        {
            return Err(PosterError::MissingGlyph {
                path: path.to_path_buf(),
                ch,
            });
        }
        let pdf_font = Font::new(krilla::Data::from(Arc::clone(&bytes)), 0)
            .ok_or_else(|| not_a_font("the PDF writer cannot embed it".to_owned()))?;
        Ok(LoadedFont {
            path: path.to_path_buf(),
            bytes,
            pdf_font,
        })
    }

    /// The font's glyph lookups and metrics, for measuring the text of one document.
    pub(super) fn face(&self) -> Result<Face<'_>, PosterError> {
        Face::parse(&self.bytes).map_err(|reason| PosterError::NotAFont {
            path: self.path.clone(),
            reason,
        })
    }

    /// `Debug` output for a renderer named `name` that holds this font: the path and the
    /// file's size, not its bytes.
    pub(super) fn debug_as(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("font_path", &self.path)
            .field("font_bytes", &self.bytes.len())
            .finish()
    }
}

/// Glyph lookups and metrics for measuring text, borrowed from the font bytes.
pub(super) struct Face<'a> {
    charmap: Charmap<'a>,
    glyph_metrics: GlyphMetrics<'a>,
    units_per_em: f32,
    /// Distance from the baseline to the top of the glyph box, in ems.
    pub(super) ascent_em: f32,
    /// Distance from the baseline to the bottom of the glyph box, in ems (positive).
    pub(super) descent_em: f32,
}

impl<'a> Face<'a> {
    /// Parses the first font in `bytes`; the error says in words why it is not usable.
    pub(super) fn parse(bytes: &'a [u8]) -> Result<Face<'a>, String> {
        let font = FontRef::from_index(bytes, 0).map_err(|error| error.to_string())?;
        let charmap = font.charmap();
        if !charmap.has_map() {
            return Err("it has no Unicode character map".to_owned());
        }
        let metrics = font.metrics(Size::unscaled(), LocationRef::default());
        if metrics.units_per_em == 0 {
            return Err("it has no valid units-per-em (head table)".to_owned());
        }
        let units_per_em = f32::from(metrics.units_per_em);
        let (ascent_em, descent_em) = if metrics.ascent > 0.0 {
            (
                metrics.ascent / units_per_em,
                metrics.descent.abs() / units_per_em,
            )
        } else {
            (0.88, 0.12)
        };
        Ok(Face {
            charmap,
            glyph_metrics: font.glyph_metrics(Size::unscaled(), LocationRef::default()),
            units_per_em,
            ascent_em,
            descent_em,
        })
    }

    /// The glyph for `ch`, or `None` if the font has none (only `.notdef`).
    fn glyph(&self, ch: char) -> Option<GlyphId> {
        self.charmap
            .map(ch)
            .filter(|&glyph| glyph != GlyphId::NOTDEF)
    }

    /// Whether the font has a glyph for `ch`.
    pub(super) fn has_glyph(&self, ch: char) -> bool {
        self.glyph(ch).is_some()
    }

    /// `text` on one line: white space made single plain spaces and trimmed, control and
    /// invisible formatting characters dropped, and each run of characters the font lacks
    /// that belongs to one symbol (an emoji with its joiners, skin tones and variation
    /// selectors; a flag's two letters) replaced by one [`SUBSTITUTE`].
    pub(super) fn printable(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        // Whether the last character written was a substitute that a joiner, modifier or
        // second regional indicator may still extend.
        let mut open_substitute = false;
        let mut pending_join = false;
        let mut regional_indicators = 0_usize;
        for ch in text.chars() {
            if ch.is_whitespace() {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
                open_substitute = false;
                pending_join = false;
                regional_indicators = 0;
                continue;
            }
            if ch == '\u{200D}' {
                pending_join = open_substitute;
                continue;
            }
            if ch.is_control() || is_invisible_modifier(ch) {
                continue;
            }
            if self.has_glyph(ch) {
                out.push(ch);
                open_substitute = false;
                pending_join = false;
                regional_indicators = 0;
                continue;
            }
            let is_regional = ('\u{1F1E6}'..='\u{1F1FF}').contains(&ch);
            let extends =
                open_substitute && (pending_join || (is_regional && regional_indicators % 2 == 1));
            if !extends {
                out.push(SUBSTITUTE);
            }
            regional_indicators = if is_regional {
                regional_indicators + 1
            } else {
                0
            };
            open_substitute = true;
            pending_join = false;
        }
        out.trim().to_owned()
    }
}

/// Characters that only change how the one before them looks (variation selectors, skin
/// tones, emoji tags, a keycap's enclosing square) or are invisible (zero-width spaces,
/// directional marks): never printed on their own.
fn is_invisible_modifier(ch: char) -> bool {
    matches!(
        u32::from(ch),
        0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x20E3
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0x1F3FB..=0x1F3FF
            | 0xE0000..=0xE007F
            | 0xE0100..=0xE01EF
    )
}

impl Measure for Face<'_> {
    fn advance_em(&self, ch: char) -> f32 {
        let glyph = self.glyph(ch).unwrap_or(GlyphId::NOTDEF);
        self.glyph_metrics.advance_width(glyph).unwrap_or(0.0) / self.units_per_em
    }
}

#[cfg(test)]
mod tests {
    // Tests fail by panicking, so unwrapping is how they report an unexpected error.
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The font the deployment uses (Debian package fonts-ipaexfont-gothic).
    const FONT: &str = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf";

    fn font() -> LoadedFont {
        let path = Path::new(FONT);
        read_font_file(path)
            .and_then(|bytes| LoadedFont::new(path, bytes, &["あ漢〓…"]))
            .unwrap_or_else(|error| {
                panic!("{error}\nThe font tests need fonts-ipaexfont-gothic (scripts/test).")
            })
    }

    #[test]
    fn an_emoji_prints_as_one_geta_mark_and_control_characters_vanish() {
        let font = font();
        let face = font.face().unwrap();
        assert_eq!(face.printable("👨‍👩‍👧 家族 🇯🇵🇯🇵"), "〓 家族 〓〓");
        assert_eq!(face.printable("👍🏽おばあちゃん❤️"), "〓おばあちゃん〓");
        assert_eq!(face.printable("ラーメン🍜屋"), "ラーメン〓屋");
        assert_eq!(face.printable(" 祖母\u{7}\n\t 田中\u{200B} "), "祖母 田中");
    }

    #[test]
    fn a_font_without_a_required_character_is_refused_naming_it() {
        let path = Path::new(FONT);
        let error = LoadedFont::new(path, read_font_file(path).unwrap(), &["あ🍜"])
            .err()
            .unwrap();
        assert!(
            matches!(error, PosterError::MissingGlyph { ch: '🍜', .. }),
            "{error:?}"
        );
    }
}
