//! The shipped sample trace `traces/sample-live.bin` (recorded live by
//! `scripts/record-sample.sh`): it stays small and healthy, README's main
//! command runs on it, and the static replay counts exactly the OOM kills the
//! trace recorded in the replayed half, at least one.

use std::path::PathBuf;
use std::process::{Command, Output};

use cgcal_testkit::bin_path;

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("traces/sample-live.bin")
}

fn run_ok(program: &str, args: &[&str]) -> String {
    let out: Output = Command::new(bin_path(program))
        .args(args)
        .env_remove("CGCAL_LOG")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("stdout is UTF-8")
}

#[test]
fn sample_trace_is_small_and_healthy() {
    let path = sample();
    let bytes = std::fs::metadata(&path)
        .expect("traces/sample-live.bin is shipped")
        .len();
    assert!(bytes < 64 * 1024, "sample trace grew to {bytes} bytes");
    let inspect = run_ok("cgrec", &["inspect", path.to_str().unwrap()]);
    assert!(inspect.contains("health          OK"), "{inspect}");
    assert!(inspect.contains("cgroup version  v1"), "{inspect}");
}

#[test]
fn readme_main_command_runs_and_static_counts_the_recorded_kills() {
    let path = sample();
    let p = path.to_str().unwrap();
    // README's main command, with its default table output.
    let table = run_ok("cgsim", &["replay", p, "--algo", "all"]);
    for algo in ["static", "proportional", "vpa", "autopilot", "krr"] {
        assert!(table.contains(algo), "{algo} missing from:\n{table}");
    }

    let report: serde_json::Value = serde_json::from_str(&run_ok(
        "cgsim",
        &[
            "replay",
            p,
            "--algo",
            "static,proportional",
            "--format",
            "json",
        ],
    ))
    .expect("JSON report");
    let from = report["replayed"]["from"].as_u64().expect("replayed.from");
    let to = report["replayed"]["to"].as_u64().expect("replayed.to");

    // Independent count: oom_kill rows of the export inside the replayed window.
    let csv = run_ok("cgrec", &["export", p, "--format", "csv"]);
    let recorded_kills = csv
        .lines()
        .skip(1)
        .filter(|line| line.split(',').nth(2) == Some("oom_kill"))
        .filter_map(|line| line.split(',').next()?.parse::<u64>().ok())
        .filter(|t| (from..=to).contains(t))
        .count() as u64;
    assert!(
        recorded_kills > 0,
        "the sample must hold a kill in its replayed half"
    );

    let results = report["results"].as_array().expect("results");
    let kills = |algo: &str| {
        results
            .iter()
            .find(|r| r["algo"] == algo)
            .and_then(|r| r["kills"].as_u64())
            .unwrap_or_else(|| panic!("no {algo} result"))
    };
    assert_eq!(kills("static"), recorded_kills);
    assert!(kills("proportional") < kills("static"));
    for r in results {
        assert_eq!(r["floor_violations"], 0, "{r}");
    }
}

#[test]
fn plot_shows_the_cgroup_in_trouble_under_an_algorithm_that_saved_it() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("sample.svg");
    let path = sample();
    run_ok(
        "cgsim",
        &[
            "replay",
            path.to_str().unwrap(),
            "--algo",
            "static,proportional",
            "--mode",
            "rescue",
            "--plot",
            svg.to_str().unwrap(),
        ],
    );
    let svg = std::fs::read_to_string(svg).unwrap();
    let section = svg
        .split("proportional: demand (solid)")
        .nth(1)
        .expect("a proportional line chart");
    // Saved under proportional (0 kills), killed under static: still plotted first.
    let first_legend = section
        .split("/cgcal-sample/")
        .nth(1)
        .expect("a legend entry");
    assert!(
        first_legend.starts_with("leaky (0 kills)"),
        "{first_legend}"
    );
}
