//! cgrec on a live cgroup v2 hierarchy: medians of real processes in
//! `cgrec stats`, and OOM kills recorded from `memory.events.local` under
//! the victim's own cgroup.

use std::collections::BTreeMap;
use std::path::Path;

use cgcal_core::trace::{open_trace, read_all, CgroupVersion, EventKind, ReadAll};
use cgcal_testkit::HogOptions;

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

/// Two OOM kills while cgrec records: a 40 MiB hog in `d` (memory.max
/// 16M) and one in `e/inner` (the limit, 24M, on `e`). Each kill is an
/// `OomKill` under the victim's own cgroup (`d`, `e/inner`; from
/// `memory.events.local`), the `Oom` under the cgroup whose limit was hit
/// (`d`, `e`), and neither under an ancestor whose hierarchical
/// `memory.events` counted them too (the parent, and `e` for the kill).
pub fn oom_kill() -> Outcome {
    let p = parent("cgrec-oom")?;
    let d = child(&p, "d", Some(16 * MIB))?;
    let e = child(&p, "e", Some(24 * MIB))?;
    enable_memory_below(&e)?;
    let inner = child(&p, "e/inner", None)?;
    let tmp = std::env::temp_dir().join("cgrec-oom.bin");
    let mut rec = start_recording(p.path(), "3s", &tmp)?;
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
    let parent_events = events(p.path(), false)?;
    ensure(parent_events.oom_kill >= 2, || {
        format!(
            "the parent's hierarchical memory.events counts {} kills, not 2",
            parent_events.oom_kill
        )
    })?;
    finish_recording(&mut rec)?;
    let trace = read_trace(&tmp)?;
    ensure(trace.4.is_empty(), || {
        format!("damaged trace: {:?}", trace.4)
    })?;
    let by_cgroup = events_by_cgroup(&trace);
    let none = Vec::new();
    let of = |name: &str| by_cgroup.get(name).unwrap_or(&none);
    let d_ev = of(&p.name_of("d"));
    ensure(
        d_ev.iter()
            .any(|k| matches!(k, EventKind::OomKill { limit: Some(l), .. } if *l == 16 * MIB)),
        || {
            format!(
                "no OomKill with limit 16 MiB under {}: {d_ev:?}",
                p.name_of("d")
            )
        },
    )?;
    ensure(d_ev.iter().any(is_oom), || {
        format!("no Oom under d: {d_ev:?}")
    })?;
    let inner_ev = of(&p.name_of("e/inner"));
    ensure(inner_ev.iter().any(is_kill), || {
        format!("no OomKill under {}: {inner_ev:?}", p.name_of("e/inner"))
    })?;
    let e_ev = of(&p.name_of("e"));
    ensure(e_ev.iter().any(is_oom), || {
        format!("no Oom under e: {e_ev:?}")
    })?;
    ensure(!e_ev.iter().any(is_kill), || {
        format!("an OomKill under e, whose task was not killed (its child's was): {e_ev:?}")
    })?;
    let p_ev = of(p.name());
    ensure(!p_ev.iter().any(|k| is_kill(k) || is_oom(k)), || {
        format!(
            "OOM events under the parent {}, whose limit was never hit: {p_ev:?}",
            p.name()
        )
    })?;
    println!(
        "v2vm: cgrec-oom-kill: d {} kill(s), e/inner {} kill(s), parent's memory.events oom_kill={}",
        d_ev.iter().filter(|k| is_kill(k)).count(),
        inner_ev.iter().filter(|k| is_kill(k)).count(),
        parent_events.oom_kill
    );
    let _ = std::fs::remove_file(&tmp);
    Ok(())
}
