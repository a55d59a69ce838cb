//! The bad-input corpus: malformed traces, CSV, stats files and command
//! lines given to `cgrec`, `cgsim` and `cgact` as processes. Each case must
//! exit with the stated code (1 runtime error, 2 usage error), name the
//! problem and where it is on stderr (asserted substrings), never panic or
//! print a backtrace, finish within [`CASE_TIMEOUT`] (else it is killed and
//! the test fails) and stay within [`MEMORY_LIMIT`]: each case runs inside a
//! v1 memory cgroup of that size under a `LiveParent` (an OOM kill shows as a
//! death by signal and fails the case), or, where no writable v1 memory
//! hierarchy exists, with `RLIMIT_AS` at [`ADDRESS_SPACE_LIMIT`] after a
//! `SKIP:` line.
//!
//! The files live in `tests/bad_inputs/`. The binary ones (every `trace-*`
//! file and the CSV files with a NUL, invalid UTF-8 or an oversized field)
//! are made by [`generated_files`]; the test checks the committed copies
//! against it, and `CGCAL_BLESS=1` rewrites them. `T` below is
//! `traces/sample-live.bin` (root `/cgcal-sample`); `LIVE` is the test's own
//! live parent cgroup.
//!
//! | # | input | command | exit | stderr names |
//! |---|---|---|---|---|
//! | 1 | `trace-empty.bin` (0 bytes) | `cgrec stats` | 1 | file, bytes 0..8 empty |
//! | 2 | `trace-wrong-magic.bin` | `cgrec inspect` | 1 | file, not a cgcal trace, found bytes |
//! | 3 | `trace-newer-major.bin` (2.0, valid CRC) | `cgrec export` | 1 | file, format 2.0, byte offset 8 |
//! | 4 | `trace-torn-header.bin` | `cgrec stats` | 1 | file, offset of the end, bytes needed |
//! | 5 | `trace-header-crc.bin` | `cgsim replay` | 1 | file, header CRC mismatch, byte range |
//! | 6 | `trace-header-too-large.bin` (2 MiB header body) | `cgrec inspect` | 1 | file, length and limit |
//! | 7 | `trace-huge-chunk.bin` (frame claims 4 GiB - 64 KiB) | `cgsim replay` | 1 | chunk offset 98, limit |
//! | 8 | `trace-crc-mismatch.bin` | `cgsim replay` | 1 | chunk offset 98, payload CRC mismatch |
//! | 9 | `trace-zstd-bomb.bin` (9.6 KB chunk, 300 MiB of RLE zeros, declares 4 KiB) | `cgsim replay` | 1 | chunk offset 98, zstd error |
//! | 10 | `trace-body-too-large.bin` (declares 256 MiB + 1) | `cgsim replay` | 1 | chunk offset 98, body limit |
//! | 11 | `trace-bad-body.bin` (valid CRC and zstd, garbage body) | `cgsim replay` | 1 | chunk offset 98, undecodable |
//! | 12 | `trace-torn-chunk.bin` | `cgsim replay` | 1 | chunk offset 98, torn tail |
//! | 13 | `trace-garbage-after-header.bin` | `cgsim replay` | 1 | offset 98, no valid chunk frame |
//! | 14 | `csv-empty.csv` | `cgrec import` | 1 | FILE:1:1, empty file |
//! | 15 | `csv-wrong-header.csv` | `cgrec import` | 1 | FILE:1:1, header field |
//! | 16 | `csv-not-a-number.csv` | `cgrec import` | 1 | FILE:2:31, usage_bytes |
//! | 17 | `csv-negative.csv` | `cgrec import` | 1 | FILE:2:31, negative |
//! | 18 | `csv-overflow.csv` | `cgrec import` | 1 | FILE:2:31, at most 2^64-1 |
//! | 19 | `csv-unknown-kind.csv` | `cgrec import` | 1 | FILE:2:24, unknown kind |
//! | 20 | `csv-no-leading-slash.csv` | `cgrec import` | 1 | FILE:2:21, leading `/` |
//! | 21 | `csv-dotdot.csv` | `cgrec import` | 1 | FILE:2:21, `..` |
//! | 22 | `csv-nul-in-name.csv` | `cgrec import` | 1 | FILE:2:21, control character |
//! | 23 | `csv-invalid-utf8.csv` | `cgrec import` | 1 | FILE:2:21, invalid UTF-8 |
//! | 24 | `csv-field-count.csv` | `cgrec import` | 1 | FILE:2, 4 fields |
//! | 25 | `csv-unclosed-quote.csv` | `cgrec import` | 1 | FILE, quoted field not closed |
//! | 26 | `csv-limit-with-usage.csv` | `cgrec import` | 1 | FILE:2:30, usage_bytes must be empty |
//! | 27 | `csv-huge-field.csv` (a 10,000-byte name) | `cgrec import` | 1 | FILE:2, field too long |
//! | 28 | `stats-wrong-type.json` | `cgsim replay T --stats` | 1 | file, cgroup, key, string |
//! | 29 | `stats-negative.json` | `cgsim replay T --stats` | 1 | file, cgroup, key, negative |
//! | 30 | `stats-min-gt-max.json` | `cgsim replay T --stats` | 1 | file, cgroup, min > max |
//! | 31 | `stats-missing-key.json` | `cgsim replay T --stats` | 1 | file, cgroup, median missing |
//! | 32 | `stats-beyond-u64.json` | `cgsim replay T --stats` | 1 | file, cgroup, key, beyond u64 |
//! | 33 | `stats-outside-root.json` | `cgsim replay T --stats` | 1 | file, cgroup, root |
//! | 34 | `stats-dotdot-name.json` | `cgsim replay T --stats` | 1 | file, name, `..` |
//! | 35 | `stats-float.json` | `cgsim replay T --stats` | 1 | file, cgroup, key, float |
//! | 36 | `stats-duplicate-key.json` | `cgsim replay T --stats` | 1 | file, cgroup, key twice |
//! | 37 | `stats-not-an-object.json` | `cgsim replay T --stats` | 1 | file, not an object |
//! | 38 | `stats-truncated.json` | `cgsim replay T --stats` | 1 | file, line and column |
//! | 39 | `--interval 0s` | `cgrec record` | 2 | `--interval`, greater than zero |
//! | 40 | `--interval=-1s` | `cgrec record` | 2 | `--interval`, negative |
//! | 41 | `--flush 0ms` | `cgrec record` | 2 | `--flush`, greater than zero |
//! | 42 | `--from +10m --to +5m` | `cgrec stats T` | 2 | `--from` after `--to` |
//! | 43 | `--from 2026-13-01T00:00:00Z` | `cgrec stats T` | 2 | `--from`, month |
//! | 44 | `--percentiles 0` | `cgrec stats T` | 2 | `--percentiles`, (0, 100] |
//! | 45 | `--threshold 0` | `cgsim replay T` | 2 | `--threshold`, (0, 1] |
//! | 46 | `--threshold 1.5` | `cgact` | 2 | `--threshold`, (0, 1] |
//! | 47 | `--root /tmp` | `cgrec record` | 1 | /tmp, not a cgroup filesystem |
//! | 48 | `--root /tmp` | `cgact --stats` | 1 | /tmp, not a cgroup filesystem |
//! | 49 | `stats-min-gt-max.json` on `LIVE` | `cgact --root LIVE --stats --dry-run --once` | 1 | file, cgroup, min > max |
//! | 50 | `stats-beyond-u64.json` on `LIVE` | `cgact --root LIVE --stats --dry-run --once` | 1 | file, cgroup, beyond u64 |
//! | 51 | `stats-outside-root.json` on `LIVE` | `cgact --root LIVE --stats --dry-run --once` | 1 | file, cgroup, root |
//! | 52 | `/dev/zero` (endless, no size) | `cgsim replay T --stats` | 1 | file, size bound |
//! | 53 | `/dev/zero` on `LIVE` | `cgact --root LIVE --stats --dry-run --once` | 1 | file, size bound |
//!
//! Cases 49 to 51 need the live parent (`cgact` refuses a root that is not a
//! cgroup filesystem); they are skipped with the memory cgroup. Their files
//! are the `stats-*` files above with `/cgcal-sample` replaced by `LIVE`.
//! Cases 52 and 53 read 64 MiB before refusing (the stats loaders' bound),
//! so they run in a jail of [`ENDLESS_INPUT_LIMIT`] (live only). Case 52 was
//! a finding: `cgsim` checked the file's size, then read it without bound, so
//! `/dev/zero` or a FIFO grew its memory until the OOM killer came.

