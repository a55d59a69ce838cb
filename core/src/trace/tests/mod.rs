//! Whole-format tests: round trips, damage, limits, compactness.
mod compactness;
mod damage;
mod golden;
mod limits;
mod roundtrip;
mod support;
