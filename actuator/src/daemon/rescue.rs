//! `rescue` on v1: tasks hitting the limit of a managed cgroup sleep
//! (`oom_kill_disable=1`, set when the cgroup is armed) while the engine
//! finds memory.
//!
//! * Each OOM notification with `under_oom 1` is one
//!   [`OomKind::Oom`] decision. A decision that wrote memory wakes the
//!   tasks; if they still do not fit they hit the new limit and the next
//!   notification asks again. Each such step starts the cgroup's
//!   `--deadline` anew from its wake-up (a task that keeps getting memory
//!   is making progress).
//! * A decision that can give nothing, or a deadline that passes with the
//!   cgroup still under OOM (after one last try), lets the kernel proceed:
//!   `oom_kill_disable=0` is written (the waiting tasks retry and the OOM
//!   killer runs), `engine.log_fallback_kill` writes the audit line, and
//!   once the kill is counted and `under_oom` is 0 again (re-read with a
//!   backoff from 10 ms to 1 s) `oom_kill_disable=1` is written back.
//! * The same steps release tasks found frozen at startup, whatever the
//!   mode (an instance killed mid-rescue leaves them behind); outside v1
//!   rescue mode the flag is not written back.
//! * `--dry-run` writes nothing: the decision is logged, a frozen task
//!   stays frozen (the operator asked for no writes).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cgcal_core::name::CgroupName;
use cgcal_core::policy::OomKind;

use super::react::V1Oom;
use super::Daemon;

/// First delay before `oom_kill_disable=1` is written back after a
/// fallback kill; doubled up to [`REARM_MAX_DELAY`].
pub const REARM_FIRST_DELAY: Duration = Duration::from_millis(10);
/// Longest delay between two re-arm attempts.
pub const REARM_MAX_DELAY: Duration = Duration::from_secs(1);
/// After this long the flag is written back even if no kill was counted
/// (the task may have freed memory itself), once `under_oom` is 0.
pub const REARM_KILL_PATIENCE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rearm {
    due: Instant,
    delay: Duration,
    since: Instant,
    kills_at_fallback: u64,
}

/// Rescue timers: per-cgroup deadlines of the frozen cgroups, and pending
/// re-arms after fallback kills. Pure bookkeeping (no I/O).
#[derive(Debug, Default)]
pub struct RescueBook {
    deadlines: BTreeMap<CgroupName, Instant>,
    rearms: BTreeMap<CgroupName, Rearm>,
}

/// A re-arm attempt's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RearmCheck {
    /// Write `oom_kill_disable=1` now.
    Now,
    /// Not yet: try again later.
    Later,
}

impl RescueBook {
    /// `name` is frozen and just got memory (or is being handled): its
    /// deadline is `deadline`.
    pub fn set_deadline(&mut self, name: &CgroupName, deadline: Instant) {
        self.deadlines.insert(name.clone(), deadline);
    }

    /// The episode of `name` is over (released or let to the kernel).
    pub fn end(&mut self, name: &CgroupName) {
        self.deadlines.remove(name);
    }

    /// True while `name` has a pending deadline.
    pub fn in_rescue(&self, name: &CgroupName) -> bool {
        self.deadlines.contains_key(name)
    }

    /// Cgroups whose deadline passed at `now` (their deadline is dropped).
    pub fn take_expired(&mut self, now: Instant) -> Vec<CgroupName> {
        let expired: Vec<CgroupName> = self
            .deadlines
            .iter()
            .filter(|(_, d)| **d <= now)
            .map(|(n, _)| n.clone())
            .collect();
        for n in &expired {
            self.deadlines.remove(n);
        }
        expired
    }

    /// A fallback kill was let through at `now` with the kill counter at
    /// `kills`: schedule the re-arm.
    pub fn schedule_rearm(&mut self, name: &CgroupName, now: Instant, kills: u64) {
        self.rearms.insert(
            name.clone(),
            Rearm {
                due: now + REARM_FIRST_DELAY,
                delay: REARM_FIRST_DELAY,
                since: now,
                kills_at_fallback: kills,
            },
        );
    }

