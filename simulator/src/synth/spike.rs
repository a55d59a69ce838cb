//! `spike`: 10 to 14 services idling far below their limits (20-35 %
//! anonymous plus 3-8 % page cache) and one or two `spiky` services (limit
//! 1 or 2 GiB, base 40-50 %) with short bursts (5 to 30 s, one every 1/12
//! to 1/6 of the trace) that take them to 85-140 % of their limit: a burst
//! over the limit is OOM-killed and the service restarts from its base.

use super::fleet::{limit_size, part, FleetSpec, MemberSpec, MIB};
use super::rng::Rng;
use super::shape::{Burst, Shape};

/// The spiking fleet over `sweeps` sweeps.
pub fn fleet(rng: &mut Rng, sweeps: u64) -> FleetSpec {
    let mut members: Vec<MemberSpec> = (1..=rng.between(10, 14))
        .map(|i| {
            let limit = limit_size(rng, 128);
            let anon = part(limit, rng.uniform(0.20, 0.35));
            let cache = part(limit, rng.uniform(0.03, 0.08));
            MemberSpec::service(
                format!("idle-{i:02}"),
                limit,
                anon,
                cache,
                Shape::Flat,
                sweeps,
            )
        })
        .collect();
    for i in 1..=rng.between(1, 2) {
        let limit = rng.between(1, 2) * 1024 * MIB;
        let anon = part(limit, rng.uniform(0.40, 0.50));
        let mut bursts = Vec::new();
        let (gap_min, gap_max) = ((sweeps / 12).max(1), (sweeps / 6).max(2));
        let mut start = rng.between(gap_min / 2, gap_max);
        while start < sweeps {
            let peak = part(limit, rng.uniform(0.85, 1.40));
            bursts.push(Burst {
                start,
                len: rng.between(5, 30),
                extra: peak.saturating_sub(anon),
            });
            start += rng.between(gap_min, gap_max);
        }
        let cache = part(limit, 0.05);
        members.push(MemberSpec::service(
            format!("spiky-{i:02}"),
            limit,
            anon,
            cache,
            Shape::Bursts(bursts),
            sweeps,
        ));
    }
    FleetSpec::sized(members, sweeps)
}
