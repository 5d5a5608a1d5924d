//! The oshirase kiosk appliance (Raspberry Pi): rotating QR codes on a screen, camera-read
//! passes, GPIO feedback, an offline scan buffer and sync with the server.
//!
//! This crate is a placeholder that builds: the kiosk issues fill it. Its shape is already
//! decided (see ARCHITECTURE.md): screens are pure functions drawn on an
//! `embedded_graphics::DrawTarget`, hardware sits behind small traits with real adapters
//! behind cargo features, and the sync protocol is a state machine without I/O.

/// The kiosk's version, reported in its heartbeat.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