    /// Cgroups whose re-arm attempt is due.
    pub fn due_rearms(&self, now: Instant) -> Vec<CgroupName> {
        self.rearms
            .iter()
            .filter(|(_, r)| r.due <= now)
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Whether the re-arm of `name` may happen, given what was just read:
    /// `under_oom` 0 and the kill counted (or [`REARM_KILL_PATIENCE`]
    /// passed). `Now` drops the schedule; `Later` backs off.
    pub fn check_rearm(
        &mut self,
        name: &CgroupName,
        now: Instant,
        under_oom: bool,
        kills: u64,
    ) -> RearmCheck {
        let Some(r) = self.rearms.get_mut(name) else {
            return RearmCheck::Later;
        };
        let killed = kills > r.kills_at_fallback;
        if !under_oom && (killed || now.duration_since(r.since) >= REARM_KILL_PATIENCE) {
            self.rearms.remove(name);
            return RearmCheck::Now;
        }
        r.delay = (r.delay * 2).min(REARM_MAX_DELAY);
        r.due = now + r.delay;
        RearmCheck::Later
    }

    /// Drops every timer of `name`.
    pub fn forget(&mut self, name: &CgroupName) {
        self.deadlines.remove(name);
        self.rearms.remove(name);
    }

    /// The earliest pending timer.
    pub fn next_due(&self) -> Option<Instant> {
        let d = self.deadlines.values().copied().min();
        let r = self.rearms.values().map(|r| r.due).min();
        d.into_iter().chain(r).min()
    }

    /// True when no timer is pending.
    pub fn is_idle(&self) -> bool {
        self.deadlines.is_empty() && self.rearms.is_empty()
    }
}

impl Daemon {
    /// `name` is under OOM with tasks frozen: one decision; memory given
    /// restarts the deadline, nothing given lets the kernel kill.
    pub(crate) fn on_frozen(&mut self, name: &CgroupName, woke: Instant) {
        let decision = self.decide(name, OomKind::Oom, woke);
        tracing::info!(cgroup = %name, "under OOM, tasks frozen");
        let Some(d) = decision else {
            if self.armed.contains(name) {
                self.fallback_kill(name, woke);
            }
            return;
        };
        if d.wrote && d.added_to_target > 0 {
            self.rescues
                .set_deadline(name, woke + self.settings.deadline);
        } else if self.settings.dry_run {
            tracing::warn!(cgroup = %name, "dry run: tasks stay frozen (nothing is written)");
        } else {
            self.fallback_kill(name, woke);
        }
    }

    /// Lets the kernel kill in `name`: `oom_kill_disable=0`, the audit
    /// line, and (v1 rescue mode) the re-arm scheduled.
    pub(crate) fn fallback_kill(&mut self, name: &CgroupName, woke: Instant) {
        self.rescues.end(name);
        if self.settings.dry_run {
            return;
        }
        let Some(cg) = self.armed.get_mut(name) else {
            return;
        };
        match cg.handle.set_oom_kill_disable(false) {
            Ok(()) => {}
            Err(e) if e.is_gone() => {
                self.disarm(name, true);
                return;
            }
            Err(e) => {
                tracing::error!(cgroup = %name, "cannot write oom_kill_disable=0: {e}");
                return;
            }
        }
        cg.kill_disabled = false;
        cg.expect_kill = true;
        let kills = cg.oom_kills;
        tracing::warn!(cgroup = %name, "no memory found: oom_kill_disable=0, the kernel kills");
        if let Some(m) = &mut self.metrics {
            m.fallback_kill();
        }
        if let Err(e) = self.engine.log_fallback_kill(name, woke) {
            tracing::error!(cgroup = %name, "cannot log the fallback kill: {e}");
        }
        if self.settings.disables_oom_kill() {
            self.rescues.schedule_rearm(name, Instant::now(), kills);
        }
    }

