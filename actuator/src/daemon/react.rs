//! Reacting to OOM kills, and the v1 OOM notification's classification.
//!
//! A v1 OOM eventfd fires *before* the kernel kills (and for a frozen task
//! under `oom_kill_disable=1`, for every OOM of a descendant, and once at
//! removal, which the watcher already tells apart). After a wake-up the
//! cgroup's `memory.oom_control` is read: `under_oom 1` is a frozen task
//! ([`super::rescue`]); an `oom_kill` counter above the last read is a kill
//! ([`OomKind::OomKill`] decision); otherwise the counter is re-read after
//! [`KILL_RECHECK_AFTER`] delays (the kill shows a little later), each a
//! bounded timer, so nothing polls while idle.

use std::collections::BTreeMap;
use std::time::Instant;

use cgcal_core::name::CgroupName;
use cgcal_core::policy::OomKind;
use cgcal_core::watch::KILL_RECHECK_AFTER;

use super::Daemon;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Check {
    /// When the notification woke the daemon (latency runs from it).
    woke: Instant,
    /// Index into [`KILL_RECHECK_AFTER`] of the next re-read.
    step: usize,
}

/// Pending re-reads of kill counters after v1 OOM notifications.
#[derive(Debug, Default)]
pub struct KillChecks {
    pending: BTreeMap<CgroupName, Check>,
}

impl KillChecks {
    /// Schedules re-reads for `name` from the wake-up `woke` (an earlier
    /// pending schedule keeps its wake-up).
    pub fn schedule(&mut self, name: &CgroupName, woke: Instant) {
        self.pending
            .entry(name.clone())
            .or_insert(Check { woke, step: 0 });
    }

    /// The next re-read time, if any.
    pub fn next_due(&self) -> Option<Instant> {
        self.pending
            .values()
            .map(|c| c.woke + KILL_RECHECK_AFTER[c.step])
            .min()
    }

    /// Cgroups due at `now` with their wake-ups; each advances to its next
    /// delay, or is dropped after the last.
    pub fn take_due(&mut self, now: Instant) -> Vec<(CgroupName, Instant)> {
        let mut due = Vec::new();
        self.pending.retain(|name, c| {
            if c.woke + KILL_RECHECK_AFTER[c.step] > now {
                return true;
            }
            due.push((name.clone(), c.woke));
            c.step += 1;
            c.step < KILL_RECHECK_AFTER.len()
        });
        due
    }

    /// Drops the schedule of `name` (a kill was seen, or it is gone).
    pub fn forget(&mut self, name: &CgroupName) {
        self.pending.remove(name);
    }

    /// True when nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

/// What a v1 OOM notification turned out to be, from `memory.oom_control`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V1Oom {
    /// `under_oom 1` with `oom_kill_disable 1`: tasks wait for memory
    /// (rescue).
    Frozen,
    /// The kill counter rose by this much.
    Killed(u64),
    /// Neither yet: re-read later.
    Pending,
}

impl Daemon {
    /// A v1 OOM notification of `name`.
    pub(crate) fn on_v1_oom(&mut self, name: &CgroupName, woke: Instant) {
        match self.read_v1_oom(name) {
            Some(V1Oom::Frozen) => self.on_frozen(name, woke),
            Some(V1Oom::Killed(n)) => self.on_kill(name, n, woke),
            Some(V1Oom::Pending) => self.kill_checks.schedule(name, woke),
            None => {}
        }
    }

    /// Reads `memory.oom_control` of an armed cgroup and updates its kill
    /// baseline; `None` when it is not armed, gone (disarmed) or unreadable.
    pub(crate) fn read_v1_oom(&mut self, name: &CgroupName) -> Option<V1Oom> {
        let cg = self.armed.get_mut(name)?;
        let state = match cg.handle.oom_state() {
            Ok(s) => s,
            Err(e) if e.is_gone() => {
                self.disarm(name, true);
                return None;
            }
            Err(e) => {
                tracing::warn!(cgroup = %name, "cannot read memory.oom_control: {e}");
                return None;
            }
        };
        let kills = state.oom_kill.saturating_sub(cg.oom_kills);
        cg.oom_kills = state.oom_kill;
        // Tasks sleep only where oom_kill_disable is set; `under_oom 1`
        // without it is an OOM being handled by the kernel (a kill in
        // progress, or an ancestor's OOM marking its subtree).
        let frozen = state.under_oom == Some(true) && state.oom_kill_disable != Some(false);
        Some(if frozen {
            V1Oom::Frozen
        } else if kills > 0 {
            V1Oom::Killed(kills)
        } else {
            V1Oom::Pending
        })
    }

