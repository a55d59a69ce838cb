//! The restore plan: pure, from what each cgroup's limit was (the source)
//! and what it is now (read live) to an ordered list of steps.
//!
//! * A cgroup already at its original limit is **unchanged**; one that no
//!   longer exists is **gone**.
//! * **Lowers first, then raises**, so the sum of the limits never passes
//!   what it was before or after the restore. Lowers go deepest first (a
//!   child before its parent), raises outermost first (a parent before its
//!   child), so an ancestor never caps a child in between.
//! * A lower is never below the cgroup's usage plus the guard
//!   ([`lowest_safe_limit`], no Phase 1 floor): on v2 such a write would
//!   OOM-kill, on v1 it answers EBUSY. Such a cgroup is **skipped** and left
//!   at its limit, never forced.

use std::fmt;

use cgcal_core::name::CgroupName;
use cgcal_core::policy::safety::{align_down, lowest_safe_limit};
use cgcal_core::policy::{CgroupView, PolicyConfig};

/// A cgroup's limit now, read live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Live {
    /// Its limit (`None`: unlimited).
    pub limit: Option<u64>,
    /// Its usage in bytes.
    pub usage: u64,
}

/// One cgroup to restore: its original limit and, if it still exists, its
/// state now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The cgroup.
    pub name: CgroupName,
    /// The limit to restore (`None`: unlimited).
    pub original: Option<u64>,
    /// Its state now; `None` when it no longer exists.
    pub live: Option<Live>,
}

/// What to do about one cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write a lower limit (the original), above usage + guard.
    Lower(u64),
    /// Write a higher limit (the original; `None`: unlimited).
    Raise(Option<u64>),
    /// Already at the original limit.
    Unchanged,
    /// Not written: the reason, for the operator.
    Skip(String),
    /// The cgroup no longer exists.
    Gone,
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The cgroup.
    pub name: CgroupName,
    /// Its limit when the plan was made (`None`: unlimited or gone).
    pub before: Option<u64>,
    /// The limit to restore.
    pub original: Option<u64>,
    /// What to do.
    pub action: Action,
}

/// A limit as the table shows it: bytes, or `max` for unlimited.
pub struct Limit(pub Option<u64>);

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(bytes) => write!(f, "{bytes}"),
            None => f.write_str("max"),
        }
    }
}

/// The lowest limit a restore may write on a cgroup with `live` state:
/// usage plus the guard of its current limit, page-aligned up.
pub fn lowest_safe(name: &CgroupName, live: Live, cfg: &PolicyConfig) -> u64 {
    let view = CgroupView {
        name: name.clone(),
        limit: live.limit,
        usage: live.usage,
        phase1: None,
        original_limit: None,
    };
    lowest_safe_limit(&view, cfg)
}

/// Decides one cgroup (see the module documentation).
pub fn decide(o: &Observed, cfg: &PolicyConfig) -> Action {
    let Some(live) = o.live else {
        return Action::Gone;
    };
    // The kernel keeps limits in whole pages.
    let target = o.original.map(|l| align_down(l, cfg.page()));
    match (live.limit, target) {
        (now, want) if now == want => Action::Unchanged,
        (Some(now), Some(want)) if want > now => Action::Raise(Some(want)),
        (Some(_), None) => Action::Raise(None),
        (now, Some(want)) => {
            let safe = lowest_safe(&o.name, live, cfg);
            if want < safe {
                Action::Skip(format!(
                    "usage {} above the original limit {} (less the guard: needs at least {safe}): left at {}",
                    live.usage,
                    want,
                    Limit(now)
                ))
            } else {
                Action::Lower(want)
            }
        }
        (None, None) => Action::Unchanged,
    }
}

