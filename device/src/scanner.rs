//! What the texts of one camera frame mean for the kiosk (issue 7): a pass to accept, one to
//! refuse and why, or nothing new — a pure function of the texts, the time, the pass key and
//! the revocation list, plus a little memory of what was seen lately.
//!
//! **One pass held up is one scan.** The camera reads a pass in many frames while it is held
//! in front of it. The same pass seen again within [`Scanner::debounce_ms`] of its last
//! sighting is the same scan ([`Verdict::Ignore`]); each sighting extends the window, so a
//! pass held for ten seconds is one scan, and the same pass taken away and shown again after
//! the window is a second one. Refusals are debounced the same way (an expired pass held up
//! beeps once), and so are QR codes that are no pass: the first gives one
//! [`RefusalReason::Unreadable`], then every code that is no pass is ignored until none has
//! been seen for the window — a poster's QR code behind a visitor does not beep every frame.
//!
//! **Passes first.** A frame with a pass in it never refuses the other codes beside it (they
//! count as seen, so they do not beep after the pass is taken away either). Two
//! passes in one frame (a family) are two scans: the first is answered now, the second in the
//! next frame (the first is then a repeat).
//!
//! **No check without its inputs.** Without a trusted clock (no expiry check) or without the
//! server's key (no signature check) a pass is neither accepted nor refused:
//! [`Verdict::Unavailable`], once per holding. Such a sighting does not count as a scan, so a
//! pass still held when the clock becomes trusted is then accepted.
//!
//! Times are the monotonic clock's (milliseconds), so a jump of the system clock does not
//! change what counts as "again".

use std::collections::HashMap;

use oshirase_common::pass::{self, Pass, PassError};

use crate::passes::{PassKey, RevocationList};
use crate::screen::RefusalReason;

/// What a frame's texts mean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A new scan of a valid pass: commit it, then confirm it.
    Accept(Pass),
    /// A new sighting of a pass (or a code) that is refused, and why.
    Refuse(RefusalReason),
    /// A pass was held up but cannot be checked now.
    Unavailable(Unavailable),
    /// Nothing new: no code, or only codes already answered within the debounce window.
    Ignore,
}

/// Why a pass cannot be checked now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// The kiosk does not trust its clock yet, so it cannot check expiry (the screen already
    /// says it is checking the time).
    ClockUntrusted,
    /// The kiosk has no pass key (paired with a server that had no passes, and no heartbeat
    /// has brought one yet).
    NoPassKey,
}

impl Unavailable {
    /// The name logged and reported: `clock_untrusted` or `no_pass_key`.
    pub fn name(self) -> &'static str {
        match self {
            Unavailable::ClockUntrusted => "clock_untrusted",
            Unavailable::NoPassKey => "no_pass_key",
        }
    }
}

/// What the checks need, as of the frame.
#[derive(Debug, Clone, Copy)]
pub struct Conditions<'a> {
    /// Trusted Unix milliseconds, or `None` while the clock is untrusted.
    pub trusted_now_ms: Option<i64>,
    /// The server's pass key, if known.
    pub key: Option<PassKey>,
    /// The revocation list of the last heartbeat.
    pub revoked: &'a RevocationList,
}

/// Remembers recent sightings to tell a new scan from the same pass still held up.
#[derive(Debug, Clone)]
pub struct Scanner {
    debounce_ms: u64,
    /// By the text's upper-case form.
    sightings: HashMap<String, Sighting>,
    /// When a code that is no pass was last seen, once one was refused as unreadable.
    unreadable_seen_at_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
struct Sighting {
    seen_at_ms: u64,
    /// Answered (accepted or refused): repeats are the same scan. An unavailable sighting is
    /// not settled: the pass is checked again once it can be.
    settled: bool,
}

impl Scanner {
    /// A scanner for which sightings less than `debounce_ms` apart are the same scan.
    pub fn new(debounce_ms: u64) -> Scanner {
        Scanner { debounce_ms, sightings: HashMap::new(), unreadable_seen_at_ms: None }
    }

