//! `cgsim synth` as a process: every scenario writes a readable trace,
//! same seed same bytes, seeds differ, errors exit 1 in the error format
//! and leave no file behind.

use std::path::Path;
use std::process::{Command, Output};

use cgcal_core::trace::{open_trace, read_all, EventKind};
use cgcal_testkit::bin_path;

const SCENARIOS: [&str; 6] = [
    "steady",
    "leak",
    "spike",
    "diurnal",
    "batch",
    "noisy-neighbour",
];

fn synth(args: &[&str]) -> Output {
    let out = Command::new(bin_path("cgsim"))
        .arg("synth")
        .args(args)
        .env_remove("CGCAL_LOG")
        .output()
        .expect("cannot run cgsim");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    out
}

fn write(dir: &Path, scenario: &str, seed: &str, duration: &str) -> Vec<u8> {
    let path = dir.join(format!("{scenario}-{seed}.bin"));
    let p = path.to_str().unwrap();
    let out = synth(&[
        "--scenario",
        scenario,
        "--seed",
        seed,
        "--duration",
        duration,
        "-o",
        p,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(&path).unwrap()
}

#[test]
fn every_scenario_writes_a_deterministic_readable_trace() {
    let dir = tempfile::tempdir().unwrap();
    for scenario in SCENARIOS {
        let a = write(dir.path(), scenario, "42", "20m");
        let again = dir.path().join("again.bin");
        let out = synth(&[
            "--scenario",
            scenario,
            "--seed",
            "42",
            "--duration",
            "20m",
            "-o",
            again.to_str().unwrap(),
        ]);
        assert!(out.status.success());
        assert_eq!(
            a,
            std::fs::read(&again).unwrap(),
            "{scenario}: same seed, same bytes"
        );
        assert_ne!(a, write(dir.path(), scenario, "43", "20m"), "{scenario}");
        assert!(a.len() < 200 * 1024, "{scenario}: {} bytes", a.len());

        let path = dir.path().join(format!("{scenario}-42.bin"));
        let (header, defs, samples, events, damage) = read_all(open_trace(&path).unwrap()).unwrap();
        assert!(damage.is_empty());
        assert_eq!(header.root.as_str(), "/fleet");
        assert!(defs.len() >= 6, "{scenario}: {} cgroups", defs.len());
        // 20 minutes of 1 s sweeps of every cgroup alive.
        let first = samples.iter().map(|s| s.time_ns).min().unwrap();
        let last = samples.iter().map(|s| s.time_ns).max().unwrap();
        assert_eq!(last - first, 1199 * 1_000_000_000, "{scenario}");
        let kills = events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::OomKill { .. }))
            .count();
        assert_eq!(
            kills == 0,
            scenario == "steady",
            "{scenario}: {kills} kills"
        );
    }
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}

#[test]
fn errors_exit_1_with_the_path_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/t.bin");
    let out = synth(&[
        "--scenario",
        "leak",
        "--seed",
        "1",
        "-o",
        missing.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("cgsim: error: cannot create the trace"),
        "{err}"
    );
    assert!(err.contains("no/such/dir"), "{err}");

    let target = dir.path().join("long.bin");
    let out = synth(&[
        "--scenario",
        "leak",
        "--seed",
        "1",
        "--duration",
        "400d",
        "-o",
        target.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("(--duration)"), "{err}");
    assert!(!target.exists());

    let out = synth(&["--scenario", "tsunami", "--seed", "1", "-o", "x.bin"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn an_existing_trace_is_replaced_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.bin");
    std::fs::write(&path, b"old contents").unwrap();
    let out = synth(&[
        "--scenario",
        "steady",
        "--seed",
        "3",
        "--duration",
        "5m",
        "-o",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"CGCALTRC"));
}
