//! Several trace files read as one trace: the files `cgrec record --rotate`
//! writes into a directory, or any files of one recording.
//!
//! * [`TraceSet::open`] takes files and directories (a directory stands for
//!   its `*.bin` files), reads every header, orders the files by their
//!   header's start time (then path), and refuses files of another host,
//!   root or cgroup version ([`TraceError::MixedSet`]).
//! * [`TraceSetReader`] yields the chunks of every file in that order with
//!   **one cgroup id space**: the first file's ids are kept as they are (so
//!   a set of one file reads exactly like the file), a later file's cgroup
//!   gets the id its name already has, or the next free id. A cgroup's
//!   definition is yielded once, at its first appearance in the set.
//!   Memory stays bounded by one chunk and the cgroups.
//!
//! Damage offsets stay byte offsets *in their file*
//! ([`TraceSetReader::file_name`] names it); [`TraceSetReader::offset`]
//! counts the bytes read over all files.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::name::CgroupName;
use crate::trace::chunk_stream::ChunkStream;
use crate::trace::error::TraceError;
use crate::trace::files::open_trace;
use crate::trace::model::{CgroupDef, CgroupId, Header};
use crate::trace::reader::{ReadItem, TraceReader};

/// The extension of the files a directory contributes to a set.
pub const TRACE_EXTENSION: &str = "bin";

/// The files of one trace, in time order, with the first file's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceSet {
    files: Vec<PathBuf>,
    header: Header,
}

impl TraceSet {
    /// Expands directories into their `*.bin` files (hidden files and
    /// temporary `.compacting` files are not traces), reads each header,
    /// orders the files by start time, then path, and checks they come
    /// from one host, root and cgroup version.
    pub fn open(paths: &[PathBuf]) -> Result<TraceSet, TraceError> {
        let mut files = Vec::new();
        for p in paths {
            if p.is_dir() {
                let found = trace_files_in(p)?;
                if found.is_empty() {
                    return Err(TraceError::EmptySet {
                        dir: p.display().to_string(),
                    });
                }
                files.extend(found);
            } else {
                files.push(p.clone());
            }
        }
        let mut headed = Vec::with_capacity(files.len());
        for f in files {
            let header = open_trace(&f)?.header().clone();
            headed.push((header, f));
        }
        headed.sort_by(|a, b| (a.0.start_ns, &a.1).cmp(&(b.0.start_ns, &b.1)));
        headed.dedup_by(|a, b| a.1 == b.1);
        let Some((header, first)) = headed.first().cloned() else {
            return Err(TraceError::EmptySet {
                dir: paths
                    .first()
                    .map_or_else(String::new, |p| p.display().to_string()),
            });
        };
        for (h, f) in &headed[1..] {
            if let Some(what) = mismatch(&header, h) {
                return Err(TraceError::MixedSet {
                    first: first.display().to_string(),
                    other: f.display().to_string(),
                    what,
                });
            }
        }
        Ok(TraceSet {
            files: headed.into_iter().map(|(_, f)| f).collect(),
            header,
        })
    }

    /// The files, in the order they are read.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The first file's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// A reader over every file from the start.
    pub fn reader(&self) -> Result<TraceSetReader, TraceError> {
        let current = open_trace(&self.files[0])?;
        Ok(TraceSetReader {
            files: self.files.clone(),
            index: 0,
            current,
            header: self.header.clone(),
            local_to_global: HashMap::new(),
            names: BTreeMap::new(),
            ids: HashMap::new(),
            next_id: 0,
            bytes_before: 0,
        })
    }
}

/// Opens `path` (a trace file, or a directory of them) as one trace and
/// returns a reader from its start.
pub fn open_trace_set(path: &Path) -> Result<TraceSetReader, TraceError> {
    TraceSet::open(&[path.to_path_buf()])?.reader()
}

