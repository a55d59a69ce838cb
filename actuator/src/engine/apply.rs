//! Applying a checked plan to the live tree.
