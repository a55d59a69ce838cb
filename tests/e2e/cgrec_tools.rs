//! `cgrec stats`, `export`, `import` and `inspect` run as processes on
//! traces written here: round trips through CSV, every malformed-CSV class
//! with its `FILE:LINE:COLUMN`, chunk damage, and every `--from/--to` form.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cgcal_core::name::CgroupName;
use cgcal_core::trace::{
    read_all, CgroupVersion, Event, EventKind, Header, Sample, TraceReader, TraceWriter,
};
use cgcal_testkit::bin_path;

/// 2026-01-01T00:00:00Z in nanoseconds.
const T0: u64 = 1_767_225_600_000_000_000;
const SEC: u64 = 1_000_000_000;

fn cgrec(args: &[&str]) -> Output {
    let out = Command::new(bin_path("cgrec"))
        .args(args)
        .env_remove("CGCAL_LOG")
        .output()
        .expect("cannot run cgrec");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "cgrec {args:?} panicked: {err}");
    out
}

fn ok(args: &[&str]) -> Output {
    let out = cgrec(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "cgrec {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn header() -> Header {
    Header {
        host: "e2e".into(),
        kernel: "6.1".into(),
        cgroup_version: CgroupVersion::V1,
        root: CgroupName::root(),
        interval_ns: SEC,
        host_memory: Some(1 << 34),
        start_ns: T0,
        tool: "e2e".into(),
    }
}

fn sample(time_ns: u64, cgroup: u32, usage: u64, limit: Option<u64>) -> Sample {
    Sample {
        time_ns,
        cgroup,
        usage,
        limit,
        inactive_file: Some(usage / 4),
        peak: Some(usage),
        failcnt: Some(1),
    }
}

/// Three cgroups (one name needing CSV quotes), 10 s of samples, a chunk
/// every 2 s, and every event kind. Returns the trace's bytes.
fn rich_trace() -> Vec<u8> {
    let mut w = TraceWriter::new(Vec::new(), &header()).unwrap();
    let names = ["/apps/web", "/apps/batch,\"x\"", "/apps"];
    let ids: Vec<u32> = names
        .iter()
        .map(|n| w.cgroup_id(&CgroupName::parse(n).unwrap(), T0))
        .collect();
    for k in 0..10u64 {
        let t = T0 + k * SEC;
        let limit = if k < 6 {
            Some(64 << 20)
        } else {
            Some(96 << 20)
        };
        w.push_sample(sample(t, ids[0], (k + 1) * (4 << 20), limit))
            .unwrap();
        w.push_sample(sample(t, ids[1], 10 << 20, None)).unwrap();
        w.push_sample(sample(t, ids[2], 1 << 30, Some(1 << 31)))
            .unwrap();
        if k == 4 {
            let oom = EventKind::Oom {
                usage: Some(64 << 20),
                limit: Some(64 << 20),
            };
            let kill = EventKind::OomKill {
                usage: None,
                limit: Some(64 << 20),
            };
            w.push_event(Event {
                time_ns: t + 1,
                cgroup: ids[0],
                kind: oom,
            })
            .unwrap();
            w.push_event(Event {
                time_ns: t + 2,
                cgroup: ids[0],
                kind: kill,
            })
            .unwrap();
            w.push_event(Event {
                time_ns: t + 3,
                cgroup: ids[0],
                kind: EventKind::UnderOomStart,
            })
            .unwrap();
        }
        if k == 5 {
            let change = EventKind::LimitChange {
                old: Some(64 << 20),
                new: Some(96 << 20),
            };
            w.push_event(Event {
                time_ns: t + 5,
                cgroup: ids[0],
                kind: change,
            })
            .unwrap();
            let unlimit = EventKind::LimitChange {
                old: None,
                new: None,
            };
            w.push_event(Event {
                time_ns: t + 5,
                cgroup: ids[1],
                kind: unlimit,
            })
            .unwrap();
        }
        if k % 2 == 1 {
            w.flush_chunk().unwrap();
        }
    }
    w.finish().unwrap()
}

/// Samples and events by cgroup name, as the CSV carries them.
type Content = (
    Vec<(u64, String, u64, Option<u64>)>,
    Vec<(u64, String, EventKind)>,
);

fn csv_content(path: &Path) -> Content {
    let bytes = std::fs::read(path).unwrap();
    let (_, defs, samples, events, damage) =
        read_all(TraceReader::new(&bytes[..]).unwrap()).unwrap();
    assert!(damage.is_empty());
    let name: BTreeMap<u32, String> = defs.iter().map(|d| (d.id, d.name.to_string())).collect();
    let mut s: Vec<_> = samples
        .iter()
        .map(|s| (s.time_ns, name[&s.cgroup].clone(), s.usage, s.limit))
        .collect();
    let mut e: Vec<_> = events
        .iter()
        .filter(|e| {
            !matches!(
                e.kind,
                EventKind::UnderOomStart
                    | EventKind::UnderOomEnd
                    | EventKind::Created
                    | EventKind::Removed
            )
        })
        .map(|e| (e.time_ns, name[&e.cgroup].clone(), e.kind))
        .collect();
    s.sort();
    e.sort_by_key(|x| (x.0, x.1.clone()));
    (s, e)
}

#[test]
fn export_reimports_to_the_same_samples_and_events() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.bin");
    std::fs::write(&t, rich_trace()).unwrap();
    let csv = dir.path().join("t.csv");
    let out = ok(&["export", p(&t), "--format", "csv", "-o", p(&csv)]);
    assert!(
        text(&out.stderr).contains("1 events of kinds CSV cannot carry"),
        "{}",
        text(&out.stderr)
    );
    let written = std::fs::read_to_string(&csv).unwrap();
    assert!(written.starts_with("timestamp_ns,cgroup,kind,usage_bytes,limit_bytes\n"));
    assert!(
        written.contains(",\"/apps/batch,\"\"x\"\"\",sample,10485760,\n"),
        "{written}"
    );
    assert!(written.contains(",/apps/web,limit,,100663296\n"));
    let back = dir.path().join("back.bin");
    ok(&["import", "--format", "csv", p(&csv), "-o", p(&back)]);
    assert_eq!(csv_content(&back), csv_content(&t));
    let (samples, events) = csv_content(&back);
    assert_eq!((samples.len(), events.len()), (30, 4));
    // The global cgroup of the import: the longest common ancestor.
    let inspect = text(&ok(&["inspect", p(&back)]).stdout);
    assert!(inspect.contains("root            /apps\n"), "{inspect}");
    // JSON lines carry everything, the under-OOM event and peak included.
    let jsonl = text(&ok(&["export", p(&t), "--format", "jsonl"]).stdout);
    let lines: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 35);
    assert!(lines.iter().any(|l| l["kind"] == "under_oom_start"));
    assert!(lines.iter().any(|l| l["kind"] == "limit"
        && l["old_limit_bytes"].is_null()
        && l["cgroup"] == "/apps/batch,\"x\""));
    assert!(lines
        .iter()
        .all(|l| l["kind"] != "sample" || l["peak_bytes"].is_u64()));
}