/// The `*.bin` files directly in `dir`, sorted by name.
pub fn trace_files_in(dir: &Path) -> Result<Vec<PathBuf>, TraceError> {
    let io = |source| TraceError::Io {
        op: "list",
        file: dir.display().to_string(),
        offset: 0,
        source,
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        let is_trace = path.extension().is_some_and(|e| e == TRACE_EXTENSION);
        if is_trace && !hidden && path.is_file() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// What differs between two headers of one set, if anything that matters.
fn mismatch(a: &Header, b: &Header) -> Option<String> {
    if a.host != b.host {
        return Some(format!(
            "its host is {:?}, the first file's {:?}",
            b.host, a.host
        ));
    }
    if a.root != b.root {
        return Some(format!(
            "its root is {}, the first file's {}",
            b.root, a.root
        ));
    }
    if a.cgroup_version != b.cgroup_version {
        return Some(format!(
            "its cgroup version is {:?}, the first file's {:?}",
            b.cgroup_version, a.cgroup_version
        ));
    }
    None
}

/// Reads the files of a [`TraceSet`] one after the other as one trace.
pub struct TraceSetReader {
    files: Vec<PathBuf>,
    index: usize,
    current: TraceReader<BufReader<File>>,
    header: Header,
    /// The current file's ids to the set's (empty: identity, first file).
    local_to_global: HashMap<CgroupId, CgroupId>,
    names: BTreeMap<CgroupId, CgroupName>,
    ids: HashMap<CgroupName, CgroupId>,
    next_id: CgroupId,
    bytes_before: u64,
}

impl std::fmt::Debug for TraceSetReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceSetReader")
            .field("files", &self.files.len())
            .field("index", &self.index)
            .field("cgroups", &self.names.len())
            .finish_non_exhaustive()
    }
}

impl TraceSetReader {
    /// The first file's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The format minor version of the file being read.
    pub fn minor_version(&self) -> u16 {
        self.current.minor_version()
    }

    /// Bytes read so far over all files.
    pub fn offset(&self) -> u64 {
        self.bytes_before + self.current.offset()
    }

    /// The file the last item came from.
    pub fn file_name(&self) -> &str {
        self.current.file_name()
    }

    /// Files in the set.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// The name of cgroup `id` (a set id), once declared.
    pub fn cgroup_name(&self, id: CgroupId) -> Option<&CgroupName> {
        self.names.get(&id)
    }

    /// Every cgroup declared so far, by set id.
    pub fn cgroups(&self) -> impl Iterator<Item = (CgroupId, &CgroupName)> {
        self.names.iter().map(|(&id, n)| (id, n))
    }

    /// The next chunk or damage report of the set; `None` after the last
    /// file. `Err` for I/O errors and for a later file whose header cannot
    /// be read.
    pub fn next_item(&mut self) -> Option<Result<ReadItem, TraceError>> {
        loop {
            match self.current.next_item() {
                Some(Ok(ReadItem::Chunk(c))) => return Some(Ok(ReadItem::Chunk(self.remap(c)))),
                Some(other) => return Some(other),
                None => {}
            }
            if self.index + 1 >= self.files.len() {
                return None;
            }
            self.index += 1;
            self.bytes_before += self.current.offset();
            match open_trace(&self.files[self.index]) {
                Ok(r) => self.current = r,
                Err(e) => {
                    self.index = self.files.len();
                    return Some(Err(e));
                }
            }
            self.local_to_global.clear();
        }
    }

    /// Gives the chunk set ids; keeps only definitions new to the set.
    fn remap(&mut self, mut c: crate::trace::Chunk) -> crate::trace::Chunk {
        let first_file = self.index == 0;
        let mut defs = Vec::with_capacity(c.defs.len());
        for d in c.defs {
            let global = match (first_file, self.ids.get(&d.name)) {
                (true, _) => d.id,
                (false, Some(&g)) => g,
                (false, None) => self.next_id,
            };
            if !first_file {
                self.local_to_global.insert(d.id, global);
            }
            if let std::collections::btree_map::Entry::Vacant(slot) = self.names.entry(global) {
                slot.insert(d.name.clone());
                self.ids.insert(d.name.clone(), global);
                self.next_id = self.next_id.max(global.saturating_add(1));
                defs.push(CgroupDef { id: global, ..d });
            }
        }
        c.defs = defs;
        if !first_file {
            let map = |id: CgroupId| self.local_to_global.get(&id).copied().unwrap_or(id);
            for s in &mut c.samples {
                s.cgroup = map(s.cgroup);
            }
            for e in &mut c.events {
                e.cgroup = map(e.cgroup);
            }
            c.samples.sort_by_key(|s| (s.time_ns, s.cgroup));
            c.events.sort_by_key(|e| (e.time_ns, e.cgroup));
        }
        c
    }
}

