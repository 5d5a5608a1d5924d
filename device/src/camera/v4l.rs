//! The kiosk's camera on the Pi: a V4L2 device (`/dev/video*`, a USB camera) read through
//! nokhwa, behind the `camera` cargo feature so that CI and development machines build
//! without it.
//!
//! The decoder needs grey, and grey is what cameras deliver cheapest: the camera is asked for
//! 640×480 (or the closest size it has) in `GRAY`, `YUYV` or `NV12`, whose luma is read out
//! directly, byte for byte, with no colour conversion. MJPEG is not used: decoding JPEG on the
//! Pi would cost more than the QR decoding itself.

use nokhwa::Camera;
use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
    Resolution,
};

use super::{CameraError, FrameSource, GrayFrame};

/// The frame size asked of the camera.
pub const REQUESTED_SIZE: (u32, u32) = (640, 480);
/// The frame rate asked of the camera.
pub const REQUESTED_FPS: u32 = 30;

/// Raw formats whose luma can be read without conversion, in order of preference.
const FORMATS: [FrameFormat; 3] = [FrameFormat::GRAY, FrameFormat::YUYV, FrameFormat::NV12];

/// A V4L2 camera, streaming.
pub struct V4lCamera {
    camera: Camera,
    format: CameraFormat,
}

impl std::fmt::Debug for V4lCamera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V4lCamera")
            .field("name", &self.camera.info().human_name())
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl V4lCamera {
    /// Opens camera `index` (0 for `/dev/video0`) and starts streaming. Fails with
    /// [`CameraError::NoCamera`] when there is no camera at all or none at that index, and
    /// with [`CameraError::Device`] when it cannot deliver grey, YUYV or NV12 frames.
    pub fn open(index: u32) -> Result<V4lCamera, CameraError> {
        let cameras = nokhwa::query(ApiBackend::Video4Linux).map_err(device_error)?;
        if cameras.is_empty() {
            return Err(CameraError::NoCamera { index: None });
        }
        let wanted = CameraIndex::Index(index);
        if !cameras.iter().any(|info| info.index() == &wanted) {
            return Err(CameraError::NoCamera { index: Some(index) });
        }
        let mut camera = open_in_any_format(&wanted)?;
        camera.open_stream().map_err(device_error)?;
        let format = camera.camera_format();
        Ok(V4lCamera { camera, format })
    }

    /// The format the camera delivers (size, raw format, frame rate).
    pub fn format(&self) -> CameraFormat {
        self.format
    }
}

impl FrameSource for V4lCamera {
    fn next_frame(&mut self) -> Result<Option<GrayFrame>, CameraError> {
        let resolution = self.format.resolution();
        let (width, height) = (resolution.width(), resolution.height());
        let raw = self.camera.frame_raw().map_err(device_error)?;
        let pixels = luma(&raw, self.format.format(), width as usize * height as usize);
        GrayFrame::new(width, height, pixels)
            .map(Some)
            .map_err(|source| CameraError::Frame {
                origin: format!("camera frame in {}", self.format),
                source,
            })
    }
}

/// Tries each luma-friendly format at the size closest to 640×480.
fn open_in_any_format(index: &CameraIndex) -> Result<Camera, CameraError> {
    let (width, height) = REQUESTED_SIZE;
    let mut last_error = None;
    for format in FORMATS {
        let wanted = CameraFormat::new(Resolution::new(width, height), format, REQUESTED_FPS);
        let request = RequestedFormat::with_formats(RequestedFormatType::Closest(wanted), &FORMATS);
        match Camera::with_backend(index.clone(), request, ApiBackend::Video4Linux) {
            Ok(camera) => return Ok(camera),
            Err(error) => last_error = Some(error),
        }
    }
    Err(CameraError::Device(format!(
        "the camera offers no GRAY, YUYV or NV12 mode ({})",
        last_error.map(|e| e.to_string()).unwrap_or_default()
    )))
}

/// The luma bytes of a raw frame: all of GRAY, every other byte of YUYV (Y0 U Y1 V), the
/// first plane of NV12. A short frame (a driver hiccup) gives a short buffer, which
/// [`GrayFrame::new`] then refuses.
fn luma(raw: &[u8], format: FrameFormat, pixels: usize) -> Vec<u8> {
    match format {
        FrameFormat::YUYV => raw.iter().step_by(2).take(pixels).copied().collect(),
        _ => raw.iter().take(pixels).copied().collect(),
    }
}

fn device_error(error: nokhwa::NokhwaError) -> CameraError {
    CameraError::Device(error.to_string())
}
