//! Reading passes through the kiosk's camera: where frames come from, and how a QR code is
//! found in one.
//!
//! Frames reach the kiosk through the [`FrameSource`] trait, so everything after the camera —
//! decoding, pass checks, feedback — runs the same on the Pi, in tests and in the demo:
//!
//! - [`recorded::RecordedFrames`]: a folder of PNG files, for tests and demos;
//! - [`simulated::SimulatedCamera`]: a recording played once, then frames handed to it (the
//!   preview's `POST /camera`), for the demo and the end-to-end tests;
//! - `v4l::V4lCamera` (cargo feature `camera`): a V4L2 camera through nokhwa, on the Pi.
//!
//! [`reader::spawn_reader`] is the camera thread: it opens a source, decodes each frame and
//! sends the texts of frames with a code to the run loop.
//!
//! [`decode::decode`] is a pure function from a [`GrayFrame`] to the texts of the QR codes in
//! it; it owns its input and shares nothing, so the run loop can hand each frame to a blocking
//! thread (`tokio::task::spawn_blocking(move || decode(&frame))`). [`degrade`] is test support:
//! it renders a code the way a kiosk camera sees a pass held up to it, for the tests and the
//! `decode_bench` example.
//!
//! **Invariant:** nothing here knows what a pass is. A decoded text is checked (signature,
//! expiry, revocation) by the caller.

pub mod decode;
pub mod degrade;
pub mod reader;
pub mod recorded;
pub mod simulated;
#[cfg(feature = "camera")]
pub mod v4l;

use std::path::{Path, PathBuf};

/// The V4L2 index of a camera device given as a path (`/dev/video0` → 0; a symbolic link such
/// as `/dev/v4l/by-id/…` is followed) or as a bare number.
pub fn video_index(device: &Path) -> Option<u32> {
    let resolved = std::fs::canonicalize(device).unwrap_or_else(|_| device.to_owned());
    let name = resolved.to_str()?;
    name.strip_prefix("/dev/video").unwrap_or(name).parse().ok()
}

/// Where frames come from: a camera, or a recording.
///
/// `next_frame` blocks until a frame is there (a camera delivers at its own frame rate; a
/// recording returns at once), so call it from a blocking thread, not from the async runtime.
/// A source need not be `Send`: nokhwa's V4L2 camera is tied to the thread that opened it
/// (its stream holds the driver's memory-mapped buffers). Open the source on the thread that
/// reads it — e.g. pass `std::thread::spawn` a closure that opens it, then loops reading a
/// frame, decoding it and sending the texts to the run loop over a channel.
pub trait FrameSource {
    /// The next frame in 8-bit grey, or `None` once the source has no more frames (a recording
    /// played once; a camera never ends, it fails).
    fn next_frame(&mut self) -> Result<Option<GrayFrame>, CameraError>;
}

/// One camera frame in 8-bit grey (0 black, 255 white), row by row from the top left.
///
/// The only way in is [`GrayFrame::new`], which checks that the pixels fill the frame, so the
/// decoder never has to.
#[derive(Clone, PartialEq, Eq)]
pub struct GrayFrame {
    width: u32,
    height: u32,
    /// Exactly `width * height` bytes.
    pixels: Vec<u8>,
}

impl GrayFrame {
    /// A frame from its pixels; refused if the size is zero or the pixels do not fill exactly
    /// `width × height`.
    pub fn new(width: u32, height: u32, pixels: Vec<u8>) -> Result<GrayFrame, FrameError> {
        let expected = usize::try_from(u64::from(width) * u64::from(height))
            .map_err(|_| FrameError::TooLarge { width, height })?;
        if width == 0 || height == 0 {
            return Err(FrameError::Empty { width, height });
        }
        if pixels.len() != expected {
            return Err(FrameError::WrongLength {
                width,
                height,
                len: pixels.len(),
            });
        }
        Ok(GrayFrame {
            width,
            height,
            pixels,
        })
    }

    /// A frame of one grey level everywhere (a camera looking at a blank wall).
    pub fn uniform(width: u32, height: u32, level: u8) -> Result<GrayFrame, FrameError> {
        let len = usize::try_from(u64::from(width) * u64::from(height))
            .map_err(|_| FrameError::TooLarge { width, height })?;
        GrayFrame::new(width, height, vec![level; len])
    }

    /// Width in pixels (never 0).
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels (never 0).
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixels, `width × height` bytes, row by row.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// The grey level at (`x`, `y`), or `None` outside the frame.
    pub fn get(&self, x: u32, y: u32) -> Option<u8> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let index = y as usize * self.width as usize + x as usize;
        self.pixels.get(index).copied()
    }

    /// The frame as an 8-bit greyscale PNG file (for saving recordings).
    pub fn to_png(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        // Writing into a Vec cannot fail with an I/O error, and the pixels fill the frame by
        // construction: a panic here is a bug in this module.
        let mut writer = encoder
            .write_header()
            .expect("writing a PNG header into a Vec cannot fail");
        writer
            .write_image_data(&self.pixels)
            .expect("the pixel buffer has exactly width * height bytes");
        writer
            .finish()
            .expect("finishing a PNG written into a Vec cannot fail");
        out
    }
}

impl std::fmt::Debug for GrayFrame {
    /// The size only: a frame's 300,000 pixels would drown any log or test failure.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrayFrame")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

/// Why a [`GrayFrame`] could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A frame needs at least one pixel.
    #[error("a frame of {width}×{height} has no pixels")]
    Empty { width: u32, height: u32 },
    /// The pixel buffer does not match the size.
    #[error("{len} bytes do not make a {width}×{height} grey frame")]
    WrongLength { width: u32, height: u32, len: usize },
    /// The frame would not fit in memory on this machine.
    #[error("a frame of {width}×{height} is too large")]
    TooLarge { width: u32, height: u32 },
}

/// Why a [`FrameSource`] gave no frame.
#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    /// No camera is connected (or the requested one does not exist).
    #[error(
        "no camera found{}: connect a USB camera (it appears as /dev/video*) or run with recorded frames",
        index.map(|i| format!(" at index {i}")).unwrap_or_default()
    )]
    NoCamera {
        /// The index that was asked for, if the camera list was not empty.
        index: Option<u32>,
    },
    /// The camera exists but could not be opened, configured or read.
    #[error("camera: {0}")]
    Device(String),
    /// A recording's folder or file could not be read.
    #[error("could not read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A recording's folder holds no PNG frame.
    #[error("no PNG frames in {0}")]
    NoFrames(PathBuf),
    /// A recorded file is not a PNG this module can read.
    #[error("{path} is not a readable PNG image: {source}")]
    Png {
        path: PathBuf,
        #[source]
        source: png::DecodingError,
    },
    /// A frame had the wrong size for its pixels (a bad file or a driver bug).
    #[error("{origin}: {source}")]
    Frame {
        /// Where the frame came from (a file path or the camera).
        origin: String,
        #[source]
        source: FrameError,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_camera_is_named_by_its_device_path_or_its_index() {
        assert_eq!(video_index(Path::new("/dev/video0")), Some(0));
        assert_eq!(video_index(Path::new("/dev/video12")), Some(12));
        assert_eq!(video_index(Path::new("2")), Some(2));
        assert_eq!(video_index(Path::new("/dev/sda")), None);
    }
}
