//! `cgcal-hog`: a memory hog for live cgroup tests.
//!
//! ```text
//! cgcal-hog [--cgroup DIR] --mib N [--step-mib S] [--step-ms T] [--hold-ms H]
//! ```
//!
//! Writes its own pid to `DIR/cgroup.procs` first (if given), then allocates
//! N MiB of anonymous memory (in steps of S MiB every T ms if given),
//! writing one byte in every 4 KiB page so that every page is charged,
//! prints `ready <bytes>` on stdout once N MiB are held, holds them for H ms
//! (default: until killed) and exits 0. Exit 1 on a runtime error, 2 on a
//! usage error.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const MIB: usize = 1 << 20;
const PAGE: usize = 4096;
/// Most memory the hog agrees to allocate (a guard against typos).
const MAX_MIB: u64 = 64 << 10;

struct Args {
    cgroup: Option<PathBuf>,
    mib: u64,
    step_mib: Option<u64>,
    step_ms: u64,
    hold_ms: Option<u64>,
}

const USAGE: &str =
    "usage: cgcal-hog [--cgroup DIR] --mib N [--step-mib S] [--step-ms T] [--hold-ms H]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        cgroup: None,
        mib: 0,
        step_mib: None,
        step_ms: 0,
        hold_ms: None,
    };
    let mut mib = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let mut number = || -> Result<u64, String> {
            let v = value()?;
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: {v:?} is not a number"))
        };
        match flag.as_str() {
            "--cgroup" => args.cgroup = Some(PathBuf::from(value()?)),
            "--mib" => mib = Some(number()?),
            "--step-mib" => args.step_mib = Some(number()?),
            "--step-ms" => args.step_ms = number()?,
            "--hold-ms" => args.hold_ms = Some(number()?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    args.mib = mib.ok_or("--mib is required")?;
    if args.mib > MAX_MIB {
        return Err(format!("--mib {} is above the {MAX_MIB} allowed", args.mib));
    }
    if args.step_mib == Some(0) {
        return Err("--step-mib must be positive".to_string());
    }
    Ok(args)
}

/// Maps `bytes` of private anonymous memory and writes a byte in each page.
fn allocate_and_touch(bytes: usize) -> Result<(), String> {
    if bytes == 0 {
        return Ok(());
    }
    // SAFETY: a fresh private anonymous mapping; no existing memory is affected.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(format!(
            "mmap of {bytes} bytes: {}",
            std::io::Error::last_os_error()
        ));
    }
    let base = p.cast::<u8>();
    let mut off = 0;
    while off < bytes {
        // SAFETY: off < bytes, inside the mapping created above. The mapping
        // is never unmapped: the hog holds it until it exits.
        unsafe { std::ptr::write_volatile(base.add(off), 1) };
        off += PAGE;
    }
    Ok(())
}

fn run(args: &Args) -> Result<(), String> {
    if let Some(dir) = &args.cgroup {
        let procs = dir.join("cgroup.procs");
        std::fs::write(&procs, std::process::id().to_string())
            .map_err(|e| format!("{}: {e}", procs.display()))?;
    }
    let total = usize::try_from(args.mib).map_err(|_| "--mib too large")? * MIB;
    let step = args
        .step_mib
        .map_or(total, |s| (s as usize).saturating_mul(MIB))
        .max(PAGE);
    let mut done = 0usize;
    while done < total {
        let chunk = step.min(total - done);
        allocate_and_touch(chunk)?;
        done += chunk;
        if done < total && args.step_ms > 0 {
            std::thread::sleep(Duration::from_millis(args.step_ms));
        }
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {total}").map_err(|e| format!("stdout: {e}"))?;
    out.flush().map_err(|e| format!("stdout: {e}"))?;
    drop(out);
    match args.hold_ms {
        Some(ms) => std::thread::sleep(Duration::from_millis(ms)),
        None => loop {
            std::thread::sleep(Duration::from_secs(3600));
        },
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("cgcal-hog: error: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cgcal-hog: error: {e}");
            ExitCode::from(1)
        }
    }
}
