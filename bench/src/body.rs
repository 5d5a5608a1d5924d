//! Webhook bodies as LINE delivers them, made by hand into a reused buffer and signed as LINE
//! signs them (`x-line-signature` = base64(HMAC-SHA256(channel secret, raw body))). Written
//! out directly rather than through `serde_json::Value` so that making a request costs the
//! load generator a couple of microseconds, not the server's share of the two cores; a test
//! checks the result against the sandbox's own event JSON.

use std::fmt::Write as _;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Crockford's base32 alphabet, as ULIDs use it.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// One text message event from a resident, with everything LINE puts in it.
#[derive(Debug, Clone, Copy)]
pub struct TextEvent<'a> {
    /// The bot's user id (`destination`).
    pub destination: &'a str,
    /// The resident (`source.userId`).
    pub user_id: &'a str,
    /// A ULID-shaped id, unique per event.
    pub webhook_event_id: &'a str,
    /// When the resident sent it (Unix ms).
    pub timestamp_ms: u64,
    /// The token the reply must carry.
    pub reply_token: &'a str,
    /// `message.id` (18 digits, as LINE's).
    pub message_id: u64,
    /// What the resident wrote.
    pub text: &'a str,
}

/// Writes the compact JSON webhook body holding only `event` into `out` (cleared first).
pub fn write_text_event_body(event: &TextEvent<'_>, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(br#"{"destination":"#);
    json_string(event.destination, out);
    out.extend_from_slice(br#","events":[{"type":"message","mode":"active","timestamp":"#);
    out.extend_from_slice(event.timestamp_ms.to_string().as_bytes());
    out.extend_from_slice(br#","source":{"type":"user","userId":"#);
    json_string(event.user_id, out);
    out.extend_from_slice(br#"},"webhookEventId":"#);
    json_string(event.webhook_event_id, out);
    out.extend_from_slice(br#","deliveryContext":{"isRedelivery":false},"replyToken":"#);
    json_string(event.reply_token, out);
    out.extend_from_slice(br#","message":{"id":""#);
    out.extend_from_slice(event.message_id.to_string().as_bytes());
    out.extend_from_slice(br#"","type":"text","quoteToken":"q"#);
    out.extend_from_slice(event.message_id.to_string().as_bytes());
    out.extend_from_slice(br#"","text":"#);
    json_string(event.text, out);
    out.extend_from_slice(b"}}]}");
}

/// LINE's webhook signer for one channel: the HMAC key schedule is done once and cloned per
/// body.
#[derive(Clone)]
pub struct Signer {
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer for the channel with this secret.
    pub fn new(channel_secret: &str) -> Signer {
        let keyed = <Hmac<Sha256> as Mac>::new_from_slice(channel_secret.as_bytes()).unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        Signer { keyed }
    }

    /// `x-line-signature` for `body`.
    pub fn sign(&self, body: &[u8]) -> String {
        let mut mac = self.keyed.clone();
        mac.update(body);
        STANDARD.encode(mac.finalize().into_bytes())
    }
}

/// A ULID-shaped webhook event id (26 Crockford symbols: 48 bits of milliseconds, then 16
/// bits naming the generator stream and 64 bits of its counter), unique by construction
/// across streams, no random source needed.
pub fn event_id(ms: u64, stream: u16, sequence: u64) -> String {
    let value = (u128::from(ms & 0xffff_ffff_ffff) << 80) | (u128::from(stream) << 64) | u128::from(sequence);
    let mut id = String::with_capacity(26);
    for i in 0..26 {
        let shift = 5 * (25 - i);
        let symbol = usize::try_from((value >> shift) & 0x1f).unwrap_or_else(|_| unreachable!("five bits"));
        id.push(char::from(CROCKFORD[symbol]));
    }
    id
}

/// A message id of 18 digits, as LINE's, distinct for distinct `(stream, sequence)` pairs
/// below 2^16 and 10^12.
pub fn message_id(stream: u16, sequence: u64) -> u64 {
    100_000_000_000_000_000 + u64::from(stream) * 1_000_000_000_000 + sequence % 1_000_000_000_000
}

/// Appends `text` as a JSON string literal.
fn json_string(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in text.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            c if u32::from(c) < 0x20 => {
                let mut escaped = String::new();
                let _ = write!(escaped, "\\u{:04x}", u32::from(c));
                out.extend_from_slice(escaped.as_bytes());
            }
            c => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

    use oshirase_line_sandbox::webhook::{self, Event, EventKind};
    use serde_json::Value;

    use super::*;

    #[test]
    fn signatures_match_lines_published_example() {
        let body = br#"{"destination":"U8e742f61d673b39c7fff3cecb7536ef0","events":[]}"#;
        assert_eq!(Signer::new("8c570fa6dd201bb328f1c1eac23a96d8").sign(body), "GhRKmvmHys4Pi8DxkF4+EayaH0OqtJtaZxgTD9fMDLs=");
    }

    #[test]
    fn a_body_is_the_json_the_sandbox_itself_delivers() {
        let user = format!("U{}", "ab".repeat(16));
        let id = event_id(1_700_000_000_000, 3, 41);
        let mid = message_id(3, 41);
        let text = "来場登録 7K3M9QX2P4 \"quoted\"\\";
        let mut ours = Vec::new();
        let event = TextEvent { destination: "Ubot", user_id: &user, webhook_event_id: &id, timestamp_ms: 1_700_000_000_123, reply_token: "tok", message_id: mid, text };
        write_text_event_body(&event, &mut ours);
        let sandbox_event = Event {
            kind: EventKind::Text { id: mid.to_string(), quote_token: format!("q{mid}"), text: text.to_owned() },
            user_id: user.clone(),
            webhook_event_id: id.clone(),
            timestamp: 1_700_000_000_123,
            reply_token: Some("tok".to_owned()),
        };
        let theirs: Value = serde_json::from_slice(&webhook::body("Ubot", &[sandbox_event], false)).unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&ours).unwrap(), theirs);
    }

    #[test]
    fn event_ids_are_ulid_shaped_and_unique_across_streams() {
        // The ULID specification's example time encodes to 01ARYZ6S41.
        let id = event_id(1_469_918_176_385, 0, 0);
        assert_eq!(&id[..10], "01ARYZ6S41");
        assert_eq!(id.len(), 26);
        assert_ne!(event_id(1, 1, 7), event_id(1, 2, 7));
        assert_ne!(event_id(1, 1, 7), event_id(1, 1, 8));
        assert_eq!(message_id(65_535, 999_999_999_999).to_string().len(), 18);
    }
}
