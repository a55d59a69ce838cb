//! Live end-to-end tests of the `cgact` daemon (issue 5's acceptance) on the
//! machine's v1 memory hierarchy, under a `LiveParent` guard (SKIP where
//! none is writable). `cgact` runs as a process on the parent as `--root`
//! (the global cgroup), real `cgcal-hog` processes use memory, the audit log
//! is parsed as JSON. Needs the binaries: `cargo build --workspace --bins`.
//!
//! Waits are bounded wait-untils that fail after a generous patience, never
//! timing assertions; the times measured (release after a restart, limit
//! raised after a kill) are printed for the report.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cgcal_testkit::{bin_path, spawn_hog, wait_ready, HogOptions, LiveParent};
use serde_json::Value;

pub(super) const MIB: u64 = 1 << 20;
/// Bound on every wait-until (not a timing assertion).
pub(super) const PATIENCE: Duration = Duration::from_secs(30);

/// A running `cgact`, its stderr collected; killed on drop if still running.
pub(super) struct Cgact {
    pub(super) child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
    /// The stderr reader, joined once the process exited (every line read).
    reader: Option<std::thread::JoinHandle<()>>,
}

/// Files of one test: stats, audit log, lock.
pub(super) struct Files {
    _dir: tempfile::TempDir,
    pub(super) stats: PathBuf,
    pub(super) audit: PathBuf,
    pub(super) lock: PathBuf,
}

impl Files {
    pub(super) fn new() -> Files {
        let dir = tempfile::tempdir().unwrap();
        Files {
            stats: dir.path().join("stats.json"),
            audit: dir.path().join("audit.log"),
            lock: dir.path().join("cgact.lock"),
            _dir: dir,
        }
    }

    /// Writes Phase 1 statistics: (relative cgroup, min, median, max) in MiB.
    pub(super) fn write_stats(&self, parent: &LiveParent, rows: &[(&str, u64, u64, u64)]) {
        let mut map = serde_json::Map::new();
        for (rel, min, median, max) in rows {
            map.insert(
                parent.name_of(rel),
                serde_json::json!({
                    "min_consumption": min * MIB,
                    "max_consumption": max * MIB,
                    "median_consumption": median * MIB,
                }),
            );
        }
        std::fs::write(&self.stats, Value::Object(map).to_string()).unwrap();
    }

    /// Every audit line so far, parsed.
    pub(super) fn audit(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.audit).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

impl Cgact {
    /// Starts `cgact --root PARENT --stats --log --lock-file ARGS` and waits
    /// for its start line; panics with its stderr if it exits first.
    pub(super) fn start(parent: &LiveParent, files: &Files, args: &[&str]) -> Cgact {
        Cgact::start_with(&[], parent, files, args)
    }

    /// [`Cgact::start`] under a wrapper command.
    fn start_with(wrapper: &[&str], parent: &LiveParent, files: &Files, args: &[&str]) -> Cgact {
        let mut c = Cgact::spawn_with(wrapper, parent, files, args);
        let started = wait_until(PATIENCE, || {
            c.lines().iter().any(|l| l.contains("waiting for events"))
                || c.child.try_wait().unwrap().is_some()
        });
        let running = c.child.try_wait().unwrap().is_none();
        assert!(
            started.is_some() && running,
            "cgact did not start:\n{}",
            c.lines().join("\n")
        );
        c
    }

    pub(super) fn spawn(parent: &LiveParent, files: &Files, args: &[&str]) -> Cgact {
        Cgact::spawn_with(&[], parent, files, args)
    }

    /// [`Cgact::spawn`] under a wrapper command (`wrapper` then cgact).
    fn spawn_with(wrapper: &[&str], parent: &LiveParent, files: &Files, args: &[&str]) -> Cgact {
        let cgact = bin_path("cgact");
        let mut cmd = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(&cgact);
                c
            }
            None => Command::new(&cgact),
        };
        let mut child = cmd
            .arg("--root")
            .arg(parent.path())
            .arg("--stats")
            .arg(&files.stats)
            .arg("--log")
            .arg(&files.audit)
            .arg("--lock-file")
            .arg(&files.lock)
            .args(args)
            .env("RUST_LOG", "cgact=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn cgact");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                eprintln!("  cgact| {line}");
                sink.lock().unwrap().push(line);
            }
        });
        Cgact {
            child,
            stderr,
            reader: Some(reader),
        }
    }

    pub(super) fn lines(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on the pid of our own child process.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    /// Waits (bounded) for the process to exit.
    pub(super) fn wait(&mut self) -> ExitStatus {
        let status = wait_until(PATIENCE, || self.child.try_wait().unwrap().is_some());
        assert!(status.is_some(), "cgact did not exit");
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.child.wait().unwrap()
    }

    /// SIGTERM, then the exit status.
    pub(super) fn terminate(&mut self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait()
    }
}

