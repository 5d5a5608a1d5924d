//! The simulated camera, for the demo and the end-to-end tests: it plays a recording once at a
//! camera's pace, then "sees" only the frames handed to it through a [`FrameInjector`] (the
//! preview's `POST /camera` and its "このカードを見せる" buttons), one frame each — a pass
//! shown for a moment. The rest of the kiosk cannot tell it from a real camera.

use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::time::Duration;

use super::recorded::RecordedFrames;
use super::{CameraError, FrameSource, GrayFrame};

/// Time between two frames of a recording: 10 frames a second.
pub const RECORDING_FRAME_INTERVAL: Duration = Duration::from_millis(100);

/// Frames waiting to be seen; more are refused until the camera has caught up.
const INJECTED_QUEUE: usize = 16;

/// A camera made of a recording and frames handed to it.
#[derive(Debug)]
pub struct SimulatedCamera {
    recording: Option<RecordedFrames>,
    interval: Duration,
    injected: Receiver<GrayFrame>,
}

/// Hands frames to a [`SimulatedCamera`]; clones hand them to the same camera.
#[derive(Debug, Clone)]
pub struct FrameInjector(SyncSender<GrayFrame>);

/// Why a frame could not be handed to the camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InjectError {
    /// Frames are waiting already; try again in a moment.
    #[error("the simulated camera has frames waiting; try again in a moment")]
    Busy,
    /// The camera has stopped.
    #[error("the simulated camera has stopped")]
    Stopped,
}

impl SimulatedCamera {
    /// A camera that first plays `recording` (if any) once, a frame every `interval`, then
    /// waits for injected frames. Frames injected while the recording plays come first.
    pub fn new(recording: Option<RecordedFrames>, interval: Duration) -> (SimulatedCamera, FrameInjector) {
        let (sender, injected) = mpsc::sync_channel(INJECTED_QUEUE);
        (SimulatedCamera { recording, interval, injected }, FrameInjector(sender))
    }
}

impl FrameInjector {
    /// Puts `frame` in front of the camera, as its next frame. Never blocks.
    pub fn show(&self, frame: GrayFrame) -> Result<(), InjectError> {
        self.0.try_send(frame).map_err(|e| match e {
            TrySendError::Full(_) => InjectError::Busy,
            TrySendError::Disconnected(_) => InjectError::Stopped,
        })
    }
}

impl FrameSource for SimulatedCamera {
    /// The next injected frame if one waits, else the recording's next frame (after the
    /// interval), else blocks until a frame is injected; `None` once every injector is gone
    /// and the recording is over.
    fn next_frame(&mut self) -> Result<Option<GrayFrame>, CameraError> {
        match self.injected.try_recv() {
            Ok(frame) => return Ok(Some(frame)),
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => {}
        }
        if let Some(recording) = &mut self.recording {
            std::thread::sleep(self.interval);
            match recording.next_frame()? {
                Some(frame) => return Ok(Some(frame)),
                None => self.recording = None,
            }
        }
        Ok(self.injected.recv().ok())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

    use super::*;

    #[test]
    fn the_recording_plays_once_then_injected_frames_are_seen_one_each() {
        let dir = tempfile::tempdir().unwrap();
        for (name, level) in [("a.png", 10), ("b.png", 20)] {
            std::fs::write(dir.path().join(name), GrayFrame::uniform(4, 3, level).unwrap().to_png()).unwrap();
        }
        let recording = RecordedFrames::open(dir.path()).unwrap();
        let (mut camera, injector) = SimulatedCamera::new(Some(recording), Duration::ZERO);
        let level = |frame: Option<GrayFrame>| frame.unwrap().get(0, 0).unwrap();
        assert_eq!(level(camera.next_frame().unwrap()), 10);
        injector.show(GrayFrame::uniform(4, 3, 99).unwrap()).unwrap();
        assert_eq!(level(camera.next_frame().unwrap()), 99, "an injected frame comes first");
        assert_eq!(level(camera.next_frame().unwrap()), 20);
        injector.show(GrayFrame::uniform(4, 3, 77).unwrap()).unwrap();
        assert_eq!(level(camera.next_frame().unwrap()), 77, "after the recording, only injected frames");
        drop(injector);
        assert_eq!(camera.next_frame().unwrap(), None, "no injector left: the camera ends");
    }

    #[test]
    fn a_camera_with_a_full_queue_says_busy_and_a_stopped_one_says_so() {
        let (camera, injector) = SimulatedCamera::new(None, Duration::ZERO);
        let frame = GrayFrame::uniform(2, 2, 0).unwrap();
        for _ in 0..INJECTED_QUEUE {
            injector.show(frame.clone()).unwrap();
        }
        assert_eq!(injector.show(frame.clone()), Err(InjectError::Busy));
        drop(camera);
        assert_eq!(injector.show(frame), Err(InjectError::Stopped));
    }
}
