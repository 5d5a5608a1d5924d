//! Storage behind one narrow trait, [`Store`], so handlers never see SQL and a PostgreSQL
//! backend can be added beside [`sqlite`] without touching them.
//!
//! Architecture invariant: rows are parsed back through the same newtypes that validated
//! them on the way in; a row that does not parse is reported as [`StoreError::Corrupt`],
//! never shown half-checked.

pub mod cases;
pub mod migrations;
pub mod passes;
pub mod sqlite;
pub mod staff;

use async_trait::async_trait;
use oshirase_common::kiosk_token::{KioskId, KioskSecret};
use oshirase_common::{LineUserId, LocationId, NewVenue, VenueCode, VenueName};
use thiserror::Error;
use time::OffsetDateTime;

use crate::secrets::TokenHash;

pub use sqlite::SqliteStore;

/// Errors of the storage layer.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A unique value (location id, code, token hash) already exists; the caller may retry
    /// with fresh random values.
    #[error("a unique value already exists: {0}")]
    Conflict(String),
    /// The database holds a row that no longer parses.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The database file was written by a newer version of oshirase.
    #[error("database schema version {found} is newer than this program knows ({known})")]
    SchemaTooNew {
        /// Version found in the file.
        found: i64,
        /// Newest version this program knows.
        known: i64,
    },
    /// The database's folder could not be created.
    #[error("cannot create the database folder {path}: {source}")]
    Folder {
        /// The folder.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// SQLite failed.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// The blocking task running the query panicked or was cancelled.
    #[error("database task failed: {0}")]
    Task(String),
}

/// A registration to store: its token hash and its places, all or none.
#[derive(Debug, Clone)]
pub struct NewRegistration {
    /// Hash of the management secret handed to the venue.
    pub token_hash: TokenHash,
    /// When the venue submitted it.
    pub created_at: OffsetDateTime,
    /// The places, in submission order.
    pub venues: Vec<NewPlace>,
}

/// One place of a new registration, with its freshly drawn identifiers.
#[derive(Debug, Clone)]
pub struct NewPlace {
    /// Stable identity.
    pub location_id: LocationId,
    /// Printed code.
    pub code: VenueCode,
    /// The validated form.
    pub venue: NewVenue,
}

/// A stored registration with its places.
#[derive(Debug, Clone)]
pub struct RegistrationRecord {
    /// Internal row id.
    pub id: i64,
    /// When it was submitted.
    pub created_at: OffsetDateTime,
    /// Its places, in submission order.
    pub venues: Vec<VenueRecord>,
}

/// A stored place.
#[derive(Debug, Clone)]
pub struct VenueRecord {
    /// Stable identity.
    pub location_id: LocationId,
    /// Printed code.
    pub code: VenueCode,
    /// The registration it belongs to.
    pub registration_id: i64,
    /// What the venue registered.
    pub venue: NewVenue,
    /// When it was registered.
    pub created_at: OffsetDateTime,
    /// When its venue withdrew it; its code is refused from then on.
    pub withdrawn_at: Option<OffsetDateTime>,
}

impl VenueRecord {
    /// True while its code is accepted.
    pub fn is_active(&self) -> bool {
        self.withdrawn_at.is_none()
    }
}

/// What happened when a place was withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withdrawal {
    /// It was active and is now withdrawn.
    Withdrawn,
    /// It had been withdrawn before; nothing changed.
    AlreadyWithdrawn,
    /// No such place in this registration; nothing changed.
    NotFound,
}

/// A webhook event being processed: its id makes processing idempotent.
#[derive(Debug, Clone)]
pub struct EventKey {
    /// LINE's `webhookEventId`.
    pub id: String,
    /// When the server received it.
    pub received_at: OffsetDateTime,
}

/// The result of processing a webhook event once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Processed<T> {
    /// First time: the effect happened, in the same transaction that recorded the event.
    New(T),
    /// The event was processed before; nothing changed.
    Duplicate,
}

/// A resident after a follow event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowState {
    /// True if they consented to the current terms.
    pub consented: bool,
}

/// A scan to record: who, which printed code, when.
#[derive(Debug, Clone)]
pub struct CheckInRequest {
    /// The resident.
    pub user: LineUserId,
    /// The place they scanned.
    pub place: Place,
    /// When they sent the check-in (the event's timestamp).
    pub scanned_at: OffsetDateTime,
    /// The current terms version; consent to an older one does not count.
    pub terms_version: String,
    /// Until when a scan waiting for consent is kept.
    pub pending_until: OffsetDateTime,
    /// A scan of the same place within this window after a visit is that visit again.
    pub repeat_window: time::Duration,
    /// Most visits per resident in the hour before `scanned_at`.
    pub max_per_hour: u32,
}

