//! The kiosk's offline scan buffer (issue 7): every accepted pass scan is committed here, with
//! a per-kiosk sequence number, before the kiosk confirms it — so a confirmed scan survives a
//! power cut, a `kill -9` or days without the server. Sync (the heartbeat's state machine)
//! sends the rows after the server's last acknowledgement and prunes what the server has
//! acknowledged.
//!
//! **Architecture invariant:** nothing confirmed is ever lost or dropped. A full buffer (its
//! configured capacity, or a full disk) refuses *new* scans with [`BufferError::Full`]; it never
//! makes room by deleting unsent ones. Sequence numbers are never reused, even after pruning
//! (`AUTOINCREMENT` keeps the high-water mark), so the server's idempotency by
//! (kiosk, sequence) holds across restarts.

use std::path::Path;

use oshirase_common::pass::PassId;
use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use thiserror::Error;

/// A scan waiting to be synced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferedScan {
    /// Its sequence number on this kiosk (from 1, never reused).
    pub seq: u64,
    /// The pass's id (the kiosk checked the pass; the server knows which resident it is for).
    pub pass_id: PassId,
    /// When it was scanned, by the kiosk's system clock (Unix ms).
    pub scanned_at_ms: i64,
    /// Server time minus the kiosk's clock when it was scanned.
    pub clock_offset_ms: i64,
}

/// Why a scan could not be kept.
#[derive(Debug, Error)]
pub enum BufferError {
    /// The buffer holds its capacity of unsent scans, or the disk is full: the scan is refused
    /// (and the visitor told to use LINE); nothing kept is dropped.
    #[error("the scan buffer is full")]
    Full,
    /// The database failed.
    #[error("scan buffer: {0}")]
    Storage(#[from] rusqlite::Error),
}

/// The buffer: one SQLite file, `synchronous=FULL`.
#[derive(Debug)]
pub struct ScanBuffer {
    conn: Connection,
    capacity: u64,
    /// Rows in `scans`, counted once at open and kept up to date (the kiosk is the file's only
    /// writer): counting before every insert would slow each scan as the backlog grows.
    pending: u64,
}

impl ScanBuffer {
    /// Opens (creating) the buffer at `path`, holding at most `capacity` unsent scans.
    pub fn open(path: &Path, capacity: u64) -> Result<ScanBuffer, BufferError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a scan the kiosk confirmed is on the disk before the beep, not only in the
        // operating system's cache.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS scans (
                 seq             INTEGER PRIMARY KEY AUTOINCREMENT,
                 pass_id         TEXT NOT NULL,
                 scanned_at_ms   INTEGER NOT NULL,
                 clock_offset_ms INTEGER NOT NULL
             ) STRICT;",
        )?;
        let pending: i64 = conn.query_row("SELECT count(*) FROM scans", [], |r| r.get(0))?;
        Ok(ScanBuffer { conn, capacity, pending: u64::try_from(pending).unwrap_or(0) })
    }

    /// Keeps a scan; returns its sequence number once it is committed.
    pub fn record(&mut self, pass_id: &PassId, scanned_at_ms: i64, clock_offset_ms: i64) -> Result<u64, BufferError> {
        if self.pending >= self.capacity {
            return Err(BufferError::Full);
        }
        let inserted = self.conn.execute(
            "INSERT INTO scans (pass_id, scanned_at_ms, clock_offset_ms) VALUES (?1, ?2, ?3)",
            params![pass_id.as_str(), scanned_at_ms, clock_offset_ms],
        );
        match inserted {
            Ok(_) => {
                self.pending += 1;
                Ok(u64::try_from(self.conn.last_insert_rowid()).unwrap_or(0))
            }
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::DiskFull => Err(BufferError::Full),
            Err(e) => Err(e.into()),
        }
    }

    /// Unsent scans.
    pub fn pending(&self) -> Result<u64, BufferError> {
        Ok(self.pending)
    }

    /// Up to `limit` scans after `after_seq`, oldest first.
    pub fn after(&self, after_seq: u64, limit: u32) -> Result<Vec<BufferedScan>, BufferError> {
        let mut stmt = self.conn.prepare_cached("SELECT seq, pass_id, scanned_at_ms, clock_offset_ms FROM scans WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let rows = stmt.query_map(params![i64::try_from(after_seq).unwrap_or(i64::MAX), limit], |r| {
            let text: String = r.get(1)?;
            let pass_id = PassId::parse(&text).map_err(|e| rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e)))?;
            Ok(BufferedScan { seq: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0), pass_id, scanned_at_ms: r.get(2)?, clock_offset_ms: r.get(3)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The server acknowledged every scan up to `seq`: they are deleted. Returns how many.
    pub fn acknowledge_through(&mut self, seq: u64) -> Result<usize, BufferError> {
        let deleted = self.conn.execute("DELETE FROM scans WHERE seq <= ?1", [i64::try_from(seq).unwrap_or(i64::MAX)])?;
        self.pending = self.pending.saturating_sub(deleted as u64);
        Ok(deleted)
    }

    /// The highest sequence number ever given (0 before the first scan).
    pub fn last_seq(&self) -> Result<u64, BufferError> {
        let last: Option<i64> = self.conn.query_row("SELECT seq FROM sqlite_sequence WHERE name = 'scans'", [], |r| r.get(0)).optional()?;
        Ok(last.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
    }

    /// For tests: limits the file to `pages` pages, as a full disk would.
    #[doc(hidden)]
    pub fn limit_pages_for_tests(&self, pages: u32) -> Result<(), BufferError> {
        self.conn.pragma_update(None, "max_page_count", pages)?;
        Ok(())
    }
}
