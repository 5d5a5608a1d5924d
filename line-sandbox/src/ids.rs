//! Identifiers shaped like LINE's: user ids (`U` + 32 hex), webhook event ids (ULIDs), request
//! ids and retry keys (UUIDs), message ids, reply and quote tokens. Clients check some of these
//! shapes, so the sandbox must produce the same ones; a tiny ULID generator lives here rather
//! than a crate because it is twenty lines.

use std::time::{SystemTime, UNIX_EPOCH};

/// Crockford's base32 alphabet, used by ULIDs.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Milliseconds since the Unix epoch (LINE's `timestamp` unit).
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `N` bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("the operating system's random source failed: {e}"));
    bytes
}

/// A new LINE user id: `U` followed by 32 lower-case hex digits.
pub fn new_user_id() -> String {
    format!("U{}", hex(&random_bytes::<16>()))
}

/// True for ids LINE issues to users: `U[0-9a-f]{32}`.
pub fn is_user_id(id: &str) -> bool {
    is_chat_id(id, 'U')
}

/// True for ids push accepts as `to`: users (`U`), group chats (`C`) and rooms (`R`).
pub fn is_push_target(id: &str) -> bool {
    is_chat_id(id, 'U') || is_chat_id(id, 'C') || is_chat_id(id, 'R')
}

/// A UUID (version 4 layout), as LINE uses for `x-line-request-id`.
pub fn new_uuid() -> String {
    let mut b = random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// True for a UUID in hexadecimal 8-4-4-4-12 form (either case), the only form LINE takes
/// as `X-Line-Retry-Key`.
pub fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, len)| g.len() == len && g.bytes().all(|c| c.is_ascii_hexdigit()))
}

/// A message id: a decimal number of 18 digits, as LINE's are.
pub fn new_message_id() -> String {
    let n = u64::from_be_bytes(random_bytes::<8>()) % 900_000_000_000_000_000 + 100_000_000_000_000_000;
    n.to_string()
}

/// A reply token: 32 hex digits.
pub fn new_reply_token() -> String {
    hex(&random_bytes::<16>())
}

/// A quote token: URL-safe base64 of random bytes, as long as LINE's usually are.
pub fn new_quote_token() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<48>())
}

/// Makes ULIDs (26 characters of Crockford base32: 48 bits of milliseconds, 80 random bits)
/// that sort in creation order, even several within one millisecond.
#[derive(Debug, Default)]
pub struct UlidGenerator {
    last_ms: u64,
    last_random: u128,
}

impl UlidGenerator {
    /// The next ULID at `now_ms`, later than every one made before.
    pub fn next(&mut self, now_ms: u64) -> String {
        let mut random = [0u8; 16];
        random[6..].copy_from_slice(&random_bytes::<10>());
        self.next_with(now_ms, u128::from_be_bytes(random))
    }

    /// [`UlidGenerator::next`] with the random part given (tests).
    pub fn next_with(&mut self, now_ms: u64, random: u128) -> String {
        const RANDOM_MASK: u128 = (1 << 80) - 1;
        if now_ms > self.last_ms {
            self.last_ms = now_ms;
            self.last_random = random & RANDOM_MASK;
        } else if self.last_random == RANDOM_MASK {
            // The random part is exhausted: borrow the next millisecond rather than wrap.
            self.last_ms += 1;
            self.last_random = 0;
        } else {
            // Same (or an earlier) millisecond: count up so order is kept.
            self.last_random += 1;
        }
        encode_ulid((u128::from(self.last_ms & 0xffff_ffff_ffff) << 80) | self.last_random)
    }
}

/// The 26-symbol Crockford base32 form of a 128-bit ULID (the top symbol holds 3 bits).
fn encode_ulid(value: u128) -> String {
    (0..26)
        .map(|i| {
            let shift = 5 * (25 - i);
            char::from(CROCKFORD[((value >> shift) & 0x1f) as usize])
        })
        .collect()
}

fn is_chat_id(id: &str, prefix: char) -> bool {
    id.strip_prefix(prefix).is_some_and(|rest| rest.len() == 32 && rest.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_look_like_lines() {
        let id = new_user_id();
        assert!(is_user_id(&id), "{id}");
        assert!(!is_user_id("U123"));
        assert!(!is_user_id(&id.to_uppercase()));
        assert!(is_push_target(&id.replacen('U', "C", 1)));
        assert!(!is_push_target(&id.replacen('U', "X", 1)));
    }

    #[test]
    fn ulids_encode_the_time_as_the_specification_shows() {
        // The ULID specification's example timestamp and its encoded time part.
        let ulid = UlidGenerator::default().next_with(1_469_918_176_385, 0);
        assert_eq!(&ulid[..10], "01ARYZ6S41");
        assert_eq!(ulid.len(), 26);
        assert!(ulid.bytes().all(|c| CROCKFORD.contains(&c)));
    }

    #[test]
    fn ulids_made_in_one_millisecond_still_sort_in_order() {
        let mut ulids = UlidGenerator::default();
        let first = ulids.next_with(1_700_000_000_000, u128::MAX);
        let second = ulids.next_with(1_700_000_000_000, 0);
        let third = ulids.next_with(1_699_999_999_999, 0);
        let fourth = ulids.next(1_700_000_000_001);
        assert!(first < second && second < third && third < fourth, "{first} {second} {third} {fourth}");
    }

    #[test]
    fn request_ids_are_uuids_and_only_uuids_pass_as_retry_keys() {
        assert!(is_uuid(&new_uuid()));
        assert!(is_uuid("123E4567-E89B-12D3-A456-426614174000"));
        assert!(!is_uuid("123e4567e89b12d3a456426614174000"));
        assert!(!is_uuid("not-a-uuid"));
        assert!(!is_uuid("123e4567-e89b-12d3-a456-42661417400g"));
    }

    #[test]
    fn message_ids_have_eighteen_digits() {
        let id = new_message_id();
        assert_eq!(id.len(), 18, "{id}");
        assert!(id.bytes().all(|c| c.is_ascii_digit()));
    }
}
