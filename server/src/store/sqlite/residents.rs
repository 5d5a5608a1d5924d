//! Residents, scans and visits in SQLite. Each event's work runs through [`once`]: it
//! records the event id and applies the event's effect in the same transaction (the
//! writer's savepoint), so a redelivered or duplicated event changes nothing.

use oshirase_common::{LineUserId, VenueName};
use rusqlite::{Connection, OptionalExtension, Params, Row, params};
use time::OffsetDateTime;

use super::{from_millis, millis};
use crate::store::{CheckInOutcome, CheckInRequest, EventKey, FollowState, HistoryCodeIssue, HistoryOf, Place, Processed, PurgeBefore, Purged, RecordedVisit, StoreError};

const HOUR_MS: i64 = 3_600_000;

/// Runs a statement, compiled once and kept in the connection's statement cache.
fn exec(conn: &Connection, sql: &str, params: impl Params) -> Result<usize, StoreError> {
    Ok(conn.prepare_cached(sql)?.execute(params)?)
}

/// Reads one row with a cached statement.
fn row<T>(conn: &Connection, sql: &str, params: impl Params, read: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, read)
}

/// Runs `effect` once per event id: records the id and applies the effect, both in the
/// caller's transaction.
pub(super) fn once<T>(tx: &Connection, event: &EventKey, effect: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<Processed<T>, StoreError> {
    let inserted = exec(
        tx,
        "INSERT INTO webhook_events (webhook_event_id, received_at_ms) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![event.id, millis(event.received_at)],
    )?;
    if inserted == 0 {
        return Ok(Processed::Duplicate);
    }
    Ok(Processed::New(effect(tx)?))
}

/// The resident's row id and the terms they consented to, creating the row if needed.
fn resident(tx: &Connection, user: &LineUserId, now: OffsetDateTime) -> Result<(i64, Option<String>), StoreError> {
    exec(
        tx,
        "INSERT INTO residents (line_user_id, created_at_ms) VALUES (?1, ?2) ON CONFLICT (line_user_id) DO NOTHING",
        params![user.as_str(), millis(now)],
    )?;
    Ok(row(tx, "SELECT id, consent_terms FROM residents WHERE line_user_id = ?1", [user.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

fn venue_name(stored: &str) -> Result<VenueName, StoreError> {
    VenueName::parse(stored).map_err(|_| StoreError::Corrupt(format!("venue name {stored:?}")))
}

pub(super) fn follow(tx: &Connection, user: &LineUserId, terms_version: &str, now: OffsetDateTime) -> Result<FollowState, StoreError> {
    let (id, terms) = resident(tx, user, now)?;
    exec(tx, "UPDATE residents SET blocked_at_ms = NULL WHERE id = ?1", [id])?;
    Ok(FollowState { consented: terms.as_deref() == Some(terms_version) })
}

pub(super) fn unfollow(tx: &Connection, user: &LineUserId, now: OffsetDateTime) -> Result<(), StoreError> {
    exec(tx, "UPDATE residents SET blocked_at_ms = ?1 WHERE line_user_id = ?2", params![millis(now), user.as_str()])?;
    Ok(())
}

pub(super) fn check_in(tx: &Connection, request: &CheckInRequest, now: OffsetDateTime) -> Result<CheckInOutcome, StoreError> {
    let (sql, key) = match &request.place {
        Place::Code(code) => ("SELECT location_id, name, withdrawn_at_ms FROM venues WHERE code = ?1", code.as_str()),
        Place::Location(location) => ("SELECT location_id, name, withdrawn_at_ms FROM venues WHERE location_id = ?1", location.as_str()),
    };
    let venue: Option<(String, String, Option<i64>)> = row(tx, sql, [key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional()?;
    let Some((location, name, withdrawn)) = venue else {
        return Ok(CheckInOutcome::UnknownCode);
    };
    if withdrawn.is_some() {
        return Ok(CheckInOutcome::Withdrawn);
    }
    let venue = venue_name(&name)?;
    let (resident, terms) = resident(tx, &request.user, now)?;
    let scanned = millis(request.scanned_at);
    let window = i64::try_from(request.repeat_window.whole_milliseconds()).unwrap_or(i64::MAX);
    let consented = terms.as_deref() == Some(request.terms_version.as_str());
    // Visits count once consented; before that, waiting scans count.
    let table = if consented { "visits" } else { "pending_scans" };
    let earlier: Option<i64> = row(
            tx,
            &format!("SELECT scanned_at_ms FROM {table} WHERE resident_id = ?1 AND location_id = ?2 AND scanned_at_ms BETWEEN ?3 AND ?4 ORDER BY scanned_at_ms LIMIT 1"),
            params![resident, location, scanned.saturating_sub(window), scanned.saturating_add(window)],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(earlier) = earlier {
        let visit = RecordedVisit { venue, scanned_at: from_millis(earlier)? };
        return Ok(if consented { CheckInOutcome::Repeat(visit) } else { CheckInOutcome::AwaitingConsent { venue: visit.venue } });
    }
    let last_hour: i64 = row(
        tx,
        &format!("SELECT count(*) FROM {table} WHERE resident_id = ?1 AND scanned_at_ms > ?2"),
        params![resident, scanned - HOUR_MS],
        |r| r.get(0),
    )?;
    if last_hour >= i64::from(request.max_per_hour) {
        return Ok(CheckInOutcome::RateLimited);
    }
    if consented {
        exec(
        tx,
            "INSERT INTO visits (resident_id, location_id, scanned_at_ms, recorded_at_ms) VALUES (?1, ?2, ?3, ?4)",
            params![resident, location, scanned, millis(now)],
        )?;
        Ok(CheckInOutcome::Recorded(RecordedVisit { venue, scanned_at: request.scanned_at }))
    } else {
        exec(
        tx,
            "INSERT INTO pending_scans (resident_id, location_id, scanned_at_ms, expires_at_ms) VALUES (?1, ?2, ?3, ?4)",
            params![resident, location, scanned, millis(request.pending_until)],
        )?;
        Ok(CheckInOutcome::AwaitingConsent { venue })
    }
}

pub(super) fn consent(tx: &Connection, user: &LineUserId, terms_version: &str, now: OffsetDateTime) -> Result<Vec<RecordedVisit>, StoreError> {
    let (resident, _) = resident(tx, user, now)?;
    exec(
        tx,
        "UPDATE residents SET consent_terms = ?1, consented_at_ms = ?2 WHERE id = ?3",
        params![terms_version, millis(now), resident],
    )?;
    let waiting: Vec<(String, i64, String)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT p.location_id, p.scanned_at_ms, v.name FROM pending_scans p JOIN venues v ON v.location_id = p.location_id
             WHERE p.resident_id = ?1 AND p.expires_at_ms >= ?2 AND v.withdrawn_at_ms IS NULL ORDER BY p.scanned_at_ms",
        )?;
        stmt.query_map(params![resident, millis(now)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?
    };
    let mut recorded = Vec::with_capacity(waiting.len());
    for (location, scanned, name) in waiting {
        exec(
        tx,
            "INSERT INTO visits (resident_id, location_id, scanned_at_ms, recorded_at_ms) VALUES (?1, ?2, ?3, ?4)",
            params![resident, location, scanned, millis(now)],
        )?;
        recorded.push(RecordedVisit { venue: venue_name(&name)?, scanned_at: from_millis(scanned)? });
    }
    exec(tx, "DELETE FROM pending_scans WHERE resident_id = ?1", [resident])?;
    Ok(recorded)
}

pub(super) fn decline_consent(tx: &Connection, user: &LineUserId) -> Result<usize, StoreError> {
    exec(tx, "DELETE FROM pending_scans WHERE resident_id = (SELECT id FROM residents WHERE line_user_id = ?1)", [user.as_str()])
}

pub(super) fn delete_resident(tx: &Connection, user: &LineUserId, now: OffsetDateTime) -> Result<bool, StoreError> {
    // Visits, waiting scans and history codes go with the row (ON DELETE CASCADE); the outbox
    // forgets them too, except in batches already tried (their body must stay the same under
    // their retry key, or a batch LINE took before a crash could be delivered twice).
    super::cases::forget_recipient(tx, user, now)?;
    super::passes::forget_passes(tx, user, now)?;
    Ok(exec(tx, "DELETE FROM residents WHERE line_user_id = ?1", [user.as_str()])? > 0)
}

pub(super) fn create_history_code(tx: &Connection, user: &LineUserId, code_hash: crate::secrets::TokenHash, now: OffsetDateTime, expires: OffsetDateTime, of: &HistoryOf) -> Result<HistoryCodeIssue, StoreError> {
    let resident: Option<i64> = row(tx, "SELECT id FROM residents WHERE line_user_id = ?1", [user.as_str()], |r| r.get(0)).optional()?;
    let Some(resident) = resident else {
        return Ok(HistoryCodeIssue::NoVisits);
    };
    let pass_id = match of {
        HistoryOf::Resident => None,
        HistoryOf::Pass(ending) => {
            // Any of the resident's passes, revoked or expired too: its visits are still kept.
            let mut stmt = tx.prepare_cached("SELECT pass_id FROM passes WHERE resident_id = ?1")?;
            let ids = stmt.query_map([resident], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
            let matching: Vec<String> = ids.into_iter().filter(|id| !ending.is_empty() && id.ends_with(ending.as_str())).collect();
            match matching.as_slice() {
                [] => return Ok(HistoryCodeIssue::UnknownPass),
                [id] => Some(id.clone()),
                _ => return Ok(HistoryCodeIssue::AmbiguousPass),
            }
        }
    };
    let has_visits: bool = row(tx, "SELECT EXISTS (SELECT 1 FROM visits WHERE resident_id = ?1 AND pass_id IS ?2)", params![resident, pass_id], |r| r.get(0))?;
    if !has_visits {
        return Ok(HistoryCodeIssue::NoVisits);
    }
    exec(
        tx,
        "INSERT INTO history_codes (code_hash, resident_id, created_at_ms, expires_at_ms, pass_id) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![code_hash.0.as_slice(), resident, millis(now), millis(expires), pass_id],
    )?;
    Ok(HistoryCodeIssue::Issued)
}

pub(super) fn purge(tx: &Connection, before: PurgeBefore) -> Result<Purged, StoreError> {
    Ok(Purged {
        visits: exec(tx, "DELETE FROM visits WHERE scanned_at_ms < ?1", [millis(before.visits)])?,
        pending_scans: exec(tx, "DELETE FROM pending_scans WHERE expires_at_ms < ?1", [millis(before.pending_scans)])?,
        webhook_events: exec(tx, "DELETE FROM webhook_events WHERE received_at_ms < ?1", [millis(before.webhook_events)])?,
        history_codes: exec(tx, "DELETE FROM history_codes WHERE expires_at_ms < ?1", [millis(before.pending_scans)])?,
        case_details: exec(tx, "DELETE FROM case_exposures WHERE ends_at_ms < ?1", [millis(before.visits)])?
            + exec(tx, "DELETE FROM alert_batches WHERE created_at_ms < ?1", [millis(before.visits)])?
            + exec(tx, "UPDATE cases SET excluded_resident_id = NULL WHERE excluded_resident_id IS NOT NULL AND created_at_ms < ?1", [millis(before.visits)])?,
        staff_sessions: exec(tx, "DELETE FROM staff_sessions WHERE expires_at_ms < ?1", [millis(before.pending_scans)])?,
        passes: super::passes::purge(tx, before.visits, before.pending_scans)?,
    })
}