use std::fs::{self, File};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use cgcal_core::name::CgroupName;
use cgcal_core::trace::layout::{FrameHeader, KIND_DATA, MAX_BODY_LEN};
use cgcal_core::trace::{CgroupVersion, Header, Sample, TraceWriter};
use cgcal_testkit::{bin_path, LiveParent};

/// Longest a case may run before it is killed and the test fails.
const CASE_TIMEOUT: Duration = Duration::from_secs(60);
/// Memory limit of the cgroup each case runs in.
const MEMORY_LIMIT: u64 = 64 << 20;
/// `RLIMIT_AS` of each case where no memory cgroup can be made.
const ADDRESS_SPACE_LIMIT: u64 = 1 << 30;
/// The sample trace shipped in `traces/`.
const SAMPLE_TRACE: &str = "traces/sample-live.bin";
/// 2026-01-01T00:00:00Z in nanoseconds.
const T0: u64 = 1_767_225_600_000_000_000;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs")
}

fn repo_file(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(rel)
        .display()
        .to_string()
}

// ---------------------------------------------------------------------------
// The generator of the binary inputs.

/// A small valid trace: header (98 bytes), then one chunk of two samples.
fn base_trace() -> Vec<u8> {
    let mut w = TraceWriter::new(Vec::new(), &base_header()).unwrap();
    let a = w.cgroup_id(&CgroupName::parse("/cgcal-sample/web").unwrap(), T0);
    for (i, usage) in [4096u64, 8192].into_iter().enumerate() {
        let s = Sample {
            time_ns: T0 + i as u64 * 1_000_000_000,
            cgroup: a,
            usage,
            limit: Some(1 << 20),
            inactive_file: None,
            peak: None,
            failcnt: None,
        };
        w.push_sample(s).unwrap();
    }
    w.finish().unwrap()
}

