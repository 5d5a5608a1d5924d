//! Storage behind one narrow trait, [`Store`], so handlers never see SQL and a PostgreSQL
//! backend can be added beside [`sqlite`] without touching them.
//!
//! Architecture invariant: rows are parsed back through the same newtypes that validated
//! them on the way in; a row that does not parse is reported as [`StoreError::Corrupt`],
//! never shown half-checked.

pub mod migrations;
pub mod sqlite;

use async_trait::async_trait;
use oshirase_common::{LocationId, NewVenue, VenueCode};
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

/// Everything the server stores. Every method runs off the async runtime's worker threads.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
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
}
