//! Property: any trace survives write → read unchanged.

use proptest::prelude::*;

use super::support::header;
use crate::name::CgroupName;
use crate::trace::*;

#[derive(Debug, Clone)]
enum Op {
    Sample {
        dt: u64,
        cg: usize,
        usage: u64,
        opt: [Option<u64>; 4],
    },
    Event {
        dt: u64,
        cg: usize,
        kind: EventKind,
    },
    Vanish {
        cg: usize,
    },
    Flush,
}

fn value() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(u64::MAX),
        Just(1u64 << 63),
        Just(i64::MAX as u64),
        any::<u64>(),
        (0u64..1 << 20).prop_map(|p| p * 4096),
    ]
}

fn opt() -> impl Strategy<Value = Option<u64>> {
    proptest::option::of(value())
}

fn kind() -> impl Strategy<Value = EventKind> {
    prop_oneof![
        (opt(), opt()).prop_map(|(usage, limit)| EventKind::Oom { usage, limit }),
        (opt(), opt()).prop_map(|(usage, limit)| EventKind::OomKill { usage, limit }),
        Just(EventKind::UnderOomStart),
        Just(EventKind::UnderOomEnd),
        (opt(), opt()).prop_map(|(old, new)| EventKind::LimitChange { old, new }),
        Just(EventKind::Created),
        Just(EventKind::Removed),
    ]
}

fn dt() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => Just(0u64),
        4 => 0u64..3_000_000_000,
        1 => any::<u64>().prop_map(|v| v >> 8),
        1 => Just(u64::MAX),
    ]
}

fn ops(cgroups: usize) -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        12 => (dt(), 0..cgroups, value(), [opt(), opt(), opt(), opt()])
            .prop_map(|(dt, cg, usage, opt)| Op::Sample { dt, cg, usage, opt }),
        3 => (dt(), 0..cgroups, kind()).prop_map(|(dt, cg, kind)| Op::Event { dt, cg, kind }),
        1 => (0..cgroups).prop_map(|cg| Op::Vanish { cg }),
        1 => Just(Op::Flush),
    ];
    proptest::collection::vec(op, 0..1500)
}

fn trace() -> impl Strategy<Value = (u64, Vec<Op>)> {
    let start = prop_oneof![Just(0u64), any::<u64>(), Just(u64::MAX - 10_000_000_000)];
    let cgroups = prop_oneof![1usize..8, 8usize..=1000];
    (start, cgroups.prop_flat_map(ops))
}

type Key = (
    u64,
    u32,
    u64,
    Option<u64>,
    Option<u64>,
    Option<u64>,
    Option<u64>,
);

fn key(s: &Sample) -> Key {
    (
        s.time_ns,
        s.cgroup,
        s.usage,
        s.limit,
        s.inactive_file,
        s.peak,
        s.failcnt,
    )
}

fn event_key(e: &Event) -> (u64, u32, String) {
    (e.time_ns, e.cgroup, format!("{:?}", e.kind))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_trace_round_trips((start, ops) in trace()) {
        let mut w = TraceWriter::new(Vec::new(), &header()).unwrap();
        let mut alive = std::collections::HashMap::new();
        let (mut samples, mut events) = (Vec::new(), Vec::new());
        let mut defs = Vec::new();
        let mut t = start;
        let mut defined = std::collections::HashMap::new();
        let mut ensure = |w: &mut TraceWriter<Vec<u8>>,
                          alive: &mut std::collections::HashMap<usize, CgroupId>,
                          cg: usize,
                          t: u64,
                          events: &mut Vec<Event>| {
            let name = CgroupName::parse(&format!("/pool-{}/cg-{cg}", cg % 7)).unwrap();
            let id = w.cgroup_id(&name, t);
            if defined.insert(cg, id).is_none() {
                defs.push(CgroupDef { id, name, first_seen_ns: t });
            }
            if alive.insert(cg, id).is_none() {
                let e = Event { time_ns: t, cgroup: id, kind: EventKind::Created };
                w.push_event(e).unwrap();
                events.push(e);
            }
            id
        };
        for op in ops {
            match op {
                Op::Sample { dt, cg, usage, opt } => {
                    t = t.saturating_add(dt);
                    let id = ensure(&mut w, &mut alive, cg, t, &mut events);
                    let s = Sample { time_ns: t, cgroup: id, usage, limit: opt[0], inactive_file: opt[1], peak: opt[2], failcnt: opt[3] };
                    w.push_sample(s).unwrap();
                    samples.push(s);
                }
                Op::Event { dt, cg, kind } => {
                    t = t.saturating_add(dt);
                    let id = ensure(&mut w, &mut alive, cg, t, &mut events);
                    let e = Event { time_ns: t, cgroup: id, kind };
                    w.push_event(e).unwrap();
                    events.push(e);
                }
                Op::Vanish { cg } => {
                    if let Some(id) = alive.remove(&cg) {
                        let e = Event { time_ns: t, cgroup: id, kind: EventKind::Removed };
                        w.push_event(e).unwrap();
                        events.push(e);
                    }
                }
                Op::Flush => w.flush_chunk().unwrap(),
            }
        }
        let bytes = w.finish().unwrap();

        let mut r = TraceReader::new(&bytes[..]).unwrap();
        prop_assert_eq!(r.header(), &header());
        let (mut got_s, mut got_e, mut got_d) = (Vec::new(), Vec::new(), Vec::new());
        while let Some(item) = r.next_item() {
            match item.unwrap() {
                ReadItem::Chunk(c) => {
                    prop_assert!(c.samples.is_sorted_by_key(|s| (s.time_ns, s.cgroup)));
                    prop_assert!(c.events.is_sorted_by_key(|e| (e.time_ns, e.cgroup)));
                    got_s.extend(c.samples);
                    got_e.extend(c.events);
                    got_d.extend(c.defs);
                }
                ReadItem::Damaged(d) => prop_assert!(false, "damage in a clean trace: {}", d),
            }
        }
        for d in &defs {
            prop_assert_eq!(r.cgroup_name(d.id), Some(&d.name));
        }
        prop_assert_eq!(r.cgroups().count(), defs.len());
        prop_assert_eq!(got_d, defs);
        samples.sort_by_key(key);
        got_s.sort_by_key(key);
        prop_assert_eq!(got_s, samples);
        events.sort_by_key(event_key);
        got_e.sort_by_key(event_key);
        prop_assert_eq!(got_e, events);
    }
}
