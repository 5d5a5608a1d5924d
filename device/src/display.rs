//! Putting frames on the Pi's screen through the Linux framebuffer (`/dev/fb0`).
//!
//! [`pack`] turns an RGB frame into the framebuffer's pixel format (any bit depth and channel
//! layout the kernel reports: RGB565 on many small panels, XRGB8888 on HDMI) and is a pure
//! function, tested everywhere. [`Framebuffer`] opens the device and is built only with the
//! `framebuffer` cargo feature, so x86 CI never needs the hardware but still compiles it.

/// Where a channel sits in a framebuffer pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Channel {
    /// Bit offset of the channel in the pixel.
    pub offset: u32,
    /// Bits of the channel.
    pub length: u32,
}

/// A framebuffer's pixel layout, as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelLayout {
    /// Bits per pixel (16, 24 or 32).
    pub bits_per_pixel: u32,
    /// Bytes per line (may be more than width × bytes per pixel).
    pub line_length: u32,
    /// Red channel.
    pub red: Channel,
    /// Green channel.
    pub green: Channel,
    /// Blue channel.
    pub blue: Channel,
}

impl PixelLayout {
    /// XRGB8888, as on HDMI screens.
    pub fn xrgb8888(width: u32) -> PixelLayout {
        PixelLayout { bits_per_pixel: 32, line_length: width * 4, red: Channel { offset: 16, length: 8 }, green: Channel { offset: 8, length: 8 }, blue: Channel { offset: 0, length: 8 } }
    }

    /// RGB565, as on many small SPI/DSI panels.
    pub fn rgb565(width: u32) -> PixelLayout {
        PixelLayout { bits_per_pixel: 16, line_length: width * 2, red: Channel { offset: 11, length: 5 }, green: Channel { offset: 5, length: 6 }, blue: Channel { offset: 0, length: 5 } }
    }
}

fn scale(value: u8, channel: Channel) -> u32 {
    let length = channel.length.min(8);
    (u32::from(value) >> (8 - length)) << channel.offset
}

/// Packs an RGB frame (`width × height`, 3 bytes a pixel, row-major) into `into`, which holds
/// the framebuffer's lines (little-endian pixels, `layout.line_length` bytes a line). Pixels
/// outside either area are left alone.
pub fn pack(rgb: &[u8], width: u32, height: u32, layout: PixelLayout, into: &mut [u8]) {
    let bytes_per_pixel = (layout.bits_per_pixel / 8).max(1) as usize;
    let line = layout.line_length as usize;
    for y in 0..height as usize {
        let Some(out_line) = into.get_mut(y * line..(y + 1) * line) else { break };
        for x in 0..width as usize {
            let Some(px) = rgb.get((y * width as usize + x) * 3..(y * width as usize + x) * 3 + 3) else { return };
            let value = scale(px[0], layout.red) | scale(px[1], layout.green) | scale(px[2], layout.blue);
            let Some(out) = out_line.get_mut(x * bytes_per_pixel..(x + 1) * bytes_per_pixel) else { break };
            out.copy_from_slice(&value.to_le_bytes()[..bytes_per_pixel]);
        }
    }
}

/// The Linux framebuffer device.
#[cfg(feature = "framebuffer")]
#[derive(Debug)]
pub struct Framebuffer {
    device: framebuffer::Framebuffer,
    layout: PixelLayout,
    buffer: Vec<u8>,
}

#[cfg(feature = "framebuffer")]
impl Framebuffer {
    /// Opens a framebuffer device such as `/dev/fb0`.
    pub fn open(path: &std::path::Path) -> Result<Framebuffer, String> {
        let device = framebuffer::Framebuffer::new(path).map_err(|e| format!("cannot open {}: {e:?}", path.display()))?;
        let v = &device.var_screen_info;
        let layout = PixelLayout {
            bits_per_pixel: v.bits_per_pixel,
            line_length: device.fix_screen_info.line_length,
            red: Channel { offset: v.red.offset, length: v.red.length },
            green: Channel { offset: v.green.offset, length: v.green.length },
            blue: Channel { offset: v.blue.offset, length: v.blue.length },
        };
        let buffer = device.read_frame().to_vec();
        Ok(Framebuffer { device, layout, buffer })
    }

    /// The visible size in pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.device.var_screen_info.xres, self.device.var_screen_info.yres)
    }

    /// Shows an RGB frame of the screen's size.
    pub fn show(&mut self, rgb: &[u8], width: u32, height: u32) {
        pack(rgb, width, height, self.layout, &mut self.buffer);
        self.device.write_frame(&self.buffer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xrgb8888_keeps_every_bit() {
        let mut out = vec![0u8; 8];
        pack(&[0x12, 0x34, 0x56, 0xff, 0x00, 0x80], 2, 1, PixelLayout::xrgb8888(2), &mut out);
        assert_eq!(out, [0x56, 0x34, 0x12, 0x00, 0x80, 0x00, 0xff, 0x00]);
    }

    #[test]
    fn rgb565_drops_the_low_bits() {
        let mut out = vec![0u8; 4];
        pack(&[0xff, 0xff, 0xff, 0xf8, 0x00, 0x00], 2, 1, PixelLayout::rgb565(2), &mut out);
        assert_eq!(out, [0xff, 0xff, 0x00, 0xf8]);
    }

    #[test]
    fn padded_lines_are_respected() {
        let layout = PixelLayout { line_length: 12, ..PixelLayout::xrgb8888(2) };
        let mut out = vec![0xaa; 24];
        pack(&[0; 12], 2, 2, layout, &mut out);
        assert_eq!(&out[0..8], &[0; 8]);
        assert_eq!(&out[8..12], &[0xaa; 4], "padding untouched");
        assert_eq!(&out[12..20], &[0; 8]);
        assert_eq!(&out[20..24], &[0xaa; 4]);
    }

    #[test]
    fn a_frame_larger_than_the_screen_is_cut_not_overrun() {
        let mut out = vec![0xaa; 8];
        pack(&[0; 4 * 4 * 3], 4, 4, PixelLayout::xrgb8888(2), &mut out);
        assert_eq!(out, [0; 8]);
    }
}
