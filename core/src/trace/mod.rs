//! The trace format: see `docs/trace-format.md` for the byte layout.
pub mod model;

pub use model::*;
