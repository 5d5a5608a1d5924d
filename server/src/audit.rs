//! The staff audit log as a hash chain (issue 6): every staff action (logins, cases, previews,
//! approvals, sending, exports, accounts, templates, cluster notices) is one entry, and each
//! entry's hash covers the previous entry's hash. Editing an entry breaks its own hash;
//! removing one breaks the next entry's link; removing the newest ones is caught against the
//! head the database keeps beside the log (and against a head written down elsewhere, which
//! `oshirase-server audit verify` prints).
//!
//! This module is the pure part: what an entry is, how it is hashed, how a chain is checked.
//! Appending happens in the store, in the same transaction as the action it records.

use sha2::{Digest, Sha256};
use thiserror::Error;

/// The hash before the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A staff member signed in to the console (their login name).
    Staff(String),
    /// An API token (its public id).
    Token(String),
    /// The command line on the server (`oshirase-server admin …`).
    Cli,
    /// The server itself (the alert sender finishing or pausing a case).
    System,
    /// Someone who is not (yet) known: a failed login names the login they tried.
    Anonymous,
}

impl Actor {
    /// The stored form: `staff:yamada`, `token:T3K…`, `cli`, `anonymous`.
    pub fn as_stored(&self) -> String {
        match self {
            Actor::Staff(login) => format!("staff:{login}"),
            Actor::Token(id) => format!("token:{id}"),
            Actor::Cli => "cli".to_owned(),
            Actor::System => "system".to_owned(),
            Actor::Anonymous => "anonymous".to_owned(),
        }
    }
}

/// One thing a staff member did, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Who.
    pub actor: Actor,
    /// What, as a dotted name: `login.succeeded`, `account.created`, `case.approved`, …
    pub action: &'static str,
    /// What it was done to (`account:yamada`, `case:12`), if anything.
    pub subject: Option<String>,
    /// Details as a JSON object (never a resident's identity).
    pub details: serde_json::Value,
}

impl AuditEvent {
    /// An event without subject or details.
    pub fn new(actor: Actor, action: &'static str) -> AuditEvent {
        AuditEvent { actor, action, subject: None, details: serde_json::Value::Object(serde_json::Map::new()) }
    }

    /// The same event about `subject`.
    #[must_use]
    pub fn about(mut self, subject: impl Into<String>) -> AuditEvent {
        self.subject = Some(subject.into());
        self
    }

    /// The same event with `details`.
    #[must_use]
    pub fn with(mut self, details: serde_json::Value) -> AuditEvent {
        self.details = details;
        self
    }
}

/// A stored entry, as read back for checking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its position, from 1, without gaps.
    pub seq: i64,
    /// When, Unix milliseconds.
    pub at_ms: i64,
    /// `Actor::as_stored`.
    pub actor: String,
    /// The action's name.
    pub action: String,
    /// The subject, if any.
    pub subject: Option<String>,
    /// The details' JSON text, as stored.
    pub details: String,
    /// The previous entry's hash, as stored.
    pub prev_hash: [u8; 32],
    /// This entry's hash, as stored.
    pub hash: [u8; 32],
}

/// The hash of an entry: SHA-256 over the previous hash and every field, each field prefixed
/// with its length so that no two different entries hash the same bytes.
pub fn entry_hash(prev: &[u8; 32], seq: i64, at_ms: i64, actor: &str, action: &str, subject: Option<&str>, details: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"oshirase-audit-v1");
    h.update(prev);
    h.update(seq.to_be_bytes());
    h.update(at_ms.to_be_bytes());
    for field in [Some(actor), Some(action), subject, Some(details)] {
        match field {
            Some(text) => {
                h.update([1]);
                h.update((text.len() as u64).to_be_bytes());
                h.update(text.as_bytes());
            }
            None => h.update([0]),
        }
    }
    h.finalize().into()
}

/// What a good chain looks like from its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// How many entries.
    pub entries: i64,
    /// The newest entry's hash ([`GENESIS`] for an empty log).
    pub hash: [u8; 32],
}