impl Drop for Cgact {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A parent limited to `global_mib` MiB (the global cgroup) with a child
/// `a` limited to `a_mib` MiB, and a stats file of `rows`; `None` (SKIP)
/// without a writable v1 hierarchy.
pub(super) fn setup(
    tag: &str,
    global_mib: u64,
    a_mib: u64,
    rows: &[(&str, u64, u64, u64)],
) -> Option<(LiveParent, PathBuf, Files)> {
    let parent = LiveParent::new(tag)?;
    parent.set_limit("", global_mib * MIB);
    let a = parent.child("a");
    parent.set_limit("a", a_mib * MIB);
    let files = Files::new();
    files.write_stats(&parent, rows);
    Some((parent, a, files))
}

/// Leaves `oom_kill_disable=1` on `dir` (what an instance killed with
/// SIGKILL in rescue mode leaves behind) and starts a hog of `mib` MiB
/// there, returned once it is frozen under OOM.
fn frozen_hog(dir: &Path, mib: u64) -> Child {
    std::fs::write(dir.join("memory.oom_control"), "1").unwrap();
    let hog = spawn_hog(dir, mib, HogOptions::default());
    assert!(
        wait_until(PATIENCE, || oom_control(dir).1).is_some(),
        "the hog did not freeze under OOM"
    );
    hog
}

/// Polls `f` every 2 ms until it holds (the time it took) or `patience` ends.
pub(super) fn wait_until(patience: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if f() {
            return Some(start.elapsed());
        }
        if start.elapsed() > patience {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// `memory.oom_control` of a cgroup directory: (oom_kill_disable, under_oom, oom_kill).
pub(super) fn oom_control(dir: &Path) -> (bool, bool, u64) {
    let text = std::fs::read_to_string(dir.join("memory.oom_control")).unwrap();
    let field = |key: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
            .unwrap_or(0)
    };
    (
        field("oom_kill_disable ") == 1,
        field("under_oom ") == 1,
        field("oom_kill "),
    )
}

pub(super) fn limit(dir: &Path) -> u64 {
    read_u64(&dir.join("memory.limit_in_bytes"))
}

fn usage(dir: &Path) -> u64 {
    read_u64(&dir.join("memory.usage_in_bytes"))
}

fn read_u64(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

pub(super) fn lines_for<'a>(audit: &'a [Value], cgroup: &str) -> Vec<&'a Value> {
    audit.iter().filter(|l| l["oom_cgroup"] == cgroup).collect()
}

/// The names in a line's `adjusted_cgroups` with what each gave.
fn adjusted(line: &Value) -> Vec<(String, u64)> {
    line["adjusted_cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                a["reduced_memory"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn rescue_from_global_headroom_keeps_the_process_alive_and_touches_no_donor() {
    // b is below its median: a donor, were one needed.
    let stats = [("a", 4, 40, 88), ("b", 4, 32, 64)];
    let Some((parent, a, files)) = setup("cgact-rescue-global", 512, 32, &stats) else {
        return;
    };
    let b = parent.child("b");
    parent.set_limit("b", 64 * MIB);
    let mut idle = spawn_hog(&b, 8, HogOptions::default());
    assert_eq!(wait_ready(&mut idle), Ok(8 * MIB));
    let metrics = files.audit.with_extension("prom");
    let mut cgact = Cgact::start(
        &parent,
        &files,
        &[
            "--mode",
            "rescue",
            "--metrics-file",
            metrics.to_str().unwrap(),
        ],
    );
    assert!(oom_control(&a).0, "oom_kill_disable=1 armed on a");
    assert!(oom_control(&b).0, "oom_kill_disable=1 armed on b");

    // The metrics file is scraped all through the rescue, as node_exporter would.
    let rescuing = std::sync::atomic::AtomicBool::new(true);
    let resolved = r#"cgact_rescues_total{outcome="resolved",source="global"} "#;
    let (scraped, mut hog): (Vec<u64>, _) = std::thread::scope(|scope| {
        let scraper = scope.spawn(|| {
            let mut seen = Vec::new();
            while rescuing.load(std::sync::atomic::Ordering::Relaxed) {
                let text = std::fs::read_to_string(&metrics).unwrap_or_default();
                let value = text
                    .lines()
                    .find_map(|l| l.strip_prefix(resolved))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if seen.last() != Some(&value) {
                    seen.push(value);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            seen
        });
        let mut hog = spawn_hog(
            &a,
            80,
            HogOptions {
                step_mib: Some(4),
                step_ms: Some(20),
                hold_ms: None,
            },
        );
        let ready = wait_ready(&mut hog);
        // Let the last decision reach the file.
        std::thread::sleep(Duration::from_millis(200));
        rescuing.store(false, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(ready, Ok(80 * MIB), "the hog was not rescued");
        (scraper.join().expect("scraper thread"), hog)
    });
    assert_eq!(oom_control(&a).2, 0, "no OOM kill in a");
    assert!(limit(&a) >= 80 * MIB, "a's limit {}", limit(&a));
    assert_eq!(limit(&b), 64 * MIB, "the donor was touched");

    let audit = files.audit();
    let lines = lines_for(&audit, &parent.name_of("a"));
    assert!(!lines.is_empty(), "no audit line: {audit:?}");
    for l in &lines {
        assert_eq!(l["source"], "global", "{l}");
        assert_eq!(l["mode"], "rescue", "{l}");
        assert!(adjusted(l).is_empty(), "{l}");
        assert!(l["added_memory"].as_u64().unwrap() > 0, "{l}");
    }
    assert_eq!(
        audit.len(),
        lines.len(),
        "lines for other cgroups: {audit:?}"
    );
    println!("rescue: cgact_rescues_total values scraped during the rescue: {scraped:?}");
    // The counter moved during the rescue, one step per decision, up to the
    // number of audit lines.
    assert_eq!(scraped.first(), Some(&0), "scrapes: {scraped:?}");
    assert!(
        scraped.windows(2).all(|w| w[0] < w[1]),
        "scrapes: {scraped:?}"
    );
    assert_eq!(
        scraped.last(),
        Some(&(lines.len() as u64)),
        "scrapes: {scraped:?}"
    );

    assert!(cgact.terminate().success());
    assert!(
        !oom_control(&a).0 && !oom_control(&b).0,
        "flags left behind"
    );
    assert!(hog.try_wait().unwrap().is_none(), "the hog died");
}

#[test]
fn rescue_from_donors_below_their_median_in_proportion() {
    let Some(parent) = LiveParent::new("cgact-rescue-donors") else {
        return;
    };
    // Global headroom 0.6 x 128 MiB - ~65 MiB used < the 32 MiB needed.
    parent.set_limit("", 128 * MIB);
    let dirs: Vec<PathBuf> = ["a", "b", "c", "d"]
        .iter()
        .map(|r| parent.child(r))
        .collect();
    for (rel, mib) in [("a", 24), ("b", 48), ("c", 32), ("d", 48)] {
        parent.set_limit(rel, mib * MIB);
    }
    let mut hogs = Vec::new();
    for (dir, mib) in [(&dirs[1], 8), (&dirs[2], 8), (&dirs[3], 24)] {
        let mut h = spawn_hog(dir, mib, HogOptions::default());
        assert_eq!(wait_ready(&mut h), Ok(mib * MIB));
        hogs.push(h);
    }
    let files = Files::new();
    files.write_stats(
        &parent,
        &[
            ("a", 4, 20, 56), // needs max(56 - 24, 0.2 x 24, 4) = 32 MiB
            ("b", 16, 32, 48),
            ("c", 8, 24, 32),
            ("d", 4, 8, 40), // above its median: never a donor
        ],
    );
    // What b and c can spare: L - max(floor, usage + guard), guard 4 MiB.
    let spare = |dir: &Path, floor: u64| limit(dir) - (floor * MIB).max(usage(dir) + 4 * MIB);
    let (spare_b, spare_c) = (spare(&dirs[1], 16), spare(&dirs[2], 8));
    let mut cgact = Cgact::start(
        &parent,
        &files,
        &["--mode", "rescue", "--threshold", "0.6", "--min-bump", "4M"],
    );
    let mut hog = spawn_hog(
        &dirs[0],
        48,
        HogOptions {
            step_mib: Some(2),
            step_ms: Some(10),
            hold_ms: None,
        },
    );
    assert_eq!(
        wait_ready(&mut hog),
        Ok(48 * MIB),
        "the hog was not rescued"
    );
    assert_eq!(oom_control(&dirs[0]).2, 0, "no OOM kill in a");

    let audit = files.audit();
    let lines = lines_for(&audit, &parent.name_of("a"));
    assert!(!lines.is_empty(), "no audit line: {audit:?}");
    let first = lines[0];
    assert_eq!(first["source"], "donors", "{first}");
    let gave = adjusted(first);
    let of = |rel: &str| {
        gave.iter()
            .find(|(n, _)| *n == parent.name_of(rel))
            .map(|(_, b)| *b)
            .unwrap_or(0)
    };
    let (red_b, red_c) = (of("b"), of("c"));
    assert!(red_b > 0 && red_c > 0, "{first}");
    // In proportion to what each could spare (usages move a little).
    let want = spare_b as f64 / spare_c as f64;
    let got = red_b as f64 / red_c as f64;
    assert!(
        (got / want - 1.0).abs() < 0.2,
        "ratio {got} vs {want}: {first}"
    );
    for l in &lines {
        assert_ne!(l["source"], "global", "{l}");
        assert!(
            adjusted(l).iter().all(|(n, _)| *n != parent.name_of("d")),
            "d gave memory: {l}"
        );
    }
    assert_eq!(
        limit(&dirs[3]),
        48 * MIB,
        "d (above its median) was touched"
    );
    for (dir, floor) in [(&dirs[1], 16), (&dirs[2], 8)] {
        let l = limit(dir);
        assert!(l >= floor * MIB, "{} below its floor: {l}", dir.display());
        assert!(l > usage(dir), "{} below its usage: {l}", dir.display());
    }
    assert!(cgact.terminate().success());
    assert!(dirs.iter().all(|d| !oom_control(d).0), "flags left behind");
}

#[test]
fn react_raises_the_limit_after_a_kill_and_the_rerun_fits() {
    let Some((parent, a, files)) = setup("cgact-react", 512, 24, &[("a", 4, 20, 48)]) else {
        return;
    };
    let metrics = files.audit.with_extension("prom");
    let metrics_arg = metrics.to_str().unwrap();
    let mut cgact = Cgact::start(
        &parent,
        &files,
        &["--mode", "react", "--metrics-file", metrics_arg],
    );
    assert!(!oom_control(&a).0, "react mode set oom_kill_disable");
    let scrape = || std::fs::read_to_string(&metrics).unwrap_or_default();
    assert!(scrape().contains("cgact_watched_cgroups 1"), "{}", scrape());

    let mut hog = spawn_hog(&a, 40, HogOptions::default());
    assert!(wait_ready(&mut hog).is_err(), "40 MiB fit in 24 MiB");
    let _ = hog.wait();
    let killed_at = Instant::now();
    assert!(oom_control(&a).2 >= 1, "no OOM kill counted");
    let raised = wait_until(PATIENCE, || limit(&a) > 40 * MIB);
    let waited = killed_at.elapsed();
    assert!(raised.is_some(), "limit not raised: {}", limit(&a));
    println!("react: limit raised {waited:?} after the killed hog was reaped");

    let audit = files.audit();
    let lines = lines_for(&audit, &parent.name_of("a"));
    assert_eq!(lines.len(), 1, "{audit:?}");
    assert_eq!(lines[0]["mode"], "react");
    assert_eq!(lines[0]["outcome"], "resolved");
    assert_eq!(lines[0]["source"], "global");
    println!(
        "react: latency_us {} (OOM notification to the limit written)",
        lines[0]["latency_us"]
    );
    // The metrics file follows the decision.
    let counted = wait_until(PATIENCE, || {
        let text = scrape();
        text.contains(r#"cgact_rescues_total{outcome="resolved",source="global"} 1"#)
            && text.contains("cgact_reaction_latency_seconds_count 1")
            && !text.contains("cgact_oom_events_total 0")
    });
    assert!(counted.is_some(), "{}", scrape());

    let mut rerun = spawn_hog(&a, 40, HogOptions::default());
    assert_eq!(
        wait_ready(&mut rerun),
        Ok(40 * MIB),
        "the rerun did not fit"
    );
    assert!(cgact.terminate().success());
}

#[test]
fn nothing_to_give_lets_the_kernel_kill_and_leaves_nothing_frozen() {
    // Headroom 0.1 x 128 MiB < 32 MiB needed, and no donor.
    let Some((parent, a, files)) = setup("cgact-nothing", 128, 24, &[("a", 4, 20, 56)]) else {
        return;
    };
    let mut cgact = Cgact::start(&parent, &files, &["--mode", "rescue", "--threshold", "0.1"]);
    assert!(oom_control(&a).0);

    let mut hog = spawn_hog(&a, 48, HogOptions::default());
    assert!(wait_ready(&mut hog).is_err(), "the hog fit");
    let status = hog.wait().unwrap();
    assert!(!status.success(), "the hog was not killed: {status}");
    assert!(oom_control(&a).2 >= 1, "no OOM kill counted");
    assert!(
        wait_until(PATIENCE, || !oom_control(&a).1).is_some(),
        "a task is left frozen"
    );
    let audit = files.audit();
    let lines = lines_for(&audit, &parent.name_of("a"));
    assert!(
        lines.iter().any(|l| l["outcome"] == "fallback_kill"),
        "no fallback_kill line: {audit:?}"
    );
    let fallback = lines
        .iter()
        .find(|l| l["outcome"] == "fallback_kill")
        .unwrap();
    println!(
        "nothing to give: fallback_kill logged {} us after the OOM notification (deadline 500 ms)",
        fallback["latency_us"]
    );
    assert_eq!(limit(&a), 24 * MIB, "the limit changed");
    // Re-armed after the kill, restored at exit.
    assert!(
        wait_until(PATIENCE, || oom_control(&a).0).is_some(),
        "oom_kill_disable not re-armed after the fallback kill"
    );
    assert!(cgact.terminate().success());
    let (disable, under, _) = oom_control(&a);
    assert!(!disable && !under, "left frozen or disabled");
}

#[test]
fn a_restart_after_sigkill_releases_the_frozen_task() {
    let Some((parent, a, files)) = setup("cgact-sigkill", 512, 24, &[("a", 4, 20, 56)]) else {
        return;
    };
    let mut first = Cgact::start(&parent, &files, &["--mode", "rescue"]);
    assert!(oom_control(&a).0);
    first.signal(libc::SIGKILL);
    assert!(!first.wait().success());
    assert!(
        oom_control(&a).0,
        "the flag should be left behind by SIGKILL"
    );

    let mut hog = spawn_hog(&a, 40, HogOptions::default());
    assert!(
        wait_until(PATIENCE, || oom_control(&a).1).is_some(),
        "the hog did not freeze under OOM"
    );
    let restarted = Instant::now();
    let mut second = Cgact::spawn(&parent, &files, &["--mode", "rescue"]);
    let released = wait_until(PATIENCE, || !oom_control(&a).1);
    let took = restarted.elapsed();
    assert!(released.is_some(), "the frozen task was not released");
    println!("restart: frozen task released {took:?} after cgact was started");
    assert_eq!(
        wait_ready(&mut hog),
        Ok(40 * MIB),
        "the hog did not survive"
    );
    let audit = files.audit();
    let lines = lines_for(&audit, &parent.name_of("a"));
    assert!(
        lines
            .iter()
            .any(|l| l["outcome"] == "resolved" && l["mode"] == "rescue"),
        "{audit:?}"
    );
    assert!(second.terminate().success());
    assert!(!oom_control(&a).0, "flag left behind");
}

#[test]
fn dry_run_changes_nothing() {
    let Some((parent, a, files)) = setup(
        "cgact-dry-run",
        512,
        24,
        &[("a", 4, 20, 56), ("b", 4, 32, 64)],
    ) else {
        return;
    };
    let b = parent.child("b");
    parent.set_limit("b", 64 * MIB);
    let mut cgact = Cgact::start(&parent, &files, &["--mode", "rescue", "--dry-run"]);
    assert!(!oom_control(&a).0, "a dry run wrote oom_kill_disable");

    let mut hog = spawn_hog(&a, 40, HogOptions::default());
    assert!(wait_ready(&mut hog).is_err(), "the hog fit without a raise");
    let _ = hog.wait();
    let logged = wait_until(PATIENCE, || {
        lines_for(&files.audit(), &parent.name_of("a"))
            .iter()
            .any(|l| l["outcome"] == "dry_run")
    });
    assert!(logged.is_some(), "no dry_run line: {:?}", files.audit());
    assert!(files.audit().iter().all(|l| l["outcome"] == "dry_run"));
    assert_eq!(limit(&a), 24 * MIB);
    assert_eq!(limit(&b), 64 * MIB);
    assert!(!oom_control(&a).0 && !oom_control(&b).0);
    assert!(cgact.terminate().success());
}

#[test]
fn sigterm_restores_flags_new_cgroups_are_armed_and_a_second_instance_is_refused() {
    let Some((parent, a, files)) = setup("cgact-lifecycle", 512, 32, &[("a", 4, 16, 32)]) else {
        return;
    };
    let mut cgact = Cgact::start(&parent, &files, &["--mode", "rescue"]);
    assert!(oom_control(&a).0);

    let mut second = Cgact::spawn(&parent, &files, &["--mode", "rescue"]);
    let status = second.wait();
    assert_eq!(status.code(), Some(1), "second instance: {status}");
    let err = second.lines().join("\n");
    assert!(err.contains(files.lock.to_str().unwrap()), "{err}");
    assert!(
        err.contains(&cgact.child.id().to_string()),
        "no holder pid: {err}"
    );

    let n = parent.child("new");
    assert!(
        wait_until(PATIENCE, || oom_control(&n).0).is_some(),
        "a new cgroup was not armed"
    );
    std::fs::remove_dir(&n).unwrap();
    let gone = wait_until(PATIENCE, || {
        cgact
            .lines()
            .iter()
            .any(|l| l.contains("removed") || l.contains("no longer managed"))
    });
    assert!(gone.is_some(), "removal not seen");
    assert!(cgact.child.try_wait().unwrap().is_none(), "cgact exited");

    assert!(cgact.terminate().success());
    assert!(!oom_control(&a).0, "oom_kill_disable=1 left after SIGTERM");
    assert!(
        !cgact.lines().iter().any(|l| l.contains("ERROR")),
        "errors logged: {:?}",
        cgact.lines()
    );
}

#[test]
fn preempt_raises_the_limit_before_any_oom() {
    let Some((parent, a, files)) = setup("cgact-preempt", 512, 64, &[("a", 4, 32, 96)]) else {
        return;
    };
    let mut cgact = Cgact::start(&parent, &files, &["--mode", "preempt"]);
    // 60 MiB crosses the 90 % threshold (57.6 MiB) of the 64 MiB limit.
    let mut hog = spawn_hog(
        &a,
        60,
        HogOptions {
            step_mib: Some(2),
            step_ms: Some(20),
            hold_ms: None,
        },
    );
    assert_eq!(wait_ready(&mut hog), Ok(60 * MIB));
    assert!(
        wait_until(PATIENCE, || limit(&a) > 64 * MIB).is_some(),
        "limit not raised: {}",
        limit(&a)
    );
    assert_eq!(oom_control(&a).2, 0, "an OOM kill happened");
    let audit = files.audit();
    let lines = lines_for(&audit, &parent.name_of("a"));
    assert!(!lines.is_empty(), "{audit:?}");
    assert!(lines.iter().all(|l| l["mode"] == "preempt"), "{audit:?}");
    assert!(!oom_control(&a).0, "preempt mode set oom_kill_disable");
    assert!(cgact.terminate().success());
}

#[test]
fn once_releases_what_is_frozen_and_exits() {
    let Some((parent, a, files)) =
        setup("cgact-once", 512, 24, &[("a", 4, 20, 56), ("b", 4, 20, 24)])
    else {
        return;
    };
    let b = parent.child("b");
    parent.set_limit("b", 24 * MIB);
    let mut hog = frozen_hog(&a, 40);
    let mut once = Cgact::spawn(&parent, &files, &["--mode", "rescue", "--once"]);
    let status = once.wait();
    assert!(status.success(), "{status}: {}", once.lines().join("\n"));
    assert!(!oom_control(&a).1, "still frozen after --once");
    assert_eq!(
        wait_ready(&mut hog),
        Ok(40 * MIB),
        "the hog did not survive"
    );
    assert!(!oom_control(&b).0, "--once armed oom_kill_disable on b");
    let audit = files.audit();
    assert!(
        lines_for(&audit, &parent.name_of("a"))
            .iter()
            .any(|l| l["outcome"] == "resolved"),
        "{audit:?}"
    );
}

#[test]
fn sighup_with_a_broken_stats_file_keeps_the_old_statistics() {
    let Some((parent, a, files)) = setup("cgact-sighup", 512, 24, &[("a", 4, 20, 48)]) else {
        return;
    };
    let mut cgact = Cgact::start(&parent, &files, &["--mode", "react"]);
    std::fs::write(&files.stats, "{\"/nope\": 1}").unwrap();
    cgact.signal(libc::SIGHUP);
    let logged = wait_until(PATIENCE, || {
        cgact
            .lines()
            .iter()
            .any(|l| l.contains("keeping the old statistics"))
    });
    assert!(logged.is_some(), "{:?}", cgact.lines());
    assert!(
        cgact.child.try_wait().unwrap().is_none(),
        "cgact exited on SIGHUP"
    );
    // Still reacting, with the old statistics.
    let mut hog = spawn_hog(&a, 40, HogOptions::default());
    assert!(wait_ready(&mut hog).is_err());
    assert!(wait_until(PATIENCE, || limit(&a) > 40 * MIB).is_some());
    assert!(cgact.terminate().success());
}

/// The systemd unit runs cgact with `CapabilityBoundingSet=` (empty) and
/// `NoNewPrivileges=yes`: a rescue works without any capability.
#[test]
fn rescue_needs_no_capability() {
    let setpriv = Path::new("/usr/bin/setpriv");
    if !setpriv.is_file() {
        println!("SKIP: no {}", setpriv.display());
        return;
    }
    let Some((parent, a, files)) = setup("cgact-no-caps", 512, 24, &[("a", 4, 20, 56)]) else {
        return;
    };
    let wrapper = [
        "/usr/bin/setpriv",
        "--bounding-set=-all",
        "--inh-caps=-all",
        "--no-new-privs",
    ];
    let mut cgact = Cgact::start_with(&wrapper, &parent, &files, &["--mode", "rescue"]);
    let status = std::fs::read_to_string(format!("/proc/{}/status", cgact.child.id())).unwrap();
    assert!(
        status.lines().any(|l| l == "CapEff:\t0000000000000000"),
        "cgact still has capabilities: {status}"
    );
    assert!(oom_control(&a).0);
    let mut hog = spawn_hog(&a, 40, HogOptions::default());
    assert_eq!(
        wait_ready(&mut hog),
        Ok(40 * MIB),
        "not rescued without capabilities"
    );
    assert!(cgact.terminate().success());
    assert!(!oom_control(&a).0);
}

#[test]
fn a_start_that_fails_still_releases_frozen_tasks() {
    let Some((parent, a, files)) = setup("cgact-bad-start", 512, 24, &[]) else {
        return;
    };
    let mut hog = frozen_hog(&a, 40);
    std::fs::write(&files.stats, "{\"/elsewhere\": {}}").unwrap();
    let mut cgact = Cgact::spawn(&parent, &files, &["--mode", "rescue"]);
    let status = cgact.wait();
    let err = cgact.lines().join("\n");
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains(files.stats.to_str().unwrap()),
        "the error names no file: {err}"
    );
    assert!(err.contains("frozen tasks released"), "{err}");
    let killed = hog.wait().unwrap();
    assert!(
        !killed.success(),
        "the frozen hog was not released: {killed}"
    );
    let (disable, under, kills) = oom_control(&a);
    assert!(!disable && !under && kills >= 1);
}

#[test]
fn removing_the_root_stops_cgact_with_an_error() {
    let Some((parent, a, files)) = setup("cgact-root-gone", 512, 24, &[("a", 4, 20, 48)]) else {
        return;
    };
    let mut cgact = Cgact::start(&parent, &files, &["--mode", "rescue"]);
    std::fs::remove_dir(&a).unwrap();
    std::fs::remove_dir(parent.path()).unwrap();
    let status = cgact.wait();
    let err = cgact.lines().join("\n");
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains(parent.name()) && err.contains("removed"),
        "{err}"
    );
}
