//! Everything that knows LINE's wire formats (issue 4 builds on this).
//!
//! Architecture invariant: only this module knows LINE's JSON. Handlers receive parsed
//! [`webhook::Event`]s and call a client that takes our own types.
//!
//! Present so far: webhook signature verification ([`signature`]) and the webhook event model
//! ([`webhook`]), each tested against LINE's published vector and schema-shaped fixtures. The
//! webhook route, the Messaging API client and the sandbox come with the rest of issue 4.

pub mod signature;
pub mod webhook;
