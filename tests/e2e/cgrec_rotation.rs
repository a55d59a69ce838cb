//! Live end-to-end tests of `cgrec record --rotate/--retain` (issue 9) on
//! the machine's v1 memory hierarchy, under a `LiveParent` guard (SKIP
//! where none is writable):
//!
//! * `--rotate 1s` for 4 s gives several files named by start time, each a
//!   complete undamaged trace with its own header, headers in name order;
//!   `cgrec stats DIR` (whole trace, a window spanning files, percentiles)
//!   equals `cgrec stats` of the same samples in one file (the directory
//!   exported to CSV and imported); an OOM kill during the recording is in
//!   the directory exactly once (the OOM baseline carried across files);
//!   `cgsim replay DIR` reads the directory; `cgrec inspect DIR` counts the files.
//! * `--rotate 1s --retain 2s` for 5 s deletes the oldest files (as the
//!   log says), never the current one: what is left is what was written
//!   less what was deleted.
//!
//! Needs the binaries: `cargo build --workspace --bins`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use cgcal_core::trace::{open_trace, read_all, trace_files_in, EventKind};
use cgcal_testkit::{bin_path, spawn_hog, wait_ready, HogOptions, LiveParent};

const MIB: u64 = 1 << 20;

fn run(prog: &str, args: &[&str]) -> Output {
    let out = Command::new(bin_path(prog))
        .args(args)
        .env_remove("CGCAL_LOG")
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{prog} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: Output) -> String {
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `cgrec -v record ARGS` to its end; returns its stderr lines.
fn record(args: &[&str], during: impl FnOnce()) -> Vec<String> {
    let mut child = Command::new(bin_path("cgrec"))
        .arg("-v")
        .arg("record")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cgrec record");
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    during();
    let status = child.wait().unwrap();
    let lines = reader.join().unwrap();
    assert!(status.success(), "cgrec record: {status}: {lines:#?}");
    lines
}

fn files(dir: &Path) -> Vec<PathBuf> {
    trace_files_in(dir).unwrap()
}

#[test]
fn rotated_files_read_as_one_trace_with_exact_stats_and_one_oom_kill() {
    let Some(parent) = LiveParent::new("cgrec-rotate") else {
        return;
    };
    let a = parent.child("a");
    parent.set_limit("a", 128 * MIB);
    let mut hog = spawn_hog(&a, 20, HogOptions::default());
    assert_eq!(wait_ready(&mut hog), Ok(20 * MIB));
    let d = parent.child("d");
    parent.set_limit("d", 16 * MIB);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("traces");
    let root = parent.path().to_str().unwrap().to_string();
    let log = record(
        &[
            "--root",
            &root,
            "--interval",
            "100ms",
            "--flush",
            "300ms",
            "--rotate",
            "1s",
            "--duration",
            "4s",
            "-o",
            dir.to_str().unwrap(),
        ],
        || {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            let mut killed = spawn_hog(&d, 40, HogOptions::default());
            assert!(wait_ready(&mut killed).is_err(), "40 MiB fit in 16 MiB");
            let _ = killed.wait();
        },
    );
    let _ = hog.kill();
    let _ = hog.wait();

    let written = files(&dir);
    let rotations = log.iter().filter(|l| l.contains("rotated: closed")).count();
    assert!(rotations >= 2, "{log:#?}");
    assert_eq!(written.len(), rotations + 1, "{written:?}");
    let mut starts = Vec::new();
    let mut kills = 0;
    for f in &written {
        let name = f.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("cgrec-") && name.ends_with("Z.bin"),
            "{name}"
        );
        let (header, defs, samples, events, damage) = read_all(open_trace(f).unwrap()).unwrap();
        assert!(damage.is_empty(), "{f:?}: {damage:?}");
        assert!(!samples.is_empty(), "{f:?} has no sample");
        assert_eq!(header.root.to_string(), parent.name());
        starts.push(header.start_ns);
        let d_id = defs
            .iter()
            .find(|x| x.name.to_string() == parent.name_of("d"))
            .map(|x| x.id);
        kills += events
            .iter()
            .filter(|e| Some(e.cgroup) == d_id && matches!(e.kind, EventKind::OomKill { .. }))
            .count();
    }
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "{starts:?}");
    assert_eq!(kills, 1, "the OOM kill is in exactly one file");

    // The same samples in one file: the directory's CSV export, imported.
    let d = dir.to_str().unwrap();
    let csv = tmp.path().join("all.csv");
    let one = tmp.path().join("one.bin");
    run(
        "cgrec",
        &["export", d, "--format", "csv", "-o", csv.to_str().unwrap()],
    );
    run(
        "cgrec",
        &[
            "import",
            "--format",
            "csv",
            csv.to_str().unwrap(),
            "-o",
            one.to_str().unwrap(),
        ],
    );
    let o = one.to_str().unwrap();
    for window in [
        &[][..],
        &[
            "--from",
            "+1500ms",
            "--to",
            "-1500ms",
            "--percentiles",
            "50,90,99",
        ][..],
    ] {
        let over_dir = stdout(run("cgrec", &[&["stats", d][..], window].concat()));
        let over_one = stdout(run("cgrec", &[&["stats", o][..], window].concat()));
        assert_eq!(over_dir, over_one, "window {window:?}");
        let v: serde_json::Value = serde_json::from_str(&over_dir).unwrap();
        let median = v[parent.name_of("a")]["median_consumption"]
            .as_u64()
            .unwrap();
        assert!(median >= 20 * MIB, "{v}");
    }
    let inspect = stdout(run("cgrec", &["inspect", d]));
    assert!(
        inspect.contains(&format!(
            "files           {} (read as one trace",
            written.len()
        )),
        "{inspect}"
    );
    assert!(inspect.contains("health          OK"), "{inspect}");
    let replay = stdout(run("cgsim", &["replay", d, "--format", "json"]));
    assert!(replay.contains("\"algo\""), "{replay}");
}

