//! cgact on a live cgroup v2 hierarchy (SPEC §6, issue 8): react, rescue
//! (`memory.high` under `memory.max`), donors never written below their
//! usage plus the guard, preempt from a PSI trigger. Each runs the real
//! `cgact` binary on a `cgcal-test-*` parent as its `--root` (the global
//! cgroup) with a stats file written here, and `cgcal-hog` processes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cgcal_core::audit::{AuditLine, Outcome as AuditOutcome};
use cgcal_core::name::CgroupName;
use cgcal_core::policy::safety::guard;
use cgcal_core::policy::PolicyConfig;
use cgcal_core::stats::{to_json, CgroupStats};
use cgcal_testkit::{HogOptions, LiveParent};

use crate::child_process::{start_daemon, Hog, Running, PATIENCE};
use crate::scenario::{ensure, Outcome};
use crate::v2_cgroup::{
    child, current, enable_memory_below, events, limit, parent, set_limit, MIB,
};

/// The line cgact logs (info) once it waits for events.
const CGACT_READY: &str = "cgact started; waiting for events";

/// Phase 1 statistics of one managed cgroup, in MiB: (rel, min, median, max).
type Phase1Mib = (&'static str, u64, u64, u64);

/// A running `cgact` on a test parent with its stats file and audit log.
struct Cgact {
    daemon: Running,
    audit: PathBuf,
}

impl Cgact {
    /// Writes the stats file of `phase1` and starts `cgact -v --root
    /// PARENT --stats FILE --mode MODE --log FILE`, returning once it waits
    /// for events.
    fn start(p: &LiveParent, mode: &str, phase1: &[Phase1Mib]) -> Result<Cgact, String> {
        let tmp = std::env::temp_dir();
        let leaf = p
            .path()
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let stats_path = tmp.join(format!("{leaf}.stats.json"));
        let audit = tmp.join(format!("{leaf}.audit.jsonl"));
        let mut stats = std::collections::BTreeMap::new();
        for &(rel, min, median, max) in phase1 {
            let name = CgroupName::parse(&p.name_of(rel)).map_err(|e| format!("{rel}: {e}"))?;
            stats.insert(
                name,
                CgroupStats {
                    min: min * MIB,
                    max: max * MIB,
                    median: median * MIB,
                    samples: 100,
                    percentiles: Vec::new(),
                },
            );
        }
        std::fs::write(&stats_path, to_json(&stats))
            .map_err(|e| format!("write {}: {e}", stats_path.display()))?;
        let root = p.path().to_str().ok_or("non-UTF-8 parent path")?;
        let args = [
            "-v",
            "--root",
            root,
            "--stats",
            stats_path.to_str().ok_or("non-UTF-8 path")?,
            "--mode",
            mode,
            "--log",
            audit.to_str().ok_or("non-UTF-8 path")?,
        ];
        let daemon = start_daemon("cgact", &args, CGACT_READY)?;
        Ok(Cgact { daemon, audit })
    }

    /// The audit lines written so far (an unparsable line is an error).
    fn audit_lines(&self) -> Result<Vec<AuditLine>, String> {
        let text = match std::fs::read_to_string(&self.audit) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("read {}: {e}", self.audit.display())),
        };
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .map_err(|e| format!("{}: bad audit line {l:?}: {e}", self.audit.display()))
            })
            .collect()
    }

    /// Waits (bounded by [`PATIENCE`]) for an audit line about `cgroup`
    /// that wrote memory (outcome resolved or partial).
    fn wait_for_grant(&self, cgroup: &str) -> Result<AuditLine, String> {
        wait_until(
            &format!("an audit line granting memory to {cgroup}"),
            || {
                Ok(self.audit_lines()?.into_iter().find(|l| {
                    l.oom_cgroup == cgroup
                        && matches!(l.outcome, AuditOutcome::Resolved | AuditOutcome::Partial)
                        && l.added_memory > 0
                }))
            },
        )
        .map_err(|e| format!("{e}; cgact's stderr: {:?}", self.daemon.drain_log()))
    }

    /// SIGTERM; Err unless cgact exits 0.
    fn stop(mut self) -> Outcome {
        let code = self.daemon.terminate()?;
        ensure(code == Some(0), || {
            format!(
                "cgact exited with {code:?} on SIGTERM; stderr: {:?}",
                self.daemon.drain_log()
            )
        })
    }
}

