//! [`ChunkStream`]: what a consumer of chunks needs from a reader, so the
//! same code reads one trace file ([`TraceReader`]) or a set of files read
//! as one trace ([`TraceSetReader`](crate::trace::TraceSetReader)).

use std::io::Read;

use crate::name::CgroupName;
use crate::trace::error::TraceError;
use crate::trace::model::{CgroupId, Header};
use crate::trace::reader::{ReadItem, TraceReader};

/// A stream of verified chunks and damage reports with one cgroup id space.
pub trait ChunkStream {
    /// The header (of the first file, for a set).
    fn header(&self) -> &Header;
    /// The next chunk or damage report; `None` at the end.
    fn next_item(&mut self) -> Option<Result<ReadItem, TraceError>>;
    /// The name of cgroup `id`, once a chunk read so far declared it.
    fn cgroup_name(&self, id: CgroupId) -> Option<&CgroupName>;
    /// Bytes read so far (over every file, for a set).
    fn offset(&self) -> u64;
    /// The file the last item came from, as errors name it.
    fn file_name(&self) -> &str;
}

impl<R: Read> ChunkStream for TraceReader<R> {
    fn header(&self) -> &Header {
        TraceReader::header(self)
    }
    fn next_item(&mut self) -> Option<Result<ReadItem, TraceError>> {
        TraceReader::next_item(self)
    }
    fn cgroup_name(&self, id: CgroupId) -> Option<&CgroupName> {
        TraceReader::cgroup_name(self, id)
    }
    fn offset(&self) -> u64 {
        TraceReader::offset(self)
    }
    fn file_name(&self) -> &str {
        TraceReader::file_name(self)
    }
}