fn base_header() -> Header {
    Header {
        host: "bad-inputs".into(),
        kernel: "6.1".into(),
        cgroup_version: CgroupVersion::V1,
        root: CgroupName::parse("/cgcal-sample").unwrap(),
        interval_ns: 1_000_000_000,
        host_memory: None,
        start_ns: T0,
        tool: "bad-inputs".into(),
    }
}

/// Length of [`base_header`] encoded: where the first chunk starts.
fn header_len() -> usize {
    let h = TraceWriter::new(Vec::new(), &base_header())
        .unwrap()
        .finish()
        .unwrap();
    h.len()
}

/// Recomputes the file header CRC (over bytes 8..16 and the header body).
fn fix_header_crc(f: &mut [u8]) {
    let body_end = header_len();
    let crc = crc32c::crc32c_append(crc32c::crc32c(&f[8..16]), &f[20..body_end]);
    f[16..20].copy_from_slice(&crc.to_le_bytes());
}

/// The header followed by one data chunk with payload `stored`, CRCs right.
fn with_chunk(stored: &[u8]) -> Vec<u8> {
    let mut f = base_trace();
    f.truncate(header_len());
    let frame = FrameHeader {
        kind: KIND_DATA,
        seq: 0,
        stored_len: stored.len() as u32,
        payload_crc: crc32c::crc32c(stored),
    };
    f.extend_from_slice(&frame.encode());
    f.extend_from_slice(stored);
    f
}

/// A zstd frame, written out by hand (RFC 8878): no content size, a
/// 128 KiB window, then `len` copies of `byte` as RLE blocks of at most
/// 128 KiB (4 bytes each). 300 MiB of zeros take 9.6 KB.
fn zstd_rle_frame(byte: u8, len: u64) -> Vec<u8> {
    const BLOCK: u64 = 128 << 10;
    let mut f = 0xFD2F_B528u32.to_le_bytes().to_vec();
    f.push(0x00); // frame header descriptor: no content size, no checksum, no dictionary
    f.push(7 << 3); // window descriptor: 2^(10+7) = 128 KiB
    let mut left = len;
    while left > 0 {
        let n = left.min(BLOCK);
        left -= n;
        let last = u32::from(left == 0);
        let header = last | (1 << 1) | ((n as u32) << 3); // block type 1: RLE
        f.extend_from_slice(&header.to_le_bytes()[..3]);
        f.push(byte);
    }
    f
}

/// A chunk payload: the declared body length, then a zstd frame.
fn payload(declared: u32, frame: &[u8]) -> Vec<u8> {
    let mut p = declared.to_le_bytes().to_vec();
    p.extend_from_slice(frame);
    p
}

const CSV_HEADER_LINE: &[u8] = b"timestamp_ns,cgroup,kind,usage_bytes,limit_bytes\n";

fn csv_with_name(name: &[u8]) -> Vec<u8> {
    let mut f = CSV_HEADER_LINE.to_vec();
    f.extend_from_slice(b"1767225600000000000,");
    f.extend_from_slice(name);
    f.extend_from_slice(b",sample,1,\n");
    f
}

