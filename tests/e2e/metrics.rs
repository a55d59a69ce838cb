//! `cgrec record --metrics-file/--metrics-listen` on live cgroups (issue 9):
//! the textfile-collector file is scraped during a recording and its
//! counters move (samples grow between two scrapes; the OOM kill of a hog
//! over its limit shows in `cgrec_oom_kills_total`), the HTTP endpoint
//! serves the same families, no `.tmp` file is left, and a non-loopback
//! `--metrics-listen` without `--metrics-listen-public` is a usage error.
//! SKIP where no writable v1 memory cgroup exists. Needs the binaries.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cgcal_testkit::{bin_path, spawn_hog, wait_ready, HogOptions, LiveParent};

const MIB: u64 = 1 << 20;
/// Bound on waiting for something the recorder does (not a timing assertion).
const PATIENCE: Duration = Duration::from_secs(30);

/// The value of an unlabelled sample `name` in exposition text.
fn value(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Waits until the metrics file has `name` above `min`; returns the text.
fn wait_for(file: &Path, name: &str, min: f64) -> String {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if value(&text, name).is_some_and(|v| v > min) {
            return text;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "{name} never above {min}: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn http_get(addr: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn metrics_file_counters_move_during_a_live_recording() {
    let Some(parent) = LiveParent::new("metrics") else {
        return;
    };
    parent.child("a");
    let d = parent.child("d");
    parent.set_limit("d", 16 * MIB);
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("cgrec.prom");
    let mut rec = Command::new(bin_path("cgrec"))
        .args(["-v", "record", "--root"])
        .arg(parent.path())
        .args([
            "--interval",
            "100ms",
            "--flush",
            "200ms",
            "--duration",
            "20s",
            "-o",
        ])
        .arg(tmp.path().join("t.bin"))
        .arg("--metrics-file")
        .arg(&file)
        .args(["--metrics-listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = rec.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let addr = loop {
        let line = rx
            .recv_timeout(PATIENCE)
            .expect("no 'serving metrics' line");
        if let Some(rest) = line.split("serving metrics on http://").nth(1) {
            break rest.trim_end_matches("/metrics").to_string();
        }
    };

    let first = wait_for(&file, "cgrec_samples_total", 0.0);
    let n1 = value(&first, "cgrec_samples_total").unwrap();
    assert_eq!(value(&first, "cgrec_watched_cgroups"), Some(3.0), "{first}");
    assert_eq!(
        value(&first, "cgrec_interval_seconds"),
        Some(0.1),
        "{first}"
    );
    assert!(value(&first, "cgrec_trace_bytes_written_total").unwrap() > 0.0);
    let later = wait_for(&file, "cgrec_samples_total", n1);
    assert!(value(&later, "cgrec_samples_total").unwrap() > n1);
    assert!(
        value(&later, "cgrec_sweep_seconds").unwrap() > 0.0,
        "{later}"
    );

    let mut killed = spawn_hog(&d, 40, HogOptions::default());
    assert!(wait_ready(&mut killed).is_err(), "40 MiB fit in 16 MiB");
    let _ = killed.wait();
    let after = wait_for(&file, "cgrec_oom_kills_total", 0.0);
    assert_eq!(value(&after, "cgrec_oom_kills_total"), Some(1.0), "{after}");

    let served = http_get(&addr);
    assert!(served.starts_with("HTTP/1.1 200 OK"), "{served}");
    assert!(served.contains("cgrec_oom_kills_total 1"), "{served}");
    assert!(served.contains("# TYPE cgrec_samples counter"), "{served}");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(rec.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(rec.wait().unwrap().success());
    let last = std::fs::read_to_string(&file).unwrap();
    assert!(
        value(&last, "cgrec_samples_total").unwrap()
            >= value(&after, "cgrec_samples_total").unwrap()
    );
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn public_metrics_listen_needs_the_explicit_flag() {
    let out = Command::new(bin_path("cgrec"))
        .args([
            "record",
            "--metrics-listen",
            "0.0.0.0:9417",
            "--duration",
            "1s",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--metrics-listen-public"));
}
