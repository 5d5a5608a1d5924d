//! `oshirase-bench`: measures the path a resident's check-in takes through oshirase — a signed
//! LINE webhook in, a visit committed to SQLite (`synchronous=FULL`, group commit), the 200
//! out, and the confirmation reply delivered to the LINE sandbox — against the real server
//! binary, and compares its rate with a bare axum handler driven by the same generator.
//!
//! Read [`scenario`] first: it is the run, step by step. [`load`] is the generator,
//! [`source`] and [`body`] what it sends, [`bare`] the yardstick, [`process`] the server
//! child process, [`stats`] and [`report`] the numbers.

pub mod bare;
pub mod body;
pub mod load;
pub mod process;
pub mod report;
pub mod scenario;
pub mod source;
pub mod stats;
pub mod venue;
