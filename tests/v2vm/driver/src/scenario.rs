//! The scenario table, and running one scenario into its PASS/FAIL line.

use std::io::Write;
use std::time::Instant;

use crate::{cgact_scenarios, cgrec_scenarios};

/// What a scenario returns: `Err(why)` when it failed.
pub type Outcome = Result<(), String>;

/// One live scenario.
pub struct Scenario {
    /// The name its PASS/FAIL line and the command line use.
    pub name: &'static str,
    /// `cgrec` or `cgact` (selectable as a group).
    pub group: &'static str,
    /// One line for `--list`.
    pub about: &'static str,
    /// The scenario itself.
    pub run: fn() -> Outcome,
    /// `None`: run when no scenario is named; `Some(why)`: only when named
    /// (by name, group or `all`), and the default run says why.
    pub not_by_default: Option<&'static str>,
}

/// Every scenario, in the order they run.
pub const ALL: &[Scenario] = &[
    Scenario {
        name: "cgrec-medians",
        group: "cgrec",
        about: "hogs of 20, 40, 60 MiB give medians 20 MiB apart (±3 MiB) in cgrec stats",
        run: cgrec_scenarios::medians,
        not_by_default: None,
    },
    Scenario {
        name: "cgrec-oom-kill",
        group: "cgrec",
        about:
            "OOM kills recorded under the victim's cgroup (memory.events.local), not its ancestors",
        run: cgrec_scenarios::oom_kill,
        not_by_default: None,
    },
    Scenario {
        name: "cgrec-oom-attribution",
        group: "cgrec",
        about:
            "no Oom recorded under an ancestor whose hierarchical memory.events oom rose (3 rounds)",
        run: cgrec_scenarios::oom_attribution,
        not_by_default: None,
    },
    Scenario {
        name: "cgact-react",
        group: "cgact",
        about: "after an oom_kill cgact raises memory.max and the rerun fits",
        run: cgact_scenarios::react,
        not_by_default: None,
    },
    Scenario {
        name: "cgact-rescue",
        group: "cgact",
        about: "memory.high kept under memory.max; a hog outgrowing memory.max survives",
        run: cgact_scenarios::rescue,
        not_by_default: None,
    },
    Scenario {
        name: "cgact-donors",
        group: "cgact",
        about: "a donor's memory.max is never below its memory.current plus the guard",
        run: cgact_scenarios::donors,
        not_by_default: None,
    },
    Scenario {
        name: "cgact-preempt",
        group: "cgact",
        about: "a PSI trigger on memory.pressure raises the limit before any OOM",
        run: cgact_scenarios::preempt,
        not_by_default: None,
    },
];

impl Scenario {
    /// Runs the scenario and prints its `v2vm: PASS|FAIL` line; true when
    /// it passed.
    pub fn run_and_report(&self) -> bool {
        println!("v2vm: RUN  {}", self.name);
        let _ = std::io::stdout().flush();
        let start = Instant::now();
        let outcome = (self.run)();
        let secs = start.elapsed().as_secs_f64();
        match &outcome {
            Ok(()) => println!("v2vm: PASS {} ({secs:.1} s)", self.name),
            Err(why) => println!("v2vm: FAIL {} ({secs:.1} s): {why}", self.name),
        }
        let _ = std::io::stdout().flush();
        outcome.is_ok()
    }
}

/// `Err(why())` unless `cond`.
pub fn ensure(cond: bool, why: impl FnOnce() -> String) -> Outcome {
    if cond {
        Ok(())
    } else {
        Err(why())
    }
}