/// Every generated file of the corpus, by name.
fn generated_files() -> Vec<(&'static str, Vec<u8>)> {
    let base = base_trace();
    let hl = header_len();
    let mut files = vec![("trace-empty.bin", Vec::new())];
    let mut f = base.clone();
    f[..8].copy_from_slice(b"NOTCGCAL");
    files.push(("trace-wrong-magic.bin", f));
    let mut f = base.clone();
    f[8..10].copy_from_slice(&2u16.to_le_bytes());
    fix_header_crc(&mut f);
    files.push(("trace-newer-major.bin", f));
    files.push(("trace-torn-header.bin", base[..hl / 2].to_vec()));
    let mut f = base.clone();
    f[24] ^= 0x20; // a letter of the host name
    files.push(("trace-header-crc.bin", f));
    let mut f = base.clone();
    f[12..16].copy_from_slice(&(2u32 << 20).to_le_bytes());
    files.push(("trace-header-too-large.bin", f));
    let mut f = base[..hl].to_vec();
    let frame = FrameHeader {
        kind: KIND_DATA,
        seq: 0,
        stored_len: u32::MAX - (64 << 10),
        payload_crc: 0,
    };
    f.extend_from_slice(&frame.encode());
    f.extend_from_slice(&[0u8; 16]);
    files.push(("trace-huge-chunk.bin", f));
    let mut f = base.clone();
    let last = f.len() - 1;
    f[last] ^= 0xff;
    files.push(("trace-crc-mismatch.bin", f));
    let bomb = zstd_rle_frame(0, 300 << 20);
    files.push(("trace-zstd-bomb.bin", with_chunk(&payload(4096, &bomb))));
    let small = zstd_rle_frame(0, 64);
    files.push((
        "trace-body-too-large.bin",
        with_chunk(&payload(MAX_BODY_LEN + 1, &small)),
    ));
    let junk = zstd_rle_frame(0xff, 64);
    files.push(("trace-bad-body.bin", with_chunk(&payload(64, &junk))));
    files.push(("trace-torn-chunk.bin", base[..base.len() - 10].to_vec()));
    let mut f = base[..hl].to_vec();
    f.extend((0..100u32).map(|i| (i * 37 % 251) as u8));
    files.push(("trace-garbage-after-header.bin", f));
    files.push(("csv-nul-in-name.csv", csv_with_name(b"/apps/w\0eb")));
    files.push(("csv-invalid-utf8.csv", csv_with_name(b"/apps/w\xc3\x28eb")));
    let mut long = b"/".to_vec();
    long.resize(10_000, b'a');
    files.push(("csv-huge-field.csv", csv_with_name(&long)));
    files
}

#[test]
fn generated_files_match_the_corpus() {
    let bless = std::env::var_os("CGCAL_BLESS").is_some_and(|v| v == "1");
    let dir = corpus_dir();
    let mut stale = Vec::new();
    for (name, bytes) in generated_files() {
        let path = dir.join(name);
        if bless {
            fs::write(&path, &bytes).unwrap();
        } else if fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "tests/bad_inputs out of date (rerun with CGCAL_BLESS=1): {stale:?}"
    );
    let bomb = fs::metadata(dir.join("trace-zstd-bomb.bin")).unwrap().len();
    assert!(
        bomb < 16 << 10,
        "the zstd bomb should stay small: {bomb} bytes"
    );
}

// ---------------------------------------------------------------------------
// Running a case.

/// One malformed input and what the program must do with it.
struct Case {
    /// Row number in the module doc's table.
    id: u32,
    /// The program (`cgrec`, `cgsim`, `cgact`).
    program: &'static str,
    /// Its arguments; `@NAME` is `tests/bad_inputs/NAME`, `%T` the sample
    /// trace, `%OUT` a fresh output path, `%LIVE` the live parent's directory.
    args: &'static [&'static str],
    /// The exit code.
    exit: i32,
    /// Substrings stderr must hold.
    expect: &'static [&'static str],
}

const fn case(
    id: u32,
    program: &'static str,
    args: &'static [&'static str],
    exit: i32,
    expect: &'static [&'static str],
) -> Case {
    Case {
        id,
        program,
        args,
        exit,
        expect,
    }
}

