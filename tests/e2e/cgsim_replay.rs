//! `cgsim replay` run as a process on small traces written here: the JSON
//! report of SPEC §5, the table and CSV, `--log` audit lines, a
//! well-formed `--plot` SVG, several traces at once, and the errors.

use std::path::Path;
use std::process::{Command, Output};

use cgcal_core::name::CgroupName;
use cgcal_core::trace::{create_trace, CgroupVersion, Event, EventKind, Header, Sample};
use cgcal_testkit::bin_path;

/// 2026-01-01T00:00:00Z in nanoseconds.
const T0: u64 = 1_767_225_600_000_000_000;
const SEC: u64 = 1_000_000_000;
const MIB: u64 = 1 << 20;

fn cgsim(args: &[&str]) -> Output {
    let out = Command::new(bin_path("cgsim"))
        .args(args)
        .env_remove("CGCAL_LOG")
        .output()
        .expect("cannot run cgsim");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "cgsim {args:?} panicked: {err}");
    out
}

fn ok(args: &[&str]) -> String {
    let out = cgsim(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "cgsim {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A global cgroup /apps (1 GiB) with a web cgroup that outgrows its
/// 256 MiB limit in the second half, an idle donor and a batch cgroup, plus
/// a recorded OOM kill of web.
fn write_trace(path: &Path, seed: u64) {
    let header = Header {
        host: "e2e".into(),
        kernel: "6.1".into(),
        cgroup_version: CgroupVersion::V1,
        root: CgroupName::parse("/apps").unwrap(),
        interval_ns: SEC,
        host_memory: Some(4 << 30),
        start_ns: T0,
        tool: "e2e".into(),
    };
    let mut w = create_trace(path, &header).unwrap();
    let names = ["/apps", "/apps/web", "/apps/idle", "/apps/batch"];
    let ids: Vec<u32> = names
        .iter()
        .map(|n| w.cgroup_id(&CgroupName::parse(n).unwrap(), T0))
        .collect();
    for k in 0..120u64 {
        let t = T0 + k * SEC;
        let web = 200 * MIB + k * MIB * (1 + seed % 2);
        let idle = if k < 60 {
            300 * MIB + (k % 7) * MIB
        } else {
            100 * MIB
        };
        let batch = 100 * MIB + (k % 13) * 4 * MIB;
        let usages = [web + idle + batch, web, idle, batch];
        let limits = [Some(1 << 30), Some(256 * MIB), Some(512 * MIB), None];
        for i in 0..4 {
            w.push_sample(Sample {
                time_ns: t,
                cgroup: ids[i],
                usage: usages[i],
                limit: limits[i],
                inactive_file: None,
                peak: None,
                failcnt: None,
            })
            .unwrap();
        }
        if k == 100 {
            w.push_event(Event {
                time_ns: t,
                cgroup: ids[1],
                kind: EventKind::OomKill {
                    usage: None,
                    limit: Some(256 * MIB),
                },
            })
            .unwrap();
        }
        if k % 50 == 49 {
            w.flush_chunk().unwrap();
        }
    }
    w.finish().unwrap();
}

#[test]
fn json_report_has_the_spec_keys_and_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.bin");
    write_trace(&trace, 0);
    let args = ["replay", p(&trace), "--algo", "all", "--format", "json"];
    let out = ok(&args);
    assert_eq!(out, ok(&args), "same input, same bytes");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["trace"], p(&trace));
    assert_eq!(v["replayed"]["from"], T0 + 60 * SEC);
    assert_eq!(v["replayed"]["to"], T0 + 119 * SEC);
    // Managed: web, idle, batch (leaves below /apps), 60 s each.
    assert_eq!(v["replayed"]["samples"], 180);
    let results = v["results"].as_array().unwrap();
    let algos: Vec<&str> = results
        .iter()
        .map(|r| r["algo"].as_str().unwrap())
        .collect();
    assert_eq!(algos, ["static", "proportional", "vpa", "autopilot", "krr"]);
    let keys = [
        "algo",
        "mode",
        "oom_events",
        "kills",
        "collateral_kills",
        "adjustments",
        "bytes_added",
        "bytes_reclaimed",
        "mean_slack_ratio",
        "floor_violations",
    ];
    for r in results {
        let obj = r.as_object().unwrap();
        assert_eq!(obj.len(), keys.len());
        assert!(keys.iter().all(|k| obj.contains_key(*k)), "{r}");
        assert_eq!(r["mode"], "react");
        assert_eq!(r["floor_violations"], 0);
    }
    let kills = |algo: &str| {
        results.iter().find(|r| r["algo"] == algo).unwrap()["kills"]
            .as_u64()
            .unwrap()
    };
    // web exceeds 256 MiB from k = 57 on: static kills at every replayed
    // sample of web (60), proportional raises the limit and kills far less.
    assert_eq!(kills("static"), 60);
    assert!(kills("proportional") < 10, "{out}");
}

