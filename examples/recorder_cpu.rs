//! Live CPU cost of `cgrec record` per cgroup-sample, side by side with a
//! plain open/read/close poller reading the same files in the same run, for
//! BENCHMARKS.md "## cgrec record (live CPU)" (issue 3). Root, v1 memory
//! hierarchy; everything under a `cgcal-test-*` parent removed at the end.
//!
//! ```text
//! cargo build --release -p cgrec -p cgcal-testkit --bins
//! cargo build --release --example recorder_cpu
//! target/release/examples/recorder_cpu [SECONDS [CGROUPS [HOGS [STAT_INTERVAL_MS]]]]
//!                                       # defaults: 30 200 8 10000
//! CGREC=/tmp/cgrec.old target/release/examples/recorder_cpu   # another cgrec build (A/B)
//! ```
//!
//! * CGROUPS empty cgroups `c000`.. under the parent, each limited to
//!   64 MiB; in the first HOGS of them a `cgcal-hog` is started again and
//!   again (1 to 4 MiB in 1 MiB steps every 250 ms, held 1 s), so their
//!   usage keeps changing. The parent itself is recorded too (CGROUPS + 1).
//! * Four programs start together and run side by side, a sweep every
//!   100 ms each: `cgrec record --root PARENT --interval 100ms
//!   --stat-interval STAT_INTERVAL`, which reads `memory.usage_in_bytes`
//!   every sweep and `memory.limit_in_bytes` only where inotify saw it
//!   written (and at full sweeps), and three pollers in this example's
//!   `poll` mode, each on a full sweep (every STAT_INTERVAL) reading
//!   usage, limit, `memory.max_usage_in_bytes`, `memory.failcnt`,
//!   `memory.stat` and `memory.oom_control` as cgrec does, and otherwise:
//!   `open2`, the plain poller delivering what cgrec delivers (usage and
//!   limit per sample), each file opened, read once and closed; `open1`,
//!   the same for the usage file only (cgrec's reads); `pread1`, one
//!   `pread` of the kept-open usage file (the floor of any recorder of
//!   these files: cgrec minus its trace, events and bookkeeping). The
//!   pollers parse the values and keep the last ones; they write nothing.
//! * The measured window starts 3 s after both started (after cgrec's set-up:
//!   handles, OOM eventfds, tree watch) and lasts SECONDS. CPU in the window
//!   (user + system) is the sum of `/proc/PID/task/*/schedstat` run times
//!   (nanoseconds) at its ends. Cgroup-samples in the window: cgrec's are
//!   counted in the trace (sample times inside the window), the poller's
//!   are its sweeps inside the window times the cgroups it reads.
//! * Also printed: each program's whole-run CPU from `wait4` (cgrec's
//!   includes its set-up and the compaction at stop), and cgrec's bytes per
//!   cgroup-sample after the compaction (`cgrec inspect`).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cgcal_core::trace::{open_trace, ReadItem};
use cgcal_testkit::LiveParent;

const MIB: u64 = 1 << 20;
/// Sweep interval of both programs.
const INTERVAL: Duration = Duration::from_millis(100);
/// Time from the start of both programs to the start of the window.
const WARM_UP: Duration = Duration::from_secs(3);
/// Time both programs keep running after the window ends.
const TAIL: Duration = Duration::from_secs(2);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("poll") {
        let ms = |i: usize| Duration::from_millis(args[i].parse().expect("milliseconds"));
        poll(&args[1], Path::new(&args[2]), ms(3), ms(4));
        return;
    }
    let num = |i: usize, default: u64| -> u64 {
        args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default)
    };
    run(
        Duration::from_secs(num(0, 30)),
        num(1, 200),
        num(2, 8),
        Duration::from_millis(num(3, 10_000)),
    );
}

/// A workspace binary next to this example (`target/<profile>/NAME`).
fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} missing: cargo build --release -p cgrec -p cgcal-testkit --bins",
        path.display()
    );
    path
}

fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// CPU time (user + system) of every thread of `pid` so far, in
/// nanoseconds, from `/proc/PID/task/*/schedstat` (first field).
fn cpu_ns(pid: u32) -> u64 {
    let mut total = 0;
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("/proc/PID/task");
    for t in tasks.flatten() {
        let text = std::fs::read_to_string(t.path().join("schedstat")).unwrap_or_default();
        total += text
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    total
}

/// Waits for `child` with `wait4` and returns its whole-run CPU (user,
/// system) in microseconds.
fn wait_rusage(child: Child) -> (u64, u64) {
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 on our own child's pid.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
    assert_eq!(pid, child.id() as i32, "wait4");
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    (us(ru.ru_utime), us(ru.ru_stime))
}

/// Starts `cgcal-hog` again and again in each of `dirs` (1 to 4 MiB) until
/// `stop` is set.
fn cycle_hogs(dirs: Vec<PathBuf>, stop: Arc<AtomicBool>) -> Vec<std::thread::JoinHandle<()>> {
    dirs.into_iter()
        .enumerate()
        .map(|(i, dir)| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mib = 1 + i as u64 % 4;
                while !stop.load(Ordering::Relaxed) {
                    let status = Command::new(binary("cgcal-hog"))
                        .arg("--cgroup")
                        .arg(&dir)
                        .args(["--mib", &mib.to_string(), "--step-mib", "1"])
                        .args(["--step-ms", "250", "--hold-ms", "1000"])
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .status();
                    if status.is_err() {
                        return;
                    }
                }
            })
        })
        .collect()
}

/// A poller child and its CPU at the window's ends.
struct Poller {
    how: &'static str,
    child: Child,
    cpu: [u64; 2],
}

/// What one poller did in the window.
struct PollerResult {
    how: &'static str,
    cpu_ns: u64,
    sweeps: u64,
    cgroups: u64,
    rusage: (u64, u64),
}

impl PollerResult {
    fn samples(&self) -> u64 {
        self.sweeps * self.cgroups
    }

    fn us_per_sample(&self) -> f64 {
        self.cpu_ns as f64 / 1e3 / self.samples().max(1) as f64
    }
}