impl ChainHead {
    /// The hash in hex, to write down.
    pub fn hash_hex(&self) -> String {
        self.hash.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Why a chain is not intact. Each names the first entry where it breaks.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChainBreak {
    /// An entry's content no longer matches its hash: it was edited.
    #[error("entry {seq} was altered: its content does not match its hash")]
    Altered {
        /// The entry.
        seq: i64,
    },
    /// An entry does not link to the one before it: entries were removed or reordered.
    #[error("entry {seq} does not follow entry {previous}: entries between them were removed or replaced")]
    Unlinked {
        /// The entry.
        seq: i64,
        /// The entry before it in the file.
        previous: i64,
    },
    /// The log ends before the head kept beside it: its newest entries were removed.
    #[error("the log has {found} entries but its head records {expected}: the newest entries were removed")]
    Truncated {
        /// Entries found.
        found: i64,
        /// Entries the head records.
        expected: i64,
    },
    /// The head kept beside the log does not match the log's newest entry.
    #[error("the head kept beside the log does not match its newest entry")]
    HeadMismatch,
}

/// Checks entries in `seq` order against each other and against the `head` kept beside them.
pub fn verify<I: IntoIterator<Item = AuditEntry>>(entries: I, head: Option<&ChainHead>) -> Result<ChainHead, ChainBreak> {
    let mut prev = GENESIS;
    let mut previous_seq = 0;
    for e in entries {
        if e.seq != previous_seq + 1 || e.prev_hash != prev {
            return Err(ChainBreak::Unlinked { seq: e.seq, previous: previous_seq });
        }
        if entry_hash(&e.prev_hash, e.seq, e.at_ms, &e.actor, &e.action, e.subject.as_deref(), &e.details) != e.hash {
            return Err(ChainBreak::Altered { seq: e.seq });
        }
        prev = e.hash;
        previous_seq = e.seq;
    }
    let found = ChainHead { entries: previous_seq, hash: prev };
    match head {
        Some(h) if h.entries > found.entries => Err(ChainBreak::Truncated { found: found.entries, expected: h.entries }),
        Some(h) if *h != found => Err(ChainBreak::HeadMismatch),
        _ => Ok(found),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS;
        (1..=n)
            .map(|seq| {
                let (actor, action, details) = ("staff:yamada".to_owned(), "case.created".to_owned(), format!("{{\"case\":{seq}}}"));
                let subject = (seq % 2 == 0).then(|| format!("case:{seq}"));
                let hash = entry_hash(&prev, seq, 1_764_000_000_000 + seq, &actor, &action, subject.as_deref(), &details);
                let entry = AuditEntry { seq, at_ms: 1_764_000_000_000 + seq, actor, action, subject, details, prev_hash: prev, hash };
                prev = hash;
                entry
            })
            .collect()
    }

    fn head_of(entries: &[AuditEntry]) -> ChainHead {
        ChainHead { entries: entries.len() as i64, hash: entries.last().map_or(GENESIS, |e| e.hash) }
    }

    #[test]
    fn an_intact_chain_verifies_to_its_head() {
        let entries = chain(5);
        let head = head_of(&entries);
        assert_eq!(verify(entries, Some(&head)), Ok(head));
        assert_eq!(verify(Vec::new(), None), Ok(ChainHead { entries: 0, hash: GENESIS }));
    }

    #[test]
    fn an_edited_field_is_found_at_its_entry() {
        for edit in 0..4 {
            let mut entries = chain(5);
            let head = head_of(&entries);
            match edit {
                0 => entries[2].actor = "staff:someone_else".into(),
                1 => entries[2].details = "{\"case\":99}".into(),
                2 => entries[2].subject = Some("case:99".into()),
                _ => entries[2].at_ms += 1,
            }
            assert_eq!(verify(entries, Some(&head)), Err(ChainBreak::Altered { seq: 3 }), "edit {edit}");
        }
    }

    #[test]
    fn a_removed_entry_breaks_the_link_even_if_the_rest_is_renumbered() {
        let mut entries = chain(5);
        entries.remove(1);
        assert_eq!(verify(entries.clone(), None), Err(ChainBreak::Unlinked { seq: 3, previous: 1 }));
        entries[1].seq = 2;
        assert_eq!(verify(entries, None), Err(ChainBreak::Unlinked { seq: 2, previous: 1 }));
    }

    #[test]
    fn removing_the_newest_entries_is_caught_against_the_head() {
        let mut entries = chain(5);
        let head = head_of(&entries);
        entries.truncate(3);
        assert_eq!(verify(entries.clone(), Some(&head)), Err(ChainBreak::Truncated { found: 3, expected: 5 }));
        let forged = ChainHead { entries: 3, hash: [7; 32] };
        assert_eq!(verify(entries, Some(&forged)), Err(ChainBreak::HeadMismatch));
    }

    #[test]
    fn fields_cannot_slide_into_each_other() {
        let a = entry_hash(&GENESIS, 1, 0, "staff:ab", "c", None, "{}");
        let b = entry_hash(&GENESIS, 1, 0, "staff:a", "bc", None, "{}");
        let c = entry_hash(&GENESIS, 1, 0, "staff:a", "bc", Some(""), "{}");
        assert_ne!(a, b);
        assert_ne!(b, c);
    }
}
