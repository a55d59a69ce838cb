//! Values read from a cgroup that are more than one number: the OOM state
//! and the parsed `memory.stat`.

use super::error::ParseError;
use super::parse::keyed_values;
use crate::trace::CgroupVersion;

/// Most `memory.stat` entries kept (v2 6.x shows about 60).
pub const MAX_STAT_ENTRIES: usize = 512;

/// OOM counters and flags of one cgroup, from v1 `memory.oom_control` or
/// v2 `memory.events` / `memory.events.local`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OomState {
    /// Times the OOM path ran because *this* cgroup's limit was hit (v2
    /// `oom` of `memory.events.local`, or of the hierarchical
    /// `memory.events` before kernel 5.2); `None` on v1, which has no such
    /// counter.
    pub oom: Option<u64>,
    /// Tasks of this cgroup OOM-killed: v1 `oom_kill` of `memory.oom_control`
    /// (0 before kernel 4.13), v2 `oom_kill` of `memory.events.local`
    /// (or of the hierarchical `memory.events` before kernel 5.2).
    pub oom_kill: u64,
    /// v1 `under_oom`: tasks are waiting for memory (with `oom_kill_disable`).
    /// `None` on v2.
    pub under_oom: Option<bool>,
    /// v1 `oom_kill_disable`. `None` on v2.
    pub oom_kill_disable: Option<bool>,
    /// v2 `max` events (usage about to exceed `memory.max`). `None` on v1.
    pub max_events: Option<u64>,
    /// v2 `high` events (usage above `memory.high`). `None` on v1.
    pub high_events: Option<u64>,
}

/// A parsed `memory.stat`: every `key value` line in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryStat {
    version: CgroupVersion,
    entries: Vec<(String, u64)>,
}

impl MemoryStat {
    /// Parses the text of `memory.stat` of a hierarchy of `version`.
    /// At most [`MAX_STAT_ENTRIES`] entries are kept.
    pub fn parse(version: CgroupVersion, text: &str) -> Result<Self, ParseError> {
        let mut entries = Vec::new();
        for kv in keyed_values(text).take(MAX_STAT_ENTRIES) {
            let (k, v) = kv?;
            entries.push((k.to_string(), v));
        }
        Ok(MemoryStat { version, entries })
    }

    /// Builds a stat from entries (for the in-memory backend and tests).
    pub fn from_entries(version: CgroupVersion, entries: Vec<(String, u64)>) -> Self {
        MemoryStat { version, entries }
    }

    /// The value of `key`, as the kernel names it (`rss`, `anon`, ...).
    pub fn get(&self, key: &str) -> Option<u64> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// Inactive file bytes of the cgroup and its descendants, the working-set
    /// input: v1 `total_inactive_file`, v2 `inactive_file`.
    pub fn inactive_file(&self) -> Option<u64> {
        self.get(inactive_file_key(self.version))
    }

    /// Anonymous memory of the cgroup and its descendants: v1 `total_rss`, v2 `anon`.
    pub fn anon(&self) -> Option<u64> {
        match self.version {
            CgroupVersion::V1 => self.get("total_rss"),
            _ => self.get("anon"),
        }
    }

    /// All entries in file order.
    pub fn entries(&self) -> &[(String, u64)] {
        &self.entries
    }

    /// The hierarchy version the stat was read from.
    pub fn version(&self) -> CgroupVersion {
        self.version
    }
}

/// The `memory.stat` key of hierarchical inactive file bytes.
pub fn inactive_file_key(version: CgroupVersion) -> &'static str {
    match version {
        CgroupVersion::V1 => "total_inactive_file",
        _ => "inactive_file",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_keys_per_version() {
        let v1 = MemoryStat::parse(
            CgroupVersion::V1,
            "inactive_file 1\nrss 2\ntotal_rss 5\ntotal_inactive_file 9\n",
        )
        .unwrap();
        assert_eq!(v1.inactive_file(), Some(9));
        assert_eq!(v1.anon(), Some(5));
        assert_eq!(v1.get("rss"), Some(2));
        let v2 = MemoryStat::parse(CgroupVersion::V2, "anon 3\ninactive_file 4\n").unwrap();
        assert_eq!(v2.inactive_file(), Some(4));
        assert_eq!(v2.anon(), Some(3));
        assert_eq!(v2.get("missing"), None);
        assert_eq!(v2.entries().len(), 2);
        assert!(MemoryStat::parse(CgroupVersion::V2, "anon x\n").is_err());
    }

    #[test]
    fn stat_entries_are_capped() {
        let text: String = (0..2000).map(|i| format!("k{i} {i}\n")).collect();
        let s = MemoryStat::parse(CgroupVersion::V2, &text).unwrap();
        assert_eq!(s.entries().len(), MAX_STAT_ENTRIES);
    }
}
