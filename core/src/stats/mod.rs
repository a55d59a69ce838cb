//! Phase 1 statistics.
