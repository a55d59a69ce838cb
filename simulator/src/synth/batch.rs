//! `batch`: 3 or 4 long-running services (flat) and 10 to 15 batch jobs,
//! each in its own cgroup created when it starts (`Created`) and removed
//! when it exits (`Removed`). Jobs arrive at random over the first 80 % of
//! the trace, ramp up over 1-4 % of it, run for 5-20 % of it at a peak of
//! 256 MiB to 2 GiB. Every fourth job in order of arrival has a limit 5-20 %
//! below its peak (the others 15-50 % above it): it is OOM-killed while
//! ramping up and exits (a failed job).

use super::fleet::{limit_size, part, AfterKill, FleetSpec, MemberSpec, MIB};
use super::rng::Rng;
use super::shape::Shape;

/// The batch fleet over `sweeps` sweeps.
pub fn fleet(rng: &mut Rng, sweeps: u64) -> FleetSpec {
    let mut members: Vec<MemberSpec> = (1..=rng.between(3, 4))
        .map(|i| {
            let limit = limit_size(rng, 256);
            let anon = part(limit, rng.uniform(0.35, 0.55));
            let cache = part(limit, rng.uniform(0.05, 0.10));
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
    let mut jobs: Vec<(u64, MemberSpec)> = (0..rng.between(10, 15))
        .map(|_| {
            let start = rng.between(1, (sweeps * 4 / 5).max(1));
            let span = sweeps as f64;
            let ramp = (span * rng.uniform(0.01, 0.04)) as u64;
            let run = ((span * rng.uniform(0.05, 0.20)) as u64).max(1);
            let peak = part(rng.between(256, 2048) * MIB, 1.0);
            let spec = MemberSpec {
                name: String::new(),
                limit: peak,
                anon: peak,
                cache: part(peak, 0.05),
                shape: Shape::Job { ramp },
                active: start..start + ramp + run,
                after_kill: AfterKill::Exit,
            };
            (start, spec)
        })
        .collect();
    jobs.sort_by_key(|(start, _)| *start);
    for (n, (_, mut job)) in jobs.into_iter().enumerate() {
        job.name = format!("job-{:04}", n + 1);
        // Every fourth job in order of arrival is under-provisioned.
        job.limit = match n % 4 {
            3 => part(job.anon, rng.uniform(0.80, 0.95)),
            _ => part(job.anon, rng.uniform(1.15, 1.50)),
        };
        members.push(job);
    }
    FleetSpec::sized(members, sweeps)
}
