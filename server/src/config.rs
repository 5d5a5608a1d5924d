//! Configuration in layers: built-in defaults, then a TOML file, then `OSHIRASE_*`
//! environment variables (`OSHIRASE_SERVER__LISTEN` sets `server.listen`; `__` separates
//! levels). Everything is parsed into typed settings once at start-up; secrets are
//! [`SecretString`]s and never appear in `Debug` output or logs.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use secrecy::SecretString;
use serde::{Deserialize, Deserializer};
use thiserror::Error;

/// Prefix of environment variables that override settings.
pub const ENV_PREFIX: &str = "OSHIRASE_";
/// Separator between nesting levels in an override's name.
pub const ENV_SEPARATOR: &str = "__";

/// Why settings could not be loaded.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The configuration file or an override is not valid TOML or has a wrong value.
    #[error("invalid configuration{origin}: {message}")]
    Invalid {
        /// Where the bad value came from (file path), if known.
        origin: String,
        /// What was wrong.
        message: String,
    },
}

/// All settings of the server.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where the server listens and how it is reached.
    pub server: ServerSettings,
    /// The SQLite database.
    pub database: DatabaseSettings,
    /// A4 poster rendering.
    pub poster: PosterSettings,
    /// Request size limits.
    pub limits: LimitSettings,
    /// The Prometheus endpoint.
    pub metrics: MetricsSettings,
    /// The LINE channel and where LINE is reached.
    pub line: LineSettings,
    /// Resident check-in rules.
    pub checkin: CheckinSettings,
    /// How long data is kept.
    pub retention: RetentionSettings,
    /// Kiosks' rotating codes and pairing.
    pub kiosk: KioskSettings,
    /// Staff sign-in.
    pub staff: StaffSettings,
    /// Who overlapped with a positive person.
    pub matching: MatchingSettings,
    /// The alert and how it is sent.
    pub alerts: AlertSettings,
    /// Passes a kiosk's camera reads.
    pub passes: PassSettings,
}

/// `[server]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Socket address to listen on; port 0 picks a free port.
    #[serde(deserialize_with = "from_str_value")]
    pub listen: SocketAddr,
    /// The URL residents reach the server at; printed in every QR code. When unset, the
    /// address the server listens on (fine for a local demo, never for production).
    #[serde(deserialize_with = "optional_from_str_value")]
    pub public_base_url: Option<PublicBaseUrl>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_base_url: None,
        }
    }
}

/// `[database]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// The SQLite file; created with its folder if missing.
    pub path: PathBuf,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self { path: PathBuf::from("data/oshirase.sqlite") }
    }
}

/// `[poster]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PosterSettings {
    /// A TrueType/OpenType font with Japanese glyphs, embedded (subset) into posters.
    pub font_path: PathBuf,
}

impl Default for PosterSettings {
    fn default() -> Self {
        Self { font_path: PathBuf::from("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf") }
    }
}

/// `[limits]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// Largest JSON or form body accepted, in bytes.
    #[serde(deserialize_with = "from_str_value")]
    pub body_bytes: usize,
    /// Largest CSV upload accepted for bulk registration, in bytes.
    #[serde(deserialize_with = "from_str_value")]
    pub upload_bytes: usize,
    /// Most places one bulk registration may hold.
    #[serde(deserialize_with = "from_str_value")]
    pub bulk_max_places: usize,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self { body_bytes: 64 * 1024, upload_bytes: 1024 * 1024, bulk_max_places: 500 }
    }
}

/// `[metrics]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// If set, `GET /metrics` requires `Authorization: Bearer <token>`.
    pub token: Option<SecretString>,
}

/// `[line]`: the Messaging API channel. The base URLs point at LINE in production and at
/// the LINE sandbox in tests and the local demo; nothing else changes between the two.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LineSettings {
    /// Messaging API base URL.
    #[serde(deserialize_with = "from_str_value")]
    pub api_base_url: PublicBaseUrl,
    /// Base of LINE's deep links (`/R/oaMessage/…`).
    #[serde(deserialize_with = "from_str_value")]
    pub deep_link_base_url: PublicBaseUrl,
    /// The official account's basic id, e.g. `@oshirase`.
    pub basic_id: String,
    /// Channel secret: verifies webhook signatures. Without it the webhook refuses everything.
    pub channel_secret: Option<SecretString>,
    /// Channel access token for the Messaging API.
    pub channel_access_token: Option<SecretString>,
    /// Timeout of one Messaging API request, in milliseconds.
    #[serde(deserialize_with = "from_str_value")]
    pub request_timeout_ms: u64,
}