/// Polls `probe` every 20 ms until it gives a value, at most [`PATIENCE`].
fn wait_until<T>(
    what: &str,
    mut probe: impl FnMut() -> Result<Option<T>, String>,
) -> Result<T, String> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = probe()? {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            return Err(format!("no {what} within {PATIENCE:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// No OOM (`oom`) and no kill (`oom_kill`) in `dir`'s own counters.
fn no_oom(dir: &Path, what: &str) -> Outcome {
    let ev = events(dir, true)?;
    ensure(ev.oom == 0 && ev.oom_kill == 0, || {
        format!(
            "{what}: memory.events.local has oom {} oom_kill {}",
            ev.oom, ev.oom_kill
        )
    })
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

/// react: a 40 MiB hog is OOM-killed under `memory.max` 32M; cgact (react)
/// raises `memory.max` from the `oom_kill` of `memory.events`, and the same
/// hog run again fits.
pub fn react() -> Outcome {
    let p = parent("cgact-react")?;
    let x = child(&p, "x", Some(32 * MIB))?;
    let cgact = Cgact::start(&p, "react", &[("x", 8, 20, 48)])?;
    let mut hog = Hog::spawn(&x, 40, HogOptions::default());
    ensure(hog.ready().is_err(), || {
        "40 MiB fit in memory.max 32M".to_string()
    })?;
    hog.wait()?;
    let kills = events(&x, true)?.oom_kill;
    ensure(kills == 1, || format!("x's oom_kill is {kills}, not 1"))?;
    let line = cgact.wait_for_grant(&p.name_of("x"))?;
    let max = limit(&x, "memory.max")?.unwrap_or(u64::MAX);
    ensure(max >= 40 * MIB + 4 * MIB, || {
        format!("memory.max raised only to {max} bytes: {line:?}")
    })?;
    ensure(line.limits_after.get(&p.name_of("x")) == Some(&max), || {
        format!(
            "audit limits_after {:?} is not the memory.max read back ({max})",
            line.limits_after
        )
    })?;
    let mut rerun = Hog::spawn(&x, 40, HogOptions::default());
    let bytes = rerun
        .ready()
        .map_err(|e| format!("the rerun did not fit in {max} bytes: {e}"))?;
    ensure(bytes == 40 * MIB, || format!("rerun ready with {bytes}"))?;
    let kills = events(&x, true)?.oom_kill;
    ensure(kills == 1, || {
        format!("x's oom_kill went to {kills} on the rerun")
    })?;
    println!(
        "v2vm: cgact-react: memory.max 32 MiB -> {:.1} MiB after the kill, audit latency {} us, rerun of 40 MiB fit",
        mib(max),
        line.latency_us
    );
    drop(rerun);
    cgact.stop()
}

/// rescue: cgact keeps `memory.high` a margin under `memory.max` (32M); a
/// hog growing to 40 MiB in 4 MiB steps is throttled above `memory.high`
/// and survives, because cgact raises both limits on the `high` events /
/// PSI. The time it waited is its run time minus the same hog's run time
/// in an unlimited sibling.
pub fn rescue() -> Outcome {
    let p = parent("cgact-rescue")?;
    let free = child(&p, "free", None)?;
    let steps = HogOptions {
        step_mib: Some(1),
        step_ms: Some(100),
        hold_ms: None,
    };
    let t = Instant::now();
    let mut base = Hog::spawn(&free, 40, steps);
    base.ready()?;
    let baseline = t.elapsed();
    drop(base);
    std::fs::remove_dir(&free).map_err(|e| format!("rmdir {}: {e}", free.display()))?;

    let x = child(&p, "x", Some(32 * MIB))?;
    let cgact = Cgact::start(&p, "rescue", &[("x", 8, 20, 48)])?;
    let high = limit(&x, "memory.high")?;
    ensure(
        high.is_some_and(|h| (28 * MIB..32 * MIB).contains(&h)),
        || format!("memory.high is {high:?} at start, not just under memory.max 32 MiB"),
    )?;
    let t = Instant::now();
    let mut hog = Hog::spawn(&x, 40, steps);
    let ready = hog.ready();
    let took = t.elapsed();
    if let Err(e) = ready {
        std::thread::sleep(Duration::from_millis(500));
        return Err(format!(
            "the hog did not survive ({e}, after {:.2} s); x's memory.events.local: {:?}; audit: {:?}; cgact's stderr: {:?}",
            took.as_secs_f64(),
            events(&x, true),
            cgact.audit_lines(),
            cgact.daemon.drain_log()
        ));
    }
    no_oom(&x, "x")?;
    let line = cgact.wait_for_grant(&p.name_of("x"))?;
    let (max, high) = (limit(&x, "memory.max")?, limit(&x, "memory.high")?);
    let (Some(max), Some(high)) = (max, high) else {
        return Err(format!(
            "memory.max {max:?} / memory.high {high:?} not both limits"
        ));
    };
    ensure(high < max && max >= 40 * MIB, || {
        format!(
            "after the rescue memory.high {high} is not under memory.max {max} (or max < 40 MiB)"
        )
    })?;
    ensure(line.mode == "rescue", || {
        format!("audit mode {:?}", line.mode)
    })?;
    let ev = events(&x, true)?;
    let waited = took.saturating_sub(baseline);
    println!(
        "v2vm: cgact-rescue: hog waited {:.2} s (40 MiB in {:.2} s vs {:.2} s unlimited), {} high events, \
         memory.max {:.1} MiB / memory.high {:.1} MiB, audit latency {} us",
        waited.as_secs_f64(),
        took.as_secs_f64(),
        baseline.as_secs_f64(),
        ev.high,
        mib(max),
        mib(high),
        line.latency_us
    );
    drop(hog);
    cgact.stop()
}

/// Samples a cgroup's `memory.max` and `memory.current` in a thread; the
/// smallest `max − current` seen and the smallest `max`.
struct LimitWatch {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Result<(u64, u64, u64), String>>,
}

impl LimitWatch {
    fn start(dir: PathBuf) -> LimitWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut min_room, mut min_max, mut reads) = (u64::MAX, u64::MAX, 0);
            while !flag.load(Ordering::Relaxed) {
                let max = limit(&dir, "memory.max")?.unwrap_or(u64::MAX);
                let cur = current(&dir)?;
                min_room = min_room.min(max.saturating_sub(cur));
                min_max = min_max.min(max);
                reads += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            Ok((min_room, min_max, reads))
        });
        LimitWatch { stop, thread }
    }

    /// (smallest max − current, smallest max, reads).
    fn finish(self) -> Result<(u64, u64, u64), String> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .join()
            .map_err(|_| "the watch thread panicked".to_string())?
    }
}

