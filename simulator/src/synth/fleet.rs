//! The shared builder of every scenario: a fleet of workloads under one
//! global cgroup, stepped one sweep (1 s) at a time as the kernel would
//! see them, and written as a trace.
//!
//! Per sweep, for each live workload: anonymous memory from its [`Shape`]
//! plus a bounded page-level random walk; page cache refilling towards what
//! the workload wants. Then the kernel's rules, in order:
//! 1. **Own limit.** The cgroup's page cache is reclaimed down to what fits
//!    under its limit; if its anonymous memory alone exceeds the limit, the
//!    OOM killer fires: the sample records usage = limit, an `OomKill
//!    {usage: limit, limit}` event is written at the same time, and the
//!    workload restarts from its base (or exits, for a batch job).
//! 2. **Global limit.** If the sum exceeds the global limit less a reserve
//!    of 1/64 (what the kernel keeps free), page cache is reclaimed from
//!    every cgroup in proportion to its cache; if that is not enough the
//!    largest workload is killed (a global OOM; scenarios are sized so this
//!    does not happen, and [`Outcome::global_kills`] lets tests check it).
//!
//! The global cgroup gets a sample per sweep too: usage = the sum of its
//! children's, its limit, inactive file = the sum of theirs.

use std::io::Write;
use std::ops::Range;

use cgcal_core::name::CgroupName;
use cgcal_core::trace::{CgroupId, Event, EventKind, Header, Sample, TraceError, TraceWriter};

use super::rng::Rng;
use super::shape::Shape;

/// Bytes of a page: every usage and limit is a whole number of pages.
pub const PAGE: u64 = 4096;
/// A mebibyte.
pub const MIB: u64 = 1 << 20;
/// Nanoseconds between sweeps.
pub const INTERVAL_NS: u64 = 1_000_000_000;

/// What happens to a workload killed by the OOM killer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterKill {
    /// Its supervisor restarts it at once, from its base.
    Restart,
    /// It exits (a failed batch job): the cgroup is removed a sweep later.
    Exit,
}

/// One workload, in its own cgroup directly under the global cgroup.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberSpec {
    /// Last path component of the cgroup (`web-01`).
    pub name: String,
    /// Hard limit in bytes (whole pages).
    pub limit: u64,
    /// Base anonymous bytes (the shape's level).
    pub anon: u64,
    /// Page cache the workload keeps when memory allows.
    pub cache: u64,
    /// How the anonymous memory moves.
    pub shape: Shape,
    /// Sweeps during which the cgroup exists (created at `start` with a
    /// `Created` event unless 0, removed at `end` with `Removed` unless the
    /// trace ends first).
    pub active: Range<u64>,
    /// What an OOM kill does.
    pub after_kill: AfterKill,
}

impl MemberSpec {
    /// A workload alive the whole trace, restarted after a kill.
    pub fn service(
        name: String,
        limit: u64,
        anon: u64,
        cache: u64,
        shape: Shape,
        sweeps: u64,
    ) -> Self {
        MemberSpec {
            name,
            limit: pages(limit),
            anon: pages(anon),
            cache: pages(cache),
            shape,
            active: 0..sweeps,
            after_kill: AfterKill::Restart,
        }
    }

    /// The planned (noise-free) anonymous bytes at `sweep`, or `None` when
    /// the cgroup does not exist then.
    pub fn planned_anon(&self, sweep: u64) -> Option<u64> {
        self.active.contains(&sweep).then(|| {
            self.shape
                .anon_at(self.anon, self.active.start, self.active.start, sweep)
        })
    }
}

/// A whole scenario: the workloads and the global cgroup's limit.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetSpec {
    /// Limit of the global cgroup `/fleet`, bytes.
    pub global_limit: u64,
    /// The header's host memory (the machine around the global cgroup).
    pub host_memory: u64,
    /// The workloads, in cgroup-definition order.
    pub members: Vec<MemberSpec>,
}

impl FleetSpec {
    /// A fleet whose global limit follows the common sizing rule: 1.25 × the
    /// median over the sweeps of the planned total (anonymous memory plus
    /// full page cache, each cgroup capped at its limit), raised if needed
    /// so the planned anonymous memory at its peak fits in 95 % of it;
    /// rounded up to 256 MiB. Host memory: the global limit plus 2 GiB.
    pub fn sized(members: Vec<MemberSpec>, sweeps: u64) -> Self {
        let mut totals = Vec::with_capacity(sweeps.min(1 << 22) as usize);
        let mut peak_anon = 0u64;
        let stride = (sweeps / (1 << 22)).max(1);
        for sweep in (0..sweeps).step_by(stride as usize) {
            let (mut total, mut anon) = (0u64, 0u64);
            for m in &members {
                if let Some(a) = m.planned_anon(sweep) {
                    let a = a.min(m.limit);
                    anon += a;
                    total += (a + m.cache).min(m.limit);
                }
            }
            totals.push(total);
            peak_anon = peak_anon.max(anon);
        }
        totals.sort_unstable();
        let median = totals.get(totals.len() / 2).copied().unwrap_or(0);
        let global = (median as f64 * 1.25).max(peak_anon as f64 / 0.95) as u64;
        Self::with_global_limit(members, global)
    }

