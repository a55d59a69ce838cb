//! Writes the stats file (SPEC §4): one line per cgroup, keys in the order
//! min, max, median, then the percentiles ascending.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{CgroupStats, Phase1, StatsFile};
use crate::name::CgroupName;

/// The stats file text of `stats`, exactly in the layout of SPEC §4:
/// `{`, one line `  "NAME": {"min_consumption": N, ...}` per cgroup (comma
/// after all but the last), `}` and a final newline; `{}` and a newline
/// when empty.
pub fn to_json(stats: &BTreeMap<CgroupName, CgroupStats>) -> String {
    write_lines(stats.iter().map(|(name, s)| (name, Phase1::from(s))))
}

/// The stats file text of a loaded [`StatsFile`], in the same layout as [`to_json`].
pub fn stats_file_to_json(file: &StatsFile) -> String {
    write_lines(file.records().iter().map(|(name, p)| (name, p.clone())))
}

fn write_lines<'a>(records: impl ExactSizeIterator<Item = (&'a CgroupName, Phase1)>) -> String {
    let total = records.len();
    if total == 0 {
        return "{}\n".to_string();
    }
    let mut out = String::from("{\n");
    for (index, (name, p)) in records.enumerate() {
        out.push_str("  ");
        push_json_string(&mut out, name.as_str());
        let _ = write!(
            out,
            ": {{\"min_consumption\": {}, \"max_consumption\": {}, \"median_consumption\": {}",
            p.min, p.max, p.median
        );
        for (percentile, value) in &p.percentiles {
            let _ = write!(out, ", \"{}\": {value}", percentile.json_key());
        }
        out.push('}');
        if index + 1 < total {
            out.push(',');
        }
        out.push('\n');
    }
    out.push_str("}\n");
    out
}

/// Appends `s` as a JSON string literal.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Percentile;

    fn stats(min: u64, max: u64, median: u64, percentiles: &[(&str, u64)]) -> CgroupStats {
        CgroupStats {
            min,
            max,
            median,
            samples: 3,
            percentiles: percentiles
                .iter()
                .map(|&(p, v)| (Percentile::parse(p).unwrap(), v))
                .collect(),
        }
    }

    fn name(s: &str) -> CgroupName {
        CgroupName::parse(s).unwrap()
    }

    #[test]
    fn empty_map_is_braces_and_newline() {
        assert_eq!(to_json(&BTreeMap::new()), "{}\n");
    }

    #[test]
    fn layout_matches_the_spec_exactly() {
        let mut m = BTreeMap::new();
        m.insert(
            name("/apps/web"),
            stats(52428800, 157286400, 104857600, &[]),
        );
        m.insert(name("/apps/db"), stats(1, 3, 2, &[]));
        assert_eq!(
            to_json(&m),
            "{\n  \"/apps/db\": {\"min_consumption\": 1, \"max_consumption\": 3, \"median_consumption\": 2},\n  \"/apps/web\": {\"min_consumption\": 52428800, \"max_consumption\": 157286400, \"median_consumption\": 104857600}\n}\n"
        );
    }

    #[test]
    fn percentiles_follow_the_median_ascending() {
        let mut m = BTreeMap::new();
        m.insert(name("/a"), stats(0, u64::MAX, 7, &[("90", 8), ("99.9", 9)]));
        assert_eq!(
            to_json(&m),
            "{\n  \"/a\": {\"min_consumption\": 0, \"max_consumption\": 18446744073709551615, \"median_consumption\": 7, \"p90_consumption\": 8, \"p99.9_consumption\": 9}\n}\n"
        );
    }

    #[test]
    fn names_are_escaped_and_the_output_is_valid_json() {
        let mut m = BTreeMap::new();
        let odd = name("/we\"ird\\name/é");
        m.insert(odd.clone(), stats(1, 1, 1, &[]));
        let text = to_json(&m);
        assert!(text.contains(r#""/we\"ird\\name/é""#), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v[odd.as_str()]["max_consumption"], 1);
        let mut s = String::new();
        push_json_string(&mut s, "a\u{1}\u{7f}\n");
        assert_eq!(s, r#""a\u0001\u007f\n""#);
    }
}