/// How a scan names its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A printed code.
    Code(VenueCode),
    /// A place directly (a kiosk's verified token names it).
    Location(LocationId),
}

/// What became of a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckInOutcome {
    /// No place has this code; nothing stored.
    UnknownCode,
    /// The place was withdrawn; nothing stored.
    Withdrawn,
    /// A new visit.
    Recorded(RecordedVisit),
    /// The same place again within the repeat window: the earlier visit stands.
    Repeat(RecordedVisit),
    /// No consent yet: the scan waits (never a visit) until consent or expiry.
    AwaitingConsent {
        /// The place scanned.
        venue: VenueName,
    },
    /// Too many check-ins in the last hour; nothing stored.
    RateLimited,
}

/// A visit as confirmed to its resident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedVisit {
    /// The place's name.
    pub venue: VenueName,
    /// When the resident scanned.
    pub scanned_at: OffsetDateTime,
}

/// What the purge deletes: everything older than these instants.
#[derive(Debug, Clone, Copy)]
pub struct PurgeBefore {
    /// Visits scanned before this.
    pub visits: OffsetDateTime,
    /// Waiting scans that expired before this.
    pub pending_scans: OffsetDateTime,
    /// Processed webhook event ids received before this.
    pub webhook_events: OffsetDateTime,
}

/// Whose visits a history code shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryOf {
    /// The resident's own (LINE check-ins).
    Resident,
    /// Those made with the resident's pass whose number ends so (a family member's).
    Pass(String),
}

/// What became of a request for a history code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryCodeIssue {
    /// Stored.
    Issued,
    /// There are no such visits to share.
    NoVisits,
    /// None of the resident's passes has that number.
    UnknownPass,
    /// More than one does.
    AmbiguousPass,
}

/// How many rows the purge deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Visits.
    pub visits: usize,
    /// Waiting scans.
    pub pending_scans: usize,
    /// Webhook event ids.
    pub webhook_events: usize,
    /// History codes past their expiry.
    pub history_codes: usize,
    /// Case exposures (places and times) and outbox batches (who was alerted) older than the
    /// visits' retention; the case keeps its counts only.
    pub case_details: usize,
    /// Ended staff sessions.
    pub staff_sessions: usize,
    /// Passes expired before the visits' retention, and revocations of expired passes.
    pub passes: usize,
}

/// A paired kiosk.
#[derive(Debug, Clone)]
pub struct KioskRecord {
    /// Its id.
    pub kiosk_id: KioskId,
    /// The place it shows codes for.
    pub location_id: LocationId,
    /// Its token secret.
    pub secret: KioskSecret,
    /// When it was paired.
    pub paired_at: OffsetDateTime,
    /// When it was revoked; its codes are refused from then on.
    pub revoked_at: Option<OffsetDateTime>,
    /// True while its place's registration stands.
    pub place_active: bool,
    /// Its place's name.
    pub venue_name: VenueName,
    /// What it last reported, if it has.
    pub last_heartbeat: Option<Heartbeat>,
}

/// A kiosk that sent no heartbeat for this long is out of contact (it sends one a minute, and
/// retries sooner after a failure).
pub const KIOSK_SILENT_AFTER: time::Duration = time::Duration::minutes(5);

impl KioskRecord {
    /// In use at an active place, and not heard from for [`KIOSK_SILENT_AFTER`] (or never).
    pub fn silent_at(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.place_active && self.last_heartbeat.as_ref().is_none_or(|h| now - h.at > KIOSK_SILENT_AFTER)
    }
}

/// What a kiosk reports in a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    /// When the server received it.
    pub at: OffsetDateTime,
    /// The kiosk's version.
    pub version: String,
    /// Seconds since the kiosk started.
    pub uptime_seconds: u64,
    /// Server time minus kiosk time, if the kiosk knows it.
    pub clock_offset_ms: Option<i64>,
    /// Pass scans waiting in its buffer to be synced, if it reported them.
    pub pending_scans: Option<u64>,
    /// The screen it shows (`idle`, `offline`, …).
    pub screen: String,
    /// The last error it reported. Stored, it stays until the kiosk reports another one: a
    /// clean heartbeat after an outage leaves the outage's error visible with its time.
    pub last_error: Option<KioskError>,
}

/// An error a kiosk reported in a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskError {
    /// What the kiosk said (at most 500 characters).
    pub message: String,
    /// When the heartbeat that carried it arrived.
    pub reported_at: OffsetDateTime,
}

/// A kiosk to store when a pairing code is redeemed.
#[derive(Debug, Clone)]
pub struct NewKiosk {
    /// Its new id.
    pub kiosk_id: KioskId,
    /// Its new token secret.
    pub secret: KioskSecret,
    /// Hash of its new sync token.
    pub sync_token_hash: TokenHash,
}

