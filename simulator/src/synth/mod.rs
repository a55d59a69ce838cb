//! Deterministic synthetic traces for `cgsim synth`: one module per
//! scenario, each describing a fleet of workloads ([`fleet::FleetSpec`]),
//! and one builder ([`fleet::write_fleet`]) that steps the fleet through
//! the kernel's rules (own-limit reclaim and OOM kills, global reclaim)
//! and writes what a recorder would have recorded. `docs/scenarios.md`
//! describes every scenario.
//!
//! Every trace: global cgroup `/fleet` (the header's root) with a limit
//! and a sample per sweep (usage = sum of its children's), 1 s sweeps from
//! 2026-11-28T00:00:00Z, usages and limits in whole 4 KiB pages. The only
//! randomness is [`rng::Rng`] seeded from `--seed`: same seed, same bytes.
//!
//! ```
//! use std::time::Duration;
//! use cgsim::cli::Scenario;
//! let (bytes, outcome) = cgsim::synth::write_scenario(
//!     Scenario::Leak, 7, Duration::from_secs(600), Vec::new(), "<doc>").unwrap();
//! let again = cgsim::synth::write_scenario(
//!     Scenario::Leak, 7, Duration::from_secs(600), Vec::new(), "<doc>").unwrap().0;
//! assert_eq!(bytes, again);
//! assert!(outcome.kills > 0);
//! ```

pub mod batch;
pub mod diurnal;
pub mod fleet;
pub mod leak;
pub mod noisy_neighbour;
pub mod rng;
pub mod shape;
pub mod spike;
pub mod steady;

use std::io::Write;
use std::time::Duration;

use cgcal_core::trace::{CgroupVersion, Header, TraceError};

use crate::cli::Scenario;
use fleet::{FleetSpec, Outcome, INTERVAL_NS};
use rng::Rng;

/// Start of every synthetic trace: 2026-11-28T00:00:00Z, in nanoseconds.
pub const START_NS: u64 = 1_795_824_000 * 1_000_000_000;

/// Longest trace `cgsim synth` writes (31 days of 1 s sweeps).
pub const MAX_DURATION: Duration = Duration::from_secs(31 * 24 * 3600);

/// The scenario's name as the command line spells it.
pub fn scenario_name(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::Steady => "steady",
        Scenario::Leak => "leak",
        Scenario::Spike => "spike",
        Scenario::Diurnal => "diurnal",
        Scenario::Batch => "batch",
        Scenario::NoisyNeighbour => "noisy-neighbour",
    }
}

/// Number of 1 s sweeps in `duration` (rounded up, at least one).
pub fn sweeps(duration: Duration) -> u64 {
    let ns = duration.as_nanos().min(u64::MAX as u128) as u64;
    ns.div_ceil(INTERVAL_NS).max(1)
}

/// The fleet of `scenario` for this seed and number of sweeps.
pub fn fleet_spec(scenario: Scenario, seed: u64, sweeps: u64) -> FleetSpec {
    let mut rng = Rng::new(seed).fork(1);
    match scenario {
        Scenario::Steady => steady::fleet(&mut rng, sweeps),
        Scenario::Leak => leak::fleet(&mut rng, sweeps),
        Scenario::Spike => spike::fleet(&mut rng, sweeps),
        Scenario::Diurnal => diurnal::fleet(&mut rng, sweeps),
        Scenario::Batch => batch::fleet(&mut rng, sweeps),
        Scenario::NoisyNeighbour => noisy_neighbour::fleet(&mut rng, sweeps),
    }
}

/// The header of a synthetic trace.
pub fn header(scenario: Scenario, seed: u64, spec: &FleetSpec) -> Header {
    Header {
        host: format!("synth-{}-{seed}", scenario_name(scenario)),
        kernel: String::new(),
        cgroup_version: CgroupVersion::Unknown,
        root: fleet::fleet_root(),
        interval_ns: INTERVAL_NS,
        host_memory: Some(spec.host_memory),
        start_ns: START_NS,
        tool: "cgsim synth".into(),
    }
}

/// Writes the trace of `scenario` for `seed` over `duration` (at most
/// [`MAX_DURATION`]; longer is cut there) to `out`; `file` names the output
/// in errors. Returns `out` and what happened in the trace.
pub fn write_scenario<W: Write>(
    scenario: Scenario,
    seed: u64,
    duration: Duration,
    out: W,
    file: &str,
) -> Result<(W, Outcome), TraceError> {
    let sweeps = sweeps(duration.min(MAX_DURATION));
    let spec = fleet_spec(scenario, seed, sweeps);
    let header = header(scenario, seed, &spec);
    let noise = Rng::new(seed).fork(2);
    fleet::write_fleet(&spec, &header, sweeps, noise, out, file)
}

#[cfg(test)]
mod tests;