impl Default for LineSettings {
    fn default() -> Self {
        Self {
            api_base_url: PublicBaseUrl::parse("https://api.line.me").unwrap_or_else(|_| unreachable!("a valid literal")),
            deep_link_base_url: PublicBaseUrl::parse("https://line.me").unwrap_or_else(|_| unreachable!("a valid literal")),
            basic_id: "@oshirase".to_owned(),
            channel_secret: None,
            channel_access_token: None,
            request_timeout_ms: 5_000,
        }
    }
}

/// `[checkin]`: rules for residents' scans.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckinSettings {
    /// Version of the terms residents consent to; a new version asks everyone again.
    pub terms_version: String,
    /// How long a scan waits for consent before it is dropped, in minutes.
    #[serde(deserialize_with = "from_str_value")]
    pub pending_scan_minutes: u32,
    /// A repeat scan of the same place by the same resident within this many seconds is the
    /// same visit (double taps, redelivery, impatience).
    #[serde(deserialize_with = "from_str_value")]
    pub repeat_window_seconds: u32,
    /// Most check-ins one resident may make per hour before being asked to slow down.
    #[serde(deserialize_with = "from_str_value")]
    pub max_per_hour: u32,
    /// A history code a resident asks for in LINE works this many hours.
    #[serde(deserialize_with = "from_str_value")]
    pub history_code_hours: u32,
}

impl Default for CheckinSettings {
    fn default() -> Self {
        Self { terms_version: "2026-11".to_owned(), pending_scan_minutes: 30, repeat_window_seconds: 120, max_per_hour: 30, history_code_hours: 24 }
    }
}

/// `[kiosk]`: rotating codes and pairing (format in `docs/protocol.md`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KioskSettings {
    /// Seconds per code.
    #[serde(deserialize_with = "from_str_value")]
    pub step_seconds: u32,
    /// Steps into the past a code is still accepted (10 × 30 s = 5 minutes).
    #[serde(deserialize_with = "from_str_value")]
    pub window_behind_steps: u32,
    /// Steps ahead of the server's clock a code is accepted.
    #[serde(deserialize_with = "from_str_value")]
    pub window_ahead_steps: u32,
    /// How long a pairing code can be redeemed, in minutes.
    #[serde(deserialize_with = "from_str_value")]
    pub pairing_code_minutes: u32,
}

impl Default for KioskSettings {
    fn default() -> Self {
        Self { step_seconds: 30, window_behind_steps: 10, window_ahead_steps: 1, pairing_code_minutes: 30 }
    }
}

impl KioskSettings {
    /// The steps codes rotate on.
    pub fn steps(&self) -> oshirase_common::kiosk_token::Steps {
        oshirase_common::kiosk_token::Steps { seconds: self.step_seconds }
    }

    /// The accepted window around the current step.
    pub fn window(&self) -> oshirase_common::kiosk_token::Window {
        oshirase_common::kiosk_token::Window { behind: u64::from(self.window_behind_steps), ahead: u64::from(self.window_ahead_steps) }
    }
}

/// `[passes]`: QR passes for visitors who cannot scan with a phone (format in
/// `docs/protocol.md`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PassSettings {
    /// The Ed25519 signing key: a file of its 32-byte seed, owner-only. Created on first
    /// start if missing. Default: `pass-signing.key` beside the database.
    pub signing_key_path: Option<PathBuf>,
    /// Days a pass is valid from its issue.
    #[serde(deserialize_with = "from_str_value")]
    pub valid_days: u32,
    /// Passes one resident may hold at once (for themself and their family).
    #[serde(deserialize_with = "from_str_value")]
    pub max_per_resident: u32,
}

impl Default for PassSettings {
    fn default() -> Self {
        Self { signing_key_path: None, valid_days: 180, max_per_resident: 10 }
    }
}

impl PassSettings {
    /// The key file: the configured one, or `pass-signing.key` beside `database`.
    pub fn key_path(&self, database: &Path) -> PathBuf {
        self.signing_key_path.clone().unwrap_or_else(|| database.with_file_name("pass-signing.key"))
    }
}

