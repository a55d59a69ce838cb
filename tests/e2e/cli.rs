//! The three programs' command lines, run as real processes: exit codes
//! (0 success, 1 runtime error, 2 usage error), the error format on stderr,
//! completions, and never a panic.

use std::process::{Command, Output};

use cgcal_testkit::bin_path;

const PROGRAMS: [&str; 3] = ["cgrec", "cgsim", "cgact"];

/// Runs `program` with `args`; checks that stderr carries no panic text.
fn run(program: &str, args: &[&str]) -> Output {
    let out = Command::new(bin_path(program))
        .args(args)
        .env_remove("CGCAL_LOG")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{program} {args:?} panicked: {stderr}"
    );
    out
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited by a signal")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts a usage error: exit 2 and `PROGRAM: error: ...` on stderr,
/// containing `needle`.
fn assert_usage_error(program: &str, args: &[&str], needle: &str) {
    let out = run(program, args);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{program} {args:?}: {err}");
    assert!(
        err.starts_with(&format!("{program}: error: ")),
        "{program} {args:?}: {err}"
    );
    assert!(
        err.contains(needle),
        "{program} {args:?}: expected {needle:?} in {err}"
    );
}

#[test]
fn help_and_version_exit_0_on_stdout() {
    for program in PROGRAMS {
        let help = run(program, &["--help"]);
        assert_eq!(code(&help), 0, "{program} --help");
        assert!(
            stdout(&help).contains("Usage:"),
            "{program}: {}",
            stdout(&help)
        );
        assert!(stdout(&help).contains("completions") || program == "cgact");
        let version = run(program, &["--version"]);
        assert_eq!(code(&version), 0, "{program} --version");
        assert_eq!(
            stdout(&version).trim(),
            format!("{program} {}", env!("CARGO_PKG_VERSION"))
        );
    }
    let help = run("cgact", &["--help"]);
    for flag in [
        "--root",
        "--stats",
        "--algo",
        "--mode",
        "--threshold",
        "--bump-ratio",
        "--min-bump",
        "--log",
        "--dry-run",
        "--once",
        "--deadline",
        "--journal",
        "--lock-file",
    ] {
        assert!(stdout(&help).contains(flag), "cgact --help lacks {flag}");
    }
    for sub in [
        &["record", "--help"][..],
        &["stats", "--help"],
        &["export", "--help"],
        &["import", "--help"],
        &["inspect", "--help"],
    ] {
        assert_eq!(code(&run("cgrec", sub)), 0, "cgrec {sub:?}");
    }
    for sub in [
        &["replay", "--help"][..],
        &["synth", "--help"],
        &["algos", "--help"],
    ] {
        assert_eq!(code(&run("cgsim", sub)), 0, "cgsim {sub:?}");
    }
}

#[test]
fn unknown_flags_are_usage_errors() {
    assert_usage_error("cgrec", &["record", "--bogus"], "--bogus");
    assert_usage_error("cgsim", &["replay", "t.bin", "--bogus"], "--bogus");
    assert_usage_error("cgact", &["--bogus"], "--bogus");
    assert_usage_error("cgrec", &["frobnicate"], "frobnicate");
}

#[test]
fn out_of_range_values_are_usage_errors() {
    assert_usage_error(
        "cgrec",
        &["record", "--interval", "0s"],
        "greater than zero",
    );
    assert_usage_error("cgrec", &["record", "--flush", "0ms"], "greater than zero");
    assert_usage_error("cgrec", &["record", "--interval", "5"], "--interval");
    assert_usage_error(
        "cgact",
        &["--stats", "s.json", "--threshold", "1.5"],
        "(0, 1]",
    );
    assert_usage_error(
        "cgact",
        &["--stats", "s.json", "--threshold", "0"],
        "(0, 1]",
    );
    assert_usage_error(
        "cgact",
        &["--stats", "s.json", "--deadline", "0s"],
        "greater than zero",
    );
    assert_usage_error(
        "cgact",
        &["--stats", "s.json", "--min-bump", "max"],
        "--min-bump",
    );
    assert_usage_error(
        "cgact",
        &["--stats", "s.json", "--algo", "nope"],
        "unknown algorithm 'nope'",
    );
    assert_usage_error("cgact", &[], "--stats");
    assert_usage_error(
        "cgsim",
        &["replay", "t.bin", "--threshold", "1.5"],
        "(0, 1]",
    );
    assert_usage_error("cgsim", &["replay", "t.bin", "--algo", "all,vpa"], "all");
    assert_usage_error(
        "cgsim",
        &[
            "replay",
            "t.bin",
            "--stats",
            "s.json",
            "--train-until",
            "+1h",
        ],
        "--stats",
    );
    assert_usage_error(
        "cgsim",
        &[
            "synth",
            "--scenario",
            "leak",
            "--seed",
            "1",
            "-o",
            "t.bin",
            "--duration",
            "0s",
        ],
        "greater than zero",
    );
    assert_usage_error(
        "cgrec",
        &["stats", "t.bin", "--percentiles", "90,101"],
        "(0, 100]",
    );
}

