//! `preempt` mode on v1: a `memory.usage_in_bytes` threshold eventfd at
//! [`PREEMPT_FRACTION`] of each managed cgroup's limit; crossing it upwards
//! is a [`OomKind::Pressure`] decision, before any OOM. The threshold is
//! re-armed at the new limit after every change of a cgroup's limit. (On v2
//! preempt mode acts on `memory.high` events and PSI: [`super::v2_events`].)

use std::time::Instant;

use cgcal_core::name::CgroupName;
use cgcal_core::policy::OomKind;

use super::Daemon;
use crate::cli::DaemonMode;

/// The fraction of the limit at which preempt mode acts (90 %).
pub const PREEMPT_FRACTION: f64 = 0.9;

/// Threshold granularity: thresholds are whole pages.
const PAGE: u64 = 4096;

/// The usage threshold for a cgroup limited to `limit` bytes: 90 % of it,
/// rounded down to a page, at least one page; `None` when unlimited.
pub fn threshold_for(limit: Option<u64>) -> Option<u64> {
    let limit = limit?;
    let t = (limit as f64 * PREEMPT_FRACTION) as u64 / PAGE * PAGE;
    Some(t.max(PAGE))
}

impl Daemon {
    /// Registers (or replaces) the usage threshold of an armed cgroup at
    /// [`PREEMPT_FRACTION`] of its current limit.
    pub(crate) fn arm_threshold(&mut self, name: &CgroupName) {
        let Some(cg) = self.armed.get_mut(name) else {
            return;
        };
        let limit = match cg.handle.limit() {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(cgroup = %name, "cannot read the limit for the threshold: {e}");
                return;
            }
        };
        let Some(bytes) = threshold_for(limit) else {
            cg.threshold = None;
            return;
        };
        if cg.threshold == Some(bytes) {
            return;
        }
        match self
            .watcher
            .watch_usage_threshold(cg.handle.as_mut(), bytes)
        {
            Ok(()) => cg.threshold = Some(bytes),
            Err(e) if e.is_gone() => {}
            Err(e) => tracing::warn!(cgroup = %name, "cannot arm the usage threshold: {e}"),
        }
    }

    /// After a limit change: re-arms the threshold in preempt mode on v1.
    pub(crate) fn rearm_threshold_if_armed(&mut self, name: &CgroupName) {
        if self.settings.mode == DaemonMode::Preempt
            && self.settings.version == cgcal_core::trace::CgroupVersion::V1
            && !self.settings.once
        {
            self.arm_threshold(name);
        }
    }

    /// A threshold eventfd fired (either direction): decide when usage is
    /// at or above it now.
    pub(crate) fn on_threshold(&mut self, name: &CgroupName, bytes: u64, woke: Instant) {
        let Some(cg) = self.armed.get_mut(name) else {
            return;
        };
        let usage = match cg.handle.usage() {
            Ok(u) => u,
            Err(e) if e.is_gone() => {
                self.disarm(name, true);
                return;
            }
            Err(e) => {
                tracing::warn!(cgroup = %name, "cannot read usage after a threshold event: {e}");
                return;
            }
        };
        if usage >= bytes {
            self.decide(name, OomKind::Pressure, woke);
            tracing::info!(cgroup = %name, usage, threshold = bytes, "usage above the preempt threshold");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ninety_percent_in_pages() {
        assert_eq!(threshold_for(None), None);
        assert_eq!(threshold_for(Some(100 << 20)), Some(94_371_840));
        assert_eq!(threshold_for(Some(0)), Some(PAGE));
        assert_eq!(threshold_for(Some(5000)), Some(PAGE));
        let t = threshold_for(Some(64 << 20)).unwrap();
        assert_eq!(t % PAGE, 0);
        assert!(t <= (64 << 20) * 9 / 10 && t + PAGE > (64 << 20) * 9 / 10);
    }
}