    /// Deadlines and re-arms due at `now`.
    pub(crate) fn run_rescue_timers(&mut self, now: Instant) {
        for name in self.rescues.take_expired(now) {
            match self.read_v1_oom(&name) {
                Some(V1Oom::Frozen) => {
                    tracing::info!(cgroup = %name, "still under OOM at the deadline");
                    self.on_frozen(&name, now);
                }
                Some(V1Oom::Killed(n)) => self.on_kill(&name, n, now),
                _ => tracing::debug!(cgroup = %name, "rescued"),
            }
        }
        for name in self.rescues.due_rearms(now) {
            let Some(cg) = self.armed.get_mut(&name) else {
                self.rescues.forget(&name);
                continue;
            };
            let state = match cg.handle.oom_state() {
                Ok(s) => s,
                Err(e) => {
                    if e.is_gone() {
                        self.disarm(&name, true);
                    } else {
                        tracing::warn!(cgroup = %name, "cannot read memory.oom_control: {e}");
                        self.rescues.check_rearm(&name, now, true, 0);
                    }
                    continue;
                }
            };
            let under = state.under_oom == Some(true);
            if self.rescues.check_rearm(&name, now, under, state.oom_kill) == RearmCheck::Now {
                tracing::debug!(cgroup = %name, "oom_kill_disable=1 again");
                self.disable_oom_kill(&name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> CgroupName {
        CgroupName::parse(s).unwrap()
    }

    #[test]
    fn deadlines_expire_once() {
        let t0 = Instant::now();
        let mut b = RescueBook::default();
        b.set_deadline(&name("/a"), t0 + Duration::from_millis(500));
        b.set_deadline(&name("/b"), t0 + Duration::from_millis(100));
        assert_eq!(b.next_due(), Some(t0 + Duration::from_millis(100)));
        assert!(b.take_expired(t0).is_empty());
        assert_eq!(
            b.take_expired(t0 + Duration::from_millis(100)),
            vec![name("/b")]
        );
        // A new step pushes the deadline back.
        b.set_deadline(&name("/a"), t0 + Duration::from_millis(900));
        assert!(b.take_expired(t0 + Duration::from_millis(600)).is_empty());
        assert!(b.in_rescue(&name("/a")));
        b.end(&name("/a"));
        assert!(b.is_idle());
    }

    #[test]
    fn rearm_waits_for_the_kill_and_backs_off() {
        let t0 = Instant::now();
        let a = name("/a");
        let mut b = RescueBook::default();
        b.schedule_rearm(&a, t0, 3);
        assert!(b.due_rearms(t0).is_empty());
        let t1 = t0 + REARM_FIRST_DELAY;
        assert_eq!(b.due_rearms(t1), vec![a.clone()]);
        // Still under OOM: later, with a doubled delay.
        assert_eq!(b.check_rearm(&a, t1, true, 4), RearmCheck::Later);
        assert_eq!(b.next_due(), Some(t1 + 2 * REARM_FIRST_DELAY));
        // Released but no kill counted yet: later.
        assert_eq!(b.check_rearm(&a, t1, false, 3), RearmCheck::Later);
        // Killed and released: now.
        assert_eq!(b.check_rearm(&a, t1, false, 4), RearmCheck::Now);
        assert!(b.is_idle());
    }

    proptest::proptest! {
        /// For any sequence of readings, the flag is written back only
        /// when `under_oom` is 0 and the kill was counted or the patience
        /// ran out, and the retry delay stays within its bounds.
        #[test]
        fn rearm_only_when_released(
            base in 0u64..5,
            readings in proptest::collection::vec((proptest::bool::ANY, 0u64..8), 1..40),
        ) {
            let t0 = Instant::now();
            let a = name("/a");
            let mut b = RescueBook::default();
            b.schedule_rearm(&a, t0, base);
            for (under, kills) in readings {
                let Some(t) = b.next_due() else { break };
                proptest::prop_assert!(t > t0);
                let verdict = b.check_rearm(&a, t, under, kills);
                let allowed = !under
                    && (kills > base || t.duration_since(t0) >= REARM_KILL_PATIENCE);
                proptest::prop_assert_eq!(verdict == RearmCheck::Now, allowed);
                if let Some(next) = b.next_due() {
                    let delay = next.duration_since(t);
                    proptest::prop_assert!(delay >= REARM_FIRST_DELAY && delay <= REARM_MAX_DELAY);
                }
            }
        }
    }

    #[test]
    fn rearm_without_a_counted_kill_after_patience() {
        let t0 = Instant::now();
        let a = name("/a");
        let mut b = RescueBook::default();
        b.schedule_rearm(&a, t0, 0);
        let mut tries = 0;
        let t = loop {
            let t = b.next_due().unwrap();
            tries += 1;
            if b.check_rearm(&a, t, false, 0) == RearmCheck::Now {
                break t;
            }
            assert!(tries < 20, "never re-armed");
        };
        assert!(t.duration_since(t0) >= REARM_KILL_PATIENCE);
        assert!(t.duration_since(t0) <= REARM_KILL_PATIENCE + REARM_MAX_DELAY);
    }
}
