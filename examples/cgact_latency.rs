//! Live measurements of the `cgact` daemon for BENCHMARKS.md "## cgact"
//! (root, v1 memory hierarchy; cgroups under a `cgcal-test-*` parent,
//! removed at the end).
//!
//! ```text
//! cargo build --release --workspace --bins --examples
//! target/release/examples/cgact_latency latency [RESCUES]      # default 150
//! target/release/examples/cgact_latency idle [SECONDS] [CGROUPS] # default 60 200
//! ```
//!
//! * `latency`: one cgroup limited to 4 MiB, a hog growing by 1 MiB steps to
//!   4 + RESCUES MiB, `cgact --mode rescue --min-bump 1M --bump-ratio 0.01`:
//!   every step is an OOM with the task frozen and a rescue of 1 MiB. Prints
//!   p50/p99/max of the audit lines' `latency_us` (wake-up to last limit
//!   write), and the same session's baseline: the wake-up of an epoll wait
//!   by an eventfd written from another thread (the watcher's waker).
//! * `idle`: CGROUPS cgroups, `cgact --mode rescue` watching them all, and
//!   for comparison `cgrec record --interval 1s` on the same tree, both idle
//!   for SECONDS; prints the CPU time (`/proc/PID/stat` utime+stime) and
//!   the voluntary context switches (wake-ups) of each over that time.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cgcal_core::watch::{WatchEvent, Watcher};
use cgcal_testkit::{bin_path, spawn_hog, wait_ready, HogOptions, LiveParent};

const MIB: u64 = 1 << 20;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: u64| -> u64 {
        args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default)
    };
    match args.first().map(String::as_str) {
        Some("latency") => latency(num(1, 150)),
        Some("idle") => idle(num(1, 60), num(2, 200)),
        _ => {
            eprintln!("usage: cgact_latency latency [RESCUES] | idle [SECONDS] [CGROUPS]");
            std::process::exit(2);
        }
    }
}

