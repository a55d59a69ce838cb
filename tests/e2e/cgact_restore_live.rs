//! Live end-to-end tests of `cgact restore` (issue 9 point 2, rollback) on
//! the machine's v1 memory hierarchy, under a `LiveParent` guard (SKIP where
//! none is writable): cgact moves memory with `--journal`, is stopped, and
//! `cgact restore` brings every limit back (read from
//! `memory.limit_in_bytes`); from a `cgrec` trace recorded before cgact ran
//! too. Needs the binaries: `cargo build --workspace --bins`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cgcal_testkit::{bin_path, spawn_hog, wait_ready, HogOptions, LiveParent};
use serde_json::Value;

const MIB: u64 = 1 << 20;
/// Bound on every wait-until (not a timing assertion).
const PATIENCE: Duration = Duration::from_secs(30);

/// A parent limited to 512 MiB with `a` (32 MiB) and `b` (64 MiB, an idle
/// 8 MiB hog in it), the stats file, and the files of one test.
struct Setup {
    parent: LiveParent,
    a: PathBuf,
    b: PathBuf,
    dir: tempfile::TempDir,
    idle: Child,
}

impl Setup {
    fn new(tag: &str) -> Option<Setup> {
        let parent = LiveParent::new(tag)?;
        parent.set_limit("", 512 * MIB);
        let a = parent.child("a");
        parent.set_limit("a", 32 * MIB);
        let b = parent.child("b");
        parent.set_limit("b", 64 * MIB);
        let mut idle = spawn_hog(&b, 8, HogOptions::default());
        assert_eq!(wait_ready(&mut idle), Ok(8 * MIB));
        let dir = tempfile::tempdir().unwrap();
        let mut stats = serde_json::Map::new();
        for (rel, median, max) in [("a", 40, 88), ("b", 32, 64)] {
            stats.insert(
                parent.name_of(rel),
                serde_json::json!({
                    "min_consumption": 4 * MIB,
                    "median_consumption": median * MIB,
                    "max_consumption": max * MIB,
                }),
            );
        }
        std::fs::write(
            dir.path().join("stats.json"),
            Value::Object(stats).to_string(),
        )
        .unwrap();
        Some(Setup {
            parent,
            a,
            b,
            dir,
            idle,
        })
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts `cgact --root P --stats --lock-file ARGS`, returned once it
    /// waits for events.
    fn cgact(&self, args: &[&str]) -> Child {
        let mut child = Command::new(bin_path("cgact"))
            .arg("--root")
            .arg(self.parent.path())
            .arg("--stats")
            .arg(self.file("stats.json"))
            .arg("--lock-file")
            .arg(self.file("cgact.lock"))
            .args(args)
            .env("RUST_LOG", "cgact=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn cgact");
        let (tx, rx) = mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                eprintln!("  cgact| {line}");
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) if line.contains("waiting for events") => return child,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                _ => {}
            }
        }
        let _ = child.kill();
        panic!("cgact did not start: {:?}", child.wait());
    }

    /// Runs `cgact restore --root P --lock-file L ARGS`.
    fn restore(&self, args: &[&str]) -> Output {
        let out = Command::new(bin_path("cgact"))
            .arg("restore")
            .arg("--root")
            .arg(self.parent.path())
            .arg("--lock-file")
            .arg(self.file("cgact.lock"))
            .args(args)
            .output()
            .unwrap();
        println!(
            "cgact restore {args:?}: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = self.idle.kill();
        let _ = self.idle.wait();
    }
}

