//! Fault injection, live: `cgrec record` killed with SIGKILL while it
//! writes (issue 6, 3a). The trace must stay readable up to the last flush.
//!
//! Each round records a live parent with two children (`--interval 20ms
//! --flush 200ms`) and `--metrics-file`, which the recorder rewrites after
//! every flush's `fdatasync`: its `cgrec_samples_total` is the number of
//! samples durable at the last flush the test saw. Once at least three
//! flushes are visible, the recorder is SIGKILLed after a random-ish further
//! delay (0 to 600 ms, so the kill lands anywhere within a flush cycle,
//! sometimes inside a chunk write). Then:
//! * `cgrec inspect` and `cgrec stats` exit 0;
//! * the reader reports no damage other than one torn tail at the end of
//!   the file (named with its byte offset by `cgrec inspect`);
//! * the trace holds at least the samples the last metrics file counted;
//! * sweeps are whole: every sample time has one sample of each cgroup.
//!
//! `cgrec_record_live` covers SIGTERM (a clean, compacted stop); this module
//! covers only the kill.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cgcal_core::trace::{open_trace, read_all, DamageKind};
use cgcal_testkit::{bin_path, LiveParent};

/// Rounds of record-and-kill, each at another point of the flush cycle.
const ROUNDS: u64 = 4;
/// Bound on waiting for the recorder to reach three flushes (not a timing assertion).
const PATIENCE: Duration = Duration::from_secs(30);

/// `cgrec_samples_total` in the metrics file, if it exists and parses.
fn flushed_samples(metrics: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(metrics).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("cgrec_samples_total "))
        .and_then(|v| v.trim().parse().ok())
}

/// A delay in 0..600 ms (three flush intervals) that differs between runs and rounds.
fn random_ish_delay(round: u64) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    let x = (nanos ^ (u64::from(std::process::id()) << 16) ^ round.wrapping_mul(0x9E37_79B9))
        .wrapping_mul(0x2545_F491_4F6C_DD1D);
    Duration::from_millis((x >> 33) % 600)
}

fn start(root: &Path, trace: &Path, metrics: &Path) -> Child {
    Command::new(bin_path("cgrec"))
        .args(["record", "--interval", "20ms", "--flush", "200ms", "--root"])
        .arg(root)
        .arg("-o")
        .arg(trace)
        .arg("--metrics-file")
        .arg(metrics)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn cgrec record")
}

fn cgrec_ok(args: &[&str]) -> String {
    let out = Command::new(bin_path("cgrec"))
        .args(args)
        .env_remove("CGCAL_LOG")
        .output()
        .expect("run cgrec");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "cgrec {args:?} panicked: {err}");
    assert_eq!(out.status.code(), Some(0), "cgrec {args:?}: {err}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One round: record, kill, check. Returns whether the kill tore a chunk.
fn round(parent: &LiveParent, round: u64) -> bool {
    let tmp = tempfile::tempdir().unwrap();
    let trace = tmp.path().join("killed.bin");
    let metrics = tmp.path().join("cgrec.prom");
    let mut rec = start(parent.path(), &trace, &metrics);
    // Wait until three flushes are visible (the samples counter grew three times).
    let deadline = Instant::now() + PATIENCE;
    let mut seen = Vec::new();
    while seen.len() < 3 {
        if let Some(n) = flushed_samples(&metrics) {
            if n > 0 && seen.last() != Some(&n) {
                seen.push(n);
            }
        }
        if let Ok(Some(status)) = rec.try_wait() {
            panic!("cgrec record ended early: {status}");
        }
        if Instant::now() >= deadline {
            let _ = rec.kill();
            let _ = rec.wait();
            panic!("cgrec record did not flush three times within {PATIENCE:?}: {seen:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let delay = random_ish_delay(round);
    std::thread::sleep(delay);
    // The metrics file is replaced after each flush's fdatasync: what it
    // says just before the kill is durable in the trace.
    let durable = flushed_samples(&metrics).expect("metrics file");
    rec.kill().expect("SIGKILL the recorder");
    let status = rec.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    assert!(!tmp.path().join("killed.bin.compacting").exists());

    let path = trace.to_str().unwrap();
    let inspect = cgrec_ok(&["inspect", path]);
    let stats: serde_json::Value = serde_json::from_str(&cgrec_ok(&["stats", path])).unwrap();

    let (_, defs, samples, _, damage) = read_all(open_trace(&trace).unwrap()).unwrap();
    let size = std::fs::metadata(&trace).unwrap().len();
    let torn = match damage.as_slice() {
        [] => {
            assert!(inspect.contains("health          OK"), "{inspect}");
            false
        }
        [d] => {
            let DamageKind::TornTail { have, .. } = d.kind else {
                panic!("damage other than a torn tail after SIGKILL: {d}");
            };
            assert_eq!(
                d.offset + have,
                size,
                "the torn chunk is not the file's end: {d}"
            );
            assert!(
                inspect.contains(&format!("byte offset {}", d.offset)),
                "inspect does not name the torn tail's offset {}: {inspect}",
                d.offset
            );
            true
        }
        more => panic!("several damaged chunks after one SIGKILL: {more:?}"),
    };
    assert!(
        samples.len() as u64 >= durable,
        "round {round}: {} samples in the trace, {durable} flushed before the kill",
        samples.len()
    );
    // Whole sweeps: every sample time has one sample of every cgroup.
    let mut per_time: BTreeMap<u64, usize> = BTreeMap::new();
    for s in &samples {
        *per_time.entry(s.time_ns).or_default() += 1;
    }
    assert_eq!(defs.len(), 3, "{defs:?}");
    assert!(
        per_time.values().all(|&n| n == defs.len()),
        "a sweep is partial: {per_time:?}"
    );
    for d in &defs {
        assert!(
            stats.get(d.name.as_str()).is_some(),
            "no statistics for {}: {stats}",
            d.name
        );
    }
    println!(
        "round {round}: killed {delay:?} after the third flush seen: {} samples ({durable} counted at the last flush seen), {size} bytes, {}",
        samples.len(),
        if torn { "torn tail" } else { "clean end" }
    );
    torn
}

#[test]
fn sigkill_while_recording_leaves_a_trace_readable_to_the_last_flush() {
    let Some(parent) = LiveParent::new("cgrec-sigkill") else {
        return;
    };
    parent.child("a");
    parent.child("b");
    let torn = (0..ROUNDS).filter(|&r| round(&parent, r)).count();
    println!("{torn} of {ROUNDS} kills tore the last chunk");
}
