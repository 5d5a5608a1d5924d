//! Identifiers of places. Both are made from random bytes the caller supplies (this crate
//! does no I/O) and parse back only from their canonical text.
//!
//! - [`LocationId`] is the stable, unguessable identity of one registered place. Matching
//!   joins visits on it, however the code a resident scanned was printed or rotated.
//! - [`VenueCode`] is the short public code printed in a place's QR code
//!   (`https://<base>/C/<CODE>`). It uses only QR alphanumeric symbols, so the QR code stays
//!   at a low version and reads quickly off a wall.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::base32;

/// Why an identifier did not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdError {
    /// Wrong number of symbols.
    #[error("expected {expected} symbols, found {found}")]
    Length {
        /// How many symbols the identifier has.
        expected: usize,
        /// How many the input had.
        found: usize,
    },
    /// A character outside Crockford's base32.
    #[error("not a base32 identifier")]
    Alphabet,
}

fn parse_fixed(input: &str, symbols: usize) -> Result<String, IdError> {
    let canonical = base32::canonical(input.trim()).ok_or(IdError::Alphabet)?;
    if canonical.len() != symbols {
        return Err(IdError::Length { expected: symbols, found: canonical.len() });
    }
    Ok(canonical)
}

macro_rules! base32_id {
    ($(#[$meta:meta])* $name:ident, bytes = $bytes:expr, symbols = $symbols:expr) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Number of random bytes the identifier is made from.
            pub const RANDOM_BYTES: usize = $bytes;
            /// Number of base32 symbols in its text form.
            pub const SYMBOLS: usize = $symbols;

            /// Makes an identifier from fresh random bytes.
            pub fn from_random(bytes: [u8; $bytes]) -> Self {
                Self(base32::encode(&bytes, $symbols))
            }

            /// Parses the text form; accepts lower case, hyphens and look-alike letters.
            pub fn parse(input: &str) -> Result<Self, IdError> {
                parse_fixed(input, $symbols).map(Self)
            }

            /// The canonical text form.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

base32_id!(
    /// The stable, unguessable identity of one registered place (128 random bits).
    LocationId, bytes = 16, symbols = 26
);

base32_id!(
    /// The short public code printed in a place's QR code (50 random bits).
    ///
    /// 50 bits make codes impossible to enumerate over HTTP (a billion guesses find a valid
    /// code among a million places with probability below one in a thousand), while the URL
    /// still fits QR version 2–3.
    VenueCode, bytes = 7, symbols = 10
);

impl VenueCode {
    /// The code grouped for people to read and type: `7K3M9-QX2P4`.
    pub fn grouped(&self) -> String {
        format!("{}-{}", &self.0[..5], &self.0[5..])
    }
}

/// A LINE user id as LINE sends it in webhooks (`U` and 32 hex digits in production).
///
/// Parsing is deliberately loose: LINE's own SDK fixtures use placeholders such as `U123`,
/// and LINE may change the format. It only refuses what cannot be an id: empty, over 64
/// characters, or anything but ASCII letters and digits.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LineUserId(String);

impl LineUserId {
    /// Parses a user id.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        if input.is_empty() || input.len() > 64 {
            return Err(IdError::Length { expected: 33, found: input.len() });
        }
        if !input.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(IdError::Alphabet);
        }
        Ok(Self(input.to_owned()))
    }

    /// The id as LINE writes it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Never printed in full: a LINE user id identifies a person.
impl fmt::Debug for LineUserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.0.chars().take(5).collect();
        write!(f, "LineUserId({shown}…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_ids_have_26_symbols_and_round_trip() {
        let id = LocationId::from_random([0xA5; 16]);
        assert_eq!(id.as_str().len(), 26);
        assert_eq!(LocationId::parse(id.as_str()), Ok(id.clone()));
        assert_eq!(LocationId::parse(&id.as_str().to_lowercase()), Ok(id));
    }

    #[test]
    fn different_bytes_give_different_ids() {
        let a = LocationId::from_random([1; 16]);
        let b = LocationId::from_random([2; 16]);
        assert_ne!(a, b);
    }

    #[test]
    fn venue_codes_accept_people_typing_them() {
        let code = VenueCode::parse("7K3M9-QX2P4").expect("valid");
        assert_eq!(code.as_str(), "7K3M9QX2P4");
        assert_eq!(code.grouped(), "7K3M9-QX2P4");
        assert_eq!(VenueCode::parse("7k3m9qx2p4"), Ok(code.clone()));
        // O and I are read as 0 and 1.
        assert_eq!(VenueCode::parse("7K3M9QX2PO").map(|c| c.to_string()), Ok("7K3M9QX2P0".into()));
    }

    #[test]
    fn venue_codes_reject_wrong_length_and_symbols() {
        assert_eq!(VenueCode::parse("7K3M9"), Err(IdError::Length { expected: 10, found: 5 }));
        assert_eq!(VenueCode::parse("7K3M9QX2P4Z"), Err(IdError::Length { expected: 10, found: 11 }));
        assert_eq!(VenueCode::parse("7K3M9QX2P!"), Err(IdError::Alphabet));
        assert_eq!(VenueCode::parse("7K3M9QX2PU"), Err(IdError::Alphabet));
        assert!(VenueCode::parse("").is_err());
    }

    #[test]
    fn venue_codes_use_only_qr_alphanumeric_symbols() {
        let code = VenueCode::from_random([0xFF, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9A]);
        let qr_alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
        assert!(code.as_str().chars().all(|c| qr_alnum.contains(c)));
    }

    #[test]
    fn line_user_ids_accept_real_and_placeholder_ids() {
        assert!(LineUserId::parse("U4af4980629a1b2c3d4e5f60718293a4b").is_ok());
        assert!(LineUserId::parse("U123").is_ok());
        assert!(LineUserId::parse("").is_err());
        assert!(LineUserId::parse("U 123").is_err());
        assert!(LineUserId::parse(&"U".repeat(65)).is_err());
        let id = LineUserId::parse("U4af4980629a1b2c3d4e5f60718293a4b").expect("valid");
        assert!(!format!("{id:?}").contains("629a1b2c"));
    }

    #[test]
    fn ids_deserialize_only_when_valid() {
        let ok: Result<LocationId, _> = serde_json::from_str(&format!("\"{}\"", "0".repeat(26)));
        assert!(ok.is_ok());
        let bad: Result<LocationId, _> = serde_json::from_str("\"nope\"");
        assert!(bad.is_err());
    }
}
