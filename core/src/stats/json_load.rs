//! Reads and validates a stats file (SPEC §4), as `cgact --stats` and
//! `cgsim --stats` take it.
//!
//! The file is a JSON object mapping cgroup names to objects with exactly
//! the keys `min_consumption`, `max_consumption`, `median_consumption` and
//! any number of `pNN_consumption` (NN a percentile in (0, 100] written in its
//! shortest form: `p90`, `p99.9`). Every value is an integer byte count in
//! `0..=2^64-1`; floats (`1.0`, `1e3`), negatives, strings and larger numbers
//! are refused. `min ≤ median ≤ max`, every percentile lies in `min..=max`
//! and percentiles do not decrease. A cgroup named twice, or a key given
//! twice, is an error (JSON parsers usually keep the last silently). Files
//! larger than [`MAX_STATS_FILE_LEN`] are refused before parsing.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{Percentile, Phase1, StatsFile};
use crate::name::{CgroupName, NameError};

/// Largest stats file accepted: 64 MiB (about 400,000 cgroups with three percentiles).
pub const MAX_STATS_FILE_LEN: usize = 64 << 20;

const MIN_KEY: &str = "min_consumption";
const MAX_KEY: &str = "max_consumption";
const MEDIAN_KEY: &str = "median_consumption";

/// Why a stats file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatsFileError {
    /// The text is longer than [`MAX_STATS_FILE_LEN`].
    #[error("stats file is {len} bytes, more than the {max} accepted")]
    TooLarge {
        /// Length of the text.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The text is not JSON.
    #[error("stats file is not valid JSON at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser found wrong.
        message: String,
    },
    /// The top-level value is not an object.
    #[error("stats file must be a JSON object mapping cgroup names to statistics, found {found}")]
    NotAnObject {
        /// What it is instead.
        found: String,
    },
    /// A top-level key is not a valid cgroup name.
    #[error("stats file names {name:?}, which is not a valid cgroup name: {source}")]
    BadName {
        /// The key.
        name: String,
        /// Why it is not a name.
        source: NameError,
    },
    /// A cgroup lies outside the managed root.
    #[error("stats file names cgroup {name:?}, which is not inside the root {root:?}")]
    OutsideRoot {
        /// The cgroup.
        name: String,
        /// The root.
        root: String,
    },
    /// A cgroup is named twice.
    #[error("stats file names cgroup {name:?} twice")]
    DuplicateCgroup {
        /// The cgroup.
        name: String,
    },
    /// A cgroup's value is not an object.
    #[error("cgroup {cgroup:?}: its statistics must be a JSON object, found {found}")]
    EntryNotAnObject {
        /// The cgroup.
        cgroup: String,
        /// What it is instead.
        found: String,
    },
    /// A key that is not one of the stats keys.
    #[error(
        "cgroup {cgroup:?}: unknown key {key:?} (expected min_consumption, max_consumption, \
         median_consumption or pNN_consumption)"
    )]
    UnknownKey {
        /// The cgroup.
        cgroup: String,
        /// The key.
        key: String,
    },
    /// A `p…_consumption` key whose percentile is invalid or not in its shortest form.
    #[error("cgroup {cgroup:?}: key {key:?}: {reason}")]
    BadPercentileKey {
        /// The cgroup.
        cgroup: String,
        /// The key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A key given twice for one cgroup.
    #[error("cgroup {cgroup:?}: key {key:?} appears twice")]
    DuplicateKey {
        /// The cgroup.
        cgroup: String,
        /// The key.
        key: String,
    },
    /// A required key is absent.
    #[error("cgroup {cgroup:?}: key {key:?} is missing")]
    MissingKey {
        /// The cgroup.
        cgroup: String,
        /// The key.
        key: String,
    },
    /// A value is not an integer in `0..=2^64-1`.
    #[error("cgroup {cgroup:?}: key {key:?} must be an integer in 0..=18446744073709551615, found {found}")]
    NotAnInteger {
        /// The cgroup.
        cgroup: String,
        /// The key.
        key: String,
        /// What the value is instead.
        found: String,
    },
    /// Two values are in the wrong order (`min > median`, a percentile above `max`...).
    #[error("cgroup {cgroup:?}: {low_key:?} ({low}) is greater than {high_key:?} ({high})")]
    OrderViolated {
        /// The cgroup.
        cgroup: String,
        /// The key that should be the smaller.
        low_key: String,
        /// Its value.
        low: u64,
        /// The key that should be the larger.
        high_key: String,
        /// Its value.
        high: u64,
    },
}