    /// The debounce window in milliseconds.
    pub fn debounce_ms(&self) -> u64 {
        self.debounce_ms
    }

    /// The verdict on the codes read in a frame seen at `seen_at_ms` (monotonic; frames come
    /// in time order).
    pub fn look(&mut self, texts: &[String], seen_at_ms: u64, conditions: &Conditions<'_>) -> Verdict {
        self.forget_before(seen_at_ms);
        let (passes, others): (Vec<&String>, Vec<&String>) = texts.iter().partition(|text| looks_like_a_pass(text));
        if passes.is_empty() {
            return self.look_at_others(&others, seen_at_ms, conditions);
        }
        if !others.is_empty() {
            // Seen, silently: a code beside a pass is not the visitor's doing.
            self.unreadable_seen_at_ms = Some(seen_at_ms);
        }
        for text in passes {
            let key = text.trim().to_ascii_uppercase();
            let previous = self.sightings.get(&key).copied();
            if previous.is_some_and(|s| s.settled) {
                self.sightings.insert(key, Sighting { seen_at_ms, settled: true });
                continue;
            }
            let verdict = check(text, conditions);
            let settled = !matches!(verdict, Verdict::Unavailable(_));
            self.sightings.insert(key, Sighting { seen_at_ms, settled });
            if settled || previous.is_none() {
                return verdict;
            }
        }
        Verdict::Ignore
    }

    /// Codes that are no pass: one unreadable refusal per window.
    fn look_at_others(&mut self, others: &[&String], seen_at_ms: u64, conditions: &Conditions<'_>) -> Verdict {
        if others.is_empty() {
            return Verdict::Ignore;
        }
        let already = self.unreadable_seen_at_ms.is_some();
        self.unreadable_seen_at_ms = Some(seen_at_ms);
        match (already, conditions.trusted_now_ms) {
            (true, _) => Verdict::Ignore,
            (false, None) => Verdict::Unavailable(Unavailable::ClockUntrusted),
            (false, Some(_)) => Verdict::Refuse(RefusalReason::Unreadable),
        }
    }

