//! The merged timeline: turns a trace's chunks (each sorted by time within
//! itself) into groups of samples and events sharing one time, in time
//! order, with memory bounded by one chunk plus the held-back last time.
//!
//! The last time of each chunk is held back until the next chunk arrives,
//! because a sweep of all cgroups may be split across a chunk boundary.
//! A record older than a time already emitted (a chunk written out of
//! order) is replayed late, at the latest emitted time, and counted.

use cgcal_core::trace::{Event, Sample};

/// Records sharing one time.
#[derive(Debug, Clone, Copy)]
pub struct Group<'a> {
    /// The time, nanoseconds since the Unix epoch.
    pub time_ns: u64,
    /// The samples at that time, by cgroup id.
    pub samples: &'a [Sample],
    /// The events at that time, by cgroup id.
    pub events: &'a [Event],
}

/// Merges chunks into time groups.
#[derive(Debug, Default)]
pub struct Timeline {
    samples: Vec<Sample>,
    events: Vec<Event>,
    emitted: Option<u64>,
    late: u64,
}

impl Timeline {
    /// An empty timeline.
    pub fn new() -> Timeline {
        Timeline::default()
    }

    /// Records replayed late because they were older than a time already
    /// emitted.
    pub fn late_records(&self) -> u64 {
        self.late
    }

    /// Adds a chunk's records (each list sorted by time) and emits every
    /// group older than the chunk's last time.
    pub fn push(&mut self, samples: &[Sample], events: &[Event], emit: &mut dyn FnMut(Group<'_>)) {
        let floor = self.emitted.unwrap_or(0);
        for s in samples {
            let mut s = *s;
            if s.time_ns < floor {
                s.time_ns = floor;
                self.late += 1;
            }
            self.samples.push(s);
        }
        for e in events {
            let mut e = *e;
            if e.time_ns < floor {
                e.time_ns = floor;
                self.late += 1;
            }
            self.events.push(e);
        }
        let by_time = |a: &Sample, b: &Sample| (a.time_ns, a.cgroup).cmp(&(b.time_ns, b.cgroup));
        if !self.samples.is_sorted_by(|a, b| by_time(a, b).is_le()) {
            self.samples.sort_by(by_time);
        }
        if !self.events.is_sorted_by_key(|e| (e.time_ns, e.cgroup)) {
            self.events.sort_by_key(|e| (e.time_ns, e.cgroup));
        }
        let last = self
            .samples
            .last()
            .map(|s| s.time_ns)
            .max(self.events.last().map(|e| e.time_ns));
        if let Some(last) = last {
            self.emit_before(Some(last), emit);
        }
    }

    /// Emits everything still held back.
    pub fn finish(&mut self, emit: &mut dyn FnMut(Group<'_>)) {
        self.emit_before(None, emit);
    }

    /// Emits the groups with a time below `end` (all of them for `None`)
    /// and keeps the rest.
    fn emit_before(&mut self, end: Option<u64>, emit: &mut dyn FnMut(Group<'_>)) {
        let (mut i, mut j) = (0, 0);
        let before = |t: u64| end.is_none_or(|end| t < end);
        let (ns, ne) = (
            self.samples.partition_point(|s| before(s.time_ns)),
            self.events.partition_point(|e| before(e.time_ns)),
        );
        while i < ns || j < ne {
            let t = match (self.samples[..ns].get(i), self.events[..ne].get(j)) {
                (Some(s), Some(e)) => s.time_ns.min(e.time_ns),
                (Some(s), None) => s.time_ns,
                (None, Some(e)) => e.time_ns,
                (None, None) => break,
            };
            let si = i + self.samples[i..ns].partition_point(|s| s.time_ns <= t);
            let ej = j + self.events[j..ne].partition_point(|e| e.time_ns <= t);
            emit(Group {
                time_ns: t,
                samples: &self.samples[i..si],
                events: &self.events[j..ej],
            });
            self.emitted = Some(t);
            i = si;
            j = ej;
        }
        self.samples.drain(..ns);
        self.events.drain(..ne);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cgcal_core::trace::EventKind;

    fn s(time_ns: u64, cgroup: u32) -> Sample {
        Sample {
            time_ns,
            cgroup,
            usage: 1,
            limit: None,
            inactive_file: None,
            peak: None,
            failcnt: None,
        }
    }

    fn groups(chunks: &[(Vec<Sample>, Vec<Event>)]) -> (Vec<(u64, Vec<u32>, usize)>, u64) {
        let mut out = Vec::new();
        let mut t = Timeline::new();
        let mut emit = |g: Group<'_>| {
            out.push((
                g.time_ns,
                g.samples.iter().map(|s| s.cgroup).collect(),
                g.events.len(),
            ))
        };
        for (samples, events) in chunks {
            t.push(samples, events, &mut emit);
        }
        t.finish(&mut emit);
        (out, t.late_records())
    }

    #[test]
    fn a_sweep_split_across_chunks_is_one_group() {
        let ev = Event {
            time_ns: 2,
            cgroup: 0,
            kind: EventKind::Created,
        };
        let (g, late) = groups(&[
            (vec![s(1, 0), s(1, 1), s(2, 0)], vec![]),
            (vec![s(2, 1), s(3, 0)], vec![ev]),
        ]);
        assert_eq!(
            g,
            vec![(1, vec![0, 1], 0), (2, vec![0, 1], 1), (3, vec![0], 0)]
        );
        assert_eq!(late, 0);
    }

    #[test]
    fn late_records_are_replayed_at_the_latest_time() {
        let (g, late) = groups(&[
            (vec![s(5, 0), s(6, 0)], vec![]),
            (vec![s(1, 1), s(7, 1)], vec![]),
        ]);
        assert_eq!(
            g,
            vec![
                (5, vec![0], 0),
                (5, vec![1], 0),
                (6, vec![0], 0),
                (7, vec![1], 0)
            ]
        );
        assert_eq!(late, 1);
    }
}
