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
