//! [`TraceSummary`]: what `cgrec inspect` reports, gathered from a trace's
//! chunks and damage reports in one streaming pass (memory bounded by the
//! number of cgroups and of damaged chunks).

use std::collections::BTreeMap;

use cgcal_core::name::CgroupName;
use cgcal_core::trace::{CgroupId, Chunk, Damage, EventKind};

/// One cgroup's part of a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupSummary {
    /// Its name.
    pub name: CgroupName,
    /// First appearance (from its definition).
    pub first_seen_ns: u64,
    /// Time of its latest sample or event (its first appearance when none).
    pub last_seen_ns: u64,
    /// Samples in readable chunks.
    pub samples: u64,
    /// Events in readable chunks.
    pub events: u64,
}

/// Counts and health of a whole trace.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TraceSummary {
    /// Cgroups by id.
    pub cgroups: BTreeMap<CgroupId, CgroupSummary>,
    /// Samples in readable chunks.
    pub samples: u64,
    /// Events by kind name (`oom`, `oom_kill`, `limit`, ...).
    pub events: BTreeMap<&'static str, u64>,
    /// First and last sample time, when there is a sample.
    pub sample_span: Option<(u64, u64)>,
    /// Chunks read intact.
    pub chunks_ok: u64,
    /// Damage reports, in file order.
    pub damage: Vec<Damage>,
}

/// The name `cgrec export --format jsonl` gives an event kind.
pub fn event_kind_name(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::Oom { .. } => "oom",
        EventKind::OomKill { .. } => "oom_kill",
        EventKind::UnderOomStart => "under_oom_start",
        EventKind::UnderOomEnd => "under_oom_end",
        EventKind::LimitChange { .. } => "limit",
        EventKind::Created => "created",
        EventKind::Removed => "removed",
    }
}

/// A span of nanoseconds as `1h 2m 3.456s`, `2m 0.000s` or `0.250s`
/// (milliseconds, truncated).
pub fn human_duration(ns: u64) -> String {
    let ms = ns / 1_000_000;
    let (h, m, s, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    match (h, m) {
        (0, 0) => format!("{s}.{milli:03}s"),
        (0, _) => format!("{m}m {s}.{milli:03}s"),
        _ => format!("{h}h {m}m {s}.{milli:03}s"),
    }
}

impl TraceSummary {
    /// Adds an intact chunk.
    pub fn add_chunk(&mut self, c: &Chunk) {
        self.chunks_ok += 1;
        for d in &c.defs {
            self.cgroups.insert(
                d.id,
                CgroupSummary {
                    name: d.name.clone(),
                    first_seen_ns: d.first_seen_ns,
                    last_seen_ns: d.first_seen_ns,
                    samples: 0,
                    events: 0,
                },
            );
        }
        for s in &c.samples {
            self.samples += 1;
            self.sample_span = Some(match self.sample_span {
                None => (s.time_ns, s.time_ns),
                Some((a, b)) => (a.min(s.time_ns), b.max(s.time_ns)),
            });
            if let Some(g) = self.cgroups.get_mut(&s.cgroup) {
                g.samples += 1;
                g.last_seen_ns = g.last_seen_ns.max(s.time_ns);
            }
        }
        for e in &c.events {
            *self.events.entry(event_kind_name(&e.kind)).or_default() += 1;
            if let Some(g) = self.cgroups.get_mut(&e.cgroup) {
                g.events += 1;
                g.last_seen_ns = g.last_seen_ns.max(e.time_ns);
            }
        }
    }

    /// Adds a damage report.
    pub fn add_damage(&mut self, d: Damage) {
        self.damage.push(d);
    }

    /// Events of every kind.
    pub fn event_total(&self) -> u64 {
        self.events.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cgcal_core::trace::{CgroupDef, Event, Sample};

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(19_000_233_147), "19.000s");
        assert_eq!(human_duration(250_000_000), "0.250s");
        assert_eq!(human_duration(3_723_004_000_000), "1h 2m 3.004s");
        assert_eq!(human_duration(120_000_000_000), "2m 0.000s");
    }

    #[test]
    fn counts_samples_events_and_spans() {
        let mut t = TraceSummary::default();
        let s = |time_ns, cgroup| Sample {
            time_ns,
            cgroup,
            usage: 1,
            limit: None,
            inactive_file: None,
            peak: None,
            failcnt: None,
        };
        let chunk = Chunk {
            offset: 0,
            len: 0,
            defs: vec![
                CgroupDef {
                    id: 0,
                    name: CgroupName::parse("/a").unwrap(),
                    first_seen_ns: 5,
                },
                CgroupDef {
                    id: 1,
                    name: CgroupName::parse("/b").unwrap(),
                    first_seen_ns: 6,
                },
            ],
            samples: vec![s(10, 0), s(20, 0), s(15, 1)],
            events: vec![Event {
                time_ns: 30,
                cgroup: 1,
                kind: EventKind::Removed,
            }],
        };
        t.add_chunk(&chunk);
        assert_eq!(
            (t.samples, t.event_total(), t.sample_span),
            (3, 1, Some((10, 20)))
        );
        assert_eq!(t.events["removed"], 1);
        assert_eq!(t.cgroups[&0].last_seen_ns, 20);
        assert_eq!((t.cgroups[&1].samples, t.cgroups[&1].last_seen_ns), (1, 30));
    }
}
