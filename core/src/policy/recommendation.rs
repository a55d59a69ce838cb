//! Applying periodic per-cgroup limit recommendations (the Tick of the
//! history-based peers) within the safety rules and the global budget.

use super::apportion::apportion;
use super::builder::PlanBuilder;
use super::config::PolicyConfig;
use super::plan::{Plan, Reason};
use super::safety::{self, align_down, align_up};
use super::snapshot::Snapshot;

/// Turns one recommended limit per cgroup (`recommended[i]` for
/// `snap.cgroups[i]`, `None`: no opinion) into a Tick plan:
///
/// * unlimited cgroups and cgroups without a recommendation are left alone;
/// * a recommendation (page-aligned up) below the current limit lowers it,
///   but never below [`lowest_safe_limit`](safety::lowest_safe_limit)
///   (floor, usage + guard);
/// * a recommendation above the current limit raises it, never to less than
///   the cgroup's usage; raises are funded by what the lowerings freed plus
///   the global headroom; when they want more than that, each gets its share
///   in proportion to what it wanted (whole pages, exact); a raise that
///   would stay below the cgroup's floor is dropped.
///
/// `needed` of the plan is the sum of the raises wanted; its outcome is
/// `partial` when they could not all be granted.
pub fn apply(snap: &Snapshot, cfg: &PolicyConfig, recommended: &[Option<u64>]) -> Plan {
    let page = cfg.page();
    let mut b = PlanBuilder::new(snap, cfg);
    let mut raises: Vec<(usize, u64)> = Vec::new();
    for (i, (view, rec)) in snap.cgroups.iter().zip(recommended).enumerate() {
        let (Some(limit), Some(rec)) = (view.limit, *rec) else {
            continue;
        };
        let base = align_down(limit, page);
        let want = align_up(rec.max(view.usage), page);
        if want < base {
            let new = want.max(safety::lowest_safe_limit(view, cfg));
            if new < base {
                // Accepted: aligned, at or above floor and usage + guard.
                let _ = b.shrink_to(i, new, Reason::Recommend);
            }
        } else if want > base {
            raises.push((i, want - base));
        }
    }
    let wanted: Vec<u64> = raises.iter().map(|&(_, w)| w).collect();
    let needed = wanted.iter().fold(0u64, |a, &w| a.saturating_add(w));
    let shares = apportion(b.available().min(needed), &wanted, page);
    for (&(i, _), &share) in raises.iter().zip(&shares) {
        let view = &snap.cgroups[i];
        let base = align_down(view.limit.unwrap_or(0), page);
        if share > 0 && base.saturating_add(share) >= view.floor() {
            // Accepted: within the budget (shares add up to at most what is available).
            let _ = b.grow_by(i, share, Reason::Recommend);
        }
    }
    b.finish(None, needed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Outcome, Source};
    use crate::policy::safety::check_plan;
    use crate::policy::test_snapshots::*;

    #[test]
    fn lowers_to_the_recommendation_but_not_below_usage_guard_or_floor() {
        let s = snap(
            Some(1000 * MIB),
            1000 * MIB, // no headroom
            vec![
                cg("/apps/a", Some(500 * MIB), 80 * MIB, None),
                cg("/apps/b", Some(500 * MIB), 200 * MIB, None),
                cg("/apps/c", Some(500 * MIB), 10 * MIB, p1(300 * MIB, 0, 0)),
                cg("/apps/d", None, 10 * MIB, None),
                cg("/apps/e", Some(500 * MIB), 10 * MIB, None),
            ],
        );
        let cfg = PolicyConfig::default();
        let recs = [
            Some(110 * MIB),
            Some(110 * MIB),
            Some(110 * MIB),
            Some(MIB),
            None,
        ];
        let plan = apply(&s, &cfg, &recs);
        assert_eq!(check_plan(&s, &plan, &cfg), Ok(()));
        let news: Vec<(usize, u64)> = plan.changes.iter().map(|c| (c.cgroup, c.new)).collect();
        // a: 110 MiB; b: usage 200 + guard 25 MiB; c: its floor; d unlimited, e no opinion.
        assert_eq!(news, vec![(0, 110 * MIB), (1, 225 * MIB), (2, 300 * MIB)]);
        assert_eq!(
            (plan.needed, plan.source, plan.outcome),
            (0, Source::None, Outcome::Resolved)
        );
    }

    #[test]
    fn raises_share_what_is_available() {
        // headroom 30 MiB; a frees 40 MiB; b and c want 60 and 20 MiB (70 available).
        let s = snap(
            Some(1000 * MIB),
            870 * MIB,
            vec![
                cg("/apps/a", Some(100 * MIB), 10 * MIB, None),
                cg("/apps/b", Some(100 * MIB), 100 * MIB, None),
                cg("/apps/c", Some(100 * MIB), 100 * MIB, None),
            ],
        );
        let cfg = PolicyConfig::default();
        let plan = apply(
            &s,
            &cfg,
            &[Some(60 * MIB), Some(160 * MIB), Some(120 * MIB)],
        );
        assert_eq!(check_plan(&s, &plan, &cfg), Ok(()));
        assert_eq!(plan.reclaimed(), 40 * MIB);
        assert_eq!(plan.granted(), 70 * MIB);
        // 70 × 60/80 = 52.5 MiB, 70 × 20/80 = 17.5 MiB, in pages.
        assert_eq!(plan.changes[1].new - 100 * MIB, 52 * MIB + MIB / 2);
        assert_eq!(plan.changes[2].new - 100 * MIB, 17 * MIB + MIB / 2);
        assert_eq!(
            (plan.needed, plan.from_donors, plan.from_global),
            (80 * MIB, 40 * MIB, 30 * MIB)
        );
        assert_eq!(
            (plan.source, plan.outcome),
            (Source::Mixed, Outcome::Partial)
        );
    }
}
