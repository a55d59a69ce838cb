//! Fixed parts of the byte layout: magics, versions, limits and the chunk
//! frame header. `docs/trace-format.md` is the prose version of this file.

/// First 8 bytes of every trace file.
pub const FILE_MAGIC: [u8; 8] = *b"CGCALTRC";
/// Format major version written and read by this build. A reader refuses a
/// file with a larger major version.
pub const VERSION_MAJOR: u16 = 1;
/// Format minor version written by this build. Minor versions only add
/// things an older reader can skip (trailing header fields, chunk kinds,
/// body sections, event kinds).
pub const VERSION_MINOR: u16 = 0;
/// Size of the fixed file prelude: magic, major, minor, body length, CRC.
pub const FILE_PRELUDE_LEN: usize = 20;
/// Largest file header body accepted (bytes).
pub const MAX_HEADER_BODY: u32 = 1 << 20;

/// First 4 bytes of every chunk frame: the sync marker a reader scans for
/// after damage.
pub const CHUNK_MAGIC: [u8; 4] = *b"CGck";
/// Size of a chunk frame header.
pub const FRAME_HEADER_LEN: usize = 24;
/// Chunk kind of a data chunk (zstd-compressed cgroup table, samples, events).
pub const KIND_DATA: u16 = 1;
/// Largest stored (compressed) chunk payload accepted (bytes).
pub const MAX_STORED_LEN: u32 = 64 << 20;
/// Largest decompressed data-chunk body accepted (bytes).
pub const MAX_BODY_LEN: u32 = 256 << 20;
/// Most samples, events or cgroup-table entries accepted in one chunk.
pub const MAX_RECORDS_PER_CHUNK: u64 = 1 << 20;

/// Body section holding the chunk's cgroup table.
pub const SECTION_CGROUPS: u8 = 1;
/// Body section holding the samples, grouped per cgroup as columns.
pub const SECTION_SAMPLES: u8 = 2;
/// Body section holding the events.
pub const SECTION_EVENTS: u8 = 3;

/// The decoded 24-byte frame header of a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Chunk kind ([`KIND_DATA`] or an unknown, skippable kind).
    pub kind: u16,
    /// Index of the chunk in the file, counting from 0.
    pub seq: u32,
    /// Bytes of payload following the frame header.
    pub stored_len: u32,
    /// CRC32C of the payload.
    pub payload_crc: u32,
}

/// Why 24 bytes are not a valid frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The first 4 bytes are not [`CHUNK_MAGIC`].
    BadMagic,
    /// The frame CRC does not match.
    BadCrc {
        /// CRC stored in the frame.
        expected: u32,
        /// CRC computed over bytes 0..20.
        found: u32,
    },
}

impl FrameHeader {
    /// The 24 bytes of this frame header.
    pub fn encode(&self) -> [u8; FRAME_HEADER_LEN] {
        let mut b = [0u8; FRAME_HEADER_LEN];
        b[0..4].copy_from_slice(&CHUNK_MAGIC);
        b[4..6].copy_from_slice(&self.kind.to_le_bytes());
        // b[6..8]: reserved, zero.
        b[8..12].copy_from_slice(&self.seq.to_le_bytes());
        b[12..16].copy_from_slice(&self.stored_len.to_le_bytes());
        b[16..20].copy_from_slice(&self.payload_crc.to_le_bytes());
        let crc = crc32c::crc32c(&b[0..20]);
        b[20..24].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Checks magic and frame CRC and decodes the fields.
    pub fn decode(b: &[u8; FRAME_HEADER_LEN]) -> Result<Self, FrameError> {
        if b[0..4] != CHUNK_MAGIC {
            return Err(FrameError::BadMagic);
        }
        let expected = le32(&b[20..24]);
        let found = crc32c::crc32c(&b[0..20]);
        if expected != found {
            return Err(FrameError::BadCrc { expected, found });
        }
        Ok(FrameHeader {
            kind: u16::from_le_bytes([b[4], b[5]]),
            seq: le32(&b[8..12]),
            stored_len: le32(&b[12..16]),
            payload_crc: le32(&b[16..20]),
        })
    }
}

/// Reads a little-endian u32 from exactly 4 bytes.
pub fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

const _: () = assert!(FRAME_HEADER_LEN == 24 && FILE_PRELUDE_LEN == 20);
const _: () = assert!(MAX_STORED_LEN as u64 + FRAME_HEADER_LEN as u64 <= u32::MAX as u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_is_crc32c() {
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
    }

    #[test]
    fn frame_header_round_trips_and_checks() {
        let h = FrameHeader {
            kind: KIND_DATA,
            seq: 7,
            stored_len: 1234,
            payload_crc: 0xdead_beef,
        };
        let b = h.encode();
        assert_eq!(FrameHeader::decode(&b), Ok(h));
        let mut bad = b;
        bad[0] ^= 1;
        assert_eq!(FrameHeader::decode(&bad), Err(FrameError::BadMagic));
        for i in 4..24 {
            let mut bad = b;
            bad[i] ^= 0xff;
            assert!(matches!(
                FrameHeader::decode(&bad),
                Err(FrameError::BadCrc { .. })
            ));
        }
    }
}