impl ChunkStream for TraceSetReader {
    fn header(&self) -> &Header {
        TraceSetReader::header(self)
    }
    fn next_item(&mut self) -> Option<Result<ReadItem, TraceError>> {
        TraceSetReader::next_item(self)
    }
    fn cgroup_name(&self, id: CgroupId) -> Option<&CgroupName> {
        TraceSetReader::cgroup_name(self, id)
    }
    fn offset(&self) -> u64 {
        TraceSetReader::offset(self)
    }
    fn file_name(&self) -> &str {
        TraceSetReader::file_name(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{create_trace, read_all, CgroupVersion, Event, EventKind, Sample};

    fn header(host: &str, start_ns: u64) -> Header {
        Header {
            host: host.into(),
            kernel: String::new(),
            cgroup_version: CgroupVersion::V1,
            root: CgroupName::root(),
            interval_ns: 1,
            host_memory: None,
            start_ns,
            tool: "test".into(),
        }
    }

    fn sample(time_ns: u64, cgroup: CgroupId, usage: u64) -> Sample {
        Sample {
            time_ns,
            cgroup,
            usage,
            limit: None,
            inactive_file: None,
            peak: None,
            failcnt: None,
        }
    }

    /// Writes `(time, name, usage)` samples, an OomKill at each usage 0.
    fn write(path: &Path, h: &Header, rows: &[(u64, &str, u64)]) {
        let mut w = create_trace(path, h).unwrap();
        for &(t, name, usage) in rows {
            let id = w.cgroup_id(&CgroupName::parse(name).unwrap(), t);
            w.push_sample(sample(t, id, usage)).unwrap();
            if usage == 0 {
                let kind = EventKind::OomKill {
                    usage: None,
                    limit: None,
                };
                w.push_event(Event {
                    time_ns: t,
                    cgroup: id,
                    kind,
                })
                .unwrap();
            }
            w.flush_chunk().unwrap();
        }
        w.finish().unwrap();
    }

    /// (time, name, usage) of samples, (time, name) of events, definitions.
    type Rows = (Vec<(u64, String, u64)>, Vec<(u64, String)>, usize);

    /// Everything a reader yields, by cgroup name.
    fn rows(mut r: impl ChunkStream) -> Rows {
        let (mut s, mut e, mut defs) = (Vec::new(), Vec::new(), 0);
        while let Some(item) = r.next_item() {
            let ReadItem::Chunk(c) = item.unwrap() else {
                panic!("damage");
            };
            defs += c.defs.len();
            let name = |id| r.cgroup_name(id).unwrap().to_string();
            s.extend(
                c.samples
                    .iter()
                    .map(|x| (x.time_ns, name(x.cgroup), x.usage)),
            );
            e.extend(c.events.iter().map(|x| (x.time_ns, name(x.cgroup))));
        }
        (s, e, defs)
    }

    #[test]
    fn a_directory_reads_as_one_trace_in_time_order_with_one_id_space() {
        let dir = tempfile::tempdir().unwrap();
        // Written out of name order: the header's start time orders them.
        write(
            &dir.path().join("b.bin"),
            &header("h", 10),
            &[(10, "/y", 0), (11, "/x", 3), (12, "/z", 4)],
        );
        write(
            &dir.path().join("a.bin"),
            &header("h", 0),
            &[(0, "/x", 1), (1, "/y", 2)],
        );
        std::fs::write(dir.path().join("a.bin.compacting"), b"junk").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"junk").unwrap();
        let set = TraceSet::open(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(set.files().len(), 2);
        assert!(set.files()[0].ends_with("a.bin"));
        let (samples, events, defs) = rows(set.reader().unwrap());
        let s = |t, n: &str, u| (t, n.to_string(), u);
        assert_eq!(
            samples,
            vec![
                s(0, "/x", 1),
                s(1, "/y", 2),
                s(10, "/y", 0),
                s(11, "/x", 3),
                s(12, "/z", 4)
            ]
        );
        assert_eq!(events, vec![(10, "/y".to_string())]);
        assert_eq!(defs, 3, "each cgroup defined once");
        let mut r = set.reader().unwrap();
        while r.next_item().is_some() {}
        let total: u64 = set
            .files()
            .iter()
            .map(|f| std::fs::metadata(f).unwrap().len())
            .sum();
        assert_eq!(r.offset(), total);
    }

    #[test]
    fn a_set_of_one_file_reads_like_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.bin");
        write(
            &p,
            &header("h", 0),
            &[(0, "/a", 5), (1, "/b", 0), (2, "/a", 6)],
        );
        let direct = read_all(open_trace(&p).unwrap()).unwrap();
        let mut r = open_trace_set(&p).unwrap();
        let (mut defs, mut samples, mut events) = (Vec::new(), Vec::new(), Vec::new());
        while let Some(item) = r.next_item() {
            if let ReadItem::Chunk(c) = item.unwrap() {
                defs.extend(c.defs);
                samples.extend(c.samples);
                events.extend(c.events);
            }
        }
        assert_eq!((direct.1, direct.2, direct.3), (defs, samples, events));
    }

    #[test]
    fn files_of_another_host_or_an_empty_directory_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("a.bin"), &header("h1", 0), &[(0, "/a", 1)]);
        write(&dir.path().join("b.bin"), &header("h2", 5), &[(5, "/a", 1)]);
        let err = TraceSet::open(&[dir.path().to_path_buf()]).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, TraceError::MixedSet { .. }), "{msg}");
        assert!(
            msg.contains("b.bin") && msg.contains("a.bin") && msg.contains("\"h2\""),
            "{msg}"
        );
        let empty = tempfile::tempdir().unwrap();
        let err = TraceSet::open(&[empty.path().to_path_buf()]).unwrap_err();
        assert!(matches!(err, TraceError::EmptySet { .. }), "{err}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// Samples of 4 cgroups split at random points into files, each
        /// written by its own writer (ids in its own order of appearance):
        /// the set yields every sample under its name, in order, and the
        /// statistics over the set equal those over one file of the same
        /// samples, for a random window.
        #[test]
        fn a_split_recording_reads_and_computes_like_one_file(
            usages in proptest::collection::vec((0u32..4, 0u64..1 << 30), 1..200),
            cuts in proptest::collection::vec(0usize..200, 0..4),
            a in 0u64..220,
            b in 0u64..220,
        ) {
            use crate::stats::{compute, StatsRequest, TraceSamples};
            let dir = tempfile::tempdir().unwrap();
            let recs: Vec<(u64, String, u64)> = usages
                .iter()
                .enumerate()
                .map(|(t, &(c, u))| (t as u64, format!("/c{c}"), u))
                .collect();
            let mut bounds: Vec<usize> = cuts.iter().map(|&c| c.min(recs.len())).collect();
            bounds.extend([0, recs.len()]);
            bounds.sort_unstable();
            bounds.dedup();
            for (k, w) in bounds.windows(2).enumerate() {
                let part: Vec<(u64, &str, u64)> =
                    recs[w[0]..w[1]].iter().map(|(t, n, u)| (*t, n.as_str(), *u.max(&1))).collect();
                write(&dir.path().join(format!("f{k}.bin")), &header("h", part[0].0), &part);
            }
            let all: Vec<(u64, &str, u64)> =
                recs.iter().map(|(t, n, u)| (*t, n.as_str(), *u.max(&1))).collect();
            let one = dir.path().join("one");
            std::fs::create_dir(&one).unwrap();
            write(&one.join("one.bin"), &header("h", 0), &all);

            let set = TraceSet::open(&[dir.path().to_path_buf()]).unwrap();
            let (samples, _, defs) = rows(set.reader().unwrap());
            let want: Vec<(u64, String, u64)> =
                all.iter().map(|&(t, n, u)| (t, n.to_string(), u)).collect();
            proptest::prop_assert_eq!(&samples, &want);
            proptest::prop_assert!(defs <= 4);

            let req = StatsRequest { from_ns: a.min(b), to_ns: a.max(b), ..StatsRequest::all_usage() };
            let mut over_set = TraceSamples::new(|| set.reader());
            let s1 = compute(&mut over_set, &req).unwrap();
            let s1: BTreeMap<String, _> = s1
                .into_iter()
                .map(|(id, st)| (over_set.names()[&id].to_string(), (st.min, st.max, st.median, st.samples)))
                .collect();
            let mut over_one = TraceSamples::new(|| open_trace_set(&one));
            let s2 = compute(&mut over_one, &req).unwrap();
            let s2: BTreeMap<String, _> = s2
                .into_iter()
                .map(|(id, st)| (over_one.names()[&id].to_string(), (st.min, st.max, st.median, st.samples)))
                .collect();
            proptest::prop_assert_eq!(s1, s2);
        }
    }
}
