//! Secrets handed to venues and random identifiers.
//!
//! A [`ManageToken`] is the private management link of a registration: 256 random bits,
//! shown to the venue once and stored only as its SHA-256 hash ([`TokenHash`]). A hash is
//! enough (no slow KDF) because the secret is random, not chosen by a person.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oshirase_common::{LocationId, VenueCode};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Fills an array with bytes from the operating system's random source.
///
/// # Panics
/// If the operating system cannot provide randomness; nothing safe can be done then.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("the operating system's random source failed: {e}"));
    bytes
}

/// A fresh, random location id.
pub fn new_location_id() -> LocationId {
    LocationId::from_random(random_bytes())
}

/// A fresh, random printed code.
pub fn new_venue_code() -> VenueCode {
    VenueCode::from_random(random_bytes())
}

/// A one-time code that pairs a kiosk with a place: 10 base32 symbols (50 bits), shown to the
/// venue once, stored only as its hash, valid for minutes.
#[derive(Clone, PartialEq, Eq)]
pub struct PairingCode(String);

impl PairingCode {
    /// A new random code.
    pub fn generate() -> Self {
        Self(oshirase_common::base32::encode(&random_bytes::<7>(), 10))
    }

    /// Parses a typed code (hyphens, spaces and lower case allowed).
    pub fn parse(input: &str) -> Result<Self, TokenFormatError> {
        let canonical = oshirase_common::base32::canonical(input.trim()).ok_or(TokenFormatError)?;
        if canonical.len() == 10 { Ok(Self(canonical)) } else { Err(TokenFormatError) }
    }

    /// The code grouped for reading: `7K3M9-QX2P4`.
    pub fn grouped(&self) -> String {
        format!("{}-{}", &self.0[..5], &self.0[5..])
    }

    /// The hash stored in the database.
    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for PairingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PairingCode(<redacted>)")
    }
}

/// A one-time history code a positive resident gets in LINE and gives to the health centre:
/// 8 base32 symbols (40 bits), stored only as its hash, valid for hours, entered by signed-in
/// staff only.
#[derive(Clone, PartialEq, Eq)]
pub struct HistoryCode(String);

impl HistoryCode {
    /// A new random code.
    pub fn generate() -> Self {
        Self(oshirase_common::base32::encode(&random_bytes::<5>(), 8))
    }

    /// Parses a typed code (hyphens, spaces and lower case allowed).
    pub fn parse(input: &str) -> Result<Self, TokenFormatError> {
        let canonical = oshirase_common::base32::canonical(input.trim()).ok_or(TokenFormatError)?;
        if canonical.len() == 8 { Ok(Self(canonical)) } else { Err(TokenFormatError) }
    }

    /// The code grouped for reading aloud: `7K3M-9QX2`.
    pub fn grouped(&self) -> String {
        format!("{}-{}", &self.0[..4], &self.0[4..])
    }

    /// The hash stored in the database.
    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for HistoryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HistoryCode(<redacted>)")
    }
}

/// The private management secret of one registration.
#[derive(Clone, PartialEq, Eq)]
pub struct ManageToken(String);

/// A management secret that does not have the right shape.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("not a management token")]
pub struct TokenFormatError;

impl ManageToken {
    /// Number of random bytes in a token.
    pub const BYTES: usize = 32;

    /// A new random token.
    pub fn generate() -> Self {
        Self(URL_SAFE_NO_PAD.encode(random_bytes::<{ Self::BYTES }>()))
    }

    /// The token of these 32 bytes (for secrets derived rather than drawn, like a pass's
    /// link, `passes::PassKey::link_token`).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Parses the text form (43 characters of URL-safe base64).
    pub fn parse(input: &str) -> Result<Self, TokenFormatError> {
        let bytes = URL_SAFE_NO_PAD.decode(input.trim()).map_err(|_| TokenFormatError)?;
        if bytes.len() != Self::BYTES {
            return Err(TokenFormatError);
        }
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The secret text, for the one response that hands it to the venue.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash stored in the database.
    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for ManageToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ManageToken(<redacted>)")
    }
}

/// A staff session id or API token: the same shape as a management secret (256 random bits,
/// stored as SHA-256).
pub type StaffSecret = ManageToken;

/// SHA-256 of a [`ManageToken`], as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenHash(pub [u8; 32]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_hash_stably() {
        let token = ManageToken::generate();
        assert_eq!(token.expose().len(), 43);
        let parsed = ManageToken::parse(token.expose()).expect("valid");
        assert_eq!(parsed.hash(), token.hash());
        assert_ne!(ManageToken::generate().hash(), token.hash());
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in ["", "abc", "!!!!", &"A".repeat(44), &"A".repeat(42)] {
            assert_eq!(ManageToken::parse(bad), Err(TokenFormatError), "{bad}");
        }
    }

    #[test]
    fn pairing_codes_are_typed_back_and_hash_stably() {
        let code = PairingCode::generate();
        let typed = PairingCode::parse(&code.grouped().to_lowercase()).expect("typed back");
        assert_eq!(typed.hash(), code.hash());
        assert!(PairingCode::parse("12345").is_err());
        assert!(!format!("{code:?}").contains(&code.grouped()[..5]));
    }

    #[test]
    fn tokens_never_print_their_secret() {
        let token = ManageToken::generate();
        assert!(!format!("{token:?}").contains(token.expose()));
    }
}
