//! Pure parsers for the content of cgroup control files and of
//! `/proc/self/mountinfo`. They take `&str` and never open a file.

use std::path::{Component, Path, PathBuf};

use super::error::ParseError;
use crate::name::CgroupName;

/// v1 limits at or above this many bytes mean "unlimited": the kernel shows
/// `PAGE_COUNTER_MAX * PAGE_SIZE` (9223372036854771712 with 4 KiB pages).
pub const V1_UNLIMITED_AT: u64 = 1 << 62;

/// Parses one unsigned decimal value, surrounding whitespace allowed.
pub fn parse_u64(s: &str) -> Result<u64, ParseError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(ParseError::Empty);
    }
    t.parse::<u64>()
        .map_err(|_| ParseError::NotANumber(t.chars().take(64).collect()))
}

/// Parses a v1 limit file (`memory.limit_in_bytes`): `None` for unlimited
/// (a value of [`V1_UNLIMITED_AT`] or more).
pub fn parse_v1_limit(s: &str) -> Result<Option<u64>, ParseError> {
    let v = parse_u64(s)?;
    Ok((v < V1_UNLIMITED_AT).then_some(v))
}

/// Parses a v2 limit file (`memory.max`, `memory.high`): `None` for `max`.
pub fn parse_v2_limit(s: &str) -> Result<Option<u64>, ParseError> {
    if s.trim() == "max" {
        return Ok(None);
    }
    parse_u64(s).map(Some)
}

/// Formats a limit for a v1 write: `-1` for unlimited.
pub fn format_v1_limit(limit: Option<u64>) -> String {
    limit.map_or_else(|| "-1".to_string(), |v| v.to_string())
}

/// Formats a limit for a v2 write: `max` for unlimited.
pub fn format_v2_limit(limit: Option<u64>) -> String {
    limit.map_or_else(|| "max".to_string(), |v| v.to_string())
}

/// Iterates over the `key value` lines of a flat keyed file (`memory.stat`,
/// `memory.events`, `memory.oom_control`), skipping blank lines.
pub fn keyed_values(s: &str) -> impl Iterator<Item = Result<(&str, u64), ParseError>> {
    s.lines().filter(|l| !l.trim().is_empty()).map(|line| {
        let mut it = line.split_ascii_whitespace();
        match (it.next(), it.next(), it.next()) {
            (Some(k), Some(v), None) => Ok((k, parse_u64(v)?)),
            _ => Err(ParseError::BadLine(line.chars().take(128).collect())),
        }
    })
}

