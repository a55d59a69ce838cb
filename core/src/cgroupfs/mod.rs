//! Cgroup filesystem access: one trait, v1, v2 and in-memory backends.