/// The ordered plan: lowers (deepest first), raises (outermost first), then
/// the cgroups left alone (unchanged, skipped, gone) by name.
pub fn plan(observed: &[Observed], cfg: &PolicyConfig) -> Vec<Step> {
    let mut steps: Vec<Step> = observed
        .iter()
        .map(|o| Step {
            name: o.name.clone(),
            before: o.live.and_then(|l| l.limit),
            original: o.original,
            action: decide(o, cfg),
        })
        .collect();
    steps.sort_by(|a, b| {
        let rank = |s: &Step| match s.action {
            Action::Lower(_) => 0,
            Action::Raise(_) => 1,
            _ => 2,
        };
        rank(a).cmp(&rank(b)).then_with(|| match a.action {
            Action::Lower(_) => b.name.cmp(&a.name),
            _ => a.name.cmp(&b.name),
        })
    });
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn obs(name: &str, original: Option<u64>, live: Option<(Option<u64>, u64)>) -> Observed {
        Observed {
            name: CgroupName::parse(name).unwrap(),
            original,
            live: live.map(|(limit, usage)| Live { limit, usage }),
        }
    }

    fn names_and_actions(steps: &[Step]) -> Vec<(String, Action)> {
        steps
            .iter()
            .map(|s| (s.name.to_string(), s.action.clone()))
            .collect()
    }

    #[test]
    fn lowers_come_first_deepest_first_then_raises_outermost_first() {
        let cfg = PolicyConfig::default();
        let steps = plan(
            &[
                obs("/r/a", Some(64 * MIB), Some((Some(32 * MIB), 10 * MIB))),
                obs("/r/p", Some(32 * MIB), Some((Some(64 * MIB), 10 * MIB))),
                obs("/r/p/c", Some(16 * MIB), Some((Some(48 * MIB), 4 * MIB))),
                obs("/r/q", Some(64 * MIB), Some((Some(32 * MIB), 0))),
                obs("/r/q/d", None, Some((Some(8 * MIB), 0))),
                obs("/r/same", Some(8 * MIB), Some((Some(8 * MIB), 0))),
                obs("/r/gone", Some(8 * MIB), None),
            ],
            &cfg,
        );
        assert_eq!(
            names_and_actions(&steps),
            vec![
                ("/r/p/c".into(), Action::Lower(16 * MIB)),
                ("/r/p".into(), Action::Lower(32 * MIB)),
                ("/r/a".into(), Action::Raise(Some(64 * MIB))),
                ("/r/q".into(), Action::Raise(Some(64 * MIB))),
                ("/r/q/d".into(), Action::Raise(None)),
                ("/r/gone".into(), Action::Gone),
                ("/r/same".into(), Action::Unchanged),
            ]
        );
        assert_eq!(steps[0].before, Some(48 * MIB));
        assert_eq!(steps[0].original, Some(16 * MIB));
    }

    #[test]
    fn a_lower_below_usage_plus_guard_is_skipped_with_the_figures() {
        let cfg = PolicyConfig::default();
        // Guard of a 64 MiB limit: max(4 MiB, 5%) = 4 MiB (3.2 rounded up to the minimum).
        let o = obs("/r/a", Some(16 * MIB), Some((Some(64 * MIB), 13 * MIB)));
        let Action::Skip(why) = decide(&o, &cfg) else {
            panic!("not skipped: {:?}", decide(&o, &cfg));
        };
        assert!(
            why.contains(&format!("usage {}", 13 * MIB))
                && why.contains(&format!("original limit {}", 16 * MIB))
                && why.ends_with(&format!("left at {}", 64 * MIB)),
            "{why}"
        );
        // Exactly usage + guard is allowed.
        let o = obs("/r/a", Some(16 * MIB), Some((Some(64 * MIB), 12 * MIB)));
        assert_eq!(decide(&o, &cfg), Action::Lower(16 * MIB));
        // From unlimited to a limit is a lower, checked the same way.
        let o = obs("/r/a", Some(16 * MIB), Some((None, 15 * MIB)));
        assert!(matches!(decide(&o, &cfg), Action::Skip(w) if w.ends_with("left at max")));
    }

    #[test]
    fn unchanged_compares_whole_pages_and_unlimited() {
        let cfg = PolicyConfig::default();
        let o = obs("/r/a", Some(8 * MIB + 100), Some((Some(8 * MIB), 0)));
        assert_eq!(decide(&o, &cfg), Action::Unchanged);
        let o = obs("/r/a", None, Some((None, 5 * MIB)));
        assert_eq!(decide(&o, &cfg), Action::Unchanged);
        assert_eq!(Limit(None).to_string(), "max");
        assert_eq!(Limit(Some(4096)).to_string(), "4096");
    }
}
