//! Column codecs of the samples section. A samples section stores 13 byte
//! streams: every column of every cgroup group puts its layout bytes
//! (shift, presence) into the *structure* stream, its first residual into
//! the column's *firsts* stream and its other residuals into the column's
//! *rest* stream. Similar bytes end up next to each other, which is what
//! zstd compresses best.
//!
//! A residual stream: the common number of trailing zero bits of all
//! residuals (`shift`, 0 when all are zero) in the structure stream, then
//! each residual as `zigzag(residual as i64 >> shift)`. All arithmetic
//! wraps modulo 2^64, so every `u64` sequence round-trips.

use crate::trace::model::Sample;
use crate::trace::varint::{put_varint, zigzag, Cursor, DecodeError};

/// Presence byte: no value present.
pub const PRESENT_NONE: u8 = 0;
/// Presence byte: every value present.
pub const PRESENT_ALL: u8 = 1;
/// Presence byte: a bitmap of `ceil(n/8)` bytes follows (LSB first).
pub const PRESENT_BITMAP: u8 = 2;

/// Time form byte: a delta-of-delta residual stream follows.
pub const TIMES_EXPLICIT: u8 = 0;
/// Time form byte: the group has the same count and times as the previous
/// group of the section; nothing follows.
pub const TIMES_AS_PREVIOUS: u8 = 1;

/// The columns of a samples group, in stream order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// Sample times (delta-of-delta).
    Time = 0,
    /// Usage (delta).
    Usage = 1,
    /// Limit (delta, presence-coded).
    Limit = 2,
    /// Inactive file bytes (delta, presence-coded).
    InactiveFile = 3,
    /// Peak (delta, presence-coded, first value predicted by the usage).
    Peak = 4,
    /// Failcnt (delta, presence-coded).
    Failcnt = 5,
}

/// Index of the structure stream (group headers, shifts, presence bytes,
/// bitmaps).
pub const STRUCTURE: usize = 0;

impl Column {
    /// Index of the stream holding the first residual of this column of
    /// every group.
    pub const fn firsts(self) -> usize {
        1 + 2 * self as usize
    }

    /// Index of the stream holding the other residuals.
    pub const fn rest(self) -> usize {
        2 + 2 * self as usize
    }
}

/// Number of streams in a samples section: structure, then a firsts and a
/// rest stream per column.
pub const STREAMS: usize = 13;

/// What the first value of an optional column is coded relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstPrediction {
    /// Zero: the first residual is the value itself.
    Zero,
    /// The usage of the same sample.
    Usage,
}

/// An optional column of a sample.
#[derive(Debug, Clone, Copy)]
pub struct OptionalColumn {
    /// The column (stream indices).
    pub column: Column,
    /// The sample field it holds.
    pub field: fn(&mut Sample) -> &mut Option<u64>,
    /// The predictor of its first value.
    pub first: FirstPrediction,
}

/// The optional columns in stream order.
pub const OPTIONAL_COLUMNS: [OptionalColumn; 4] = [
    OptionalColumn {
        column: Column::Limit,
        field: |s| &mut s.limit,
        first: FirstPrediction::Zero,
    },
    OptionalColumn {
        column: Column::InactiveFile,
        field: |s| &mut s.inactive_file,
        first: FirstPrediction::Zero,
    },
    OptionalColumn {
        column: Column::Peak,
        field: |s| &mut s.peak,
        first: FirstPrediction::Usage,
    },
    OptionalColumn {
        column: Column::Failcnt,
        field: |s| &mut s.failcnt,
        first: FirstPrediction::Zero,
    },
];

/// Appends residuals: shift to the structure stream, the first residual to
/// the column's firsts stream, the others to its rest stream.
pub fn put_residuals(streams: &mut [Vec<u8>; STREAMS], column: Column, residuals: &[u64]) {
    let or = residuals.iter().fold(0u64, |a, &r| a | r);
    let shift = if or == 0 { 0 } else { or.trailing_zeros() };
    streams[STRUCTURE].push(shift as u8);
    for (i, &r) in residuals.iter().enumerate() {
        let to = if i == 0 {
            column.firsts()
        } else {
            column.rest()
        };
        put_varint(&mut streams[to], zigzag((r as i64) >> shift));
    }
}

/// Residuals of a delta-coded column: `v[i] - v[i-1]`, with `v[-1] = first_prev`.
pub fn delta_residuals(values: impl Iterator<Item = u64>, first_prev: u64, out: &mut Vec<u64>) {
    out.clear();
    let mut prev = first_prev;
    for v in values {
        out.push(v.wrapping_sub(prev));
        prev = v;
    }
}

