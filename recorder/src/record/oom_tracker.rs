//! Pure OOM bookkeeping: what changed in one cgroup's OOM counters between
//! two reads, and which cgroups of a batch of notifications hit their limit.
//!
//! Kernel facts this relies on (checked live on this machine's 6.18 kernel
//! with a hog of 40 MiB in `/P/d/inner` under a 16 MiB limit on `/P/d`):
//! * v1 `oom_kill` of `memory.oom_control` is **not hierarchical**: it went
//!   up in `/P/d/inner` (the victim's cgroup) only, not in `/P/d` whose
//!   limit was hit nor in `/P`; `memory.failcnt` went up in `/P/d` only.
//!   (`memcg_memory_event` stops after the first cgroup on v1.) So a kill is
//!   recorded where the counter rose, which is the victim's own cgroup.
//! * v1 OOM notifications (eventfd on `memory.oom_control`) are sent to the
//!   cgroup whose limit was hit **and to all its descendants**, before the
//!   kill: the cgroup that hit its limit is the topmost of a batch of
//!   wake-ups ([`limit_hit_cgroups`]).
//! * v2 `memory.events` `oom` is hierarchical (raised in the cgroup whose
//!   limit was hit and its ancestors), and the ancestors' notifications can
//!   come in a later batch than the cgroup's own (seen in a v2 VM): so the
//!   counters read are those of `memory.events.local` (kernel 5.2+), where
//!   only the cgroup whose limit was hit counts the `oom` and only the
//!   victim's cgroup the `oom_kill`: an `oom` increase is recorded as an Oom
//!   of that cgroup. Before 5.2 only the hierarchical counters exist, and an
//!   ancestor then records an Oom too (a documented limitation).

use cgcal_core::cgroupfs::OomState;
use cgcal_core::name::CgroupName;

/// A change of the v1 `under_oom` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnderOomTransition {
    /// Tasks started waiting for memory.
    Started,
    /// No task waits any more.
    Ended,
}

/// What changed between two reads of a cgroup's OOM state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OomChange {
    /// Increase of the cgroup's own `oom_kill` counter.
    pub kills: u64,
    /// Increase of the v2 `oom` counter (0 on v1).
    pub ooms: u64,
    /// A change of the v1 `under_oom` flag.
    pub under_oom: Option<UnderOomTransition>,
}

/// The last OOM state read of one cgroup.
#[derive(Debug, Clone, Default)]
pub struct OomTracker {
    last: Option<OomState>,
}

impl OomTracker {
    /// A tracker with no reading yet.
    pub fn new() -> OomTracker {
        OomTracker::default()
    }

    /// A tracker for a cgroup that was just created: every counter starts
    /// at 0, so a kill before its first reading still counts.
    pub fn zeroed() -> OomTracker {
        OomTracker {
            last: Some(OomState::default()),
        }
    }

    /// Takes a new reading. The first one is the baseline: counters give
    /// nothing, a cgroup already under OOM gives
    /// [`UnderOomTransition::Started`]. Counters that went down (a reset)
    /// count as no increase.
    pub fn observe(&mut self, now: &OomState) -> OomChange {
        let was_under = self.last.and_then(|l| l.under_oom).unwrap_or(false);
        let under_oom = match (was_under, now.under_oom) {
            (false, Some(true)) => Some(UnderOomTransition::Started),
            (true, Some(false)) => Some(UnderOomTransition::Ended),
            _ => None,
        };
        let change = match &self.last {
            None => OomChange {
                under_oom,
                ..OomChange::default()
            },
            Some(last) => OomChange {
                kills: now.oom_kill.saturating_sub(last.oom_kill),
                ooms: now.oom.unwrap_or(0).saturating_sub(last.oom.unwrap_or(0)),
                under_oom,
            },
        };
        self.last = Some(*now);
        change
    }

    /// True while the last reading said `under_oom 1`.
    pub fn is_under_oom(&self) -> bool {
        self.last.and_then(|l| l.under_oom).unwrap_or(false)
    }
}

/// The v1 cgroups of `batch` (cgroups whose OOM eventfd fired together)
/// that hit their own limit: those without an ancestor in the batch, in
/// batch order (the kernel signals the cgroup whose limit was hit and all
/// its descendants).
pub fn limit_hit_cgroups(batch: &[CgroupName]) -> Vec<CgroupName> {
    batch
        .iter()
        .filter(|c| !batch.iter().any(|o| o != *c && c.is_within(o)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v1(kills: u64, under: bool) -> OomState {
        OomState {
            oom_kill: kills,
            under_oom: Some(under),
            oom_kill_disable: Some(false),
            ..OomState::default()
        }
    }

    fn name(s: &str) -> CgroupName {
        CgroupName::parse(s).unwrap()
    }

    #[test]
    fn first_reading_is_the_baseline() {
        let mut t = OomTracker::new();
        assert_eq!(t.observe(&v1(7, false)), OomChange::default());
        assert_eq!(t.observe(&v1(9, false)).kills, 2);
        assert_eq!(t.observe(&v1(9, false)), OomChange::default());
        // A reset counter is no kill.
        assert_eq!(t.observe(&v1(1, false)).kills, 0);
    }

    #[test]
    fn a_new_cgroup_counts_from_zero() {
        let mut t = OomTracker::zeroed();
        assert_eq!(t.observe(&v1(1, false)).kills, 1);
    }

    #[test]
    fn under_oom_transitions() {
        let mut t = OomTracker::new();
        assert_eq!(
            t.observe(&v1(0, true)).under_oom,
            Some(UnderOomTransition::Started)
        );
        assert!(t.is_under_oom());
        assert_eq!(t.observe(&v1(0, true)).under_oom, None);
        let end = t.observe(&v1(1, false));
        assert_eq!(
            (end.kills, end.under_oom),
            (1, Some(UnderOomTransition::Ended))
        );
        assert!(!t.is_under_oom());
    }

    #[test]
    fn v2_oom_counter_rises_are_counted() {
        let mut t = OomTracker::new();
        let s = |oom, kill| OomState {
            oom: Some(oom),
            oom_kill: kill,
            ..OomState::default()
        };
        t.observe(&s(1, 0));
        let c = t.observe(&s(3, 1));
        assert_eq!((c.ooms, c.kills, c.under_oom), (2, 1, None));
    }

    #[test]
    fn attribution_picks_the_topmost() {
        let batch = [name("/p/d/x"), name("/p/d"), name("/p/e"), name("/p/dd")];
        let top: Vec<String> = limit_hit_cgroups(&batch)
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(top, ["/p/d", "/p/e", "/p/dd"]);
    }

    proptest! {
        #[test]
        fn kills_sum_to_the_counter_increase(steps in proptest::collection::vec(0u64..5, 1..40)) {
            let mut t = OomTracker::new();
            let mut counter = 0;
            t.observe(&v1(counter, false));
            let mut total = 0;
            for s in steps {
                counter += s;
                total += t.observe(&v1(counter, false)).kills;
            }
            prop_assert_eq!(total, counter);
        }
    }
}
