//! Reallocation policies (SPEC §5): one trait, [`Policy`], implemented by
//! every algorithm and called unchanged by `cgsim replay` (on simulated
//! snapshots) and by `cgact` (on snapshots read from the cgroup filesystem).
//!
//! A policy is pure: it sees a [`Snapshot`] and a [`Trigger`] and returns a
//! [`Plan`]; it never reads a file or the clock. Plans are built through
//! [`PlanBuilder`], which refuses any unsafe step, so every plan passes
//! [`check_plan`] (the rules are in [`safety`]).
//!
//! ```
//! use cgcal_core::name::CgroupName;
//! use cgcal_core::policy::{self, CgroupView, GlobalView, OomKind, PolicyConfig, Snapshot, Trigger};
//! use cgcal_core::stats::Phase1;
//!
//! const MIB: u64 = 1 << 20;
//! let snap = Snapshot {
//!     time_ns: 0,
//!     cgroups: vec![CgroupView {
//!         name: CgroupName::parse("/apps/web").unwrap(),
//!         limit: Some(64 * MIB),
//!         usage: 64 * MIB,
//!         phase1: Some(Phase1 { min: 16 * MIB, max: 100 * MIB, median: 50 * MIB, ..Default::default() }),
//!         original_limit: Some(64 * MIB),
//!     }],
//!     global: GlobalView { name: CgroupName::parse("/apps").unwrap(), limit: Some(1024 * MIB), usage: 300 * MIB, host_memory: None },
//! };
//! let cfg = PolicyConfig::default();
//! let mut algo = policy::by_name("proportional").unwrap();
//! let trigger = Trigger::Oom { cgroup: 0, usage_at_oom: 64 * MIB, kind: OomKind::OomKill };
//! let plan = algo.decide(&snap, &trigger, &cfg);
//! policy::check_plan(&snap, &plan, &cfg).unwrap();
//! // N = max(100 − 64, 0.2 × 64, 32) MiB = 36 MiB, from the global headroom.
//! assert_eq!(plan.changes[0].new, 100 * MIB);
//! ```

pub mod apportion;
pub mod autopilot;
pub mod builder;
pub mod config;
pub mod history;
pub mod krr;
pub mod plan;
pub mod proportional;
pub mod recommendation;
pub mod safety;
pub mod snapshot;
pub mod static_limits;
pub mod vpa;

#[cfg(test)]
mod test_snapshots;

pub use builder::PlanBuilder;
pub use config::{ConfigError, PolicyConfig};
pub use plan::{Change, Plan, Reason};
pub use safety::{check_change, check_plan, SafetyViolation};
pub use snapshot::{CgroupView, GlobalView, OomKind, Snapshot, Trigger};

/// A reallocation algorithm. Implementations keep only bounded state
/// (history windows of a fixed number of buckets per cgroup).
pub trait Policy: Send {
    /// The algorithm's name as `--algo` takes it (`proportional`).
    fn name(&self) -> &'static str;

    /// One line for `cgsim algos`.
    fn describe(&self) -> &'static str;

    /// Periodic observation of every sample: `cgsim` calls it at each sample
    /// time (training window included, if it wants history warmed up), `cgact`
    /// on its sampling tick. History-based policies (`autopilot`, `krr`)
    /// record peaks here; the others ignore it.
    fn observe(&mut self, snap: &Snapshot);

    /// Decides what to do about `trigger` in `snap`. The plan satisfies
    /// [`check_plan`] against `snap` and `cfg`. May update internal state
    /// (a remembered OOM usage).
    fn decide(&mut self, snap: &Snapshot, trigger: &Trigger, cfg: &PolicyConfig) -> Plan;

    /// Nanoseconds between the [`Trigger::Tick`]s the policy wants, `None`
    /// when it is driven by events only.
    fn tick_interval_ns(&self) -> Option<u64>;
}

/// Every algorithm's name, in the order `cgsim algos` lists them.
pub fn all_names() -> &'static [&'static str] {
    &["static", "proportional", "vpa", "autopilot", "krr"]
}

/// A fresh instance of the algorithm called `name`, `None` for an unknown name.
pub fn by_name(name: &str) -> Option<Box<dyn Policy>> {
    Some(match name {
        "static" => Box::new(static_limits::StaticLimits),
        "proportional" => Box::new(proportional::Proportional),
        "vpa" => Box::new(vpa::Vpa),
        "autopilot" => Box::new(autopilot::Autopilot::new()),
        "krr" => Box::new(krr::Krr::new()),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::test_snapshots::{arb_case, arb_wild_case};
    use super::*;

    #[test]
    fn every_name_builds_a_policy_of_that_name() {
        for name in all_names() {
            let p = by_name(name).unwrap();
            assert_eq!(p.name(), *name);
            assert!(!p.describe().is_empty());
        }
        assert!(by_name("nope").is_none());
    }

    proptest! {
        /// Every algorithm, after observing random snapshots, returns safe
        /// plans for OOMs and Ticks, and the same plan from the same history.
        #[test]
        fn every_policy_plans_safely_and_deterministically(
            history in prop::collection::vec(arb_case(true), 0..4),
            (s, trigger, cfg) in arb_case(false),
        ) {
            for name in all_names() {
                let mut a = by_name(name).unwrap();
                let mut b = by_name(name).unwrap();
                for (i, (h, _, _)) in history.iter().enumerate() {
                    let mut h = h.clone();
                    h.time_ns = i as u64 * 60_000_000_000;
                    a.observe(&h);
                    b.observe(&h);
                }
                let mut s = s.clone();
                s.time_ns = 10 * 60_000_000_000;
                for t in [trigger, Trigger::Tick] {
                    let plan = a.decide(&s, &t, &cfg);
                    prop_assert_eq!(check_plan(&s, &plan, &cfg), Ok(()), "{} {:?}", name, t);
                    prop_assert_eq!(&plan, &b.decide(&s, &t, &cfg));
                    for c in &plan.changes {
                        prop_assert!(c.new >= s.cgroups[c.cgroup].floor());
                    }
                }
            }
        }
    }

    proptest! {
        /// No input makes a policy panic, and every plan is still safe when
        /// the configuration is valid.
        #[test]
        fn no_policy_panics_on_any_input(
            (s, trigger, cfg) in arb_wild_case(),
            times in prop::collection::vec(any::<u64>(), 0..4),
        ) {
            for name in all_names() {
                let mut p = by_name(name).unwrap();
                for t in &times {
                    let mut h = s.clone();
                    h.time_ns = *t;
                    p.observe(&h);
                }
                for t in [trigger, Trigger::Tick] {
                    let plan = p.decide(&s, &t, &cfg);
                    if cfg.validate().is_ok() {
                        prop_assert_eq!(check_plan(&s, &plan, &cfg), Ok(()), "{} {:?}", name, t);
                    }
                }
            }
        }
    }
}
