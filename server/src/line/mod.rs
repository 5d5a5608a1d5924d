//! Everything that knows LINE's wire formats (issue 4 builds on this).
//!
//! Architecture invariant: only this module knows LINE's JSON. Handlers receive parsed
//! [`webhook::Event`]s and call a client that takes our own types.
//!
//! - [`signature`]: the webhook's `x-line-signature`.
//! - [`webhook`]: webhook bodies as our own event types.
//! - [`messages`]: our messages and their LINE message objects.
//! - [`client`]: the Messaging API client.
//! - [`deep_link`]: the `oaMessage` link a scanned code redirects to.

pub mod client;
pub mod deep_link;
pub mod messages;
pub mod signature;
pub mod webhook;
