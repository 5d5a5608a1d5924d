//! What the store keeps about passes (issue 7): who asked for which pass (for the resident's
//! own list and for matching), the revocation list kiosks get, and the scans kiosks sync.

use async_trait::async_trait;
use oshirase_common::LineUserId;
use oshirase_common::kiosk_token::KioskId;
use oshirase_common::pass::PassId;
use time::OffsetDateTime;

use super::{EventKey, Processed, StoreError};
use crate::passes::PassLabel;
use crate::secrets::TokenHash;

/// A pass to store for the resident who asked.
#[derive(Debug, Clone)]
pub struct NewPass {
    /// Its random id (the QR code's content, with the expiry and signature).
    pub pass_id: PassId,
    /// The name the resident gave it; `None`: for themself.
    pub label: Option<PassLabel>,
    /// SHA-256 of its link token (`PassKey::link_token`).
    pub link_hash: TokenHash,
    /// When it was issued.
    pub issued_at: OffsetDateTime,
    /// When it stops being accepted.
    pub expires_at: OffsetDateTime,
}

/// What became of a request for a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassIssue {
    /// Stored.
    Issued,
    /// The resident has not consented to the current terms: no pass before consent.
    NotConsented,
    /// The resident already holds this many live passes.
    TooMany(u32),
}

/// A pass as its resident sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassRecord {
    /// Its id.
    pub pass_id: PassId,
    /// Its label.
    pub label: Option<PassLabel>,
    /// When it was issued.
    pub issued_at: OffsetDateTime,
    /// When it expires.
    pub expires_at: OffsetDateTime,
}

/// What became of a request to revoke a pass, named by the end of its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassRevocation {
    /// Revoked: kiosks refuse it from their next heartbeat on.
    Revoked(PassRecord),
    /// None of the resident's live passes ends so.
    NotFound,
    /// More than one does: the resident should type more of the id.
    Ambiguous,
}

/// The revocation list: every revoked pass not yet expired, and its version (it only grows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocations {
    /// The version.
    pub version: i64,
    /// The revoked pass ids.
    pub pass_ids: Vec<PassId>,
}

/// One scan a kiosk synced, its time already corrected by the kiosk's clock offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedScan {
    /// The kiosk's sequence number.
    pub seq: u64,
    /// The pass read.
    pub pass_id: PassId,
    /// When, by the server's clock.
    pub scanned_at: OffsetDateTime,
}

/// The limits a synced scan's time must keep to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanWindow {
    /// Scans before this are past retention.
    pub not_before: OffsetDateTime,
    /// Scans after this are in the future.
    pub not_after: OffsetDateTime,
    /// When the scans were received.
    pub now: OffsetDateTime,
}

/// What a sync did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScanSync {
    /// The kiosk may forget every scan up to this.
    pub acknowledged_through: u64,
    /// Scans that became visits.
    pub recorded: u32,
    /// Scans stored before.
    pub duplicates: u32,
    /// Scans refused (unknown, revoked or expired pass; time out of bounds; after the kiosk's
    /// revocation or the place's withdrawal).
    pub refused: u32,
}

/// The passes part of the store.
#[async_trait]
pub trait PassStore: Send + Sync {
    /// Stores a pass for a consented resident with fewer than `max` live passes, once per
    /// event.
    async fn issue_pass(&self, event: EventKey, user: LineUserId, terms_version: String, pass: NewPass, max: u32) -> Result<Processed<PassIssue>, StoreError>;

    /// The resident's live passes (not revoked, not expired), oldest first.
    async fn passes_of(&self, user: LineUserId, now: OffsetDateTime) -> Result<Vec<PassRecord>, StoreError>;

    /// Revokes the resident's live pass whose id ends with `ending`, once per event.
    async fn revoke_pass(&self, event: EventKey, user: LineUserId, ending: String) -> Result<Processed<PassRevocation>, StoreError>;

    /// The live pass whose link hashes to `link_hash`.
    async fn pass_by_link(&self, link_hash: TokenHash, now: OffsetDateTime) -> Result<Option<PassRecord>, StoreError>;

    /// The revocation list's version.
    async fn revocations_version(&self) -> Result<i64, StoreError>;

    /// The revocation list.
    async fn revocations(&self, now: OffsetDateTime) -> Result<Revocations, StoreError>;

    /// Turns a kiosk's synced scans into visits, each (kiosk, sequence number) once, in one
    /// transaction. `scans` are in ascending sequence order.
    async fn sync_scans(&self, kiosk: KioskId, scans: Vec<SyncedScan>, window: ScanWindow) -> Result<ScanSync, StoreError>;
}
