//! The kiosk's rotating check-in token (issue 5; the format is in `docs/protocol.md`).
//!
//! A kiosk shows a new QR code every step (default 30 s): `HTTPS://HOST/K/<TOKEN>`. The token
//! names the kiosk and the step, and carries a truncated HMAC-SHA256 under the kiosk's own
//! secret, so the server can tell a fresh code from a photographed old one, or a forged one,
//! without a database write. The kiosk id leads to the kiosk's stable `LocationId`, so however
//! often the code changes, matching sees one place.
//!
//! Layout, 25 Crockford base32 symbols (all in the QR alphanumeric set):
//! `KKKKKKKK` kiosk id (40 bits) · `SSSSSSS` step (35 bits) · `MMMMMMMMMM` MAC (50 bits).
//! MAC = the first 50 bits of HMAC-SHA256(secret, "oshirase-kiosk-token-v1" ‖ kiosk id (8 ASCII
//! symbols) ‖ step as 8 bytes big-endian).

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

use crate::base32;

/// Symbols of the kiosk id.
pub const KIOSK_ID_SYMBOLS: usize = 8;
/// Symbols of the step.
pub const STEP_SYMBOLS: usize = 7;
/// Symbols of the MAC.
pub const MAC_SYMBOLS: usize = 10;
/// Symbols of a whole token.
pub const TOKEN_SYMBOLS: usize = KIOSK_ID_SYMBOLS + STEP_SYMBOLS + MAC_SYMBOLS;
/// Domain separation for the MAC input.
const MAC_CONTEXT: &[u8] = b"oshirase-kiosk-token-v1";

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TokenError {
    /// Not 25 base32 symbols.
    #[error("not a kiosk token")]
    Malformed,
    /// The MAC does not match: forged, or from another kiosk's secret.
    #[error("the token's signature does not match")]
    Forged,
    /// Older than the accepted window (e.g. a photo of the screen).
    #[error("the token has expired")]
    Expired,
    /// Further ahead than the accepted window (a kiosk clock far ahead).
    #[error("the token is from the future")]
    Future,
}

/// A kiosk's identity (40 random bits, 8 symbols).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KioskId(String);

impl KioskId {
    /// Makes an id from fresh random bytes.
    pub fn from_random(bytes: [u8; 5]) -> KioskId {
        KioskId(base32::encode(&bytes, KIOSK_ID_SYMBOLS))
    }

    /// Parses the text form.
    pub fn parse(input: &str) -> Result<KioskId, TokenError> {
        let canonical = base32::canonical(input.trim()).ok_or(TokenError::Malformed)?;
        if canonical.len() == KIOSK_ID_SYMBOLS { Ok(KioskId(canonical)) } else { Err(TokenError::Malformed) }
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for KioskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KioskId({})", self.0)
    }
}

/// A kiosk's secret for its tokens (32 bytes). Never printed.
#[derive(Clone)]
pub struct KioskSecret([u8; 32]);

impl KioskSecret {
    /// Wraps secret bytes.
    pub fn new(bytes: [u8; 32]) -> KioskSecret {
        KioskSecret(bytes)
    }

    /// The bytes, for storing and for handing to the kiosk at pairing.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for KioskSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KioskSecret(<redacted>)")
    }
}

/// The time steps codes rotate on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Steps {
    /// Seconds per step.
    pub seconds: u32,
}

impl Steps {
    /// The step a Unix time falls in.
    pub fn at(self, unix_seconds: u64) -> u64 {
        unix_seconds / u64::from(self.seconds.max(1))
    }

    /// The Unix time a step starts.
    pub fn start(self, step: u64) -> u64 {
        step.saturating_mul(u64::from(self.seconds.max(1)))
    }
}

/// How far from the current step a token is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Steps into the past.
    pub behind: u64,
    /// Steps into the future.
    pub ahead: u64,
}

/// A parsed token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskToken {
    kiosk: KioskId,
    step: u64,
    mac: String,
}

impl KioskToken {
    /// The token a kiosk shows at `step`.
    pub fn issue(kiosk: &KioskId, secret: &KioskSecret, step: u64) -> KioskToken {
        KioskToken { kiosk: kiosk.clone(), step, mac: mac(kiosk, secret, step) }
    }

    /// Reads a token's fields; says nothing yet about whether it is genuine.
    pub fn parse(input: &str) -> Result<KioskToken, TokenError> {
        let text = base32::canonical(input.trim()).ok_or(TokenError::Malformed)?;
        if text.len() != TOKEN_SYMBOLS {
            return Err(TokenError::Malformed);
        }
        let (kiosk, rest) = text.split_at(KIOSK_ID_SYMBOLS);
        let (step, mac) = rest.split_at(STEP_SYMBOLS);
        Ok(KioskToken { kiosk: KioskId(kiosk.to_owned()), step: decode_number(step)?, mac: mac.to_owned() })
    }

    /// The kiosk the token names (look up its secret with this).
    pub fn kiosk(&self) -> &KioskId {
        &self.kiosk
    }

    /// The step the token was shown in: the visit's time.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Checks the MAC under `secret` and the step against `now_step` and `window`.
    pub fn verify(&self, secret: &KioskSecret, now_step: u64, window: Window) -> Result<(), TokenError> {
        let expected = mac(&self.kiosk, secret, self.step);
        // Constant time over the symbols.
        let differs = expected.bytes().zip(self.mac.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if differs != 0 || expected.len() != self.mac.len() {
            return Err(TokenError::Forged);
        }
        if self.step.saturating_add(window.behind) < now_step {
            return Err(TokenError::Expired);
        }
        if self.step > now_step.saturating_add(window.ahead) {
            return Err(TokenError::Future);
        }
        Ok(())
    }
}

impl fmt::Display for KioskToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.kiosk.0, base32::encode(&self.step.to_be_bytes(), STEP_SYMBOLS), self.mac)
    }
}

