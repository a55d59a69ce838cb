//! The write-ahead journal (`--journal FILE`, created 0600).
//!
//! Each line is `CRC JSON`: the CRC-32C of the JSON text in 8 hex digits, a
//! space, then one [`Record`]. Before the first limit write of a plan the
//! engine appends a `begin` record (the whole plan: target, every change
//! old → new) and `fdatasync`s it; after the last write, a `done` record
//! (also synced). A `begin` without its `done` is a plan a crashed
//! instance left half-applied: [`super::recovery`] finishes or rolls it
//! back at the next start.
//!
//! * A line that does not end in a newline, or whose CRC does not match, is
//!   torn (the instance died mid-write): ignored with a warning.
//! * `orig` records keep each cgroup's limit as first seen (for a later
//!   `cgact restore`), appended with the next `begin`.
//! * `done` records carry the audit line when the audit log could not be
//!   written, so the decision is kept somewhere durable.
//! * Size is bounded: once the file passes [`COMPACT_AT`] bytes after a
//!   `done`, it is rewritten (temporary file, fsync, rename) with only the
//!   `orig` records and the last [`MAX_UNLOGGED`] unlogged audit lines.
//!
//! The journal costs one `fdatasync` before the first write of each plan,
//! which counts in `latency_us`; without `--journal` there is none. A
//! journal that cannot be written (disk full) does not stop a plan: the
//! engine logs the error and applies it without crash recovery.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use cgcal_cli::UserError;
use cgcal_core::name::CgroupName;
use serde::{Deserialize, Serialize};

/// Size past which the journal is compacted after a `done`.
pub const COMPACT_AT: u64 = 64 << 10;

/// Unlogged audit lines kept across compactions.
pub const MAX_UNLOGGED: usize = 256;

/// Largest journal read at start (a larger one is read up to this size).
pub const MAX_READ: u64 = 64 << 20;

/// One planned limit write, as the journal records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedWrite {
    /// The cgroup.
    pub name: String,
    /// Its limit when the plan was made.
    pub old: u64,
    /// The limit the plan writes (the applied value may be higher for a
    /// shrink whose usage grew, lower for a grow).
    pub new: u64,
}

/// A plan about to be applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Begin {
    /// Sequence number, matched by the `done` record.
    pub seq: u64,
    /// The cgroup under OOM (`None` for a Tick plan).
    pub target: Option<String>,
    /// Every change of the plan, shrinks first.
    pub changes: Vec<PlannedWrite>,
}

/// One journal record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Record {
    /// A cgroup's limit as first seen (`None`: unlimited).
    Orig {
        /// The cgroup.
        name: String,
        /// Its limit.
        limit: Option<u64>,
    },
    /// A plan about to be applied.
    Begin(Begin),
    /// The plan `seq` is finished (applied, refused, or recovered).
    Done {
        /// The plan's sequence number.
        seq: u64,
        /// The audit line's JSON when the audit log could not take it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unlogged: Option<String>,
    },
}

/// What the journal held at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contents {
    /// Original limits, by cgroup.
    pub originals: BTreeMap<CgroupName, Option<u64>>,
    /// The last plan begun and not done.
    pub unfinished: Option<Begin>,
    /// Audit lines never written to the audit log.
    pub unlogged: Vec<String>,
    /// The highest sequence number seen.
    pub last_seq: u64,
    /// Lines ignored (torn or corrupt).
    pub ignored: usize,
}

/// Encodes a record as one journal line, newline included.
pub fn encode(record: &Record) -> String {
    let json = serde_json::to_string(record).expect("a journal record always serializes");
    format!("{:08x} {json}\n", crc32c::crc32c(json.as_bytes()))
}

/// Decodes one line (without its newline); `None` when torn or corrupt.
pub fn decode(line: &str) -> Option<Record> {
    let (crc, json) = line.split_once(' ')?;
    let crc = u32::from_str_radix(crc, 16).ok()?;
    (crc32c::crc32c(json.as_bytes()) == crc).then_some(())?;
    serde_json::from_str(json).ok()
}