#[test]
fn retention_deletes_the_oldest_files_and_never_the_current_one() {
    let Some(parent) = LiveParent::new("cgrec-retain") else {
        return;
    };
    parent.child("a");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("traces");
    std::fs::create_dir(&dir).unwrap();
    // Not ours: never deleted.
    std::fs::write(dir.join("cgrec-otherhost-20200101T000000.000Z.bin"), b"x").unwrap();
    let root = parent.path().to_str().unwrap().to_string();
    let log = record(
        &[
            "--root",
            &root,
            "--interval",
            "100ms",
            "--rotate",
            "1s",
            "--retain",
            "2s",
            "--duration",
            "5s",
            "-o",
            dir.to_str().unwrap(),
        ],
        || {},
    );
    let rotations = log.iter().filter(|l| l.contains("rotated: closed")).count();
    let deleted: Vec<&String> = log
        .iter()
        .filter(|l| l.contains("retention: deleted"))
        .collect();
    assert!(rotations >= 3, "{log:#?}");
    assert!(!deleted.is_empty(), "{log:#?}");
    let left: Vec<PathBuf> = files(&dir)
        .into_iter()
        .filter(|p| !p.to_str().unwrap().contains("otherhost"))
        .collect();
    assert_eq!(
        left.len(),
        rotations + 1 - deleted.len(),
        "{left:?} {log:#?}"
    );
    // The deleted ones are the oldest: every file left sorts after every deleted one.
    for line in &deleted {
        let gone = line.rsplit('/').next().unwrap();
        assert!(
            left.iter()
                .all(|p| p.file_name().unwrap().to_str().unwrap() > gone),
            "{gone} vs {left:?}"
        );
    }
    let other = dir.join("cgrec-otherhost-20200101T000000.000Z.bin");
    assert!(other.exists());
    std::fs::remove_file(other).unwrap();
    // What is left still reads as one trace.
    let out = stdout(run("cgrec", &["stats", dir.to_str().unwrap()]));
    assert!(out.contains(&parent.name_of("a")), "{out}");
}