    /// A fleet with this global limit (rounded up to 256 MiB).
    pub fn with_global_limit(members: Vec<MemberSpec>, global_limit: u64) -> Self {
        let global_limit = global_limit.div_ceil(256 * MIB).max(1) * 256 * MIB;
        FleetSpec {
            global_limit,
            host_memory: global_limit + 2048 * MIB,
            members,
        }
    }
}

/// What the writer saw happen, for tests and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Samples written (global cgroup included).
    pub samples: u64,
    /// OOM kills by a cgroup's own limit.
    pub kills: u64,
    /// OOM kills because the global limit was reached with no cache left.
    pub global_kills: u64,
    /// Highest recorded global usage, bytes.
    pub peak_global_usage: u64,
}

/// One workload's running state.
#[derive(Debug)]
struct Live {
    id: Option<CgroupId>,
    started: u64,
    noise: i64,
    cache: u64,
    peak: u64,
    failcnt: u64,
    gone: bool,
}

/// Page-aligned down.
pub fn pages(bytes: u64) -> u64 {
    bytes / PAGE * PAGE
}

/// Steps `spec` through `sweeps` sweeps from `header.start_ns` and writes
/// the trace to `out`; `rng` drives the page noise only.
pub fn write_fleet<W: Write>(
    spec: &FleetSpec,
    header: &Header,
    sweeps: u64,
    mut rng: Rng,
    out: W,
    file: &str,
) -> Result<(W, Outcome), TraceError> {
    let mut w = TraceWriter::with_file_name(out, header, file)?;
    let root = header.root.clone();
    let root_id = w.cgroup_id(&root, header.start_ns);
    let mut live: Vec<Live> = spec
        .members
        .iter()
        .map(|_| Live {
            id: None,
            started: 0,
            noise: 0,
            cache: 0,
            peak: 0,
            failcnt: 0,
            gone: false,
        })
        .collect();
    let mut outcome = Outcome::default();
    let mut root_peak = 0u64;
    let mut root_failcnt = 0u64;
    let mut anon = vec![0u64; spec.members.len()];
    let fill = spec.global_limit - spec.global_limit / 64;
    for sweep in 0..sweeps {
        let time_ns = header.start_ns + sweep * INTERVAL_NS;
        // Membership: creations and removals.
        for (m, l) in spec.members.iter().zip(live.iter_mut()) {
            if sweep == m.active.start && !l.gone {
                let name = root.join(&m.name).map_err(|e| TraceError::Encode {
                    file: file.to_string(),
                    chunk_index: 0,
                    offset: 0,
                    what: e.to_string(),
                })?;
                let id = w.cgroup_id(&name, time_ns);
                l.id = Some(id);
                l.started = sweep;
                l.cache = 0;
                if sweep > 0 {
                    w.push_event(event(time_ns, id, EventKind::Created))?;
                }
            }
            if let Some(id) = l.id {
                if sweep == m.active.end || l.gone {
                    w.push_event(event(time_ns, id, EventKind::Removed))?;
                    l.id = None;
                    l.gone = true;
                }
            }
        }
        // Demand of each live workload, own-limit reclaim, own-limit kills.
        let mut fate = vec![Fate::Alive; spec.members.len()];
        for (i, (m, l)) in spec.members.iter().zip(live.iter_mut()).enumerate() {
            anon[i] = 0;
            if l.id.is_none() {
                continue;
            }
            step_noise(&mut l.noise, m.anon, &mut rng);
            let shaped = m.shape.anon_at(m.anon, m.active.start, l.started, sweep);
            anon[i] = pages(shaped.saturating_add_signed(l.noise * PAGE as i64)).max(PAGE);
            let fraction = m.shape.cache_fraction(m.active.start, sweep);
            let want = pages((m.cache as f64 * fraction) as u64);
            let refill = pages(m.cache / 120).max(MIB);
            l.cache = match l.cache < want {
                true => (l.cache + refill).min(want),
                false => want,
            };
            if anon[i] > m.limit {
                fate[i] = Fate::OwnKill;
            } else {
                l.cache = l.cache.min(m.limit - anon[i]);
            }
        }
        // Global limit: reclaim page cache, then kill the largest.
        let mut total = global_usage(spec, &live, &anon, &fate);
        if total > fill {
            root_failcnt += 1;
            let alive = |i: &usize| fate[*i] == Fate::Alive && live[*i].id.is_some();
            let cache: u64 = (0..anon.len()).filter(alive).map(|i| live[i].cache).sum();
            let excess = total - fill;
            let takes: Vec<(usize, u64)> = (0..anon.len())
                .filter(alive)
                .map(|i| {
                    let share = (live[i].cache as u128 * excess as u128)
                        .div_ceil(cache.max(1) as u128) as u64;
                    (i, share.div_ceil(PAGE) * PAGE)
                })
                .collect();
            for (i, take) in takes {
                live[i].cache = live[i].cache.saturating_sub(take);
            }
            total = global_usage(spec, &live, &anon, &fate);
            while total > fill {
                let Some(victim) = (0..anon.len())
                    .filter(|&i| fate[i] == Fate::Alive && live[i].id.is_some())
                    .max_by_key(|&i| (anon[i], std::cmp::Reverse(i)))
                else {
                    break;
                };
                fate[victim] = Fate::GlobalKill(anon[victim] + live[victim].cache);
                outcome.global_kills += 1;
                total = global_usage(spec, &live, &anon, &fate);
            }
        }
        // Samples and events.
        let mut root_usage = 0u64;
        let mut root_inactive = 0u64;
        for (i, (m, l)) in spec.members.iter().zip(live.iter_mut()).enumerate() {
            let Some(id) = l.id else { continue };
            let usage = match fate[i] {
                Fate::OwnKill => {
                    outcome.kills += 1;
                    m.limit
                }
                Fate::GlobalKill(usage) => usage,
                Fate::Alive => anon[i] + l.cache,
            };
            if usage + PAGE > m.limit {
                l.failcnt += 1;
            }
            l.peak = l.peak.max(usage);
            let inactive = pages(l.cache / 4 * 3).min(usage);
            root_usage += usage;
            root_inactive += inactive;
            w.push_sample(Sample {
                time_ns,
                cgroup: id,
                usage,
                limit: Some(m.limit),
                inactive_file: Some(inactive),
                peak: Some(l.peak),
                failcnt: Some(l.failcnt),
            })?;
            outcome.samples += 1;
            if fate[i] == Fate::Alive {
                continue;
            }
            let kind = EventKind::OomKill {
                usage: Some(usage),
                limit: Some(m.limit),
            };
            w.push_event(event(time_ns, id, kind))?;
            match m.after_kill {
                AfterKill::Restart => {
                    l.started = sweep + 1;
                    l.noise = 0;
                    if matches!(fate[i], Fate::GlobalKill(_)) {
                        l.cache = 0;
                    }
                }
                AfterKill::Exit => l.gone = true,
            }
        }
        root_peak = root_peak.max(root_usage);
        outcome.peak_global_usage = root_peak;
        w.push_sample(Sample {
            time_ns,
            cgroup: root_id,
            usage: root_usage,
            limit: Some(spec.global_limit),
            inactive_file: Some(root_inactive),
            peak: Some(root_peak),
            failcnt: Some(root_failcnt),
        })?;
        outcome.samples += 1;
    }
    Ok((w.finish()?, outcome))
}