#[test]
fn table_and_csv_have_one_row_per_algorithm() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.bin");
    write_trace(&trace, 0);
    let table = ok(&[
        "replay",
        p(&trace),
        "--algo",
        "static,vpa",
        "--mode",
        "rescue",
    ]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[1].starts_with("algo"));
    assert!(lines[2].starts_with("static") && lines[2].contains("rescue"));
    assert!(lines[3].starts_with("vpa"));
    let csv = ok(&[
        "replay",
        p(&trace),
        "--algo",
        "static,vpa",
        "--format",
        "csv",
    ]);
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3);
    assert!(rows[0].starts_with("trace,algo,mode,"));
    let cols = rows[0].split(',').count();
    assert!(rows[1..].iter().all(|r| r.split(',').count() == cols));
    assert!(rows[1].contains(",static,react,"));
}

#[test]
fn log_lines_and_plot() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.bin");
    write_trace(&trace, 0);
    let log = dir.path().join("audit.jsonl");
    let plot = dir.path().join("p.svg");
    let report = dir.path().join("r.json");
    ok(&[
        "replay",
        p(&trace),
        "--algo",
        "static,proportional",
        "--log",
        p(&log),
        "--plot",
        p(&plot),
        "--format",
        "json",
        "-o",
        p(&report),
    ]);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let log = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let oom_events: u64 = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["oom_events"].as_u64().unwrap())
        .sum();
    assert!(lines.len() as u64 >= oom_events && oom_events > 0);
    for l in &lines {
        for key in [
            "time",
            "oom_cgroup",
            "added_memory",
            "adjusted_cgroups",
            "source",
            "outcome",
            "algo",
            "mode",
            "latency_us",
            "limits_before",
            "limits_after",
        ] {
            assert!(l.get(key).is_some(), "{key} missing in {l}");
        }
        assert_eq!(l["latency_us"], 0);
        assert!(l["time"].as_str().unwrap().starts_with("2026-01-01T00:01:"));
    }
    assert!(lines.iter().any(|l| l["algo"] == "proportional"
        && l["oom_cgroup"] == "/apps/web"
        && l["added_memory"].as_u64() > Some(0)));
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"));
    assert!(well_formed(&svg), "plot is not well-formed XML");
    assert!(svg.contains("/apps/web"));
}

#[test]
fn several_traces_give_an_array_in_order_and_one_log() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.bin");
    let b = dir.path().join("b.bin");
    write_trace(&a, 0);
    write_trace(&b, 1);
    let log = dir.path().join("audit.jsonl");
    let out = ok(&["replay", p(&a), p(&b), "--format", "json", "--log", p(&log)]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0]["trace"], p(&a));
    assert_eq!(arr[1]["trace"], p(&b));
    let single = ok(&["replay", p(&a), "--format", "json"]);
    let one: serde_json::Value = serde_json::from_str(&single).unwrap();
    assert_eq!(arr[0], one);
    let lines = std::fs::read_to_string(&log).unwrap();
    assert!(lines
        .lines()
        .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
    let parts = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".part")
        })
        .count();
    assert_eq!(parts, 0, "per-trace log parts are removed");
}

#[test]
fn errors_exit_1_and_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.bin");
    let out = cgsim(&["replay", p(&missing)]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("cgsim: error: "), "{err}");
    assert!(err.contains(p(&missing)) && err.contains("offset"), "{err}");

    let trace = dir.path().join("t.bin");
    write_trace(&trace, 0);
    let bad = dir.path().join("stats.json");
    std::fs::write(&bad, "{\"/apps/web\": [1, 2]}").unwrap();
    let out = cgsim(&["replay", p(&trace), "--stats", p(&bad)]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(p(&bad)), "{err}");

    let not_a_trace = dir.path().join("junk.bin");
    std::fs::write(&not_a_trace, b"hello, this is not a trace").unwrap();
    let out = cgsim(&["replay", p(&not_a_trace)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(p(&not_a_trace)));
}

#[test]
fn a_stats_file_replays_the_whole_trace() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.bin");
    write_trace(&trace, 0);
    let stats = dir.path().join("stats.json");
    std::fs::write(
        &stats,
        "{\n  \"/apps/web\": {\"min_consumption\": 209715200, \"max_consumption\": 268435456, \"median_consumption\": 230686720}\n}\n",
    )
    .unwrap();
    let out = ok(&[
        "replay",
        p(&trace),
        "--stats",
        p(&stats),
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["replayed"]["from"], T0);
    assert_eq!(v["replayed"]["samples"], 360);
}

/// A loose well-formedness check: tags balance, attribute quotes pair up,
/// no bare `<` or `&` in text.
fn well_formed(doc: &str) -> bool {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = doc;
    while let Some(open) = rest.find('<') {
        let text = &rest[..open];
        let bad_amp = text.match_indices('&').any(|(i, _)| {
            !["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                .iter()
                .any(|e| text[i..].starts_with(e))
        });
        if text.contains('>') || bad_amp {
            return false;
        }
        let Some(close) = rest[open..].find('>') else {
            return false;
        };
        let tag = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        if tag.starts_with('?') || tag.ends_with('/') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            if stack.pop().as_deref() != Some(name.trim()) {
                return false;
            }
        } else {
            if tag.matches('"').count() % 2 == 1 {
                return false;
            }
            stack.push(tag.split_whitespace().next().unwrap_or("").to_string());
        }
    }
    stack.is_empty() && rest.trim().is_empty()
}
