//! Passes, their revocation list and kiosks' synced scans in SQLite.

use async_trait::async_trait;
use oshirase_common::LineUserId;
use oshirase_common::kiosk_token::KioskId;
use oshirase_common::pass::PassId;
use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;

use super::residents::once;
use super::{SqliteStore, from_millis, millis};
use crate::passes::PassLabel;
use crate::secrets::TokenHash;
use crate::store::passes::{NewPass, PassIssue, PassRecord, PassRevocation, PassStore, Revocations, ScanSync, ScanWindow, SyncedScan};
use crate::store::{EventKey, Processed, StoreError};

const PASS_COLUMNS: &str = "pass_id, label, issued_at_ms, expires_at_ms";

fn read_pass(r: &Row<'_>) -> rusqlite::Result<(String, Option<String>, i64, i64)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn parse_pass((id, label, issued, expires): (String, Option<String>, i64, i64)) -> Result<PassRecord, StoreError> {
    Ok(PassRecord {
        pass_id: PassId::parse(&id).map_err(|_| StoreError::Corrupt(format!("pass id {id:?}")))?,
        label: label.map(PassLabel::stored),
        issued_at: from_millis(issued)?,
        expires_at: from_millis(expires)?,
    })
}

/// The resident's live passes.
fn live_passes(conn: &Connection, user: &LineUserId, now: OffsetDateTime) -> Result<Vec<PassRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PASS_COLUMNS} FROM passes WHERE resident_id = (SELECT id FROM residents WHERE line_user_id = ?1)
           AND revoked_at_ms IS NULL AND expires_at_ms > ?2 ORDER BY issued_at_ms, pass_id"
    ))?;
    let rows = stmt.query_map(params![user.as_str(), millis(now)], read_pass)?.collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(parse_pass).collect()
}

fn issue(tx: &Connection, user: &LineUserId, terms_version: &str, pass: &NewPass, max: u32) -> Result<PassIssue, StoreError> {
    let resident: Option<(i64, Option<String>)> =
        tx.prepare_cached("SELECT id, consent_terms FROM residents WHERE line_user_id = ?1")?.query_row([user.as_str()], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
    let Some((resident, Some(terms))) = resident else {
        return Ok(PassIssue::NotConsented);
    };
    if terms != terms_version {
        return Ok(PassIssue::NotConsented);
    }
    if live_passes(tx, user, pass.issued_at)?.len() >= usize::try_from(max).unwrap_or(usize::MAX) {
        return Ok(PassIssue::TooMany(max));
    }
    tx.prepare_cached("INSERT INTO passes (pass_id, resident_id, label, link_hash, issued_at_ms, expires_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
        .execute(params![
            pass.pass_id.as_str(),
            resident,
            pass.label.as_ref().map(PassLabel::as_str),
            pass.link_hash.0.as_slice(),
            millis(pass.issued_at),
            millis(pass.expires_at)
        ])
        .map_err(|e| if super::unique_violation(&e) { StoreError::Conflict("pass id".into()) } else { e.into() })?;
    Ok(PassIssue::Issued)
}

/// Puts a pass on the revocation list (kept until the pass expires).
fn add_revocation(tx: &Connection, pass_id: &str, expires_at_ms: i64) -> Result<(), StoreError> {
    tx.prepare_cached("INSERT INTO pass_revocations (pass_id, expires_at_ms) VALUES (?1, ?2) ON CONFLICT (pass_id) DO NOTHING")?
        .execute(params![pass_id, expires_at_ms])?;
    Ok(())
}

fn revoke(tx: &Connection, user: &LineUserId, ending: &str, now: OffsetDateTime) -> Result<PassRevocation, StoreError> {
    let ending = ending.to_ascii_uppercase();
    let matching: Vec<PassRecord> = live_passes(tx, user, now)?.into_iter().filter(|p| !ending.is_empty() && p.pass_id.as_str().ends_with(&ending)).collect();
    let [pass] = matching.as_slice() else {
        return Ok(if matching.is_empty() { PassRevocation::NotFound } else { PassRevocation::Ambiguous });
    };
    tx.prepare_cached("UPDATE passes SET revoked_at_ms = ?1 WHERE pass_id = ?2")?.execute(params![millis(now), pass.pass_id.as_str()])?;
    add_revocation(tx, pass.pass_id.as_str(), millis(pass.expires_at))?;
    Ok(PassRevocation::Revoked(pass.clone()))
}

/// Before a resident's row is deleted: their passes go on the revocation list (a kiosk then
/// refuses them) and are deleted with their labels.
pub(super) fn forget_passes(tx: &Connection, user: &LineUserId, now: OffsetDateTime) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO pass_revocations (pass_id, expires_at_ms)
         SELECT pass_id, expires_at_ms FROM passes
          WHERE resident_id = (SELECT id FROM residents WHERE line_user_id = ?1) AND revoked_at_ms IS NULL AND expires_at_ms > ?2
         ON CONFLICT (pass_id) DO NOTHING",
    )?
    .execute(params![user.as_str(), millis(now)])?;
    tx.prepare_cached("DELETE FROM passes WHERE resident_id = (SELECT id FROM residents WHERE line_user_id = ?1)")?.execute([user.as_str()])?;
    Ok(())
}

