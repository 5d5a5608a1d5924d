//! The rotating check-in code as a grid of modules, drawn with whole-pixel modules and the
//! 4-module white quiet zone the QR standard requires.
//!
//! Same choices as the venue poster (`server::poster::qr`), kept separate because the kiosk
//! must not depend on the server: error correction level M, which the upper-case
//! `HTTPS://HOST/K/<token>` URL keeps at version 3 or 4 in alphanumeric mode. Modules are
//! always a whole number of pixels, so no module is blurred into grey by scaling.

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::{DrawTarget, Point, Size};
use embedded_graphics::primitives::Rectangle;
use qrcode::QrCode;
use qrcode::types::{Color, EcLevel};

/// Width of the light border around the symbol, in modules.
pub(crate) const QUIET_ZONE: u32 = 4;

/// An encoded QR symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QrGrid {
    /// Modules per side, without the quiet zone.
    width: u32,
    /// Row-major; `true` is a dark module.
    dark: Vec<bool>,
}

impl QrGrid {
    /// Encodes `data` at error correction level M, or `None` if it does not fit a QR code.
    pub fn encode(data: &str) -> Option<QrGrid> {
        let code = QrCode::with_error_correction_level(data, EcLevel::M).ok()?;
        Some(QrGrid {
            width: u32::try_from(code.width()).ok()?,
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect(),
        })
    }

    /// Modules per side including the quiet zone on both sides.
    pub fn side_modules(&self) -> u32 {
        self.width + 2 * QUIET_ZONE
    }

    /// The largest whole number of pixels per module for which the symbol and its quiet
    /// zone fit in `side_px` (at least 1).
    pub fn module_px(&self, side_px: u32) -> u32 {
        (side_px / self.side_modules()).max(1)
    }

    /// Draws the symbol with its quiet zone, `module_px` pixels per module, the quiet zone's
    /// top-left corner at `top_left`. Dark modules are drawn one horizontal run at a time.
    pub fn draw<D>(
        &self,
        top_left: Point,
        module_px: u32,
        dark: Rgb888,
        light: Rgb888,
        target: &mut D,
    ) -> Result<(), D::Error>
    where
        D: DrawTarget<Color = Rgb888>,
    {
        let side = self.side_modules() * module_px;
        target.fill_solid(&Rectangle::new(top_left, Size::new(side, side)), light)?;
        let origin = top_left + Point::new(1, 1) * (QUIET_ZONE * module_px) as i32;
        let width = self.width as usize;
        for (row, modules) in self.dark.chunks_exact(width).enumerate() {
            let mut x = 0;
            while x < width {
                if !modules[x] {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < width && modules[x] {
                    x += 1;
                }
                let run = Rectangle::new(
                    origin + Point::new(start as i32, row as i32) * module_px as i32,
                    Size::new((x - start) as u32 * module_px, module_px),
                );
                target.fill_solid(&run, dark)?;
            }
        }
        Ok(())
    }
}
