//! `cgcal-v2-scenarios`: the cgroup v2 live scenarios of cgrec and cgact.
//!
//! ```text
//! cgcal-v2-scenarios [--list] [SCENARIO... | all | cgrec | cgact]
//! ```
//!
//! Runs inside the VM that `tests/v2vm/run.sh` boots (cgroup2 mounted at
//! `/sys/fs/cgroup` with `+memory` in the root's `cgroup.subtree_control`),
//! as root, next to static `cgrec`, `cgact` and `cgcal-hog` binaries.
//! Without arguments it runs the default scenarios (all but those marked
//! `not_by_default`, whose reason it prints); names, groups (`cgrec`,
//! `cgact`) and `all` select others. Each scenario creates its cgroups
//! under its own `cgcal-test-*` parent (removed afterwards), runs real
//! processes and prints one line:
//! `v2vm: PASS NAME (S s)` or `v2vm: FAIL NAME (S s): WHY`. Exit 0 when
//! every scenario passed, 1 when one failed, 2 on a usage error.

mod cgact_scenarios;
mod cgrec_scenarios;
mod child_process;
mod scenario;
mod v2_cgroup;

use std::process::ExitCode;

use scenario::{Scenario, ALL};

/// Where the harness mounts cgroup2 inside the VM.
pub const CGROUP2_MOUNT: &str = "/sys/fs/cgroup";

const USAGE: &str = "usage: cgcal-v2-scenarios [--list] [SCENARIO... | all | cgrec | cgact]";

/// The scenarios the arguments name, in [`ALL`]'s order; without
/// arguments, those run by default.
fn select(args: &[String]) -> Result<Vec<&'static Scenario>, String> {
    if args.is_empty() {
        return Ok(ALL.iter().filter(|s| s.not_by_default.is_none()).collect());
    }
    for a in args {
        if !ALL
            .iter()
            .any(|s| a == "all" || s.name == a || s.group == a)
        {
            return Err(format!("no scenario or group named {a:?} (see --list)"));
        }
    }
    Ok(ALL
        .iter()
        .filter(|s| {
            args.iter()
                .any(|a| a == "all" || s.name == a || s.group == a)
        })
        .collect())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "--list") {
        for s in ALL {
            let default = if s.not_by_default.is_some() {
                "named only"
            } else {
                "default"
            };
            println!("{:<22} {:<6} {default:<10} {}", s.name, s.group, s.about);
        }
        return ExitCode::SUCCESS;
    }
    let chosen = match select(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cgcal-v2-scenarios: error: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.is_empty() {
        for s in ALL {
            if let Some(why) = s.not_by_default {
                println!(
                    "v2vm: NOT RUN {} (not in the default run: {why}; name it to run it)",
                    s.name
                );
            }
        }
    }
    let failed = chosen.iter().filter(|s| !s.run_and_report()).count();
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(args: &[&str]) -> Result<Vec<&'static str>, String> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        select(&args).map(|v| v.iter().map(|s| s.name).collect())
    }

    #[test]
    fn no_argument_selects_the_default_scenarios_only() {
        let chosen = names(&[]).unwrap();
        assert!(chosen.contains(&"cgrec-medians") && chosen.contains(&"cgact-react"));
        for s in ALL.iter().filter(|s| s.not_by_default.is_some()) {
            assert!(!chosen.contains(&s.name), "{} runs by default", s.name);
        }
    }

    #[test]
    fn names_groups_and_all_select_in_table_order_once() {
        assert_eq!(
            names(&["cgact-react", "cgrec-medians"]).unwrap(),
            ["cgrec-medians", "cgact-react"]
        );
        let cgrec = names(&["cgrec", "cgrec-medians"]).unwrap();
        assert!(cgrec.iter().all(|n| n.starts_with("cgrec-")));
        assert_eq!(cgrec.iter().filter(|n| **n == "cgrec-medians").count(), 1);
        assert_eq!(names(&["all"]).unwrap().len(), ALL.len());
        let err = names(&["cgrec", "nope"]).unwrap_err();
        assert!(err.contains("\"nope\""), "{err}");
    }

    #[test]
    fn scenario_names_are_unique() {
        for (i, s) in ALL.iter().enumerate() {
            assert!(ALL[i + 1..].iter().all(|o| o.name != s.name), "{}", s.name);
        }
    }
}
