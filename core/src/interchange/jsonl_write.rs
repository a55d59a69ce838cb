//! Writes samples and events as JSON lines, one object per line with every
//! field of the trace model (`null` for a field the kernel did not give).
//!
//! ```text
//! {"time_ns":1,"cgroup":"/a","kind":"sample","usage_bytes":4096,"limit_bytes":null,"inactive_file_bytes":0,"peak_bytes":8192,"failcnt":0}
//! {"time_ns":2,"cgroup":"/a","kind":"oom","usage_bytes":4096,"limit_bytes":4096}
//! {"time_ns":3,"cgroup":"/a","kind":"limit","old_limit_bytes":4096,"limit_bytes":null}
//! {"time_ns":4,"cgroup":"/a","kind":"removed"}
//! ```
//!
//! Event kinds: `oom`, `oom_kill` (usage_bytes, limit_bytes), `limit`
//! (old_limit_bytes, limit_bytes), `under_oom_start`, `under_oom_end`,
//! `created`, `removed`.

use super::csv_write::push_u64;
use crate::name::CgroupName;
use crate::trace::{Event, EventKind, Sample};

/// Appends the JSON line of a sample.
pub fn write_jsonl_sample(out: &mut Vec<u8>, cgroup: &CgroupName, s: &Sample) {
    start(out, s.time_ns, cgroup, "sample");
    field(out, "usage_bytes", Some(s.usage));
    field(out, "limit_bytes", s.limit);
    field(out, "inactive_file_bytes", s.inactive_file);
    field(out, "peak_bytes", s.peak);
    field(out, "failcnt", s.failcnt);
    out.extend_from_slice(b"}\n");
}

/// Appends the JSON line of an event.
pub fn write_jsonl_event(out: &mut Vec<u8>, cgroup: &CgroupName, e: &Event) {
    match e.kind {
        EventKind::Oom { usage, limit } | EventKind::OomKill { usage, limit } => {
            let kind = match e.kind {
                EventKind::Oom { .. } => "oom",
                _ => "oom_kill",
            };
            start(out, e.time_ns, cgroup, kind);
            field(out, "usage_bytes", usage);
            field(out, "limit_bytes", limit);
        }
        EventKind::LimitChange { old, new } => {
            start(out, e.time_ns, cgroup, "limit");
            field(out, "old_limit_bytes", old);
            field(out, "limit_bytes", new);
        }
        EventKind::UnderOomStart => start(out, e.time_ns, cgroup, "under_oom_start"),
        EventKind::UnderOomEnd => start(out, e.time_ns, cgroup, "under_oom_end"),
        EventKind::Created => start(out, e.time_ns, cgroup, "created"),
        EventKind::Removed => start(out, e.time_ns, cgroup, "removed"),
    }
    out.extend_from_slice(b"}\n");
}

fn start(out: &mut Vec<u8>, time_ns: u64, cgroup: &CgroupName, kind: &str) {
    out.extend_from_slice(b"{\"time_ns\":");
    push_u64(out, time_ns);
    out.extend_from_slice(b",\"cgroup\":");
    serde_json::to_writer(&mut *out, cgroup.as_str()).expect("writing to a Vec cannot fail");
    out.extend_from_slice(b",\"kind\":\"");
    out.extend_from_slice(kind.as_bytes());
    out.push(b'"');
}

fn field(out: &mut Vec<u8>, key: &str, value: Option<u64>) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
    match value {
        Some(v) => push_u64(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_json_with_every_field() {
        let name = CgroupName::parse("/a\"b").unwrap();
        let mut out = Vec::new();
        let s = Sample {
            time_ns: 1,
            cgroup: 0,
            usage: 4096,
            limit: None,
            inactive_file: Some(0),
            peak: Some(8192),
            failcnt: Some(0),
        };
        write_jsonl_sample(&mut out, &name, &s);
        let kinds = [
            EventKind::Oom {
                usage: Some(1),
                limit: None,
            },
            EventKind::OomKill {
                usage: None,
                limit: Some(2),
            },
            EventKind::LimitChange {
                old: Some(3),
                new: None,
            },
            EventKind::UnderOomStart,
            EventKind::UnderOomEnd,
            EventKind::Created,
            EventKind::Removed,
        ];
        for kind in kinds {
            write_jsonl_event(
                &mut out,
                &name,
                &Event {
                    time_ns: 2,
                    cgroup: 0,
                    kind,
                },
            );
        }
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 8);
        assert_eq!(lines[0]["cgroup"], "/a\"b");
        assert_eq!(lines[0]["peak_bytes"], 8192);
        assert!(lines[0]["limit_bytes"].is_null());
        assert_eq!(lines[3]["kind"], "limit");
        assert_eq!(lines[3]["old_limit_bytes"], 3);
        assert_eq!(lines[7]["kind"], "removed");
    }
}
