//! The file header: a fixed 20-byte prelude (magic, version, body length,
//! CRC) and a body holding the [`Header`] fields in an explicit
//! little-endian, length-prefixed layout.

use std::io::Read;

use crate::name::CgroupName;
use crate::trace::error::TraceError;
use crate::trace::layout::{
    le32, FILE_MAGIC, FILE_PRELUDE_LEN, MAX_HEADER_BODY, VERSION_MAJOR, VERSION_MINOR,
};
use crate::trace::model::{CgroupVersion, Header};
use crate::trace::source::Source;

/// Encodes the whole file header (prelude and body); `Err(body_len)` when
/// the body would exceed [`MAX_HEADER_BODY`].
pub fn encode_file_header(h: &Header) -> Result<Vec<u8>, u64> {
    let mut body = Vec::with_capacity(128);
    put_str(&mut body, &h.host);
    put_str(&mut body, &h.kernel);
    body.push(match h.cgroup_version {
        CgroupVersion::Unknown => 0,
        CgroupVersion::V1 => 1,
        CgroupVersion::V2 => 2,
    });
    put_str(&mut body, h.root.as_str());
    body.extend_from_slice(&h.interval_ns.to_le_bytes());
    body.push(h.host_memory.is_some() as u8);
    body.extend_from_slice(&h.host_memory.unwrap_or(0).to_le_bytes());
    body.extend_from_slice(&h.start_ns.to_le_bytes());
    put_str(&mut body, &h.tool);
    if body.len() as u64 > MAX_HEADER_BODY as u64 {
        return Err(body.len() as u64);
    }
    let mut out = Vec::with_capacity(FILE_PRELUDE_LEN + body.len());
    out.extend_from_slice(&FILE_MAGIC);
    out.extend_from_slice(&VERSION_MAJOR.to_le_bytes());
    out.extend_from_slice(&VERSION_MINOR.to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&out[8..16]), &body);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len().min(u32::MAX as usize) as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A decoded file header and its versions.
#[derive(Debug, Clone)]
pub struct FileHeader {
    /// The header fields.
    pub header: Header,
    /// Minor version of the file.
    pub minor: u16,
}

/// Reads and validates the file header from the start of `src`.
pub fn read_file_header<R: Read>(
    src: &mut Source<R>,
    file: &str,
) -> Result<FileHeader, TraceError> {
    let io = |e, offset| TraceError::Io {
        op: "read",
        file: file.to_string(),
        offset,
        source: e,
    };
    let mut pre = [0u8; FILE_PRELUDE_LEN];
    let have = src.read_up_to(&mut pre).map_err(|e| io(e, src.offset()))?;
    let magic_have = have.min(8);
    if pre[..magic_have] != FILE_MAGIC[..magic_have] || have == 0 {
        return Err(TraceError::BadMagic {
            file: file.to_string(),
            found: hex(&pre[..magic_have]),
        });
    }
    if have < FILE_PRELUDE_LEN {
        return Err(TraceError::TornHeader {
            file: file.to_string(),
            offset: have as u64,
            need: FILE_PRELUDE_LEN as u64,
        });
    }
    let major = u16::from_le_bytes([pre[8], pre[9]]);
    let minor = u16::from_le_bytes([pre[10], pre[11]]);
    let body_len = le32(&pre[12..16]);
    let expected = le32(&pre[16..20]);
    if body_len > MAX_HEADER_BODY {
        if major > VERSION_MAJOR {
            return Err(newer(file, major, minor));
        }
        return Err(TraceError::HeaderTooLarge {
            file: file.to_string(),
            len: body_len as u64,
            max: MAX_HEADER_BODY as u64,
        });
    }
    let mut body = Vec::new();
    let got = src
        .read_into_vec(&mut body, body_len as usize)
        .map_err(|e| io(e, src.offset()))?;
    if got < body_len as usize {
        return Err(TraceError::TornHeader {
            file: file.to_string(),
            offset: src.offset(),
            need: FILE_PRELUDE_LEN as u64 + body_len as u64,
        });
    }
    let found = crc32c::crc32c_append(crc32c::crc32c(&pre[8..16]), &body);
    if found != expected {
        return Err(TraceError::HeaderCrc {
            file: file.to_string(),
            expected,
            found,
            end: FILE_PRELUDE_LEN as u64 + body_len as u64,
        });
    }
    if major > VERSION_MAJOR {
        return Err(newer(file, major, minor));
    }
    if major == 0 {
        return Err(TraceError::BadVersion {
            file: file.to_string(),
            found_major: major,
            found_minor: minor,
        });
    }
    let header = decode_body(&body).map_err(|(at, what)| TraceError::HeaderDecode {
        file: file.to_string(),
        offset: (FILE_PRELUDE_LEN + at) as u64,
        what,
    })?;
    Ok(FileHeader { header, minor })
}

fn newer(file: &str, major: u16, minor: u16) -> TraceError {
    TraceError::NewerVersion {
        file: file.to_string(),
        found_major: major,
        found_minor: minor,
        supported_major: VERSION_MAJOR,
    }
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(2 * b.len() + 2);
    s.push_str("0x");
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    if b.is_empty() {
        s = "empty".to_string();
    }
    s
}