/// The value of `key` in a flat keyed file, `None` when the key is absent.
/// Does not allocate; stops at the first match.
pub fn keyed_value(s: &str, key: &str) -> Result<Option<u64>, ParseError> {
    for kv in keyed_values(s) {
        let (k, v) = kv?;
        if k == key {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// The v1 `memory.oom_control` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OomControl {
    /// `oom_kill_disable`.
    pub oom_kill_disable: bool,
    /// `under_oom`.
    pub under_oom: bool,
    /// `oom_kill` (kernel 4.13 and later), tasks of this cgroup OOM-killed.
    pub oom_kill: Option<u64>,
}

/// Parses v1 `memory.oom_control`.
pub fn parse_oom_control(s: &str) -> Result<OomControl, ParseError> {
    let mut out = OomControl::default();
    let mut seen = false;
    for kv in keyed_values(s) {
        let (k, v) = kv?;
        match k {
            "oom_kill_disable" => out.oom_kill_disable = v != 0,
            "under_oom" => out.under_oom = v != 0,
            "oom_kill" => out.oom_kill = Some(v),
            _ => {}
        }
        seen = true;
    }
    if !seen {
        return Err(ParseError::Empty);
    }
    Ok(out)
}

/// The v2 `memory.events` / `memory.events.local` counters. A counter the
/// kernel does not show reads as 0, except `oom_group_kill` (5.17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemoryEvents {
    /// Times usage went above `memory.low` protection while reclaimed.
    pub low: u64,
    /// Times usage went above `memory.high` (throttling).
    pub high: u64,
    /// Times usage was about to go above `memory.max`.
    pub max: u64,
    /// Times the OOM path ran because this cgroup's limit was hit.
    pub oom: u64,
    /// Tasks of this cgroup (or below, for `memory.events`) OOM-killed.
    pub oom_kill: u64,
    /// Group OOM kills, when the kernel shows them.
    pub oom_group_kill: Option<u64>,
}

impl MemoryEvents {
    /// The increase of every counter since `earlier` (0 where a counter
    /// went down, e.g. a recreated cgroup); `oom_group_kill` is `None`
    /// unless both reads have it.
    pub fn saturating_delta(&self, earlier: &MemoryEvents) -> MemoryEvents {
        MemoryEvents {
            low: self.low.saturating_sub(earlier.low),
            high: self.high.saturating_sub(earlier.high),
            max: self.max.saturating_sub(earlier.max),
            oom: self.oom.saturating_sub(earlier.oom),
            oom_kill: self.oom_kill.saturating_sub(earlier.oom_kill),
            oom_group_kill: self
                .oom_group_kill
                .zip(earlier.oom_group_kill)
                .map(|(now, then)| now.saturating_sub(then)),
        }
    }
}

/// Parses v2 `memory.events` or `memory.events.local`.
pub fn parse_memory_events(s: &str) -> Result<MemoryEvents, ParseError> {
    let mut out = MemoryEvents::default();
    let mut seen = false;
    for kv in keyed_values(s) {
        let (k, v) = kv?;
        match k {
            "low" => out.low = v,
            "high" => out.high = v,
            "max" => out.max = v,
            "oom" => out.oom = v,
            "oom_kill" => out.oom_kill = v,
            "oom_group_kill" => out.oom_group_kill = Some(v),
            _ => {}
        }
        seen = true;
    }
    if !seen {
        return Err(ParseError::Empty);
    }
    Ok(out)
}

/// Parses `cgroup.procs` (one pid per line).
pub fn parse_procs(s: &str) -> Result<Vec<u32>, ParseError> {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v = parse_u64(l)?;
            u32::try_from(v).map_err(|_| ParseError::NotANumber(l.trim().to_string()))
        })
        .collect()
}

/// One line of `/proc/self/mountinfo`, the fields this layer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// Root of the mount within its filesystem (field 4), unescaped.
    pub root: String,
    /// Mount point (field 5), unescaped.
    pub mount_point: PathBuf,
    /// Filesystem type (first field after ` - `).
    pub fs_type: String,
    /// Super-block options (last field), e.g. `rw,memory`.
    pub super_options: String,
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            let oct = &b[i + 1..i + 4];
            if oct.iter().all(|c| (b'0'..=b'7').contains(c)) {
                let v = (oct[0] - b'0') as u32 * 64
                    + (oct[1] - b'0') as u32 * 8
                    + (oct[2] - b'0') as u32;
                if let Ok(byte) = u8::try_from(v) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses the lines of `/proc/self/mountinfo`; malformed lines are skipped.
pub fn parse_mountinfo(s: &str) -> Vec<MountEntry> {
    s.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let f: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            if f.len() < 6 || r.len() < 3 {
                return None;
            }
            Some(MountEntry {
                root: unescape_mountinfo(f[3]),
                mount_point: PathBuf::from(unescape_mountinfo(f[4])),
                fs_type: r[0].to_string(),
                super_options: r[2].to_string(),
            })
        })
        .collect()
}

