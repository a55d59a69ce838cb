//! The reader's byte source: an `io::Read` with an offset counter and a
//! push-back buffer, so a resync scan can return bytes it looked ahead at.

use std::io::{self, Read};

/// Size of the blocks a resync scan reads.
const SCAN_BLOCK: usize = 64 * 1024;

/// An `io::Read` that counts consumed bytes and can un-read a lookahead.
#[derive(Debug)]
pub struct Source<R> {
    inner: R,
    /// Bytes pushed back, read before `inner`, from `back_pos`.
    back: Vec<u8>,
    back_pos: usize,
    /// Offset of the next byte [`Source::read_up_to`] returns.
    offset: u64,
}

impl<R: Read> Source<R> {
    /// Wraps `inner`, whose next byte is at `offset` in the file.
    pub fn new(inner: R, offset: u64) -> Self {
        Source {
            inner,
            back: Vec::new(),
            back_pos: 0,
            offset,
        }
    }

    /// Offset of the next byte.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.back_pos < self.back.len() {
            let n = (self.back.len() - self.back_pos).min(buf.len());
            buf[..n].copy_from_slice(&self.back[self.back_pos..self.back_pos + n]);
            self.back_pos += n;
            if self.back_pos == self.back.len() {
                self.back.clear();
                self.back_pos = 0;
            }
            return Ok(n);
        }
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return r,
            }
        }
    }

    /// Fills `buf` as far as the input allows; returns the count (less than
    /// `buf.len()` only at end of input).
    pub fn read_up_to(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut have = 0;
        while have < buf.len() {
            let n = self.read_some(&mut buf[have..])?;
            if n == 0 {
                break;
            }
            have += n;
        }
        self.offset += have as u64;
        Ok(have)
    }

    /// Replaces `buf`'s content with up to `n` next bytes, growing it only as
    /// data arrives (a torn chunk claiming a large length allocates no more
    /// than the file holds). Returns the count read.
    pub fn read_into_vec(&mut self, buf: &mut Vec<u8>, n: usize) -> io::Result<usize> {
        buf.clear();
        let mut block = [0u8; 16 * 1024];
        while buf.len() < n {
            let want = (n - buf.len()).min(block.len());
            let got = self.read_up_to(&mut block[..want])?;
            buf.extend_from_slice(&block[..got]);
            if got < want {
                break;
            }
        }
        Ok(buf.len())
    }

    /// Discards up to `n` bytes without storing them; returns the count.
    pub fn skip(&mut self, n: u64) -> io::Result<u64> {
        let mut block = [0u8; 16 * 1024];
        let mut done = 0u64;
        while done < n {
            let want = (n - done).min(block.len() as u64) as usize;
            let got = self.read_up_to(&mut block[..want])?;
            done += got as u64;
            if got < want {
                break;
            }
        }
        Ok(done)
    }

    /// Scans forward for the first position where `accept` holds on a
    /// `window`-byte window, starting with the bytes in `start` (already
    /// consumed). On success the window is pushed back so the next read
    /// returns it, and the number of bytes skipped is returned; at end of
    /// input returns `Ok(None)` with everything consumed. Memory stays
    /// bounded by one scan block plus a window.
    pub fn scan_for(
        &mut self,
        start: &[u8],
        window: usize,
        accept: impl Fn(&[u8]) -> bool,
    ) -> io::Result<Option<u64>> {
        let mut buf: Vec<u8> = start.to_vec();
        let mut skipped: u64 = 0;
        let mut eof = false;
        loop {
            let mut i = 0;
            while i + window <= buf.len() {
                if accept(&buf[i..i + window]) {
                    skipped += i as u64;
                    // Un-read buf[i..]: it was counted in `offset` already.
                    let rest = buf[i..].to_vec();
                    self.offset -= rest.len() as u64;
                    let mut back = rest;
                    back.extend_from_slice(&self.back[self.back_pos..]);
                    self.back = back;
                    self.back_pos = 0;
                    return Ok(Some(skipped));
                }
                i += 1;
            }
            if eof {
                return Ok(None);
            }
            // Keep the last window-1 bytes, which may start a match.
            let keep = buf.len().min(window - 1);
            let drop = buf.len() - keep;
            skipped += drop as u64;
            buf.drain(..drop);
            let old = buf.len();
            buf.resize(old + SCAN_BLOCK, 0);
            let got = self.read_up_to(&mut buf[old..])?;
            buf.truncate(old + got);
            if got < SCAN_BLOCK {
                eof = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_pushes_back_the_match() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut s = Source::new(&data[..], 0);
        let mut first = [0u8; 10];
        assert_eq!(s.read_up_to(&mut first).unwrap(), 10);
        // Find the window [250, 0, 1] (first at index 250).
        let skipped = s
            .scan_for(&first[1..], 3, |w| w == [250, 0, 1])
            .unwrap()
            .unwrap();
        assert_eq!(skipped, 249);
        assert_eq!(s.offset(), 250);
        let mut next = [0u8; 4];
        s.read_up_to(&mut next).unwrap();
        assert_eq!(next, [250, 0, 1, 2]);
        assert!(s.scan_for(&[], 3, |_| false).unwrap().is_none());
        assert_eq!(s.offset(), data.len() as u64);
    }

    #[test]
    fn read_into_vec_stops_at_end() {
        let data = [7u8; 100];
        let mut s = Source::new(&data[..], 5);
        let mut v = Vec::new();
        assert_eq!(s.read_into_vec(&mut v, 1 << 26).unwrap(), 100);
        assert!(v.capacity() < 1 << 20);
        assert_eq!(s.offset(), 105);
        assert_eq!(s.skip(10).unwrap(), 0);
    }
}
