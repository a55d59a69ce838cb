//! Fuzz target: the command line's value parsers (`cgcal_core::parse`):
//! sizes, durations, times, percentiles, ratios and initial-limit rules,
//! each over the same arbitrary string. Every accepted value must format
//! back to a string that parses to the same value, and resolving a time
//! against any trace span must not overflow.
#![no_main]

use cgcal_core::parse::{
    format_duration, parse_duration, parse_fraction, parse_initial_limits, parse_percentiles,
    parse_size, parse_threshold, parse_time,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(size) = parse_size(s) {
        assert_eq!(parse_size(&size.to_string()), Ok(size), "size {s:?}");
    }
    if let Ok(ns) = parse_duration(s) {
        assert_eq!(
            parse_duration(&format_duration(ns)),
            Ok(ns),
            "duration {s:?}"
        );
    }
    if let Ok(t) = parse_time(s) {
        assert_eq!(parse_time(&t.to_string()), Ok(t), "time {s:?}");
        for (start, end) in [(0, 0), (0, u64::MAX), (u64::MAX, u64::MAX), (5, 3)] {
            let _ = t.resolve(start, end);
        }
    }
    if let Ok(ps) = parse_percentiles(s) {
        let text: Vec<String> = ps.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            parse_percentiles(&text.join(",")),
            Ok(ps),
            "percentiles {s:?}"
        );
    }
    if let Ok(r) = parse_threshold(s) {
        assert!(r > 0.0 && r <= 1.0, "threshold {s:?} gave {r}");
    }
    if let Ok(r) = parse_fraction(s) {
        assert!((0.0..=1.0).contains(&r), "fraction {s:?} gave {r}");
    }
    if let Ok(rule) = parse_initial_limits(s) {
        assert_eq!(
            parse_initial_limits(&rule.to_string()),
            Ok(rule),
            "initial limits {s:?}"
        );
    }
    for parsed in [
        parse_size(s).err(),
        parse_duration(s).err(),
        parse_time(s).err(),
        parse_percentiles(s).err(),
    ]
    .into_iter()
    .flatten()
    {
        let _ = parsed.to_string();
    }
});
