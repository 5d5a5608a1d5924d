//! Staff accounts, sessions, API tokens and the audit chain in SQLite. Every change appends
//! its audit entry inside the same transaction ([`append_audit`]).

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;

use super::{SqliteStore, from_millis, millis};
use crate::audit::{AuditEntry, AuditEvent, ChainBreak, ChainHead, GENESIS, entry_hash};
use crate::secrets::TokenHash;
use crate::staff::{Role, Roles, StaffAccount, StaffLogin, StaffName};
use crate::store::StoreError;
use crate::store::staff::{ApiTokenRecord, AuditRow, LoginFailure, NewApiToken, NewSession, NewStaff, SessionRecord, StaffChange, StaffStore};

const STAFF_COLUMNS: &str = "s.staff_id, s.login, s.name, s.roles, s.created_at_ms, s.disabled_at_ms, s.locked_until_ms";

type StaffRow = (i64, String, String, String, i64, Option<i64>, Option<i64>);

fn read_staff(r: &Row<'_>) -> rusqlite::Result<StaffRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
}

fn parse_staff((id, login, name, roles, created, disabled, locked): StaffRow) -> Result<StaffAccount, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("staff {id}: bad {what}"));
    Ok(StaffAccount {
        id,
        login: StaffLogin::parse(&login).map_err(|_| corrupt("login"))?,
        name: StaffName::parse(&name).map_err(|_| corrupt("name"))?,
        roles: Roles::parse(&roles).map_err(|_| corrupt("roles"))?,
        created_at: from_millis(created)?,
        disabled_at: disabled.map(from_millis).transpose()?,
        locked_until: locked.map(from_millis).transpose()?,
    })
}

