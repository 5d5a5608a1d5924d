//! Passes (issue 7): a QR code a kiosk's camera reads, for visitors who cannot scan with a
//! phone. The server signs a pass with its Ed25519 key; a kiosk verifies it offline with the
//! public key it got at pairing, checks its expiry against its trusted clock and a revocation
//! list it gets at every heartbeat. A pass carries a random pass id (never a LINE user id)
//! and an expiry — nothing about who holds it. Format and test vectors: `docs/protocol.md`.
//!
//! ```text
//! OSP1 <base32( version=1 ‖ pass id (10 bytes) ‖ expires, Unix seconds (u32 BE) ‖ Ed25519 signature (64 bytes) )>
//! ```
//!
//! The signature covers `"oshirase-pass-v1" ‖ version ‖ pass id ‖ expires`. The text is upper
//! case base32 (Crockford), so the QR code uses alphanumeric mode.

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use thiserror::Error;

use crate::base32;

/// What every pass's text starts with.
pub const PREFIX: &str = "OSP1";
const VERSION: u8 = 1;
const DOMAIN: &[u8] = b"oshirase-pass-v1";
const PAYLOAD: usize = 1 + 10 + 4;
const BYTES: usize = PAYLOAD + 64;
/// Symbols of the base32 part.
const SYMBOLS: usize = (BYTES * 8).div_ceil(5);

/// A pass's random identifier: 80 bits, 16 base32 symbols.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PassId(String);

impl PassId {
    /// The identifier made from 10 random bytes the caller supplies.
    pub fn from_random(bytes: [u8; 10]) -> PassId {
        PassId(base32::encode(&bytes, 16))
    }

    /// Parses the 16-symbol form.
    pub fn parse(input: &str) -> Result<PassId, PassError> {
        let canonical = base32::canonical(input.trim()).ok_or(PassError::Malformed)?;
        if canonical.len() == 16 && base32::decode(&canonical, 10).is_some() { Ok(PassId(canonical)) } else { Err(PassError::Malformed) }
    }

    /// The 16 symbols.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last four symbols, as residents see a pass named in LINE.
    pub fn short(&self) -> &str {
        &self.0[12..]
    }

    fn bytes(&self) -> [u8; 10] {
        let mut out = [0u8; 10];
        if let Some(decoded) = base32::decode(&self.0, 10) {
            out.copy_from_slice(&decoded);
        }
        out
    }
}

/// A pass read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pass {
    /// Its id.
    pub id: PassId,
    /// Unix seconds after which it is refused.
    pub expires_at: u32,
}

/// Why a pass is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PassError {
    /// Not a pass at all (another QR code, or damaged).
    #[error("not an oshirase pass")]
    Malformed,
    /// The signature is not the server's: forged or altered.
    #[error("the pass's signature is not valid")]
    Forged,
    /// Past its expiry.
    #[error("the pass has expired")]
    Expired,
    /// On the revocation list.
    #[error("the pass was revoked")]
    Revoked,
}

fn signed_bytes(payload: &[u8]) -> Vec<u8> {
    let mut message = DOMAIN.to_vec();
    message.extend_from_slice(payload);
    message
}

/// The QR text of a pass, signed with the server's key.
pub fn issue(key: &SigningKey, pass: &Pass) -> String {
    let mut bytes = Vec::with_capacity(BYTES);
    bytes.push(VERSION);
    bytes.extend_from_slice(&pass.id.bytes());
    bytes.extend_from_slice(&pass.expires_at.to_be_bytes());
    let signature = key.sign(&signed_bytes(&bytes));
    bytes.extend_from_slice(&signature.to_bytes());
    format!("{PREFIX}{}", base32::encode(&bytes, SYMBOLS))
}

/// Reads a pass's text and checks its signature (not its expiry or revocation: see
/// [`check`]).
pub fn verify(key: &VerifyingKey, text: &str) -> Result<Pass, PassError> {
    let text = text.trim();
    let (prefix, body) = text.split_at_checked(PREFIX.len()).ok_or(PassError::Malformed)?;
    if !prefix.eq_ignore_ascii_case(PREFIX) || body.len() != SYMBOLS {
        return Err(PassError::Malformed);
    }
    let bytes = base32::decode(body, BYTES).ok_or(PassError::Malformed)?;
    if bytes[0] != VERSION {
        return Err(PassError::Malformed);
    }
    let (payload, signature) = bytes.split_at(PAYLOAD);
    let signature = Signature::from_slice(signature).map_err(|_| PassError::Forged)?;
    key.verify(&signed_bytes(payload), &signature).map_err(|_| PassError::Forged)?;
    let mut id = [0u8; 10];
    id.copy_from_slice(&payload[1..11]);
    let mut expires = [0u8; 4];
    expires.copy_from_slice(&payload[11..15]);
    Ok(Pass { id: PassId::from_random(id), expires_at: u32::from_be_bytes(expires) })
}

