//! The kiosk's identity on disk (issue 5): what pairing handed it — its id, its token secret,
//! its sync token, its place and the server — kept in one JSON file that only the kiosk's
//! user can read.
//!
//! The file is written atomically (temporary file, `fsync`, rename, `fsync` of the folder), so
//! a power cut while pairing leaves either the old identity or the new one, never half of one;
//! a Raspberry Pi on a venue's wall loses power often. The file is created `0600` and a folder
//! created here is `0700`. [`Identity`]'s `Debug` never prints the secret or the sync token.

use std::fmt;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use oshirase_common::kiosk_token::{KioskId, KioskSecret, Steps, Window};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::passes::PassKey;

/// The identity file's name inside the data folder.
pub const IDENTITY_FILE: &str = "identity.json";

/// Why the identity could not be read or written.
#[derive(Debug, Error)]
pub enum StorageError {
    /// The file or its folder could not be read, written or created.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`reading`, `writing`, …).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file exists but is not a valid identity (damaged, edited by hand, another format).
    #[error(
        "{path} is not a valid kiosk identity ({reason}); pair the kiosk again with `oshirase-kiosk pair`"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// The token a kiosk authenticates to the server with (`Authorization: Bearer …`). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SyncToken(String);

impl SyncToken {
    /// Wraps the token text.
    pub fn new(token: String) -> SyncToken {
        SyncToken(token)
    }

    /// The token, for the `Authorization` header and the identity file.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SyncToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SyncToken(<redacted>)")
    }
}

/// Everything a paired kiosk knows about itself.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The kiosk's id, the first part of every code it shows.
    pub kiosk_id: KioskId,
    /// Signs the kiosk's codes.
    pub kiosk_secret: KioskSecret,
    /// Authenticates the kiosk's heartbeat (and later its scan sync).
    pub sync_token: SyncToken,
    /// The stable id of the kiosk's place.
    pub location_id: String,
    /// The place's name, shown on the screen.
    pub venue_name: String,
    /// The server's API base URL, as given to `oshirase-kiosk pair --server`.
    pub server_url: String,
    /// The URL residents reach the server at; the codes lead to `<it>/K/<token>`.
    pub public_base_url: String,
    /// Seconds per code.
    pub step_seconds: u32,
    /// Steps into the past the server still accepts a code.
    pub window_behind_steps: u32,
    /// Steps ahead the server accepts a code.
    pub window_ahead_steps: u32,
    /// The server's key for passes, from pairing or the last heartbeat; `None` for a kiosk
    /// paired with a server that had no passes yet (it cannot check passes until a heartbeat
    /// brings the key).
    pub pass_public_key: Option<PassKey>,
}

impl Identity {
    /// A made-up identity for tests: kiosk `KX7PQ2M9` of 「市民体育館」 on
    /// `https://oshirase.example.jp`, 30-second codes, the pass key of `docs/protocol.md`'s
    /// first vector (seed 01 01 … 01).
    #[doc(hidden)]
    pub fn example() -> Identity {
        Identity {
            kiosk_id: KioskId::parse("KX7PQ2M9").unwrap_or_else(|_| unreachable!("a valid kiosk id")),
            kiosk_secret: KioskSecret::new([3; 32]),
            sync_token: SyncToken::new("t".repeat(43)),
            location_id: "L1".into(),
            venue_name: "市民体育館".into(),
            server_url: "https://oshirase.example.jp".into(),
            public_base_url: "https://oshirase.example.jp".into(),
            step_seconds: 30,
            window_behind_steps: 10,
            window_ahead_steps: 1,
            pass_public_key: PassKey::from_base64("iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w="),
        }
    }
}

impl Identity {
    /// The steps the kiosk's codes rotate on.
    pub fn steps(&self) -> Steps {
        Steps {
            seconds: self.step_seconds,
        }
    }

    /// The window the server accepts codes in.
    pub fn window(&self) -> Window {
        Window {
            behind: u64::from(self.window_behind_steps),
            ahead: u64::from(self.window_ahead_steps),
        }
    }
}

/// Where the identity file of a data folder is.
pub fn identity_path(data_dir: &Path) -> PathBuf {
    data_dir.join(IDENTITY_FILE)
}

