//! Integration tests: a real sandbox on 127.0.0.1:0, real HTTP, and tiny axum apps standing in
//! for the oshirase server (a webhook receiver, a venue-code redirector). One test binary with
//! a module per area, so the crate links once.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod helpers;

mod binary;
mod faults;
mod media;
mod messaging;
mod page;
mod scan;
mod webhooks;