/// Everything a kiosk checks before it accepts a scanned pass: signature, expiry against
/// `now` (Unix seconds, from a trusted clock), and the revocation list.
pub fn check(key: &VerifyingKey, text: &str, now: u64, revoked: &dyn Fn(&PassId) -> bool) -> Result<Pass, PassError> {
    let pass = verify(key, text)?;
    if u64::from(pass.expires_at) <= now {
        return Err(PassError::Expired);
    }
    if revoked(&pass.id) {
        return Err(PassError::Revoked);
    }
    Ok(pass)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn pass() -> Pass {
        Pass { id: PassId::from_random([7; 10]), expires_at: 1_800_000_000 }
    }

    #[test]
    fn a_pass_round_trips_and_fits_a_small_alphanumeric_qr_code() {
        let text = issue(&key(1), &pass());
        assert!(text.starts_with("OSP1") && text.len() == 4 + SYMBOLS, "{text}");
        assert!(text.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()), "QR alphanumeric mode");
        assert_eq!(verify(&key(1).verifying_key(), &text), Ok(pass()));
        assert_eq!(verify(&key(1).verifying_key(), &text.to_lowercase()), Ok(pass()), "case does not matter");
    }

    #[test]
    fn another_key_or_any_changed_symbol_is_refused() {
        let text = issue(&key(1), &pass());
        assert_eq!(verify(&key(2).verifying_key(), &text), Err(PassError::Forged));
        for at in [5, 20, 30, 100] {
            let mut chars: Vec<char> = text.chars().collect();
            chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
            let altered: String = chars.into_iter().collect();
            assert!(matches!(verify(&key(1).verifying_key(), &altered), Err(PassError::Forged | PassError::Malformed)), "symbol {at}");
        }
        assert_eq!(verify(&key(1).verifying_key(), "HTTPS://EXAMPLE.JP/C/7K3M9QX2P4"), Err(PassError::Malformed));
        assert_eq!(verify(&key(1).verifying_key(), "OSP1"), Err(PassError::Malformed));
    }

    #[test]
    fn expired_and_revoked_passes_are_refused() {
        let text = issue(&key(1), &pass());
        let vk = key(1).verifying_key();
        assert!(check(&vk, &text, 1_799_999_999, &|_| false).is_ok());
        assert_eq!(check(&vk, &text, 1_800_000_000, &|_| false), Err(PassError::Expired));
        assert_eq!(check(&vk, &text, 1_700_000_000, &|id| id == &pass().id), Err(PassError::Revoked));
    }

    /// Checks every vector in `docs/protocol.md`'s pass table:
    /// `| key seed byte | public key | pass id | expires | text |`.
    #[test]
    fn the_documented_test_vectors_hold() {
        let doc = include_str!("../../docs/protocol.md");
        let mut checked = 0;
        for line in doc.lines() {
            let cells: Vec<&str> = line.split('|').map(|c| c.trim().trim_matches('`')).collect();
            let ["", seed, public, id, expires, text, ""] = cells.as_slice() else { continue };
            let Ok(seed) = u8::from_str_radix(seed, 16) else { continue };
            let key = SigningKey::from_bytes(&[seed; 32]);
            let public_hex: String = key.verifying_key().to_bytes().iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(&public_hex, public, "public key of seed {seed}");
            let pass = Pass { id: PassId::parse(id).unwrap(), expires_at: expires.parse().unwrap() };
            assert_eq!(issue(&key, &pass), *text, "vector {id}");
            assert_eq!(verify(&key.verifying_key(), text), Ok(pass));
            checked += 1;
        }
        assert!(checked >= 3, "docs/protocol.md lists its pass vectors");
    }

    #[test]
    fn pass_ids_parse_and_show_a_short_form() {
        let id = PassId::from_random([0xAB; 10]);
        assert_eq!(PassId::parse(&id.as_str().to_lowercase()), Ok(id.clone()));
        assert_eq!(id.short().len(), 4);
        assert_eq!(PassId::parse("ABC"), Err(PassError::Malformed));
    }
}

