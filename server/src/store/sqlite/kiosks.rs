//! Kiosks and their pairing codes in SQLite.

use oshirase_common::kiosk_token::{KioskId, KioskSecret};
use oshirase_common::{LocationId, VenueName};
use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;

use super::{from_millis, millis};
use crate::secrets::TokenHash;
use crate::store::{Heartbeat, KioskError, KioskRecord, NewKiosk, Pairing, StoreError};

/// A `kiosks` row before parsing: id, location, secret, paired, revoked, place active, and the
/// last heartbeat's columns.
type KioskRow = (String, String, Vec<u8>, i64, Option<i64>, bool, String, HeartbeatRow);
/// Last seen, version, uptime, clock offset, screen, last error, when it was reported, pending scans.
type HeartbeatRow = (Option<i64>, Option<String>, Option<i64>, Option<i64>, Option<String>, Option<String>, Option<i64>, Option<i64>);
/// A pairing code's row: location, expires, used, venue name, venue withdrawn.
type PairingRow = (String, i64, Option<i64>, String, Option<i64>);

const KIOSK_COLUMNS: &str =
    "k.kiosk_id, k.location_id, k.secret, k.paired_at_ms, k.revoked_at_ms, v.withdrawn_at_ms IS NULL, v.name, \
     k.last_seen_at_ms, k.version, k.uptime_seconds, k.clock_offset_ms, k.screen, k.last_error, k.last_error_at_ms, k.pending_scans \
     FROM kiosks k JOIN venues v ON v.location_id = k.location_id";

pub(super) fn create_pairing_code(tx: &Connection, registration_id: i64, location: &LocationId, code_hash: TokenHash, now: OffsetDateTime, expires: OffsetDateTime) -> Result<bool, StoreError> {
    let eligible: Option<i64> = tx
        .query_row(
            "SELECT 1 FROM venues WHERE location_id = ?1 AND registration_id = ?2 AND withdrawn_at_ms IS NULL",
            params![location.as_str(), registration_id],
            |r| r.get(0),
        )
        .optional()?;
    if eligible.is_none() {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO kiosk_pairing_codes (code_hash, location_id, created_at_ms, expires_at_ms) VALUES (?1, ?2, ?3, ?4)",
        params![code_hash.0.as_slice(), location.as_str(), millis(now), millis(expires)],
    )?;
    Ok(true)
}