/// Cases 1 to 48 (the table in the module doc).
#[rustfmt::skip]
const CASES: &[Case] = &[
    case(1, "cgrec", &["stats", "@trace-empty.bin"], 1, &["trace-empty.bin", "is not a cgcal trace", "bytes 0..8 are empty"]),
    case(2, "cgrec", &["inspect", "@trace-wrong-magic.bin"], 1, &["trace-wrong-magic.bin", "is not a cgcal trace", "0x4e4f5443"]),
    case(3, "cgrec", &["export", "--format", "csv", "@trace-newer-major.bin"], 1, &["trace-newer-major.bin", "trace format 2.0", "byte offset 8", "newer"]),
    case(4, "cgrec", &["stats", "@trace-torn-header.bin"], 1, &["trace-torn-header.bin", "ends at byte offset 49 inside the file header (98 bytes needed)"]),
    case(5, "cgsim", &["replay", "@trace-header-crc.bin"], 1, &["trace-header-crc.bin", "file header CRC mismatch over bytes 8..98"]),
    case(6, "cgrec", &["inspect", "@trace-header-too-large.bin"], 1, &["trace-header-too-large.bin", "2097152", "1048576"]),
    case(7, "cgsim", &["replay", "@trace-huge-chunk.bin"], 1, &["trace-huge-chunk.bin", "chunk 0 at byte offset 98", "stored chunk payload of 4294901759 bytes exceeds the limit 67108864"]),
    case(8, "cgsim", &["replay", "@trace-crc-mismatch.bin"], 1, &["trace-crc-mismatch.bin", "chunk 0 at byte offset 98", "payload CRC mismatch"]),
    case(9, "cgsim", &["replay", "@trace-zstd-bomb.bin"], 1, &["trace-zstd-bomb.bin", "chunk 0 at byte offset 98", "zstd"]),
    case(10, "cgsim", &["replay", "@trace-body-too-large.bin"], 1, &["trace-body-too-large.bin", "chunk 0 at byte offset 98", "decompressed chunk body of 268435457 bytes exceeds the limit 268435456"]),
    case(11, "cgsim", &["replay", "@trace-bad-body.bin"], 1, &["trace-bad-body.bin", "chunk 0 at byte offset 98", "undecodable chunk content"]),
    case(12, "cgsim", &["replay", "@trace-torn-chunk.bin"], 1, &["trace-torn-chunk.bin", "chunk 0 at byte offset 98", "torn tail"]),
    case(13, "cgsim", &["replay", "@trace-garbage-after-header.bin"], 1, &["trace-garbage-after-header.bin", "byte offset 98", "no valid chunk frame"]),
    case(14, "cgrec", &["import", "--format", "csv", "@csv-empty.csv", "-o", "%OUT"], 1, &["csv-empty.csv:1:1", "empty file"]),
    case(15, "cgrec", &["import", "--format", "csv", "@csv-wrong-header.csv", "-o", "%OUT"], 1, &["csv-wrong-header.csv:1:1", "header field 1 is \"time\""]),
    case(16, "cgrec", &["import", "--format", "csv", "@csv-not-a-number.csv", "-o", "%OUT"], 1, &["csv-not-a-number.csv:2:31", "usage_bytes \"12MB\""]),
    case(17, "cgrec", &["import", "--format", "csv", "@csv-negative.csv", "-o", "%OUT"], 1, &["csv-negative.csv:2:31", "usage_bytes \"-4096\"", "negative"]),
    case(18, "cgrec", &["import", "--format", "csv", "@csv-overflow.csv", "-o", "%OUT"], 1, &["csv-overflow.csv:2:31", "at most 18446744073709551615"]),
    case(19, "cgrec", &["import", "--format", "csv", "@csv-unknown-kind.csv", "-o", "%OUT"], 1, &["csv-unknown-kind.csv:2:24", "oom_killed"]),
    case(20, "cgrec", &["import", "--format", "csv", "@csv-no-leading-slash.csv", "-o", "%OUT"], 1, &["csv-no-leading-slash.csv:2:21", "apps/web"]),
    case(21, "cgrec", &["import", "--format", "csv", "@csv-dotdot.csv", "-o", "%OUT"], 1, &["csv-dotdot.csv:2:21", ".."]),
    case(22, "cgrec", &["import", "--format", "csv", "@csv-nul-in-name.csv", "-o", "%OUT"], 1, &["csv-nul-in-name.csv:2:21", "control character"]),
    case(23, "cgrec", &["import", "--format", "csv", "@csv-invalid-utf8.csv", "-o", "%OUT"], 1, &["csv-invalid-utf8.csv:2:21", "invalid UTF-8 in cgroup"]),
    case(24, "cgrec", &["import", "--format", "csv", "@csv-field-count.csv", "-o", "%OUT"], 1, &["csv-field-count.csv:2:", "4 fields, expected 5"]),
    case(25, "cgrec", &["import", "--format", "csv", "@csv-unclosed-quote.csv", "-o", "%OUT"], 1, &["csv-unclosed-quote.csv:", "quoted field is not closed"]),
    case(26, "cgrec", &["import", "--format", "csv", "@csv-limit-with-usage.csv", "-o", "%OUT"], 1, &["csv-limit-with-usage.csv:2:30", "usage_bytes must be empty in a limit row"]),
    case(27, "cgrec", &["import", "--format", "csv", "@csv-huge-field.csv", "-o", "%OUT"], 1, &["csv-huge-field.csv:2:", "field longer than 8192 bytes"]),
    case(28, "cgsim", &["replay", "%T", "--stats", "@stats-wrong-type.json"], 1, &["stats-wrong-type.json", "/cgcal-sample/web", "min_consumption", "string"]),
    case(29, "cgsim", &["replay", "%T", "--stats", "@stats-negative.json"], 1, &["stats-negative.json", "/cgcal-sample/web", "min_consumption", "-1"]),
    case(30, "cgsim", &["replay", "%T", "--stats", "@stats-min-gt-max.json"], 1, &["stats-min-gt-max.json", "/cgcal-sample/web", "\"min_consumption\" (8388608) is greater than"]),
    case(31, "cgsim", &["replay", "%T", "--stats", "@stats-missing-key.json"], 1, &["stats-missing-key.json", "/cgcal-sample/web", "median_consumption"]),
    case(32, "cgsim", &["replay", "%T", "--stats", "@stats-beyond-u64.json"], 1, &["stats-beyond-u64.json", "/cgcal-sample/web", "max_consumption", "too large for 64 bits"]),
    case(33, "cgsim", &["replay", "%T", "--stats", "@stats-outside-root.json"], 1, &["stats-outside-root.json", "/etc/web", "not inside the root \"/cgcal-sample\""]),
    case(34, "cgsim", &["replay", "%T", "--stats", "@stats-dotdot-name.json"], 1, &["stats-dotdot-name.json", "/cgcal-sample/../web", "not a valid cgroup name"]),
    case(35, "cgsim", &["replay", "%T", "--stats", "@stats-float.json"], 1, &["stats-float.json", "/cgcal-sample/web", "min_consumption"]),
    case(36, "cgsim", &["replay", "%T", "--stats", "@stats-duplicate-key.json"], 1, &["stats-duplicate-key.json", "/cgcal-sample/web", "min_consumption"]),
    case(37, "cgsim", &["replay", "%T", "--stats", "@stats-not-an-object.json"], 1, &["stats-not-an-object.json", "must be a JSON object"]),
    case(38, "cgsim", &["replay", "%T", "--stats", "@stats-truncated.json"], 1, &["stats-truncated.json", "not valid JSON at line 1, column"]),
    case(39, "cgrec", &["record", "--interval", "0s", "-o", "%OUT"], 2, &["--interval", "must be greater than zero"]),
    case(40, "cgrec", &["record", "--interval=-1s", "-o", "%OUT"], 2, &["--interval", "negative duration '-1s'"]),
    case(41, "cgrec", &["record", "--flush", "0ms", "-o", "%OUT"], 2, &["--flush", "must be greater than zero"]),
    case(42, "cgrec", &["stats", "%T", "--from", "+10m", "--to", "+5m"], 2, &["--from +10m is after --to +5m"]),
    case(43, "cgrec", &["stats", "%T", "--from", "2026-13-01T00:00:00Z"], 2, &["--from", "month"]),
    case(44, "cgrec", &["stats", "%T", "--percentiles", "0"], 2, &["--percentiles", "must be in (0, 100]"]),
    case(45, "cgsim", &["replay", "%T", "--threshold", "0"], 2, &["--threshold", "must be in (0, 1]"]),
    case(46, "cgact", &["--stats", "@stats-min-gt-max.json", "--threshold", "1.5"], 2, &["--threshold", "must be in (0, 1]"]),
    case(47, "cgrec", &["record", "--root", "/tmp", "--duration", "1s", "-o", "%OUT"], 1, &["/tmp is not on a cgroup filesystem"]),
    case(48, "cgact", &["--root", "/tmp", "--stats", "@stats-min-gt-max.json", "--once"], 1, &["/tmp is not on a cgroup filesystem"]),
];