/// `[staff]`: signing in to the staff console.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StaffSettings {
    /// A console session ends this many hours after sign-in.
    #[serde(deserialize_with = "from_str_value")]
    pub session_hours: u32,
    /// This many failed sign-ins in a row lock the account.
    #[serde(deserialize_with = "from_str_value")]
    pub lock_after_failures: u32,
    /// For this many minutes.
    #[serde(deserialize_with = "from_str_value")]
    pub lock_minutes: u32,
    /// Sign-in attempts one client address may make in ten minutes, whatever the account.
    #[serde(deserialize_with = "from_str_value")]
    pub login_attempts_per_address: u32,
    /// Behind a reverse proxy that sets `X-Forwarded-For`, take the client address from it
    /// (never set this when clients can reach the server directly: they could forge it).
    #[serde(deserialize_with = "from_str_value")]
    pub trust_forwarded_for: bool,
}

impl Default for StaffSettings {
    fn default() -> Self {
        Self { session_hours: 10, lock_after_failures: 5, lock_minutes: 15, login_attempts_per_address: 30, trust_forwarded_for: false }
    }
}

/// `[matching]`: a resident matches an exposure when their assumed stay (from the scan, for
/// the dwell time of the place's business type) overlaps the positive person's stay widened by
/// `tail_minutes` after they left. A case may override both.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatchingSettings {
    /// Minutes after the positive person left that still count (aerosols linger).
    #[serde(deserialize_with = "from_str_value")]
    pub tail_minutes: u32,
    /// Assumed stay for business types not listed in `dwell_minutes`.
    #[serde(deserialize_with = "from_str_value")]
    pub default_dwell_minutes: u32,
    /// Assumed stay per business type key (`restaurant = 90`).
    #[serde(deserialize_with = "minutes_by_business_type")]
    pub dwell_minutes: BTreeMap<String, u32>,
    /// A history code imports the visits of this many days before it is entered.
    #[serde(deserialize_with = "from_str_value")]
    pub history_days: u32,
}

impl Default for MatchingSettings {
    fn default() -> Self {
        let dwell = [
            ("restaurant", 90),
            ("retail", 30),
            ("shopping_centre", 120),
            ("cinema_theatre", 180),
            ("hall", 120),
            ("museum", 90),
            ("sports", 120),
            ("indoor_event", 180),
            ("outdoor_event", 180),
            ("other", 60),
        ];
        Self { tail_minutes: 30, default_dwell_minutes: 60, dwell_minutes: dwell.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(), history_days: 14 }
    }
}

impl MatchingSettings {
    /// The assumed stay at a place of this business type, in minutes.
    pub fn dwell_for(&self, business_type: &str) -> u32 {
        self.dwell_minutes.get(business_type).copied().unwrap_or(self.default_dwell_minutes)
    }
}

/// `[alerts]`: the alert's consultation contact and how fast alerts are sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertSettings {
    /// The consultation contact the alert gives (R8), e.g. a centre's name and number.
    pub contact: String,
    /// LINE requests per second the sender makes at most (LINE allows 200 for multicast).
    #[serde(deserialize_with = "from_str_value")]
    pub requests_per_second: u32,
    /// Sending needs the approval of a second staff member (not the case's creator).
    #[serde(deserialize_with = "from_str_value")]
    pub require_second_approver: bool,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self { contact: "受診・相談センター（お住まいの保健所）".to_owned(), requests_per_second: 200, require_second_approver: true }
    }
}

/// Reads `key = minutes` pairs (numbers, or strings from the environment), refusing keys that
/// are not business types.
fn minutes_by_business_type<'de, D>(deserializer: D) -> Result<BTreeMap<String, u32>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw = BTreeMap::<String, toml::Value>::deserialize(deserializer)?;
    let mut out = MatchingSettings::default().dwell_minutes;
    for (key, value) in raw {
        if oshirase_common::BusinessType::parse(&key).is_none_or(|t| t.key() != key) {
            return Err(serde::de::Error::custom(format!("{key} is not a business type key")));
        }
        let minutes = match &value {
            toml::Value::Integer(n) => u32::try_from(*n).ok(),
            toml::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .filter(|m| (1..=24 * 60).contains(m))
        .ok_or_else(|| serde::de::Error::custom(format!("dwell_minutes.{key}: minutes from 1 to 1440")))?;
        out.insert(key, minutes);
    }
    Ok(out)
}