#[test]
fn import_export_import_gives_identical_trace_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // Out of order, with duplicate times, quoted names, CRLF line ends and every kind.
    let csv = "timestamp_ns,cgroup,kind,usage_bytes,limit_bytes\r\n\
        3000,/k/b,sample,300,\r\n\
        1000,/k/a,sample,100,1000\n\
        1000,\"/k/c,\"\"q\"\"\",sample,5,\n\
        2000,/k/a,oom,1000,1000\n\
        2000,/k/a,oom_kill,,1000\n\
        2000,/k/a,limit,,2000\n\
        1000,/k/b,sample,200,\n\
        2500,/k/a,sample,1500,2000\n\
        2500,/k/b,limit,,\n\
        3000,/k/a,sample,1600,2000\n";
    let a = dir.path().join("a.csv");
    std::fs::write(&a, csv).unwrap();
    let t1 = dir.path().join("t1.bin");
    ok(&[
        "import",
        "--format",
        "csv",
        p(&a),
        "-o",
        p(&t1),
        "--host-memory",
        "8G",
    ]);
    let b = dir.path().join("b.csv");
    ok(&["export", p(&t1), "--format", "csv", "-o", p(&b)]);
    let t2 = dir.path().join("t2.bin");
    ok(&[
        "import",
        "--format",
        "csv",
        p(&b),
        "-o",
        p(&t2),
        "--host-memory",
        "8G",
    ]);
    assert_eq!(std::fs::read(&t1).unwrap(), std::fs::read(&t2).unwrap());
    let c = dir.path().join("c.csv");
    ok(&["export", p(&t2), "--format", "csv", "-o", p(&c)]);
    assert_eq!(std::fs::read(&b).unwrap(), std::fs::read(&c).unwrap());
    // Sorted by time; a limit event's old value is the previous known limit.
    let (samples, events) = csv_content(&t1);
    assert_eq!(samples.len(), 6);
    assert!(samples.windows(2).all(|w| w[0].0 <= w[1].0));
    assert!(events.contains(&(
        2000,
        "/k/a".into(),
        EventKind::LimitChange {
            old: Some(1000),
            new: Some(2000)
        }
    )));
    let bytes = std::fs::read(&t1).unwrap();
    let h = TraceReader::new(&bytes[..]).unwrap().header().clone();
    assert_eq!(
        (h.root.as_str(), h.host_memory, h.start_ns),
        ("/k", Some(8 << 30), 1000)
    );
}

