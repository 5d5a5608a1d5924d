//! The oshirase kiosk appliance (Raspberry Pi): rotating QR codes on a screen, and later
//! camera-read passes, GPIO feedback, an offline scan buffer and sync with the server.
//!
//! - [`screen`]: what the kiosk shows, as pure functions of its state drawn on any
//!   `embedded_graphics::DrawTarget`; PNG output for tests and the browser preview.
//! - [`protocol`]: the heartbeat (and later scan sync) logic as a state machine without I/O,
//!   driven by one event enum.
//! - [`pairing`] and [`storage`]: pairing with the server and keeping the kiosk's identity.

pub mod buffer;
pub mod camera;
pub mod display;
pub mod feedback;
pub mod pairing;
pub mod passes;
pub mod preview;
pub mod protocol;
pub mod scanner;
pub mod screen;
pub mod storage;

/// The kiosk's version, reported in its heartbeat.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
