//! The oshirase central server as a library: everything the `oshirase-server` binary wires
//! together lives here so tests can build the same application without a socket.
//!
//! Where a request goes: [`routes`] maps URLs to handlers (one file per area), handlers call
//! the domain services ([`venues`]), which use the [`store`] and render with [`pages`] (HTML)
//! or [`poster`] (PDF, PNG, SVG).

pub mod admin;
pub mod audit;
pub mod cases;
pub mod config;
pub mod demo;
pub mod line;
pub mod messages;
pub mod metrics;
pub mod pages;
pub mod passes;
pub mod poster;
pub mod residents;
pub mod routes;
pub mod secrets;
pub mod staff;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod venues;
pub mod workers;

pub use routes::{AppState, app};
