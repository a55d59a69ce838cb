//! The cgroup v2 live scenarios (issue 8), run by the README's test
//! command: `tests/v2vm/run.sh` boots a throwaway VM with a cgroup v2
//! kernel under qemu (TCG), runs the default scenarios of
//! `cgcal-v2-scenarios` inside it, and this test asserts that every one of
//! them printed `v2vm: PASS` and none `v2vm: FAIL`.
//!
//! Where the VM cannot start (not root, or no `qemu-system-x86_64`) it
//! prints a SKIP line, unless `CGCAL_REQUIRE_V2VM=1` (set by `.ci/run`):
//! then the harness runs anyway (installing qemu, busybox-static and cpio
//! with apt-get when root) and the test fails loudly when it cannot.

use std::path::Path;
use std::process::Command;

use cgcal_testkit::bin_path;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn has_qemu() -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|d| d.join("qemu-system-x86_64").is_file())
    })
}

/// The scenarios the driver runs when none is named (from its `--list`).
fn default_scenarios() -> Vec<String> {
    let out = Command::new(bin_path("cgcal-v2-scenarios"))
        .arg("--list")
        .output()
        .expect("run cgcal-v2-scenarios --list");
    assert!(
        out.status.success(),
        "cgcal-v2-scenarios --list: {}",
        out.status
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols.get(2) == Some(&"default")).then(|| cols[0].to_string())
        })
        .collect()
}

#[test]
fn every_default_v2_scenario_passes_in_a_vm() {
    let required = std::env::var("CGCAL_REQUIRE_V2VM").is_ok_and(|v| v == "1");
    let can_boot = is_root() && has_qemu();
    if !required && !can_boot {
        println!(
            "SKIP: the cgroup v2 VM needs root and qemu-system-x86_64 (set CGCAL_REQUIRE_V2VM=1 to fail instead)"
        );
        return;
    }
    let expected = default_scenarios();
    assert!(expected.len() >= 5, "default scenarios: {expected:?}");
    let harness = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/v2vm/run.sh");
    let out = Command::new(&harness)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", harness.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Shown with --nocapture, and on failure.
    for line in stdout.lines().filter(|l| l.starts_with("v2vm: ")) {
        println!("{line}");
    }
    let context = || {
        format!(
            "{}\n---- stdout:\n{stdout}\n---- stderr (tail):\n{}",
            harness.display(),
            tail(&stderr, 60)
        )
    };
    assert_eq!(out.status.code(), Some(0), "{}", context());
    for name in &expected {
        let pass = format!("v2vm: PASS {name} (");
        assert!(
            stdout.lines().any(|l| l.starts_with(&pass)),
            "no PASS line for {name}: {}",
            context()
        );
    }
    assert!(!stdout.contains("v2vm: FAIL"), "{}", context());
    assert!(
        stdout.lines().any(|l| l.starts_with("v2vm: PASS (exit 0)")),
        "no final PASS line: {}",
        context()
    );
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
