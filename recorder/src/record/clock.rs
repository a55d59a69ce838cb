//! The recorder's clock: one wall-clock anchor taken at start, then a
//! monotonic clock, so trace times are epoch nanoseconds that never jump
//! back when the wall clock is stepped (SPEC §2 "Times").

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Epoch-nanosecond timestamps derived from a monotonic clock anchored once.
#[derive(Debug, Clone, Copy)]
pub struct TraceClock {
    anchor_ns: u64,
    anchor: Instant,
}

impl TraceClock {
    /// Anchors the clock at the current wall-clock time.
    pub fn start() -> TraceClock {
        let anchor = Instant::now();
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        TraceClock::anchored(u64::try_from(wall.as_nanos()).unwrap_or(u64::MAX), anchor)
    }

    /// A clock whose `anchor` instant is `anchor_ns` nanoseconds since the epoch.
    pub fn anchored(anchor_ns: u64, anchor: Instant) -> TraceClock {
        TraceClock { anchor_ns, anchor }
    }

    /// The start time, nanoseconds since the epoch.
    pub fn start_ns(&self) -> u64 {
        self.anchor_ns
    }

    /// The monotonic instant of the anchor.
    pub fn start_instant(&self) -> Instant {
        self.anchor
    }

    /// Nanoseconds since the epoch of `at` (an instant at or after the anchor).
    pub fn ns_at(&self, at: Instant) -> u64 {
        let since = at.saturating_duration_since(self.anchor).as_nanos();
        self.anchor_ns
            .saturating_add(u64::try_from(since).unwrap_or(u64::MAX))
    }

    /// Nanoseconds since the epoch, now.
    pub fn now_ns(&self) -> u64 {
        self.ns_at(Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_follow_the_monotonic_clock_from_the_anchor() {
        let t0 = Instant::now();
        let c = TraceClock::anchored(1_000, t0);
        assert_eq!(c.ns_at(t0), 1_000);
        assert_eq!(c.ns_at(t0 + Duration::from_millis(3)), 3_001_000);
        // An instant before the anchor saturates to the anchor.
        let c2 = TraceClock::anchored(5, t0 + Duration::from_secs(1));
        assert_eq!(c2.ns_at(t0), 5);
        assert!(TraceClock::start().now_ns() > 1_700_000_000_000_000_000);
    }
}
