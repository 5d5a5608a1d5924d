//! Fault injection for the Messaging API, so the server's retry, backoff and outbox paths can
//! be tested: extra latency, a rate of 500 answers drawn from a seeded generator (the same
//! seed gives the same sequence of failures), and an outage window answering 503. The control
//! API and the page are never affected.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// What `PUT /sandbox/faults` sets (every field optional; the whole set is replaced).
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSettings {
    /// Added to every Messaging API call before it is handled, in ms.
    #[serde(default)]
    pub latency_ms: u64,
    /// Share of calls (0.0–1.0) answered 500 before anything is accepted.
    #[serde(default)]
    pub error_rate: f64,
    /// Seed of the generator that decides which calls fail.
    #[serde(default)]
    pub seed: u64,
    /// Every call answers 503 for this long, from now.
    pub outage_for_ms: Option<u64>,
    /// Every call answers 503 until the faults are cleared.
    #[serde(default)]
    pub outage_until_cleared: bool,
}

/// Why fault settings were refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FaultError {
    /// `error_rate` outside 0.0–1.0.
    #[error("error_rate must be between 0.0 and 1.0")]
    ErrorRate,
}

/// What happens to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Handle it normally.
    Pass,
    /// Answer 500.
    ServerError,
    /// Answer 503.
    Outage,
}

/// The active faults.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    settings: FaultSettings,
    outage_until: Option<Instant>,
    rng: SplitMix64,
}

/// The active faults as the control API reports them.
#[derive(Debug, Clone, Serialize)]
pub struct FaultsView {
    /// Added latency, in ms.
    pub latency_ms: u64,
    /// Share of calls answered 500.
    pub error_rate: f64,
    /// Seed of the failure sequence.
    pub seed: u64,
    /// Whether calls answer 503 now.
    pub outage: bool,
    /// How much longer the outage lasts, in ms (`null` if until cleared or none).
    pub outage_remaining_ms: Option<u64>,
}

impl Faults {
    /// Faults from settings; the failure sequence starts again from the seed.
    pub fn new(settings: FaultSettings, now: Instant) -> Result<Self, FaultError> {
        if !(0.0..=1.0).contains(&settings.error_rate) {
            return Err(FaultError::ErrorRate);
        }
        let outage_until = settings.outage_for_ms.map(|ms| now + Duration::from_millis(ms));
        Ok(Self { settings, outage_until, rng: SplitMix64(settings.seed) })
    }

    /// Latency to add to a call.
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.settings.latency_ms)
    }

    /// Decides one call's fate (draws from the generator only outside an outage).
    pub fn judge(&mut self, now: Instant) -> Verdict {
        if self.in_outage(now) {
            return Verdict::Outage;
        }
        if self.settings.error_rate > 0.0 && self.rng.next_unit() < self.settings.error_rate {
            return Verdict::ServerError;
        }
        Verdict::Pass
    }

    /// The faults as reported.
    pub fn view(&self, now: Instant) -> FaultsView {
        FaultsView {
            latency_ms: self.settings.latency_ms,
            error_rate: self.settings.error_rate,
            seed: self.settings.seed,
            outage: self.in_outage(now),
            outage_remaining_ms: self
                .outage_until
                .filter(|until| *until > now)
                .map(|until| u64::try_from(until.duration_since(now).as_millis()).unwrap_or(u64::MAX)),
        }
    }

    fn in_outage(&self, now: Instant) -> bool {
        self.settings.outage_until_cleared || self.outage_until.is_some_and(|until| now < until)
    }
}

/// A small, well-mixed, seedable generator (SplitMix64); good enough to pick failures.
#[derive(Debug, Clone, Default)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in [0, 1).
    fn next_unit(&mut self) -> f64 {
        // 53 random bits fill an f64 mantissa exactly; the conversion is lossless.
        #[allow(clippy::cast_precision_loss, reason = "53-bit values are exact in f64")]
        let mantissa = (self.next_u64() >> 11) as f64;
        mantissa / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
    use super::*;

    fn verdicts(settings: FaultSettings, n: usize) -> Vec<Verdict> {
        let now = Instant::now();
        let mut faults = Faults::new(settings, now).unwrap();
        (0..n).map(|_| faults.judge(now)).collect()
    }

    #[test]
    fn the_same_seed_fails_the_same_calls() {
        let settings = FaultSettings { error_rate: 0.5, seed: 42, ..FaultSettings::default() };
        let first = verdicts(settings, 200);
        assert_eq!(first, verdicts(settings, 200));
        let failures = first.iter().filter(|v| **v == Verdict::ServerError).count();
        assert!((70..=130).contains(&failures), "about half of 200 fail, got {failures}");
        assert_ne!(first, verdicts(FaultSettings { seed: 43, ..settings }, 200));
    }

    #[test]
    fn rates_of_zero_and_one_never_and_always_fail() {
        assert!(verdicts(FaultSettings::default(), 100).iter().all(|v| *v == Verdict::Pass));
        let always = FaultSettings { error_rate: 1.0, ..FaultSettings::default() };
        assert!(verdicts(always, 100).iter().all(|v| *v == Verdict::ServerError));
        let bad = FaultSettings { error_rate: 1.5, ..FaultSettings::default() };
        assert_eq!(Faults::new(bad, Instant::now()).err(), Some(FaultError::ErrorRate));
    }

    #[test]
    fn an_outage_ends_when_its_window_ends() {
        let start = Instant::now();
        let mut faults = Faults::new(FaultSettings { outage_for_ms: Some(1000), ..FaultSettings::default() }, start).unwrap();
        assert_eq!(faults.judge(start + Duration::from_millis(999)), Verdict::Outage);
        assert_eq!(faults.judge(start + Duration::from_millis(1000)), Verdict::Pass);
        let mut forever = Faults::new(FaultSettings { outage_until_cleared: true, ..FaultSettings::default() }, start).unwrap();
        assert_eq!(forever.judge(start + Duration::from_secs(86_400)), Verdict::Outage);
    }
}