/// Parses and validates a stats file; every cgroup must lie within `root`
/// (or be `root`).
pub fn load_stats_json(text: &str, root: &CgroupName) -> Result<StatsFile, StatsFileError> {
    if text.len() > MAX_STATS_FILE_LEN {
        return Err(StatsFileError::TooLarge {
            len: text.len(),
            max: MAX_STATS_FILE_LEN,
        });
    }
    let top: Node = serde_json::from_str(text).map_err(syntax_error)?;
    let Node::Object(entries) = top else {
        return Err(StatsFileError::NotAnObject {
            found: top.describe(),
        });
    };
    let mut records = BTreeMap::new();
    for (key, value) in entries {
        let name = CgroupName::parse(&key).map_err(|source| StatsFileError::BadName {
            name: key.clone(),
            source,
        })?;
        if !name.is_within(root) {
            return Err(StatsFileError::OutsideRoot {
                name: key,
                root: root.to_string(),
            });
        }
        if records.contains_key(&name) {
            return Err(StatsFileError::DuplicateCgroup { name: key });
        }
        let record = phase1_record(&key, value)?;
        records.insert(name, record);
    }
    Ok(StatsFile::new(records))
}

fn syntax_error(e: serde_json::Error) -> StatsFileError {
    let (line, column) = (e.line(), e.column());
    let full = e.to_string();
    let message = full
        .strip_suffix(&format!(" at line {line} column {column}"))
        .unwrap_or(&full)
        .to_string();
    StatsFileError::Syntax {
        line,
        column,
        message,
    }
}

/// Validates one cgroup's object.
fn phase1_record(cgroup: &str, value: Node) -> Result<Phase1, StatsFileError> {
    let Node::Object(fields) = value else {
        return Err(StatsFileError::EntryNotAnObject {
            cgroup: cgroup.to_string(),
            found: value.describe(),
        });
    };
    let (mut min, mut max, mut median) = (None, None, None);
    let mut percentiles: BTreeMap<Percentile, u64> = BTreeMap::new();
    let mut seen_keys: Vec<&str> = Vec::with_capacity(fields.len());
    for (key, value) in &fields {
        if seen_keys.contains(&key.as_str()) {
            return Err(StatsFileError::DuplicateKey {
                cgroup: cgroup.to_string(),
                key: key.clone(),
            });
        }
        seen_keys.push(key);
        let slot = match key.as_str() {
            MIN_KEY => &mut min,
            MAX_KEY => &mut max,
            MEDIAN_KEY => &mut median,
            _ => {
                let p = percentile_of_key(cgroup, key)?;
                percentiles.insert(p, integer(cgroup, key, value)?);
                continue;
            }
        };
        *slot = Some(integer(cgroup, key, value)?);
    }
    let require = |v: Option<u64>, key: &str| {
        v.ok_or_else(|| StatsFileError::MissingKey {
            cgroup: cgroup.to_string(),
            key: key.to_string(),
        })
    };
    let record = Phase1 {
        min: require(min, MIN_KEY)?,
        max: require(max, MAX_KEY)?,
        median: require(median, MEDIAN_KEY)?,
        percentiles,
    };
    check_order(cgroup, &record)?;
    Ok(record)
}

/// The percentile of a `pNN_consumption` key, which must be in its shortest form.
fn percentile_of_key(cgroup: &str, key: &str) -> Result<Percentile, StatsFileError> {
    let Some(number) = key
        .strip_prefix('p')
        .and_then(|k| k.strip_suffix("_consumption"))
    else {
        return Err(StatsFileError::UnknownKey {
            cgroup: cgroup.to_string(),
            key: key.to_string(),
        });
    };
    let bad = |reason: String| StatsFileError::BadPercentileKey {
        cgroup: cgroup.to_string(),
        key: key.to_string(),
        reason,
    };
    let p = Percentile::parse(number).map_err(|e| bad(e.to_string()))?;
    if p.json_key() != key {
        return Err(bad(format!("write it as {:?}", p.json_key())));
    }
    Ok(p)
}