    /// `kills` tasks of `name` were OOM-killed: an [`OomKind::OomKill`]
    /// decision so that the next run fits, unless the kill is the fallback
    /// the daemon itself let through.
    pub(crate) fn on_kill(&mut self, name: &CgroupName, kills: u64, woke: Instant) {
        self.kill_checks.forget(name);
        if let Some(cg) = self.armed.get_mut(name) {
            if std::mem::take(&mut cg.expect_kill) {
                tracing::info!(cgroup = %name, kills, "fallback kill done");
                return;
            }
        }
        self.decide(name, OomKind::OomKill, woke);
        tracing::info!(cgroup = %name, kills, "OOM kill");
    }

    /// Re-reads the kill counters that are due.
    pub(crate) fn run_kill_checks(&mut self, now: Instant) {
        for (name, woke) in self.kill_checks.take_due(now) {
            match self.read_v1_oom(&name) {
                Some(V1Oom::Killed(n)) => self.on_kill(&name, n, woke),
                Some(V1Oom::Frozen) => {
                    self.kill_checks.forget(&name);
                    self.on_frozen(&name, woke);
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rechecks_follow_the_delays_then_stop() {
        let t0 = Instant::now();
        let name = CgroupName::parse("/a").unwrap();
        let mut k = KillChecks::default();
        assert_eq!(k.next_due(), None);
        k.schedule(&name, t0);
        k.schedule(&name, t0 + Duration::from_millis(5)); // keeps t0
        let mut seen = Vec::new();
        while let Some(due) = k.next_due() {
            assert!(k.take_due(due - Duration::from_micros(1)).is_empty());
            let got = k.take_due(due);
            assert_eq!(got, vec![(name.clone(), t0)]);
            seen.push(due - t0);
        }
        assert_eq!(seen, KILL_RECHECK_AFTER.to_vec());
        assert!(k.is_empty());
    }

    proptest::proptest! {
        /// Whatever the wake-ups, every cgroup is re-read exactly once per
        /// delay, never before its time, and the schedule then empties.
        #[test]
        fn every_delay_once_and_never_early(offsets in proptest::collection::vec(0u64..2_000, 1..8)) {
            let t0 = Instant::now();
            let mut k = KillChecks::default();
            for (i, off) in offsets.iter().enumerate() {
                let name = CgroupName::parse(&format!("/c{i}")).unwrap();
                k.schedule(&name, t0 + Duration::from_millis(*off));
            }
            let mut seen = std::collections::BTreeMap::<CgroupName, usize>::new();
            let mut rounds = 0;
            while let Some(due) = k.next_due() {
                rounds += 1;
                proptest::prop_assert!(rounds <= offsets.len() * KILL_RECHECK_AFTER.len());
                for (name, woke) in k.take_due(due) {
                    let step = seen.entry(name).or_default();
                    proptest::prop_assert!(woke + KILL_RECHECK_AFTER[*step] <= due);
                    *step += 1;
                }
            }
            proptest::prop_assert_eq!(seen.len(), offsets.len());
            proptest::prop_assert!(seen.values().all(|n| *n == KILL_RECHECK_AFTER.len()));
        }
    }

    #[test]
    fn forget_drops_the_schedule() {
        let t0 = Instant::now();
        let a = CgroupName::parse("/a").unwrap();
        let b = CgroupName::parse("/b").unwrap();
        let mut k = KillChecks::default();
        k.schedule(&a, t0);
        k.schedule(&b, t0 + Duration::from_millis(1));
        k.forget(&a);
        assert_eq!(k.next_due(), Some(t0 + Duration::from_millis(11)));
    }
}
