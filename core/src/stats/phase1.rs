//! The Phase 1 record of each cgroup, as the policies consume it, and the
//! stats file that holds one per cgroup.

use std::collections::BTreeMap;

use super::{CgroupStats, Percentile};
use crate::name::CgroupName;

/// One cgroup's Phase 1 consumption figures, in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Phase1 {
    /// Minimum consumption over the training window (the cgroup's floor).
    pub min: u64,
    /// Maximum consumption over the training window.
    pub max: u64,
    /// Median consumption over the training window.
    pub median: u64,
    /// Extra percentiles (nearest rank), by percentile.
    pub percentiles: BTreeMap<Percentile, u64>,
}

impl Phase1 {
    /// The value of percentile `p`, if the record has it.
    pub fn percentile(&self, p: Percentile) -> Option<u64> {
        self.percentiles.get(&p).copied()
    }
}

impl From<&CgroupStats> for Phase1 {
    fn from(s: &CgroupStats) -> Phase1 {
        Phase1 {
            min: s.min,
            max: s.max,
            median: s.median,
            percentiles: s.percentiles.iter().copied().collect(),
        }
    }
}

/// A stats file: the Phase 1 record of each cgroup, by name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatsFile {
    records: BTreeMap<CgroupName, Phase1>,
}

impl StatsFile {
    /// A stats file holding `records`.
    pub fn new(records: BTreeMap<CgroupName, Phase1>) -> StatsFile {
        StatsFile { records }
    }

    /// The record of `name`, if the file has one.
    pub fn get(&self, name: &CgroupName) -> Option<&Phase1> {
        self.records.get(name)
    }

    /// The records, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&CgroupName, &Phase1)> {
        self.records.iter()
    }

    /// Number of cgroups.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when the file names no cgroup.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The records as a map.
    pub fn records(&self) -> &BTreeMap<CgroupName, Phase1> {
        &self.records
    }

    /// The records as a map, by value.
    pub fn into_records(self) -> BTreeMap<CgroupName, Phase1> {
        self.records
    }
}

impl FromIterator<(CgroupName, Phase1)> for StatsFile {
    fn from_iter<I: IntoIterator<Item = (CgroupName, Phase1)>>(iter: I) -> Self {
        StatsFile::new(iter.into_iter().collect())
    }
}
