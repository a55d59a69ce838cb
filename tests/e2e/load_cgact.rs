//! `cgact --mode rescue` under load, live on the machine's v1 memory
//! hierarchy (issue 6 point 4), under a `LiveParent` guard (SKIP where none
//! is writable).
//!
//! 20 cgroups `c00`..`c19`, each reset to an 8 MiB limit before every run
//! of a `cgcal-hog` of 12 MiB (all at once, exits as soon as it holds it),
//! one loop per cgroup restarting the hog for [`LOAD`]. Every run hits the
//! limit: one OOM episode. The Phase 1 max of 20 MiB makes cgact ask for
//! 12 MiB from the global headroom (`--threshold 0.15` of the 1 GiB parent:
//! about 154 MiB less what the hogs hold), which runs out when many hogs
//! hold memory at once: then the kernel is let to kill (a fallback kill).
//!
//! What is counted, per cgroup:
//! * **kills**: the kernel's `oom_kill` in `memory.oom_control` at the end;
//!   it must equal the runs the test saw end by SIGKILL, and every kill
//!   must have an audit line with outcome `fallback_kill` for the cgroup
//!   (`fallback_kill lines >= kills`: cgact let each one through);
//! * **rescues**: the runs that ended with exit 0 (the hog got its 12 MiB
//!   past the 8 MiB limit, so cgact raised it). Each must be covered by a
//!   line that added memory or a `fallback_kill` line
//!   (`lines that added + fallback_kill lines >= rescued runs`).
//!
//! Not equalities, because of what was measured here (reported, not
//! fixed): when the headroom runs out, some `fallback_kill` lines are
//! followed by no kill (with `--threshold 0.15` about 2 lines per kill),
//! and a fallback decided while a run was being rescued can disarm the
//! cgroup so that the *next* run is killed by the kernel (still one kill,
//! one `fallback_kill` line). The audit log thus never misses a kill or a
//! rescue, but overstates the fallback kills under this load.
//!
//! OOM events = kills + rescues, at least 1,000 in at most 60 s of load.
//! A run is restarted only once the test sees its cgroup re-armed
//! (`oom_kill_disable` 1, `under_oom` 0).
//! At the end no task is frozen, cgact's VmRSS at the end is within
//! [`RSS_SLACK_KIB`] of the one at 10 s, and its CPU time is printed.
//! Needs the binaries: `cargo build --workspace --bins`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cgcal_testkit::{spawn_hog, HogOptions, LiveParent};

use super::cgact_live::{lines_for, oom_control, wait_until, Cgact, Files, MIB, PATIENCE};

/// Managed cgroups.
const CGROUPS: usize = 20;
/// How long the hogs are restarted (the RSS is sampled at 10 s).
const LOAD: Duration = Duration::from_secs(25);
/// OOM events required.
const MIN_EVENTS: u64 = 1_000;
/// Growth of cgact's VmRSS allowed between 10 s and the end.
const RSS_SLACK_KIB: u64 = 1024;

/// What one cgroup's loop saw.
#[derive(Debug, Default, Clone, Copy)]
struct Runs {
    rescued: u64,
    killed: u64,
    /// Rescued runs whose hog then exited 1: its `ready` line could not be
    /// written (the pipe buffer is charged to the cgroup, and the write
    /// answers ENOMEM at the limit; seen a few times per thousand runs).
    rescued_exit_1: u64,
}

/// `VmRSS` of `pid` in KiB.
fn vm_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// utime + stime of `pid` in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // Fields 14 and 15 of stat(5), counted from the state (field 3).
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Sets the limit of `dir` back to 8 MiB once its last hog's memory is gone.
fn reset_limit(dir: &Path) {
    let file = dir.join("memory.limit_in_bytes");
    let done = wait_until(PATIENCE, || {
        std::fs::write(&file, (8 * MIB).to_string()).is_ok()
    });
    assert!(done.is_some(), "{} not reset to 8 MiB", dir.display());
}