/// Field reader over the header body; errors carry the body offset.
struct Fields<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], (usize, String)> {
        if self.b.len() - self.pos < n {
            return Err((
                self.pos,
                format!(
                    "{what} needs {n} bytes, the header body has {} left",
                    self.b.len() - self.pos
                ),
            ));
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self, what: &str) -> Result<u8, (usize, String)> {
        Ok(self.take(1, what)?[0])
    }
    fn u64(&mut self, what: &str) -> Result<u64, (usize, String)> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn string(&mut self, what: &str) -> Result<(usize, String), (usize, String)> {
        let len = le32(self.take(4, what)?) as usize;
        let at = self.pos;
        let b = self.take(len, what)?;
        let s = std::str::from_utf8(b).map_err(|e| (at, format!("{what} is not UTF-8: {e}")))?;
        Ok((at, s.to_string()))
    }
}

fn decode_body(b: &[u8]) -> Result<Header, (usize, String)> {
    let mut f = Fields { b, pos: 0 };
    let (_, host) = f.string("host")?;
    let (_, kernel) = f.string("kernel")?;
    let at = f.pos;
    let cgroup_version = match f.u8("cgroup version")? {
        0 => CgroupVersion::Unknown,
        1 => CgroupVersion::V1,
        2 => CgroupVersion::V2,
        v => return Err((at, format!("cgroup version {v} is not 0, 1 or 2"))),
    };
    let (at, root) = f.string("root")?;
    let root = CgroupName::parse(&root).map_err(|e| (at, format!("root: {e}")))?;
    let interval_ns = f.u64("interval")?;
    let at = f.pos;
    let present = f.u8("host memory presence")?;
    let mem = f.u64("host memory")?;
    let host_memory = match present {
        0 => None,
        1 => Some(mem),
        v => return Err((at, format!("host memory presence byte {v} is not 0 or 1"))),
    };
    let start_ns = f.u64("start time")?;
    let (_, tool) = f.string("tool")?;
    // Bytes after the known fields belong to later minor versions: ignored.
    Ok(Header {
        host,
        kernel,
        cgroup_version,
        root,
        interval_ns,
        host_memory,
        start_ns,
        tool,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            host: "node-1".into(),
            kernel: "6.1.0".into(),
            cgroup_version: CgroupVersion::V1,
            root: CgroupName::parse("/apps").unwrap(),
            interval_ns: 1_000_000_000,
            host_memory: Some(16 << 30),
            start_ns: 1_700_000_000_000_000_000,
            tool: "cgrec 0.1.0".into(),
        }
    }

    fn read(bytes: &[u8]) -> Result<FileHeader, TraceError> {
        read_file_header(&mut Source::new(bytes, 0), "t.bin")
    }

    #[test]
    fn round_trips_and_ignores_trailing_fields() {
        let h = header();
        let bytes = encode_file_header(&h).unwrap();
        assert_eq!(read(&bytes).unwrap().header, h);
        // A minor-version extension: trailing body bytes, CRC recomputed.
        let mut ext = bytes.clone();
        ext.extend_from_slice(&[9, 9, 9]);
        let len = le32(&ext[12..16]) + 3;
        ext[12..16].copy_from_slice(&len.to_le_bytes());
        ext[10] = 7;
        let crc = crc32c::crc32c_append(crc32c::crc32c(&ext[8..16]), &ext[20..]);
        ext[16..20].copy_from_slice(&crc.to_le_bytes());
        let fh = read(&ext).unwrap();
        assert_eq!(fh.header, h);
        assert_eq!(fh.minor, 7);
    }

    #[test]
    fn refuses_newer_major_with_a_clear_message() {
        let mut b = encode_file_header(&header()).unwrap();
        b[8] = 2;
        let crc = crc32c::crc32c_append(crc32c::crc32c(&b[8..16]), &b[20..]);
        b[16..20].copy_from_slice(&crc.to_le_bytes());
        let e = read(&b).unwrap_err();
        assert!(
            matches!(e, TraceError::NewerVersion { found_major: 2, .. }),
            "{e}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains("t.bin") && msg.contains("2.0") && msg.contains("1.x"),
            "{msg}"
        );
    }

    #[test]
    fn every_truncation_and_flip_is_an_error() {
        let b = encode_file_header(&header()).unwrap();
        for cut in 0..b.len() {
            assert!(read(&b[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..b.len() {
            for x in [0x01u8, 0xff] {
                let mut c = b.clone();
                c[i] ^= x;
                assert!(read(&c).is_err(), "flip at {i}");
            }
        }
    }

    #[test]
    fn refuses_huge_body_without_reading() {
        let mut b = encode_file_header(&header()).unwrap();
        b[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(read(&b), Err(TraceError::HeaderTooLarge { .. })));
        let mut long = header();
        long.host = "x".repeat(MAX_HEADER_BODY as usize);
        assert!(encode_file_header(&long).is_err());
    }
}
