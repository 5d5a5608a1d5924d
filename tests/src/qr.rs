//! Reading QR codes out of PNG images the way a phone camera would, with `rqrr`: a pure
//! function from image bytes to the texts of every code found.

/// The texts of every QR code readable in a PNG image (gray, gray+alpha, RGB, RGBA or
/// palette; any bit depth). Transparent pixels count as white paper.
pub fn decode_qr_png(png_bytes: &[u8]) -> Vec<String> {
    let (width, height, luma) = png_to_luma(png_bytes);
    decode_qr_luma(width, height, |x, y| luma[y * width + x])
}

/// The texts of every QR code readable in a greyscale image given pixel by pixel (lets a
/// caller decode a cropped region).
pub fn decode_qr_luma(width: usize, height: usize, luma: impl Fn(usize, usize) -> u8) -> Vec<String> {
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, luma);
    image.detect_grids().iter().filter_map(|grid| grid.decode().ok()).map(|(_, text)| text).collect()
}

/// Decodes a PNG into 8-bit luma, row by row: (width, height, pixels).
pub fn png_to_luma(png_bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().expect("a valid PNG");
    let mut buffer = vec![0; reader.output_buffer_size().expect("PNG size fits in memory")];
    let info = reader.next_frame(&mut buffer).expect("PNG pixels");
    let (width, height) = (info.width as usize, info.height as usize);
    let channels = info.color_type.samples();
    let mut luma = Vec::with_capacity(width * height);
    for row in buffer[..info.line_size * height].chunks_exact(info.line_size) {
        for pixel in row[..width * channels].chunks_exact(channels) {
            luma.push(pixel_luma(pixel));
        }
    }
    (width, height, luma)
}

/// Luma of one 8-bit pixel (1–4 samples), composited over white if it has alpha.
fn pixel_luma(pixel: &[u8]) -> u8 {
    let (gray, alpha) = match *pixel {
        [g] => (u32::from(g), 255),
        [g, a] => (u32::from(g), u32::from(a)),
        [r, g, b] => (rgb_luma(r, g, b), 255),
        [r, g, b, a] => (rgb_luma(r, g, b), u32::from(a)),
        _ => unreachable!("PNG pixels have 1 to 4 samples"),
    };
    let over_white = (gray * alpha + 255 * (255 - alpha)) / 255;
    u8::try_from(over_white).unwrap_or(u8::MAX)
}

fn rgb_luma(r: u8, g: u8, b: u8) -> u32 {
    (299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b)) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(width: u32, height: u32, color: png::ColorType, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(color);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.write_header().expect("header").write_image_data(data).expect("data");
        out
    }

    #[test]
    fn every_colour_type_becomes_the_same_luma() {
        let gray = encode(2, 1, png::ColorType::Grayscale, &[0, 255]);
        let rgb = encode(2, 1, png::ColorType::Rgb, &[0, 0, 0, 255, 255, 255]);
        let rgba = encode(2, 1, png::ColorType::Rgba, &[0, 0, 0, 255, 0, 0, 0, 0]);
        for image in [gray, rgb, rgba] {
            assert_eq!(png_to_luma(&image), (2, 1, vec![0, 255]));
        }
    }

    #[test]
    fn an_image_without_a_code_yields_nothing() {
        let blank = encode(64, 64, png::ColorType::Grayscale, &[255; 64 * 64]);
        assert!(decode_qr_png(&blank).is_empty());
    }
}
