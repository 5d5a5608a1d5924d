//! An in-memory frame that any screen can be drawn on and saved as PNG: the golden-image tests,
//! the render benchmark and the browser preview use it, and it is the reference for what the
//! Pi's framebuffer backend must show.

use std::convert::Infallible;

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::{DrawTarget, OriginDimensions, Pixel, Point, RgbColor, Size};
use embedded_graphics::primitives::Rectangle;

/// A `width × height` RGB frame held in memory, 8 bits per channel, row-major.
///
/// A new frame is white. Drawing outside it is clipped, like on a real display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PngFrame {
    size: Size,
    /// `width * height * 3` bytes: R, G, B per pixel.
    rgb: Vec<u8>,
}

impl PngFrame {
    /// A white frame of the given size in pixels.
    pub fn new(width: u32, height: u32) -> PngFrame {
        let bytes = width as usize * height as usize * 3;
        PngFrame {
            size: Size::new(width, height),
            rgb: vec![u8::MAX; bytes],
        }
    }

    /// The colour at `point`, or `None` outside the frame.
    pub fn pixel(&self, point: Point) -> Option<Rgb888> {
        let index = self.index(point)?;
        Some(Rgb888::new(
            self.rgb[index],
            self.rgb[index + 1],
            self.rgb[index + 2],
        ))
    }

    /// The raw pixels: R, G, B bytes per pixel, row by row from the top.
    pub fn rgb(&self) -> &[u8] {
        &self.rgb
    }

    /// The frame as 8-bit grey (Rec. 601 luma), row by row: what a QR decoder or a camera
    /// model works on.
    pub fn luma(&self) -> Vec<u8> {
        self.rgb
            .chunks_exact(3)
            .map(|px| {
                let weighted =
                    299 * u32::from(px[0]) + 587 * u32::from(px[1]) + 114 * u32::from(px[2]);
                // At most 255 * 1000 / 1000, so the division always fits a byte.
                u8::try_from((weighted + 500) / 1000).unwrap_or(u8::MAX)
            })
            .collect()
    }

    /// The frame as an 8-bit RGB PNG file.
    pub fn to_png(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.size.width, self.size.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::High);
        // Writing into a Vec cannot fail with an I/O error, and the buffer has exactly
        // width * height * 3 bytes by construction: a panic here is a bug in this module.
        let mut writer = encoder
            .write_header()
            .expect("writing a PNG header into a Vec cannot fail");
        writer
            .write_image_data(&self.rgb)
            .expect("the pixel buffer has exactly width * height * 3 bytes");
        writer
            .finish()
            .expect("finishing a PNG written into a Vec cannot fail");
        out
    }

    /// Byte offset of `point`'s red channel, or `None` outside the frame.
    fn index(&self, point: Point) -> Option<usize> {
        let x = usize::try_from(point.x).ok()?;
        let y = usize::try_from(point.y).ok()?;
        let width = self.size.width as usize;
        (x < width && y < self.size.height as usize).then_some((y * width + x) * 3)
    }
}

impl OriginDimensions for PngFrame {
    fn size(&self) -> Size {
        self.size
    }
}

impl DrawTarget for PngFrame {
    type Color = Rgb888;
    type Error = Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        for Pixel(point, color) in pixels {
            if let Some(index) = self.index(point) {
                self.rgb[index..index + 3].copy_from_slice(&[color.r(), color.g(), color.b()]);
            }
        }
        Ok(())
    }

    /// Fills whole rows at once: clearing the screen and drawing QR modules are most of a
    /// frame, so this is the fast path that keeps a frame around a millisecond.
    fn fill_solid(&mut self, area: &Rectangle, color: Self::Color) -> Result<(), Self::Error> {
        let area = area.intersection(&Rectangle::new(Point::zero(), self.size));
        let Some(bottom_right) = area.bottom_right() else {
            return Ok(());
        };
        let colour = [color.r(), color.g(), color.b()];
        for y in area.top_left.y..=bottom_right.y {
            let (Some(start), Some(end)) = (
                self.index(Point::new(area.top_left.x, y)),
                self.index(Point::new(bottom_right.x, y)),
            ) else {
                continue;
            };
            for px in self.rgb[start..end + 3].chunks_exact_mut(3) {
                px.copy_from_slice(&colour);
            }
        }
        Ok(())
    }
}
