//! The `x-line-signature` check: base64(HMAC-SHA256(channel secret, raw body)), verified on
//! the raw bytes before anything parses them, compared in constant time.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use thiserror::Error;

/// Why a webhook body was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SignatureError {
    /// No `x-line-signature` header.
    #[error("the x-line-signature header is missing")]
    Missing,
    /// The header is not base64 of a 32-byte MAC.
    #[error("the x-line-signature header is malformed")]
    Malformed,
    /// The signature does not match the body.
    #[error("the signature does not match the body")]
    Mismatch,
}

/// Signs a body as LINE does; the sandbox signs the webhooks it delivers with this.
pub fn sign(channel_secret: &SecretString, body: &[u8]) -> String {
    STANDARD.encode(mac(channel_secret, body).finalize().into_bytes())
}

/// Checks `header` (the value of `x-line-signature`, if present) against `body`.
pub fn verify(channel_secret: &SecretString, body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let given = STANDARD.decode(header.trim()).map_err(|_| SignatureError::Malformed)?;
    if given.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    // `verify_slice` compares in constant time.
    mac(channel_secret, body).verify_slice(&given).map_err(|_| SignatureError::Mismatch)
}

fn mac(channel_secret: &SecretString, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(channel_secret.expose_secret().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    /// LINE's published example (see shared/reference/LINE.md).
    const SECRET: &str = "8c570fa6dd201bb328f1c1eac23a96d8";
    const BODY: &str = r#"{"destination":"U8e742f61d673b39c7fff3cecb7536ef0","events":[]}"#;
    const SIGNATURE: &str = "GhRKmvmHys4Pi8DxkF4+EayaH0OqtJtaZxgTD9fMDLs=";

    fn secret() -> SecretString {
        SecretString::from(SECRET)
    }

    #[test]
    fn lines_published_vector_verifies() {
        assert_eq!(sign(&secret(), BODY.as_bytes()), SIGNATURE);
        assert_eq!(verify(&secret(), BODY.as_bytes(), Some(SIGNATURE)), Ok(()));
    }

    #[test]
    fn a_changed_body_or_secret_is_refused() {
        let tampered = BODY.replace("events", "Events");
        assert_eq!(verify(&secret(), tampered.as_bytes(), Some(SIGNATURE)), Err(SignatureError::Mismatch));
        let other = SecretString::from("00000000000000000000000000000000");
        assert_eq!(verify(&other, BODY.as_bytes(), Some(SIGNATURE)), Err(SignatureError::Mismatch));
        // The same JSON with different whitespace is a different body.
        let spaced = BODY.replace(',', ", ");
        assert_eq!(verify(&secret(), spaced.as_bytes(), Some(SIGNATURE)), Err(SignatureError::Mismatch));
    }

    #[test]
    fn missing_and_malformed_headers_are_refused() {
        assert_eq!(verify(&secret(), BODY.as_bytes(), None), Err(SignatureError::Missing));
        assert_eq!(verify(&secret(), BODY.as_bytes(), Some("not base64!")), Err(SignatureError::Malformed));
        assert_eq!(verify(&secret(), BODY.as_bytes(), Some("AAAA")), Err(SignatureError::Malformed));
        assert_eq!(verify(&secret(), BODY.as_bytes(), Some("")), Err(SignatureError::Malformed));
    }
}