/// Reads journal text.
pub fn parse(text: &str) -> Contents {
    let mut c = Contents::default();
    let mut rest = text;
    while !rest.is_empty() {
        let (line, complete) = match rest.find('\n') {
            Some(i) => (&rest[..i], true),
            None => (rest, false),
        };
        rest = if complete {
            &rest[line.len() + 1..]
        } else {
            ""
        };
        let record = if complete { decode(line) } else { None };
        let Some(record) = record else {
            c.ignored += 1;
            tracing::warn!(line = %line, complete, "journal line ignored: torn or corrupt");
            continue;
        };
        match record {
            Record::Orig { name, limit } => {
                if let Ok(name) = CgroupName::parse(&name) {
                    c.originals.entry(name).or_insert(limit);
                }
            }
            Record::Begin(b) => {
                c.last_seq = c.last_seq.max(b.seq);
                c.unfinished = Some(b);
            }
            Record::Done { seq, unlogged } => {
                c.last_seq = c.last_seq.max(seq);
                if c.unfinished.as_ref().is_some_and(|b| b.seq == seq) {
                    c.unfinished = None;
                }
                c.unlogged.extend(unlogged);
            }
        }
    }
    let excess = c.unlogged.len().saturating_sub(MAX_UNLOGGED);
    c.unlogged.drain(..excess);
    c
}

/// The open journal.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    size: u64,
    next_seq: u64,
    originals: BTreeMap<String, Option<u64>>,
    unlogged: Vec<String>,
}

