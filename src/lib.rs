//! The workspace root package of cgcal.
//!
//! It holds no runtime code: its `tests/` directory has the end-to-end tests
//! that run the three programs (`cgrec`, `cgsim`, `cgact`) against each other
//! and against live cgroups, and its `benches/` directory the criterion
//! benchmarks of the hot paths. See `ARCHITECTURE.md`.
#![deny(missing_docs)]
