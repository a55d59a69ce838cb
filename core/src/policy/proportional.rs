//! `proportional`: the seed's algorithm and `cgact`'s default (SPEC §5).
//!
//! At an OOM of cgroup X with limit L_x, the need is
//! `N = ⌈max(max_x − L_x, bump_ratio·L_x, min_bump)⌉` (page-aligned up;
//! `max_x` from Phase 1, 0 without). Then:
//! 1. **global**: if the headroom H ≥ N, raise L_x by N (source `global`);
//! 2. **donors**: else, if the donors' spares add up to S ≥ N, lower each
//!    donor by its share of N in proportion to its spare (whole pages,
//!    largest remainder: the shares add up to N exactly), then raise L_x by
//!    N (source `donors`);
//! 3. **combined**: else take all of H and, for the rest, the donors in
//!    proportion to their spares: `resolved`/`mixed` if H + S ≥ N, else
//!    everything there is, `partial` (or `fallback_kill` when that is nothing).
//!
//! Donors: the other managed cgroups that are limited, have Phase 1 figures,
//! use less than their Phase 1 median now, are neither an ancestor nor a
//! descendant of X, and are not below another donor (so no memory is
//! counted twice); each gives at most its [`spare`](super::safety::spare).

use std::collections::BTreeSet;

use crate::audit::Outcome;

use super::apportion::apportion;
use super::builder::PlanBuilder;
use super::config::PolicyConfig;
use super::plan::{Plan, Reason};
use super::safety::{self, align_down, align_up, scale_up};
use super::snapshot::{Snapshot, Trigger};
use super::Policy;

/// The `proportional` algorithm. Stateless.
#[derive(Debug, Clone, Copy, Default)]
pub struct Proportional;

impl Policy for Proportional {
    fn name(&self) -> &'static str {
        "proportional"
    }

    fn describe(&self) -> &'static str {
        "at an OOM, raise by max(max-limit, 20%, 32 MiB) from global headroom, else from under-median donors in proportion to their spare (default)"
    }

    fn observe(&mut self, _snap: &Snapshot) {}

    fn decide(&mut self, snap: &Snapshot, trigger: &Trigger, cfg: &PolicyConfig) -> Plan {
        match *trigger {
            Trigger::Oom { cgroup, .. } => grant(snap, cgroup, cfg),
            Trigger::Tick => Plan::nothing(None, 0, Outcome::Resolved),
        }
    }

    fn tick_interval_ns(&self) -> Option<u64> {
        None
    }
}

/// The need of cgroup `x` at an OOM: `⌈max(max_x − L_x, bump_ratio·L_x,
/// min_bump)⌉`, with `L_x` rounded down to a page; `None` when `x` is
/// unknown or unlimited.
pub fn need(snap: &Snapshot, x: usize, cfg: &PolicyConfig) -> Option<u64> {
    let view = snap.cgroups.get(x)?;
    let l = align_down(view.limit?, cfg.page());
    let max_x = view.phase1.as_ref().map_or(0, |p| p.max);
    let n = max_x
        .saturating_sub(l)
        .max(scale_up(l, cfg.bump_ratio))
        .max(cfg.min_bump);
    Some(align_up(n, cfg.page()))
}

/// The donors for an OOM of `x`, in snapshot order, with their spares
/// (only those with a spare > 0).
pub fn donors(snap: &Snapshot, x: usize, cfg: &PolicyConfig) -> Vec<(usize, u64)> {
    let Some(target) = snap.cgroups.get(x) else {
        return Vec::new();
    };
    let candidates: Vec<usize> = (0..snap.cgroups.len())
        .filter(|&i| {
            let d = &snap.cgroups[i];
            i != x
                && d.limit.is_some()
                && d.phase1.as_ref().is_some_and(|p| d.usage < p.median)
                && !d.name.is_within(&target.name)
                && !target.name.is_within(&d.name)
                && d.name.is_within(&snap.global.name)
                && d.name != snap.global.name
        })
        .collect();
    let names: BTreeSet<&str> = candidates
        .iter()
        .map(|&i| snap.cgroups[i].name.as_str())
        .collect();
    candidates
        .into_iter()
        .filter(|&i| !has_ancestor_in(snap.cgroups[i].name.as_str(), &names))
        .map(|i| (i, safety::spare(&snap.cgroups[i], cfg)))
        .filter(|&(_, s)| s > 0)
        .collect()
}

/// True when a strict ancestor of `name` (other than `/`) is in `names`.
fn has_ancestor_in(name: &str, names: &BTreeSet<&str>) -> bool {
    name.char_indices()
        .skip(1)
        .filter(|&(_, c)| c == '/')
        .any(|(p, _)| names.contains(&name[..p]))
}