/// `[retention]`: data is deleted when its time is up.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionSettings {
    /// Visits older than this many days are deleted.
    #[serde(deserialize_with = "from_str_value")]
    pub visit_days: u32,
    /// Ids of processed webhook events (no personal data) are kept this many days, longer
    /// than LINE ever redelivers.
    #[serde(deserialize_with = "from_str_value")]
    pub webhook_event_days: u32,
    /// How often the purge runs, in minutes.
    #[serde(deserialize_with = "from_str_value")]
    pub purge_every_minutes: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self { visit_days: 31, webhook_event_days: 7, purge_every_minutes: 60 }
    }
}

impl Settings {
    /// Loads defaults, then `file` if given, then overrides from `env`.
    pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<Settings, ConfigError> {
        let text = match file {
            Some(path) => std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?,
            None => String::new(),
        };
        let origin = file.map(|p| format!(" in {}", p.display())).unwrap_or_default();
        Self::from_toml_and_env(&text, env).map_err(|e| match e {
            ConfigError::Invalid { origin: o, message } if o.is_empty() => ConfigError::Invalid { origin: origin.clone(), message },
            other => other,
        })
    }

    /// Pure form of [`Settings::load`]: TOML text then environment overrides.
    pub fn from_toml_and_env(toml_text: &str, env: impl IntoIterator<Item = (String, String)>) -> Result<Settings, ConfigError> {
        let mut table: toml::Table = toml_text.parse().map_err(|e: toml::de::Error| invalid("", e.message()))?;
        for (name, value) in env {
            let Some(path) = name.strip_prefix(ENV_PREFIX).filter(|rest| rest.contains(ENV_SEPARATOR)) else {
                continue;
            };
            let keys: Vec<String> = path.split(ENV_SEPARATOR).map(str::to_ascii_lowercase).collect();
            set_path(&mut table, &keys, value).map_err(|m| invalid(" (environment)", &format!("{name}: {m}")))?;
        }
        Settings::deserialize(toml::Value::Table(table)).map_err(|e| invalid("", e.message()))
    }
}

fn invalid(origin: &str, message: &str) -> ConfigError {
    ConfigError::Invalid { origin: origin.to_owned(), message: message.to_owned() }
}

fn set_path(table: &mut toml::Table, keys: &[String], value: String) -> Result<(), String> {
    match keys {
        [] => Err("empty name".to_owned()),
        [last] => {
            table.insert(last.clone(), toml::Value::String(value));
            Ok(())
        }
        [first, rest @ ..] => {
            let entry = table.entry(first.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match entry {
                toml::Value::Table(inner) => set_path(inner, rest, value),
                _ => Err(format!("{first} is not a section")),
            }
        }
    }
}

/// Reads a value given either natively in TOML (`port = 8080`) or as a string (every
/// environment override is a string).
fn from_str_value<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: fmt::Display,
{
    let value = toml::Value::deserialize(deserializer)?;
    let text = match value {
        toml::Value::String(s) => s,
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => return Err(serde::de::Error::custom(format!("unexpected value {other}"))),
    };
    text.trim().parse().map_err(|e| serde::de::Error::custom(format!("{text:?}: {e}")))
}

fn optional_from_str_value<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: fmt::Display,
{
    from_str_value(deserializer).map(Some)
}

/// The public base URL of the server (`https://oshirase.example.jp`, optionally with a path
/// prefix), without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicBaseUrl {
    origin: String,
    path_prefix: String,
}

/// Why a public base URL was refused.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("public base URL must look like https://host[:port][/prefix] without query or fragment")]
pub struct BaseUrlError;

impl PublicBaseUrl {
    /// Parses `http(s)://host[:port][/prefix]`.
    pub fn parse(input: &str) -> Result<Self, BaseUrlError> {
        let input = input.trim().trim_end_matches('/');
        let (scheme, rest) = input.split_once("://").ok_or(BaseUrlError)?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(BaseUrlError);
        }
        let (host, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let host_ok = !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        let path_ok = path.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'));
        if !host_ok || !path_ok {
            return Err(BaseUrlError);
        }
        Ok(Self { origin: format!("{scheme}://{}", host.to_ascii_lowercase()), path_prefix: path.to_owned() })
    }

    /// The URL of a path on the server: `path` starts with `/`.
    pub fn join(&self, path: &str) -> String {
        format!("{}{}{}", self.origin, self.path_prefix, path)
    }

