//! The cast of a replay: which cgroups of a trace are the global cgroup,
//! which are managed, and which only count towards the global usage.
//!
//! * The **global cgroup** is the trace's root (`header.root`).
//! * **Managed** cgroups are the *leaves* among the root's descendants that
//!   have samples: a sampled cgroup with no sampled descendant. Interior
//!   cgroups are not managed: their usage includes their children's, and
//!   their own limits are not simulated (only leaf limits are).
//! * **Top-level** cgroups (sampled, below the root, no sampled ancestor
//!   other than the root) partition the root's memory: when the root has no
//!   samples of its own, the global usage is the sum of their latest usages.
//! * Cgroups outside the root, or never sampled, play no part.

use std::collections::{BTreeMap, BTreeSet};

use cgcal_core::name::CgroupName;
use cgcal_core::trace::CgroupId;

/// What one trace cgroup is in the replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The global cgroup (the trace's root).
    Global,
    /// A managed leaf: its index among the managed cgroups.
    Managed {
        /// Index in [`Cast::managed`].
        index: usize,
        /// Whether its usage counts towards the global usage sum.
        top_level: bool,
    },
    /// A sampled interior cgroup below the root.
    Interior {
        /// Whether its usage counts towards the global usage sum.
        top_level: bool,
    },
    /// Outside the root or never sampled.
    Ignored,
}

/// The roles of a trace's cgroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cast {
    /// The global cgroup's name.
    pub global: CgroupName,
    /// Whether the global cgroup has samples of its own.
    pub global_sampled: bool,
    /// The managed cgroups, sorted by name.
    pub managed: Vec<CgroupName>,
    /// Role by trace cgroup id (ids past the end are [`Role::Ignored`]).
    roles: Vec<Role>,
}

impl Cast {
    /// Assigns roles from the names of the trace's cgroups and the set of
    /// ids that have samples.
    pub fn new(
        root: &CgroupName,
        names: &BTreeMap<CgroupId, CgroupName>,
        sampled: &BTreeSet<CgroupId>,
    ) -> Cast {
        let below: BTreeSet<&CgroupName> = sampled
            .iter()
            .filter_map(|id| names.get(id))
            .filter(|n| n.is_within(root) && *n != root)
            .collect();
        let mut has_sampled_child: BTreeSet<CgroupName> = BTreeSet::new();
        let mut has_sampled_ancestor: BTreeSet<&CgroupName> = BTreeSet::new();
        for name in &below {
            let mut up = name.parent();
            while let Some(p) = up {
                if &p == root || !p.is_within(root) {
                    break;
                }
                if below.contains(&p) {
                    has_sampled_ancestor.insert(name);
                }
                up = p.parent();
                has_sampled_child.insert(p);
            }
        }
        let managed: Vec<CgroupName> = below
            .iter()
            .filter(|n| !has_sampled_child.contains(**n))
            .map(|n| (*n).clone())
            .collect();
        let len = names.keys().next_back().map_or(0, |&id| id as usize + 1);
        let mut roles = vec![Role::Ignored; len];
        for (&id, name) in names {
            if !sampled.contains(&id) {
                continue;
            }
            let top_level = !has_sampled_ancestor.contains(name);
            roles[id as usize] = if name == root {
                Role::Global
            } else if !below.contains(name) {
                Role::Ignored
            } else if let Ok(index) = managed.binary_search(name) {
                Role::Managed { index, top_level }
            } else {
                Role::Interior { top_level }
            };
        }
        Cast {
            global: root.clone(),
            global_sampled: roles.contains(&Role::Global),
            managed,
            roles,
        }
    }

    /// The role of trace cgroup `id`.
    pub fn role(&self, id: CgroupId) -> Role {
        self.roles
            .get(id as usize)
            .copied()
            .unwrap_or(Role::Ignored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> CgroupName {
        CgroupName::parse(s).unwrap()
    }

    #[test]
    fn leaves_are_managed_and_top_levels_sum_to_global() {
        let names: BTreeMap<CgroupId, CgroupName> = [
            (0, "/apps"),
            (1, "/apps/web"),
            (2, "/apps/web/a"),
            (3, "/apps/batch"),
            (4, "/other"),
            (5, "/apps/idle"),
            (6, "/apps/x/deep"),
        ]
        .into_iter()
        .map(|(i, s)| (i, n(s)))
        .collect();
        let sampled: BTreeSet<CgroupId> = [0, 1, 2, 3, 4, 6].into_iter().collect();
        let cast = Cast::new(&n("/apps"), &names, &sampled);
        assert!(cast.global_sampled);
        assert_eq!(
            cast.managed,
            vec![n("/apps/batch"), n("/apps/web/a"), n("/apps/x/deep")]
        );
        assert_eq!(cast.role(0), Role::Global);
        assert_eq!(cast.role(1), Role::Interior { top_level: true });
        assert_eq!(
            cast.role(2),
            Role::Managed {
                index: 1,
                top_level: false
            }
        );
        assert_eq!(
            cast.role(3),
            Role::Managed {
                index: 0,
                top_level: true
            }
        );
        assert_eq!(cast.role(4), Role::Ignored);
        assert_eq!(cast.role(5), Role::Ignored);
        assert_eq!(
            cast.role(6),
            Role::Managed {
                index: 2,
                top_level: true
            }
        );
        assert_eq!(cast.role(99), Role::Ignored);
    }

    #[test]
    fn an_unsampled_root_is_not_global_sampled() {
        let names: BTreeMap<CgroupId, CgroupName> = [(0, n("/a")), (1, n("/b"))].into();
        let sampled: BTreeSet<CgroupId> = [0, 1].into();
        let cast = Cast::new(&CgroupName::root(), &names, &sampled);
        assert!(!cast.global_sampled);
        assert_eq!(cast.managed, vec![n("/a"), n("/b")]);
    }
}