fn grant(snap: &Snapshot, x: usize, cfg: &PolicyConfig) -> Plan {
    let Some(n) = need(snap, x, cfg) else {
        // Unknown or unlimited: the limit that ran out is not X's own.
        return Plan::nothing(Some(x), 0, Outcome::FallbackKill);
    };
    let mut b = PlanBuilder::new(snap, cfg);
    let h = b.headroom();
    if h >= n {
        return match b.grow_by(x, n, Reason::Grant) {
            Ok(_) => b.finish(Some(x), n),
            Err(_) => Plan::nothing(Some(x), n, Outcome::FallbackKill),
        };
    }
    let donors = donors(snap, x, cfg);
    let s: u64 = donors.iter().map(|&(_, s)| s).fold(0, u64::saturating_add);
    let from_donors = if s >= n {
        n
    } else {
        n.saturating_sub(h).min(s)
    };
    let from_global = if s >= n { 0 } else { h.min(n - from_donors) };
    let give = from_donors + from_global;
    let view = &snap.cgroups[x];
    let base = align_down(view.limit.unwrap_or(0), cfg.page());
    if give == 0 || base.saturating_add(give) < view.floor() {
        // Nothing to give, or only a raise that would stay below X's floor.
        return Plan::nothing(Some(x), n, Outcome::FallbackKill);
    }
    let spares: Vec<u64> = donors.iter().map(|&(_, s)| s).collect();
    let shares = apportion(from_donors, &spares, cfg.page());
    let mut freed = 0;
    for (&(d, _), &share) in donors.iter().zip(&shares) {
        if share > 0 {
            // Shares never exceed spares, so this is always accepted.
            freed += b.shrink_by(d, share, Reason::Donate).unwrap_or(0);
        }
    }
    let give = from_global + freed.min(from_donors);
    // Accepted: within budget, aligned, and not below X's floor.
    let _ = b.grow_by(x, give, Reason::Grant);
    b.finish(Some(x), n)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::audit::Source;
    use crate::policy::plan::Change;
    use crate::policy::safety::{check_plan, guard, headroom};
    use crate::policy::snapshot::OomKind;
    use crate::policy::test_snapshots::*;

    fn decide(snap: &Snapshot, x: usize) -> Plan {
        let plan =
            Proportional.decide(snap, &oom(x, 0, OomKind::OomKill), &PolicyConfig::default());
        check_plan(snap, &plan, &PolicyConfig::default()).unwrap();
        plan
    }

    #[test]
    fn global_path_raises_by_the_need() {
        // N = max(100 − 64, 0.2 × 64, 32) MiB = 36 MiB; H = ⌊0.9 × 1024 MiB⌋ − 300 MiB.
        let s = snap(
            Some(1024 * MIB),
            300 * MIB,
            vec![cg(
                "/apps/web",
                Some(64 * MIB),
                64 * MIB,
                p1(16 * MIB, 100 * MIB, 50 * MIB),
            )],
        );
        assert_eq!(headroom(&s.global, &PolicyConfig::default()), 651_792_384);
        let plan = decide(&s, 0);
        assert_eq!(plan.needed, 36 * MIB);
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(
            (plan.changes[0].old, plan.changes[0].new),
            (Some(64 * MIB), 100 * MIB)
        );
        assert_eq!(plan.changes[0].reason, Reason::Grant);
        assert_eq!((plan.from_global, plan.from_donors), (36 * MIB, 0));
        assert_eq!(
            (plan.source, plan.outcome),
            (Source::Global, Outcome::Resolved)
        );
    }

    /// Global full (H = 0); web needs max(0, 40, 32) = 40 MiB.
    fn donor_case() -> Snapshot {
        snap(
            Some(1000 * MIB),
            900 * MIB,
            vec![
                cg("/apps/web", Some(200 * MIB), 200 * MIB, None),
                // guard 15 MiB → lowest 115 MiB → spare 185 MiB
                cg(
                    "/apps/batch",
                    Some(300 * MIB),
                    100 * MIB,
                    p1(50 * MIB, 400 * MIB, 150 * MIB),
                ),
                // usage above median: not a donor
                cg(
                    "/apps/busy",
                    Some(100 * MIB),
                    90 * MIB,
                    p1(10 * MIB, 100 * MIB, 50 * MIB),
                ),
                // floor 60 MiB above usage + guard (25 MiB) → spare 40 MiB
                cg(
                    "/apps/cache",
                    Some(100 * MIB),
                    20 * MIB,
                    p1(60 * MIB, 90 * MIB, 40 * MIB),
                ),
                // no Phase 1: not a donor
                cg("/apps/nophase", Some(500 * MIB), MIB, None),
                // unlimited: not a donor
                cg("/apps/free", None, MIB, p1(0, 10 * MIB, 5 * MIB)),
            ],
        )
    }

    #[test]
    fn donor_path_splits_the_need_exactly_by_spare() {
        let s = donor_case();
        let cfg = PolicyConfig::default();
        assert_eq!(guard(300 * MIB, &cfg), 15 * MIB);
        assert_eq!(donors(&s, 0, &cfg), vec![(1, 185 * MIB), (3, 40 * MIB)]);
        let plan = decide(&s, 0);
        // 10240 pages over spares 47360:10240 → 8419.56 and 1820.44 → 8420 + 1820.
        let expected = vec![
            Change {
                cgroup: 1,
                old: Some(300 * MIB),
                new: 300 * MIB - 8420 * PAGE,
                reason: Reason::Donate,
            },
            Change {
                cgroup: 3,
                old: Some(100 * MIB),
                new: 100 * MIB - 1820 * PAGE,
                reason: Reason::Donate,
            },
            Change {
                cgroup: 0,
                old: Some(200 * MIB),
                new: 240 * MIB,
                reason: Reason::Grant,
            },
        ];
        assert_eq!(plan.changes, expected);
        assert_eq!(plan.reclaimed(), plan.added_to_target());
        assert_eq!((plan.from_global, plan.from_donors), (0, 40 * MIB));
        assert_eq!(
            (plan.source, plan.outcome),
            (Source::Donors, Outcome::Resolved)
        );
        // The audit line carries the seed keys.
        let line = plan.audit_line(&s, "proportional", "react", 0);
        assert_eq!(line.oom_cgroup, "/apps/web");
        assert_eq!(line.added_memory, 40 * MIB);
        assert_eq!(line.adjusted_cgroups.len(), 2);
        assert_eq!(line.adjusted_cgroups[0].name, "/apps/batch");
        assert_eq!(line.adjusted_cgroups[0].reduced_memory, 8420 * PAGE);
        assert_eq!(line.limits_after["/apps/web"], 240 * MIB);
    }

    #[test]
    fn donors_below_need_are_combined_with_headroom() {
        // H = ⌊0.9 × 1000⌋ − 884 = 16 MiB; spares 185 + 40 MiB would do alone,
        // so shrink cache only: spare 10 MiB via a 90 MiB floor.
        let mut s = donor_case();
        s.global.usage = 884 * MIB;
        s.cgroups.remove(1); // drop batch
        s.cgroups[2].phase1 = p1(90 * MIB, 95 * MIB, 40 * MIB); // cache: spare 10 MiB
        let plan = decide(&s, 0);
        // Not enough together (16 + 10 < 40): everything, partial.
        assert_eq!(plan.added_to_target(), 26 * MIB);
        assert_eq!(plan.reclaimed(), 10 * MIB);
        assert_eq!(plan.changes[0].new, 90 * MIB);
        assert_eq!((plan.from_global, plan.from_donors), (16 * MIB, 10 * MIB));
        assert_eq!(
            (plan.source, plan.outcome),
            (Source::Mixed, Outcome::Partial)
        );

        // With a 30 MiB spare, 16 + 30 ≥ 40: 24 MiB from the donor, resolved.
        s.cgroups[2].phase1 = p1(70 * MIB, 95 * MIB, 40 * MIB);
        let plan = decide(&s, 0);
        assert_eq!(plan.added_to_target(), 40 * MIB);
        assert_eq!(plan.reclaimed(), 24 * MIB);
        assert_eq!((plan.from_global, plan.from_donors), (16 * MIB, 24 * MIB));
        assert_eq!(
            (plan.source, plan.outcome),
            (Source::Mixed, Outcome::Resolved)
        );
    }

    #[test]
    fn nothing_to_give_is_a_fallback_kill() {
        let s = snap(
            Some(1000 * MIB),
            1000 * MIB,
            vec![cg("/apps/web", Some(200 * MIB), 200 * MIB, None)],
        );
        let plan = decide(&s, 0);
        assert!(plan.is_empty());
        assert_eq!(plan.needed, 40 * MIB);
        assert_eq!(
            (plan.source, plan.outcome),
            (Source::None, Outcome::FallbackKill)
        );
    }

    #[test]
    fn unlimited_or_unknown_target_gets_nothing() {
        let s = snap(None, 0, vec![cg("/apps/web", None, 200 * MIB, None)]);
        let plan = decide(&s, 0);
        assert!(plan.is_empty());
        assert_eq!((plan.needed, plan.outcome), (0, Outcome::FallbackKill));
        let plan = decide(&s, 7);
        assert!(plan.is_empty());
        assert_eq!(plan.outcome, Outcome::FallbackKill);
    }

    #[test]
    fn partial_raise_below_the_targets_floor_is_not_made() {
        // web's limit 10 MiB is below its floor 100 MiB; only 8 MiB available.
        let s = snap(
            Some(1000 * MIB),
            892 * MIB,
            vec![cg(
                "/apps/web",
                Some(10 * MIB),
                10 * MIB,
                p1(100 * MIB, 200 * MIB, 150 * MIB),
            )],
        );
        let plan = decide(&s, 0);
        assert!(plan.is_empty());
        assert_eq!(plan.needed, 190 * MIB);
        assert_eq!(plan.outcome, Outcome::FallbackKill);
    }

    #[test]
    fn nested_cgroups_are_not_donors_to_each_other_nor_counted_twice() {
        let under = p1(0, 100 * MIB, 90 * MIB);
        let s = snap(
            Some(1000 * MIB),
            900 * MIB,
            vec![
                cg("/apps/web", Some(200 * MIB), 200 * MIB, None),
                cg("/apps/web/child", Some(200 * MIB), 10 * MIB, under.clone()),
                cg("/apps/batch", Some(200 * MIB), 10 * MIB, under.clone()),
                cg("/apps/batch/a", Some(200 * MIB), 10 * MIB, under.clone()),
                cg("/apps/batchx", Some(200 * MIB), 10 * MIB, under),
            ],
        );
        let cfg = PolicyConfig::default();
        let got: Vec<usize> = donors(&s, 0, &cfg).into_iter().map(|(i, _)| i).collect();
        assert_eq!(got, vec![2, 4]);
        // The child's OOM may not shrink its parent.
        let got: Vec<usize> = donors(&s, 1, &cfg).into_iter().map(|(i, _)| i).collect();
        assert_eq!(got, vec![2, 4]);
    }

    #[test]
    fn tick_changes_nothing() {
        let s = donor_case();
        let plan = Proportional.decide(&s, &Trigger::Tick, &PolicyConfig::default());
        assert!(plan.is_empty());
        assert_eq!(Proportional.tick_interval_ns(), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn plans_are_safe_exact_and_deterministic((s, trigger, cfg) in arb_case(true)) {
            let plan = Proportional.decide(&s, &trigger, &cfg);
            prop_assert_eq!(check_plan(&s, &plan, &cfg), Ok(()));
            prop_assert_eq!(&plan, &Proportional.decide(&s, &trigger, &cfg));
            let Trigger::Oom { cgroup: x, .. } = trigger else { unreachable!() };
            let h = headroom(&s.global, &cfg);
            for c in &plan.changes {
                let v = &s.cgroups[c.cgroup];
                prop_assert!(c.new >= v.floor());
                if c.cgroup == x {
                    prop_assert_eq!(c.reason, Reason::Grant);
                    prop_assert!(c.new > c.old.unwrap());
                } else {
                    prop_assert_eq!(c.reason, Reason::Donate);
                    let old = c.old.unwrap();
                    prop_assert!(c.new < old);
                    prop_assert!(c.new >= v.usage + guard(old, &cfg));
                    prop_assert!(v.usage < v.phase1.as_ref().unwrap().median);
                }
            }
            prop_assert!(plan.from_global <= h);
            // Exact: the target gets what the donors give plus the global part.
            prop_assert_eq!(plan.added_to_target(), plan.reclaimed() + plan.from_global);
            prop_assert_eq!(plan.from_donors, plan.reclaimed());
            match plan.source {
                Source::Donors => prop_assert_eq!(plan.added_to_target(), plan.reclaimed()),
                Source::Global => prop_assert_eq!(plan.reclaimed(), 0),
                Source::None => prop_assert!(plan.is_empty()),
                Source::Mixed => prop_assert!(plan.from_global > 0 && plan.reclaimed() > 0),
            }
            match plan.outcome {
                Outcome::Resolved => prop_assert_eq!(plan.added_to_target(), plan.needed),
                Outcome::Partial => prop_assert!(plan.added_to_target() > 0 && plan.added_to_target() < plan.needed),
                Outcome::FallbackKill => prop_assert!(plan.is_empty()),
                Outcome::DryRun => prop_assert!(false, "policies never dry-run"),
            }
            // Step 1 is taken whenever the headroom covers the need.
            if let Some(n) = need(&s, x, &cfg) {
                if h >= n {
                    prop_assert_eq!(plan.changes.len(), 1);
                    prop_assert_eq!(plan.from_global, n);
                }
            }
        }

        #[test]
        fn plans_are_safe_with_unaligned_values((s, trigger, cfg) in arb_case(false)) {
            let plan = Proportional.decide(&s, &trigger, &cfg);
            prop_assert_eq!(check_plan(&s, &plan, &cfg), Ok(()));
            prop_assert!(plan.added_to_target() <= plan.reclaimed() + plan.from_global);
        }
    }
}
