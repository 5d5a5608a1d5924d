//! The camera thread: opens a [`FrameSource`] on its own thread (a V4L2 camera is tied to the
//! thread that opened it), reads frames, decodes them and sends the texts of each frame that
//! has a code to the run loop, with when the frame was seen.
//!
//! Decoding the next frame only once the last is done is the whole flow control: a slow Pi
//! reads fewer frames, never a growing queue of old ones. A camera that fails is opened again
//! after a pause; a recording that ends ends the thread.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::decode::decode;
use super::{CameraError, FrameSource};

/// Errors in a row after which the camera is closed and opened again.
const ERRORS_BEFORE_REOPENING: u32 = 5;
/// The pause after a failed read.
const AFTER_AN_ERROR: Duration = Duration::from_millis(200);
/// The pause before opening a camera again.
const BEFORE_REOPENING: Duration = Duration::from_secs(5);

/// The codes read in one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    /// When the frame was taken from the camera.
    pub seen_at: Instant,
    /// The texts of the QR codes in it (never empty).
    pub texts: Vec<String>,
}

/// Opens a frame source; called on the camera thread, again after the camera failed.
pub type Opener = Box<dyn FnMut() -> Result<Box<dyn FrameSource>, CameraError> + Send>;

/// Starts the camera thread. It ends when the source ends or `sightings` is closed.
pub fn spawn_reader(mut open: Opener, sightings: mpsc::Sender<Sighting>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("camera".into()).spawn(move || {
        while !sightings.is_closed() {
            match open() {
                Ok(source) => {
                    if read(source, &sightings) == Ended::ForGood {
                        return;
                    }
                }
                Err(error) => tracing::error!(%error, "cannot open the camera; trying again in 5 s"),
            }
            std::thread::sleep(BEFORE_REOPENING);
        }
    })
}

#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// The source ended, or nobody listens any more.
    ForGood,
    /// The camera keeps failing: open it again.
    Failing,
}

fn read(mut source: Box<dyn FrameSource>, sightings: &mpsc::Sender<Sighting>) -> Ended {
    let mut errors = 0;
    loop {
        match source.next_frame() {
            Ok(Some(frame)) => {
                errors = 0;
                let seen_at = Instant::now();
                let texts = decode(&frame);
                if !texts.is_empty() && sightings.blocking_send(Sighting { seen_at, texts }).is_err() {
                    return Ended::ForGood;
                }
            }
            Ok(None) => {
                tracing::info!("the camera's frames have ended");
                return Ended::ForGood;
            }
            Err(error) => {
                errors += 1;
                tracing::warn!(%error, "the camera gave no frame");
                if errors >= ERRORS_BEFORE_REOPENING {
                    return Ended::Failing;
                }
                std::thread::sleep(AFTER_AN_ERROR);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

    use super::*;
    use crate::camera::GrayFrame;
    use crate::camera::degrade::{Symbol, printed};
    use crate::camera::simulated::SimulatedCamera;

    #[test]
    fn frames_with_codes_reach_the_loop_in_order_and_empty_frames_do_not() {
        let (camera, injector) = SimulatedCamera::new(None, Duration::ZERO);
        let (sender, mut receiver) = mpsc::channel(4);
        let mut camera = Some(camera);
        let opener: Opener = Box::new(move || camera.take().map(|c| Box::new(c) as Box<dyn FrameSource>).ok_or(CameraError::NoCamera { index: None }));
        let thread = spawn_reader(opener, sender).unwrap();
        injector.show(printed(&Symbol::encode("FIRST").unwrap(), 4)).unwrap();
        injector.show(GrayFrame::uniform(64, 48, 200).unwrap()).unwrap();
        injector.show(printed(&Symbol::encode("SECOND").unwrap(), 4)).unwrap();
        let first = receiver.blocking_recv().unwrap();
        let second = receiver.blocking_recv().unwrap();
        assert_eq!((first.texts, second.texts), (vec!["FIRST".to_owned()], vec!["SECOND".to_owned()]));
        assert!(first.seen_at <= second.seen_at);
        drop(injector);
        thread.join().unwrap();
        assert_eq!(receiver.blocking_recv(), None, "the camera ended with its injector");
    }
}
