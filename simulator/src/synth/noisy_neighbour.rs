//! `noisy-neighbour`: 6 to 10 file-heavy services (limit 1 to 2 GiB, 25-35 %
//! anonymous and 25-35 % page cache) and one `noisy` service (limit 1 or
//! 2 GiB, base 35 %) whose demand grows, between 40 % and 80 % of the
//! trace, to 120-160 % of its limit above its base: well beyond the limit.
//! The global limit is tight: the planned total of the first part (every
//! cache full, `noisy` at its base) plus 3 %, so the host is full, as
//! hosts whose page cache fills memory are. As `noisy` grows the kernel
//! reclaims the neighbours' page cache and they sit well below their
//! medians, while the global usage stays near its limit, so its headroom
//! alone cannot cover `noisy`. `noisy` is OOM-killed at its limit,
//! restarts and warms up again.

use super::fleet::{part, FleetSpec, MemberSpec, MIB};
use super::rng::Rng;
use super::shape::Shape;

/// The noisy-neighbour fleet over `sweeps` sweeps.
pub fn fleet(rng: &mut Rng, sweeps: u64) -> FleetSpec {
    let mut members: Vec<MemberSpec> = (1..=rng.between(6, 10))
        .map(|i| {
            let limit = rng.between(2, 4) * 512 * MIB;
            let anon = part(limit, rng.uniform(0.25, 0.35));
            let cache = part(limit, rng.uniform(0.25, 0.35));
            MemberSpec::service(
                format!("files-{i:02}"),
                limit,
                anon,
                cache,
                Shape::Flat,
                sweeps,
            )
        })
        .collect();
    let limit = rng.between(1, 2) * 1024 * MIB;
    let anon = part(limit, 0.35);
    let shape = Shape::Growth {
        from: sweeps * 2 / 5,
        to: sweeps * 4 / 5,
        extra: part(limit, rng.uniform(1.2, 1.6)),
    };
    members.push(MemberSpec::service(
        "noisy".into(),
        limit,
        anon,
        part(limit, 0.02),
        shape,
        sweeps,
    ));
    let full: u64 = members.iter().map(|m| m.anon + m.cache).sum();
    FleetSpec::with_global_limit(members, (full as f64 * 1.03) as u64)
}