/// Starts `cgact` on the parent and waits for its start line.
fn start_cgact(parent: &LiveParent, tmp: &Path, args: &[&str]) -> Child {
    // CGACT_WRAP="nice -n -10" (or "taskset -c 0"): run cgact under a wrapper.
    let wrap = std::env::var("CGACT_WRAP").unwrap_or_default();
    let mut words: Vec<String> = wrap.split_whitespace().map(String::from).collect();
    words.push(bin_path("cgact").display().to_string());
    let mut child = Command::new(&words[0])
        .args(&words[1..])
        .arg("--root")
        .arg(parent.path())
        .arg("--stats")
        .arg(tmp.join("stats.json"))
        .arg("--log")
        .arg(tmp.join("audit.log"))
        .arg("--lock-file")
        .arg(tmp.join("cgact.lock"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cgact");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("waiting for events") {
                let _ = tx.send(());
            }
            if line.contains("ERROR") || line.contains("error:") {
                eprintln!("cgact| {line}");
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("cgact did not start");
    child
}

fn stop(child: &mut Child) {
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn latency(rescues: u64) {
    let baseline = waker_wakeups(2000);
    let Some(parent) = LiveParent::new("bench-cgact-latency") else {
        return;
    };
    std::fs::write(
        parent.path().join("memory.limit_in_bytes"),
        (4096 * MIB).to_string(),
    )
    .unwrap();
    let a = parent.child("a");
    parent.set_limit("a", 4 * MIB);
    let tmp = tempfile::tempdir().unwrap();
    let stats = serde_json::json!({
        parent.name_of("a"): {"min_consumption": MIB, "median_consumption": MIB, "max_consumption": MIB},
    });
    std::fs::write(tmp.path().join("stats.json"), stats.to_string()).unwrap();
    let mut cgact = start_cgact(
        &parent,
        tmp.path(),
        &[
            "--mode",
            "rescue",
            "--min-bump",
            "1M",
            "--bump-ratio",
            "0.01",
        ],
    );
    let total = 4 + rescues;
    let started = Instant::now();
    let mut hog = spawn_hog(
        &a,
        total,
        HogOptions {
            step_mib: Some(1),
            step_ms: None,
            hold_ms: None,
        },
    );
    let ready = wait_ready(&mut hog);
    let took = started.elapsed();
    stop(&mut cgact);
    let _ = hog.kill();
    let _ = hog.wait();
    let text = std::fs::read_to_string(tmp.path().join("audit.log")).unwrap_or_default();
    let mut lat: Vec<u64> = Vec::new();
    let mut outcomes = std::collections::BTreeMap::<String, u64>::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        *outcomes
            .entry(v["outcome"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
        if v["outcome"] == "resolved" {
            lat.push(v["latency_us"].as_u64().unwrap());
        }
    }
    let slowest: Vec<(usize, u64)> = {
        let mut v: Vec<(usize, u64)> = lat.iter().copied().enumerate().collect();
        v.sort_by_key(|(_, l)| std::cmp::Reverse(*l));
        v.into_iter().take(5).collect()
    };
    println!("slowest (rescue index, latency_us): {slowest:?}");
    lat.sort_unstable();
    println!("hog: {ready:?} ({total} MiB in {took:?}); audit outcomes {outcomes:?}");
    println!(
        "cgact rescue latency_us over {} rescues: p50 {} p99 {} max {} mean {:.1}",
        lat.len(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(0),
        lat.iter().sum::<u64>() as f64 / lat.len().max(1) as f64
    );
    println!(
        "baseline eventfd wake-up (waker, across threads) over {} wakes: p50 {:.1} us p99 {:.1} us",
        baseline.len(),
        baseline[baseline.len() / 2] as f64 / 1000.0,
        baseline[baseline.len() * 99 / 100] as f64 / 1000.0
    );
    println!(
        "ratio p50 {:.1}x, p99 {:.1}x the wake-up",
        percentile(&lat, 0.5) as f64 * 1000.0 / baseline[baseline.len() / 2] as f64,
        percentile(&lat, 0.99) as f64 * 1000.0 / baseline[baseline.len() * 99 / 100] as f64
    );
}

/// Nanoseconds from an eventfd write on another thread to the return of
/// the watcher's epoll wait, `n` times, sorted.
fn waker_wakeups(n: usize) -> Vec<u64> {
    let mut w = Watcher::new().unwrap();
    let waker = w.waker();
    let (tx, rx) = std::sync::mpsc::sync_channel::<()>(0);
    let (stamp_tx, stamp_rx) = std::sync::mpsc::channel::<Instant>();
    let t = std::thread::spawn(move || {
        while rx.recv().is_ok() {
            std::thread::sleep(Duration::from_micros(200));
            let at = Instant::now();
            waker.wake();
            let _ = stamp_tx.send(at);
        }
    });
    let mut out = Vec::with_capacity(n);
    let mut events = Vec::new();
    for _ in 0..n {
        tx.send(()).unwrap();
        events.clear();
        w.wait(None, &mut events).unwrap();
        let woke = Instant::now();
        assert_eq!(events, vec![WatchEvent::Woken]);
        let at = stamp_rx.recv().unwrap();
        out.push(woke.saturating_duration_since(at).as_nanos() as u64);
    }
    drop(tx);
    let _ = t.join();
    out.sort_unstable();
    out
}

/// (CPU ticks utime+stime, voluntary context switches) of `pid`.
fn cpu_of(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    // Fields 14 and 15 of stat(5), counted from the state (field 3) here.
    let ticks = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let vol = status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (ticks, vol)
}

fn idle(seconds: u64, cgroups: u64) {
    let Some(parent) = LiveParent::new("bench-cgact-idle") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut stats = serde_json::Map::new();
    for i in 0..cgroups {
        let rel = format!("c{i:03}");
        parent.child(&rel);
        parent.set_limit(&rel, 64 * MIB);
        stats.insert(
            parent.name_of(&rel),
            serde_json::json!({"min_consumption": MIB, "median_consumption": 8 * MIB, "max_consumption": 32 * MIB}),
        );
    }
    std::fs::write(
        tmp.path().join("stats.json"),
        serde_json::Value::Object(stats).to_string(),
    )
    .unwrap();
    let mut cgact = start_cgact(&parent, tmp.path(), &["--mode", "rescue"]);
    let mut cgrec = Command::new(bin_path("cgrec"))
        .arg("-q")
        .arg("record")
        .arg("--root")
        .arg(parent.path())
        .arg("--interval")
        .arg("1s")
        .arg("--out")
        .arg(tmp.path().join("idle.bin"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn cgrec");
    std::thread::sleep(Duration::from_secs(2));
    let hz = 100.0; // USER_HZ
    let (a0, av0) = cpu_of(cgact.id());
    let (r0, rv0) = cpu_of(cgrec.id());
    std::thread::sleep(Duration::from_secs(seconds));
    let (a1, av1) = cpu_of(cgact.id());
    let (r1, rv1) = cpu_of(cgrec.id());
    stop(&mut cgact);
    stop(&mut cgrec);
    println!(
        "idle {seconds} s, {cgroups} cgroups: cgact rescue {} ticks = {:.2} s CPU, {} wake-ups; \
         baseline cgrec record --interval 1s {} ticks = {:.2} s CPU, {} wake-ups",
        a1 - a0,
        (a1 - a0) as f64 / hz,
        av1 - av0,
        r1 - r0,
        (r1 - r0) as f64 / hz,
        rv1 - rv0
    );
}
