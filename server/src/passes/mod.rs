//! Passes (issue 7): a QR code for a visitor who cannot scan with a phone — a child, an
//! elderly parent, anyone whose phone is flat. A resident asks for one in LINE, for themself or
//! for a family member under a label of their choosing; the kiosk's camera reads it and the
//! kiosk syncs the scan later, which becomes a visit of the resident who asked.
//!
//! - [`PassKey`]: the server's Ed25519 signing key, kept in a file of its 32-byte seed
//!   (owner-only, created on first start). Kiosks get the public key at pairing and in every
//!   heartbeat, and check passes offline (`oshirase_common::pass`).
//! - [`PassLabel`]: the name on a pass, as the resident typed it. It is shown only to that
//!   resident (their pass list, their card); no kiosk, venue or staff member ever sees it, and
//!   it is not in the QR code.
//! - A pass's image and card are served at `/p/{link}/…`, where the link token is derived from
//!   the pass's signature ([`PassKey::link_token`]): only the holder of the signing key can
//!   compute it, and the database keeps only its hash, so a copy of the database cannot
//!   produce a working pass.
//!
//! **Invariant:** a pass carries a random pass id and an expiry, never a LINE user id, and no
//! one but the resident who asked learns which pass is whose.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer as _, SigningKey};
use oshirase_common::pass::{self, Pass};
use oshirase_common::text::normalize;
use sha2::{Digest as _, Sha256};
use thiserror::Error;

use crate::config::{PassSettings, PublicBaseUrl};
use crate::secrets::{ManageToken, random_bytes};

/// What issuing and serving passes needs: the key, the rules, and where the server is
/// reached (the links in LINE messages).
#[derive(Debug)]
pub struct Passes {
    /// The signing key.
    pub key: PassKey,
    /// `[passes]`.
    pub settings: PassSettings,
    /// The server's public URL.
    pub base_url: PublicBaseUrl,
}

/// The server's pass signing key.
pub struct PassKey {
    signing: SigningKey,
}

impl std::fmt::Debug for PassKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PassKey(public {})", self.public_key_base64())
    }
}

/// The key file could not be read or written.
#[derive(Debug, Error)]
pub enum PassKeyError {
    /// Reading, creating or syncing the file failed.
    #[error("pass signing key {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The file is not 32 bytes.
    #[error("pass signing key {path}: expected 32 bytes, found {found}")]
    Length {
        /// The file.
        path: PathBuf,
        /// Its length.
        found: u64,
    },
    /// The file can be read by others than its owner.
    #[error("pass signing key {path}: readable by group or others (mode {mode:o}); chmod 600 it")]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its mode.
        mode: u32,
    },
}

impl PassKey {
    /// The key of this seed (tests, and the file's content).
    pub fn from_seed(seed: [u8; 32]) -> PassKey {
        PassKey { signing: SigningKey::from_bytes(&seed) }
    }

