//! What a v2 `memory.events` change asks the daemon to do, per mode: a
//! pure function of the counter increase, unit-tested.

use cgcal_core::cgroupfs::parse::MemoryEvents;
use cgcal_core::policy::OomKind;

use crate::cli::DaemonMode;

/// The decision kind a v2 `memory.events` increase calls for, `None` for
/// nothing. An `oom_kill` increase is reacted to in every mode (the kill
/// happened: the next run must fit). Otherwise `rescue` acts on `high`,
/// `max` and `oom` increases (usage pressing against `memory.high`, which
/// is kept just under `memory.max`, or against `memory.max` itself) before
/// the kernel kills, `preempt` on `high` increases, and `react` on nothing
/// else. `low` and `oom_group_kill` alone never trigger anything.
pub fn kind_for_delta(mode: DaemonMode, delta: &MemoryEvents) -> Option<OomKind> {
    if delta.oom_kill > 0 {
        return Some(OomKind::OomKill);
    }
    match mode {
        DaemonMode::React => None,
        DaemonMode::Rescue => {
            (delta.high > 0 || delta.max > 0 || delta.oom > 0).then_some(OomKind::Oom)
        }
        DaemonMode::Preempt => (delta.high > 0 || delta.max > 0).then_some(OomKind::Pressure),
    }
}

/// The decision kind a v2 PSI trigger (`memory.pressure`) calls for:
/// `rescue` treats it as an imminent OOM, `preempt` as pressure, `react`
/// does not arm PSI triggers.
pub fn kind_for_pressure(mode: DaemonMode) -> Option<OomKind> {
    match mode {
        DaemonMode::React => None,
        DaemonMode::Rescue => Some(OomKind::Oom),
        DaemonMode::Preempt => Some(OomKind::Pressure),
    }
}

impl super::Daemon {
    /// A v2 `memory.events` change of `name` (or a PSI trigger when
    /// `delta` is `None` and `psi` is true): one decision of the kind the
    /// mode calls for. Pressure decisions that gave nothing quiet the
    /// cgroup's pressure events for one `--deadline` (the kernel sends up
    /// to ~100 `high` events a second while usage stays above `memory.high`).
    pub(crate) fn on_v2_events(
        &mut self,
        name: &cgcal_core::name::CgroupName,
        delta: Option<&MemoryEvents>,
        woke: std::time::Instant,
    ) {
        let kind = match delta {
            Some(d) => kind_for_delta(self.settings.mode, d),
            None => kind_for_pressure(self.settings.mode),
        };
        let Some(kind) = kind else {
            return;
        };
        let Some(cg) = self.armed.get_mut(name) else {
            return;
        };
        if kind != OomKind::OomKill && cg.quiet_until.is_some_and(|t| woke < t) {
            return;
        }
        let decision = self.decide(name, kind, woke);
        tracing::info!(cgroup = %name, ?kind, ?delta, "memory event");
        let gave_nothing = decision.is_none_or(|d| d.added_to_target == 0);
        if let Some(cg) = self.armed.get_mut(name) {
            cg.quiet_until =
                (kind != OomKind::OomKill && gave_nothing).then(|| woke + self.settings.deadline);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(f: impl FnOnce(&mut MemoryEvents)) -> MemoryEvents {
        let mut d = MemoryEvents::default();
        f(&mut d);
        d
    }

    #[test]
    fn kills_are_reacted_to_in_every_mode() {
        let d = delta(|d| {
            d.oom_kill = 1;
            d.high = 3;
        });
        for mode in [DaemonMode::React, DaemonMode::Rescue, DaemonMode::Preempt] {
            assert_eq!(kind_for_delta(mode, &d), Some(OomKind::OomKill), "{mode:?}");
        }
    }

    #[test]
    fn pressure_counters_per_mode() {
        let high = delta(|d| d.high = 2);
        let max = delta(|d| d.max = 1);
        let oom = delta(|d| d.oom = 1);
        let low = delta(|d| d.low = 5);
        assert_eq!(kind_for_delta(DaemonMode::React, &high), None);
        assert_eq!(kind_for_delta(DaemonMode::React, &oom), None);
        assert_eq!(
            kind_for_delta(DaemonMode::Rescue, &high),
            Some(OomKind::Oom)
        );
        assert_eq!(kind_for_delta(DaemonMode::Rescue, &max), Some(OomKind::Oom));
        assert_eq!(kind_for_delta(DaemonMode::Rescue, &oom), Some(OomKind::Oom));
        assert_eq!(
            kind_for_delta(DaemonMode::Preempt, &high),
            Some(OomKind::Pressure)
        );
        assert_eq!(kind_for_delta(DaemonMode::Preempt, &oom), None);
        for mode in [DaemonMode::React, DaemonMode::Rescue, DaemonMode::Preempt] {
            assert_eq!(kind_for_delta(mode, &low), None);
            assert_eq!(kind_for_delta(mode, &MemoryEvents::default()), None);
        }
    }

    #[test]
    fn psi_per_mode() {
        assert_eq!(kind_for_pressure(DaemonMode::React), None);
        assert_eq!(kind_for_pressure(DaemonMode::Rescue), Some(OomKind::Oom));
        assert_eq!(
            kind_for_pressure(DaemonMode::Preempt),
            Some(OomKind::Pressure)
        );
    }
}
