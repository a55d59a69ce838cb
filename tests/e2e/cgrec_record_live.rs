//! Live end-to-end tests of `cgrec record` (issue 3's acceptance) on the
//! machine's v1 memory hierarchy, under a `LiveParent` guard (SKIP where
//! none is writable): hogs holding 20, 40 and 60 MiB give medians 20 MiB
//! apart in `cgrec stats`; a hog OOM-killed under a 16 MiB limit gives an
//! `OomKill` event under its cgroup's exact name; cgroups created and
//! removed mid-run give `Created` and `Removed`; SIGTERM ends the recording
//! with exit 0 and a finished, undamaged trace; bad `--root` and `-o` are
//! errors naming the path. Needs the binaries: `cargo build --workspace --bins`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use cgcal_core::name::CgroupName;
use cgcal_core::trace::{open_trace, read_all, CgroupDef, Event, EventKind, ReadAll};
use cgcal_testkit::{bin_path, spawn_hog, wait_ready, HogOptions, LiveParent};

const MIB: u64 = 1 << 20;
/// Bound on waiting for the recorder's start line (not a timing assertion).
const START_PATIENCE: Duration = Duration::from_secs(30);

/// Starts `cgrec -v record ARGS` and waits until it logged that it
/// records (every cgroup open and watched, OOM counters read).
fn start_recorder(args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(bin_path("cgrec"))
        .arg("-v")
        .arg("record")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cgrec record");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let failure = loop {
        match rx.recv_timeout(START_PATIENCE) {
            Ok(line) if line.contains("recording") => return (child, rx),
            Ok(line) if line.contains("error") => break line,
            Ok(_) => {}
            Err(e) => break format!("no start line: {e}"),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    panic!("cgrec record did not start: {failure}");
}

fn read_trace(path: &Path) -> ReadAll {
    read_all(open_trace(path).expect("open the trace")).expect("read the trace")
}

fn events_of<'a>(defs: &[CgroupDef], events: &'a [Event], name: &str) -> Vec<&'a EventKind> {
    let name = CgroupName::parse(name).unwrap();
    let Some(id) = defs.iter().find(|d| d.name == name).map(|d| d.id) else {
        return Vec::new();
    };
    events
        .iter()
        .filter(|e| e.cgroup == id)
        .map(|e| &e.kind)
        .collect()
}

fn median_of(stats: &serde_json::Value, name: &str) -> i64 {
    stats[name]["median_consumption"]
        .as_i64()
        .unwrap_or_else(|| panic!("no median for {name} in {stats}"))
}

