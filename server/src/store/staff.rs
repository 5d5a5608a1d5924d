//! What the store keeps about staff: accounts, sessions, API tokens and the audit log
//! (issue 6). Every method that changes something takes the [`AuditEvent`] that records it
//! and appends it in the same transaction: an action without its audit entry cannot happen.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StoreError;
use crate::audit::{AuditEvent, ChainBreak, ChainHead};
use crate::secrets::TokenHash;
use crate::staff::{Role, Roles, StaffAccount, StaffLogin, StaffName};

/// A staff account to create.
#[derive(Debug, Clone)]
pub struct NewStaff {
    /// Login name (unique).
    pub login: StaffLogin,
    /// Display name.
    pub name: StaffName,
    /// Roles.
    pub roles: Roles,
    /// The argon2id PHC string.
    pub password_hash: String,
}

/// A new console session.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 of the cookie's secret.
    pub hash: TokenHash,
    /// The token every form of this session carries.
    pub csrf_token: String,
    /// When it ends, whatever happens.
    pub expires_at: OffsetDateTime,
}

/// A live session with its account.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// The signed-in account.
    pub account: StaffAccount,
    /// The session's CSRF token.
    pub csrf_token: String,
    /// When it ends.
    pub expires_at: OffsetDateTime,
}

/// What a sign-in attempt with a known login name came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    /// Counted; the account is not locked.
    Counted,
    /// This failure locked the account until then.
    LockedNow(OffsetDateTime),
}

/// A change an admin makes to an account.
#[derive(Debug, Clone)]
pub enum StaffChange {
    /// No more sign-ins; its sessions and tokens end.
    Disable,
    /// Signs in again.
    Enable,
    /// A new password (its hash); the failed-login count and lock are cleared, sessions end.
    SetPassword(String),
    /// New roles.
    SetRoles(Roles),
}

/// An API token to create.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    /// Its public id (shown in lists and the audit log).
    pub token_id: String,
    /// SHA-256 of the secret.
    pub hash: TokenHash,
    /// What it is for.
    pub name: String,
    /// The one role it acts with.
    pub role: Role,
    /// The admin who created it.
    pub created_by: i64,
    /// When it stops working, if ever.
    pub expires_at: Option<OffsetDateTime>,
}

/// An API token as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRecord {
    /// Its public id.
    pub token_id: String,
    /// What it is for.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The login of the admin who created it.
    pub created_by: String,
    /// When.
    pub created_at: OffsetDateTime,
    /// When it stops working, if ever.
    pub expires_at: Option<OffsetDateTime>,
    /// When it was revoked.
    pub revoked_at: Option<OffsetDateTime>,
}

impl ApiTokenRecord {
    /// Whether it can be used at `now`.
    pub fn usable_at(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

/// An audit log entry as shown to admins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Its position.
    pub seq: i64,
    /// When.
    pub at: OffsetDateTime,
    /// Who (`staff:yamada`, `token:…`, `cli`, `anonymous`).
    pub actor: String,
    /// What.
    pub action: String,
    /// To what.
    pub subject: Option<String>,
    /// Details (JSON text).
    pub details: String,
}

/// Staff storage.
#[async_trait]
pub trait StaffStore: Send + Sync {
    /// Creates an account. `Conflict` if the login name is taken.
    async fn create_staff(&self, staff: NewStaff, now: OffsetDateTime, audit: AuditEvent) -> Result<StaffAccount, StoreError>;

    /// An account and its password hash, by login name.
    async fn staff_for_login(&self, login: StaffLogin) -> Result<Option<(StaffAccount, String)>, StoreError>;

    /// An account by id.
    async fn staff_by_id(&self, id: i64) -> Result<Option<StaffAccount>, StoreError>;

    /// Every account, by login name.
    async fn list_staff(&self) -> Result<Vec<StaffAccount>, StoreError>;

    /// Counts a failed sign-in of an account; the `lock_after`-th failure in a row locks it
    /// until `now + lock_for`.
    async fn login_failed(&self, staff_id: i64, now: OffsetDateTime, lock_after: u32, lock_for: time::Duration, audit: AuditEvent) -> Result<LoginFailure, StoreError>;

    /// A successful sign-in: clears the failure count and starts a session.
    async fn login_succeeded(&self, staff_id: i64, session: NewSession, now: OffsetDateTime, audit: AuditEvent) -> Result<(), StoreError>;

    /// The live session with this hash (not expired, account not disabled).
    async fn session(&self, hash: TokenHash, now: OffsetDateTime) -> Result<Option<SessionRecord>, StoreError>;

    /// Ends a session (signing out).
    async fn end_session(&self, hash: TokenHash, now: OffsetDateTime, audit: AuditEvent) -> Result<(), StoreError>;

    /// Changes an account. False if there is no such account.
    async fn change_staff(&self, staff_id: i64, change: StaffChange, now: OffsetDateTime, audit: AuditEvent) -> Result<bool, StoreError>;

    /// Stores a new API token.
    async fn create_api_token(&self, token: NewApiToken, now: OffsetDateTime, audit: AuditEvent) -> Result<(), StoreError>;

    /// The token with this hash, usable or not.
    async fn api_token(&self, hash: TokenHash) -> Result<Option<ApiTokenRecord>, StoreError>;

    /// Every API token, newest first.
    async fn list_api_tokens(&self) -> Result<Vec<ApiTokenRecord>, StoreError>;

    /// Revokes a token. False if there is no such token.
    async fn revoke_api_token(&self, token_id: String, now: OffsetDateTime, audit: AuditEvent) -> Result<bool, StoreError>;

    /// Appends an entry for an action that changes nothing else (a failed login with an
    /// unknown name, a view of the fleet, an export).
    async fn append_audit(&self, now: OffsetDateTime, audit: AuditEvent) -> Result<(), StoreError>;

    /// The newest `limit` audit entries, newest first.
    async fn recent_audit(&self, limit: u32) -> Result<Vec<AuditRow>, StoreError>;

    /// Checks the whole audit chain against its head.
    async fn verify_audit(&self) -> Result<Result<ChainHead, ChainBreak>, StoreError>;
}
