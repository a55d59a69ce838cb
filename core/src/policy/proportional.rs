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