/// Cases 49 to 51: `cgact` on the live parent (files: `@NAME` with
/// `/cgcal-sample` replaced by the live parent's name).
#[rustfmt::skip]
const LIVE_CASES: &[Case] = &[
    case(49, "cgact", &["--root", "%LIVE", "--stats", "@stats-min-gt-max.json", "--dry-run", "--once"], 1, &["stats-min-gt-max.json", "/web", "\"min_consumption\" (8388608) is greater than"]),
    case(50, "cgact", &["--root", "%LIVE", "--stats", "@stats-beyond-u64.json", "--dry-run", "--once"], 1, &["stats-beyond-u64.json", "/web", "max_consumption", "too large for 64 bits"]),
    case(51, "cgact", &["--root", "%LIVE", "--stats", "@stats-outside-root.json", "--dry-run", "--once"], 1, &["stats-outside-root.json", "/etc/web", "not inside the root"]),
];

/// Where the cases run: a v1 memory cgroup, else under `RLIMIT_AS`.
enum Jail {
    /// The case's process writes itself into this `cgroup.procs`.
    Cgroup { parent: LiveParent, procs: File },
    /// No memory cgroup: address-space limit only.
    AddressSpace,
}

impl Jail {
    /// A jail of `limit` bytes under a new live parent tagged `tag`.
    fn new(tag: &str, limit: u64) -> Jail {
        let Some(parent) = LiveParent::new(tag) else {
            println!(
                "SKIP: memory cgroup for the bad-input cases; they run under RLIMIT_AS {ADDRESS_SPACE_LIMIT} instead, and cases 49-51 are skipped"
            );
            return Jail::AddressSpace;
        };
        let dir = parent.child("run");
        parent.set_limit("run", limit);
        let procs = File::options()
            .write(true)
            .open(dir.join("cgroup.procs"))
            .expect("open cgroup.procs of the jail");
        Jail::Cgroup { parent, procs }
    }

