//! The audit-log line (SPEC §6): one JSON object per decision, written by
//! `cgact` for real adjustments and by `cgsim replay --log` with simulated
//! times. The keys `oom_cgroup`, `added_memory`, `adjusted_cgroups[].name`
//! and `adjusted_cgroups[].reduced_memory` are the seed schema and never
//! change meaning.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where the memory given to the OOM cgroup came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// From the global cgroup's headroom only.
    Global,
    /// From donor cgroups only.
    Donors,
    /// From both.
    Mixed,
    /// Nothing was given.
    None,
}

/// How a decision ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The cgroup got all it needed.
    Resolved,
    /// The cgroup got less than it needed.
    Partial,
    /// Nothing could be found in time: the kernel was let to kill.
    FallbackKill,
    /// `--dry-run`: the plan was logged, nothing was written.
    DryRun,
}

/// One donor's contribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjusted {
    /// The donor cgroup.
    pub name: String,
    /// Bytes taken from its limit.
    pub reduced_memory: u64,
}

/// One audit-log line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditLine {
    /// RFC 3339 time with microseconds, UTC (`2026-11-28T12:00:00.123456Z`).
    pub time: String,
    /// The cgroup that had the OOM (or crossed the preempt threshold).
    pub oom_cgroup: String,
    /// Bytes added to its limit.
    pub added_memory: u64,
    /// Donors and what each gave.
    pub adjusted_cgroups: Vec<Adjusted>,
    /// Where the memory came from.
    pub source: Source,
    /// How the decision ended.
    pub outcome: Outcome,
    /// The algorithm's name.
    pub algo: String,
    /// `react`, `rescue` or `preempt`.
    pub mode: String,
    /// Microseconds from the event's wake-up to the last limit write.
    pub latency_us: u64,
    /// Limits of every cgroup touched, before.
    pub limits_before: BTreeMap<String, u64>,
    /// Limits of every cgroup touched, after.
    pub limits_after: BTreeMap<String, u64>,
}

impl AuditLine {
    /// The line as one line of JSON, without the trailing newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an audit line always serializes")
    }
}

/// Formats nanoseconds since the Unix epoch as RFC 3339 UTC with
/// microseconds, as the audit log writes times.
pub fn format_time_us(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let micros = (ns % 1_000_000_000) / 1_000;
    let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
    let sod = secs % 86_400;
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

/// Converts days since 1970-01-01 to a (year, month, day) civil date
/// (Howard Hinnant's algorithm, exact for the proleptic Gregorian calendar).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times_like_the_spec() {
        // 2026-11-28T12:00:00.123456Z
        let ns = 1_795_867_200_123_456_789u64;
        assert_eq!(format_time_us(ns), "2026-11-28T12:00:00.123456Z");
        assert_eq!(format_time_us(0), "1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn serializes_the_seed_keys() {
        let line = AuditLine {
            time: format_time_us(0),
            oom_cgroup: "/apps/web".into(),
            added_memory: 33_554_432,
            adjusted_cgroups: vec![Adjusted {
                name: "/apps/batch".into(),
                reduced_memory: 33_554_432,
            }],
            source: Source::Donors,
            outcome: Outcome::Resolved,
            algo: "proportional".into(),
            mode: "rescue".into(),
            latency_us: 85,
            limits_before: BTreeMap::new(),
            limits_after: BTreeMap::new(),
        };
        let v: serde_json::Value = serde_json::from_str(&line.to_json()).unwrap();
        assert_eq!(v["oom_cgroup"], "/apps/web");
        assert_eq!(v["adjusted_cgroups"][0]["reduced_memory"], 33_554_432);
        assert_eq!(v["source"], "donors");
        assert_eq!(v["outcome"], "resolved");
    }
}
