//! Recorded frames: a folder of PNG images played as if a camera saw them, one file per frame
//! in file-name order. Tests and the demo use it instead of a camera, so the rest of the kiosk
//! cannot tell the difference.
//!
//! Any PNG works — grey or colour, with or without alpha (transparent is read as white, the way
//! a code on a transparent background looks on a white page), 1 to 16 bits — and is turned into
//! 8-bit grey with the Rec. 601 weights the kiosk's screen preview uses. Files with other
//! extensions in the folder are skipped, so a recording can sit beside its notes.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use super::{CameraError, FrameError, FrameSource, GrayFrame};

/// A recording: PNG files played in order, once or round and round.
#[derive(Debug, Clone)]
pub struct RecordedFrames {
    paths: Vec<PathBuf>,
    next: usize,
    repeat: Repeat,
}

/// What a recording does after its last frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// `next_frame` answers `None`.
    Once,
    /// Starts again from the first frame.
    Forever,
}

impl RecordedFrames {
    /// Every `*.png` file directly in `dir`, sorted by file name, played once. Refused if the
    /// folder cannot be read or holds no PNG file.
    pub fn open(dir: impl AsRef<Path>) -> Result<RecordedFrames, CameraError> {
        let dir = dir.as_ref();
        let read_error = |source| CameraError::Read {
            path: dir.to_owned(),
            source,
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_error)? {
            let path = entry.map_err(read_error)?.path();
            if is_png_name(&path) && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        if paths.is_empty() {
            return Err(CameraError::NoFrames(dir.to_owned()));
        }
        Ok(RecordedFrames::from_paths(paths))
    }

    /// These files, in this order, played once (files are read only when their turn comes).
    pub fn from_paths(paths: Vec<PathBuf>) -> RecordedFrames {
        RecordedFrames {
            paths,
            next: 0,
            repeat: Repeat::Once,
        }
    }

    /// The same recording, starting again after its last frame instead of ending: a kiosk
    /// demo that keeps "seeing" the same pass.
    pub fn forever(self) -> RecordedFrames {
        RecordedFrames {
            repeat: Repeat::Forever,
            ..self
        }
    }

    /// The files of the recording, in playing order.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }
}

impl FrameSource for RecordedFrames {
    fn next_frame(&mut self) -> Result<Option<GrayFrame>, CameraError> {
        if self.next >= self.paths.len() {
            match self.repeat {
                Repeat::Once => return Ok(None),
                Repeat::Forever => self.next = 0,
            }
        }
        let Some(path) = self.paths.get(self.next) else {
            return Ok(None);
        };
        self.next += 1;
        read_png(path).map(Some)
    }
}

/// Reads one PNG file as an 8-bit grey frame.
pub fn read_png(path: &Path) -> Result<GrayFrame, CameraError> {
    let file = File::open(path).map_err(|source| CameraError::Read {
        path: path.to_owned(),
        source,
    })?;
    decode_png(BufReader::new(file), path)
}

/// Decodes PNG bytes held in memory (an uploaded photo, say) as an 8-bit grey frame.
pub fn png_to_frame(bytes: &[u8]) -> Result<GrayFrame, CameraError> {
    decode_png(std::io::Cursor::new(bytes), Path::new("<memory>"))
}

fn is_png_name(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| ext.eq_ignore_ascii_case("png"))
}

/// Decodes a PNG read from `reader`; `path` names it in errors.
fn decode_png<R: std::io::BufRead + std::io::Seek>(
    reader: R,
    path: &Path,
) -> Result<GrayFrame, CameraError> {
    let png_error = |source| CameraError::Png {
        path: path.to_owned(),
        source,
    };
    let frame_error = |source| CameraError::Frame {
        origin: path.display().to_string(),
        source,
    };
    let mut decoder = png::Decoder::new(reader);
    // Palette and low bit depths expanded, 16 bits stripped: 8-bit grey or colour, ± alpha.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(png_error)?;
    let (width, height) = (reader.info().width, reader.info().height);
    let (color, _) = reader.output_color_type();
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| frame_error(FrameError::TooLarge { width, height }))?;
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf).map_err(png_error)?;
    buf.truncate(info.buffer_size());
    let grey = to_grey(&buf, color, info.line_size, width as usize);
    GrayFrame::new(width, height, grey).map_err(frame_error)
}

/// 8-bit pixels of any colour type to 8-bit grey, row by row (rows may be padded to `line`).
fn to_grey(buf: &[u8], color: png::ColorType, line: usize, width: usize) -> Vec<u8> {
    let channels = color.samples();
    let mut grey = Vec::with_capacity(buf.len() / channels.max(1));
    for row in buf.chunks(line.max(1)) {
        for px in row.chunks_exact(channels).take(width) {
            grey.push(pixel_to_grey(px, color));
        }
    }
    grey
}

fn pixel_to_grey(px: &[u8], color: png::ColorType) -> u8 {
    match (color, px) {
        (png::ColorType::GrayscaleAlpha, &[y, a]) => over_white(y, a),
        (png::ColorType::Rgb, &[r, g, b]) => luma(r, g, b),
        (png::ColorType::Rgba, &[r, g, b, a]) => over_white(luma(r, g, b), a),
        // Grayscale (and Indexed, which normalize_to_color8 never leaves).
        _ => px.first().copied().unwrap_or(u8::MAX),
    }
}

/// Rec. 601 luma, as in `screen::PngFrame::luma`.
fn luma(r: u8, g: u8, b: u8) -> u8 {
    let weighted = 299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b);
    // At most 255 * 1000 / 1000, so it fits a byte.
    u8::try_from((weighted + 500) / 1000).unwrap_or(u8::MAX)
}

/// `y` seen with opacity `a` in front of white.
fn over_white(y: u8, a: u8) -> u8 {
    let (y, a) = (u32::from(y), u32::from(a));
    // At most (255 * 255 + 255 * 0 + 127) / 255, so it fits a byte.
    u8::try_from((y * a + 255 * (255 - a) + 127) / 255).unwrap_or(u8::MAX)
}