    /// Arranges for `cmd`'s process to start inside the jail.
    fn apply(&self, cmd: &mut Command) {
        match self {
            Jail::Cgroup { procs, .. } => {
                let fd = procs.as_raw_fd();
                // SAFETY: only write(2) on an fd opened before the fork
                // (O_CLOEXEC, so the program never sees it), which is
                // async-signal-safe. "0" moves the writing process itself.
                unsafe {
                    cmd.pre_exec(move || {
                        if libc::write(fd, b"0\n".as_ptr().cast(), 2) < 0 {
                            return Err(io::Error::last_os_error());
                        }
                        Ok(())
                    });
                }
            }
            Jail::AddressSpace => {
                // SAFETY: setrlimit(2) is async-signal-safe.
                unsafe {
                    cmd.pre_exec(|| {
                        let lim = libc::rlimit {
                            rlim_cur: ADDRESS_SPACE_LIMIT,
                            rlim_max: ADDRESS_SPACE_LIMIT,
                        };
                        if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                            return Err(io::Error::last_os_error());
                        }
                        Ok(())
                    });
                }
            }
        }
    }

    /// Peak memory use of the jail since the last reset, then resets it.
    fn take_peak(&self) -> Option<u64> {
        let Jail::Cgroup { parent, .. } = self else {
            return None;
        };
        let f = parent.child("run").join("memory.max_usage_in_bytes");
        let peak = fs::read_to_string(&f).ok()?.trim().parse().ok();
        let _ = fs::write(&f, "0");
        peak
    }
}

/// Runs `cmd` in `jail`, killing it after [`CASE_TIMEOUT`]; `None` on timeout.
fn run_bounded(mut cmd: Command, jail: &Jail) -> Option<Output> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("CGCAL_LOG")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    jail.apply(&mut cmd);
    let mut child = cmd.spawn().expect("spawn the program");
    // Drain the pipes on threads so that a chatty program cannot block.
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = io::Read::read_to_end(&mut out_pipe, &mut b);
        b
    });
    let err_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = io::Read::read_to_end(&mut err_pipe, &mut b);
        b
    });
    let deadline = Instant::now() + CASE_TIMEOUT;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let (stdout, stderr) = (out_t.join().unwrap(), err_t.join().unwrap());
    status.map(|status| Output {
        status,
        stdout,
        stderr,
    })
}

/// Runs one case; `Err` says what went wrong.
fn check_case(
    c: &Case,
    jail: &Jail,
    files: &Path,
    out_dir: &Path,
    live: Option<&Path>,
) -> Result<String, String> {
    let args: Vec<String> = c
        .args
        .iter()
        .map(|a| {
            if let Some(name) = a.strip_prefix('@') {
                files.join(name).display().to_string()
            } else if *a == "%T" {
                repo_file(SAMPLE_TRACE)
            } else if *a == "%OUT" {
                out_dir
                    .join(format!("case-{}.out", c.id))
                    .display()
                    .to_string()
            } else if *a == "%LIVE" {
                live.expect("live case without a live parent")
                    .display()
                    .to_string()
            } else {
                a.to_string()
            }
        })
        .collect();
    let mut cmd = Command::new(bin_path(c.program));
    cmd.args(&args).current_dir(out_dir);
    let shown = format!("#{} {} {}", c.id, c.program, args.join(" "));
    let Some(out) = run_bounded(cmd, jail) else {
        return Err(format!(
            "{shown}: still running after {CASE_TIMEOUT:?}, killed"
        ));
    };
    let err = String::from_utf8_lossy(&out.stderr);
    let mut problems = Vec::new();
    if out.status.code() != Some(c.exit) {
        problems.push(format!("exit {:?} (expected {})", out.status, c.exit));
    }
    for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        if err.contains(bad) {
            problems.push(format!("stderr holds {bad:?}"));
        }
    }
    for want in c.expect {
        if !err.contains(want) {
            problems.push(format!("stderr lacks {want:?}"));
        }
    }
    let error_lines = err
        .lines()
        .filter(|l| l.contains(&format!("{}: error:", c.program)))
        .count();
    if error_lines != 1 {
        problems.push(format!(
            "{error_lines} `{}: error:` lines, expected 1",
            c.program
        ));
    }
    let peak = jail
        .take_peak()
        .map_or_else(String::new, |p| format!(", peak {} KiB", p >> 10));
    if problems.is_empty() {
        Ok(format!("{shown}: exit {}{peak}", c.exit))
    } else {
        Err(format!("{shown}: {}\n  stderr: {err}", problems.join("; ")))
    }
}

