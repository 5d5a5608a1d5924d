//! The kiosk's scanning station (issue 7): from the codes read in a camera frame to a scan
//! committed in the buffer and the answer the visitor sees and hears — and, the other way,
//! from the buffer to the batches scan sync sends and back.
//!
//! [`Station::frame`] asks the [`Scanner`] what the frame means under the kiosk's current
//! conditions (trusted time, pass key, revocation list, from the [`Kiosk`] state machine) and
//! turns the verdict into an [`Answer`]: the screen to show for a few seconds, the feedback
//! to play, the line the kiosk prints, and the event for the state machine. The run loop only
//! carries it out.
//!
//! **Architecture invariant:** an accepted pass is committed to the buffer
//! ([`ScanBuffer::record`], `synchronous=FULL`) inside [`Station::frame`], before the answer
//! exists; an answer that confirms a scan always carries its sequence number. A scan that
//! could not be committed is answered as not recorded, never as accepted.

use std::path::Path;

use oshirase_common::pass::Pass;

use crate::buffer::{BufferError, BufferedScan, ScanBuffer};
use crate::feedback::Outcome;
use crate::pairing::{MAX_SCANS_PER_BATCH, ScansReply};
use crate::preview::hh_mm_jst;
use crate::protocol::{Event, Kiosk, View};
use crate::scanner::{Conditions, Scanner, Unavailable, Verdict};
use crate::screen::{RefusalReason, Screen};

/// The buffer's file inside the data folder.
pub const BUFFER_FILE: &str = "scans.sqlite";

/// What became of a pass held up to the camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanOutcome {
    /// Committed to the buffer with this sequence number.
    Accepted {
        /// Its sequence number.
        seq: u64,
    },
    /// Refused, and why.
    Refused(RefusalReason),
    /// Valid, but the buffer could not keep it.
    NotRecorded(NotRecorded),
    /// Not checked: the kiosk lacks what checking needs.
    NotChecked(Unavailable),
}

/// Why a valid pass's scan was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotRecorded {
    /// The buffer holds its capacity of unsent scans, or the disk is full.
    StorageFull,
    /// The buffer failed otherwise (the cause is logged).
    StorageError,
}

impl ScanOutcome {
    /// `accepted`, `refused`, `not_recorded` or `not_checked` (the preview's `/state`).
    pub fn name(self) -> &'static str {
        match self {
            ScanOutcome::Accepted { .. } => "accepted",
            ScanOutcome::Refused(_) => "refused",
            ScanOutcome::NotRecorded(_) => "not_recorded",
            ScanOutcome::NotChecked(_) => "not_checked",
        }
    }

    /// Why, for every outcome but `accepted`: `forged`, `expired`, `revoked`, `unreadable`,
    /// `storage_full`, `storage_error`, `clock_untrusted` or `no_pass_key`.
    pub fn reason(self) -> Option<&'static str> {
        match self {
            ScanOutcome::Accepted { .. } => None,
            ScanOutcome::Refused(reason) => Some(refusal_name(reason)),
            ScanOutcome::NotRecorded(NotRecorded::StorageFull) => Some("storage_full"),
            ScanOutcome::NotRecorded(NotRecorded::StorageError) => Some("storage_error"),
            ScanOutcome::NotChecked(why) => Some(why.name()),
        }
    }
}

/// The name of a refusal reason in logs and `/state`.
pub fn refusal_name(reason: RefusalReason) -> &'static str {
    match reason {
        RefusalReason::Forged => "forged",
        RefusalReason::Expired => "expired",
        RefusalReason::Revoked => "revoked",
        RefusalReason::Unreadable => "unreadable",
    }
}

/// What the run loop does after a frame with a new verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// What became of the pass.
    pub outcome: ScanOutcome,
    /// The screen to show for a few seconds, if any.
    pub screen: Option<Screen>,
    /// The light and sound to play.
    pub feedback: Outcome,
    /// The line to print on stdout (scripts and tests read it): `scan accepted seq=N
    /// pass=…XXXX`, `scan refused reason=forged|expired|revoked|unreadable`, `scan not
    /// recorded reason=storage_full|storage_error`, `scan not checked
    /// reason=clock_untrusted|no_pass_key`.
    pub line: String,
    /// For the state machine: [`Event::ScanCommitted`] after an accepted scan.
    pub event: Option<Event>,
}

/// The scanner and the buffer, with counts for the preview.
#[derive(Debug)]
pub struct Station {
    scanner: Scanner,
    buffer: ScanBuffer,
    accepted_scans: u64,
    last_scan: Option<ScanOutcome>,
}

impl Station {
    /// Opens (creating) the buffer `scans.sqlite` in `data_dir` for at most `capacity`
    /// unsent scans; sightings of a pass less than `debounce_ms` apart are one scan.
    pub fn open(data_dir: &Path, capacity: u64, debounce_ms: u64) -> Result<Station, BufferError> {
        Ok(Station::new(ScanBuffer::open(&data_dir.join(BUFFER_FILE), capacity)?, debounce_ms))
    }

    /// A station over an open buffer.
    pub fn new(buffer: ScanBuffer, debounce_ms: u64) -> Station {
        Station { scanner: Scanner::new(debounce_ms), buffer, accepted_scans: 0, last_scan: None }
    }

    /// The event that tells the state machine, at start, what the buffer still holds.
    pub fn restored(&self) -> Result<Event, BufferError> {
        let last_seq = self.buffer.last_seq()?;
        let oldest = self.buffer.after(0, 1)?.first().map(|scan| scan.seq);
        Ok(Event::ScansRestored { acknowledged_through: oldest.map_or(last_seq, |seq| seq.saturating_sub(1)), last_seq })
    }

