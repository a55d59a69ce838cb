//! Bounded peak histories for the history-based peers (`autopilot`, `krr`).

use std::collections::{BTreeMap, VecDeque};

use crate::name::CgroupName;

/// Most cgroups a [`PeakHistory`] tracks at once; past it, the ones seen
/// least recently are forgotten first.
pub const MAX_TRACKED_CGROUPS: usize = 1 << 16;

/// The maximum of a value per fixed-width time bucket, over the last
/// `buckets` buckets: at most `buckets` entries, whatever the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeakWindow {
    bucket_ns: u64,
    buckets: usize,
    /// (bucket index, peak in it), oldest first, bucket indices increasing.
    peaks: VecDeque<(u64, u64)>,
}

impl PeakWindow {
    /// An empty window of `buckets` buckets of `bucket_ns` each (both at least 1).
    pub fn new(bucket_ns: u64, buckets: usize) -> Self {
        PeakWindow {
            bucket_ns: bucket_ns.max(1),
            buckets: buckets.max(1),
            peaks: VecDeque::new(),
        }
    }

    /// Records `value` at `time_ns`. A time earlier than the newest bucket
    /// counts in the newest bucket (clocks may step back; state stays bounded).
    pub fn record(&mut self, time_ns: u64, value: u64) {
        let b = time_ns / self.bucket_ns;
        match self.peaks.back_mut() {
            Some((last, peak)) if *last >= b => *peak = (*peak).max(value),
            _ => self.peaks.push_back((b, value)),
        }
        self.expire(b);
    }

    /// The largest value recorded in the window ending at `now_ns` (the
    /// current bucket and the `buckets − 1` before it), `None` when empty.
    pub fn max(&self, now_ns: u64) -> Option<u64> {
        let first = self.first_bucket(now_ns / self.bucket_ns);
        self.peaks
            .iter()
            .filter(|(b, _)| *b >= first)
            .map(|(_, p)| *p)
            .max()
    }

    /// Number of buckets held (at most the window's length).
    pub fn len(&self) -> usize {
        self.peaks.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.peaks.is_empty()
    }

    fn first_bucket(&self, now_bucket: u64) -> u64 {
        now_bucket.saturating_sub(self.buckets as u64 - 1)
    }

    fn expire(&mut self, now_bucket: u64) {
        let first = self.first_bucket(now_bucket);
        while self.peaks.front().is_some_and(|(b, _)| *b < first) || self.peaks.len() > self.buckets
        {
            self.peaks.pop_front();
        }
    }
}

/// A [`PeakWindow`] per cgroup name, forgetting cgroups not seen for a
/// whole window and holding at most [`MAX_TRACKED_CGROUPS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeakHistory {
    bucket_ns: u64,
    buckets: usize,
    windows: BTreeMap<CgroupName, (PeakWindow, u64)>,
}

impl PeakHistory {
    /// An empty history whose windows have `buckets` buckets of `bucket_ns`.
    pub fn new(bucket_ns: u64, buckets: usize) -> Self {
        PeakHistory {
            bucket_ns: bucket_ns.max(1),
            buckets: buckets.max(1),
            windows: BTreeMap::new(),
        }
    }

    /// Records `value` for `name` at `time_ns`.
    pub fn record(&mut self, name: &CgroupName, time_ns: u64, value: u64) {
        if let Some((w, seen)) = self.windows.get_mut(name) {
            w.record(time_ns, value);
            *seen = (*seen).max(time_ns);
            return;
        }
        if self.windows.len() >= MAX_TRACKED_CGROUPS {
            self.forget_oldest();
        }
        let mut w = PeakWindow::new(self.bucket_ns, self.buckets);
        w.record(time_ns, value);
        self.windows.insert(name.clone(), (w, time_ns));
    }

    /// The peak of `name` over the window ending at `now_ns`.
    pub fn max(&self, name: &CgroupName, now_ns: u64) -> Option<u64> {
        self.windows.get(name).and_then(|(w, _)| w.max(now_ns))
    }

    /// Forgets cgroups whose last record is older than the window at `now_ns`.
    pub fn expire(&mut self, now_ns: u64) {
        let span = self.bucket_ns.saturating_mul(self.buckets as u64);
        self.windows
            .retain(|_, (_, seen)| now_ns.saturating_sub(*seen) < span);
    }

    /// Number of cgroups tracked.
    pub fn len(&self) -> usize {
        self.windows.len()
    }

    /// True when no cgroup is tracked.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    fn forget_oldest(&mut self) {
        let oldest = self
            .windows
            .iter()
            .min_by(|a, b| (a.1).1.cmp(&(b.1).1).then_with(|| a.0.cmp(b.0)))
            .map(|(name, _)| name.clone());
        if let Some(name) = oldest {
            self.windows.remove(&name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000_000_000;

    #[test]
    fn window_keeps_the_max_of_the_last_buckets_only() {
        let mut w = PeakWindow::new(5 * MIN, 3);
        w.record(0, 10);
        w.record(MIN, 30);
        w.record(5 * MIN, 20);
        assert_eq!(w.max(5 * MIN), Some(30));
        w.record(10 * MIN, 5);
        assert_eq!(w.max(10 * MIN), Some(30));
        w.record(15 * MIN, 1);
        assert_eq!(w.max(15 * MIN), Some(20));
        assert_eq!(w.len(), 3);
        assert_eq!(w.max(100 * MIN), None);
        // A step back in time lands in the newest bucket.
        w.record(0, 99);
        assert_eq!(w.max(15 * MIN), Some(99));
        assert_eq!(w.len(), 3);
    }

    #[test]
    fn window_stays_bounded() {
        let mut w = PeakWindow::new(1, 288);
        for t in 0..10_000 {
            w.record(t, t);
        }
        assert_eq!(w.len(), 288);
        assert_eq!(w.max(9_999), Some(9_999));
    }

    #[test]
    fn history_forgets_stale_cgroups() {
        let a = CgroupName::parse("/a").unwrap();
        let b = CgroupName::parse("/b").unwrap();
        let mut h = PeakHistory::new(MIN, 10);
        h.record(&a, 0, 5);
        h.record(&b, 9 * MIN, 7);
        h.expire(10 * MIN);
        assert_eq!(h.max(&a, 10 * MIN), None);
        assert_eq!(h.max(&b, 10 * MIN), Some(7));
        assert_eq!(h.len(), 1);
    }
}