fn decode_number(symbols: &str) -> Result<u64, TokenError> {
    symbols.chars().try_fold(0u64, |acc, c| base32::decode_symbol(c).map(|v| (acc << 5) | u64::from(v)).ok_or(TokenError::Malformed))
}

fn mac(kiosk: &KioskId, secret: &KioskSecret, step: u64) -> String {
    let mut hmac = <Hmac<Sha256> as Mac>::new_from_slice(&secret.0).unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    hmac.update(MAC_CONTEXT);
    hmac.update(kiosk.0.as_bytes());
    hmac.update(&step.to_be_bytes());
    let digest = hmac.finalize().into_bytes();
    // The first 50 bits: encode the first 7 bytes' top 50 bits.
    let top = u64::from_be_bytes([digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7]]) >> (64 - 50);
    base32::encode(&top.to_be_bytes(), MAC_SYMBOLS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> KioskSecret {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::try_from(i).unwrap_or(0);
        }
        KioskSecret::new(bytes)
    }

    const WINDOW: Window = Window { behind: 10, ahead: 1 };

    /// Checks every vector in `docs/protocol.md`'s table: `| kiosk id | step | token |`.
    #[test]
    fn the_documented_test_vectors_hold() {
        let doc = include_str!("../../docs/protocol.md");
        let vectors: Vec<(&str, u64, &str)> = doc
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(|c| c.trim().trim_matches('`')).collect();
                match cells.as_slice() {
                    ["", kiosk, step, token, ""] if token.len() == TOKEN_SYMBOLS => Some((*kiosk, step.parse().ok()?, *token)),
                    _ => None,
                }
            })
            .collect();
        assert!(vectors.len() >= 3, "docs/protocol.md lists its vectors");
        for (kiosk, step, token) in vectors {
            let issued = KioskToken::issue(&KioskId::parse(kiosk).expect("kiosk id"), &secret(), step);
            assert_eq!(issued.to_string(), token, "vector {kiosk} {step}");
            assert_eq!(KioskToken::parse(token).expect("parses"), issued);
        }
    }

    #[test]
    fn a_fresh_token_verifies_and_names_its_kiosk_and_step() {
        let kiosk = KioskId::from_random([1, 2, 3, 4, 5]);
        let token = KioskToken::issue(&kiosk, &secret(), 58_800_000);
        let parsed = KioskToken::parse(&token.to_string().to_lowercase()).expect("parses");
        assert_eq!(parsed.kiosk(), &kiosk);
        assert_eq!(parsed.step(), 58_800_000);
        assert_eq!(parsed.verify(&secret(), 58_800_000, WINDOW), Ok(()));
        assert_eq!(parsed.verify(&secret(), 58_800_010, WINDOW), Ok(()), "up to 5 minutes old");
        assert_eq!(parsed.verify(&secret(), 58_799_999, WINDOW), Ok(()), "one step ahead");
    }

    #[test]
    fn old_future_and_forged_tokens_are_refused() {
        let kiosk = KioskId::from_random([9; 5]);
        let token = KioskToken::issue(&kiosk, &secret(), 1_000);
        assert_eq!(token.verify(&secret(), 1_011, WINDOW), Err(TokenError::Expired));
        assert_eq!(token.verify(&secret(), 998, WINDOW), Err(TokenError::Future));
        assert_eq!(token.verify(&KioskSecret::new([7; 32]), 1_000, WINDOW), Err(TokenError::Forged));
        // Changing the step (replaying an old code as new) breaks the MAC.
        let text = token.to_string();
        let bumped = KioskToken::issue(&kiosk, &secret(), 1_001).to_string();
        let spliced = format!("{}{}", &bumped[..KIOSK_ID_SYMBOLS + STEP_SYMBOLS], &text[KIOSK_ID_SYMBOLS + STEP_SYMBOLS..]);
        assert_eq!(KioskToken::parse(&spliced).expect("parses").verify(&secret(), 1_001, WINDOW), Err(TokenError::Forged));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in ["", "ABC", &"Z".repeat(24), &"Z".repeat(26), "!!!!!!!!!!!!!!!!!!!!!!!!!"] {
            assert_eq!(KioskToken::parse(bad), Err(TokenError::Malformed), "{bad}");
        }
    }

    #[test]
    fn tokens_fit_a_small_alphanumeric_qr_code() {
        let token = KioskToken::issue(&KioskId::from_random([0xff; 5]), &secret(), u64::MAX >> 29);
        let qr_alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
        // Alphanumeric capacity at level M: version 3 holds 61 symbols, version 4 holds 90.
        let short = format!("HTTPS://OSHIRASE.EXAMPLE.JP/K/{token}");
        assert!(short.chars().all(|c| qr_alnum.contains(c)));
        assert!(short.len() <= 61, "version 3 ({} chars)", short.len());
        let long = format!("HTTPS://OSHIRASE.PREF.SAITAMA.LG.JP/K/{token}");
        assert!(long.len() <= 90, "version 4 ({} chars)", long.len());
    }

    #[test]
    fn steps_are_thirty_second_slots() {
        let steps = Steps { seconds: 30 };
        assert_eq!(steps.at(1_764_000_000), 58_800_000);
        assert_eq!(steps.at(1_764_000_029), 58_800_000);
        assert_eq!(steps.start(58_800_001), 1_764_000_030);
    }

    #[test]
    fn secrets_are_never_printed() {
        assert_eq!(format!("{:?}", secret()), "KioskSecret(<redacted>)");
    }
}