impl Journal {
    /// Opens (creating it 0600) and reads the journal.
    pub fn open(path: &Path) -> Result<(Journal, Contents), UserError> {
        let fail = |e: io::Error| {
            UserError::new(format!("cannot open the journal: {e}"))
                .at(path.display().to_string())
                .hint("give a writable file with --journal")
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map_err(fail)?;
        if !file.metadata().map_err(fail)?.is_file() {
            return Err(UserError::new("the journal must be a regular file")
                .at(path.display().to_string())
                .hint("give a file path with --journal"));
        }
        let mut bytes = Vec::new();
        (&mut file)
            .take(MAX_READ)
            .read_to_end(&mut bytes)
            .map_err(fail)?;
        let contents = parse(&String::from_utf8_lossy(&bytes));
        let journal = Journal {
            path: path.to_path_buf(),
            size: file.metadata().map_err(fail)?.len(),
            file,
            next_seq: contents.last_seq + 1,
            originals: contents
                .originals
                .iter()
                .map(|(n, l)| (n.to_string(), *l))
                .collect(),
            unlogged: contents.unlogged.clone(),
        };
        Ok((journal, contents))
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sequence number the next plan gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn append(&mut self, text: &str) -> io::Result<()> {
        self.file.write_all(text.as_bytes())?;
        self.file.sync_data()?;
        self.size += text.len() as u64;
        Ok(())
    }

    /// Records `begin` (with the original limits first seen since the last
    /// record) and syncs: call before the plan's first write.
    pub fn begin(
        &mut self,
        begin: &Begin,
        new_originals: &[(CgroupName, Option<u64>)],
    ) -> io::Result<()> {
        let mut text = String::new();
        for (name, limit) in new_originals {
            self.originals.insert(name.to_string(), *limit);
            text.push_str(&encode(&Record::Orig {
                name: name.to_string(),
                limit: *limit,
            }));
        }
        text.push_str(&encode(&Record::Begin(begin.clone())));
        self.next_seq = self.next_seq.max(begin.seq + 1);
        self.append(&text)
    }

    /// Records that plan `seq` is finished, with its audit line if the
    /// audit log did not take it, and syncs; compacts a large journal.
    pub fn done(&mut self, seq: u64, unlogged: Option<String>) -> io::Result<()> {
        if let Some(line) = &unlogged {
            self.unlogged.push(line.clone());
            let excess = self.unlogged.len().saturating_sub(MAX_UNLOGGED);
            self.unlogged.drain(..excess);
        }
        self.append(&encode(&Record::Done { seq, unlogged }))?;
        if self.size > COMPACT_AT {
            self.compact()?;
        }
        Ok(())
    }

    /// Rewrites the journal with only the `orig` records and the kept
    /// unlogged audit lines (temporary file, fsync, rename).
    pub fn compact(&mut self) -> io::Result<()> {
        let mut text = String::new();
        for (name, limit) in &self.originals {
            text.push_str(&encode(&Record::Orig {
                name: name.clone(),
                limit: *limit,
            }));
        }
        for line in &self.unlogged {
            text.push_str(&encode(&Record::Done {
                seq: 0,
                unlogged: Some(line.clone()),
            }));
        }
        let mut tmp_name = self.path.as_os_str().to_owned();
        tmp_name.push(".tmp");
        let tmp = PathBuf::from(tmp_name);
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)?.sync_all()?;
        }
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        self.size = text.len() as u64;
        tracing::debug!(journal = %self.path.display(), bytes = self.size, "journal compacted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn begin(seq: u64) -> Begin {
        Begin {
            seq,
            target: Some("/r/a".into()),
            changes: vec![PlannedWrite {
                name: "/r/b".into(),
                old: 8192,
                new: 4096,
            }],
        }
    }

    #[test]
    fn lines_round_trip_and_a_flipped_byte_is_refused() {
        let line = encode(&Record::Begin(begin(3)));
        assert!(line.ends_with('\n'));
        let body = line.trim_end();
        assert_eq!(decode(body), Some(Record::Begin(begin(3))));
        let flipped = body.replace("8192", "8193");
        assert_eq!(decode(&flipped), None);
        assert_eq!(decode("zz {}"), None);
        assert_eq!(decode(""), None);
    }

    #[test]
    fn a_begin_without_done_is_unfinished_and_a_torn_tail_is_ignored() {
        let mut text = encode(&Record::Orig {
            name: "/r/a".into(),
            limit: Some(4096),
        });
        text += &encode(&Record::Begin(begin(1)));
        text += &encode(&Record::Done {
            seq: 1,
            unlogged: None,
        });
        text += &encode(&Record::Begin(begin(2)));
        let c = parse(&text);
        assert_eq!(c.unfinished, Some(begin(2)));
        assert_eq!(c.last_seq, 2);
        let a = CgroupName::parse("/r/a").unwrap();
        assert_eq!(c.originals.get(&a), Some(&Some(4096)));

        // The done record of plan 2 torn mid-write: plan 2 stays unfinished.
        let done = encode(&Record::Done {
            seq: 2,
            unlogged: None,
        });
        for cut in 0..done.len() {
            let torn = format!("{text}{}", &done[..cut]);
            let c = parse(&torn);
            assert_eq!(c.unfinished, Some(begin(2)), "cut at {cut}");
            assert_eq!(c.ignored, usize::from(cut > 0));
        }
        assert_eq!(parse(&(text + &done)).unfinished, None);
    }

    #[test]
    fn file_is_0600_survives_reopen_and_compacts_keeping_originals_and_unlogged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (mut j, c) = Journal::open(&path).unwrap();
        assert_eq!(c, Contents::default());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let a = CgroupName::parse("/r/a").unwrap();
        j.begin(&begin(j.next_seq()), &[(a.clone(), Some(4096))])
            .unwrap();
        drop(j);
        let (mut j, c) = Journal::open(&path).unwrap();
        assert_eq!(c.unfinished.as_ref().map(|b| b.seq), Some(1));
        j.done(1, Some("{\"audit\":1}".into())).unwrap();
        for _ in 0..700 {
            let seq = j.next_seq();
            j.begin(&begin(seq), &[]).unwrap();
            j.done(seq, None).unwrap();
        }
        let len = std::fs::metadata(&path).unwrap().len();
        assert!(len <= COMPACT_AT + 1024, "journal is {len} bytes");
        let (_, c) = Journal::open(&path).unwrap();
        assert_eq!(c.unfinished, None);
        assert_eq!(c.originals.get(&a), Some(&Some(4096)));
        assert_eq!(c.unlogged, vec!["{\"audit\":1}".to_string()]);
        assert!(c.last_seq >= 1);
    }

    #[test]
    fn an_unopenable_journal_is_a_user_error_naming_it() {
        let e = Journal::open(Path::new("/nonexistent/j"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/j"), "{e}");
        let e = Journal::open(Path::new("/dev/null"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/dev/null") && e.contains("regular file"), "{e}");
    }
}