/// Appends one entry to the audit chain and moves its head, in the caller's transaction.
pub(super) fn append_audit(tx: &Connection, now: OffsetDateTime, event: &AuditEvent) -> Result<(), StoreError> {
    let head: Option<(i64, Vec<u8>)> = tx.prepare_cached("SELECT entries, hash FROM audit_head WHERE id = 1")?.query_row([], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
    let (entries, prev) = match head {
        Some((entries, hash)) => (entries, <[u8; 32]>::try_from(hash.as_slice()).map_err(|_| StoreError::Corrupt("audit head hash".into()))?),
        None => (0, GENESIS),
    };
    let (seq, at_ms, actor, details) = (entries + 1, millis(now), event.actor.as_stored(), event.details.to_string());
    let hash = entry_hash(&prev, seq, at_ms, &actor, event.action, event.subject.as_deref(), &details);
    tx.prepare_cached("INSERT INTO audit_log (seq, at_ms, actor, action, subject, details, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?
        .execute(params![seq, at_ms, actor, event.action, event.subject, details, prev.as_slice(), hash.as_slice()])?;
    tx.prepare_cached("INSERT INTO audit_head (id, entries, hash) VALUES (1, ?1, ?2) ON CONFLICT (id) DO UPDATE SET entries = excluded.entries, hash = excluded.hash")?
        .execute(params![seq, hash.as_slice()])?;
    Ok(())
}

/// Reads the whole chain and its head from a connection and checks them.
pub fn verify_audit_chain(conn: &Connection) -> Result<Result<ChainHead, ChainBreak>, StoreError> {
    let head: Option<(i64, Vec<u8>)> = conn.query_row("SELECT entries, hash FROM audit_head WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
    let head = head.map(|(entries, hash)| ChainHead { entries, hash: <[u8; 32]>::try_from(hash.as_slice()).unwrap_or([0xff; 32]) });
    let mut stmt = conn.prepare("SELECT seq, at_ms, actor, action, subject, details, prev_hash, hash FROM audit_log ORDER BY seq")?;
    let rows = stmt.query_map([], |r| {
        let blob = |v: Vec<u8>| <[u8; 32]>::try_from(v.as_slice()).unwrap_or([0xff; 32]);
        Ok(AuditEntry {
            seq: r.get(0)?,
            at_ms: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            subject: r.get(4)?,
            details: r.get(5)?,
            prev_hash: blob(r.get(6)?),
            hash: blob(r.get(7)?),
        })
    })?;
    let entries = rows.collect::<Result<Vec<_>, _>>()?;
    Ok(crate::audit::verify(entries, head.as_ref()))
}

fn end_sessions_of(tx: &Connection, staff_id: i64) -> Result<(), StoreError> {
    tx.execute("DELETE FROM staff_sessions WHERE staff_id = ?1", [staff_id])?;
    Ok(())
}

/// A token row: id, name, role, creator's login, created, expires, revoked.
type TokenRow = (String, String, String, String, i64, Option<i64>, Option<i64>);

fn parse_token(row: TokenRow) -> Result<ApiTokenRecord, StoreError> {
    let (token_id, name, role, created_by, created, expires, revoked) = row;
    Ok(ApiTokenRecord {
        role: Role::parse(&role).map_err(|_| StoreError::Corrupt(format!("token {token_id}: role")))?,
        token_id,
        name,
        created_by,
        created_at: from_millis(created)?,
        expires_at: expires.map(from_millis).transpose()?,
        revoked_at: revoked.map(from_millis).transpose()?,
    })
}

const TOKEN_COLUMNS: &str = "t.token_id, t.name, t.role, s.login, t.created_at_ms, t.expires_at_ms, t.revoked_at_ms FROM staff_api_tokens t JOIN staff s ON s.staff_id = t.created_by";

fn read_token(r: &Row<'_>) -> rusqlite::Result<TokenRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
}

#[async_trait]
impl StaffStore for SqliteStore {
    async fn create_staff(&self, staff: NewStaff, now: OffsetDateTime, audit: AuditEvent) -> Result<StaffAccount, StoreError> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO staff (login, name, roles, password_hash, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![staff.login.as_str(), staff.name.as_str(), staff.roles.to_stored(), staff.password_hash, millis(now)],
            )
            .map_err(|e| if super::unique_violation(&e) { StoreError::Conflict(format!("login {}", staff.login)) } else { e.into() })?;
            let id = tx.last_insert_rowid();
            append_audit(tx, now, &audit)?;
            Ok(StaffAccount { id, login: staff.login, name: staff.name, roles: staff.roles, created_at: from_millis(millis(now))?, disabled_at: None, locked_until: None })
        })
        .await
    }

    async fn staff_for_login(&self, login: StaffLogin) -> Result<Option<(StaffAccount, String)>, StoreError> {
        self.read(move |conn| {
            let found = conn
                .prepare_cached(&format!("SELECT {STAFF_COLUMNS}, s.password_hash FROM staff s WHERE s.login = ?1"))?
                .query_row([login.as_str()], |r| Ok((read_staff(r)?, r.get::<_, String>(7)?)))
                .optional()?;
            found.map(|(row, hash)| Ok((parse_staff(row)?, hash))).transpose()
        })
        .await
    }

    async fn staff_by_id(&self, id: i64) -> Result<Option<StaffAccount>, StoreError> {
        self.read(move |conn| {
            let found = conn.prepare_cached(&format!("SELECT {STAFF_COLUMNS} FROM staff s WHERE s.staff_id = ?1"))?.query_row([id], read_staff).optional()?;
            found.map(parse_staff).transpose()
        })
        .await
    }

    async fn list_staff(&self) -> Result<Vec<StaffAccount>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!("SELECT {STAFF_COLUMNS} FROM staff s ORDER BY s.login"))?;
            let rows = stmt.query_map([], read_staff)?.collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(parse_staff).collect()
        })
        .await
    }

    async fn login_failed(&self, staff_id: i64, now: OffsetDateTime, lock_after: u32, lock_for: time::Duration, audit: AuditEvent) -> Result<LoginFailure, StoreError> {
        self.write(move |tx| {
            let failures: i64 = tx.query_row("UPDATE staff SET failed_logins = failed_logins + 1 WHERE staff_id = ?1 RETURNING failed_logins", [staff_id], |r| r.get(0))?;
            append_audit(tx, now, &audit)?;
            if failures < i64::from(lock_after) {
                return Ok(LoginFailure::Counted);
            }
            let until = now + lock_for;
            tx.execute("UPDATE staff SET failed_logins = 0, locked_until_ms = ?1 WHERE staff_id = ?2", params![millis(until), staff_id])?;
            let locked = AuditEvent::new(crate::audit::Actor::Anonymous, "account.locked").about(audit.subject.clone().unwrap_or_default()).with(serde_json::json!({ "failures": failures, "minutes": lock_for.whole_minutes() }));
            append_audit(tx, now, &locked)?;
            Ok(LoginFailure::LockedNow(until))
        })
        .await
    }

    async fn login_succeeded(&self, staff_id: i64, session: NewSession, now: OffsetDateTime, audit: AuditEvent) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.execute("UPDATE staff SET failed_logins = 0, locked_until_ms = NULL WHERE staff_id = ?1", [staff_id])?;
            tx.execute("DELETE FROM staff_sessions WHERE expires_at_ms <= ?1", [millis(now)])?;
            tx.execute(
                "INSERT INTO staff_sessions (session_hash, staff_id, csrf_token, created_at_ms, expires_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![session.hash.0.as_slice(), staff_id, session.csrf_token, millis(now), millis(session.expires_at)],
            )?;
            append_audit(tx, now, &audit)
        })
        .await
    }

    async fn session(&self, hash: TokenHash, now: OffsetDateTime) -> Result<Option<SessionRecord>, StoreError> {
        self.read(move |conn| {
            let found = conn
                .prepare_cached(&format!(
                    "SELECT {STAFF_COLUMNS}, x.csrf_token, x.expires_at_ms FROM staff_sessions x JOIN staff s ON s.staff_id = x.staff_id
                     WHERE x.session_hash = ?1 AND x.expires_at_ms > ?2 AND s.disabled_at_ms IS NULL"
                ))?
                .query_row(params![hash.0.as_slice(), millis(now)], |r| Ok((read_staff(r)?, r.get::<_, String>(7)?, r.get::<_, i64>(8)?)))
                .optional()?;
            found.map(|(row, csrf_token, expires)| Ok(SessionRecord { account: parse_staff(row)?, csrf_token, expires_at: from_millis(expires)? })).transpose()
        })
        .await
    }

    async fn end_session(&self, hash: TokenHash, now: OffsetDateTime, audit: AuditEvent) -> Result<(), StoreError> {
        self.write(move |tx| {
            if tx.execute("DELETE FROM staff_sessions WHERE session_hash = ?1", [hash.0.as_slice()])? > 0 {
                append_audit(tx, now, &audit)?;
            }
            Ok(())
        })
        .await
    }

    async fn change_staff(&self, staff_id: i64, change: StaffChange, now: OffsetDateTime, audit: AuditEvent) -> Result<bool, StoreError> {
        self.write(move |tx| {
            let changed = match &change {
                StaffChange::Disable => {
                    let n = tx.execute("UPDATE staff SET disabled_at_ms = coalesce(disabled_at_ms, ?1) WHERE staff_id = ?2", params![millis(now), staff_id])?;
                    tx.execute("UPDATE staff_api_tokens SET revoked_at_ms = coalesce(revoked_at_ms, ?1) WHERE created_by = ?2", params![millis(now), staff_id])?;
                    end_sessions_of(tx, staff_id)?;
                    n
                }
                StaffChange::Enable => tx.execute("UPDATE staff SET disabled_at_ms = NULL WHERE staff_id = ?1", [staff_id])?,
                StaffChange::SetPassword(hash) => {
                    let n = tx.execute("UPDATE staff SET password_hash = ?1, failed_logins = 0, locked_until_ms = NULL WHERE staff_id = ?2", params![hash, staff_id])?;
                    end_sessions_of(tx, staff_id)?;
                    n
                }
                StaffChange::SetRoles(roles) => tx.execute("UPDATE staff SET roles = ?1 WHERE staff_id = ?2", params![roles.to_stored(), staff_id])?,
            };
            if changed > 0 {
                append_audit(tx, now, &audit)?;
            }
            Ok(changed > 0)
        })
        .await
    }

    async fn create_api_token(&self, token: NewApiToken, now: OffsetDateTime, audit: AuditEvent) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO staff_api_tokens (token_id, token_hash, name, role, created_by, created_at_ms, expires_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![token.token_id, token.hash.0.as_slice(), token.name, token.role.as_str(), token.created_by, millis(now), token.expires_at.map(millis)],
            )
            .map_err(|e| if super::unique_violation(&e) { StoreError::Conflict("API token id".into()) } else { e.into() })?;
            append_audit(tx, now, &audit)
        })
        .await
    }

    async fn api_token(&self, hash: TokenHash) -> Result<Option<ApiTokenRecord>, StoreError> {
        self.read(move |conn| {
            let found = conn.prepare_cached(&format!("SELECT {TOKEN_COLUMNS} WHERE t.token_hash = ?1 AND s.disabled_at_ms IS NULL"))?.query_row([hash.0.as_slice()], read_token).optional()?;
            found.map(parse_token).transpose()
        })
        .await
    }

    async fn list_api_tokens(&self) -> Result<Vec<ApiTokenRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!("SELECT {TOKEN_COLUMNS} ORDER BY t.created_at_ms DESC"))?;
            let rows = stmt.query_map([], read_token)?.collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(parse_token).collect()
        })
        .await
    }

    async fn revoke_api_token(&self, token_id: String, now: OffsetDateTime, audit: AuditEvent) -> Result<bool, StoreError> {
        self.write(move |tx| {
            let n = tx.execute("UPDATE staff_api_tokens SET revoked_at_ms = coalesce(revoked_at_ms, ?1) WHERE token_id = ?2", params![millis(now), token_id])?;
            if n > 0 {
                append_audit(tx, now, &audit)?;
            }
            Ok(n > 0)
        })
        .await
    }

    async fn append_audit(&self, now: OffsetDateTime, audit: AuditEvent) -> Result<(), StoreError> {
        self.write(move |tx| append_audit(tx, now, &audit)).await
    }

    async fn recent_audit(&self, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached("SELECT seq, at_ms, actor, action, subject, details FROM audit_log ORDER BY seq DESC LIMIT ?1")?;
            let rows = stmt
                .query_map([limit], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(|(seq, at, actor, action, subject, details)| Ok(AuditRow { seq, at: from_millis(at)?, actor, action, subject, details })).collect()
        })
        .await
    }

    async fn verify_audit(&self) -> Result<Result<ChainHead, ChainBreak>, StoreError> {
        self.read(verify_audit_chain).await
    }
}