impl Poller {
    fn spawn(how: &'static str, root: &Path, run_for: Duration, stat_interval: Duration) -> Self {
        let child = Command::new(std::env::current_exe().expect("current_exe"))
            .args(["poll", how])
            .arg(root)
            .arg(run_for.as_millis().to_string())
            .arg(stat_interval.as_millis().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn poller");
        Poller {
            how,
            child,
            cpu: [0; 2],
        }
    }

    /// Reads its output ("cgroups N", then one sweep time in wall ns a
    /// line) and waits for it.
    fn finish(mut self, w0: u64, w1: u64) -> PollerResult {
        let out = self.child.stdout.take().expect("poller stdout");
        let lines: Vec<String> = BufReader::new(out).lines().map_while(Result::ok).collect();
        let rusage = wait_rusage(self.child);
        let cgroups = lines
            .first()
            .and_then(|l| l.strip_prefix("cgroups "))
            .and_then(|n| n.parse().ok())
            .expect("poller's first line: cgroups N");
        let sweeps = lines[1..]
            .iter()
            .filter_map(|l| l.parse::<u64>().ok())
            .filter(|t| (w0..w1).contains(t))
            .count() as u64;
        PollerResult {
            how: self.how,
            cpu_ns: self.cpu[1] - self.cpu[0],
            sweeps,
            cgroups,
            rusage,
        }
    }
}

fn run(window: Duration, cgroups: u64, hogs: u64, stat_interval: Duration) {
    let Some(parent) = LiveParent::new("bench-recorder-cpu") else {
        return;
    };
    let mut dirs = Vec::new();
    for i in 0..cgroups {
        let rel = format!("c{i:03}");
        dirs.push(parent.child(&rel));
        parent.set_limit(&rel, 64 * MIB);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let cyclers = cycle_hogs(dirs.into_iter().take(hogs as usize).collect(), stop.clone());
    std::thread::sleep(Duration::from_secs(1));

    let tmp = tempfile::tempdir().expect("tempdir");
    let trace = tmp.path().join("recorder-cpu.bin");
    let run_for = WARM_UP + window + TAIL;
    let cgrec_bin = std::env::var_os("CGREC").map_or_else(|| binary("cgrec"), PathBuf::from);
    let cgrec = Command::new(&cgrec_bin)
        .arg("-q")
        .arg("record")
        .arg("--root")
        .arg(parent.path())
        .args(["--interval", "100ms"])
        .arg("--stat-interval")
        .arg(format!("{}ms", stat_interval.as_millis()))
        .arg("--duration")
        .arg(format!("{}ms", run_for.as_millis()))
        .arg("--out")
        .arg(&trace)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn cgrec");
    let mut pollers: Vec<Poller> = ["open2", "open1", "pread1"]
        .into_iter()
        .map(|how| Poller::spawn(how, parent.path(), run_for, stat_interval))
        .collect();
    let started = Instant::now();
    std::thread::sleep(WARM_UP);
    let mut rec = [0u64; 2];
    let mut wall = [0u64; 2];
    for end in 0..2 {
        if end == 1 {
            std::thread::sleep(window);
        }
        wall[end] = wall_ns();
        rec[end] = cpu_ns(cgrec.id());
        for p in pollers.iter_mut() {
            p.cpu[end] = cpu_ns(p.child.id());
        }
    }
    let [w0, w1] = wall;
    assert!(
        started.elapsed() < run_for,
        "the window ran past the programs' duration (machine too busy): run again"
    );
    let (rec_user, rec_sys) = wait_rusage(cgrec);
    let polled: Vec<PollerResult> = pollers.into_iter().map(|p| p.finish(w0, w1)).collect();
    stop.store(true, Ordering::Relaxed);
    for c in cyclers {
        let _ = c.join();
    }

    let (rec_samples, rec_total, rec_cgroups) = trace_samples(&trace, w0, w1);
    let inspect = Command::new(&cgrec_bin)
        .arg("inspect")
        .arg(&trace)
        .output()
        .expect("cgrec inspect");
    let inspect = String::from_utf8_lossy(&inspect.stdout);
    let field = |key: &str| {
        inspect
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::trim)
            .unwrap_or("?")
            .to_string()
    };

    let secs = (w1 - w0) as f64 / 1e9;
    let rec_cpu = rec[1] - rec[0];
    let rec_per = rec_cpu as f64 / 1e3 / rec_samples.max(1) as f64;
    println!("cgrec: {}", cgrec_bin.display());
    println!(
        "{} cgroups ({cgroups} + the parent; {hogs} with a cycling 1-4 MiB hog), --interval 100ms, \
         --stat-interval {}ms, window {secs:.1} s",
        rec_cgroups,
        stat_interval.as_millis()
    );
    println!(
        "cgrec record: {:.1} ms CPU for {rec_samples} cgroup-samples = {rec_per:.3} us per cgroup-sample",
        rec_cpu as f64 / 1e6
    );
    for p in &polled {
        let what = match p.how {
            "open2" => "plain poller, open/read/close of usage + limit",
            "open1" => "plain poller, open/read/close of usage only",
            _ => "bare pread loop, usage only (kept-open files, no trace)",
        };
        println!(
            "{what}: {:.1} ms CPU for {} cgroup-samples ({} sweeps x {}) = {:.3} us per cgroup-sample; \
             {:.2}x cgrec's",
            p.cpu_ns as f64 / 1e6,
            p.samples(),
            p.sweeps,
            p.cgroups,
            p.us_per_sample(),
            p.us_per_sample() / rec_per
        );
    }
    println!(
        "whole runs (wait4; cgrec's includes its set-up and the compaction): cgrec user {:.1} ms \
         sys {:.1} ms for {rec_total} samples = {:.3} us/sample",
        rec_user as f64 / 1e3,
        rec_sys as f64 / 1e3,
        (rec_user + rec_sys) as f64 / rec_total.max(1) as f64,
    );
    for p in &polled {
        println!(
            "  {} poller: user {:.1} ms sys {:.1} ms",
            p.how,
            p.rusage.0 as f64 / 1e3,
            p.rusage.1 as f64 / 1e3
        );
    }
    println!(
        "trace after compaction: {} bytes, {} samples, {} bytes/sample (cgrec inspect)",
        field("file bytes"),
        field("samples"),
        field("bytes/sample")
    );
}

/// (samples with a time in `[from, to)`, all samples, cgroups) of a trace.
fn trace_samples(path: &Path, from: u64, to: u64) -> (u64, u64, usize) {
    let mut r = open_trace(path).expect("open the recorded trace");
    let (mut inside, mut all) = (0, 0);
    while let Some(item) = r.next_item() {
        if let ReadItem::Chunk(c) = item.expect("read the recorded trace") {
            all += c.samples.len() as u64;
            inside += c
                .samples
                .iter()
                .filter(|s| (from..to).contains(&s.time_ns))
                .count() as u64;
        }
    }
    (inside, all, r.cgroups().count())
}

/// How a poller reads a file.
enum Reader {
    /// Open, one read, close, every time (`poll open2`, `poll open1`).
    Open(PathBuf),
    /// Kept open, one `pread` at offset 0 (`poll pread1`).
    Pread(File),
}

impl Reader {
    fn new(how: &str, path: PathBuf) -> Reader {
        match how {
            "open1" | "open2" => Reader::Open(path),
            _ => Reader::Pread(File::open(&path).expect("open a control file")),
        }
    }