/// What redeeming a pairing code did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pairing {
    /// The kiosk is paired to this place.
    Paired {
        /// The place.
        location_id: LocationId,
        /// Its name.
        venue: VenueName,
    },
    /// No such code, or its place was withdrawn.
    Unknown,
    /// The code expired.
    Expired,
    /// The code was used before.
    Used,
}

/// Everything the server stores. Every method runs off the async runtime's worker threads.
#[async_trait]
pub trait Store: staff::StaffStore + cases::CaseStore + passes::PassStore + std::fmt::Debug + 'static {
    /// Succeeds if the database answers a query.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Stores a registration and all its places in one transaction.
    async fn create_registration(&self, registration: NewRegistration) -> Result<RegistrationRecord, StoreError>;

    /// The registration whose management secret hashes to `hash`.
    async fn registration_by_token(&self, hash: TokenHash) -> Result<Option<RegistrationRecord>, StoreError>;

    /// The place printed with `code`, withdrawn or not.
    async fn venue_by_code(&self, code: VenueCode) -> Result<Option<VenueRecord>, StoreError>;

    /// Withdraws a place of a registration.
    async fn withdraw_venue(&self, registration_id: i64, location_id: LocationId, at: OffsetDateTime) -> Result<Withdrawal, StoreError>;

    /// Records an event that changes nothing but must not be answered twice.
    async fn mark_event(&self, event: EventKey) -> Result<Processed<()>, StoreError>;

    /// A resident added the account as a friend or unblocked it (R2, R6).
    async fn follow(&self, event: EventKey, user: LineUserId, terms_version: String) -> Result<Processed<FollowState>, StoreError>;

    /// A resident blocked the account (R6); unknown residents leave no trace.
    async fn unfollow(&self, event: EventKey, user: LineUserId) -> Result<Processed<()>, StoreError>;

    /// A scan of a venue code sent from LINE (R3, R5).
    async fn check_in(&self, event: EventKey, request: CheckInRequest) -> Result<Processed<CheckInOutcome>, StoreError>;

    /// A resident consented to `terms_version`: their waiting scans that have not expired
    /// become visits with their original scan times.
    async fn consent(&self, event: EventKey, user: LineUserId, terms_version: String) -> Result<Processed<Vec<RecordedVisit>>, StoreError>;

    /// A resident declined consent: their waiting scans are dropped. Returns how many.
    async fn decline_consent(&self, event: EventKey, user: LineUserId) -> Result<Processed<usize>, StoreError>;

    /// Stores a one-time history code for a resident who has visits. `New(false)` when they
    /// have none (no code is stored).
    async fn create_history_code(&self, event: EventKey, user: LineUserId, code_hash: TokenHash, expires: OffsetDateTime, of: HistoryOf) -> Result<Processed<HistoryCodeIssue>, StoreError>;

    /// Deletes a resident and everything of theirs. Returns false if there was nothing.
    async fn delete_resident(&self, event: EventKey, user: LineUserId) -> Result<Processed<bool>, StoreError>;

    /// Deletes what has outlived its retention.
    async fn purge(&self, before: PurgeBefore) -> Result<Purged, StoreError>;

    /// Stores a pairing code for a place of a registration. False if the place is not the
    /// registration's, or withdrawn.
    async fn create_pairing_code(&self, registration_id: i64, location_id: LocationId, code_hash: TokenHash, now: OffsetDateTime, expires: OffsetDateTime) -> Result<bool, StoreError>;

    /// Redeems a pairing code (once) and stores the new kiosk.
    async fn pair_kiosk(&self, code_hash: TokenHash, kiosk: NewKiosk, now: OffsetDateTime) -> Result<Pairing, StoreError>;

    /// A kiosk by id.
    async fn kiosk(&self, kiosk_id: KioskId) -> Result<Option<KioskRecord>, StoreError>;

    /// The kiosks of a registration's places.
    async fn kiosks_of(&self, registration_id: i64) -> Result<Vec<KioskRecord>, StoreError>;

    /// Every kiosk of every venue (the staff fleet view), the longest silent first.
    async fn all_kiosks(&self) -> Result<Vec<KioskRecord>, StoreError>;

    /// The kiosk whose sync token hashes to `hash`.
    async fn kiosk_by_sync_token(&self, hash: TokenHash) -> Result<Option<KioskRecord>, StoreError>;

    /// Records a kiosk's heartbeat.
    async fn record_heartbeat(&self, kiosk_id: KioskId, heartbeat: Heartbeat) -> Result<(), StoreError>;

    /// Revokes a kiosk of a registration. False if it is not the registration's.
    async fn revoke_kiosk(&self, registration_id: i64, kiosk_id: KioskId, now: OffsetDateTime) -> Result<bool, StoreError>;
}
