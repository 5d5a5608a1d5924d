//! Reading the QR code in an uploaded picture, as the resident's camera would: PNG → 8-bit
//! luma → `rqrr`. A pure function; refusals carry the Japanese sentence the page shows.

use thiserror::Error;

/// Why no URL came out of a picture. The messages are shown to people, in Japanese.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum QrError {
    /// A JPEG (phone photos usually are): not decoded by the sandbox.
    #[error("JPEG画像には対応していません。PNG画像を選んでください。(JPEG is not supported; please upload a PNG.)")]
    Jpeg,
    /// Not a readable PNG.
    #[error("画像を読み込めませんでした。PNG画像を選んでください。(The image could not be read; please upload a PNG.)")]
    NotPng,
    /// A PNG, but no QR code could be read in it.
    #[error("画像の中にQRコードが見つかりませんでした。(No QR code was found in the image.)")]
    NoCode,
}

/// The text of the first QR code readable in a PNG.
pub fn decode_png(bytes: &[u8]) -> Result<String, QrError> {
    if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        return Err(QrError::Jpeg);
    }
    let (width, height, luma) = png_to_luma(bytes).ok_or(QrError::NotPng)?;
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| luma[y * width + x]);
    image.detect_grids().iter().find_map(|grid| grid.decode().ok()).map(|(_, text)| text).ok_or(QrError::NoCode)
}

/// Decodes any PNG (gray, RGB, palette, with or without alpha, any bit depth) to 8-bit luma,
/// transparent pixels counting as white paper.
fn png_to_luma(bytes: &[u8]) -> Option<(usize, usize, Vec<u8>)> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().ok()?;
    let mut buffer = vec![0; reader.output_buffer_size()?];
    let info = reader.next_frame(&mut buffer).ok()?;
    let (width, height) = (usize::try_from(info.width).ok()?, usize::try_from(info.height).ok()?);
    let channels = info.color_type.samples();
    let mut luma = Vec::with_capacity(width * height);
    for row in buffer.get(..info.line_size * height)?.chunks_exact(info.line_size) {
        for pixel in row.get(..width * channels)?.chunks_exact(channels) {
            luma.push(pixel_luma(pixel));
        }
    }
    Some((width, height, luma))
}

fn pixel_luma(pixel: &[u8]) -> u8 {
    let (gray, alpha) = match *pixel {
        [g] => (u32::from(g), 255),
        [g, a] => (u32::from(g), u32::from(a)),
        [r, g, b] => (rgb_luma(r, g, b), 255),
        [r, g, b, a, ..] => (rgb_luma(r, g, b), u32::from(a)),
        [] => (255, 255),
    };
    u8::try_from((gray * alpha + 255 * (255 - alpha)) / 255).unwrap_or(u8::MAX)
}

fn rgb_luma(r: u8, g: u8, b: u8) -> u32 {
    (299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b)) / 1000
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
    use super::*;

    /// A QR code drawn as an RGBA PNG with a quiet zone, `scale` pixels per module.
    pub(crate) fn qr_png(text: &str, scale: usize) -> Vec<u8> {
        let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
        let modules = code.width();
        let colors = code.to_colors();
        let size = (modules + 8) * scale;
        let mut pixels = vec![255u8; size * size * 4];
        for (i, color) in colors.iter().enumerate() {
            if *color == qrcode::Color::Dark {
                let (mx, my) = (i % modules + 4, i / modules + 4);
                for y in my * scale..(my + 1) * scale {
                    for x in mx * scale..(mx + 1) * scale {
                        pixels[(y * size + x) * 4..][..3].fill(0);
                    }
                }
            }
        }
        let mut out = Vec::new();
        let side = u32::try_from(size).unwrap();
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Rgba);
        encoder.write_header().unwrap().write_image_data(&pixels).unwrap();
        out
    }

    #[test]
    fn a_qr_code_in_a_png_is_read() {
        let url = "HTTP://127.0.0.1:8080/C/0123456789";
        assert_eq!(decode_png(&qr_png(url, 4)), Ok(url.to_owned()));
    }

    #[test]
    fn jpegs_other_files_and_empty_pictures_are_refused_in_japanese() {
        assert_eq!(decode_png(&[0xff, 0xd8, 0xff, 0xe0, 0, 16]), Err(QrError::Jpeg));
        assert_eq!(decode_png(b"%PDF-1.7"), Err(QrError::NotPng));
        let blank = {
            let mut out = Vec::new();
            let mut encoder = png::Encoder::new(&mut out, 8, 8);
            encoder.set_color(png::ColorType::Grayscale);
            encoder.write_header().unwrap().write_image_data(&[255; 64]).unwrap();
            out
        };
        assert_eq!(decode_png(&blank), Err(QrError::NoCode));
        assert!(QrError::Jpeg.to_string().starts_with("JPEG画像には対応していません"));
    }
}
