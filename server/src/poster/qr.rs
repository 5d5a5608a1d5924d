//! The QR code a venue prints, as a plain grid of modules that every output format (PDF
//! poster, PNG download, SVG download) draws from, so they all show exactly the same code.
//!
//! Encoding uses error correction level M (15 % of the symbol may be damaged or dirty and it
//! still reads, while the code stays small) and lets `qrcode` choose the segments: check-in
//! URLs written in upper case fit the alphanumeric mode and stay at version 2 or 3, which
//! phones read quickly from across a counter. Every output adds the 4-module quiet zone the
//! QR standard requires, so a poster never depends on the paper around it being white.

use std::fmt::Write as _;

use qrcode::types::{Color, EcLevel, Version};
use qrcode::{QrCode, types::QrError as EncoderError};

/// Width of the light border around the symbol, in modules, that the QR standard requires.
pub const QUIET_ZONE: usize = 4;

/// Largest pixel size of one module [`QrMatrix::to_png`] draws: even a version 40 code is
/// then under 6000 px wide, so a wild argument cannot exhaust memory.
pub const MAX_MODULE_PX: u32 = 32;

/// Why a text could not become a QR code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QrError {
    /// The text does not fit in the largest QR code (version 40) at error correction level M.
    #[error("the text is too long for a QR code ({bytes} bytes)")]
    DataTooLong {
        /// Length of the rejected text in UTF-8 bytes.
        bytes: usize,
    },
    /// The encoder refused the text for another reason (it accepts any UTF-8, so this is not
    /// expected to happen).
    #[error("the QR encoder rejected the text: {reason}")]
    Rejected {
        /// The encoder's own description of the problem.
        reason: String,
    },
}

/// A QR code symbol: error correction level M, segments chosen by `qrcode` (mixed modes
/// where that is shorter), quiet zone of [`QUIET_ZONE`] modules added by every renderer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    /// Modules per side, without the quiet zone.
    width: usize,
    /// QR version, 1..=40.
    version: i16,
    /// Row-major, `width * width` flags; `true` is a dark module.
    dark: Vec<bool>,
}

impl QrMatrix {
    /// Encodes `data` at error correction level M in the smallest version that holds it.
    pub fn encode(data: &str) -> Result<QrMatrix, QrError> {
        let code =
            QrCode::with_error_correction_level(data, EcLevel::M).map_err(|error| match error {
                EncoderError::DataTooLong => QrError::DataTooLong { bytes: data.len() },
                other => QrError::Rejected {
                    reason: other.to_string(),
                },
            })?;
        let version = match code.version() {
            Version::Normal(number) | Version::Micro(number) => number,
        };
        let dark = code
            .to_colors()
            .into_iter()
            .map(|color| color == Color::Dark)
            .collect();
        Ok(QrMatrix {
            width: code.width(),
            version,
            dark,
        })
    }

    /// Modules per side, without the quiet zone.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The QR version number (1..=40); each version adds 4 modules per side.
    pub fn version(&self) -> i16 {
        self.version
    }