#[test]
fn malformed_csv_rows_exit_1_with_file_line_column() {
    let dir = tempfile::tempdir().unwrap();
    const H: &[u8] = b"timestamp_ns,cgroup,kind,usage_bytes,limit_bytes\n";
    let row = |r: &[u8]| [H, b"1,/a,sample,1,\n", r].concat();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "wrong header",
            b"time,cgroup,kind,usage_bytes,limit_bytes\n1,/a,sample,1,\n".to_vec(),
            ":1:1: header field 1",
        ),
        ("empty file", Vec::new(), ":1:1: empty file"),
        (
            "non-number",
            row(b"x1,/a,sample,1,\n"),
            ":3:1: timestamp_ns \"x1\"",
        ),
        (
            "negative",
            row(b"2,/a,sample,-5,\n"),
            ":3:13: usage_bytes \"-5\"",
        ),
        (
            "overflow 2^64",
            row(b"2,/a,sample,1,18446744073709551616\n"),
            ":3:15: limit_bytes \"18446744073709551616\" is not at most",
        ),
        (
            "unknown kind",
            row(b"2,/a,swap,1,\n"),
            ":3:6: unknown kind \"swap\"",
        ),
        (
            "no leading slash",
            row(b"2,a/b,sample,1,\n"),
            ":3:3: cgroup name \"a/b\" does not start with '/'",
        ),
        (
            "dot-dot",
            row(b"2,/a/../b,sample,1,\n"),
            ":3:3: cgroup name \"/a/../b\" has a '.' or '..'",
        ),
        ("NUL", row(b"2,/a\0b,sample,1,\n"), ":3:3: cgroup name"),
        (
            "invalid UTF-8",
            row(b"2,/a\xc3\x28,sample,1,\n"),
            ":3:3: invalid UTF-8 in cgroup",
        ),
        (
            "too few fields",
            row(b"2,/a,sample,1\n"),
            ":3:14: 4 fields, expected 5",
        ),
        (
            "too many fields",
            row(b"2,/a,sample,1,,9\n"),
            ":3:16: 6 fields, expected 5",
        ),
        (
            "stray quote",
            row(b"2,/a\"b,sample,1,\n"),
            ":3:5: '\"' inside an unquoted field",
        ),
        (
            "unclosed quote",
            row(b"2,\"/a,sample,1,\n"),
            ":3:3: quoted field is not closed",
        ),
        (
            "text after quote",
            row(b"2,\"/a\"b,sample,1,\n"),
            ":3:7: 'b' after a closing quote",
        ),
        (
            "sample without usage",
            row(b"2,/a,sample,,\n"),
            ":3:13: usage_bytes is empty",
        ),
        (
            "limit with usage",
            row(b"2,/a,limit,7,\n"),
            ":3:12: usage_bytes must be empty in a limit row",
        ),
    ];
    assert!(cases.len() >= 12);
    for (what, input, want) in cases {
        let f = dir.path().join("bad.csv");
        std::fs::write(&f, &input).unwrap();
        let t = dir.path().join("bad.bin");
        let out = cgrec(&["import", "--format", "csv", p(&f), "-o", p(&t)]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {err}");
        let prefix = format!("cgrec: error: {}{want}", p(&f));
        assert!(
            err.starts_with(&prefix),
            "{what}: got {err:?}, want prefix {prefix:?}"
        );
        assert!(!t.exists(), "{what}: a trace was written");
    }
}