    /// The URL printed in a QR code for `/C/<code>`: scheme and host upper-cased so the
    /// whole URL stays in the QR alphanumeric set (both are case-insensitive); a path prefix
    /// keeps its case, since paths are not.
    pub fn qr_url(&self, path: &str) -> String {
        format!("{}{}{}", self.origin.to_ascii_uppercase(), self.path_prefix, path)
    }
}

impl FromStr for PublicBaseUrl {
    type Err = BaseUrlError;
    fn from_str(s: &str) -> Result<Self, BaseUrlError> {
        Self::parse(s)
    }
}

impl fmt::Display for PublicBaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.origin, self.path_prefix)
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_apply_without_file_or_environment() {
        let s = Settings::from_toml_and_env("", env(&[])).expect("defaults");
        assert_eq!(s.server.listen.port(), 8080);
        assert_eq!(s.limits.bulk_max_places, 500);
        assert!(s.metrics.token.is_none());
    }

    #[test]
    fn the_file_overrides_defaults_and_the_environment_overrides_the_file() {
        let file = "[server]\nlisten = \"0.0.0.0:9000\"\npublic_base_url = \"https://a.example.jp\"\n[limits]\nbody_bytes = 1000\n";
        let s = Settings::from_toml_and_env(
            file,
            env(&[("OSHIRASE_LIMITS__BODY_BYTES", "2000"), ("OSHIRASE_SERVER__PUBLIC_BASE_URL", "https://b.example.jp/"), ("OSHIRASE_UNRELATED", "x")]),
        )
        .expect("valid");
        assert_eq!(s.server.listen.port(), 9000);
        assert_eq!(s.limits.body_bytes, 2000);
        assert_eq!(s.server.public_base_url.map(|u| u.to_string()).as_deref(), Some("https://b.example.jp"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(Settings::from_toml_and_env("[server]\nlisen = \"x\"\n", env(&[])).is_err());
        assert!(Settings::from_toml_and_env("", env(&[("OSHIRASE_LIMITS__BODY_BYTES", "lots")])).is_err());
        assert!(Settings::from_toml_and_env("", env(&[("OSHIRASE_NOPE__X", "1")])).is_err());
        assert!(Settings::from_toml_and_env("", env(&[("OSHIRASE_SERVER__PUBLIC_BASE_URL", "ftp://x")])).is_err());
    }

    #[test]
    fn secrets_are_read_but_never_printed() {
        let s = Settings::from_toml_and_env("", env(&[("OSHIRASE_METRICS__TOKEN", "s3cr3t-token")])).expect("valid");
        assert_eq!(s.metrics.token.as_ref().map(|t| t.expose_secret().to_owned()), Some("s3cr3t-token".to_owned()));
        assert!(!format!("{s:?}").contains("s3cr3t-token"));
    }

    #[test]
    fn the_deployment_example_configuration_is_valid() {
        let example = include_str!("../../deploy/config/server.example.toml");
        let s = Settings::from_toml_and_env(example, env(&[])).expect("deploy/config/server.example.toml must load");
        assert!(s.server.public_base_url.is_some_and(|u| u.to_string().starts_with("https://")));
    }

    #[test]
    fn a_missing_file_is_a_clear_error() {
        let err = Settings::load(Some(Path::new("/nonexistent/oshirase.toml")), env(&[])).expect_err("missing");
        assert!(err.to_string().contains("/nonexistent/oshirase.toml"));
    }

    #[test]
    fn public_base_urls_parse_and_build_qr_friendly_urls() {
        let url = PublicBaseUrl::parse("HTTPS://Oshirase.Example.JP/").expect("valid");
        assert_eq!(url.join("/c/ABC"), "https://oshirase.example.jp/c/ABC");
        assert_eq!(url.qr_url("/C/ABC"), "HTTPS://OSHIRASE.EXAMPLE.JP/C/ABC");
        let prefixed = PublicBaseUrl::parse("http://127.0.0.1:8080/pref").expect("valid");
        assert_eq!(prefixed.qr_url("/C/X"), "HTTP://127.0.0.1:8080/pref/C/X");
        for bad in ["", "example.jp", "javascript:alert(1)", "https://", "https://a.jp/?q=1", "https://a.jp/#x", "https://a b.jp"] {
            assert_eq!(PublicBaseUrl::parse(bad), Err(BaseUrlError), "{bad}");
        }
    }
}
