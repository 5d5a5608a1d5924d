//! What the kiosk needs to check a pass offline (issue 7, `docs/protocol.md` "Passes"): the
//! server's Ed25519 public key ([`PassKey`], kept in the identity) and the revocation list of
//! the last heartbeat that brought one ([`RevocationList`], kept in `revocations.json` beside
//! the identity, written the same atomic, owner-only way).
//!
//! The checks themselves are `oshirase_common::pass`'s; this module only holds their inputs.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use oshirase_common::pass::{self, Pass, PassError, PassId};
use serde::{Deserialize, Serialize};

use crate::storage::{StorageError, write_private_file};

/// The revocation list's file inside the data folder.
pub const REVOCATIONS_FILE: &str = "revocations.json";

/// The server's public key for passes: 32 bytes that are a valid Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PassKey([u8; 32]);

impl PassKey {
    /// The key from its 32 bytes; `None` unless they are a valid Ed25519 public key.
    pub fn from_bytes(bytes: [u8; 32]) -> Option<PassKey> {
        let key = PassKey(bytes);
        key.run("", None).map(|_| key)
    }

    /// The key as the server sends it (base64 of 32 bytes).
    pub fn from_base64(text: &str) -> Option<PassKey> {
        PassKey::from_bytes(STANDARD.decode(text.trim()).ok()?.try_into().ok()?)
    }

    /// Base64 of the 32 bytes.
    pub fn to_base64(self) -> String {
        STANDARD.encode(self.0)
    }

    /// Checks a scanned text: a pass signed with this key, not expired at `now_seconds`
    /// (Unix seconds of a trusted clock), not on `revoked`.
    pub fn check(&self, text: &str, now_seconds: u64, revoked: &RevocationList) -> Result<Pass, PassError> {
        self.run(text, Some((now_seconds, revoked))).unwrap_or(Err(PassError::Forged))
    }

    /// Reads a pass's text and checks only its signature.
    pub fn verify(&self, text: &str) -> Result<Pass, PassError> {
        self.run(text, None).unwrap_or(Err(PassError::Forged))
    }

    /// `pass::verify` (without `checks`) or `pass::check` with the key made from the bytes;
    /// `None` when the bytes are no Ed25519 public key (never, once a `PassKey` exists).
    ///
    /// The kiosk does not depend on `ed25519-dalek` itself and `common` does not re-export its
    /// key type, so the key's type is left to inference from `pass::verify`'s parameter. Making
    /// it from the bytes (a point decompression, microseconds) happens per check, which is per
    /// pass held up, not per frame.
    fn run(&self, text: &str, checks: Option<(u64, &RevocationList)>) -> Option<Result<Pass, PassError>> {
        let key = TryFrom::try_from(&self.0[..]).ok()?;
        Some(match checks {
            None => pass::verify(&key, text),
            Some((now_seconds, revoked)) => pass::check(&key, text, now_seconds, &|id| revoked.contains(id)),
        })
    }
}

impl fmt::Debug for PassKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PassKey({})", self.to_base64())
    }
}

/// The passes the server revoked (and that have not expired), as of `version`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationList {
    version: Option<u64>,
    passes: BTreeSet<PassId>,
}

impl RevocationList {
    /// A list as the server sent it: its version (`None` if the server gave none) and ids.
    pub fn new(version: Option<u64>, passes: impl IntoIterator<Item = PassId>) -> RevocationList {
        RevocationList { version, passes: passes.into_iter().collect() }
    }

    /// The version the heartbeat reports (`revocations_version`); `None` before the first list.
    pub fn version(&self) -> Option<u64> {
        self.version
    }

    /// Whether the pass is revoked.
    pub fn contains(&self, id: &PassId) -> bool {
        self.passes.contains(id)
    }

    /// How many passes are revoked.
    pub fn len(&self) -> usize {
        self.passes.len()
    }

    /// Whether no pass is revoked.
    pub fn is_empty(&self) -> bool {
        self.passes.is_empty()
    }
}

/// Where the revocation list of a data folder is.
pub fn revocations_path(data_dir: &Path) -> PathBuf {
    data_dir.join(REVOCATIONS_FILE)
}

