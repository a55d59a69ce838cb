//! `diurnal`: 8 to 12 services following one day's load curve compressed
//! into the trace: a sine of relative amplitude 25-50 % around each one's
//! mean, from the night's trough at the start to the day's peak in the
//! middle (each service shifted by up to ±1/10 of a day). Most limits hold
//! the peak with 15-40 % to spare; two or three services are
//! under-provisioned (limit at 50-80 % of the way from mean to peak), so
//! they are OOM-killed around peak time, restart and warm up again.

use std::f64::consts::{FRAC_PI_2, TAU};

use super::fleet::{limit_size, part, FleetSpec, MemberSpec};
use super::rng::Rng;
use super::shape::Shape;

/// The diurnal fleet over `sweeps` sweeps.
pub fn fleet(rng: &mut Rng, sweeps: u64) -> FleetSpec {
    let count = rng.between(8, 12);
    let tight = rng.between(2, 3);
    let members = (1..=count)
        .map(|i| {
            let size = limit_size(rng, 128);
            let mean = part(size, 0.45);
            let amplitude = rng.uniform(0.25, 0.50);
            let peak = mean as f64 * (1.0 + amplitude);
            let limit = match i <= tight {
                true => mean as f64 * (1.0 + amplitude * rng.uniform(0.5, 0.8)),
                false => peak * rng.uniform(1.15, 1.40),
            };
            let shape = Shape::Diurnal {
                amplitude,
                period: sweeps.max(1),
                phase: -FRAC_PI_2 + rng.uniform(-0.1, 0.1) * TAU,
            };
            let cache = part(size, rng.uniform(0.02, 0.05));
            let limit = part(limit as u64, 1.0);
            MemberSpec::service(format!("web-{i:02}"), limit, mean, cache, shape, sweeps)
        })
        .collect();
    FleetSpec::sized(members, sweeps)
}
