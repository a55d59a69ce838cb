//! `vpa`: the Kubernetes Vertical Pod Autoscaler recommender's OOM bump
//! (k8s.io/autoscaler, `vertical-pod-autoscaler/pkg/recommender/model`:
//! `OOMBumpUpRatio` 1.2, `OOMMinBumpUp` 100 MiB): after an OOM kill,
//! limit ← max(1.2 × usage at the OOM, usage at the OOM + 100 MiB), taken
//! from the global headroom only (capped by it: `partial`).
//!
//! Acts on [`OomKind::OomKill`] (`react`) and on [`OomKind::Oom`] (`rescue`,
//! where the kill is held back: the OOM stands for the kill that would have
//! happened); ignores [`OomKind::Pressure`] (no OOM happened). Never lowers
//! a limit; stateless.

use crate::audit::Outcome;

use super::builder::PlanBuilder;
use super::config::{PolicyConfig, MIB};
use super::plan::{Plan, Reason};
use super::safety::{align_down, align_up, scale_up};
use super::snapshot::{OomKind, Snapshot, Trigger};
use super::Policy;

/// VPA's `OOMBumpUpRatio`.
pub const OOM_BUMP_UP_RATIO: f64 = 1.2;
/// VPA's `OOMMinBumpUp`, in bytes.
pub const OOM_MIN_BUMP_UP: u64 = 100 * MIB;

/// The `vpa` baseline. Stateless.
#[derive(Debug, Clone, Copy, Default)]
pub struct Vpa;

impl Policy for Vpa {
    fn name(&self) -> &'static str {
        "vpa"
    }

    fn describe(&self) -> &'static str {
        "Kubernetes VPA OOM bump: after an OOM kill, limit = max(1.2 x usage, usage + 100 MiB), from global headroom only"
    }

    fn observe(&mut self, _snap: &Snapshot) {}

    fn decide(&mut self, snap: &Snapshot, trigger: &Trigger, cfg: &PolicyConfig) -> Plan {
        match *trigger {
            Trigger::Oom {
                cgroup,
                usage_at_oom,
                kind: OomKind::Oom | OomKind::OomKill,
            } => bump(snap, cgroup, usage_at_oom, cfg),
            Trigger::Oom { cgroup, .. } => Plan::nothing(Some(cgroup), 0, Outcome::FallbackKill),
            Trigger::Tick => Plan::nothing(None, 0, Outcome::Resolved),
        }
    }

    fn tick_interval_ns(&self) -> Option<u64> {
        None
    }
}

/// The limit VPA wants after an OOM at `usage`, page-aligned up.
pub fn bumped_limit(usage: u64, cfg: &PolicyConfig) -> u64 {
    let want = scale_up(usage, OOM_BUMP_UP_RATIO).max(usage.saturating_add(OOM_MIN_BUMP_UP));
    align_up(want, cfg.page())
}

fn bump(snap: &Snapshot, x: usize, usage: u64, cfg: &PolicyConfig) -> Plan {
    let Some(view) = snap.cgroups.get(x) else {
        return Plan::nothing(Some(x), 0, Outcome::FallbackKill);
    };
    let Some(limit) = view.limit else {
        return Plan::nothing(Some(x), 0, Outcome::FallbackKill);
    };
    let base = align_down(limit, cfg.page());
    let needed = bumped_limit(usage, cfg).saturating_sub(base);
    let mut b = PlanBuilder::new(snap, cfg);
    let give = needed.min(b.headroom());
    if give == 0 || base.saturating_add(give) < view.floor() {
        return Plan::nothing(Some(x), needed, Outcome::FallbackKill);
    }
    // Accepted: within the headroom, aligned, at or above the floor.
    let _ = b.grow_by(x, give, Reason::Grant);
    b.finish(Some(x), needed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Source;
    use crate::policy::safety::check_plan;
    use crate::policy::test_snapshots::*;

    fn run(s: &Snapshot, usage: u64, kind: OomKind) -> Plan {
        let cfg = PolicyConfig::default();
        let plan = Vpa.decide(s, &oom(0, usage, kind), &cfg);
        assert_eq!(check_plan(s, &plan, &cfg), Ok(()));
        plan
    }

    fn one(limit: u64, global_usage: u64) -> Snapshot {
        snap(
            Some(2000 * MIB),
            global_usage,
            vec![cg("/apps/web", Some(limit), limit, None)],
        )
    }

    #[test]
    fn bump_is_the_larger_of_ratio_and_minimum() {
        let cfg = PolicyConfig::default();
        assert_eq!(bumped_limit(200 * MIB, &cfg), 300 * MIB);
        assert_eq!(bumped_limit(1000 * MIB, &cfg), 1200 * MIB);
        assert_eq!(bumped_limit(500 * MIB, &cfg), 600 * MIB);
        assert_eq!(bumped_limit(1, &cfg), 100 * MIB + PAGE);
    }

    #[test]
    fn raises_from_the_headroom_after_a_kill() {
        let plan = run(&one(200 * MIB, 0), 200 * MIB, OomKind::OomKill);
        assert_eq!(plan.changes[0].new, 300 * MIB);
        assert_eq!(plan.needed, 100 * MIB);
        assert_eq!(
            (plan.source, plan.outcome),
            (Source::Global, Outcome::Resolved)
        );
        // Rescue: the held-back kill counts as one.
        assert_eq!(
            run(&one(200 * MIB, 0), 200 * MIB, OomKind::Oom).changes[0].new,
            300 * MIB
        );
        // 1.2 × 1000 MiB beats + 100 MiB.
        assert_eq!(
            run(&one(1000 * MIB, 0), 1000 * MIB, OomKind::OomKill).changes[0].new,
            1200 * MIB
        );
    }

    #[test]
    fn capped_by_the_headroom_and_never_from_donors() {
        // headroom = 1800 − 1760 = 40 MiB; a donor with spare is ignored.
        let mut s = one(200 * MIB, 1760 * MIB);
        s.cgroups.push(cg(
            "/apps/batch",
            Some(500 * MIB),
            MIB,
            p1(0, 10 * MIB, 5 * MIB),
        ));
        let plan = run(&s, 200 * MIB, OomKind::OomKill);
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].new, 240 * MIB);
        assert_eq!(
            (plan.source, plan.outcome),
            (Source::Global, Outcome::Partial)
        );
        let full = run(&one(200 * MIB, 1800 * MIB), 200 * MIB, OomKind::OomKill);
        assert!(full.is_empty());
        assert_eq!(full.outcome, Outcome::FallbackKill);
    }

    #[test]
    fn ignores_pressure_and_never_lowers() {
        assert!(run(&one(200 * MIB, 0), 200 * MIB, OomKind::Pressure).is_empty());
        // Limit already above the bump (a second rescue round): nothing.
        let plan = run(&one(300 * MIB, 0), 200 * MIB, OomKind::Oom);
        assert!(plan.is_empty());
        assert_eq!((plan.needed, plan.outcome), (0, Outcome::FallbackKill));
    }
}
