//! A faithful stand-in for the LINE platform, for oshirase's tests and local demo (LINE itself
//! cannot be reached from our machines).
//!
//! It plays both sides of LINE that oshirase touches:
//! - **The Messaging API** (`/v2/bot/…`: reply, push, multicast, quota, consumption, profile)
//!   with LINE's authentication, limits, error bodies, retry keys (409 with
//!   `x-line-accepted-request-id`), monthly quota and rate limits (429), and silent
//!   non-delivery to residents who blocked the account. See [`messaging`].
//! - **Residents and their phones**: simulated users who add the account, block it, write,
//!   press buttons and scan QR codes, each action delivered to the webhook URL as LINE
//!   delivers it (signed, 2-second timeout, optional redelivery). See [`sandbox`],
//!   [`webhook`] and [`scan`].
//! - **Images**: after accepting an image message, LINE fetches its two URLs itself (HTTPS,
//!   JPEG or PNG, 10 MB and 1 MB); so does the sandbox, off the request path, recording per
//!   message what it found and keeping the original for the page. See [`media`].
//!
//! One deliberate, named deviation from LINE exists for local use: `allow_http_media`
//! (`--allow-http-media`, off by default) also accepts `http://` image URLs, since the demo and
//! the tests serve images from a server on plain `http://127.0.0.1:PORT`. See
//! [`Knobs::allow_http_media`].
//!
//! Tests and scripts drive it through the control API under `/sandbox/…` ([`control`]) or,
//! in-process, through [`Sandbox`]'s methods; people drive it through the page at `/`
//! ([`page`]). Faults (latency, 5xx, outage) can be injected into the Messaging API
//! ([`faults`]).
//!
//! ## How request bodies are checked
//! By hand-written validators ([`validate`]) rather than a JSON-Schema crate: most of the
//! limits that matter (text ≤ 5,000 UTF-16 units, confirm text ≤ 240, labels ≤ 20 …) are in
//! LINE's prose reference, not in `messaging-api.yml`; the schema's `allOf` + `discriminator`
//! shapes need an OpenAPI-aware validator; and errors must carry LINE's property paths. What
//! the schema does state (required fields, item counts, lengths, the lists of message,
//! template and action types) is compared with the validators by tests that read the vendored
//! YAML in `schema/`. Covered: reply/push/multicast envelopes, `text`, `image` and `template`
//! (`buttons`, `confirm`) messages, `postback`/`uri`/`message` actions, `quickReply` and
//! `sender`. Every other type in the schema (flex, sticker, carousel, …) is refused with a 400
//! saying the sandbox does not support it — a deliberate difference from LINE, so nothing
//! unchecked passes silently.
//!
//! ## Using it from another crate's tests
//! ```ignore
//! let handle = Sandbox::start(SandboxConfig::new("secret", "token").with_webhook_url(url)).await?;
//! // point the server's LINE API base URL and deep-link base at handle.base_url()
//! let resident = handle.sandbox().add_resident("山田 花子")?;
//! let report = handle.sandbox().scan(&resident.user_id, &poster_url).await?;
//! ```

pub mod config;
pub mod control;
pub mod faults;
pub mod ids;
pub mod line_error;
pub mod media;
pub mod messaging;
pub mod page;
pub mod qr;
pub mod rate_limit;
pub mod residents;
pub mod sandbox;
pub mod scan;
pub mod server;
pub mod validate;
pub mod webhook;

pub use config::{ConfigUpdate, Knobs, RateLimits, SandboxConfig};
pub use faults::FaultSettings;
pub use media::{FetchStatus, ImageContent, Media};
pub use residents::{Friendship, InboxEntry, ResidentView, Via};
pub use sandbox::{ActionError, Sandbox};
pub use scan::ScanReport;
pub use server::{SandboxHandle, app};
pub use webhook::{Delivery, WebhookAttempt};