/// Residuals of a delta-of-delta column: `d[i] - d[i-1]` where
/// `d[i] = t[i] - t[i-1]`, `t[-1] = base`, `d[-1] = 0`.
pub fn dod_residuals(times: impl Iterator<Item = u64>, base: u64, out: &mut Vec<u64>) {
    out.clear();
    let (mut prev, mut prev_delta) = (base, 0u64);
    for t in times {
        let d = t.wrapping_sub(prev);
        out.push(d.wrapping_sub(prev_delta));
        prev = t;
        prev_delta = d;
    }
}

/// Appends an optional column: presence byte (and bitmap if mixed) to the
/// structure stream, then the residuals of the present values.
pub fn put_optional(
    streams: &mut [Vec<u8>; STREAMS],
    column: Column,
    values: &[Option<u64>],
    first_prev: u64,
    scratch: &mut Vec<u64>,
) {
    let present = values.iter().filter(|v| v.is_some()).count();
    let structure = &mut streams[STRUCTURE];
    if present == 0 {
        structure.push(PRESENT_NONE);
        return;
    }
    if present == values.len() {
        structure.push(PRESENT_ALL);
    } else {
        structure.push(PRESENT_BITMAP);
        for bits in values.chunks(8) {
            let mut byte = 0u8;
            for (i, v) in bits.iter().enumerate() {
                byte |= (v.is_some() as u8) << i;
            }
            structure.push(byte);
        }
    }
    delta_residuals(values.iter().flatten().copied(), first_prev, scratch);
    put_residuals(streams, column, scratch);
}

/// Read side of a samples section: one cursor per stream.
#[derive(Debug)]
pub struct Streams<'a> {
    /// The cursors, indexed by stream.
    pub c: [Cursor<'a>; STREAMS],
}

impl<'a> Streams<'a> {
    /// Reads the shift of a residual stream of `n >= 1` entries, checking
    /// that they fit (each takes at least one byte: the first in the
    /// column's firsts stream, the others in its rest stream).
    fn shift(&mut self, column: Column, n: usize) -> Result<u32, DecodeError> {
        let s = &mut self.c[STRUCTURE];
        let shift = s.u8()?;
        if shift > 63 {
            return Err(s.error(format!("column shift {shift} exceeds 63")));
        }
        let rest = &self.c[column.rest()];
        if self.c[column.firsts()].is_empty() || n - 1 > rest.remaining() {
            return Err(rest.error(format!(
                "column of {n} values cannot fit in the {} bytes left",
                rest.remaining()
            )));
        }
        Ok(shift as u32)
    }

    #[inline]
    fn first(&mut self, column: Column, shift: u32) -> Result<u64, DecodeError> {
        residual(&mut self.c[column.firsts()], shift)
    }

    /// Decodes an explicit delta-of-delta time column of `n >= 1` entries
    /// into new samples of `cgroup` appended to `out`.
    pub fn read_times(
        &mut self,
        n: usize,
        base: u64,
        cgroup: u32,
        out: &mut Vec<Sample>,
    ) -> Result<(), DecodeError> {
        let shift = self.shift(Column::Time, n)?;
        out.reserve(n);
        let mut d = self.first(Column::Time, shift)?;
        let mut t = base.wrapping_add(d);
        out.push(sample(t, cgroup));
        let c = &mut self.c[Column::Time.rest()];
        for _ in 1..n {
            d = d.wrapping_add(residual(c, shift)?);
            t = t.wrapping_add(d);
            out.push(sample(t, cgroup));
        }
        Ok(())
    }

    /// Decodes the usage column into `samples` (non-empty).
    pub fn read_usage(&mut self, samples: &mut [Sample]) -> Result<(), DecodeError> {
        let shift = self.shift(Column::Usage, samples.len())?;
        let mut v = self.first(Column::Usage, shift)?;
        samples[0].usage = v;
        let c = &mut self.c[Column::Usage.rest()];
        for s in &mut samples[1..] {
            v = v.wrapping_add(residual(c, shift)?);
            s.usage = v;
        }
        Ok(())
    }

