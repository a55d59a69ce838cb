//! Loading `--stats`.