/// Checks min ≤ median ≤ max, min ≤ each percentile ≤ max, and percentiles not decreasing.
fn check_order(cgroup: &str, r: &Phase1) -> Result<(), StatsFileError> {
    let mut chain: Vec<(String, u64)> = vec![(MIN_KEY.to_string(), r.min)];
    chain.extend(r.percentiles.iter().map(|(p, &v)| (p.json_key(), v)));
    chain.push((MAX_KEY.to_string(), r.max));
    let median_chain = [
        (MIN_KEY.to_string(), r.min),
        (MEDIAN_KEY.to_string(), r.median),
        (MAX_KEY.to_string(), r.max),
    ];
    for pair in median_chain.windows(2).chain(chain.windows(2)) {
        let [(low_key, low), (high_key, high)] = pair else {
            continue;
        };
        if low > high {
            return Err(StatsFileError::OrderViolated {
                cgroup: cgroup.to_string(),
                low_key: low_key.clone(),
                low: *low,
                high_key: high_key.clone(),
                high: *high,
            });
        }
    }
    Ok(())
}

/// The value as a byte count.
fn integer(cgroup: &str, key: &str, value: &Node) -> Result<u64, StatsFileError> {
    match value {
        Node::Unsigned(v) => Ok(*v),
        other => Err(StatsFileError::NotAnInteger {
            cgroup: cgroup.to_string(),
            key: key.to_string(),
            found: other.describe(),
        }),
    }
}

/// A JSON value that keeps an object's keys in order, duplicates included.
#[derive(Debug)]
enum Node {
    Null,
    Bool(bool),
    Unsigned(u64),
    Negative(i64),
    Float(f64),
    Str(String),
    Array,
    Object(Vec<(String, Node)>),
}

