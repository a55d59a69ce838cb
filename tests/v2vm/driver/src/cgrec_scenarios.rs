//! cgrec on a live cgroup v2 hierarchy: medians of real processes in
//! `cgrec stats`, and OOM kills recorded from `memory.events.local` under
//! the victim's own cgroup.

use std::collections::BTreeMap;
use std::path::Path;

use cgcal_core::cgroupfs::parse::MemoryEvents;
use cgcal_core::trace::{open_trace, read_all, CgroupVersion, EventKind, ReadAll};
use cgcal_testkit::{HogOptions, LiveParent};

use crate::child_process::{run_ok, start_daemon, Hog};
use crate::scenario::{ensure, Outcome};
use crate::v2_cgroup::{child, enable_memory_below, events, parent, MIB};

/// `cgrec -v record` over `root` every 100 ms for `duration`, into `out`;
/// returns once it logged that it records.
fn start_recording(
    root: &Path,
    duration: &str,
    out: &Path,
) -> Result<crate::child_process::Running, String> {
    let root = root.to_str().ok_or("non-UTF-8 root")?;
    let out = out.to_str().ok_or("non-UTF-8 trace path")?;
    start_daemon(
        "cgrec",
        &[
            "-v",
            "record",
            "--root",
            root,
            "--interval",
            "100ms",
            "--duration",
            duration,
            "-o",
            out,
        ],
        "recording",
    )
}

/// Waits for the recorder's `--duration` to end; Err unless it exited 0.
fn finish_recording(rec: &mut crate::child_process::Running) -> Outcome {
    let status = rec.wait()?;
    ensure(status.success(), || {
        format!("cgrec record: {status}; stderr: {:?}", rec.drain_log())
    })
}

fn read_trace(path: &Path) -> Result<ReadAll, String> {
    let r = open_trace(path).map_err(|e| format!("open {}: {e}", path.display()))?;
    read_all(r).map_err(|e| format!("read {}: {e}", path.display()))
}

/// The events of the trace by cgroup name.
fn events_by_cgroup(trace: &ReadAll) -> BTreeMap<String, Vec<EventKind>> {
    let (_, defs, _, events, _) = trace;
    let names: BTreeMap<_, _> = defs.iter().map(|d| (d.id, d.name.as_str())).collect();
    let mut by_name: BTreeMap<String, Vec<EventKind>> = BTreeMap::new();
    for e in events {
        if let Some(name) = names.get(&e.cgroup) {
            by_name.entry(name.to_string()).or_default().push(e.kind);
        }
    }
    by_name
}

fn is_kill(k: &EventKind) -> bool {
    matches!(k, EventKind::OomKill { .. })
}

fn is_oom(k: &EventKind) -> bool {
    matches!(k, EventKind::Oom { .. })
}

/// Hogs of 20, 40 and 60 MiB in three cgroups: `cgrec stats` of a 3 s
/// recording gives medians whose differences are 20 MiB ± 3 MiB.
pub fn medians() -> Outcome {
    let p = parent("cgrec-medians")?;
    let mut hogs = Vec::new();
    for (rel, mib) in [("a", 20), ("b", 40), ("c", 60)] {
        let dir = child(&p, rel, Some(128 * MIB))?;
        let mut hog = Hog::spawn(&dir, mib, HogOptions::default());
        let bytes = hog.ready()?;
        ensure(bytes == mib * MIB, || {
            format!("hog in {rel}: ready {bytes}")
        })?;
        hogs.push(hog);
    }
    let tmp = std::env::temp_dir().join("cgrec-medians.bin");
    let mut rec = start_recording(p.path(), "3s", &tmp)?;
    finish_recording(&mut rec)?;
    let out = run_ok("cgrec", &["stats", tmp.to_str().unwrap_or_default()])?;
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("cgrec stats output is not JSON: {e}"))?;
    let median = |rel: &str| -> Result<i64, String> {
        stats[p.name_of(rel)]["median_consumption"]
            .as_i64()
            .ok_or_else(|| format!("no median for {} in {stats}", p.name_of(rel)))
    };
    let (a, b, c) = (median("a")?, median("b")?, median("c")?);
    let tolerance = 3 * MIB as i64;
    let twenty = 20 * MIB as i64;
    ensure((b - a - twenty).abs() <= tolerance, || {
        format!("median b - a = {} bytes, not 20 MiB ± 3 MiB", b - a)
    })?;
    ensure((c - b - twenty).abs() <= tolerance, || {
        format!("median c - b = {} bytes, not 20 MiB ± 3 MiB", c - b)
    })?;
    let trace = read_trace(&tmp)?;
    ensure(trace.0.cgroup_version == CgroupVersion::V2, || {
        format!("trace header says {:?}, not v2", trace.0.cgroup_version)
    })?;
    ensure(trace.4.is_empty(), || {
        format!("damaged trace: {:?}", trace.4)
    })?;
    println!(
        "v2vm: cgrec-medians: medians a={a} b={b} c={c} (b-a={} c-b={})",
        b - a,
        c - b
    );
    let _ = std::fs::remove_file(&tmp);
    Ok(())
}

/// What a recording of OOM kills gave: the parent, its trace's events by
/// cgroup name, the parent's hierarchical `memory.events` at the end.
struct KillRecording {
    parent: LiveParent,
    events: BTreeMap<String, Vec<EventKind>>,
    parent_events: MemoryEvents,
}

