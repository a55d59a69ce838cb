//! `leak`: a steady fleet (5 to 9 services) and one service, `leaky`
//! (limit 1 or 2 GiB, base 30 % of it), whose memory grows linearly from
//! its base until it hits its limit about a quarter of the trace later; the
//! OOM killer kills it, it restarts from its base and leaks again (about 4
//! kills per trace, whatever the duration).

use super::fleet::{part, FleetSpec, MemberSpec, MIB, PAGE};
use super::rng::Rng;
use super::shape::Shape;
use super::steady;

/// The leaking fleet over `sweeps` sweeps.
pub fn fleet(rng: &mut Rng, sweeps: u64) -> FleetSpec {
    let mut members = steady::fleet(rng, sweeps).members;
    members.truncate(rng.between(5, 9) as usize);
    let limit = rng.between(1, 2) * 1024 * MIB;
    let anon = part(limit, 0.3);
    let to_limit = (sweeps as f64 / 4.0 * rng.uniform(0.8, 1.2)).max(1.0);
    let slope = (((limit - anon) as f64 / to_limit) as u64).max(PAGE);
    let cache = part(limit, 0.05);
    members.push(MemberSpec::service(
        "leaky".into(),
        limit,
        anon,
        cache,
        Shape::Leak { slope },
        sweeps,
    ));
    FleetSpec::sized(members, sweeps)
}