/// donors: the global cgroup (memory.max 56M) has too little headroom for
/// x's grant (32 MiB), so cgact (react) takes from donor y (memory.max 64M,
/// 36 MiB in use, below its median of 56 MiB). y's `memory.max` never drops
/// below its `memory.current` plus the guard (a lower write would OOM-kill
/// inside y): checked by sampling both every 5 ms throughout, by y's
/// counters, and by its hog still running.
pub fn donors() -> Outcome {
    let p = parent("cgact-donors")?;
    set_limit(p.path(), "memory.max", Some(56 * MIB))?;
    let x = child(&p, "x", Some(16 * MIB))?;
    let y = child(&p, "y", Some(64 * MIB))?;
    let mut donor = Hog::spawn(&y, 36, HogOptions::default());
    donor.ready()?;
    let watch = LimitWatch::start(y.clone());
    let cgact = Cgact::start(&p, "react", &[("x", 4, 12, 40), ("y", 8, 56, 60)])?;
    let mut hog = Hog::spawn(&x, 24, HogOptions::default());
    ensure(hog.ready().is_err(), || {
        "24 MiB fit in memory.max 16M".to_string()
    })?;
    hog.wait()?;
    let line = cgact.wait_for_grant(&p.name_of("x"));
    let (min_room, min_max, reads) = watch.finish()?;
    let line = line?;
    let g = guard(64 * MIB, &PolicyConfig::default());
    let taken = line
        .adjusted_cgroups
        .iter()
        .find(|a| a.name == p.name_of("y"))
        .map(|a| a.reduced_memory);
    ensure(taken.is_some_and(|t| t > 0), || {
        format!("y was not used as a donor: {line:?}")
    })?;
    ensure(min_room >= g, || {
        format!(
            "y's memory.max came within {min_room} bytes of memory.current (guard {g}); lowest max {min_max}"
        )
    })?;
    no_oom(&y, "the donor y")?;
    ensure(donor.running()?, || "the donor's hog is gone".to_string())?;
    let y_after = line.limits_after.get(&p.name_of("y")).copied().unwrap_or(0);
    let y_now = current(&y)?;
    ensure(y_after >= y_now + g, || {
        format!("audit limits_after of y {y_after} < memory.current {y_now} + guard {g}")
    })?;
    println!(
        "v2vm: cgact-donors: y gave {:.1} MiB (64 -> {:.1} MiB, {:.1} MiB in use), smallest max - current seen {:.1} MiB \
         over {reads} reads (guard {:.1} MiB), source {:?}, outcome {:?}",
        mib(taken.unwrap_or(0)),
        mib(y_after),
        mib(y_now),
        mib(min_room),
        mib(g),
        line.source,
        line.outcome
    );
    drop(donor);
    cgact.stop()
}

