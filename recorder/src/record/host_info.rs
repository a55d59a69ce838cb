//! What the trace header says about the machine: host name, kernel
//! release, and memory (`MemTotal` of `/proc/meminfo`).

use std::path::Path;

/// Where the host's memory size is read.
pub const MEMINFO: &str = "/proc/meminfo";

/// The machine facts of a trace header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInfo {
    /// Host name (`gethostname`), empty when unknown.
    pub host: String,
    /// Kernel release (`uname -r`), empty when unknown.
    pub kernel: String,
    /// `MemTotal` in bytes, `None` when unknown.
    pub memory: Option<u64>,
}

impl HostInfo {
    /// Reads the facts of this machine; anything unreadable is left empty
    /// (logged), never an error: the recording matters more than its labels.
    pub fn of_this_machine() -> HostInfo {
        let host = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default();
        let kernel = nix::sys::utsname::uname()
            .ok()
            .and_then(|u| u.release().to_str().map(str::to_string))
            .unwrap_or_default();
        let memory = match std::fs::read_to_string(Path::new(MEMINFO)) {
            Ok(text) => parse_mem_total(&text),
            Err(e) => {
                tracing::warn!("cannot read {MEMINFO}: {e}; the trace states no host memory");
                None
            }
        };
        HostInfo {
            host,
            kernel,
            memory,
        }
    }
}

/// `MemTotal` of a `/proc/meminfo` text, in bytes (the file says kB, meaning KiB).
pub fn parse_mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut words = line["MemTotal:".len()..].split_whitespace();
    let kib: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => kib.checked_mul(1024),
        None => Some(kib),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_total_is_read_in_bytes() {
        let text = "MemTotal:        4025032 kB\nMemFree:  12 kB\n";
        assert_eq!(parse_mem_total(text), Some(4_025_032 * 1024));
        assert_eq!(parse_mem_total("MemFree: 1 kB\n"), None);
        assert_eq!(parse_mem_total("MemTotal: x kB\n"), None);
        assert_eq!(parse_mem_total("MemTotal: 1 MB\n"), None);
        assert_eq!(parse_mem_total("MemTotal: 18446744073709551615 kB\n"), None);
    }

    #[test]
    fn this_machine_has_a_kernel_and_memory() {
        let h = HostInfo::of_this_machine();
        assert!(!h.kernel.is_empty());
        assert!(h.memory.unwrap_or(0) > 0);
    }
}
