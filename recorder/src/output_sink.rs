//! Where a command's result goes: the `-o` file, else stdout; buffered.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// A buffered result destination that names itself in errors.
pub struct OutputSink {
    out: BufWriter<Box<dyn Write>>,
    path: Option<PathBuf>,
}

impl OutputSink {
    /// Creates (or truncates) `path`, or uses stdout when `None`.
    pub fn open(path: Option<&Path>) -> anyhow::Result<OutputSink> {
        let inner: Box<dyn Write> = match path {
            Some(p) => {
                Box::new(File::create(p).with_context(|| format!("cannot create {}", p.display()))?)
            }
            None => Box::new(io::stdout().lock()),
        };
        Ok(OutputSink {
            out: BufWriter::with_capacity(256 * 1024, inner),
            path: path.map(Path::to_path_buf),
        })
    }

    /// The destination as errors name it.
    pub fn name(&self) -> String {
        self.path
            .as_ref()
            .map_or_else(|| "<stdout>".to_string(), |p| p.display().to_string())
    }

    /// Writes all of `bytes`.
    pub fn write_all(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.out
            .write_all(bytes)
            .with_context(|| format!("cannot write {}", self.name()))
    }

    /// Flushes everything to the destination.
    pub fn finish(mut self) -> anyhow::Result<()> {
        self.out
            .flush()
            .with_context(|| format!("cannot write {}", self.name()))
    }
}