impl Node {
    /// What the value is, for an error message.
    fn describe(&self) -> String {
        match self {
            Node::Null => "null".to_string(),
            Node::Bool(b) => format!("the boolean {b}"),
            Node::Unsigned(v) => format!("the number {v}"),
            Node::Negative(v) => format!("the negative number {v}"),
            Node::Float(f) if f.fract() == 0.0 && *f >= 18446744073709551616.0 => {
                format!("a number too large for 64 bits ({f:e})")
            }
            Node::Float(f) if f.fract() == 0.0 && *f <= -9223372036854775809.0 => {
                format!("the negative number {f:e}")
            }
            Node::Float(f) if f.fract() == 0.0 => {
                format!("the number {f} written with a fraction or an exponent")
            }
            Node::Float(f) => format!("the fractional number {f}"),
            Node::Str(s) => format!("the string {s:?}"),
            Node::Array => "an array".to_string(),
            Node::Object(_) => "an object".to_string(),
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Unsigned(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(match u64::try_from(v) {
            Ok(u) => Node::Unsigned(u),
            Err(_) => Node::Negative(v),
        })
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Node::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Node::Object(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> CgroupName {
        CgroupName::root()
    }

    fn load(text: &str) -> Result<StatsFile, StatsFileError> {
        load_stats_json(text, &root())
    }

    fn entry(body: &str) -> Result<StatsFile, StatsFileError> {
        load(&format!("{{\"/a\": {body}}}"))
    }

    const OK: &str = r#"{"min_consumption": 1, "max_consumption": 9, "median_consumption": 5"#;

    #[test]
    fn loads_a_valid_file_with_percentiles() {
        let text = "{\n  \"/\": {\"min_consumption\": 0, \"max_consumption\": 18446744073709551615, \"median_consumption\": 0},\n  \"/apps/web\": {\"min_consumption\": 52428800, \"max_consumption\": 157286400, \"median_consumption\": 104857600, \"p90_consumption\": 150000000, \"p99.9_consumption\": 157286400}\n}\n";
        let f = load(text).unwrap();
        assert_eq!(f.len(), 2);
        let web = f.get(&CgroupName::parse("/apps/web").unwrap()).unwrap();
        assert_eq!(
            (web.min, web.median, web.max),
            (52428800, 104857600, 157286400)
        );
        assert_eq!(
            web.percentile(Percentile::whole(90).unwrap()),
            Some(150000000)
        );
        assert_eq!(
            web.percentile(Percentile::parse("99.9").unwrap()),
            Some(157286400)
        );
        assert_eq!(web.percentile(Percentile::whole(99).unwrap()), None);
        assert_eq!(f.get(&CgroupName::root()).unwrap().max, u64::MAX);
        // Written back in the same layout, byte for byte.
        assert_eq!(super::super::stats_file_to_json(&f), text);
        assert!(load("{}").unwrap().is_empty());
    }

    #[test]
    fn refuses_oversized_input_before_parsing() {
        let big = " ".repeat(MAX_STATS_FILE_LEN + 1);
        assert!(matches!(load(&big), Err(StatsFileError::TooLarge { .. })));
    }

    #[test]
    fn reports_syntax_errors_with_position() {
        let err = load("{\n  \"/a\": {\"min_consumption\": 1,,}\n}").unwrap_err();
        let StatsFileError::Syntax {
            line,
            column,
            message,
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!((*line, *column), (2, 31));
        assert!(!message.contains("at line"), "{message}");
        assert!(err.to_string().contains("line 2, column 31"), "{err}");
        assert!(matches!(load(""), Err(StatsFileError::Syntax { .. })));
        assert!(matches!(load("{} x"), Err(StatsFileError::Syntax { .. })));
        // Deep nesting is refused without exhausting the stack.
        let deep = format!("{}{}", "{\"/a\":".repeat(10_000), "}".repeat(10_000));
        assert!(matches!(load(&deep), Err(StatsFileError::Syntax { .. })));
        let deep = format!("{{\"/a\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(matches!(
            load(&deep),
            Err(StatsFileError::EntryNotAnObject { .. })
        ));
    }

    #[test]
    fn refuses_a_top_level_that_is_not_an_object() {
        for (text, found) in [("[]", "an array"), ("3", "the number 3"), ("null", "null")] {
            assert_eq!(
                load(text),
                Err(StatsFileError::NotAnObject {
                    found: found.to_string()
                })
            );
        }
    }

    #[test]
    fn refuses_bad_and_outside_names() {
        let err = load(&format!("{{\"apps\": {OK}}}}}")).unwrap_err();
        assert!(matches!(&err, StatsFileError::BadName { name, .. } if name == "apps"));
        assert!(err.to_string().contains("\"apps\""), "{err}");
        assert!(matches!(
            load(&format!("{{\"/a/../b\": {OK}}}}}")),
            Err(StatsFileError::BadName { .. })
        ));
        let apps = CgroupName::parse("/apps").unwrap();
        let err = load_stats_json(&format!("{{\"/appsx/web\": {OK}}}}}"), &apps).unwrap_err();
        assert_eq!(
            err,
            StatsFileError::OutsideRoot {
                name: "/appsx/web".into(),
                root: "/apps".into()
            }
        );
        assert!(load_stats_json(&format!("{{\"/apps\": {OK}}}}}"), &apps).is_ok());
    }

    #[test]
    fn refuses_duplicate_cgroups_and_keys() {
        assert_eq!(
            load(&format!("{{\"/a\": {OK}}}, \"/a\": {OK}}}}}")),
            Err(StatsFileError::DuplicateCgroup { name: "/a".into() })
        );
        assert_eq!(
            entry(&format!("{OK}, \"min_consumption\": 1}}")),
            Err(StatsFileError::DuplicateKey {
                cgroup: "/a".into(),
                key: "min_consumption".into()
            })
        );
    }

    #[test]
    fn refuses_unknown_missing_and_bad_percentile_keys() {
        assert_eq!(
            entry(&format!("{OK}, \"mean_consumption\": 1}}")),
            Err(StatsFileError::UnknownKey {
                cgroup: "/a".into(),
                key: "mean_consumption".into()
            })
        );
        assert_eq!(
            entry(r#"{"min_consumption": 1, "max_consumption": 9}"#),
            Err(StatsFileError::MissingKey {
                cgroup: "/a".into(),
                key: "median_consumption".into()
            })
        );
        for (key, why) in [
            ("p0_consumption", "outside"),
            ("p101_consumption", "outside"),
            ("pxx_consumption", "not a decimal"),
            ("p90.0_consumption", "write it as \"p90_consumption\""),
        ] {
            let err = entry(&format!("{OK}, \"{key}\": 5}}")).unwrap_err();
            assert!(
                matches!(&err, StatsFileError::BadPercentileKey { cgroup, key: k, reason }
                    if cgroup == "/a" && k == key && reason.contains(why)),
                "{key}: {err:?}"
            );
        }
        assert!(matches!(
            entry(
                r#"{"min_consumption": 1, "max_consumption": 9, "median_consumption": 5, "p_consumption": 5}"#
            ),
            Err(StatsFileError::BadPercentileKey { .. })
        ));
    }

    #[test]
    fn refuses_values_that_are_not_u64_integers() {
        for (value, found) in [
            ("1.5", "the fractional number 1.5"),
            ("5.0", "the number 5 written with a fraction or an exponent"),
            (
                "1e3",
                "the number 1000 written with a fraction or an exponent",
            ),
            ("-1", "the negative number -1"),
            ("\"5\"", "the string \"5\""),
            ("null", "null"),
            ("true", "the boolean true"),
            ("[5]", "an array"),
            ("{}", "an object"),
            (
                "18446744073709551616",
                "a number too large for 64 bits (1.8446744073709552e19)",
            ),
            ("-99999999999999999999", "the negative number -1e20"),
        ] {
            let err = entry(&format!(
                r#"{{"min_consumption": 1, "max_consumption": 9, "median_consumption": {value}}}"#
            ))
            .unwrap_err();
            assert_eq!(
                err,
                StatsFileError::NotAnInteger {
                    cgroup: "/a".into(),
                    key: "median_consumption".into(),
                    found: found.into()
                },
                "{value}"
            );
            assert!(err.to_string().contains("\"/a\""), "{err}");
        }
    }

    #[test]
    fn refuses_entries_that_are_not_objects() {
        assert_eq!(
            entry("5"),
            Err(StatsFileError::EntryNotAnObject {
                cgroup: "/a".into(),
                found: "the number 5".into()
            })
        );
    }

    #[test]
    fn refuses_values_out_of_order() {
        let order = |min: u64, median: u64, max: u64, extra: &str| {
            entry(&format!(
                r#"{{"min_consumption": {min}, "max_consumption": {max}, "median_consumption": {median}{extra}}}"#
            ))
        };
        assert!(order(5, 5, 5, "").is_ok());
        let violated = |low_key: &str, low: u64, high_key: &str, high: u64| {
            Err(StatsFileError::OrderViolated {
                cgroup: "/a".into(),
                low_key: low_key.into(),
                low,
                high_key: high_key.into(),
                high,
            })
        };
        assert_eq!(
            order(6, 5, 9, ""),
            violated("min_consumption", 6, "median_consumption", 5)
        );
        assert_eq!(
            order(1, 10, 9, ""),
            violated("median_consumption", 10, "max_consumption", 9)
        );
        assert_eq!(
            order(1, 5, 9, r#", "p90_consumption": 10"#),
            violated("p90_consumption", 10, "max_consumption", 9)
        );
        assert_eq!(
            order(2, 5, 9, r#", "p10_consumption": 1"#),
            violated("min_consumption", 2, "p10_consumption", 1)
        );
        assert_eq!(
            order(1, 5, 9, r#", "p99_consumption": 6, "p90_consumption": 7"#),
            violated("p90_consumption", 7, "p99_consumption", 6)
        );
        let err = order(6, 5, 9, "").unwrap_err().to_string();
        assert_eq!(
            err,
            "cgroup \"/a\": \"min_consumption\" (6) is greater than \"median_consumption\" (5)"
        );
    }
}