/// Deletes passes expired before `visits_before` (a scan of them could no longer be synced
/// into a visit that is kept) and revocations of expired passes. Returns the rows deleted.
pub(super) fn purge(tx: &Connection, visits_before: OffsetDateTime, now: OffsetDateTime) -> Result<usize, StoreError> {
    Ok(tx.execute("DELETE FROM passes WHERE expires_at_ms < ?1", [millis(visits_before)])? + tx.execute("DELETE FROM pass_revocations WHERE expires_at_ms < ?1", [millis(now)])?)
}

fn version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'pass_revocations'")?.query_row([], |r| r.get(0)).optional()?.unwrap_or(0))
}

fn sync(tx: &Connection, kiosk: &KioskId, scans: &[SyncedScan], window: ScanWindow) -> Result<ScanSync, StoreError> {
    let (through, kiosk_revoked, location, withdrawn): (i64, Option<i64>, String, Option<i64>) = tx
        .prepare_cached(
            "SELECT k.scans_synced_through, k.revoked_at_ms, k.location_id, v.withdrawn_at_ms FROM kiosks k JOIN venues v ON v.location_id = k.location_id WHERE k.kiosk_id = ?1",
        )?
        .query_row([kiosk.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?
        .ok_or_else(|| StoreError::Corrupt(format!("kiosk {} vanished", kiosk.as_str())))?;
    let mut outcome = ScanSync { acknowledged_through: u64::try_from(through).unwrap_or(0), ..ScanSync::default() };
    let closed_at = match (kiosk_revoked, withdrawn) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let mut find = tx.prepare_cached("SELECT resident_id, expires_at_ms, revoked_at_ms FROM passes WHERE pass_id = ?1")?;
    let mut insert = tx.prepare_cached("INSERT INTO visits (resident_id, location_id, scanned_at_ms, recorded_at_ms, pass_id) VALUES (?1, ?2, ?3, ?4, ?5)")?;
    let now = millis(window.now);
    for scan in scans {
        if scan.seq <= outcome.acknowledged_through {
            outcome.duplicates += 1;
            continue;
        }
        outcome.acknowledged_through = scan.seq;
        let at = millis(scan.scanned_at);
        let in_window = scan.scanned_at >= window.not_before && scan.scanned_at <= window.not_after && closed_at.is_none_or(|closed| at < closed);
        let pass: Option<(i64, i64, Option<i64>)> = if in_window { find.query_row([scan.pass_id.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional()? } else { None };
        match pass {
            Some((resident, expires, revoked)) if at < expires && revoked.is_none_or(|r| at < r) => {
                insert.execute(params![resident, location, at, now, scan.pass_id.as_str()])?;
                outcome.recorded += 1;
            }
            _ => outcome.refused += 1,
        }
    }
    tx.prepare_cached("UPDATE kiosks SET scans_synced_through = ?1 WHERE kiosk_id = ?2")?
        .execute(params![i64::try_from(outcome.acknowledged_through).unwrap_or(i64::MAX), kiosk.as_str()])?;
    Ok(outcome)
}

#[async_trait]
impl PassStore for SqliteStore {
    async fn issue_pass(&self, event: EventKey, user: LineUserId, terms_version: String, pass: NewPass, max: u32) -> Result<Processed<PassIssue>, StoreError> {
        self.write(move |tx| once(tx, &event, |tx| issue(tx, &user, &terms_version, &pass, max))).await
    }

    async fn passes_of(&self, user: LineUserId, now: OffsetDateTime) -> Result<Vec<PassRecord>, StoreError> {
        self.read(move |conn| live_passes(conn, &user, now)).await
    }

    async fn revoke_pass(&self, event: EventKey, user: LineUserId, ending: String) -> Result<Processed<PassRevocation>, StoreError> {
        self.write(move |tx| once(tx, &event, |tx| revoke(tx, &user, &ending, event.received_at))).await
    }

    async fn pass_by_link(&self, link_hash: TokenHash, now: OffsetDateTime) -> Result<Option<PassRecord>, StoreError> {
        self.read(move |conn| {
            let found = conn
                .prepare_cached(&format!("SELECT {PASS_COLUMNS} FROM passes WHERE link_hash = ?1 AND revoked_at_ms IS NULL AND expires_at_ms > ?2"))?
                .query_row(params![link_hash.0.as_slice(), millis(now)], read_pass)
                .optional()?;
            found.map(parse_pass).transpose()
        })
        .await
    }

    async fn revocations_version(&self) -> Result<i64, StoreError> {
        self.read(version).await
    }

    async fn revocations(&self, now: OffsetDateTime) -> Result<Revocations, StoreError> {
        self.read(move |conn| {
            let tx = conn.unchecked_transaction()?;
            let version = version(&tx)?;
            let mut stmt = tx.prepare_cached("SELECT pass_id FROM pass_revocations WHERE expires_at_ms > ?1 ORDER BY seq")?;
            let ids = stmt.query_map([millis(now)], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
            let pass_ids = ids.iter().map(|id| PassId::parse(id).map_err(|_| StoreError::Corrupt(format!("revoked pass id {id:?}")))).collect::<Result<_, _>>()?;
            Ok(Revocations { version, pass_ids })
        })
        .await
    }

    async fn sync_scans(&self, kiosk: KioskId, scans: Vec<SyncedScan>, window: ScanWindow) -> Result<ScanSync, StoreError> {
        self.write(move |tx| sync(tx, &kiosk, &scans, window)).await
    }
}
