//! Demand and limit of one cgroup over the replay, downsampled into a fixed
//! number of time buckets (for `--plot`): each bucket keeps the highest
//! demand seen in it and the limit in force at that moment.

/// One plotted point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    /// Time of the bucket's highest demand, nanoseconds since the epoch.
    pub time_ns: u64,
    /// The highest demand in the bucket, bytes.
    pub demand: u64,
    /// The simulated limit at that moment (`None`: unlimited).
    pub limit: Option<u64>,
}

/// The downsampled demand and limit of one cgroup under one algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// The cgroup's name.
    pub cgroup: String,
    /// Kills the cgroup had under the algorithm.
    pub kills: u64,
    /// Points in time order, at most one per bucket.
    pub points: Vec<Point>,
}

/// Records one cgroup's demand into buckets spanning `from..=to`.
#[derive(Debug, Clone)]
pub struct SeriesRecorder {
    from: u64,
    span: u128,
    buckets: Vec<Option<Point>>,
}

impl SeriesRecorder {
    /// A recorder of `buckets` buckets (at least 1) over `from..=to`.
    pub fn new(from: u64, to: u64, buckets: usize) -> SeriesRecorder {
        SeriesRecorder {
            from,
            span: u128::from(to.saturating_sub(from)) + 1,
            buckets: vec![None; buckets.max(1)],
        }
    }

    /// Records a demand at `time_ns` with the limit then in force.
    pub fn record(&mut self, time_ns: u64, demand: u64, limit: Option<u64>) {
        let n = self.buckets.len();
        let offset = u128::from(time_ns.saturating_sub(self.from));
        let b = ((offset * n as u128) / self.span).min(n as u128 - 1) as usize;
        let slot = &mut self.buckets[b];
        match slot {
            Some(p) if p.demand >= demand => {}
            _ => {
                *slot = Some(Point {
                    time_ns,
                    demand,
                    limit,
                })
            }
        }
    }

    /// The recorded points, in time order.
    pub fn points(&self) -> Vec<Point> {
        self.buckets.iter().flatten().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_highest_demand_per_bucket() {
        let mut r = SeriesRecorder::new(0, 99, 10);
        for t in 0..100u64 {
            r.record(t, t % 7, Some(10));
        }
        let p = r.points();
        assert_eq!(p.len(), 10);
        assert_eq!(p[0].demand, 6);
        assert!(p.iter().all(|p| p.demand == 6 || p.demand == 5));
        assert!(p.windows(2).all(|w| w[0].time_ns < w[1].time_ns));
        // Out-of-range times go to the end buckets, never panic.
        r.record(u64::MAX, 1000, None);
        assert_eq!(r.points().last().unwrap().demand, 1000);
    }
}