/// A trace of /a and /b, one sample a second for 10 s: /a's usage at second
/// k is (k + 1) MiB, /b's 100 MiB - k MiB. Three chunks.
fn window_trace(dir: &Path) -> PathBuf {
    let mut w = TraceWriter::new(Vec::new(), &header()).unwrap();
    let a = w.cgroup_id(&CgroupName::parse("/a").unwrap(), T0);
    let b = w.cgroup_id(&CgroupName::parse("/b").unwrap(), T0);
    for k in 0..10u64 {
        w.push_sample(sample(T0 + k * SEC, a, (k + 1) << 20, None))
            .unwrap();
        w.push_sample(sample(T0 + k * SEC, b, (100 - k) << 20, None))
            .unwrap();
        if k % 4 == 3 {
            w.flush_chunk().unwrap();
        }
    }
    let path = dir.join("w.bin");
    std::fs::write(&path, w.finish().unwrap()).unwrap();
    path
}

/// /a's (min, max, median) over seconds `lo..=hi` in MiB-exact bytes.
fn a_stats(lo: u64, hi: u64) -> String {
    let v: Vec<u64> = (lo..=hi).map(|k| (k + 1) << 20).collect();
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    };
    format!(
        "\"/a\": {{\"min_consumption\": {}, \"max_consumption\": {}, \"median_consumption\": {median}}}",
        v[0],
        v[n - 1]
    )
}

#[test]
fn stats_windows_in_every_form() {
    let dir = tempfile::tempdir().unwrap();
    let t = window_trace(dir.path());
    let stats = |extra: &[&str]| {
        let mut args = vec!["stats", p(&t)];
        args.extend_from_slice(extra);
        text(&ok(&args).stdout)
    };
    let cases: Vec<(Vec<&str>, (u64, u64))> = vec![
        (vec![], (0, 9)),
        (
            vec![
                "--from",
                "2026-01-01T00:00:02Z",
                "--to",
                "2026-01-01T00:00:05Z",
            ],
            (2, 5),
        ),
        (vec!["--from", "2026-01-01T01:00:02+01:00"], (2, 9)),
        (
            vec!["--from", "@1767225603", "--to", "@1767225606.5"],
            (3, 6),
        ),
        (vec!["--from", "+3s", "--to", "+6s"], (3, 6)),
        (vec!["--from", "-4s"], (5, 9)),
        (vec!["--to", "-2s"], (0, 7)),
        (vec!["--from", "+1s", "--to", "-1s"], (1, 8)),
        (vec!["--from", "+2500ms", "--to", "@1767225604"], (3, 4)),
    ];
    for (args, (lo, hi)) in cases {
        let got = stats(&args);
        assert!(
            got.contains(&a_stats(lo, hi)),
            "{args:?}: want {} in {got}",
            a_stats(lo, hi)
        );
        assert_eq!(got.lines().count(), 4, "{args:?}: {got}");
    }
    // An empty window: {} and a warning.
    let out = ok(&["stats", p(&t), "--from", "+20s"]);
    assert_eq!(text(&out.stdout), "{}\n");
    assert!(
        text(&out.stderr).contains("no sample"),
        "{}",
        text(&out.stderr)
    );
    // Percentiles and -o.
    let o = dir.path().join("s.json");
    ok(&["stats", p(&t), "--percentiles", "90,50", "-o", p(&o)]);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&o).unwrap()).unwrap();
    assert_eq!(json["/a"]["p90_consumption"], 9u64 << 20);
    assert_eq!(json["/a"]["p50_consumption"], 5u64 << 20);
    assert_eq!(
        json["/b"]["median_consumption"],
        ((95u64 << 20) + (96u64 << 20)) / 2
    );
}