/// Writes the identity atomically with owner-only permissions, creating the folder (`0700`)
/// if needed. An existing folder keeps its permissions.
pub fn save(data_dir: &Path, identity: &Identity) -> Result<(), StorageError> {
    let mut text = serde_json::to_string_pretty(&StoredIdentity::from(identity)).map_err(|e| {
        StorageError::Corrupt {
            path: identity_path(data_dir),
            reason: e.to_string(),
        }
    })?;
    text.push('\n');
    write_private_file(data_dir, IDENTITY_FILE, text.as_bytes())
}

/// Writes `data_dir/name` atomically (temporary file, `fsync`, rename, `fsync` of the folder)
/// with owner-only permissions, creating the folder (`0700`) if needed: a power cut leaves
/// the old file or the new one, never half of one.
pub(crate) fn write_private_file(data_dir: &Path, name: &str, bytes: &[u8]) -> Result<(), StorageError> {
    create_private_dir(data_dir)?;
    let path = data_dir.join(name);
    let temporary = data_dir.join(format!("{name}.tmp"));
    write_synced(&temporary, bytes)?;
    fs::rename(&temporary, &path).map_err(io("renaming into place", &path))?;
    // The rename itself is durable only once the folder is synced.
    File::open(data_dir)
        .and_then(|dir| dir.sync_all())
        .map_err(io("syncing", data_dir))
}

/// Reads the identity: `Ok(None)` if the kiosk has not been paired (no file).
pub fn load(data_dir: &Path) -> Result<Option<Identity>, StorageError> {
    let path = identity_path(data_dir);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(StorageError::Io {
                action: "reading",
                path,
                source: e,
            });
        }
    };
    let corrupt = |reason: String| StorageError::Corrupt {
        path: path.clone(),
        reason,
    };
    let stored: StoredIdentity = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
    stored.into_identity().map(Some).map_err(corrupt)
}

/// The file's format (version 1). Field names match the pairing answer in `docs/protocol.md`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredIdentity {
    version: u32,
    kiosk_id: String,
    kiosk_secret: String,
    sync_token: String,
    location_id: String,
    venue_name: String,
    server_url: String,
    public_base_url: String,
    step_seconds: u32,
    window_behind_steps: u32,
    window_ahead_steps: u32,
    /// Base64 of 32 bytes; absent in files written before passes existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pass_public_key: Option<String>,
}

const FORMAT_VERSION: u32 = 1;

impl From<&Identity> for StoredIdentity {
    fn from(i: &Identity) -> Self {
        StoredIdentity {
            version: FORMAT_VERSION,
            kiosk_id: i.kiosk_id.as_str().to_owned(),
            kiosk_secret: STANDARD.encode(i.kiosk_secret.expose()),
            sync_token: i.sync_token.expose().to_owned(),
            location_id: i.location_id.clone(),
            venue_name: i.venue_name.clone(),
            server_url: i.server_url.clone(),
            public_base_url: i.public_base_url.clone(),
            step_seconds: i.step_seconds,
            window_behind_steps: i.window_behind_steps,
            window_ahead_steps: i.window_ahead_steps,
            pass_public_key: i.pass_public_key.map(|key| key.to_base64()),
        }
    }
}

impl StoredIdentity {
    fn into_identity(self) -> Result<Identity, String> {
        if self.version != FORMAT_VERSION {
            return Err(format!(
                "format version {} is not {FORMAT_VERSION}",
                self.version
            ));
        }
        if self.step_seconds == 0 {
            return Err("step_seconds is 0".into());
        }
        if self.sync_token.is_empty() {
            return Err("sync_token is empty".into());
        }
        Ok(Identity {
            kiosk_id: KioskId::parse(&self.kiosk_id)
                .map_err(|_| format!("kiosk_id {:?} is not a kiosk id", self.kiosk_id))?,
            kiosk_secret: decode_secret(&self.kiosk_secret)
                .ok_or("kiosk_secret is not base64 of 32 bytes")?,
            sync_token: SyncToken::new(self.sync_token),
            location_id: self.location_id,
            venue_name: self.venue_name,
            server_url: self.server_url,
            public_base_url: self.public_base_url,
            step_seconds: self.step_seconds,
            window_behind_steps: self.window_behind_steps,
            window_ahead_steps: self.window_ahead_steps,
            pass_public_key: match self.pass_public_key {
                Some(text) => Some(PassKey::from_base64(&text).ok_or("pass_public_key is not base64 of an Ed25519 public key")?),
                None => None,
            },
        })
    }
}

