//! Whole-format tests: round trips, damage, limits, compactness.
mod compactness;
mod damage;
mod limits;
mod roundtrip;
mod support;
