//! Library of the binary.