fn wait_until(patience: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !f() {
        if start.elapsed() > patience {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

fn limit(dir: &Path) -> u64 {
    let text = std::fs::read_to_string(dir.join("memory.limit_in_bytes")).unwrap();
    text.trim().parse().unwrap()
}

fn oom_kill_disable(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("memory.oom_control"))
        .unwrap()
        .lines()
        .any(|l| l == "oom_kill_disable 1")
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The row of `cgroup` in a `--format json` report.
fn row(out: &Output, cgroup: &str) -> Value {
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    doc["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cgroup"] == cgroup)
        .unwrap_or_else(|| panic!("no row for {cgroup}: {doc}"))
        .clone()
}

#[test]
fn journal_restore_after_a_rescue_is_locked_out_then_skips_then_restores_every_limit() {
    let Some(s) = Setup::new("cgact-restore-journal") else {
        return;
    };
    let journal = s.file("cgact.journal");
    let mut cgact = s.cgact(&["--mode", "rescue", "--journal", journal.to_str().unwrap()]);
    assert!(
        oom_kill_disable(&s.a) && oom_kill_disable(&s.b),
        "rescue armed"
    );
    let mut hog = spawn_hog(
        &s.a,
        80,
        HogOptions {
            step_mib: Some(4),
            step_ms: Some(20),
            hold_ms: None,
        },
    );
    assert_eq!(
        wait_ready(&mut hog),
        Ok(80 * MIB),
        "the rescue kept the hog alive"
    );
    let moved = limit(&s.a);
    assert!(moved > 32 * MIB, "a's limit moved: {moved}");

    // While cgact runs: refused, naming the lock and its holder.
    let out = s.restore(&["--journal", journal.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(code(&out), Some(1), "{err}");
    assert!(err.starts_with("cgact: error: "), "{err}");
    assert!(
        err.contains(s.file("cgact.lock").to_str().unwrap()),
        "{err}"
    );
    assert!(err.contains(&format!("pid {}", cgact.id())), "{err}");
    assert!(err.contains("stop"), "{err}");
    assert_eq!(limit(&s.a), moved, "a refused restore wrote nothing");

    // cgact killed hard: its oom_kill_disable flags stay behind.
    cgact.kill().unwrap();
    cgact.wait().unwrap();
    assert!(oom_kill_disable(&s.a), "SIGKILL left the flag");

    // The hog still holds 80 MiB: a is skipped (exit 1, the figures named),
    // never forced; the flags are cleared all the same.
    let a_name = s.parent.name_of("a");
    let b_name = s.parent.name_of("b");
    let out = s.restore(&["--journal", journal.to_str().unwrap(), "--format", "json"]);
    let err = text(&out.stderr);
    assert_eq!(code(&out), Some(1), "{err}");
    let a = row(&out, &a_name);
    assert_eq!(a["status"], "skipped", "{a}");
    let why = a["reason"].as_str().unwrap();
    assert!(
        why.contains("usage ")
            && why.contains(&format!("above the original limit {}", 32 * MIB))
            && why.contains(&format!("left at {moved}")),
        "{why}"
    );
    assert!(
        err.contains(&a_name) && err.contains("not restored"),
        "{err}"
    );
    assert_eq!(row(&out, &b_name)["status"], "unchanged");
    assert_eq!(limit(&s.a), moved);
    assert!(hog.try_wait().unwrap().is_none(), "the hog was not killed");
    assert!(!oom_kill_disable(&s.a) && !oom_kill_disable(&s.b));

    let _ = hog.kill();
    let _ = hog.wait();

    // --dry-run: reports, writes nothing.
    let out = s.restore(&["--journal", journal.to_str().unwrap(), "--dry-run"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.starts_with("CGROUP"), "{table}");
    let a_line = table.lines().find(|l| l.starts_with(&a_name)).unwrap();
    assert!(a_line.contains("would_restore"), "{table}");
    assert_eq!(limit(&s.a), moved, "dry run wrote");

    // The real restore: every limit back to the original, re-read.
    let out = s.restore(&["--journal", journal.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let a = row(&out, &a_name);
    assert_eq!(a["status"], "restored", "{a}");
    assert_eq!(a["before"], moved);
    assert_eq!(a["after"], 32 * MIB);
    assert_eq!(limit(&s.a), 32 * MIB);
    assert_eq!(limit(&s.b), 64 * MIB);
    assert!(!oom_kill_disable(&s.a) && !oom_kill_disable(&s.b));
}

#[test]
fn trace_recorded_before_cgact_ran_restores_the_limits() {
    let Some(s) = Setup::new("cgact-restore-trace") else {
        return;
    };
    let trace = s.file("before.bin");
    let rec = Command::new(bin_path("cgrec"))
        .arg("record")
        .arg("--root")
        .arg(s.parent.path())
        .args(["--interval", "100ms", "--duration", "2s", "-o"])
        .arg(&trace)
        .output()
        .unwrap();
    assert!(rec.status.success(), "{}", text(&rec.stderr));

    // react: a hog killed in a; cgact raises a's limit so the rerun fits.
    let mut cgact = s.cgact(&["--mode", "react"]);
    let mut hog = spawn_hog(&s.a, 48, HogOptions::default());
    assert!(wait_ready(&mut hog).is_err(), "48 MiB fit in 32 MiB");
    let _ = hog.wait();
    assert!(
        wait_until(PATIENCE, || limit(&s.a) > 32 * MIB),
        "cgact did not raise a: {}",
        limit(&s.a)
    );
    let _ = cgact.kill();
    let _ = cgact.wait();

    let out = s.restore(&["--trace", trace.to_str().unwrap()]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let a_line = table
        .lines()
        .find(|l| l.starts_with(&s.parent.name_of("a")))
        .unwrap();
    assert!(a_line.contains("restored"), "{table}");
    assert_eq!(limit(&s.a), 32 * MIB);
    assert_eq!(limit(&s.b), 64 * MIB);
    // The parent (the root) is never written.
    assert_eq!(limit(s.parent.path()), 512 * MIB);
}
