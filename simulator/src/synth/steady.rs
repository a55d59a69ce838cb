//! `steady`: 8 to 12 services with flat usage and page noise, limits far
//! above it (usage 35-55 % anonymous plus 5-15 % page cache of a 64 MiB to
//! 4 GiB limit). No OOM.

use super::fleet::{limit_size, part, FleetSpec, MemberSpec};
use super::rng::Rng;
use super::shape::Shape;

/// The steady fleet over `sweeps` sweeps.
pub fn fleet(rng: &mut Rng, sweeps: u64) -> FleetSpec {
    let members = (1..=rng.between(8, 12))
        .map(|i| {
            let limit = limit_size(rng, 64);
            let anon = part(limit, rng.uniform(0.35, 0.55));
            let cache = part(limit, rng.uniform(0.05, 0.15));
            MemberSpec::service(
                format!("svc-{i:02}"),
                limit,
                anon,
                cache,
                Shape::Flat,
                sweeps,
            )
        })
        .collect();
    FleetSpec::sized(members, sweeps)
}
