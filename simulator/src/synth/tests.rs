//! Properties of every scenario: determinism, what the kernel would have
//! recorded, and each scenario's story.

use std::collections::BTreeMap;
use std::time::Duration;

use cgcal_core::trace::{read_all, CgroupDef, Event, EventKind, Sample, TraceReader};

use super::fleet::{MIB, PAGE};
use super::*;

const ALL: [Scenario; 6] = [
    Scenario::Steady,
    Scenario::Leak,
    Scenario::Spike,
    Scenario::Diurnal,
    Scenario::Batch,
    Scenario::NoisyNeighbour,
];

fn bytes(scenario: Scenario, seed: u64, secs: u64) -> (Vec<u8>, Outcome) {
    write_scenario(
        scenario,
        seed,
        Duration::from_secs(secs),
        Vec::new(),
        "<test>",
    )
    .unwrap()
}

struct Decoded {
    defs: Vec<CgroupDef>,
    samples: Vec<Sample>,
    events: Vec<Event>,
    global_limit: u64,
}

impl Decoded {
    fn name(&self, id: u32) -> &str {
        self.defs[id as usize].name.as_str()
    }

    fn kills_by_name(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for e in &self.events {
            if let EventKind::OomKill { .. } = e.kind {
                *out.entry(self.name(e.cgroup).to_string()).or_insert(0) += 1;
            }
        }
        out
    }

    /// Usages of `name` in the first half and the last quarter of the trace.
    fn halves(&self, name: &str) -> (Vec<u64>, Vec<u64>) {
        let id = self
            .defs
            .iter()
            .find(|d| d.name.as_str() == name)
            .unwrap()
            .id;
        let usages: Vec<u64> = self
            .samples
            .iter()
            .filter(|s| s.cgroup == id)
            .map(|s| s.usage)
            .collect();
        let n = usages.len();
        (usages[..n / 2].to_vec(), usages[n * 3 / 4..].to_vec())
    }
}

fn decode(bytes: &[u8]) -> Decoded {
    let (header, defs, samples, events, damage) =
        read_all(TraceReader::new(bytes).unwrap()).unwrap();
    assert!(damage.is_empty());
    assert_eq!(header.root.as_str(), "/fleet");
    assert_eq!(header.interval_ns, 1_000_000_000);
    let root = samples.iter().find(|s| s.cgroup == 0).unwrap();
    assert_eq!(defs[0].name.as_str(), "/fleet");
    let global_limit = root.limit.unwrap();
    assert!(header.host_memory.unwrap() > global_limit);
    Decoded {
        defs,
        samples,
        events,
        global_limit,
    }
}

#[test]
fn same_seed_same_bytes_and_seeds_differ() {
    for scenario in ALL {
        let (a, _) = bytes(scenario, 11, 900);
        let (b, _) = bytes(scenario, 11, 900);
        let (c, _) = bytes(scenario, 12, 900);
        assert_eq!(a, b, "{scenario:?}");
        assert_ne!(a, c, "{scenario:?}");
    }
}

#[test]
fn every_trace_is_what_the_kernel_would_have_recorded() {
    for scenario in ALL {
        for seed in [1, 2, 3] {
            let (raw, outcome) = bytes(scenario, seed, 1800);
            let t = decode(&raw);
            let what = format!("{scenario:?} seed {seed}");
            assert_eq!(outcome.global_kills, 0, "{what}");
            assert_eq!(outcome.samples, t.samples.len() as u64, "{what}");
            let children = t.defs.len() - 1;
            assert!((5..=20).contains(&children), "{what}: {children} cgroups");
            let mut by_time: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
            for s in &t.samples {
                let limit = s.limit.unwrap();
                assert!(s.usage <= limit, "{what}: {s:?}");
                assert_eq!(s.usage % PAGE, 0, "{what}");
                assert_eq!(limit % PAGE, 0, "{what}");
                assert!(s.inactive_file.unwrap() <= s.usage, "{what}");
                let entry = by_time.entry(s.time_ns).or_default();
                match s.cgroup {
                    0 => entry.0 = s.usage,
                    _ => {
                        assert!((64 * MIB..=4096 * MIB).contains(&limit), "{what}: {limit}");
                        entry.1 += s.usage;
                    }
                }
            }
            for (time, (global, sum)) in by_time {
                assert_eq!(global, sum, "{what} at {time}");
                assert!(global <= t.global_limit, "{what} at {time}");
            }
            let mut kills = 0;
            for e in &t.events {
                let EventKind::OomKill { usage, limit } = e.kind else {
                    continue;
                };
                kills += 1;
                assert_eq!(usage, limit, "{what}: killed at the limit");
                let at = t
                    .samples
                    .iter()
                    .find(|s| s.cgroup == e.cgroup && s.time_ns == e.time_ns)
                    .unwrap();
                assert_eq!(Some(at.usage), limit, "{what}: sample capped at the limit");
            }
            assert_eq!(kills, outcome.kills, "{what}");
        }
    }
}

#[test]
fn steady_never_kills() {
    for seed in 1..=4 {
        assert_eq!(bytes(Scenario::Steady, seed, 3600).1.kills, 0);
    }
}

