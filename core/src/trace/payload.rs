//! The stored payload of a data chunk: the body's length as a u32 LE,
//! then one zstd frame holding the body. Decompression is bounded by the
//! declared length, itself checked against [`MAX_BODY_LEN`] first.

use crate::trace::body_decode::{decode_body, Body, SampleScratch};
use crate::trace::body_encode::{BodyEncoder, TableEntry};
use crate::trace::layout::{le32, MAX_BODY_LEN};
use crate::trace::model::{Event, Sample};

/// zstd level used by the writer.
pub const ZSTD_LEVEL: i32 = 5;

/// Encodes chunk bodies and compresses them, reusing its buffers.
pub struct PayloadEncoder {
    compressor: zstd::bulk::Compressor<'static>,
    body: BodyEncoder,
    raw: Vec<u8>,
    frame: Vec<u8>,
    /// The last encoded payload.
    pub stored: Vec<u8>,
}

impl std::fmt::Debug for PayloadEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadEncoder").finish_non_exhaustive()
    }
}

impl PayloadEncoder {
    /// A new encoder at [`ZSTD_LEVEL`].
    pub fn new() -> std::io::Result<Self> {
        Ok(PayloadEncoder {
            compressor: zstd::bulk::Compressor::new(ZSTD_LEVEL)?,
            body: BodyEncoder::default(),
            raw: Vec::new(),
            frame: Vec::new(),
            stored: Vec::new(),
        })
    }

    /// Encodes into [`PayloadEncoder::stored`]; the error says what failed.
    pub fn encode(
        &mut self,
        table: &[TableEntry<'_>],
        samples: &[Sample],
        events: &[Event],
    ) -> Result<(), String> {
        self.raw.clear();
        self.body.encode(&mut self.raw, table, samples, events);
        if self.raw.len() > MAX_BODY_LEN as usize {
            return Err(format!(
                "body of {} bytes exceeds the limit {MAX_BODY_LEN}",
                self.raw.len()
            ));
        }
        self.frame.clear();
        self.frame
            .reserve(zstd::zstd_safe::compress_bound(self.raw.len()));
        self.compressor
            .compress_to_buffer(&self.raw, &mut self.frame)
            .map_err(|e| format!("zstd: {e}"))?;
        self.stored.clear();
        self.stored
            .extend_from_slice(&(self.raw.len() as u32).to_le_bytes());
        self.stored.extend_from_slice(&self.frame);
        Ok(())
    }
}

/// Why a data chunk's payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadError {
    /// The declared body length is over the limit.
    TooLarge {
        /// Declared length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// Anything else.
    Decode(String),
}

/// Decompresses and decodes chunk payloads, reusing its buffer.
pub struct PayloadDecoder {
    decompressor: zstd::bulk::Decompressor<'static>,
    raw: Vec<u8>,
    scratch: SampleScratch,
}

impl std::fmt::Debug for PayloadDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadDecoder").finish_non_exhaustive()
    }
}

impl PayloadDecoder {
    /// A new decoder.
    pub fn new() -> std::io::Result<Self> {
        Ok(PayloadDecoder {
            decompressor: zstd::bulk::Decompressor::new()?,
            raw: Vec::new(),
            scratch: SampleScratch::default(),
        })
    }

    /// Decodes one stored payload.
    pub fn decode(&mut self, stored: &[u8]) -> Result<Body, PayloadError> {
        if stored.len() < 4 {
            return Err(PayloadError::Decode(format!(
                "payload of {} bytes is shorter than its 4-byte length field",
                stored.len()
            )));
        }
        let len = le32(&stored[..4]);
        if len > MAX_BODY_LEN {
            return Err(PayloadError::TooLarge {
                len: len as u64,
                max: MAX_BODY_LEN as u64,
            });
        }
        let frame = &stored[4..];
        match zstd::zstd_safe::get_frame_content_size(frame) {
            Ok(Some(n)) if n != len as u64 => {
                return Err(PayloadError::Decode(format!(
                    "zstd frame declares {n} bytes, the chunk {len}"
                )))
            }
            Ok(_) => {}
            Err(_) => return Err(PayloadError::Decode("not a zstd frame".into())),
        }
        self.raw.clear();
        self.raw.reserve_exact(len as usize);
        let r = self.decompressor.decompress_to_buffer(frame, &mut self.raw);
        let result = match r {
            Err(e) => Err(PayloadError::Decode(format!("zstd: {e}"))),
            Ok(n) if n != len as usize => Err(PayloadError::Decode(format!(
                "zstd frame holds {n} bytes, the chunk declares {len}"
            ))),
            Ok(_) => decode_body(&self.raw, &mut self.scratch)
                .map_err(|e| PayloadError::Decode(e.to_string())),
        };
        if self.raw.capacity() > 32 << 20 {
            self.raw = Vec::new();
        }
        result
    }
}
