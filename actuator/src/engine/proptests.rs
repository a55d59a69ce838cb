//! Property test of [`Engine::handle`] on random trees whose usages drift
//! between the snapshot and the writes, and whose donors randomly answer
//! EBUSY: no limit is ever written below `max(floor, usage + guard)`, the
//! target gets at most what was freed plus the headroom, and the sum of the
//! managed limits grows by at most the headroom.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use cgcal_core::cgroupfs::{CgroupFsError, MemoryFs};
use cgcal_core::name::CgroupName;
use cgcal_core::policy::safety::{guard, headroom};
use cgcal_core::policy::{GlobalView, OomKind, PolicyConfig};
use cgcal_core::trace::CgroupVersion;
use proptest::prelude::*;

use super::hooked_fs::{HookedFs, Op, Verdict};
use super::tests::{n, Setup};
use super::Engine;

const MIB: u64 = 1 << 20;
const PAGE: u64 = 4096;

#[derive(Debug, Clone)]
struct Leaf {
    limit: u64,
    usage: u64,
    stats: Option<(u64, u64, u64)>,
    drift: u64,
    busy: bool,
    grouped: bool,
}

fn arb_leaf() -> impl Strategy<Value = Leaf> {
    (
        4u64..256,
        0u64..=100,
        prop::option::of((0u64..=100, 0u64..=100, 0u64..=300)),
        0u64..64,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(limit_mib, usage_pct, stats, drift_mib, busy, grouped)| {
            let limit = limit_mib * MIB;
            let usage = limit / 100 * usage_pct / PAGE * PAGE;
            let stats = stats.map(|(a, b, c)| {
                let mut v = [a * limit / 100, b * limit / 100, c * limit / 100];
                v.sort();
                (v[0], v[1], v[2])
            });
            Leaf {
                limit,
                usage,
                stats,
                drift: drift_mib * MIB,
                busy: busy && drift_mib % 3 == 0,
                grouped,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn applying_never_breaks_the_safety_rules(
        leaves in prop::collection::vec(arb_leaf(), 2..6),
        target in any::<prop::sample::Index>(),
        root_limit_mib in 64u64..2048,
        root_usage_pct in 80u64..=100,
        group_limit_mib in prop::option::of(16u64..512),
    ) {
        let names: Vec<CgroupName> = leaves
            .iter()
            .enumerate()
            .map(|(i, l)| if l.grouped { n(&format!("/r/g/c{i}")) } else { n(&format!("/r/c{i}")) })
            .collect();
        let stats: Vec<(String, u64, u64, u64)> = names
            .iter()
            .zip(&leaves)
            .filter_map(|(name, l)| l.stats.map(|(a, b, c)| (name.to_string(), a, b, c)))
            .collect();
        let stats_ref: Vec<(&str, u64, u64, u64)> =
            stats.iter().map(|(s, a, b, c)| (s.as_str(), *a, *b, *c)).collect();
        let setup = Setup::new_bytes(&stats_ref);
        let fs = MemoryFs::new(CgroupVersion::V1, n("/r"));
        let root_limit = root_limit_mib * MIB;
        let root_usage = root_limit / 100 * root_usage_pct;
        fs.insert(&n("/r"), root_usage, Some(root_limit)).unwrap();
        if leaves.iter().any(|l| l.grouped) {
            let used: u64 = leaves.iter().filter(|l| l.grouped).map(|l| l.usage).sum();
            fs.insert(&n("/r/g"), used, group_limit_mib.map(|m| m * MIB)).unwrap();
        }
        for (name, l) in names.iter().zip(&leaves) {
            fs.insert(name, l.usage, Some(l.limit)).unwrap();
        }
        let cfg = PolicyConfig::default();
        let h = headroom(
            &GlobalView { name: n("/r"), limit: Some(root_limit), usage: root_usage, host_memory: None },
            &cfg,
        );
        let before: Vec<u64> = leaves.iter().map(|l| l.limit).collect();

        let violations = Arc::new(Mutex::new(Vec::<String>::new()));
        let (inner, v, ls, ns) = (fs.clone(), violations.clone(), leaves.clone(), names.clone());
        let mut usage_reads = vec![0usize; leaves.len()];
        let hooked = HookedFs::new(Box::new(fs.clone()), move |op| {
            match op {
                Op::Usage(c) => {
                    if let Some(i) = ns.iter().position(|x| x == c) {
                        usage_reads[i] += 1;
                        if usage_reads[i] == 2 {
                            let st = inner.state(c).unwrap();
                            inner.set_usage(c, st.usage + ls[i].drift).unwrap();
                        }
                    }
                    Verdict::Pass
                }
                Op::SetLimit(c, Some(value)) => {
                    let Some(i) = ns.iter().position(|x| x == c) else { return Verdict::Pass };
                    let st = inner.state(c).unwrap();
                    let cur = st.limit.unwrap();
                    if *value < cur {
                        let floor = ls[i].stats.map_or(0, |s| s.0);
                        let lowest = floor.max(st.usage + guard(cur, &PolicyConfig::default()));
                        if *value < lowest {
                            v.lock().unwrap().push(format!("{c}: {value} < {lowest}"));
                        }
                        if ls[i].busy {
                            return Verdict::Fail(CgroupFsError::Busy { cgroup: c.clone(), path: PathBuf::from("x") });
                        }
                    }
                    Verdict::Pass
                }
                _ => Verdict::Pass,
            }
        });
        let mut e = Engine::new(Box::new(hooked), &setup.config).unwrap();
        let t = target.index(leaves.len());
        let d = e.handle(&names[t], OomKind::Oom, Instant::now()).unwrap();

        prop_assert!(violations.lock().unwrap().is_empty(), "{:?}", violations.lock().unwrap());
        let after: Vec<u64> = names.iter().map(|c| fs.state(c).unwrap().limit.unwrap()).collect();
        let freed: u64 = before.iter().zip(&after).map(|(b, a)| b.saturating_sub(*a)).sum();
        let added = after[t].saturating_sub(before[t]);
        prop_assert_eq!(added, d.added_to_target);
        prop_assert!(added <= freed + h, "added {} freed {} headroom {}", added, freed, h);
        prop_assert!(after.iter().sum::<u64>() <= before.iter().sum::<u64>() + h);
        for (name, value) in &d.line.limits_after {
            let now = fs.state(&n(name)).unwrap().limit.unwrap();
            prop_assert_eq!(*value, now, "{} re-read", name);
        }
        for (i, l) in leaves.iter().enumerate() {
            if let Some((min, _, _)) = l.stats {
                prop_assert!(after[i] >= min.min(before[i]), "{} below its floor", names[i]);
            }
        }
    }
}