    /// Drops sightings older than the window before `now_ms`.
    fn forget_before(&mut self, now_ms: u64) {
        let window = self.debounce_ms;
        self.sightings.retain(|_, s| now_ms.saturating_sub(s.seen_at_ms) <= window);
        if self.unreadable_seen_at_ms.is_some_and(|at| now_ms.saturating_sub(at) > window) {
            self.unreadable_seen_at_ms = None;
        }
    }
}

/// The screen's reason for a refused pass.
pub fn reason(error: PassError) -> RefusalReason {
    match error {
        PassError::Malformed => RefusalReason::Unreadable,
        PassError::Forged => RefusalReason::Forged,
        PassError::Expired => RefusalReason::Expired,
        PassError::Revoked => RefusalReason::Revoked,
    }
}

/// Whether a text claims to be a pass (the prefix; a damaged one is refused as unreadable).
fn looks_like_a_pass(text: &str) -> bool {
    text.trim().get(..pass::PREFIX.len()).is_some_and(|prefix| prefix.eq_ignore_ascii_case(pass::PREFIX))
}

/// Every check on one pass text.
fn check(text: &str, conditions: &Conditions<'_>) -> Verdict {
    let Some(now_ms) = conditions.trusted_now_ms else {
        return Verdict::Unavailable(Unavailable::ClockUntrusted);
    };
    let Some(key) = conditions.key else {
        return Verdict::Unavailable(Unavailable::NoPassKey);
    };
    let now_seconds = u64::try_from(now_ms.div_euclid(1000)).unwrap_or(0);
    match key.check(text, now_seconds, conditions.revoked) {
        Ok(pass) => Verdict::Accept(pass),
        Err(e) => Verdict::Refuse(reason(e)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

    use oshirase_common::pass::PassId;

    use super::*;

    /// docs/protocol.md's public key of the seed 01 01 … 01.
    const KEY: &str = "iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=";
    /// 2027-01-15, well before the passes below expire.
    const NOW_MS: i64 = 1_800_000_000_000 - 100 * 86_400_000;
    const WINDOW: u64 = 3000;

    /// A pass signed with the key of seed `seed` (1 is the kiosk's key).
    fn pass_text(seed: u8, id: u8, expires_at: u32) -> String {
        let key = From::from(&[seed; 32]);
        pass::issue(&key, &Pass { id: PassId::from_random([id; 10]), expires_at })
    }

    fn valid(id: u8) -> String {
        pass_text(1, id, 1_800_000_000)
    }

    fn frame(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|t| (*t).to_owned()).collect()
    }

    struct World {
        scanner: Scanner,
        revoked: RevocationList,
        now_ms: Option<i64>,
        key: Option<PassKey>,
    }

    impl World {
        fn new() -> World {
            World { scanner: Scanner::new(WINDOW), revoked: RevocationList::default(), now_ms: Some(NOW_MS), key: PassKey::from_base64(KEY) }
        }

        fn look(&mut self, texts: &[String], at_ms: u64) -> Verdict {
            let conditions = Conditions { trusted_now_ms: self.now_ms, key: self.key, revoked: &self.revoked };
            self.scanner.look(texts, at_ms, &conditions)
        }

        /// Shows `texts` every 100 ms from `from_ms` for `for_ms`; the verdicts that were not
        /// `Ignore`.
        fn hold(&mut self, texts: &[String], from_ms: u64, for_ms: u64) -> Vec<Verdict> {
            (from_ms..=from_ms + for_ms).step_by(100).map(|at| self.look(texts, at)).filter(|v| *v != Verdict::Ignore).collect()
        }
    }

    fn accepted(id: u8) -> Verdict {
        Verdict::Accept(Pass { id: PassId::from_random([id; 10]), expires_at: 1_800_000_000 })
    }

    #[test]
    fn a_pass_held_up_for_ten_seconds_is_one_scan() {
        let mut world = World::new();
        assert_eq!(world.hold(&[valid(1)], 0, 10_000), vec![accepted(1)]);
    }

    #[test]
    fn a_pass_taken_away_and_shown_again_after_the_window_is_a_second_scan() {
        let mut world = World::new();
        assert_eq!(world.hold(&[valid(1)], 0, 1000), vec![accepted(1)]);
        assert_eq!(world.look(&[], 2000), Verdict::Ignore, "nothing in front of the camera");
        assert_eq!(world.hold(&[valid(1)], 1000 + WINDOW + 1, 500), vec![accepted(1)]);
    }

    #[test]
    fn a_pass_shown_again_within_the_window_is_the_same_scan() {
        let mut world = World::new();
        assert_eq!(world.hold(&[valid(1)], 0, 500), vec![accepted(1)]);
        assert_eq!(world.hold(&[valid(1)], 500 + WINDOW, 500), vec![], "exactly the window after the last sighting is still the same scan");
        assert_eq!(world.look(&[valid(1).to_lowercase()], 1500 + WINDOW), Verdict::Ignore, "case does not make another pass");
    }

    #[test]
    fn two_passes_held_up_together_are_two_scans() {
        let mut world = World::new();
        assert_eq!(world.hold(&[valid(1), valid(2)], 0, 5000), vec![accepted(1), accepted(2)]);
    }

    #[test]
    fn a_forged_pass_is_refused_once_while_held() {
        let mut world = World::new();
        assert_eq!(world.hold(&[pass_text(2, 1, 1_800_000_000)], 0, 5000), vec![Verdict::Refuse(RefusalReason::Forged)]);
        let mut altered: Vec<char> = valid(3).chars().collect();
        altered[40] = if altered[40] == 'A' { 'B' } else { 'A' };
        let altered: String = altered.into_iter().collect();
        assert_eq!(world.look(&[altered], 6000), Verdict::Refuse(RefusalReason::Forged), "one changed symbol");
    }

    #[test]
    fn an_expired_pass_is_refused() {
        let mut world = World::new();
        let expires_at = u32::try_from(NOW_MS / 1000).unwrap();
        assert_eq!(world.look(&[pass_text(1, 1, expires_at)], 0), Verdict::Refuse(RefusalReason::Expired), "a pass is refused from its expiry second on");
        assert_eq!(world.look(&[pass_text(1, 2, expires_at + 1)], 0), accepted_with(2, expires_at + 1));
    }

    fn accepted_with(id: u8, expires_at: u32) -> Verdict {
        Verdict::Accept(Pass { id: PassId::from_random([id; 10]), expires_at })
    }

    #[test]
    fn a_revoked_pass_is_refused() {
        let mut world = World::new();
        world.revoked = RevocationList::new(Some(7), [PassId::from_random([1; 10])]);
        assert_eq!(world.hold(&[valid(1)], 0, 2000), vec![Verdict::Refuse(RefusalReason::Revoked)]);
        assert_eq!(world.look(&[valid(2)], 2100), accepted(2), "only that pass");
    }

    #[test]
    fn a_code_that_is_no_pass_is_refused_as_unreadable_once_per_window() {
        let mut world = World::new();
        let poster = frame(&["HTTPS://EXAMPLE.JP/EVENT"]);
        assert_eq!(world.hold(&poster, 0, 10_000), vec![Verdict::Refuse(RefusalReason::Unreadable)]);
        assert_eq!(world.look(&frame(&["ANOTHER CODE"]), 10_100), Verdict::Ignore, "any code that is no pass, within the window");
        assert_eq!(world.look(&poster, 10_100 + WINDOW + 1), Verdict::Refuse(RefusalReason::Unreadable), "after the window, again");
        let damaged = format!("{}XYZ", pass::PREFIX);
        let mut world = World::new();
        assert_eq!(world.look(&[damaged], 0), Verdict::Refuse(RefusalReason::Unreadable), "a damaged pass");
    }

    #[test]
    fn a_code_beside_a_pass_is_not_refused() {
        let mut world = World::new();
        let poster = "HTTPS://EXAMPLE.JP/EVENT";
        assert_eq!(world.hold(&frame(&[poster, &valid(1)]), 0, 3000), vec![accepted(1)]);
        assert_eq!(world.hold(&frame(&[poster]), 3100, 5000), vec![], "the poster stays after the pass is taken away: it was seen");
        assert_eq!(world.look(&frame(&[poster]), 8100 + WINDOW + 1), Verdict::Refuse(RefusalReason::Unreadable), "seen alone after the window");
    }

    #[test]
    fn without_a_trusted_clock_nothing_is_scanned_until_the_clock_is_trusted() {
        let mut world = World::new();
        world.now_ms = None;
        assert_eq!(world.hold(&[valid(1)], 0, 5000), vec![Verdict::Unavailable(Unavailable::ClockUntrusted)]);
        assert_eq!(world.hold(&frame(&["HTTPS://EXAMPLE.JP/"]), 10_000, 1000), vec![Verdict::Unavailable(Unavailable::ClockUntrusted)]);
        world.now_ms = Some(NOW_MS);
        assert_eq!(world.hold(&[valid(1)], 5100, 1000), vec![accepted(1)], "the pass still held is accepted once the clock is trusted");
    }

    #[test]
    fn without_the_key_a_pass_cannot_be_checked() {
        let mut world = World::new();
        world.key = None;
        assert_eq!(world.hold(&[valid(1)], 0, 5000), vec![Verdict::Unavailable(Unavailable::NoPassKey)]);
        assert_eq!(world.look(&frame(&["HTTPS://EXAMPLE.JP/"]), 5100), Verdict::Refuse(RefusalReason::Unreadable), "a code that is no pass needs no key");
        world.key = PassKey::from_base64(KEY);
        assert_eq!(world.look(&[valid(1)], 5200), accepted(1));
    }

    #[test]
    fn a_frame_without_codes_changes_nothing() {
        let mut world = World::new();
        assert_eq!(world.look(&[], 0), Verdict::Ignore);
        assert_eq!(world.scanner.debounce_ms(), WINDOW);
    }
}
