//! End-to-end tests across the programs.
