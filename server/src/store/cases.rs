//! What the store keeps about cases: exposures, matching counts, the approval that writes the
//! alert outbox, and the outbox's progress (issue 6). Every staff change takes its
//! [`AuditEvent`] and appends it in the same transaction.

use async_trait::async_trait;
use oshirase_common::{LineUserId, LocationId};
use time::OffsetDateTime;

use super::StoreError;
use crate::audit::AuditEvent;
use crate::cases::{CaseReference, CaseStatus, StayPeriod};
use crate::config::MatchingSettings;

/// LINE's limit of recipients per multicast.
pub const BATCH_SIZE: usize = 500;

/// A case to create.
#[derive(Debug, Clone)]
pub struct NewCase {
    /// Internal reference.
    pub reference: CaseReference,
    /// The staff member creating it.
    pub created_by: i64,
    /// Overrides the configured tail, in minutes.
    pub tail_minutes: Option<u32>,
    /// Overrides every place's dwell time, in minutes.
    pub dwell_minutes: Option<u32>,
}

/// Where an exposure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExposureSource {
    /// Entered by staff.
    Staff,
    /// Imported from the positive person's own visit history.
    History,
}

impl ExposureSource {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExposureSource::Staff => "staff",
            ExposureSource::History => "history",
        }
    }
}

/// An exposure of a case, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExposureRecord {
    /// Its id.
    pub id: i64,
    /// The place.
    pub location_id: LocationId,
    /// The place's name.
    pub venue_name: String,
    /// The place's business type key.
    pub business_type: String,
    /// When the positive person arrived.
    pub starts_at: OffsetDateTime,
    /// When they left.
    pub ends_at: OffsetDateTime,
    /// Entered or imported.
    pub source: ExposureSource,
}

/// How far the alert has got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendingProgress {
    /// Batches written at approval.
    pub batches: u32,
    /// Batches LINE accepted.
    pub sent_batches: u32,
    /// Batches LINE refused for good.
    pub failed_batches: u32,
    /// Residents in accepted batches.
    pub sent_recipients: u32,
}

/// A case as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRecord {
    /// Its id.
    pub id: i64,
    /// Internal reference.
    pub reference: CaseReference,
    /// Where it is.
    pub status: CaseStatus,
    /// Who created it (their name).
    pub created_by: String,
    /// Their account id.
    pub created_by_id: i64,
    /// When.
    pub created_at: OffsetDateTime,
    /// Tail override, minutes.
    pub tail_minutes: Option<u32>,
    /// Dwell override, minutes.
    pub dwell_minutes: Option<u32>,
    /// The positive person's own account is known and excluded.
    pub excludes_positive_person: bool,
    /// Who approved (their name) and when.
    pub approved: Option<(String, OffsetDateTime)>,
    /// Residents to alert, fixed at approval.
    pub recipients: Option<u32>,
    /// Blocked residents not alerted, fixed at approval.
    pub blocked: Option<u32>,
    /// Why sending is paused.
    pub pause_reason: Option<String>,
    /// Its exposures, by start.
    pub exposures: Vec<ExposureRecord>,
    /// The outbox's progress.
    pub progress: SendingProgress,
}

/// A line of the case list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseSummary {
    /// Its id.
    pub id: i64,
    /// Internal reference.
    pub reference: CaseReference,
    /// Where it is.
    pub status: CaseStatus,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// How many exposures.
    pub exposures: u32,
    /// Residents to alert, once approved.
    pub recipients: Option<u32>,
}

/// A place found by the search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceMatch {
    /// Its location id.
    pub location_id: LocationId,
    /// Its printed code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its address.
    pub address: String,
    /// Its postal code.
    pub postal_code: String,
    /// Its business type key.
    pub business_type: String,
    /// The registration it belongs to (places of one venue share it).
    pub registration_id: i64,
    /// Withdrawn places are listed (visits before the withdrawal count).
    pub withdrawn: bool,
}

/// Matching counts: never who, only how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CasePreview {
    /// Residents to alert per exposure (blocked ones left out; a resident who matches two
    /// exposures is counted under both here and once in `total`).
    pub per_exposure: Vec<(i64, u32)>,
    /// Distinct residents who would get the alert.
    pub total: u32,
    /// Distinct residents who match but blocked the account: counted apart, never messaged.
    pub blocked: u32,
}

/// An approval to record.
#[derive(Debug, Clone)]
pub struct ApprovalRequest {
    /// The approving staff member.
    pub approver: i64,
    /// Whether the creator is refused as approver.
    pub require_second: bool,
    /// The matching rules that fix the recipients.
    pub rules: MatchingSettings,
    /// The alert as residents will read it.
    pub alert_text: String,
}

/// What an approval came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    /// The outbox is written.
    Approved {
        /// Residents to alert.
        recipients: u32,
        /// Blocked residents left out.
        blocked: u32,
        /// Batches written.
        batches: u32,
    },
    /// The case is not open.
    NotOpen,
    /// The approver created the case and a second person is required.
    SelfApproval,
    /// Nobody matches.
    Nobody,
}

/// A batch due for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueBatch {
    /// Its id.
    pub id: i64,
    /// Its case.
    pub case_id: i64,
    /// The `X-Line-Retry-Key` it is always sent with.
    pub retry_key: String,
    /// Its recipients (≤ 500).
    pub recipients: Vec<LineUserId>,
    /// The alert's text, fixed when the case was approved.
    pub text: String,
    /// Attempts so far.
    pub attempts: u32,
}

/// What entering a history code came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryImport {
    /// The resident's visits are now exposures, and the resident is left out of the alert.
    Imported {
        /// Exposures added.
        exposures: u32,
    },
    /// No such code, used before, or expired.
    UnknownCode,
    /// The case is not open (the code is not used up).
    NotOpen,
}