/// One cgroup's loop: reset, wait armed, run a hog, count how it ended.
fn run_loop(dir: &Path, stop: &AtomicBool) -> Runs {
    let mut runs = Runs::default();
    while !stop.load(Ordering::Relaxed) {
        reset_limit(dir);
        std::fs::write(dir.join("memory.max_usage_in_bytes"), "0").unwrap();
        let armed = wait_until(PATIENCE, || {
            let (disabled, under, _) = oom_control(dir);
            disabled && !under
        });
        assert!(armed.is_some(), "{} not re-armed", dir.display());
        let mut hog = spawn_hog(
            dir,
            12,
            HogOptions {
                hold_ms: Some(0),
                ..HogOptions::default()
            },
        );
        let ended = wait_until(PATIENCE, || hog.try_wait().unwrap().is_some());
        if ended.is_none() {
            let _ = hog.kill();
            panic!("a hog in {} stayed frozen", dir.display());
        }
        let status = hog.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        // The run got its 12 MiB past the 8 MiB limit iff the peak says so.
        let peak: u64 = std::fs::read_to_string(dir.join("memory.max_usage_in_bytes"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        match (status.code(), status.signal()) {
            (_, Some(libc::SIGKILL)) => runs.killed += 1,
            (Some(0), _) => runs.rescued += 1,
            (Some(1), _) if peak >= 12 * MIB => {
                runs.rescued += 1;
                runs.rescued_exit_1 += 1;
            }
            other => panic!(
                "hog in {} ended {other:?} with a peak of {peak} bytes",
                dir.display()
            ),
        }
    }
    runs
}

#[test]
fn a_thousand_oom_events_in_a_minute_none_missed_none_frozen_rss_stable() {
    let Some(parent) = LiveParent::new("load-cgact") else {
        return;
    };
    parent.set_limit("", 1024 * MIB);
    let rels: Vec<String> = (0..CGROUPS).map(|i| format!("c{i:02}")).collect();
    let dirs: Vec<PathBuf> = rels.iter().map(|r| parent.child(r)).collect();
    for r in &rels {
        parent.set_limit(r, 8 * MIB);
    }
    let files = Files::new();
    let rows: Vec<(&str, u64, u64, u64)> = rels.iter().map(|r| (r.as_str(), 1, 4, 20)).collect();
    files.write_stats(&parent, &rows);
    let mut cgact = Cgact::start(
        &parent,
        &files,
        &[
            "--mode",
            "rescue",
            "--threshold",
            "0.15",
            "--min-bump",
            "4M",
        ],
    );
    let pid = cgact.child.id();
    let ticks_start = cpu_ticks(pid);
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let (runs, rss_10s, rss_end, wall) = std::thread::scope(|scope| {
        let loops: Vec<_> = dirs
            .iter()
            .map(|d| scope.spawn(|| run_loop(d, &stop)))
            .collect();
        std::thread::sleep(Duration::from_secs(10));
        let rss_10s = vm_rss_kib(pid);
        std::thread::sleep(LOAD - Duration::from_secs(10));
        stop.store(true, Ordering::Relaxed);
        let runs: Vec<Runs> = loops
            .into_iter()
            .map(|l| l.join().expect("a loop failed"))
            .collect();
        let wall = start.elapsed();
        (runs, rss_10s, vm_rss_kib(pid), wall)
    });
    let ticks = cpu_ticks(pid) - ticks_start;
    let hogs_cpu_s = children_cpu_s();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let cpu_s = ticks as f64 / hz;

    // Nothing frozen, nothing left under OOM, before cgact stops.
    for d in &dirs {
        let (_, under, _) = oom_control(d);
        assert!(!under, "{} left under OOM", d.display());
        let procs = std::fs::read_to_string(d.join("cgroup.procs")).unwrap();
        assert!(procs.trim().is_empty(), "tasks left in {}", d.display());
    }
    // The last decisions' lines are flushed by the time cgact exits.
    let status = cgact.terminate();
    assert!(status.success(), "cgact: {status}");
    for d in &dirs {
        assert!(
            !oom_control(d).0,
            "oom_kill_disable left on {}",
            d.display()
        );
    }
    let audit = files.audit();
    let mut per_cgroup = BTreeMap::new();
    let (mut kills, mut rescues) = (0u64, 0u64);
    let mut missed = Vec::new();
    for ((rel, dir), r) in rels.iter().zip(&dirs).zip(&runs) {
        let name = parent.name_of(rel);
        let lines = lines_for(&audit, &name);
        let fallback = lines
            .iter()
            .filter(|l| l["outcome"] == "fallback_kill")
            .count() as u64;
        let gave = lines
            .iter()
            .filter(|l| l["added_memory"].as_u64().unwrap_or(0) > 0)
            .count() as u64;
        let kernel_kills = oom_control(dir).2;
        per_cgroup.insert(
            rel.clone(),
            (r.rescued, r.killed, kernel_kills, fallback, gave),
        );
        if fallback < kernel_kills || kernel_kills != r.killed || gave + fallback < r.rescued {
            missed.push(rel.clone());
        }
        kills += r.killed;
        rescues += r.rescued;
    }
    let events = kills + rescues;
    let exit_1: u64 = runs.iter().map(|r| r.rescued_exit_1).sum();
    println!("load: {exit_1} rescued runs whose hog could not print `ready` (ENOMEM on its stdout pipe at the limit)");
    println!("load: per cgroup (rescued, killed, kernel oom_kill, fallback_kill lines, lines that gave): {per_cgroup:?}");
    println!(
        "load: {events} OOM events ({rescues} rescues, {kills} kills) in {:.1} s across {CGROUPS} cgroups, {} audit lines; cgact CPU {cpu_s:.2} s ({:.1}% of one core, {:.0} us per event; the hogs' CPU {hogs_cpu_s:.2} s, ratio cgact/hogs {:.3}); VmRSS {rss_10s} KiB at 10 s, {rss_end} KiB at the end",
        wall.as_secs_f64(),
        audit.len(),
        100.0 * cpu_s / wall.as_secs_f64(),
        1e6 * cpu_s / events.max(1) as f64,
        cpu_s / hogs_cpu_s,
    );
    assert!(
        missed.is_empty(),
        "counts differ in {missed:?} (kernel oom_kill must equal the killed runs and be covered by fallback_kill lines; lines that gave plus fallback_kill lines must cover rescued runs)"
    );
    assert!(kills > 0, "the headroom never ran out: no fallback kill");
    assert!(rescues > 0, "no rescue");
    assert!(events >= MIN_EVENTS, "only {events} OOM events in {wall:?}");
    assert!(
        rss_end <= rss_10s + RSS_SLACK_KIB,
        "cgact's VmRSS grew from {rss_10s} to {rss_end} KiB"
    );
}

/// User + system CPU seconds of this process's reaped children (the hogs;
/// cgact is still running, so not counted).
fn children_cpu_s() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}