#[test]
fn stats_through_the_binary_equal_sort_and_pick() {
    let dir = tempfile::tempdir().unwrap();
    let mut seed = 0x5eed_u64;
    let mut next = move || {
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for case in 0..4 {
        let mut w = TraceWriter::new(Vec::new(), &header()).unwrap();
        let mut values: BTreeMap<String, Vec<(u64, u64)>> = BTreeMap::new();
        for k in 0..(300 + case * 500) as u64 {
            let c = next() % 4;
            let name = format!("/g{c}");
            let id = w.cgroup_id(&CgroupName::parse(&name).unwrap(), T0);
            let usage = match next() % 3 {
                0 => next() % 8,
                1 => next() % (1 << 30),
                _ => next(),
            };
            let t = T0 + k * SEC / 10;
            w.push_sample(sample(t, id, usage, None)).unwrap();
            values.entry(name).or_default().push((t, usage));
            if next() % 50 == 0 {
                w.flush_chunk().unwrap();
            }
        }
        let path = dir.path().join(format!("r{case}.bin"));
        std::fs::write(&path, w.finish().unwrap()).unwrap();
        let (lo, hi) = (T0 + (next() % 20) * SEC, T0 + (20 + next() % 60) * SEC);
        let from = format!("@{}", lo / SEC);
        let to = format!("@{}", hi / SEC);
        let out = ok(&[
            "stats",
            p(&path),
            "--from",
            &from,
            "--to",
            &to,
            "--percentiles",
            "99,75",
        ]);
        let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for (name, vs) in &values {
            let mut v: Vec<u64> = vs
                .iter()
                .filter(|(t, _)| lo <= *t && *t <= hi)
                .map(|x| x.1)
                .collect();
            if v.is_empty() {
                assert!(got.get(name).is_none());
                continue;
            }
            v.sort_unstable();
            let n = v.len();
            let median = if n % 2 == 1 {
                v[n / 2]
            } else {
                ((v[n / 2 - 1] as u128 + v[n / 2] as u128) / 2) as u64
            };
            let rank = |p: u64| (p * n as u64).div_ceil(100) as usize - 1;
            let g = &got[name];
            assert_eq!(g["min_consumption"], v[0], "case {case} {name}");
            assert_eq!(g["max_consumption"], v[n - 1], "case {case} {name}");
            assert_eq!(g["median_consumption"], median, "case {case} {name}");
            assert_eq!(g["p75_consumption"], v[rank(75)], "case {case} {name}");
            assert_eq!(g["p99_consumption"], v[rank(99)], "case {case} {name}");
        }
    }
}

/// Flips a byte inside the payload of the second chunk.
fn damage_second_chunk(bytes: &mut [u8]) -> u64 {
    let first = bytes.windows(4).position(|w| w == b"CGck").unwrap();
    let second = first
        + 4
        + bytes[first + 4..]
            .windows(4)
            .position(|w| w == b"CGck")
            .unwrap();
    bytes[second + 40] ^= 0x5a;
    second as u64
}

#[test]
fn inspect_reports_health_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("good.bin");
    let mut bytes = rich_trace();
    std::fs::write(&t, &bytes).unwrap();
    let good = text(&ok(&["inspect", p(&t)]).stdout);
    for want in [
        "host            e2e\n",
        "cgroup version  v1\n",
        "samples         30\n",
        "cgroups         3\n",
        "events          5 (limit 2, oom 1, oom_kill 1, under_oom_start 1)\n",
        "chunks          5 ok, 0 damaged\n",
        "health          OK\n",
        "time span       2026-01-01T00:00:00Z to 2026-01-01T00:00:09Z (9.000s)\n",
        "/apps/batch,\"x\"",
    ] {
        assert!(good.contains(want), "want {want:?} in\n{good}");
    }
    assert!(good.contains(&format!("file bytes      {}\n", bytes.len())));
    let offset = damage_second_chunk(&mut bytes);
    let d = dir.path().join("damaged.bin");
    std::fs::write(&d, &bytes).unwrap();
    let out = ok(&["inspect", p(&d)]);
    let damaged = text(&out.stdout);
    assert!(damaged.contains("health          DAMAGED"), "{damaged}");
    assert!(
        damaged.contains("chunks          4 ok, 1 damaged"),
        "{damaged}"
    );
    assert!(
        damaged.contains(&format!(
            "chunk 1 at byte offset {offset}: payload CRC mismatch"
        )),
        "{damaged}"
    );
    // stats and export warn with the offset and go on with the rest.
    let out = ok(&["stats", p(&d)]);
    assert!(
        text(&out.stderr).contains(&format!("byte offset {offset}")),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("\"/apps/web\""));
    let out = ok(&["export", p(&d), "--format", "csv"]);
    assert!(text(&out.stderr).contains(&format!("byte offset {offset}")));
    // Header, the 24 samples outside chunk 1 and the 4 events CSV carries.
    assert_eq!(text(&out.stdout).lines().count(), 1 + 24 + 4);
    // Not a trace: exit 1.
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, b"hello").unwrap();
    assert_eq!(cgrec(&["inspect", p(&junk)]).status.code(), Some(1));
}
