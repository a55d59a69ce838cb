//! Column codecs of the samples section: residual streams (delta or
//! delta-of-delta, common power-of-two factor shifted out, zigzag varints)
//! and presence-coded optional columns.
//!
//! All arithmetic wraps modulo 2^64, so every `u64` sequence round-trips.

use crate::trace::model::Sample;
use crate::trace::varint::{put_varint, zigzag, Cursor, DecodeError};

/// Presence byte: no value present.
pub const PRESENT_NONE: u8 = 0;
/// Presence byte: every value present.
pub const PRESENT_ALL: u8 = 1;
/// Presence byte: a bitmap of `ceil(n/8)` bytes follows (LSB first).
pub const PRESENT_BITMAP: u8 = 2;

/// Appends a residual stream: one `shift` byte (the common number of
/// trailing zero bits of all residuals, 0 when all are zero), then each
/// residual as `zigzag(residual as i64 >> shift)`.
pub fn put_residuals(out: &mut Vec<u8>, residuals: &[u64]) {
    let or = residuals.iter().fold(0u64, |a, &r| a | r);
    let shift = if or == 0 { 0 } else { or.trailing_zeros() };
    out.push(shift as u8);
    for &r in residuals {
        put_varint(out, zigzag((r as i64) >> shift));
    }
}

/// Residuals of a delta-coded column: `v[i] - v[i-1]`, with `v[-1] = 0`.
pub fn delta_residuals(values: impl Iterator<Item = u64>, out: &mut Vec<u64>) {
    out.clear();
    let mut prev = 0u64;
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

/// Reads the shift byte of a residual stream of `n` entries, checking that
/// `n` entries can fit in what is left (each takes at least one byte).
fn read_shift(c: &mut Cursor<'_>, n: usize) -> Result<u32, DecodeError> {
    let shift = c.u8()?;
    if shift > 63 {
        return Err(c.error(format!("column shift {shift} exceeds 63")));
    }
    if n > c.remaining() {
        return Err(c.error(format!(
            "column of {n} values cannot fit in the {} bytes left",
            c.remaining()
        )));
    }
    Ok(shift as u32)
}

#[inline]
fn residual(c: &mut Cursor<'_>, shift: u32) -> Result<u64, DecodeError> {
    let z = c.varint()?;
    let v = ((z >> 1) ^ (z & 1).wrapping_neg()) as i64;
    Ok((v as u64).wrapping_shl(shift))
}

/// Decodes a delta-of-delta time column into new samples of `cgroup`
/// appended to `out` (other fields zero/`None`).
pub fn read_times(
    c: &mut Cursor<'_>,
    n: usize,
    base: u64,
    cgroup: u32,
    out: &mut Vec<Sample>,
) -> Result<(), DecodeError> {
    let shift = read_shift(c, n)?;
    out.reserve(n);
    let (mut t, mut d) = (base, 0u64);
    for _ in 0..n {
        d = d.wrapping_add(residual(c, shift)?);
        t = t.wrapping_add(d);
        out.push(Sample {
            time_ns: t,
            cgroup,
            usage: 0,
            limit: None,
            inactive_file: None,
            peak: None,
            failcnt: None,
        });
    }
    Ok(())
}

/// Decodes the delta-coded usage column into `samples`.
pub fn read_usage(c: &mut Cursor<'_>, samples: &mut [Sample]) -> Result<(), DecodeError> {
    let shift = read_shift(c, samples.len())?;
    let mut v = 0u64;
    for s in samples {
        v = v.wrapping_add(residual(c, shift)?);
        s.usage = v;
    }
    Ok(())
}

/// Appends an optional column: presence byte, bitmap if mixed, then the
/// delta residual stream of the present values (absent when none is).
pub fn put_optional(out: &mut Vec<u8>, values: &[Option<u64>], scratch: &mut Vec<u64>) {
    let present = values.iter().filter(|v| v.is_some()).count();
    if present == 0 {
        out.push(PRESENT_NONE);
        return;
    }
    if present == values.len() {
        out.push(PRESENT_ALL);
    } else {
        out.push(PRESENT_BITMAP);
        for bits in values.chunks(8) {
            let mut byte = 0u8;
            for (i, v) in bits.iter().enumerate() {
                byte |= (v.is_some() as u8) << i;
            }
            out.push(byte);
        }
    }
    delta_residuals(values.iter().flatten().copied(), scratch);
    put_residuals(out, scratch);
}

/// Decodes an optional column into the field `field` of `samples`.
pub fn read_optional(
    c: &mut Cursor<'_>,
    samples: &mut [Sample],
    field: impl Fn(&mut Sample) -> &mut Option<u64>,
) -> Result<(), DecodeError> {
    let n = samples.len();
    match c.u8()? {
        PRESENT_NONE => Ok(()),
        PRESENT_ALL => {
            let shift = read_shift(c, n)?;
            let mut v = 0u64;
            for s in samples {
                v = v.wrapping_add(residual(c, shift)?);
                *field(s) = Some(v);
            }
            Ok(())
        }
        PRESENT_BITMAP => {
            let bitmap = c.bytes(n.div_ceil(8))?;
            if !n.is_multiple_of(8) && bitmap[n / 8] >> (n % 8) != 0 {
                return Err(c.error("presence bitmap has bits set past the last sample"));
            }
            let k: usize = bitmap.iter().map(|b| b.count_ones() as usize).sum();
            if k == 0 {
                return Ok(());
            }
            let shift = read_shift(c, k)?;
            let mut v = 0u64;
            for (i, s) in samples.iter_mut().enumerate() {
                if bitmap[i / 8] >> (i % 8) & 1 == 1 {
                    v = v.wrapping_add(residual(c, shift)?);
                    *field(s) = Some(v);
                }
            }
            Ok(())
        }
        p => Err(c.error(format!("presence byte {p} is not 0, 1 or 2"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
            let mut buf = Vec::new();
            let mut scratch = Vec::new();
            dod_residuals(times.iter().copied(), base, &mut scratch);
            put_residuals(&mut buf, &scratch);
            delta_residuals(usage.iter().copied(), &mut scratch);
            put_residuals(&mut buf, &scratch);
            put_optional(&mut buf, &opt[..n], &mut scratch);
            let mut c = Cursor::new(&buf);
            let mut s = Vec::new();
            read_times(&mut c, n, base, 3, &mut s).unwrap();
            read_usage(&mut c, &mut s).unwrap();
            read_optional(&mut c, &mut s, |s| &mut s.peak).unwrap();
            prop_assert!(c.is_empty());
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
        let mut buf = Vec::new();
        put_residuals(&mut buf, &[4096, 8192u64.wrapping_neg(), 0]);
        assert_eq!(buf, [12, 2, 3, 0]);
    }

    #[test]
    fn refuses_counts_larger_than_the_body() {
        let buf = [0u8, 0, 0];
        let mut s = Vec::new();
        assert!(read_times(&mut Cursor::new(&buf), 1 << 40, 0, 0, &mut s).is_err());
        assert!(s.capacity() < 1000);
    }
}