    /// Whether the module in column `x`, row `y` (both without the quiet zone) is dark.
    /// Positions outside the symbol are light, like the quiet zone around it.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.dark[y * self.width + x]
    }

    /// Modules per side including the quiet zone on both sides.
    pub fn width_with_quiet_zone(&self) -> usize {
        self.width + 2 * QUIET_ZONE
    }

    /// An 8-bit greyscale PNG, black modules on white, `module_px` pixels per module
    /// (clamped to 1..=[`MAX_MODULE_PX`]), with the quiet zone included.
    pub fn to_png(&self, module_px: u32) -> Vec<u8> {
        let module_px = module_px.clamp(1, MAX_MODULE_PX);
        let side_modules = u32::try_from(self.width_with_quiet_zone())
            .expect("a QR code is at most 185 modules wide with its quiet zone");
        let pixels = self.greyscale_pixels(module_px as usize);
        encode_greyscale_png(side_modules * module_px, &pixels)
    }

    /// A standalone SVG document: a white background and one black `<path>` made of the
    /// horizontal dark runs. The `viewBox` is in modules and includes the quiet zone, so the
    /// image scales to any size without blurring.
    pub fn to_svg(&self) -> String {
        let side = self.width_with_quiet_zone();
        let mut path = String::with_capacity(self.dark.len() * 4);
        for (row, start_x, len) in self.dark_runs() {
            let x = start_x + QUIET_ZONE;
            let y = row + QUIET_ZONE;
            // Writing to a String cannot fail.
            let _ = write!(path, "M{x} {y}h{len}v1h-{len}z");
        }
        format!(
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                "\n",
                r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" "#,
                r#"shape-rendering="crispEdges">"#,
                r##"<rect width="{side}" height="{side}" fill="#fff"/>"##,
                r##"<path fill="#000" d="{path}"/>"##,
                "</svg>\n"
            ),
            side = side,
            path = path
        )
    }

    /// Horizontal runs of dark modules as `(row, start_x, len)`, row by row from the top,
    /// left to right, in module coordinates without the quiet zone. Drawing one rectangle
    /// per run needs several times fewer shapes than one per module.
    pub fn dark_runs(&self) -> impl Iterator<Item = (usize, usize, usize)> {
        DarkRuns {
            matrix: self,
            row: 0,
            x: 0,
        }
    }

    /// Pixel rows of the PNG: quiet zone included, 0 for dark and 255 for light.
    fn greyscale_pixels(&self, module_px: usize) -> Vec<u8> {
        let side_modules = self.width_with_quiet_zone();
        let side = side_modules * module_px;
        let mut pixels = Vec::with_capacity(side * side);
        for py in 0..side {
            let my = py / module_px;
            for px in 0..side {
                let mx = px / module_px;
                pixels.push(if self.is_dark_with_quiet_zone(mx, my) {
                    0
                } else {
                    255
                });
            }
        }
        pixels
    }

    /// Like [`QrMatrix::is_dark`], but in coordinates that include the quiet zone.
    fn is_dark_with_quiet_zone(&self, x: usize, y: usize) -> bool {
        match (x.checked_sub(QUIET_ZONE), y.checked_sub(QUIET_ZONE)) {
            (Some(x), Some(y)) => self.is_dark(x, y),
            _ => false,
        }
    }
}

/// Iterator behind [`QrMatrix::dark_runs`].
struct DarkRuns<'a> {
    matrix: &'a QrMatrix,
    row: usize,
    x: usize,
}

impl Iterator for DarkRuns<'_> {
    type Item = (usize, usize, usize);

    fn next(&mut self) -> Option<Self::Item> {
        let width = self.matrix.width;
        while self.row < width {
            while self.x < width && !self.matrix.is_dark(self.x, self.row) {
                self.x += 1;
            }
            if self.x < width {
                let start = self.x;
                while self.x < width && self.matrix.is_dark(self.x, self.row) {
                    self.x += 1;
                }
                return Some((self.row, start, self.x - start));
            }
            self.row += 1;
            self.x = 0;
        }
        None
    }
}

/// Encodes a square 8-bit greyscale image as PNG.
fn encode_greyscale_png(side: u32, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    // The only ways these calls fail are an I/O error (impossible when writing to a Vec) or
    // a pixel buffer whose size does not match the header, which `greyscale_pixels` rules
    // out by construction; a panic here would be a bug in this module, not bad input.
    let mut writer = encoder
        .write_header()
        .expect("writing a PNG header into a Vec cannot fail");
    writer
        .write_image_data(pixels)
        .expect("the pixel buffer has exactly side * side bytes");
    writer
        .finish()
        .expect("finishing a PNG written into a Vec cannot fail");
    out
}

#[cfg(test)]
mod tests {
    // Tests may panic on unexpected errors: that is how they fail.
    #![allow(clippy::unwrap_used)]

    use super::*;