#[test]
fn from_after_to_is_a_usage_error() {
    assert_usage_error(
        "cgrec",
        &[
            "stats",
            "t.bin",
            "--from",
            "2026-11-28T12:00:00Z",
            "--to",
            "2026-11-28T11:00:00+00:00",
        ],
        "is after --to",
    );
    assert_usage_error(
        "cgrec",
        &["stats", "t.bin", "--from", "@200", "--to", "@100"],
        "is after --to",
    );
    assert_usage_error(
        "cgrec",
        &["stats", "t.bin", "--from", "-1m", "--to", "-2m"],
        "is after --to",
    );
    assert_usage_error(
        "cgrec",
        &["stats", "t.bin", "--from", "2026-13-01T00:00:00Z"],
        "--from",
    );
}

#[test]
fn completions_name_the_program() {
    for program in PROGRAMS {
        let out = run(program, &["completions", "bash"]);
        assert_eq!(code(&out), 0, "{program}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(
            script.contains(program) && script.contains("complete"),
            "{program}: {script}"
        );
    }
    let zsh = run("cgsim", &["completions", "zsh"]);
    assert!(stdout(&zsh).contains("#compdef cgsim"));
    assert_usage_error("cgrec", &["completions", "tcsh"], "tcsh");
}

#[test]
fn man_pages_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = run("cgrec", &["man", dir.path().to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    for page in ["cgrec.1", "cgrec-record.1", "cgrec-stats.1"] {
        assert!(dir.path().join(page).is_file(), "{page} missing");
    }
}

#[test]
fn unimplemented_subcommands_exit_1_with_a_clear_message() {
    // Stubs are being filled in; this checks the error contract on whichever
    // one still is a stub, and otherwise only that nothing panics.
    let candidates: [(&str, &[&str]); 3] = [
        ("cgrec", &["inspect", "/nonexistent/cgcal-e2e.bin"]),
        ("cgsim", &["replay", "/nonexistent/cgcal-e2e.bin"]),
        (
            "cgact",
            &[
                "--stats",
                "/nonexistent/cgcal-e2e.json",
                "--root",
                "/nonexistent/cgcal-e2e",
                "--once",
                "--dry-run",
                "--lock-file",
                "/nonexistent/cgcal-e2e.lock",
            ],
        ),
    ];
    for (program, args) in candidates {
        let out = run(program, args);
        let err = stderr(&out);
        assert_eq!(code(&out), 1, "{program} {args:?}: {err}");
        assert!(
            err.contains(&format!("{program}: error: ")),
            "{program}: {err}"
        );
        if err.contains("not implemented yet") {
            assert!(
                err.contains(&format!("{program}: error: not implemented yet (")),
                "{err}"
            );
        } else {
            assert!(
                err.contains("/nonexistent/cgcal-e2e"),
                "{program}: the error should name the missing file: {err}"
            );
        }
    }
}

#[test]
fn algos_lists_the_registry() {
    let out = run("cgsim", &["algos"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let list = stdout(&out);
    for name in cgcal_core::policy::all_names() {
        assert!(
            list.lines().any(|l| l.starts_with(name)),
            "{name} missing from {list}"
        );
    }
}
