//! Each cgroup's limit the first time the engine saw it, for collateral
//! accounting (the policy's `original_limit`) and for a later restore. With
//! `--journal` they are also recorded there (see [`super::journal`]), so
//! the limits first seen by an earlier instance survive restarts.

use std::collections::BTreeMap;

use cgcal_core::name::CgroupName;

/// The remembered limits (`None`: unlimited when first seen).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginalLimits {
    limits: BTreeMap<CgroupName, Option<u64>>,
    unsaved: Vec<CgroupName>,
}

impl OriginalLimits {
    /// Limits loaded from the journal (they are saved already).
    pub fn from_saved(limits: BTreeMap<CgroupName, Option<u64>>) -> OriginalLimits {
        OriginalLimits {
            limits,
            unsaved: Vec::new(),
        }
    }

    /// Remembers `limit` as `name`'s original unless one is known; returns
    /// the original.
    pub fn see(&mut self, name: &CgroupName, limit: Option<u64>) -> Option<u64> {
        if let Some(known) = self.limits.get(name) {
            return *known;
        }
        self.limits.insert(name.clone(), limit);
        self.unsaved.push(name.clone());
        limit
    }

    /// The original limit of `name`, if seen (`Some(None)`: unlimited).
    pub fn get(&self, name: &CgroupName) -> Option<Option<u64>> {
        self.limits.get(name).copied()
    }

    /// Every remembered limit.
    pub fn all(&self) -> &BTreeMap<CgroupName, Option<u64>> {
        &self.limits
    }

    /// The limits first seen since the last call, to be saved.
    pub fn take_unsaved(&mut self) -> Vec<(CgroupName, Option<u64>)> {
        std::mem::take(&mut self.unsaved)
            .into_iter()
            .filter_map(|n| self.limits.get(&n).map(|l| (n, *l)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_limit_seen_wins() {
        let a = CgroupName::parse("/a").unwrap();
        let mut o = OriginalLimits::default();
        assert_eq!(o.see(&a, Some(10)), Some(10));
        assert_eq!(o.see(&a, Some(20)), Some(10));
        assert_eq!(o.take_unsaved(), vec![(a.clone(), Some(10))]);
        assert!(o.take_unsaved().is_empty());
        assert_eq!(o.get(&a), Some(Some(10)));
        let mut loaded = OriginalLimits::from_saved(o.all().clone());
        assert_eq!(loaded.see(&a, Some(30)), Some(10));
        assert!(loaded.take_unsaved().is_empty());
    }
}