    /// Reads the key file, or creates it with a fresh random seed (mode 0600, written to a
    /// temporary file, synced, then renamed) if there is none. A key readable by others is
    /// refused.
    pub fn load_or_create(path: &Path) -> Result<PassKey, PassKeyError> {
        let io = |source| PassKeyError::Io { path: path.to_owned(), source };
        match std::fs::read(path) {
            Ok(bytes) => {
                check_mode(path)?;
                let seed: [u8; 32] = bytes.as_slice().try_into().map_err(|_| PassKeyError::Length { path: path.to_owned(), found: bytes.len() as u64 })?;
                Ok(PassKey::from_seed(seed))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let seed: [u8; 32] = random_bytes();
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                let temporary = path.with_extension("key.new");
                let mut file = owner_only(&temporary).map_err(io)?;
                file.write_all(&seed).and_then(|()| file.sync_all()).map_err(io)?;
                std::fs::rename(&temporary, path).map_err(io)?;
                tracing::info!(path = %path.display(), "created a new pass signing key");
                Ok(PassKey::from_seed(seed))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The public key as kiosks get it: base64 of its 32 bytes.
    pub fn public_key_base64(&self) -> String {
        STANDARD.encode(self.signing.verifying_key().as_bytes())
    }

    /// The QR text of a pass.
    pub fn issue(&self, pass: &Pass) -> String {
        pass::issue(&self.signing, pass)
    }

    /// The secret link of a pass's image and card: SHA-256 of a domain and the pass's
    /// (deterministic) signature, so it can be computed again for the pass list but only with
    /// the key.
    pub fn link_token(&self, pass: &Pass) -> ManageToken {
        let text = self.issue(pass);
        let signature = self.signing.sign(text.as_bytes());
        let mut digest = Sha256::new();
        digest.update(b"oshirase-pass-link-v1");
        digest.update(signature.to_bytes());
        ManageToken::from_bytes(digest.finalize().into())
    }
}

#[cfg(unix)]
fn owner_only(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn owner_only(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::create(path)
}

#[cfg(unix)]
fn check_mode(path: &Path) -> Result<(), PassKeyError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path).map_err(|source| PassKeyError::Io { path: path.to_owned(), source })?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(PassKeyError::Permissions { path: path.to_owned(), mode });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_: &Path) -> Result<(), PassKeyError> {
    Ok(())
}

/// The name on a pass: 1 to 20 characters after normalising (full-width Latin and digits to
/// half-width, spaces collapsed), no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassLabel(String);

/// Why a label is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum LabelError {
    /// Longer than 20 characters.
    #[error("a pass label has at most 20 characters")]
    TooLong,
    /// Holds a control character.
    #[error("a pass label cannot hold control characters")]
    Control,
}

impl PassLabel {
    /// Most characters in a label.
    pub const MAX_CHARS: usize = 20;

    /// Parses what the resident typed; empty means "for myself" (`None`).
    pub fn parse(input: &str) -> Result<Option<PassLabel>, LabelError> {
        let text = normalize(input);
        if text.chars().any(char::is_control) {
            return Err(LabelError::Control);
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(LabelError::TooLong);
        }
        Ok((!text.is_empty()).then_some(PassLabel(text)))
    }

    /// A label read back from the store.
    pub fn stored(text: String) -> PassLabel {
        PassLabel(text)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use oshirase_common::pass::PassId;

    use super::*;

    #[test]
    fn a_key_file_is_created_owner_only_and_read_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("keys/pass.key");
        let first = PassKey::load_or_create(&path).expect("created");
        let again = PassKey::load_or_create(&path).expect("read back");
        assert_eq!(first.public_key_base64(), again.public_key_base64());
        assert_eq!(std::fs::read(&path).expect("file").len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            assert!(matches!(PassKey::load_or_create(&path), Err(PassKeyError::Permissions { .. })));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        std::fs::write(&path, [1u8; 31]).expect("truncate");
        assert!(matches!(PassKey::load_or_create(&path), Err(PassKeyError::Length { found: 31, .. })));
    }

    #[test]
    fn a_pass_verifies_with_the_public_key_and_its_link_is_stable_and_keyed() {
        let key = PassKey::from_seed([7; 32]);
        let pass = Pass { id: PassId::from_random([3; 10]), expires_at: 1_900_000_000 };
        let text = key.issue(&pass);
        let public: [u8; 32] = STANDARD.decode(key.public_key_base64()).expect("base64").try_into().expect("32 bytes");
        let verifying = ed25519_dalek::VerifyingKey::from_bytes(&public).expect("key");
        assert_eq!(pass::verify(&verifying, &text), Ok(pass.clone()));
        assert_eq!(key.link_token(&pass), key.link_token(&pass));
        assert_ne!(key.link_token(&pass), PassKey::from_seed([8; 32]).link_token(&pass));
        let other = Pass { id: PassId::from_random([4; 10]), ..pass.clone() };
        assert_ne!(key.link_token(&pass), key.link_token(&other));
    }

    #[test]
    fn labels_are_normalised_and_bounded() {
        assert_eq!(PassLabel::parse("  ").expect("empty"), None);
        assert_eq!(PassLabel::parse("　たろう　").expect("ok").expect("some").as_str(), "たろう");
        assert_eq!(PassLabel::parse("ＡＢＣ").expect("ok").expect("some").as_str(), "ABC");
        assert!(PassLabel::parse(&"あ".repeat(20)).is_ok());
        assert_eq!(PassLabel::parse(&"あ".repeat(21)), Err(LabelError::TooLong));
        assert_eq!(PassLabel::parse("a\u{7}b"), Err(LabelError::Control));
    }
}