/// The cgroup name of the directory `path` (absolute, canonical): found from
/// the cgroup or cgroup2 mount with the longest mount point holding `path`
/// (the last such line wins, as the last mount hides earlier ones), as the
/// mount's root joined with the rest of the path.
/// `None` when no cgroup mount holds `path` or a component is not a valid name.
pub fn cgroup_name_in_mounts(mounts: &[MountEntry], path: &Path) -> Option<CgroupName> {
    let mut best: Option<&MountEntry> = None;
    for m in mounts {
        if (m.fs_type == "cgroup" || m.fs_type == "cgroup2") && path.starts_with(&m.mount_point) {
            let longer = best.is_none_or(|b| {
                m.mount_point.components().count() >= b.mount_point.components().count()
            });
            if longer {
                best = Some(m);
            }
        }
    }
    let m = best?;
    let mut name = CgroupName::parse(&m.root).ok()?;
    for comp in path.strip_prefix(&m.mount_point).ok()?.components() {
        match comp {
            Component::Normal(c) => name = name.join(c.to_str()?).ok()?,
            _ => return None,
        }
    }
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_events_delta_saturates() {
        let earlier = MemoryEvents {
            oom: 2,
            oom_kill: 5,
            oom_group_kill: Some(1),
            ..MemoryEvents::default()
        };
        let now = MemoryEvents {
            max: 3,
            oom: 3,
            oom_kill: 4,
            oom_group_kill: Some(1),
            ..MemoryEvents::default()
        };
        let d = now.saturating_delta(&earlier);
        assert_eq!((d.max, d.oom, d.oom_kill), (3, 1, 0));
        assert_eq!(d.oom_group_kill, Some(0));
        let without = MemoryEvents::default().saturating_delta(&earlier);
        assert_eq!(without.oom_group_kill, None);
    }

    #[test]
    fn values_and_limits() {
        assert_eq!(parse_u64("123\n"), Ok(123));
        assert_eq!(parse_u64(""), Err(ParseError::Empty));
        assert!(matches!(parse_u64("-1"), Err(ParseError::NotANumber(_))));
        assert!(matches!(
            parse_u64("99999999999999999999"),
            Err(ParseError::NotANumber(_))
        ));
        assert_eq!(parse_v1_limit("9223372036854771712\n"), Ok(None));
        assert_eq!(parse_v1_limit("67108864\n"), Ok(Some(64 << 20)));
        assert_eq!(parse_v2_limit("max\n"), Ok(None));
        assert_eq!(parse_v2_limit("4096\n"), Ok(Some(4096)));
        assert!(parse_v2_limit("maxx").is_err());
        assert_eq!(format_v1_limit(None), "-1");
        assert_eq!(format_v2_limit(None), "max");
        assert_eq!(format_v2_limit(Some(5)), "5");
    }

    #[test]
    fn keyed_files() {
        let stat = "cache 4096\nrss 8192\ntotal_inactive_file 12288\n";
        assert_eq!(keyed_value(stat, "rss"), Ok(Some(8192)));
        assert_eq!(keyed_value(stat, "total_inactive_file"), Ok(Some(12288)));
        assert_eq!(keyed_value(stat, "nope"), Ok(None));
        assert!(matches!(
            keyed_value("rss\n", "rss"),
            Err(ParseError::BadLine(_))
        ));
        assert!(keyed_value("rss 1 2\n", "rss").is_err());
    }

    #[test]
    fn oom_control() {
        let s = "oom_kill_disable 1\nunder_oom 0\noom_kill 3\n";
        assert_eq!(
            parse_oom_control(s),
            Ok(OomControl {
                oom_kill_disable: true,
                under_oom: false,
                oom_kill: Some(3)
            })
        );
        let old = "oom_kill_disable 0\nunder_oom 1\n";
        assert_eq!(parse_oom_control(old).unwrap().oom_kill, None);
        assert!(parse_oom_control(old).unwrap().under_oom);
        assert_eq!(parse_oom_control(""), Err(ParseError::Empty));
    }

    #[test]
    fn memory_events() {
        let s = "low 0\nhigh 5\nmax 7\noom 2\noom_kill 1\noom_group_kill 0\n";
        let e = parse_memory_events(s).unwrap();
        assert_eq!((e.low, e.high, e.max, e.oom, e.oom_kill), (0, 5, 7, 2, 1));
        assert_eq!(e.oom_group_kill, Some(0));
        let old = parse_memory_events("low 0\nhigh 0\nmax 0\noom 0\noom_kill 4\n").unwrap();
        assert_eq!((old.oom_kill, old.oom_group_kill), (4, None));
    }

    #[test]
    fn procs() {
        assert_eq!(parse_procs("1\n42\n"), Ok(vec![1, 42]));
        assert_eq!(parse_procs(""), Ok(vec![]));
        assert!(parse_procs("5000000000\n").is_err());
    }

    const MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 23 0:40 /docker/abc /mnt/my\\040cg rw - cgroup cgroup rw,memory
bogus line
";

    #[test]
    fn mountinfo_names() {
        let m = parse_mountinfo(MOUNTINFO);
        assert_eq!(m.len(), 4);
        assert_eq!(m[3].mount_point, PathBuf::from("/mnt/my cg"));
        assert_eq!(m[1].super_options, "rw,memory");
        let name = |p: &str| cgroup_name_in_mounts(&m, Path::new(p)).map(|n| n.to_string());
        assert_eq!(name("/sys/fs/cgroup/memory").as_deref(), Some("/"));
        assert_eq!(name("/sys/fs/cgroup/memory/a/x").as_deref(), Some("/a/x"));
        assert_eq!(name("/sys/fs/cgroup/unified/u").as_deref(), Some("/u"));
        assert_eq!(name("/mnt/my cg/k").as_deref(), Some("/docker/abc/k"));
        assert_eq!(name("/sys/fs/cgroup"), None);
        assert_eq!(name("/sys/fs/cgroup/memoryx"), None);
        assert_eq!(name("/tmp"), None);
    }

    #[test]
    fn mountinfo_unescape_edge() {
        assert_eq!(unescape_mountinfo("a\\040b"), "a b");
        assert_eq!(unescape_mountinfo("a\\04"), "a\\04");
        assert_eq!(unescape_mountinfo("\\"), "\\");
        assert_eq!(unescape_mountinfo("\\777x"), "\\777x");
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC*") {
            let _ = parse_u64(&s);
            let _ = parse_v1_limit(&s);
            let _ = parse_v2_limit(&s);
            let _ = keyed_value(&s, "oom");
            let _ = parse_oom_control(&s);
            let _ = parse_memory_events(&s);
            let _ = parse_procs(&s);
            let m = parse_mountinfo(&s);
            let _ = cgroup_name_in_mounts(&m, Path::new("/sys/fs/cgroup/memory/a"));
        }

        #[test]
        fn limits_round_trip(v in proptest::option::of(0u64..V1_UNLIMITED_AT)) {
            prop_assert_eq!(parse_v2_limit(&format_v2_limit(v)), Ok(v));
            if let Some(b) = v {
                prop_assert_eq!(parse_v1_limit(&format_v1_limit(Some(b))), Ok(Some(b)));
            }
        }

        #[test]
        fn keyed_round_trip(entries in proptest::collection::vec(("[a-z_]{1,20}", any::<u64>()), 0..40)) {
            let text: String = entries.iter().map(|(k, v)| format!("{k} {v}\n")).collect();
            let parsed: Vec<(String, u64)> = keyed_values(&text)
                .map(|kv| kv.map(|(k, v)| (k.to_string(), v)))
                .collect::<Result<_, _>>()
                .unwrap();
            prop_assert_eq!(parsed, entries.clone());
            if let Some((k, _)) = entries.first() {
                let first = entries.iter().find(|(kk, _)| kk == k).map(|(_, v)| *v);
                prop_assert_eq!(keyed_value(&text, k), Ok(first));
            }
        }
    }
}