    const URL: &str = "HTTPS://OSHIRASE.PREF.SAITAMA.LG.JP/C/7K3M9QX2P4";

    /// The one QR code in a PNG, read by `rqrr` (through the e2e crate's decoder).
    fn decode_png(png_bytes: &[u8]) -> String {
        let mut texts = oshirase_e2e::decode_qr_png(png_bytes);
        assert_eq!(texts.len(), 1, "exactly one QR code is found in the PNG");
        texts.remove(0)
    }

    #[test]
    fn an_upper_case_checkin_url_encodes_at_version_3_or_lower() {
        let qr = QrMatrix::encode(URL).unwrap();
        assert!(qr.version() <= 3, "version {}", qr.version());
        assert_eq!(qr.width(), 17 + 4 * usize::try_from(qr.version()).unwrap());
    }

    #[test]
    fn the_png_decodes_back_to_the_exact_text() {
        let qr = QrMatrix::encode(URL).unwrap();
        assert_eq!(decode_png(&qr.to_png(4)), URL);
    }

    #[test]
    fn the_png_is_8_bit_grey_with_a_four_module_quiet_zone() {
        let qr = QrMatrix::encode(URL).unwrap();
        let png_bytes = qr.to_png(3);
        let decoder = png::Decoder::new(std::io::Cursor::new(&png_bytes));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        let side = u32::try_from((qr.width() + 2 * QUIET_ZONE) * 3).unwrap();
        assert_eq!((info.width, info.height), (side, side));
        assert_eq!((info.color_type, info.bit_depth), (png::ColorType::Grayscale, png::BitDepth::Eight));
    }

    #[test]
    fn mixed_case_text_still_round_trips_through_the_png() {
        let text = "https://example.jp/c/7k3m9qx2p4?ref=poster";
        let qr = QrMatrix::encode(text).unwrap();
        assert_eq!(decode_png(&qr.to_png(5)), text);
    }

    #[test]
    fn the_svg_has_a_view_box_of_width_plus_eight_modules_and_one_path() {
        let qr = QrMatrix::encode(URL).unwrap();
        let svg = qr.to_svg();
        let side = qr.width() + 8;
        assert!(
            svg.contains(&format!(r#"viewBox="0 0 {side} {side}""#)),
            "{svg}"
        );
        assert_eq!(svg.matches("<path").count(), 1);
        assert!(svg.contains(r#"shape-rendering="crispEdges""#));
        assert!(svg.contains(&format!(
            r##"<rect width="{side}" height="{side}" fill="#fff"/>"##
        )));
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn the_svg_path_has_one_rectangle_per_dark_run_inside_the_quiet_zone() {
        let qr = QrMatrix::encode(URL).unwrap();
        let svg = qr.to_svg();
        assert_eq!(svg.matches('M').count(), qr.dark_runs().count());
        assert!(
            svg.contains("M4 4h7v1h-7z"),
            "the top-left finder starts at (4, 4)"
        );
    }

    #[test]
    fn dark_runs_cover_exactly_the_dark_modules() {
        let qr = QrMatrix::encode(URL).unwrap();
        let mut covered = vec![false; qr.width() * qr.width()];
        for (row, start, len) in qr.dark_runs() {
            assert!(len > 0);
            for x in start..start + len {
                let cell = &mut covered[row * qr.width() + x];
                assert!(!*cell, "runs do not overlap");
                *cell = true;
            }
            assert!(
                start == 0 || !qr.is_dark(start - 1, row),
                "runs are maximal"
            );
            assert!(!qr.is_dark(start + len, row), "runs are maximal");
        }
        for y in 0..qr.width() {
            for x in 0..qr.width() {
                assert_eq!(covered[y * qr.width() + x], qr.is_dark(x, y), "({x}, {y})");
            }
        }
    }

    #[test]
    fn text_longer_than_version_40_holds_is_rejected() {
        let text = "A".repeat(5000);
        assert_eq!(
            QrMatrix::encode(&text),
            Err(QrError::DataTooLong { bytes: 5000 })
        );
    }
}
