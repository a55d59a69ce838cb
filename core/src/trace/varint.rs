//! LEB128 varints, zigzag signed integers and a bounds-checked byte cursor:
//! the primitive encodings of a chunk's decompressed body.

/// Longest LEB128 encoding of a `u64`, in bytes.
pub const MAX_VARINT_LEN: usize = 10;

/// Appends `v` as an unsigned LEB128 varint: 7 bits per byte, least
/// significant group first, high bit set on every byte but the last.
#[inline]
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Maps a signed value to an unsigned one so that small magnitudes stay
/// small: 0, -1, 1, -2, 2 … become 0, 1, 2, 3, 4 …
#[inline]
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
#[inline]
pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Why a chunk body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Offset within the decompressed chunk body.
    pub at: usize,
    /// What was wrong.
    pub what: String,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at body offset {}", self.what, self.at)
    }
}

/// A read position in a byte slice; every read is bounds-checked.
#[derive(Debug, Clone, Copy)]
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf` in the whole body, for error positions.
    origin: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self::at(buf, 0)
    }

    /// A cursor over `buf`, which starts at offset `origin` of the body.
    pub fn at(buf: &'a [u8], origin: usize) -> Self {
        Cursor {
            buf,
            pos: 0,
            origin,
        }
    }

    /// Bytes not read yet.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Current offset in the body.
    #[inline]
    pub fn pos(&self) -> usize {
        self.origin + self.pos
    }

    /// True when every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// An error at the current position.
    pub fn error(&self, what: impl Into<String>) -> DecodeError {
        DecodeError {
            at: self.pos(),
            what: what.into(),
        }
    }

    /// Reads one byte.
    #[inline]
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        match self.buf.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(self.error("unexpected end of chunk body")),
        }
    }

    /// Reads `n` bytes as a cursor of their own (same body offsets).
    pub fn sub(&mut self, n: usize) -> Result<Cursor<'a>, DecodeError> {
        let origin = self.pos();
        Ok(Cursor::at(self.bytes(n)?, origin))
    }

    /// Reads `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(self.error(format!(
                "field of {n} bytes overruns the chunk body ({} left)",
                self.remaining()
            )));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Reads an unsigned LEB128 varint of at most 10 bytes that fits a `u64`.
    #[inline]
    pub fn varint(&mut self) -> Result<u64, DecodeError> {
        // Fast path: one byte.
        if let Some(&b) = self.buf.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(b as u64);
            }
        }
        self.varint_slow()
    }

    fn varint_slow(&mut self) -> Result<u64, DecodeError> {
        let mut v: u64 = 0;
        for i in 0..MAX_VARINT_LEN {
            let b = self.u8()?;
            let bits = (b & 0x7f) as u64;
            if i == MAX_VARINT_LEN - 1 && b > 1 {
                return Err(self.error("varint overflows 64 bits"));
            }
            v |= bits << (7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(self.error("varint longer than 10 bytes"))
    }

    /// Reads a varint that must not exceed `max`; `what` names it in the error.
    pub fn bounded(&mut self, max: u64, what: &str) -> Result<u64, DecodeError> {
        let at = self.pos();
        let v = self.varint()?;
        if v > max {
            return Err(DecodeError {
                at,
                what: format!("{what} {v} exceeds the limit {max}"),
            });
        }
        Ok(v)
    }

    /// Reads a zigzag-coded signed varint.
    #[inline]
    pub fn zigzag(&mut self) -> Result<i64, DecodeError> {
        Ok(unzigzag(self.varint()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_encodings() {
        let mut v = Vec::new();
        put_varint(&mut v, 0);
        put_varint(&mut v, 127);
        put_varint(&mut v, 128);
        put_varint(&mut v, 300);
        assert_eq!(v, [0x00, 0x7f, 0x80, 0x01, 0xac, 0x02]);
        assert_eq!(zigzag(0), 0);
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
        assert_eq!(zigzag(i64::MIN), u64::MAX);
        assert_eq!(zigzag(i64::MAX), u64::MAX - 1);
    }

    #[test]
    fn refuses_overlong_and_overflowing() {
        assert!(Cursor::new(&[0xff; 11]).varint().is_err());
        let mut over = vec![0xff; 9];
        over.push(0x02);
        assert!(Cursor::new(&over).varint().is_err());
        let mut max = vec![0xff; 9];
        max.push(0x01);
        assert_eq!(Cursor::new(&max).varint().unwrap(), u64::MAX);
        assert!(Cursor::new(&[0x80]).varint().is_err());
        assert!(Cursor::new(&[]).u8().is_err());
        assert!(Cursor::new(&[1, 2]).bytes(3).is_err());
    }

    proptest! {
        #[test]
        fn varint_and_zigzag_round_trip(v: u64, s: i64) {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            put_varint(&mut buf, zigzag(s));
            prop_assert!(buf.len() <= 2 * MAX_VARINT_LEN);
            let mut c = Cursor::new(&buf);
            prop_assert_eq!(c.varint().unwrap(), v);
            prop_assert_eq!(c.zigzag().unwrap(), s);
            prop_assert!(c.is_empty());
        }
    }
}