#[test]
fn record_gives_medians_20_mib_apart_and_the_oom_kill_under_its_cgroup() {
    let Some(parent) = LiveParent::new("cgrec-record") else {
        return;
    };
    let mut hogs = Vec::new();
    for (rel, mib) in [("a", 20), ("b", 40), ("c", 60)] {
        let dir = parent.child(rel);
        parent.set_limit(rel, 128 * MIB);
        let mut hog = spawn_hog(&dir, mib, HogOptions::default());
        assert_eq!(wait_ready(&mut hog), Ok(mib * MIB), "hog in {rel}");
        hogs.push(hog);
    }
    let d = parent.child("d");
    parent.set_limit("d", 16 * MIB);
    parent.child("gone");
    let tmp = tempfile::tempdir().unwrap();
    let trace = tmp.path().join("live.bin");
    let root = parent.path().to_str().unwrap().to_string();
    let (mut rec, _log) = start_recorder(&[
        "--root",
        &root,
        "--interval",
        "100ms",
        "--duration",
        "3s",
        "-o",
        trace.to_str().unwrap(),
    ]);
    let mut killed = spawn_hog(&d, 40, HogOptions::default());
    assert!(wait_ready(&mut killed).is_err(), "40 MiB fit in 16 MiB");
    let _ = killed.wait();
    parent.child("new");
    std::fs::remove_dir(parent.path().join("gone")).unwrap();
    let status = rec.wait().unwrap();
    assert!(status.success(), "cgrec record: {status}");

    let stats: Output = Command::new(bin_path("cgrec"))
        .arg("stats")
        .arg(&trace)
        .output()
        .unwrap();
    assert!(
        stats.status.success(),
        "{}",
        String::from_utf8_lossy(&stats.stderr)
    );
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    let (a, b, c) = (
        median_of(&stats, &parent.name_of("a")),
        median_of(&stats, &parent.name_of("b")),
        median_of(&stats, &parent.name_of("c")),
    );
    let tolerance = 3 * MIB as i64;
    assert!(
        (b - a - 20 * MIB as i64).abs() <= tolerance,
        "b - a = {} bytes",
        b - a
    );
    assert!(
        (c - b - 20 * MIB as i64).abs() <= tolerance,
        "c - b = {} bytes",
        c - b
    );

    let (header, defs, samples, events, damage) = read_trace(&trace);
    assert!(damage.is_empty(), "{damage:?}");
    assert_eq!(header.root.as_str(), parent.name());
    assert_eq!(header.interval_ns, 100_000_000);
    assert!(header.host_memory.is_some() && !header.kernel.is_empty());
    // One timestamp per sweep: every cgroup's samples share the sweep times.
    let mut per_time: BTreeMap<u64, usize> = BTreeMap::new();
    for s in &samples {
        *per_time.entry(s.time_ns).or_default() += 1;
    }
    assert!(per_time.values().filter(|&&n| n >= 5).count() >= 5);
    let d_events = events_of(&defs, &events, &parent.name_of("d"));
    assert!(
        d_events
            .iter()
            .any(|k| matches!(k, EventKind::OomKill { limit: Some(l), .. } if *l == 16 * MIB)),
        "no OomKill under {}: {d_events:?}",
        parent.name_of("d")
    );
    assert!(d_events.iter().any(|k| matches!(k, EventKind::Oom { .. })));
    for rel in ["a", "b", "c"] {
        let kinds = events_of(&defs, &events, &parent.name_of(rel));
        assert!(
            !kinds.iter().any(|k| matches!(k, EventKind::OomKill { .. })),
            "{rel}: {kinds:?}"
        );
    }
    assert_eq!(
        events_of(&defs, &events, &parent.name_of("new")),
        [&EventKind::Created]
    );
    assert_eq!(
        events_of(&defs, &events, &parent.name_of("gone")),
        [&EventKind::Removed]
    );
}

#[test]
fn sigterm_ends_the_recording_with_a_finished_trace() {
    let Some(parent) = LiveParent::new("cgrec-sigterm") else {
        return;
    };
    parent.child("x");
    let tmp = tempfile::tempdir().unwrap();
    let trace = tmp.path().join("term.bin");
    let root = parent.path().to_str().unwrap().to_string();
    let (mut rec, log) = start_recorder(&[
        "--root",
        &root,
        "--interval",
        "50ms",
        "-o",
        trace.to_str().unwrap(),
    ]);
    // Let a few sweeps happen (no timing is asserted).
    std::thread::sleep(Duration::from_millis(400));
    // SAFETY: kill(2) on the pid of our own child.
    assert_eq!(unsafe { libc::kill(rec.id() as i32, libc::SIGTERM) }, 0);
    let status = rec.wait().unwrap();
    let lines: Vec<String> = log.try_iter().collect();
    assert_eq!(status.code(), Some(0), "{lines:?}");
    let (_, defs, samples, _, damage) = read_trace(&trace);
    assert!(damage.is_empty(), "{damage:?}");
    assert_eq!(defs.len(), 2);
    assert!(samples.len() >= 2, "{} samples", samples.len());
    assert!(!tmp.path().join("term.bin.compacting").exists());
}

#[test]
fn bad_root_and_unwritable_output_are_errors_naming_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(bin_path("cgrec"))
        .args(["record", "--duration", "1s", "--root"])
        .arg(tmp.path())
        .arg("-o")
        .arg(tmp.path().join("t.bin"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("cgrec: error: "), "{err}");
    assert!(err.contains(&tmp.path().display().to_string()), "{err}");
    assert!(err.contains("--root"), "{err}");

    let Some(parent) = LiveParent::new("cgrec-badout") else {
        return;
    };
    let bad = tmp.path().join("no/such/dir/t.bin");
    let out = Command::new(bin_path("cgrec"))
        .args(["record", "--duration", "1s", "--root"])
        .arg(parent.path())
        .arg("-o")
        .arg(&bad)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&bad.display().to_string()), "{err}");
    assert!(err.contains("writable"), "{err}");
}