    /// The answer to the codes read in a frame seen at `seen_at_ms` (monotonic), or `None`
    /// when there is nothing new to say. `kiosk` gives the conditions; feed it a fresh
    /// [`Event::Tick`] first. A disabled or unpaired kiosk takes no scans.
    pub fn frame(&mut self, texts: &[String], seen_at_ms: u64, kiosk: &Kiosk) -> Option<Answer> {
        let trusted_now_ms = match kiosk.view() {
            View::Unpaired | View::Disabled => return None,
            View::ClockUntrusted => None,
            View::ShowCode { .. } | View::Offline { .. } => kiosk.trusted_now_ms(),
        };
        let conditions = Conditions { trusted_now_ms, key: kiosk.pass_key(), revoked: kiosk.revocations() };
        let answer = match self.scanner.look(texts, seen_at_ms, &conditions) {
            Verdict::Ignore => return None,
            Verdict::Accept(pass) => self.commit(&pass, trusted_now_ms.unwrap_or(0), kiosk.clock_offset_ms().unwrap_or(0)),
            Verdict::Refuse(reason) => Answer {
                outcome: ScanOutcome::Refused(reason),
                screen: Some(Screen::ScanRefused { reason }),
                feedback: Outcome::Refused,
                line: format!("scan refused reason={}", refusal_name(reason)),
                event: None,
            },
            Verdict::Unavailable(why) => Answer {
                outcome: ScanOutcome::NotChecked(why),
                // The clock screen already says why; without a key there is nothing a visitor
                // can do: the light and sound say "not now".
                screen: None,
                feedback: Outcome::Error,
                line: format!("scan not checked reason={}", why.name()),
                event: None,
            },
        };
        self.last_scan = Some(answer.outcome);
        Some(answer)
    }

    /// Commits an accepted pass: `scanned_at` on the kiosk's own clock (trusted time minus
    /// the offset), with the offset, so the server gets `trusted_now_ms` back.
    fn commit(&mut self, pass: &Pass, trusted_now_ms: i64, clock_offset_ms: i64) -> Answer {
        let scanned_at_ms = trusted_now_ms.saturating_sub(clock_offset_ms);
        let not_recorded = |why: NotRecorded, name: &str| Answer {
            outcome: ScanOutcome::NotRecorded(why),
            // The visitor's way in is LINE either way; the log has the cause.
            screen: Some(Screen::StorageFull),
            feedback: match why {
                NotRecorded::StorageFull => Outcome::StorageFull,
                NotRecorded::StorageError => Outcome::Error,
            },
            line: format!("scan not recorded reason={name}"),
            event: None,
        };
        match self.buffer.record(&pass.id, scanned_at_ms, clock_offset_ms) {
            Ok(seq) => {
                self.accepted_scans += 1;
                Answer {
                    outcome: ScanOutcome::Accepted { seq },
                    screen: Some(Screen::ScanAccepted { label: None, time: hh_mm_jst(trusted_now_ms) }),
                    feedback: Outcome::Accepted,
                    line: format!("scan accepted seq={seq} pass=…{}", pass.id.short()),
                    event: Some(Event::ScanCommitted { seq }),
                }
            }
            Err(BufferError::Full) => {
                tracing::warn!("the scan buffer is full: a valid pass was refused");
                not_recorded(NotRecorded::StorageFull, "storage_full")
            }
            Err(error) => {
                tracing::error!(%error, "a valid pass could not be recorded");
                not_recorded(NotRecorded::StorageError, "storage_error")
            }
        }
    }

    /// The next batch to send: up to 1,000 scans after `after`, oldest first.
    pub fn batch(&self, after: u64) -> Result<Vec<BufferedScan>, BufferError> {
        self.buffer.after(after, u32::try_from(MAX_SCANS_PER_BATCH).unwrap_or(u32::MAX))
    }

    /// The highest sequence number given so far.
    pub fn last_seq(&self) -> Result<u64, BufferError> {
        self.buffer.last_seq()
    }

    /// Takes in the server's answer to the batch `first..=last` (sent at `at_ms`, monotonic):
    /// prunes what it acknowledged and returns the event for the state machine — a failure
    /// when it acknowledged nothing of the batch (sent again after the backoff, not at once).
    pub fn synced(&mut self, first: u64, last: u64, reply: ScansReply, at_ms: u64) -> Event {
        let through = reply.acknowledged_through;
        if through < first {
            return Event::ScansFailed { at_monotonic_ms: at_ms, error: format!("the server acknowledged none of scans {first}–{last} (it has up to {through})") };
        }
        if through > last {
            tracing::error!(through, last, "the server has scans of this kiosk beyond the newest it was sent; was the kiosk's scans.sqlite replaced? newer scans up to that number count as duplicates");
        }
        if let Err(error) = self.buffer.acknowledge_through(through) {
            // The server has them: at worst they are sent again after a restart, as duplicates.
            tracing::error!(%error, through, "acknowledged scans could not be pruned");
        }
        Event::ScansAcknowledged { at_monotonic_ms: at_ms, through }
    }

    /// Scans accepted since the start.
    pub fn accepted_scans(&self) -> u64 {
        self.accepted_scans
    }

    /// What became of the last pass held up, if any.
    pub fn last_scan(&self) -> Option<ScanOutcome> {
        self.last_scan
    }

    /// Scans in the buffer.
    pub fn pending(&self) -> Result<u64, BufferError> {
        self.buffer.pending()
    }
}