#[test]
fn leak_kills_only_the_leaky_service_which_restarts_from_its_base() {
    for seed in 1..=4 {
        let t = decode(&bytes(Scenario::Leak, seed, 3600).0);
        let kills = t.kills_by_name();
        assert_eq!(
            kills.keys().collect::<Vec<_>>(),
            ["/fleet/leaky"],
            "{kills:?}"
        );
        assert!((3..=5).contains(&kills["/fleet/leaky"]), "{kills:?}");
        let id = t
            .defs
            .iter()
            .find(|d| d.name.as_str() == "/fleet/leaky")
            .unwrap()
            .id;
        let leaky: Vec<&Sample> = t.samples.iter().filter(|s| s.cgroup == id).collect();
        for e in t.events.iter().filter(|e| e.cgroup == id) {
            let i = leaky.iter().position(|s| s.time_ns == e.time_ns).unwrap();
            if let Some(next) = leaky.get(i + 1) {
                assert!(next.usage < leaky[i].usage / 2, "restart from the base");
            }
        }
    }
}

#[test]
fn spike_kills_only_spiky_services_while_the_others_idle() {
    for seed in 1..=4 {
        let t = decode(&bytes(Scenario::Spike, seed, 3600).0);
        let kills = t.kills_by_name();
        assert!(!kills.is_empty());
        assert!(
            kills.keys().all(|k| k.starts_with("/fleet/spiky-")),
            "{kills:?}"
        );
        for s in t
            .samples
            .iter()
            .filter(|s| t.name(s.cgroup).starts_with("/fleet/idle-"))
        {
            assert!(s.usage < s.limit.unwrap() / 2, "idle far below the limit");
        }
    }
}

#[test]
fn diurnal_kills_at_peak_time() {
    for seed in 1..=4 {
        let (raw, outcome) = bytes(Scenario::Diurnal, seed, 3600);
        assert!(outcome.kills > 0);
        let t = decode(&raw);
        let start = t.samples[0].time_ns;
        for e in &t.events {
            let at = (e.time_ns - start) / 1_000_000_000;
            assert!(
                (900..2700).contains(&at),
                "kill at {at} s, far from the peak"
            );
        }
    }
}

#[test]
fn batch_jobs_come_and_go_and_some_are_killed() {
    let mut killed = 0;
    for seed in 1..=4 {
        let (raw, outcome) = bytes(Scenario::Batch, seed, 3600);
        killed += outcome.kills;
        let t = decode(&raw);
        let created = t
            .events
            .iter()
            .filter(|e| e.kind == EventKind::Created)
            .count();
        let removed = t
            .events
            .iter()
            .filter(|e| e.kind == EventKind::Removed)
            .count();
        assert!(created >= 10, "{created}");
        assert!(removed >= created / 2, "{removed} of {created}");
        for e in t
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::OomKill { .. }))
        {
            assert!(t.name(e.cgroup).starts_with("/fleet/job-"));
            let removed_after = t.events.iter().any(|r| {
                r.cgroup == e.cgroup && r.kind == EventKind::Removed && r.time_ns > e.time_ns
            });
            assert!(removed_after, "a killed job exits");
        }
    }
    assert!(killed >= 2, "{killed}");
}

#[test]
fn noisy_neighbour_squeezes_the_others_below_their_medians() {
    for seed in 1..=4 {
        let t = decode(&bytes(Scenario::NoisyNeighbour, seed, 3600).0);
        let kills = t.kills_by_name();
        assert_eq!(kills.keys().collect::<Vec<_>>(), ["/fleet/noisy"]);
        assert!(kills["/fleet/noisy"] >= 10);
        for d in t
            .defs
            .iter()
            .filter(|d| d.name.as_str().starts_with("/fleet/files-"))
        {
            let (mut first, last) = t.halves(d.name.as_str());
            first.sort_unstable();
            let median = first[first.len() / 2];
            assert!(
                last.iter().all(|&u| u < median),
                "{} above its median",
                d.name.as_str()
            );
        }
        // At every kill the global headroom (threshold 0.9) is less than
        // proportional's bump of 20 % of the limit: global alone cannot cover it.
        for e in &t.events {
            let EventKind::OomKill { limit, .. } = e.kind else {
                continue;
            };
            let global = t
                .samples
                .iter()
                .find(|s| s.cgroup == 0 && s.time_ns == e.time_ns)
                .unwrap();
            let headroom = 0.9 * t.global_limit as f64 - global.usage as f64;
            assert!(headroom < 0.2 * limit.unwrap() as f64, "{headroom}");
        }
    }
}

#[test]
fn durations_round_up_to_whole_sweeps_and_are_capped() {
    assert_eq!(sweeps(Duration::from_millis(1)), 1);
    assert_eq!(sweeps(Duration::from_millis(1500)), 2);
    assert_eq!(sweeps(Duration::from_secs(3600)), 3600);
    let (raw, outcome) = bytes(Scenario::Batch, 5, 1);
    assert_eq!(decode(&raw).samples.len() as u64, outcome.samples);
}