    /// Decodes an optional column into `samples` (usage already decoded).
    pub fn read_optional(
        &mut self,
        samples: &mut [Sample],
        col: OptionalColumn,
    ) -> Result<(), DecodeError> {
        let OptionalColumn {
            column,
            field,
            first,
        } = col;
        let n = samples.len();
        let s = &mut self.c[STRUCTURE];
        let bitmap = match s.u8()? {
            PRESENT_NONE => return Ok(()),
            PRESENT_ALL => None,
            PRESENT_BITMAP => {
                let bitmap = s.bytes(n.div_ceil(8))?;
                if !n.is_multiple_of(8) && bitmap[n / 8] >> (n % 8) != 0 {
                    return Err(s.error("presence bitmap has bits set past the last sample"));
                }
                Some(bitmap)
            }
            p => return Err(s.error(format!("presence byte {p} is not 0, 1 or 2"))),
        };
        let present = |i: usize| bitmap.is_none_or(|b| b[i / 8] >> (i % 8) & 1 == 1);
        let k = bitmap.map_or(n, |b| b.iter().map(|x| x.count_ones() as usize).sum());
        if k == 0 {
            return Ok(());
        }
        let shift = self.shift(column, k)?;
        let mut v: Option<u64> = None;
        for (i, s) in samples.iter_mut().enumerate() {
            if present(i) {
                let next = match v {
                    None => {
                        let prev = match first {
                            FirstPrediction::Zero => 0,
                            FirstPrediction::Usage => s.usage,
                        };
                        prev.wrapping_add(self.first(column, shift)?)
                    }
                    Some(p) => p.wrapping_add(residual(&mut self.c[column.rest()], shift)?),
                };
                *field(s) = Some(next);
                v = Some(next);
            }
        }
        Ok(())
    }
}

fn sample(time_ns: u64, cgroup: u32) -> Sample {
    Sample {
        time_ns,
        cgroup,
        usage: 0,
        limit: None,
        inactive_file: None,
        peak: None,
        failcnt: None,
    }
}

#[inline]
fn residual(c: &mut Cursor<'_>, shift: u32) -> Result<u64, DecodeError> {
    let z = c.varint()?;
    let v = (z >> 1) ^ (z & 1).wrapping_neg();
    Ok(v.wrapping_shl(shift))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cursors(streams: &[Vec<u8>; STREAMS]) -> Streams<'_> {
        Streams {
            c: std::array::from_fn(|i| Cursor::new(&streams[i])),
        }
    }

    proptest! {
        #[test]
        fn columns_round_trip(
            times in proptest::collection::vec(any::<u64>(), 1..40),
            usage_pages in proptest::collection::vec(0u64..1000, 40),
            opt in proptest::collection::vec(proptest::option::of(any::<u64>()), 40),
            base: u64,
        ) {
            let n = times.len();
            let usage: Vec<u64> = usage_pages[..n].iter().map(|p| p * 4096).collect();
            let mut st: [Vec<u8>; STREAMS] = Default::default();
            let mut scratch = Vec::new();
            dod_residuals(times.iter().copied(), base, &mut scratch);
            put_residuals(&mut st, Column::Time, &scratch);
            delta_residuals(usage.iter().copied(), 0, &mut scratch);
            put_residuals(&mut st, Column::Usage, &scratch);
            let first_usage = opt[..n].iter().position(|v| v.is_some()).map_or(0, |i| usage[i]);
            put_optional(&mut st, Column::Peak, &opt[..n], first_usage, &mut scratch);
            let mut c = cursors(&st);
            let mut s = Vec::new();
            c.read_times(n, base, 3, &mut s).unwrap();
            c.read_usage(&mut s).unwrap();
            c.read_optional(&mut s, OPTIONAL_COLUMNS[2]).unwrap();
            prop_assert!(c.c.iter().all(|c| c.is_empty()));
            for i in 0..n {
                prop_assert_eq!(s[i].time_ns, times[i]);
                prop_assert_eq!(s[i].usage, usage[i]);
                prop_assert_eq!(s[i].peak, opt[i]);
                prop_assert_eq!(s[i].cgroup, 3);
            }
        }
    }

    #[test]
    fn shift_removes_page_granularity() {
        let mut st: [Vec<u8>; STREAMS] = Default::default();
        put_residuals(&mut st, Column::Usage, &[4096, 8192u64.wrapping_neg(), 0]);
        assert_eq!(st[STRUCTURE], [12]);
        assert_eq!(st[Column::Usage.firsts()], [2]);
        assert_eq!(st[Column::Usage.rest()], [3, 0]);
    }

    #[test]
    fn refuses_counts_larger_than_the_streams() {
        let mut st: [Vec<u8>; STREAMS] = Default::default();
        st[STRUCTURE] = vec![0];
        st[Column::Time.firsts()] = vec![0];
        st[Column::Time.rest()] = vec![0, 0];
        let mut s = Vec::new();
        assert!(cursors(&st).read_times(1 << 40, 0, 0, &mut s).is_err());
        assert!(s.capacity() < 1000);
    }
}