/// Keeps the list (atomically, owner-only).
pub fn save_revocations(data_dir: &Path, list: &RevocationList) -> Result<(), StorageError> {
    let stored = StoredRevocations {
        version: list.version,
        revoked_passes: list.passes.iter().map(|id| id.as_str().to_owned()).collect(),
    };
    let mut text = serde_json::to_string(&stored).map_err(|e| StorageError::Corrupt { path: revocations_path(data_dir), reason: e.to_string() })?;
    text.push('\n');
    write_private_file(data_dir, REVOCATIONS_FILE, text.as_bytes())
}

/// Reads the list kept last; an empty list without a version when there is none yet (the next
/// heartbeat brings the server's whole list).
pub fn load_revocations(data_dir: &Path) -> Result<RevocationList, StorageError> {
    let path = revocations_path(data_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(RevocationList::default()),
        Err(source) => return Err(StorageError::Io { action: "reading", path, source }),
    };
    let corrupt = |reason: String| StorageError::Corrupt { path: path.clone(), reason };
    let stored: StoredRevocations = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
    let passes = stored
        .revoked_passes
        .iter()
        .map(|id| PassId::parse(id).map_err(|_| corrupt(format!("{id:?} is not a pass id"))))
        .collect::<Result<BTreeSet<_>, _>>()?;
    Ok(RevocationList { version: stored.version, passes })
}

/// The file's format; field names as in the heartbeat answer.
#[derive(Serialize, Deserialize)]
struct StoredRevocations {
    version: Option<u64>,
    revoked_passes: Vec<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

    use super::*;

    #[test]
    fn a_key_is_32_bytes_of_a_valid_point_in_base64() {
        // docs/protocol.md's first vector: the public key of the seed 01 01 … 01.
        let key = PassKey::from_base64("iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=").unwrap();
        assert_eq!(key.to_base64(), "iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=");
        assert_eq!(PassKey::from_base64("c2hvcnQ="), None, "too short");
        assert_eq!(PassKey::from_base64("not base64!"), None);
        // y = 2 is not on the curve: no x satisfies the equation.
        let mut not_a_point = [0u8; 32];
        not_a_point[0] = 2;
        assert_eq!(PassKey::from_bytes(not_a_point), None);
    }

    #[test]
    fn the_documented_pass_verifies_with_the_documented_key() {
        let key = PassKey::from_base64("iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=").unwrap();
        let text = "OSP100GE1R70W3GE1R70W3PPJEJ01G0C6KY2T8K653ENE3SQ30K909D8FA8V0Y5BPF5BWCBYVV1EVC79R0DV64M97P9VB0WYCBE7YFZKPT6R7C25BY8XVQBYGAB0GCT27G0";
        let pass = key.verify(text).unwrap();
        assert_eq!(pass.id.as_str(), "0W3GE1R70W3GE1R7");
        assert_eq!(key.check(text, 1_700_000_000, &RevocationList::default()), Ok(pass.clone()));
        assert_eq!(key.check(text, 1_800_000_000, &RevocationList::default()), Err(PassError::Expired));
        let revoked = RevocationList::new(Some(3), [pass.id]);
        assert_eq!(key.check(text, 1_700_000_000, &revoked), Err(PassError::Revoked));
    }

    #[test]
    fn the_revocation_list_survives_a_restart_with_its_version() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load_revocations(dir.path()).unwrap(), RevocationList::default(), "none kept yet");
        let list = RevocationList::new(Some(14), [PassId::parse("0W3GE1R70W3GE1R7").unwrap(), PassId::parse("0000000000000000").unwrap()]);
        save_revocations(dir.path(), &list).unwrap();
        let back = load_revocations(dir.path()).unwrap();
        assert_eq!(back, list);
        assert_eq!((back.version(), back.len()), (Some(14), 2));
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(revocations_path(dir.path())).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_damaged_revocation_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(revocations_path(dir.path()), r#"{"version": 2, "revoked_passes": ["nope"]}"#).unwrap();
        let message = load_revocations(dir.path()).unwrap_err().to_string();
        assert!(message.contains("revocations.json") && message.contains("\"nope\""), "{message}");
    }
}