    /// Reads the file and returns the value of `key` (or the first number
    /// when `key` is empty).
    fn value(&self, buf: &mut [u8], key: &str) -> Option<u64> {
        let n = match self {
            Reader::Open(path) => File::open(path).and_then(|mut f| f.read(buf)).ok()?,
            Reader::Pread(f) => f.read_at(buf, 0).ok()?,
        };
        let text = std::str::from_utf8(&buf[..n]).ok()?;
        if key.is_empty() {
            return text.trim().parse().ok();
        }
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
    }
}

/// The `poll open2|open1|pread1` mode: the parent and its sub-cgroups for
/// `run_for`, a sweep every [`INTERVAL`], a full one every
/// `stat_interval`. Prints `cgroups N` then each sweep's wall time in
/// nanoseconds.
fn poll(how: &str, root: &Path, run_for: Duration, stat_interval: Duration) {
    let mut dirs = vec![root.to_path_buf()];
    let mut children: Vec<PathBuf> = std::fs::read_dir(root)
        .expect("read the parent")
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    children.sort();
    dirs.extend(children);
    // Per cgroup: usage, limit (every sweep), then peak, failcnt, stat,
    // oom_control (full sweeps).
    const FILES: [(&str, &str); 6] = [
        ("memory.usage_in_bytes", ""),
        ("memory.limit_in_bytes", ""),
        ("memory.max_usage_in_bytes", ""),
        ("memory.failcnt", ""),
        ("memory.stat", "inactive_file"),
        ("memory.oom_control", "oom_kill"),
    ];
    let readers: Vec<Vec<Reader>> = dirs
        .iter()
        .map(|d| {
            FILES
                .iter()
                .map(|(f, _)| Reader::new(how, d.join(f)))
                .collect()
        })
        .collect();
    let mut last = vec![[0u64; 6]; dirs.len()];
    let mut buf = vec![0u8; 8 << 10];
    let mut sweeps = Vec::new();
    let start = Instant::now();
    let (mut next, mut next_full) = (start, start);
    while start.elapsed() < run_for {
        let now = Instant::now();
        if now < next {
            std::thread::sleep(next - now);
            continue;
        }
        sweeps.push(wall_ns());
        let files = match (now >= next_full, how.ends_with('1')) {
            (true, _) => 6,
            (false, true) => 1,
            (false, false) => 2,
        };
        for (i, files_of) in readers.iter().enumerate() {
            for (k, r) in files_of.iter().take(files).enumerate() {
                last[i][k] = r.value(&mut buf, FILES[k].1).unwrap_or(0);
            }
        }
        if files == 6 {
            while next_full <= now {
                next_full += stat_interval;
            }
        }
        while next <= now {
            next += INTERVAL;
        }
    }
    std::hint::black_box(&last);
    println!("cgroups {}", dirs.len());
    for t in sweeps {
        println!("{t}");
    }
}
