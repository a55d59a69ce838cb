//! Golden reports: every synthetic scenario (seed 1, 30 minutes) replayed
//! under every algorithm (`--algo all`) in modes react and rescue; the JSON
//! report must equal `tests/golden/SCENARIO.MODE.json` byte for byte, so
//! any change in the generator, the replay or an algorithm shows in review.
//! `CGCAL_BLESS=1 cargo test --test e2e cgsim_golden` rewrites the files
//! (see tests/golden/README.md). Also the acceptance point of issue 4 on
//! these traces: in rescue mode on `noisy-neighbour` and `spike`,
//! `proportional` has fewer kills than `static` and `vpa`. (On `spike` that
//! depends on the seed: for seeds 2-6 `vpa` also reaches 0; see
//! docs/algorithms.md §8.)

use std::path::{Path, PathBuf};
use std::process::Command;

use cgcal_testkit::bin_path;
use serde_json::Value;

const SCENARIOS: [&str; 6] = [
    "steady",
    "leak",
    "spike",
    "diurnal",
    "batch",
    "noisy-neighbour",
];
const MODES: [&str; 2] = ["react", "rescue"];
const SEED: &str = "1";
const DURATION: &str = "30m";

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn blessing() -> bool {
    std::env::var_os("CGCAL_BLESS").is_some_and(|v| v == "1")
}

/// Runs `cgsim ARGS` in `dir`; returns stdout, panics with stderr on failure.
fn cgsim(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new(bin_path("cgsim"))
        .current_dir(dir)
        .args(args)
        .env_remove("CGCAL_LOG")
        .output()
        .expect("cannot run cgsim");
    assert!(
        out.status.success(),
        "cgsim {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The JSON report of `scenario` in `mode`, from a freshly generated trace
/// named `SCENARIO.bin` (relative, so the report's `trace` is stable).
fn report(dir: &Path, scenario: &str, mode: &str) -> Vec<u8> {
    let trace = format!("{scenario}.bin");
    if !dir.join(&trace).exists() {
        cgsim(
            dir,
            &[
                "synth",
                "--scenario",
                scenario,
                "--seed",
                SEED,
                "--duration",
                DURATION,
                "-o",
                &trace,
            ],
        );
    }
    cgsim(
        dir,
        &[
            "replay", &trace, "--algo", "all", "--mode", mode, "--format", "json",
        ],
    )
}

/// `kills` of each algorithm in a report.
fn kills(report: &[u8]) -> Vec<(String, u64)> {
    let v: Value = serde_json::from_slice(report).expect("the report is JSON");
    v["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["algo"].as_str().expect("algo").to_string(),
                r["kills"].as_u64().expect("kills"),
            )
        })
        .collect()
}

#[test]
fn every_scenario_and_mode_matches_its_golden_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut stale = Vec::new();
    for scenario in SCENARIOS {
        for mode in MODES {
            let got = report(dir.path(), scenario, mode);
            let golden = golden_dir().join(format!("{scenario}.{mode}.json"));
            if blessing() {
                std::fs::write(&golden, &got).unwrap();
                continue;
            }
            match std::fs::read(&golden) {
                Ok(want) if want == got => {}
                Ok(_) => stale.push(format!(
                    "{} differs; now:\n{}",
                    golden.display(),
                    String::from_utf8_lossy(&got)
                )),
                Err(e) => stale.push(format!("{}: {e}", golden.display())),
            }
        }
    }
    assert!(
        stale.is_empty(),
        "golden reports out of date (review, then rerun with CGCAL_BLESS=1):\n{}",
        stale.join("\n")
    );
}

#[test]
fn rescue_proportional_kills_fewer_than_static_and_vpa_where_donors_exist() {
    let dir = tempfile::tempdir().unwrap();
    for scenario in ["noisy-neighbour", "spike"] {
        let kills = kills(&report(dir.path(), scenario, "rescue"));
        let of = |algo: &str| {
            kills
                .iter()
                .find(|(a, _)| a == algo)
                .map(|(_, k)| *k)
                .unwrap_or_else(|| panic!("{algo} missing in {kills:?}"))
        };
        let proportional = of("proportional");
        assert!(proportional < of("static"), "{scenario}: {kills:?}");
        assert!(proportional < of("vpa"), "{scenario}: {kills:?}");
    }
}