/// preempt: `g` (not managed) has an operator's `memory.high` of 24M; its
/// child x (managed, memory.max 40M) grows a hog past 24 MiB, so x's task
/// is throttled. The `high` events go to `g`'s `memory.events`, not x's;
/// only x's `memory.pressure` sees the stall. cgact (preempt) raises x's
/// `memory.max` from that PSI trigger, before any OOM.
pub fn preempt() -> Outcome {
    let p = parent("cgact-preempt")?;
    let g = child(&p, "g", None)?;
    enable_memory_below(&g)?;
    set_limit(&g, "memory.high", Some(24 * MIB))?;
    let x = child(&p, "g/x", Some(40 * MIB))?;
    let cgact = Cgact::start(&p, "preempt", &[("g/x", 8, 20, 60)])?;
    let hog = Hog::spawn(
        &x,
        32,
        HogOptions {
            step_mib: Some(2),
            step_ms: Some(20),
            hold_ms: None,
        },
    );
    let line = cgact.wait_for_grant(&p.name_of("g/x"));
    let pressure = std::fs::read_to_string(x.join("memory.pressure")).unwrap_or_default();
    let line = line?;
    let max = limit(&x, "memory.max")?.unwrap_or(u64::MAX);
    ensure(max > 40 * MIB, || {
        format!("x's memory.max is {max}, not raised")
    })?;
    no_oom(&x, "x")?;
    no_oom(&g, "g")?;
    let ev = events(&x, false)?;
    ensure(ev.high == 0 && ev.max == 0, || {
        format!(
            "x's memory.events has high {} max {}: the decision may not come from PSI",
            ev.high, ev.max
        )
    })?;
    ensure(line.mode == "preempt", || {
        format!("audit mode {:?}", line.mode)
    })?;
    println!(
        "v2vm: cgact-preempt: x's memory.max 40 MiB -> {:.1} MiB from PSI (x's memory.events high 0 max 0, \
         g's high {}), audit latency {} us; x's memory.pressure: {}",
        mib(max),
        events(&g, false)?.high,
        line.latency_us,
        pressure.lines().next().unwrap_or("?")
    );
    drop(hog);
    cgact.stop()
}