pub(super) fn pair(tx: &Connection, code_hash: TokenHash, kiosk: &NewKiosk, now: OffsetDateTime) -> Result<Pairing, StoreError> {
    let found: Option<PairingRow> = tx
        .query_row(
            "SELECT p.location_id, p.expires_at_ms, p.used_at_ms, v.name, v.withdrawn_at_ms FROM kiosk_pairing_codes p JOIN venues v ON v.location_id = p.location_id WHERE p.code_hash = ?1",
            [code_hash.0.as_slice()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((location, expires, used, name, withdrawn)) = found else {
        return Ok(Pairing::Unknown);
    };
    if withdrawn.is_some() {
        return Ok(Pairing::Unknown);
    }
    if used.is_some() {
        return Ok(Pairing::Used);
    }
    if expires < millis(now) {
        return Ok(Pairing::Expired);
    }
    tx.execute("UPDATE kiosk_pairing_codes SET used_at_ms = ?1 WHERE code_hash = ?2", params![millis(now), code_hash.0.as_slice()])?;
    tx.execute(
        "INSERT INTO kiosks (kiosk_id, location_id, secret, sync_token_hash, paired_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![kiosk.kiosk_id.as_str(), location, kiosk.secret.expose().as_slice(), kiosk.sync_token_hash.0.as_slice(), millis(now)],
    )
    .map_err(|e| if super::unique_violation(&e) { StoreError::Conflict("kiosk id".into()) } else { e.into() })?;
    Ok(Pairing::Paired {
        location_id: LocationId::parse(&location).map_err(|_| StoreError::Corrupt(format!("location id {location}")))?,
        venue: VenueName::parse(&name).map_err(|_| StoreError::Corrupt(format!("venue name {name:?}")))?,
    })
}

fn read_kiosk(r: &Row<'_>) -> rusqlite::Result<KioskRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, (r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?, r.get(12)?, r.get(13)?, r.get(14)?)))
}

fn parse_kiosk((id, location, secret, paired, revoked, active, name, heartbeat): KioskRow) -> Result<KioskRecord, StoreError> {
    let last_heartbeat = match heartbeat {
        (Some(at), version, uptime, offset, screen, last_error, last_error_at, pending) => Some(Heartbeat {
            at: from_millis(at)?,
            version: version.unwrap_or_default(),
            uptime_seconds: uptime.and_then(|u| u64::try_from(u).ok()).unwrap_or(0),
            clock_offset_ms: offset,
            pending_scans: pending.and_then(|p| u64::try_from(p).ok()),
            screen: screen.unwrap_or_default(),
            last_error: match (last_error, last_error_at) {
                (Some(message), Some(at)) => Some(KioskError { message, reported_at: from_millis(at)? }),
                _ => None,
            },
        }),
        _ => None,
    };
    let corrupt = |what: &str| StoreError::Corrupt(format!("kiosk {id}: bad {what}"));
    let secret: [u8; 32] = secret.try_into().map_err(|_| corrupt("secret"))?;
    Ok(KioskRecord {
        kiosk_id: KioskId::parse(&id).map_err(|_| corrupt("id"))?,
        location_id: LocationId::parse(&location).map_err(|_| corrupt("location"))?,
        secret: KioskSecret::new(secret),
        paired_at: from_millis(paired)?,
        revoked_at: revoked.map(from_millis).transpose()?,
        place_active: active,
        venue_name: VenueName::parse(&name).map_err(|_| corrupt("venue name"))?,
        last_heartbeat,
    })
}

pub(super) fn kiosk(conn: &Connection, kiosk_id: &KioskId) -> Result<Option<KioskRecord>, StoreError> {
    let found = conn.prepare_cached(&format!("SELECT {KIOSK_COLUMNS} WHERE k.kiosk_id = ?1"))?.query_row([kiosk_id.as_str()], read_kiosk).optional()?;
    found.map(parse_kiosk).transpose()
}

pub(super) fn kiosks_of(conn: &Connection, registration_id: i64) -> Result<Vec<KioskRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {KIOSK_COLUMNS} WHERE v.registration_id = ?1 ORDER BY k.paired_at_ms"))?;
    let rows = stmt.query_map([registration_id], read_kiosk)?.collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(parse_kiosk).collect()
}

pub(super) fn all(conn: &Connection) -> Result<Vec<KioskRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {KIOSK_COLUMNS} ORDER BY k.revoked_at_ms IS NOT NULL, coalesce(k.last_seen_at_ms, 0), k.kiosk_id"))?;
    let rows = stmt.query_map([], read_kiosk)?.collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(parse_kiosk).collect()
}

pub(super) fn revoke(tx: &Connection, registration_id: i64, kiosk_id: &KioskId, now: OffsetDateTime) -> Result<bool, StoreError> {
    let changed = tx.execute(
        "UPDATE kiosks SET revoked_at_ms = coalesce(revoked_at_ms, ?1)
         WHERE kiosk_id = ?2 AND location_id IN (SELECT location_id FROM venues WHERE registration_id = ?3)",
        params![millis(now), kiosk_id.as_str(), registration_id],
    )?;
    Ok(changed > 0)
}

pub(super) fn kiosk_by_sync_token(conn: &Connection, hash: TokenHash) -> Result<Option<KioskRecord>, StoreError> {
    let found = conn.prepare_cached(&format!("SELECT {KIOSK_COLUMNS} WHERE k.sync_token_hash = ?1"))?.query_row([hash.0.as_slice()], read_kiosk).optional()?;
    found.map(parse_kiosk).transpose()
}

pub(super) fn record_heartbeat(tx: &Connection, kiosk_id: &KioskId, h: &Heartbeat) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE kiosks SET last_seen_at_ms = ?1, version = ?2, uptime_seconds = ?3, clock_offset_ms = ?4, screen = ?5, pending_scans = ?8,
            last_error = coalesce(?6, last_error), last_error_at_ms = CASE WHEN ?6 IS NULL THEN last_error_at_ms ELSE ?1 END
         WHERE kiosk_id = ?7",
    )?
    .execute(params![
        millis(h.at),
        h.version,
        i64::try_from(h.uptime_seconds).unwrap_or(i64::MAX),
        h.clock_offset_ms,
        h.screen,
        h.last_error.as_ref().map(|e| e.message.as_str()),
        kiosk_id.as_str(),
        h.pending_scans.map(|p| i64::try_from(p).unwrap_or(i64::MAX))
    ])?;
    Ok(())
}