#[test]
fn every_bad_input_fails_cleanly_within_time_and_memory() {
    assert!(CASES.len() + LIVE_CASES.len() >= 30);
    let jail = Jail::new("bad-inputs", MEMORY_LIMIT);
    let out_dir = tempfile::tempdir().unwrap();
    let files = corpus_dir();
    let mut failures = Vec::new();
    for c in CASES {
        match check_case(c, &jail, &files, out_dir.path(), None) {
            Ok(line) => println!("{line}"),
            Err(e) => failures.push(e),
        }
    }
    if let Jail::Cgroup { parent, .. } = &jail {
        // cgact cases: the stats files rewritten for the live parent's root.
        let live_files = out_dir.path().join("live");
        fs::create_dir(&live_files).unwrap();
        for entry in fs::read_dir(&files).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            if name.starts_with("stats-") {
                let text = fs::read_to_string(&path).unwrap();
                fs::write(
                    live_files.join(&name),
                    text.replace("/cgcal-sample", parent.name()),
                )
                .unwrap();
            }
        }
        for c in LIVE_CASES {
            match check_case(c, &jail, &live_files, out_dir.path(), Some(parent.path())) {
                Ok(line) => println!("{line}"),
                Err(e) => failures.push(e),
            }
        }
        // The jail bites: a process touching more than the limit dies.
        let mut hog = Command::new(bin_path("cgcal-hog"));
        let hog_mib = (2 * MEMORY_LIMIT) >> 20;
        hog.args(["--mib", &hog_mib.to_string(), "--hold-ms", "0"]);
        let out = run_bounded(hog, &jail).expect("the hog ends");
        assert!(
            !out.status.success(),
            "a {hog_mib} MiB hog survived the {} MiB jail",
            MEMORY_LIMIT >> 20
        );
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Jail of the endless-input cases: the stats loaders read up to their
/// 64 MiB bound ([`cgcal_core::stats::MAX_STATS_FILE_LEN`]) before refusing.
const ENDLESS_INPUT_LIMIT: u64 = 160 << 20;

/// Cases 52 and 53: `--stats /dev/zero` (no size to check first).
#[rustfmt::skip]
const ENDLESS_CASES: &[Case] = &[
    case(52, "cgsim", &["replay", "%T", "--stats", "/dev/zero"], 1, &["/dev/zero", "stats file is 67108865 bytes, more than the 67108864 accepted"]),
    case(53, "cgact", &["--root", "%LIVE", "--stats", "/dev/zero", "--dry-run", "--once"], 1, &["/dev/zero", "stats file is 67108865 bytes, more than the 67108864 accepted"]),
];

#[test]
fn an_endless_stats_file_is_refused_at_its_size_bound() {
    let jail = Jail::new("bad-inputs-endless", ENDLESS_INPUT_LIMIT);
    let Jail::Cgroup { parent, .. } = &jail else {
        return; // RLIMIT_AS alone: the SKIP line is printed; nothing to learn.
    };
    let out_dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for c in ENDLESS_CASES {
        match check_case(c, &jail, &corpus_dir(), out_dir.path(), Some(parent.path())) {
            Ok(line) => println!("{line}"),
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A delegated user can name a cgroup with a control character (the kernel
/// refuses only `/` and newlines): `cgrec record` skips it (it cannot be
/// named in a trace, a stats file or the audit log; docs/security.md lists
/// this as a way to hide a cgroup) and logs the skip with the name escaped,
/// so no terminal escape reaches the log.
#[test]
fn a_cgroup_named_with_an_escape_sequence_is_skipped_and_logged_escaped() {
    let Some(parent) = LiveParent::new("bad-name") else {
        return;
    };
    parent.child("ok");
    parent.child("esc\u{1b}[31mred");
    let tmp = tempfile::tempdir().unwrap();
    let trace = tmp.path().join("names.bin");
    let mut cmd = Command::new(bin_path("cgrec"));
    cmd.args([
        "record",
        "--interval",
        "50ms",
        "--duration",
        "300ms",
        "--root",
    ])
    .arg(parent.path())
    .arg("-o")
    .arg(&trace);
    let out = run_bounded(cmd, &Jail::AddressSpace).expect("cgrec record ends");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!out.stderr.contains(&0x1b), "raw ESC in the log: {err:?}");
    assert!(
        err.contains("skipping cgroup directory with an invalid name"),
        "{err}"
    );
    assert!(err.contains(r"esc\u{1b}[31mred"), "{err}");
    let (_, defs, ..) =
        cgcal_core::trace::read_all(cgcal_core::trace::open_trace(&trace).unwrap()).unwrap();
    let names: Vec<String> = defs.iter().map(|d| d.name.to_string()).collect();
    assert_eq!(names, [parent.name().to_string(), parent.name_of("ok")]);
}
