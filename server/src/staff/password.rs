//! Staff passwords: argon2id (OWASP's minimum: 19 MiB, 2 passes, 1 lane) in PHC strings, so
//! the parameters are stored with each hash and can be raised later without a migration.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

use super::StaffInputError;
use crate::secrets::random_bytes;

/// Shortest accepted password, in characters.
pub const MIN_CHARS: usize = 12;
/// Longest accepted password, in characters (bounds the hashing work an attacker can ask for).
pub const MAX_CHARS: usize = 128;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks the password policy and hashes with a fresh salt.
pub fn hash(password: &SecretString) -> Result<String, StaffInputError> {
    let chars = password.expose_secret().chars().count();
    if !(MIN_CHARS..=MAX_CHARS).contains(&chars) {
        return Err(StaffInputError::BadPassword);
    }
    let salt = SaltString::encode_b64(&random_bytes::<16>()).map_err(|_| StaffInputError::BadPassword)?;
    argon2().hash_password(password.expose_secret().as_bytes(), &salt).map(|h| h.to_string()).map_err(|_| StaffInputError::BadPassword)
}

/// Whether `password` matches a stored PHC string. A malformed stored hash never matches.
pub fn verify(password: &SecretString, stored: &str) -> bool {
    if password.expose_secret().chars().count() > MAX_CHARS {
        return false;
    }
    PasswordHash::new(stored).is_ok_and(|parsed| argon2().verify_password(password.expose_secret().as_bytes(), &parsed).is_ok())
}

/// A hash of nothing anybody knows, checked when a login name does not exist so that an
/// unknown name takes as long as a wrong password.
pub fn dummy_verify(password: &SecretString) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let stored = DUMMY.get_or_init(|| hash(&SecretString::from(crate::secrets::ManageToken::generate().expose().to_owned())).unwrap_or_default());
    let _ = verify(password, stored);
}

/// A new random password for an account an admin creates or resets: 20 characters of
/// unambiguous base32 (100 bits), shown once.
pub fn generate() -> SecretString {
    let raw = oshirase_common::base32::encode(&random_bytes::<13>(), 20);
    SecretString::from(format!("{}-{}-{}-{}", &raw[..5], &raw[5..10], &raw[10..15], &raw[15..]))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let stored = hash(&SecretString::from("correct horse battery staple")).unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(verify(&SecretString::from("correct horse battery staple"), &stored));
        assert!(!verify(&SecretString::from("correct horse battery stapl"), &stored));
        assert!(!verify(&SecretString::from("correct horse battery staple"), "not a hash"));
        let again = hash(&SecretString::from("correct horse battery staple")).unwrap();
        assert_ne!(stored, again, "each hash has its own salt");
    }

    #[test]
    fn the_policy_bounds_length() {
        assert_eq!(hash(&SecretString::from("short")), Err(StaffInputError::BadPassword));
        assert_eq!(hash(&SecretString::from("あ".repeat(129))), Err(StaffInputError::BadPassword));
        assert!(hash(&SecretString::from("パスワードは十二文字以上です")).is_ok());
    }

    #[test]
    fn generated_passwords_pass_the_policy_and_differ() {
        let (a, b) = (generate(), generate());
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(a.expose_secret().len(), 23);
        assert!(hash(&a).is_ok());
    }
}