/// Decodes a kiosk secret sent or stored as base64; `None` unless it is exactly 32 bytes.
pub fn decode_secret(text: &str) -> Option<KioskSecret> {
    let bytes: [u8; 32] = STANDARD.decode(text.trim()).ok()?.try_into().ok()?;
    Some(KioskSecret::new(bytes))
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StorageError {
    let path = path.to_owned();
    move |source| StorageError::Io {
        action,
        path,
        source,
    }
}

fn create_private_dir(dir: &Path) -> Result<(), StorageError> {
    if dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io("creating", dir))?;
    // `mode` is filtered by the umask; set it exactly.
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .map_err(io("setting permissions of", dir))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io("creating", path))?;
    // A leftover temporary file from a crash keeps its old mode: set it exactly.
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(io("setting permissions of", path))?;
    file.write_all(bytes).map_err(io("writing", path))?;
    file.sync_all().map_err(io("syncing", path))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

    use super::*;

    fn identity() -> Identity {
        Identity { kiosk_secret: KioskSecret::new([7; 32]), sync_token: SyncToken::new("s".repeat(43)), venue_name: "市民体育館 メインアリーナ".into(), ..Identity::example() }
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn an_identity_survives_a_round_trip_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("kiosk");
        assert!(
            load(&data).unwrap().is_none(),
            "an unpaired kiosk has no identity"
        );
        save(&data, &identity()).unwrap();
        let back = load(&data).unwrap().unwrap();
        assert_eq!(back.kiosk_id, identity().kiosk_id);
        assert_eq!(back.kiosk_secret.expose(), &[7; 32]);
        assert_eq!(back.sync_token, identity().sync_token);
        assert_eq!(back.venue_name, "市民体育館 メインアリーナ");
        assert_eq!(
            (
                back.step_seconds,
                back.window_behind_steps,
                back.window_ahead_steps
            ),
            (30, 10, 1)
        );
        assert_eq!(back.public_base_url, "https://oshirase.example.jp");
        assert!(
            !data.join("identity.json.tmp").exists(),
            "no temporary file is left behind"
        );
    }

    #[test]
    fn only_the_owner_can_read_the_identity_or_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("a").join("kiosk");
        save(&data, &identity()).unwrap();
        assert_eq!(mode(&identity_path(&data)), 0o600);
        assert_eq!(mode(&data), 0o700);
        // Saving again over a file someone opened up narrows it again.
        fs::set_permissions(identity_path(&data), fs::Permissions::from_mode(0o644)).unwrap();
        save(&data, &identity()).unwrap();
        assert_eq!(mode(&identity_path(&data)), 0o600);
    }

    #[test]
    fn a_damaged_identity_file_is_a_clear_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), &identity()).unwrap();
        let path = identity_path(dir.path());
        fs::write(&path, "{\"version\": 1, \"kiosk_id\": ").unwrap();
        let message = load(dir.path()).unwrap_err().to_string();
        assert!(
            message.contains("identity.json")
                && message.contains("not a valid kiosk identity")
                && message.contains("pair"),
            "{message}"
        );

        let text = serde_json::to_string(&StoredIdentity {
            kiosk_secret: "c2hvcnQ=".into(),
            ..StoredIdentity::from(&identity())
        })
        .unwrap();
        fs::write(&path, text).unwrap();
        let message = load(dir.path()).unwrap_err().to_string();
        assert!(
            message.contains("kiosk_secret is not base64 of 32 bytes"),
            "{message}"
        );
    }

    #[test]
    fn an_identity_file_from_before_passes_loads_without_a_pass_key() {
        let dir = tempfile::tempdir().unwrap();
        let before = Identity { pass_public_key: None, ..identity() };
        save(dir.path(), &before).unwrap();
        let text = fs::read_to_string(identity_path(dir.path())).unwrap();
        assert!(!text.contains("pass_public_key"), "{text}");
        assert_eq!(load(dir.path()).unwrap().unwrap().pass_public_key, None);
        save(dir.path(), &identity()).unwrap();
        assert_eq!(load(dir.path()).unwrap().unwrap().pass_public_key, identity().pass_public_key);
    }

    #[test]
    fn the_secret_and_sync_token_are_never_printed() {
        let printed = format!("{:?}", identity());
        assert!(
            printed.contains("KX7PQ2M9") && printed.contains("<redacted>"),
            "{printed}"
        );
        assert!(
            !printed.contains(&"s".repeat(43)) && !printed.contains("[7, 7"),
            "{printed}"
        );
    }
}
