//! Cases, exposures, matching and the alert outbox in SQLite.
//!
//! Matching ([`matched`]) reads one range of the `visits_for_matching` index per exposure
//! (`crate::cases::matching` has the rule) and works on resident row ids; LINE user ids are
//! read only for the approval, which writes them into the outbox batches in the same
//! transaction as the case's new status.

use std::collections::BTreeSet;

use async_trait::async_trait;
use oshirase_common::{LineUserId, LocationId};
use rusqlite::{Connection, OptionalExtension, params};
use time::{Duration, OffsetDateTime};

use super::staff::append_audit;
use super::{SqliteStore, from_millis, millis};
use crate::audit::{Actor, AuditEvent};
use crate::cases::matching::{Rules, scan_window};
use crate::cases::{CaseReference, CaseStatus, StayPeriod};
use crate::config::MatchingSettings;
use crate::store::StoreError;
use crate::store::cases::{
    Approval, ApprovalRequest, BATCH_SIZE, CasePreview, HistoryImport, NewNotice, NoticeRecord, CaseRecord, CaseStore, CaseSummary, DueBatch, ExposureRecord, ExposureSource, NewCase, PlaceMatch, SendingProgress,
};

fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt(what.into())
}

fn status_of(stored: &str) -> Result<CaseStatus, StoreError> {
    CaseStatus::parse(stored).ok_or_else(|| corrupt(format!("case status {stored}")))
}

fn case_status(conn: &Connection, case_id: i64) -> Result<Option<CaseStatus>, StoreError> {
    let found: Option<String> = conn.prepare_cached("SELECT status FROM cases WHERE case_id = ?1")?.query_row([case_id], |r| r.get(0)).optional()?;
    found.map(|s| status_of(&s)).transpose()
}

fn minutes(value: Option<i64>) -> Option<u32> {
    value.and_then(|m| u32::try_from(m).ok())
}

fn exposures(conn: &Connection, case_id: i64) -> Result<Vec<ExposureRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.exposure_id, e.location_id, v.name, v.business_type, e.starts_at_ms, e.ends_at_ms, e.source
         FROM case_exposures e JOIN venues v ON v.location_id = e.location_id WHERE e.case_id = ?1 ORDER BY e.starts_at_ms, e.exposure_id",
    )?;
    let rows = stmt
        .query_map([case_id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get::<_, i64>(4)?, r.get::<_, i64>(5)?, r.get::<_, String>(6)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(id, location, name, business_type, starts, ends, source)| {
            Ok(ExposureRecord {
                id,
                location_id: LocationId::parse(&location).map_err(|_| corrupt(format!("exposure {id}: location")))?,
                venue_name: name,
                business_type,
                starts_at: from_millis(starts)?,
                ends_at: from_millis(ends)?,
                source: if source == "history" { ExposureSource::History } else { ExposureSource::Staff },
            })
        })
        .collect()
}

/// Who matches a case: per exposure, the residents (row ids) whose assumed stay overlaps,
/// without the positive person's own account.
struct Matched {
    per_exposure: Vec<(i64, BTreeSet<i64>)>,
}

impl Matched {
    fn all(&self) -> BTreeSet<i64> {
        self.per_exposure.iter().flat_map(|(_, residents)| residents.iter().copied()).collect()
    }
}

