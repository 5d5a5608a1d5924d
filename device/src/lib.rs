//! The oshirase kiosk appliance (Raspberry Pi): rotating QR codes on a screen, passes read by
//! a camera and checked offline, GPIO feedback, an offline scan buffer and sync with the
//! server.
//!
//! - [`screen`]: what the kiosk shows, as pure functions of its state drawn on any
//!   `embedded_graphics::DrawTarget`; PNG output for tests and the browser preview.
//! - [`protocol`]: the heartbeat and scan sync logic as a state machine without I/O, driven
//!   by one event enum; it also holds the pass key and the revocation list.
//! - [`pairing`] and [`storage`]: the server's kiosk API (pairing, heartbeat, scan sync) and
//!   the kiosk's identity on disk; [`passes`]: the pass key and the revocation list.
//! - [`camera`]: frames (a V4L2 camera, recordings, the simulated camera), QR decoding and
//!   the camera thread.
//! - [`scanner`]: what a frame's codes mean (accept, refuse, or the same scan again), pure;
//!   [`station`]: a verdict turned into a committed scan ([`buffer`]) and its answer.
//! - [`feedback`]: buzzer, LEDs and help button; [`panel`] and [`preview`]: what is shown
//!   now, and the preview over HTTP (with the simulated camera's controls).

pub mod buffer;
pub mod camera;
pub mod display;
pub mod feedback;
pub mod pairing;
pub mod panel;
pub mod passes;
pub mod preview;
pub mod protocol;
pub mod scanner;
pub mod screen;
pub mod station;
pub mod storage;

/// The kiosk's version, reported in its heartbeat.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
