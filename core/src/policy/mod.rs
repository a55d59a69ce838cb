//! Reallocation policies.
