//! The write-ahead journal.

/// The `--journal` file.
pub struct Journal;

/// What [`crate::engine::Engine::recover`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery;

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("nothing")
    }
}