/// A cluster notice to publish (R18).
#[derive(Debug, Clone)]
pub struct NewNotice {
    /// The place.
    pub location_id: LocationId,
    /// From (inclusive).
    pub from: OffsetDateTime,
    /// To.
    pub to: OffsetDateTime,
    /// What the public is told.
    pub message: String,
    /// The admin publishing it.
    pub published_by: i64,
}

/// A published (or withdrawn) cluster notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRecord {
    /// Its id.
    pub id: i64,
    /// The place's name.
    pub venue_name: String,
    /// The place's address.
    pub address: String,
    /// From.
    pub from: OffsetDateTime,
    /// To.
    pub to: OffsetDateTime,
    /// The message.
    pub message: String,
    /// When it was published.
    pub published_at: OffsetDateTime,
    /// When it was withdrawn.
    pub withdrawn_at: Option<OffsetDateTime>,
}

/// Case storage.
#[async_trait]
pub trait CaseStore: Send + Sync {
    /// Creates a case. `Conflict` if the reference is taken.
    async fn create_case(&self, case: NewCase, now: OffsetDateTime, audit: AuditEvent) -> Result<i64, StoreError>;

    /// Every case, newest first.
    async fn list_cases(&self) -> Result<Vec<CaseSummary>, StoreError>;

    /// One case with its exposures and progress.
    async fn case(&self, case_id: i64) -> Result<Option<CaseRecord>, StoreError>;

    /// Places whose name or address contains `query`, whose postal code or printed code is
    /// `query`, and every other place of the same registrations. At most `limit` places.
    async fn search_places(&self, query: String, limit: u32) -> Result<Vec<PlaceMatch>, StoreError>;

    /// Adds an exposure to an open case. `Ok(None)` if the case is not open or the place
    /// does not exist.
    async fn add_exposure(&self, case_id: i64, location_id: LocationId, period: StayPeriod, source: ExposureSource, now: OffsetDateTime, audit: AuditEvent) -> Result<Option<i64>, StoreError>;

    /// Imports the visits since `since` of the resident holding this history code as
    /// exposures of an open case (each from the scan for the place's dwell time), leaves that
    /// resident out of the alert, and uses the code up.
    async fn import_history(&self, case_id: i64, code_hash: crate::secrets::TokenHash, since: OffsetDateTime, rules: MatchingSettings, now: OffsetDateTime, audit: AuditEvent) -> Result<HistoryImport, StoreError>;

    /// Removes an exposure from an open case. False if there was none to remove.
    async fn remove_exposure(&self, case_id: i64, exposure_id: i64, now: OffsetDateTime, audit: AuditEvent) -> Result<bool, StoreError>;

    /// Who would be alerted, as counts.
    async fn preview_case(&self, case_id: i64, rules: MatchingSettings) -> Result<CasePreview, StoreError>;

    /// Approves an open case: fixes the recipients and the alert's text and writes the outbox
    /// in one transaction.
    async fn approve_case(&self, case_id: i64, approval: ApprovalRequest, now: OffsetDateTime, audit: AuditEvent) -> Result<Approval, StoreError>;

    /// The admin's alert template and contact, if one was saved.
    async fn alert_template(&self) -> Result<Option<(String, String)>, StoreError>;

    /// Saves the alert template (checked by the caller) and the contact.
    async fn set_alert_template(&self, template: String, contact: String, by: i64, now: OffsetDateTime, audit: AuditEvent) -> Result<(), StoreError>;

    /// Closes an open case without an alert. False if it was not open.
    async fn close_case(&self, case_id: i64, now: OffsetDateTime, audit: AuditEvent) -> Result<bool, StoreError>;

    /// The next batch to send: pending, due, of a case that is sending; oldest first.
    async fn next_due_batch(&self, now: OffsetDateTime) -> Result<Option<DueBatch>, StoreError>;

    /// Up to `limit` batches to send, oldest first, leaving out those in `skip` (in flight).
    async fn due_batches(&self, now: OffsetDateTime, limit: u32, skip: Vec<i64>) -> Result<Vec<DueBatch>, StoreError>;

    /// LINE accepted a batch (or had accepted it before: 409). Finishes the case when it was
    /// its last.
    async fn batch_sent(&self, batch_id: i64, now: OffsetDateTime) -> Result<(), StoreError>;

    /// A batch failed for now; try again at `retry_at`.
    async fn batch_retry(&self, batch_id: i64, retry_at: OffsetDateTime, error: String) -> Result<(), StoreError>;

    /// LINE refused a batch for good (a 4xx other than 409/429).
    async fn batch_failed(&self, batch_id: i64, now: OffsetDateTime, error: String) -> Result<(), StoreError>;

    /// Stops sending a case until it is resumed (LINE's monthly quota).
    async fn pause_case(&self, case_id: i64, reason: String, now: OffsetDateTime, audit: AuditEvent) -> Result<(), StoreError>;

    /// Resumes a paused case. False if it was not paused.
    async fn resume_case(&self, case_id: i64, now: OffsetDateTime, audit: AuditEvent) -> Result<bool, StoreError>;

    /// Publishes a cluster notice. `None` if the place does not exist.
    async fn publish_notice(&self, notice: NewNotice, now: OffsetDateTime, audit: AuditEvent) -> Result<Option<i64>, StoreError>;

    /// Withdraws a notice. False if there was no such notice still published.
    async fn withdraw_notice(&self, notice_id: i64, now: OffsetDateTime, audit: AuditEvent) -> Result<bool, StoreError>;

    /// Notices, newest first; withdrawn ones only if asked for.
    async fn notices(&self, include_withdrawn: bool) -> Result<Vec<NoticeRecord>, StoreError>;
}