/// What the kernel does to a workload in one sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Nothing.
    Alive,
    /// Killed at its own limit.
    OwnKill,
    /// Killed by a global OOM at this usage.
    GlobalKill(u64),
}

/// Usage of the global cgroup: the sum of its live children's, a cgroup
/// killed at its own limit counted at the limit, one killed globally at 0.
fn global_usage(spec: &FleetSpec, live: &[Live], anon: &[u64], fate: &[Fate]) -> u64 {
    (0..anon.len())
        .filter(|&i| live[i].id.is_some())
        .map(|i| match fate[i] {
            Fate::Alive => anon[i] + live[i].cache,
            Fate::OwnKill => spec.members[i].limit,
            Fate::GlobalKill(_) => 0,
        })
        .sum()
}

fn event(time_ns: u64, cgroup: CgroupId, kind: EventKind) -> Event {
    Event {
        time_ns,
        cgroup,
        kind,
    }
}

/// One step of a workload's page noise: a random walk in pages, mostly
/// still or a few pages, now and then a jump of up to 256 pages, kept
/// within ±2 % of the base (at least ±64 pages).
fn step_noise(noise: &mut i64, base: u64, rng: &mut Rng) {
    let r = rng.next_u64();
    let pages_moved = match r % 100 {
        0..=49 => 0,
        50..=94 => 1 + (r >> 8) % 4,
        _ => 1 + (r >> 8) % 256,
    } as i64;
    let bound = ((base / 50 / PAGE) as i64).max(64);
    let step = match (r >> 20) & 1 {
        0 => -pages_moved,
        _ => pages_moved,
    };
    *noise = (*noise + step).clamp(-bound, bound);
}

/// The global cgroup of every synthetic trace.
pub fn fleet_root() -> CgroupName {
    CgroupName::parse("/fleet").expect("a valid cgroup name")
}

/// A cgroup limit drawn from the sizes operators commonly give: 64 MiB to
/// 4 GiB in powers of two, each equally likely, from `smallest` up.
pub fn limit_size(rng: &mut Rng, smallest: u64) -> u64 {
    const SIZES: [u64; 7] = [64, 128, 256, 512, 1024, 2048, 4096];
    let from = SIZES
        .iter()
        .position(|&s| s >= smallest)
        .unwrap_or(SIZES.len() - 1);
    SIZES[rng.between(from as u64, SIZES.len() as u64 - 1) as usize] * MIB
}

/// `fraction` of `bytes`, page-aligned down.
pub fn part(bytes: u64, fraction: f64) -> u64 {
    pages((bytes as f64 * fraction) as u64)
}
