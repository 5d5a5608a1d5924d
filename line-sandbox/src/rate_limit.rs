//! Requests-per-second limits per endpoint, as LINE applies them (push 2,000/s, multicast
//! 200/s, reply 2,000/s by default). A sliding one-second window: a test that sends N+1
//! requests within a second sees the last one refused no matter where a second boundary falls.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A sliding-window counter for one endpoint.
#[derive(Debug, Default)]
pub struct RateLimiter {
    accepted: VecDeque<Instant>,
}

const WINDOW: Duration = Duration::from_secs(1);

impl RateLimiter {
    /// Counts a request at `now` if fewer than `per_second` were counted in the last second;
    /// refused requests are not counted.
    pub fn try_acquire(&mut self, now: Instant, per_second: u32) -> bool {
        while self.accepted.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            self.accepted.pop_front();
        }
        if self.accepted.len() >= usize::try_from(per_second).unwrap_or(usize::MAX) {
            return false;
        }
        self.accepted.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_over_the_limit_within_a_second_is_refused_and_later_ones_pass() {
        let start = Instant::now();
        let mut limiter = RateLimiter::default();
        assert!(limiter.try_acquire(start, 2));
        assert!(limiter.try_acquire(start + Duration::from_millis(500), 2));
        assert!(!limiter.try_acquire(start + Duration::from_millis(999), 2));
        assert!(limiter.try_acquire(start + Duration::from_millis(1000), 2));
        assert!(!limiter.try_acquire(start + Duration::from_millis(1001), 2));
        assert!(limiter.try_acquire(start + Duration::from_millis(1500), 2));
    }

    #[test]
    fn a_limit_of_zero_refuses_everything() {
        assert!(!RateLimiter::default().try_acquire(Instant::now(), 0));
    }
}