impl KillRecording {
    /// The events of the sub-cgroup `rel` (`""`: the parent itself).
    fn of(&self, rel: &str) -> &[EventKind] {
        let name = if rel.is_empty() {
            self.parent.name().to_string()
        } else {
            self.parent.name_of(rel)
        };
        self.events.get(&name).map_or(&[], Vec::as_slice)
    }
}

/// `rounds` times, while cgrec records: a 40 MiB hog OOM-killed in `d`
/// (memory.max 16M), then one in `e/inner` (the limit, 24M, on `e`).
fn record_kills(tag: &str, rounds: usize) -> Result<KillRecording, String> {
    let p = parent(tag)?;
    let d = child(&p, "d", Some(16 * MIB))?;
    let e = child(&p, "e", Some(24 * MIB))?;
    enable_memory_below(&e)?;
    let inner = child(&p, "e/inner", None)?;
    let tmp = std::env::temp_dir().join(format!("{tag}.bin"));
    let mut rec = start_recording(p.path(), &format!("{}s", 1 + 2 * rounds), &tmp)?;
    for _ in 0..rounds {
        for dir in [&d, &inner] {
            let mut hog = Hog::spawn(dir, 40, HogOptions::default());
            ensure(hog.ready().is_err(), || {
                format!("40 MiB fit in {}", dir.display())
            })?;
            let status = hog.wait()?;
            ensure(status.code().is_none(), || {
                format!(
                    "hog in {} exited with {status}, not by a signal",
                    dir.display()
                )
            })?;
        }
    }
    let parent_events = events(p.path(), false)?;
    ensure(parent_events.oom_kill == 2 * rounds as u64, || {
        format!(
            "the parent's hierarchical memory.events counts {} kills, not {}",
            parent_events.oom_kill,
            2 * rounds
        )
    })?;
    finish_recording(&mut rec)?;
    let trace = read_trace(&tmp)?;
    let _ = std::fs::remove_file(&tmp);
    ensure(trace.4.is_empty(), || {
        format!("damaged trace: {:?}", trace.4)
    })?;
    Ok(KillRecording {
        parent: p,
        events: events_by_cgroup(&trace),
        parent_events,
    })
}

/// Two OOM kills while cgrec records: a 40 MiB hog in `d` (memory.max
/// 16M) and one in `e/inner` (the limit, 24M, on `e`). Each kill is an
/// `OomKill` under the victim's own cgroup (`d`, `e/inner`; from
/// `memory.events.local`), never under an ancestor whose hierarchical
/// `memory.events` counted it too (`e`, the parent); an `Oom` is recorded
/// under each cgroup whose limit was hit (`d`, `e`).
pub fn oom_kill() -> Outcome {
    let r = record_kills("cgrec-oom", 1)?;
    let d_ev = r.of("d");
    ensure(
        d_ev.iter()
            .any(|k| matches!(k, EventKind::OomKill { limit: Some(l), .. } if *l == 16 * MIB)),
        || {
            format!(
                "no OomKill with limit 16 MiB under {}: {d_ev:?}",
                r.parent.name_of("d")
            )
        },
    )?;
    ensure(d_ev.iter().any(is_oom), || {
        format!("no Oom under d: {d_ev:?}")
    })?;
    let inner_ev = r.of("e/inner");
    ensure(inner_ev.iter().filter(|k| is_kill(k)).count() == 1, || {
        format!(
            "not one OomKill under {}: {inner_ev:?}",
            r.parent.name_of("e/inner")
        )
    })?;
    let e_ev = r.of("e");
    ensure(e_ev.iter().any(is_oom), || {
        format!("no Oom under e: {e_ev:?}")
    })?;
    ensure(!e_ev.iter().any(is_kill), || {
        format!("an OomKill under e, whose task was not killed (its child's was): {e_ev:?}")
    })?;
    let p_ev = r.of("");
    ensure(!p_ev.iter().any(is_kill), || {
        format!(
            "an OomKill under the parent {}, which held no task: {p_ev:?}",
            r.parent.name()
        )
    })?;
    println!(
        "v2vm: cgrec-oom-kill: d {} kill(s), e/inner {} kill(s), parent's memory.events oom_kill={}",
        d_ev.iter().filter(|k| is_kill(k)).count(),
        inner_ev.iter().filter(|k| is_kill(k)).count(),
        r.parent_events.oom_kill
    );
    Ok(())
}

/// Three rounds of the two kills of [`oom_kill`]: no `Oom` is recorded
/// under the parent, whose limit was never hit although its hierarchical
/// `memory.events` `oom` rose with each of its children's.
pub fn oom_attribution() -> Outcome {
    let r = record_kills("cgrec-oom-attr", 3)?;
    let p_ev = r.of("");
    ensure(!p_ev.iter().any(is_oom), || {
        format!(
            "{} Oom event(s) under the parent {}, whose limit was never hit (its memory.events oom is {}): {p_ev:?}",
            p_ev.iter().filter(|k| is_oom(k)).count(),
            r.parent.name(),
            r.parent_events.oom
        )
    })?;
    println!(
        "v2vm: cgrec-oom-attribution: no Oom under the parent over 6 kills (d {} Oom, e {} Oom)",
        r.of("d").iter().filter(|k| is_oom(k)).count(),
        r.of("e").iter().filter(|k| is_oom(k)).count()
    );
    Ok(())
}