fn matched(conn: &Connection, case_id: i64, rules: &MatchingSettings) -> Result<Matched, StoreError> {
    let (tail, dwell, excluded): (Option<i64>, Option<i64>, Option<i64>) =
        conn.prepare_cached("SELECT tail_minutes, dwell_minutes, excluded_resident_id FROM cases WHERE case_id = ?1")?.query_row([case_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let tail = Duration::minutes(tail.unwrap_or(i64::from(rules.tail_minutes)));
    let mut per_exposure = Vec::new();
    let mut scans = conn.prepare_cached("SELECT resident_id FROM visits WHERE location_id = ?1 AND scanned_at_ms > ?2 AND scanned_at_ms < ?3")?;
    for exposure in exposures(conn, case_id)? {
        let dwell = Duration::minutes(dwell.unwrap_or_else(|| i64::from(rules.dwell_for(&exposure.business_type))));
        let window = scan_window(StayPeriod::stored(exposure.starts_at, exposure.ends_at), Rules { tail, dwell });
        let residents = scans
            .query_map(params![exposure.location_id.as_str(), millis(window.from), millis(window.until)], |r| r.get::<_, i64>(0))?
            .collect::<Result<BTreeSet<_>, _>>()?;
        let residents = residents.into_iter().filter(|r| Some(*r) != excluded).collect();
        per_exposure.push((exposure.id, residents));
    }
    Ok(Matched { per_exposure })
}

/// The matched residents split in one read each: the LINE users who can be alerted (with
/// their row ids) and the row ids of those who blocked the account.
struct Reachable {
    users: Vec<(i64, String)>,
    blocked: BTreeSet<i64>,
}

fn reachable(conn: &Connection, residents: &BTreeSet<i64>) -> Result<Reachable, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT line_user_id, blocked_at_ms IS NOT NULL FROM residents WHERE id = ?1")?;
    let mut users = Vec::with_capacity(residents.len());
    let mut blocked = BTreeSet::new();
    for id in residents {
        match stmt.query_row([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?))).optional()? {
            Some((_, true)) => {
                blocked.insert(*id);
            }
            Some((user, false)) => users.push((*id, user)),
            None => {}
        }
    }
    Ok(Reachable { users, blocked })
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A fresh `X-Line-Retry-Key`: a random UUID (version 4), as LINE asks.
fn retry_key() -> String {
    let mut b = crate::secrets::random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

fn progress(conn: &Connection, case_id: i64) -> Result<SendingProgress, StoreError> {
    let (batches, sent_batches, failed_batches, sent_recipients): (i64, i64, i64, i64) = conn.prepare_cached(
        "SELECT count(*), coalesce(sum(status = 'sent'), 0), coalesce(sum(status = 'failed'), 0), coalesce(sum(CASE WHEN status = 'sent' THEN size ELSE 0 END), 0)
         FROM alert_batches WHERE case_id = ?1",
    )?
    .query_row([case_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    let n = |v: i64| u32::try_from(v).unwrap_or(0);
    Ok(SendingProgress { batches: n(batches), sent_batches: n(sent_batches), failed_batches: n(failed_batches), sent_recipients: n(sent_recipients) })
}

/// Takes a deleted resident out of every outbox batch not yet tried; a batch left empty is
/// dropped (and its case finished if it was the last).
pub(super) fn forget_recipient(tx: &Connection, user: &LineUserId, now: OffsetDateTime) -> Result<(), StoreError> {
    let batches: Vec<(i64, i64)> = tx
        .prepare_cached(
            "SELECT b.batch_id, b.case_id FROM alert_batches b WHERE b.status = 'pending' AND b.attempts = 0
             AND EXISTS (SELECT 1 FROM json_each(b.recipients) WHERE value = ?1)",
        )?
        .query_map([user.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (batch, case_id) in batches {
        tx.execute(
            "UPDATE alert_batches SET recipients = (SELECT json_group_array(value) FROM json_each(recipients) WHERE value != ?1), size = size - 1 WHERE batch_id = ?2",
            params![user.as_str(), batch],
        )?;
        tx.execute("UPDATE cases SET recipients = recipients - 1 WHERE case_id = ?1", [case_id])?;
        if tx.execute("DELETE FROM alert_batches WHERE batch_id = ?1 AND size = 0", [batch])? > 0 {
            finish_if_done(tx, case_id, now)?;
        }
    }
    Ok(())
}

/// Finishes a sending case once none of its batches is pending.
fn finish_if_done(tx: &Connection, case_id: i64, now: OffsetDateTime) -> Result<(), StoreError> {
    let pending: i64 = tx.prepare_cached("SELECT count(*) FROM alert_batches WHERE case_id = ?1 AND status = 'pending'")?.query_row([case_id], |r| r.get(0))?;
    if pending > 0 {
        return Ok(());
    }
    let p = progress(tx, case_id)?;
    let changed = tx.execute("UPDATE cases SET status = 'sent', sent = ?1 WHERE case_id = ?2 AND status = 'sending'", params![p.sent_recipients, case_id])?;
    if changed > 0 {
        let event = AuditEvent::new(Actor::System, "case.sent").about(format!("case:{case_id}")).with(serde_json::json!({ "recipients": p.sent_recipients, "batches": p.batches, "failed_batches": p.failed_batches }));
        append_audit(tx, now, &event)?;
    }
    Ok(())
}

#[async_trait]
impl CaseStore for SqliteStore {
    async fn create_case(&self, case: NewCase, now: OffsetDateTime, audit: AuditEvent) -> Result<i64, StoreError> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO cases (reference, status, created_by, created_at_ms, tail_minutes, dwell_minutes) VALUES (?1, 'open', ?2, ?3, ?4, ?5)",
                params![case.reference.as_str(), case.created_by, millis(now), case.tail_minutes, case.dwell_minutes],
            )
            .map_err(|e| if super::unique_violation(&e) { StoreError::Conflict(format!("case reference {}", case.reference)) } else { e.into() })?;
            let id = tx.last_insert_rowid();
            let audit = AuditEvent { subject: Some(format!("case:{id}")), ..audit };
            append_audit(tx, now, &audit)?;
            Ok(id)
        })
        .await
    }

    async fn list_cases(&self) -> Result<Vec<CaseSummary>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT c.case_id, c.reference, c.status, c.created_at_ms, (SELECT count(*) FROM case_exposures e WHERE e.case_id = c.case_id), c.recipients
                 FROM cases c ORDER BY c.case_id DESC",
            )?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?, r.get::<_, i64>(4)?, r.get::<_, Option<i64>>(5)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(id, reference, status, created, exposures, recipients)| {
                    Ok(CaseSummary {
                        id,
                        reference: CaseReference::parse(&reference).map_err(|_| corrupt(format!("case {id}: reference")))?,
                        status: status_of(&status)?,
                        created_at: from_millis(created)?,
                        exposures: u32::try_from(exposures).unwrap_or(0),
                        recipients: minutes(recipients),
                    })
                })
                .collect()
        })
        .await
    }

    async fn case(&self, case_id: i64) -> Result<Option<CaseRecord>, StoreError> {
        self.read(move |conn| {
            type Row = (String, String, String, i64, i64, Option<i64>, Option<i64>, Option<i64>, Option<String>, Option<i64>, Option<i64>, Option<i64>, Option<String>);
            let found: Option<Row> = conn
                .prepare_cached(
                    "SELECT c.reference, c.status, s.name, c.created_by, c.created_at_ms, c.tail_minutes, c.dwell_minutes, c.excluded_resident_id,
                            a.name, c.approved_at_ms, c.recipients, c.blocked, c.pause_reason
                     FROM cases c JOIN staff s ON s.staff_id = c.created_by LEFT JOIN staff a ON a.staff_id = c.approved_by WHERE c.case_id = ?1",
                )?
                .query_row([case_id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?, r.get(12)?))
                })
                .optional()?;
            let Some((reference, status, creator, creator_id, created, tail, dwell, excluded, approver, approved_at, recipients, blocked, pause_reason)) = found else {
                return Ok(None);
            };
            let approved = match (approver, approved_at) {
                (Some(login), Some(at)) => Some((login, from_millis(at)?)),
                _ => None,
            };
            Ok(Some(CaseRecord {
                id: case_id,
                reference: CaseReference::parse(&reference).map_err(|_| corrupt(format!("case {case_id}: reference")))?,
                status: status_of(&status)?,
                created_by: creator,
                created_by_id: creator_id,
                created_at: from_millis(created)?,
                tail_minutes: minutes(tail),
                dwell_minutes: minutes(dwell),
                excludes_positive_person: excluded.is_some(),
                approved,
                recipients: minutes(recipients),
                blocked: minutes(blocked),
                pause_reason,
                exposures: exposures(conn, case_id)?,
                progress: progress(conn, case_id)?,
            }))
        })
        .await
    }

    async fn search_places(&self, query: String, limit: u32) -> Result<Vec<PlaceMatch>, StoreError> {
        self.read(move |conn| {
            let text = oshirase_common::text::normalize(&query);
            if text.is_empty() {
                return Ok(Vec::new());
            }
            let like = format!("%{}%", text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            // Postal codes are stored as seven digits.
            let postal = if digits.len() == 7 && text.chars().all(|c| c.is_ascii_digit() || c == '-') { digits } else { String::new() };
            let code = oshirase_common::base32::canonical(&text).unwrap_or_default();
            let mut stmt = conn.prepare_cached(
                "SELECT v.location_id, v.code, v.name, v.address, v.postal_code, v.business_type, v.registration_id, v.withdrawn_at_ms IS NOT NULL
                 FROM venues v WHERE v.registration_id IN (
                     SELECT registration_id FROM venues
                     WHERE name LIKE ?1 ESCAPE '\\' OR address LIKE ?1 ESCAPE '\\' OR postal_code = ?2 OR code = ?3)
                 ORDER BY v.registration_id DESC, v.name LIMIT ?4",
            )?;
            let rows = stmt
                .query_map(params![like, postal, code, limit], |r| {
                    Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(location, code, name, address, postal_code, business_type, registration_id, withdrawn)| {
                    Ok(PlaceMatch { location_id: LocationId::parse(&location).map_err(|_| corrupt("place location"))?, code, name, address, postal_code, business_type, registration_id, withdrawn })
                })
                .collect()
        })
        .await
    }

    async fn add_exposure(&self, case_id: i64, location_id: LocationId, period: StayPeriod, source: ExposureSource, now: OffsetDateTime, audit: AuditEvent) -> Result<Option<i64>, StoreError> {
        self.write(move |tx| {
            if case_status(tx, case_id)? != Some(CaseStatus::Open) {
                return Ok(None);
            }
            let place: Option<i64> = tx.prepare_cached("SELECT 1 FROM venues WHERE location_id = ?1")?.query_row([location_id.as_str()], |r| r.get(0)).optional()?;
            if place.is_none() {
                return Ok(None);
            }
            tx.execute(
                "INSERT INTO case_exposures (case_id, location_id, starts_at_ms, ends_at_ms, source, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![case_id, location_id.as_str(), millis(period.starts_at()), millis(period.ends_at()), source.as_str(), millis(now)],
            )?;
            let id = tx.last_insert_rowid();
            append_audit(tx, now, &audit)?;
            Ok(Some(id))
        })
        .await
    }

    async fn import_history(&self, case_id: i64, code_hash: crate::secrets::TokenHash, since: OffsetDateTime, rules: MatchingSettings, now: OffsetDateTime, audit: AuditEvent) -> Result<HistoryImport, StoreError> {
        self.write(move |tx| {
            if case_status(tx, case_id)? != Some(CaseStatus::Open) {
                return Ok(HistoryImport::NotOpen);
            }
            let found: Option<(i64, Option<String>)> = tx
                .prepare_cached("SELECT resident_id, pass_id FROM history_codes WHERE code_hash = ?1 AND used_at_ms IS NULL AND expires_at_ms > ?2")?
                .query_row(params![code_hash.0.as_slice(), millis(now)], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let Some((resident, pass_id)) = found else {
                return Ok(HistoryImport::UnknownCode);
            };
            let dwell_override: Option<i64> = tx.prepare_cached("SELECT dwell_minutes FROM cases WHERE case_id = ?1")?.query_row([case_id], |r| r.get(0))?;
            let visits: Vec<(String, String, i64)> = tx
                .prepare_cached("SELECT v.location_id, p.business_type, v.scanned_at_ms FROM visits v JOIN venues p ON p.location_id = v.location_id WHERE v.resident_id = ?1 AND v.pass_id IS ?3 AND v.scanned_at_ms >= ?2 ORDER BY v.scanned_at_ms")?
                .query_map(params![resident, millis(since), pass_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO case_exposures (case_id, location_id, starts_at_ms, ends_at_ms, source, created_at_ms) VALUES (?1, ?2, ?3, ?4, 'history', ?5)",
            )?;
            for (location, business_type, scanned) in &visits {
                let dwell = dwell_override.unwrap_or_else(|| i64::from(rules.dwell_for(business_type)));
                insert.execute(params![case_id, location, scanned, scanned + dwell * 60_000, millis(now)])?;
            }
            tx.execute("UPDATE cases SET excluded_resident_id = ?1 WHERE case_id = ?2", params![resident, case_id])?;
            tx.execute("UPDATE history_codes SET used_at_ms = ?1, used_for_case = ?2 WHERE code_hash = ?3", params![millis(now), case_id, code_hash.0.as_slice()])?;
            let exposures = count(visits.len());
            append_audit(tx, now, &audit.with(serde_json::json!({ "exposures": exposures })))?;
            Ok(HistoryImport::Imported { exposures })
        })
        .await
    }

    async fn remove_exposure(&self, case_id: i64, exposure_id: i64, now: OffsetDateTime, audit: AuditEvent) -> Result<bool, StoreError> {
        self.write(move |tx| {
            if case_status(tx, case_id)? != Some(CaseStatus::Open) {
                return Ok(false);
            }
            let removed = tx.execute("DELETE FROM case_exposures WHERE exposure_id = ?1 AND case_id = ?2", params![exposure_id, case_id])?;
            if removed > 0 {
                append_audit(tx, now, &audit)?;
            }
            Ok(removed > 0)
        })
        .await
    }

    async fn preview_case(&self, case_id: i64, rules: MatchingSettings) -> Result<CasePreview, StoreError> {
        self.read(move |conn| {
            // One read transaction: one consistent snapshot, and one lock of the WAL index
            // instead of one per statement.
            conn.execute_batch("BEGIN")?;
            let result = (|| {
                let matched = matched(conn, case_id, &rules)?;
                let split = reachable(conn, &matched.all())?;
                let per_exposure = matched.per_exposure.iter().map(|(id, r)| (*id, count(r.difference(&split.blocked).count()))).collect();
                Ok(CasePreview { per_exposure, total: count(split.users.len()), blocked: count(split.blocked.len()) })
            })();
            conn.execute_batch("COMMIT")?;
            result
        })
        .await
    }

    async fn alert_template(&self) -> Result<Option<(String, String)>, StoreError> {
        self.read(|conn| Ok(conn.prepare_cached("SELECT template, contact FROM alert_template WHERE id = 1")?.query_row([], |r| Ok((r.get(0)?, r.get(1)?))).optional()?)).await
    }

    async fn set_alert_template(&self, template: String, contact: String, by: i64, now: OffsetDateTime, audit: AuditEvent) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO alert_template (id, template, contact, updated_by, updated_at_ms) VALUES (1, ?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET template = excluded.template, contact = excluded.contact, updated_by = excluded.updated_by, updated_at_ms = excluded.updated_at_ms",
                params![template, contact, by, millis(now)],
            )?;
            append_audit(tx, now, &audit)
        })
        .await
    }

    async fn approve_case(&self, case_id: i64, request: ApprovalRequest, now: OffsetDateTime, audit: AuditEvent) -> Result<Approval, StoreError> {
        self.write(move |tx| {
            let ApprovalRequest { approver, require_second, rules, alert_text } = request;
            let found: Option<(String, i64)> = tx.prepare_cached("SELECT status, created_by FROM cases WHERE case_id = ?1")?.query_row([case_id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
            let Some((status, creator)) = found else {
                return Ok(Approval::NotOpen);
            };
            if status_of(&status)? != CaseStatus::Open {
                return Ok(Approval::NotOpen);
            }
            if require_second && creator == approver {
                return Ok(Approval::SelfApproval);
            }
            let split = reachable(tx, &matched(tx, case_id, &rules)?.all())?;
            let blocked = count(split.blocked.len());
            let mut users: Vec<String> = split.users.into_iter().map(|(_, user)| user).collect();
            if users.is_empty() {
                return Ok(Approval::Nobody);
            }
            users.sort();
            let mut insert = tx.prepare_cached(
                "INSERT INTO alert_batches (case_id, retry_key, recipients, size, status, next_attempt_at_ms, created_at_ms) VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)",
            )?;
            let mut batches = 0u32;
            for chunk in users.chunks(BATCH_SIZE) {
                let recipients = serde_json::to_string(chunk).map_err(|e| corrupt(e.to_string()))?;
                insert.execute(params![case_id, retry_key(), recipients, count(chunk.len()), millis(now)])?;
                batches += 1;
            }
            let recipients = count(users.len());
            tx.execute(
                "UPDATE cases SET status = 'sending', approved_by = ?1, approved_at_ms = ?2, recipients = ?3, blocked = ?4, alert_text = ?5 WHERE case_id = ?6",
                params![approver, millis(now), recipients, blocked, alert_text, case_id],
            )?;
            let audit = audit.with(serde_json::json!({ "recipients": recipients, "blocked": blocked, "batches": batches }));
            append_audit(tx, now, &audit)?;
            Ok(Approval::Approved { recipients, blocked, batches })
        })
        .await
    }

    async fn close_case(&self, case_id: i64, now: OffsetDateTime, audit: AuditEvent) -> Result<bool, StoreError> {
        self.write(move |tx| {
            let changed = tx.execute("UPDATE cases SET status = 'closed', closed_at_ms = ?1 WHERE case_id = ?2 AND status = 'open'", params![millis(now), case_id])?;
            if changed > 0 {
                append_audit(tx, now, &audit)?;
            }
            Ok(changed > 0)
        })
        .await
    }

    async fn next_due_batch(&self, now: OffsetDateTime) -> Result<Option<DueBatch>, StoreError> {
        Ok(self.due_batches(now, 1, Vec::new()).await?.into_iter().next())
    }

    async fn due_batches(&self, now: OffsetDateTime, limit: u32, skip: Vec<i64>) -> Result<Vec<DueBatch>, StoreError> {
        self.read(move |conn| {
            let skip = serde_json::to_string(&skip).map_err(|e| corrupt(e.to_string()))?;
            let mut stmt = conn.prepare_cached(
                "SELECT b.batch_id, b.case_id, b.retry_key, b.recipients, b.attempts, c.alert_text FROM alert_batches b JOIN cases c ON c.case_id = b.case_id
                 WHERE b.status = 'pending' AND b.next_attempt_at_ms <= ?1 AND c.status = 'sending'
                   AND b.batch_id NOT IN (SELECT value FROM json_each(?2))
                 ORDER BY b.next_attempt_at_ms, b.batch_id LIMIT ?3",
            )?;
            let rows = stmt
                .query_map(params![millis(now), skip, limit], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get::<_, i64>(4)?, r.get::<_, Option<String>>(5)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(id, case_id, retry_key, recipients, attempts, text)| {
                    let ids: Vec<String> = serde_json::from_str(&recipients).map_err(|e| corrupt(format!("batch {id}: {e}")))?;
                    let recipients = ids.iter().map(|u| LineUserId::parse(u).map_err(|_| corrupt(format!("batch {id}: user id")))).collect::<Result<_, _>>()?;
                    let text = text.ok_or_else(|| corrupt(format!("case {case_id}: approved without an alert text")))?;
                    Ok(DueBatch { id, case_id, retry_key, recipients, text, attempts: u32::try_from(attempts).unwrap_or(u32::MAX) })
                })
                .collect()
        })
        .await
    }

    async fn batch_sent(&self, batch_id: i64, now: OffsetDateTime) -> Result<(), StoreError> {
        self.write(move |tx| {
            let case_id: Option<i64> = tx
                .prepare_cached("UPDATE alert_batches SET status = 'sent', sent_at_ms = ?1, attempts = attempts + 1 WHERE batch_id = ?2 AND status = 'pending' RETURNING case_id")?
                .query_row(params![millis(now), batch_id], |r| r.get(0))
                .optional()?;
            match case_id {
                Some(case_id) => finish_if_done(tx, case_id, now),
                None => Ok(()),
            }
        })
        .await
    }

    async fn batch_retry(&self, batch_id: i64, retry_at: OffsetDateTime, error: String) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE alert_batches SET attempts = attempts + 1, next_attempt_at_ms = ?1, last_error = ?2 WHERE batch_id = ?3 AND status = 'pending'",
                params![millis(retry_at), error, batch_id],
            )?;
            Ok(())
        })
        .await
    }

    async fn batch_failed(&self, batch_id: i64, now: OffsetDateTime, error: String) -> Result<(), StoreError> {
        self.write(move |tx| {
            let case_id: Option<i64> = tx
                .prepare_cached("UPDATE alert_batches SET status = 'failed', attempts = attempts + 1, last_error = ?1 WHERE batch_id = ?2 AND status = 'pending' RETURNING case_id")?
                .query_row(params![error, batch_id], |r| r.get(0))
                .optional()?;
            if let Some(case_id) = case_id {
                let event = AuditEvent::new(Actor::System, "case.batch_failed").about(format!("case:{case_id}")).with(serde_json::json!({ "batch": batch_id, "error": error }));
                append_audit(tx, now, &event)?;
                finish_if_done(tx, case_id, now)?;
            }
            Ok(())
        })
        .await
    }

    async fn pause_case(&self, case_id: i64, reason: String, now: OffsetDateTime, audit: AuditEvent) -> Result<(), StoreError> {
        self.write(move |tx| {
            if tx.execute("UPDATE cases SET status = 'paused', pause_reason = ?1 WHERE case_id = ?2 AND status = 'sending'", params![reason, case_id])? > 0 {
                append_audit(tx, now, &audit)?;
            }
            Ok(())
        })
        .await
    }

    async fn resume_case(&self, case_id: i64, now: OffsetDateTime, audit: AuditEvent) -> Result<bool, StoreError> {
        self.write(move |tx| {
            let changed = tx.execute("UPDATE cases SET status = 'sending', pause_reason = NULL WHERE case_id = ?1 AND status = 'paused'", [case_id])?;
            if changed > 0 {
                tx.execute("UPDATE alert_batches SET next_attempt_at_ms = ?1 WHERE case_id = ?2 AND status = 'pending'", params![millis(now), case_id])?;
                append_audit(tx, now, &audit)?;
            }
            Ok(changed > 0)
        })
        .await
    }

    async fn publish_notice(&self, notice: NewNotice, now: OffsetDateTime, audit: AuditEvent) -> Result<Option<i64>, StoreError> {
        self.write(move |tx| {
            let place: Option<i64> = tx.prepare_cached("SELECT 1 FROM venues WHERE location_id = ?1")?.query_row([notice.location_id.as_str()], |r| r.get(0)).optional()?;
            if place.is_none() {
                return Ok(None);
            }
            tx.execute(
                "INSERT INTO cluster_notices (location_id, period_from_ms, period_to_ms, message, published_by, published_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![notice.location_id.as_str(), millis(notice.from), millis(notice.to), notice.message, notice.published_by, millis(now)],
            )?;
            let id = tx.last_insert_rowid();
            append_audit(tx, now, &AuditEvent { subject: Some(format!("notice:{id}")), ..audit })?;
            Ok(Some(id))
        })
        .await
    }

    async fn withdraw_notice(&self, notice_id: i64, now: OffsetDateTime, audit: AuditEvent) -> Result<bool, StoreError> {
        self.write(move |tx| {
            let changed = tx.execute("UPDATE cluster_notices SET withdrawn_at_ms = ?1 WHERE notice_id = ?2 AND withdrawn_at_ms IS NULL", params![millis(now), notice_id])?;
            if changed > 0 {
                append_audit(tx, now, &audit)?;
            }
            Ok(changed > 0)
        })
        .await
    }

    async fn notices(&self, include_withdrawn: bool) -> Result<Vec<NoticeRecord>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT n.notice_id, v.name, v.address, n.period_from_ms, n.period_to_ms, n.message, n.published_at_ms, n.withdrawn_at_ms
                 FROM cluster_notices n JOIN venues v ON v.location_id = n.location_id
                 WHERE ?1 OR n.withdrawn_at_ms IS NULL ORDER BY n.published_at_ms DESC, n.notice_id DESC",
            )?;
            let rows = stmt
                .query_map([include_withdrawn], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?, r.get::<_, i64>(4)?, r.get::<_, String>(5)?, r.get::<_, i64>(6)?, r.get::<_, Option<i64>>(7)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(id, venue_name, address, from, to, message, published, withdrawn)| {
                    Ok(NoticeRecord { id, venue_name, address, from: from_millis(from)?, to: from_millis(to)?, message, published_at: from_millis(published)?, withdrawn_at: withdrawn.map(from_millis).transpose()? })
                })
                .collect()
        })
        .await
    }
}
