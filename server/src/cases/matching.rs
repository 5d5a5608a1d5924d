//! Who overlapped (issue 6). A resident who scanned at `scan` is assumed to have stayed
//! `dwell` (set per business type); the positive person's stay `[start, end)` is widened by a
//! `tail` after they left. The two overlap when
//!
//! ```text
//! scan < end + tail   and   scan + dwell > start
//! ```
//!
//! so, for one exposure, the matching scans are those in the open interval
//! `(start − dwell, end + tail)` at that place: one range over the
//! `visits (location_id, scanned_at_ms, resident_id)` index.

use time::{Duration, OffsetDateTime};

use super::StayPeriod;

/// The rules of one case: its tail, and a dwell time for every place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Widening after the positive person left.
    pub tail: Duration,
    /// The assumed stay at this exposure's place.
    pub dwell: Duration,
}

/// The scan times that match: strictly after `from`, strictly before `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanWindow {
    /// Exclusive lower bound.
    pub from: OffsetDateTime,
    /// Exclusive upper bound.
    pub until: OffsetDateTime,
}

/// The scans at the exposure's place that overlap the positive person's stay.
pub fn scan_window(stay: StayPeriod, rules: Rules) -> ScanWindow {
    ScanWindow { from: stay.starts_at() - rules.dwell, until: stay.ends_at() + rules.tail }
}

impl ScanWindow {
    /// Whether a scan at `scan` matches.
    pub fn contains(self, scan: OffsetDateTime) -> bool {
        self.from < scan && scan < self.until
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;
    use crate::cases::parse_jst;

    fn at(t: &str) -> OffsetDateTime {
        parse_jst("2026-11-20", t).unwrap()
    }

    #[test]
    fn a_stay_overlapping_the_widened_period_matches_and_touching_is_not_overlapping() {
        let now = parse_jst("2026-11-25", "00:00").unwrap();
        let stay = StayPeriod::new(at("18:00"), at("19:00"), now).unwrap();
        let window = scan_window(stay, Rules { tail: Duration::minutes(30), dwell: Duration::minutes(90) });
        assert!(window.contains(at("16:31")), "arrived before and still there at 18:00");
        assert!(!window.contains(at("16:30")), "left exactly when the positive person came");
        assert!(window.contains(at("18:30")));
        assert!(window.contains(at("19:29")), "came within the 30-minute tail");
        assert!(!window.contains(at("19:30")), "came when the tail ended");
        assert!(!window.contains(at("12:00")));
    }

    #[test]
    fn a_longer_dwell_reaches_further_back() {
        let now = parse_jst("2026-11-25", "00:00").unwrap();
        let stay = StayPeriod::new(at("18:00"), at("19:00"), now).unwrap();
        let cinema = scan_window(stay, Rules { tail: Duration::minutes(30), dwell: Duration::minutes(180) });
        let shop = scan_window(stay, Rules { tail: Duration::minutes(30), dwell: Duration::minutes(30) });
        assert!(cinema.contains(at("15:30")) && !shop.contains(at("15:30")));
    }
}
