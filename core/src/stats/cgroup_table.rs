//! Maps the cgroup ids of a trace to dense slots `0..len`.
//!
//! Ids are assigned densely by the trace writer, so a direct-indexed table
//! serves them; an id far beyond the ones seen so far (a sparse or hostile
//! source) goes to a hash map instead, so memory stays proportional to the
//! number of distinct cgroups.

use std::collections::HashMap;

use crate::trace::CgroupId;

/// Ids below this are always direct-indexed.
const DIRECT_FLOOR: usize = 1 << 16;

/// Dense slot numbers for cgroup ids, in order of first insertion.
#[derive(Debug, Default)]
pub(crate) struct CgroupTable {
    /// `direct[id]` is the slot + 1, or 0 when the id has no slot.
    direct: Vec<u32>,
    /// Slots of ids too large for `direct`.
    sparse: HashMap<CgroupId, u32>,
    /// The id of each slot.
    ids: Vec<CgroupId>,
}

impl CgroupTable {
    /// The slot of `id`, if it has one.
    #[inline]
    pub(crate) fn slot(&self, id: CgroupId) -> Option<usize> {
        match self.direct.get(id as usize) {
            Some(&s) if s != 0 => Some(s as usize - 1),
            // A sparse id may lie below `direct.len()` once `direct` grew past it.
            _ if self.sparse.is_empty() => None,
            _ => self.sparse.get(&id).map(|&s| s as usize),
        }
    }

    /// The slot of `id`, given a new one (the next free) when it has none.
    #[inline]
    pub(crate) fn slot_or_insert(&mut self, id: CgroupId) -> usize {
        if let Some(slot) = self.slot(id) {
            return slot;
        }
        let slot = self.ids.len();
        self.ids.push(id);
        let index = id as usize;
        if index < self.direct.len() || index < DIRECT_FLOOR.max(8 * self.ids.len()) {
            if index >= self.direct.len() {
                self.direct.resize(index + 1, 0);
            }
            self.direct[index] = slot as u32 + 1;
        } else {
            self.sparse.insert(id, slot as u32);
        }
        slot
    }

    /// The id of `slot`.
    pub(crate) fn id(&self, slot: usize) -> CgroupId {
        self.ids[slot]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_sparse_ids_get_distinct_slots() {
        let mut t = CgroupTable::default();
        assert_eq!(t.slot(3), None);
        assert_eq!(t.slot_or_insert(3), 0);
        assert_eq!(t.slot_or_insert(0), 1);
        assert_eq!(t.slot_or_insert(u32::MAX), 2);
        assert_eq!(t.slot_or_insert(3), 0);
        assert_eq!(t.slot(u32::MAX), Some(2));
        assert_eq!(t.slot(u32::MAX - 1), None);
        assert_eq!(t.slot(1), None);
        assert_eq!(t.ids.len(), 3);
        assert_eq!(t.id(2), u32::MAX);
        assert!(t.direct.len() <= DIRECT_FLOOR);
        // A sparse id stays found after the direct table grows past it.
        let far = (DIRECT_FLOOR + 10) as u32;
        let mut t = CgroupTable::default();
        assert_eq!(t.slot_or_insert(far), 0);
        for id in 0..(DIRECT_FLOOR as u32 / 8 + 10) {
            t.slot_or_insert(id);
        }
        t.slot_or_insert(far + 1);
        assert_eq!(t.slot(far), Some(0));
    }
}
