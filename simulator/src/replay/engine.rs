//! The pure replay engine (SPEC §5): per-sample demand against simulated
//! limits, the `react`/`rescue` OOM loop, ticks, and the accounting of every
//! algorithm, all algorithms side by side over one pass of the timeline.
//! No I/O, no clock: the same groups give the same results.

use cgcal_core::policy::safety::{align_up, scale_up};
use cgcal_core::policy::{
    self, check_plan, CgroupView, GlobalView, OomKind, Plan, Policy, PolicyConfig, Snapshot,
    Trigger,
};
use cgcal_core::stats::Phase1;
use cgcal_core::trace::EventKind;

use super::cast::{Cast, Role};
use super::series::{Series, SeriesRecorder};
use super::tally::Tally;
use super::timeline::Group;
use crate::cli::ReplayMode;

/// Rescue rounds at one OOM before giving up (each round is one more
/// decision after a raise that was not enough).
pub const MAX_RESCUE_ROUNDS: usize = 64;

/// The overshoot model: at a recorded OOM kill of a cgroup whose limit was
/// `L`, its demand is `L + max(4096, ⌈0.05·L⌉)`.
pub fn oom_kill_demand(limit: u64) -> u64 {
    limit.saturating_add(scale_up(limit, 0.05).max(4096))
}

/// Receives every decision an algorithm makes, before it is applied.
pub trait DecisionSink {
    /// `plan` was decided by `algo` in `mode` on `snap`.
    fn decision(&mut self, algo: &'static str, mode: ReplayMode, snap: &Snapshot, plan: &Plan);
}

/// A sink that drops every decision.
#[derive(Debug, Clone, Copy, Default)]
pub struct IgnoreDecisions;

impl DecisionSink for IgnoreDecisions {
    fn decision(&mut self, _: &'static str, _: ReplayMode, _: &Snapshot, _: &Plan) {}
}

/// What the engine needs to know about a trace before the replay.
#[derive(Debug, Clone)]
pub struct EngineSetup {
    /// Who is who.
    pub cast: Cast,
    /// Phase 1 figures per managed cgroup.
    pub phase1: Vec<Option<Phase1>>,
    /// Initial limit per managed cgroup from the training window; `None`:
    /// the limit the trace records when the replay starts (or when the
    /// cgroup first appears in it).
    pub initial: Vec<Option<u64>>,
    /// Host memory (the global limit when the root has none).
    pub host_memory: Option<u64>,
    /// Groups from this time on are replayed; earlier ones only warm up the
    /// policies' history (`observe`).
    pub replay_from: u64,
    /// react or rescue.
    pub mode: ReplayMode,
    /// Policy tunables.
    pub policy: PolicyConfig,
    /// The algorithms, by registry name.
    pub algos: Vec<&'static str>,
}

/// The replay's counters of one algorithm, with the kills per managed cgroup.
#[derive(Debug, Clone, PartialEq)]
pub struct AlgoOutcome {
    /// The algorithm.
    pub algo: &'static str,
    /// Its counters.
    pub tally: Tally,
    /// Kills per managed cgroup (by index in [`Cast::managed`]).
    pub kills_by_cgroup: Vec<u64>,
    /// Plotted series, for the cgroups asked with [`Engine::watch`].
    pub series: Vec<Series>,
}

/// What was replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplayedSpan {
    /// Time of the first replayed group (0 when nothing was replayed).
    pub from: u64,
    /// Time of the last replayed group.
    pub to: u64,
    /// Replayed samples of managed cgroups.
    pub samples: u64,
}

struct Run {
    algo: &'static str,
    policy: Box<dyn Policy>,
    snap: Snapshot,
    /// The simulated limit of each managed cgroup once set.
    limit: Vec<Option<u64>>,
    initialized: Vec<bool>,
    next_tick: Option<u64>,
    tally: Tally,
    kills: Vec<u64>,
    watched: Vec<(usize, SeriesRecorder)>,
}

/// The recorded state shared by every algorithm.
struct World {
    usage: Vec<u64>,
    recorded_limit: Vec<Option<u64>>,
    active: Vec<bool>,
    top_usage: Vec<u64>,
    top_sum: u128,
    global_usage: u64,
    global_limit: Option<u64>,
    /// Managed cgroups touched by the current group: index, from a sample.
    touched: Vec<(usize, bool)>,
    mark: Vec<u64>,
    epoch: u64,
    started: bool,
}

/// Replays time groups through every algorithm.
pub struct Engine {
    setup: EngineSetup,
    runs: Vec<Run>,
    w: World,
    first_replayed: Option<u64>,
    span: ReplayedSpan,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("algos", &self.setup.algos)
            .field("span", &self.span)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine with fresh policies; unknown algorithm names are skipped
    /// (the command line resolves them against the registry).
    pub fn new(setup: EngineSetup) -> Engine {
        let n = setup.cast.managed.len();
        let views: Vec<CgroupView> = setup
            .cast
            .managed
            .iter()
            .enumerate()
            .map(|(i, name)| CgroupView {
                name: name.clone(),
                limit: None,
                usage: 0,
                phase1: setup.phase1.get(i).cloned().flatten(),
                original_limit: None,
            })
            .collect();
        let global = GlobalView {
            name: setup.cast.global.clone(),
            limit: None,
            usage: 0,
            host_memory: setup.host_memory,
        };
        let runs = setup
            .algos
            .iter()
            .filter_map(|&algo| {
                let policy = policy::by_name(algo)?;
                Some(Run {
                    algo,
                    policy,
                    snap: Snapshot {
                        time_ns: 0,
                        cgroups: views.clone(),
                        global: global.clone(),
                    },
                    limit: vec![None; n],
                    initialized: vec![false; n],
                    next_tick: None,
                    tally: Tally::default(),
                    kills: vec![0; n],
                    watched: Vec::new(),
                })
            })
            .collect();
        Engine {
            setup,
            runs,
            w: World {
                usage: vec![0; n],
                recorded_limit: vec![None; n],
                active: vec![false; n],
                top_usage: Vec::new(),
                top_sum: 0,
                global_usage: 0,
                global_limit: None,
                touched: Vec::new(),
                mark: vec![0; n],
                epoch: 0,
                started: false,
            },
            first_replayed: None,
            span: ReplayedSpan::default(),
        }
    }

    /// Records demand and limit of the managed cgroups `cgroups` under the
    /// algorithm at `run` (index in the setup's algos) into `buckets`
    /// buckets over `from..=to`.
    pub fn watch(&mut self, run: usize, cgroups: &[usize], from: u64, to: u64, buckets: usize) {
        if let Some(r) = self.runs.get_mut(run) {
            r.watched = cgroups
                .iter()
                .map(|&c| (c, SeriesRecorder::new(from, to, buckets)))
                .collect();
        }
    }

    /// What has been replayed so far.
    pub fn replayed(&self) -> ReplayedSpan {
        self.span
    }

    /// Replays one time group.
    pub fn step(&mut self, g: Group<'_>, sink: &mut dyn DecisionSink) {
        let t = g.time_ns;
        let replaying = t >= self.setup.replay_from;
        if replaying && !self.w.started {
            self.start(t);
        }
        let mode = self.setup.mode;
        if replaying {
            for run in &mut self.runs {
                run.tick_if_due(t, mode, &self.setup.policy, sink);
            }
        }
        self.w.epoch += 1;
        self.w.touched.clear();
        for s in g.samples {
            match self.setup.cast.role(s.cgroup) {
                Role::Global => {
                    self.w.global_usage = s.usage;
                    self.w.global_limit = s.limit;
                }
                Role::Managed { index, top_level } => {
                    self.w.usage[index] = s.usage;
                    self.w.recorded_limit[index] = s.limit;
                    self.touch(index, true);
                    if top_level {
                        self.w.set_top_usage(s.cgroup as usize, s.usage);
                    }
                }
                Role::Interior { top_level: true } => {
                    self.w.set_top_usage(s.cgroup as usize, s.usage)
                }
                Role::Interior { .. } | Role::Ignored => {}
            }
        }
        for e in g.events {
            let Role::Managed { index, .. } = self.setup.cast.role(e.cgroup) else {
                continue;
            };
            match e.kind {
                EventKind::OomKill { limit, .. } => {
                    if let Some(l) = limit.or(self.w.recorded_limit[index]) {
                        self.w.usage[index] = self.w.usage[index].max(oom_kill_demand(l));
                        self.touch(index, false);
                    }
                }
                EventKind::Removed => self.deactivate(index),
                _ => {}
            }
        }
        if !self.setup.cast.global_sampled {
            self.w.global_usage = u64::try_from(self.w.top_sum).unwrap_or(u64::MAX);
        }
        self.w.touched.sort_unstable();
        if replaying {
            self.span.from = *self.first_replayed.get_or_insert(t);
            self.span.to = t;
            self.span.samples += self.w.touched.iter().filter(|(_, s)| *s).count() as u64;
        }
        for run in &mut self.runs {
            run.sync(&self.w, t);
            run.policy.observe(&run.snap);
            if !replaying {
                continue;
            }
            for &(i, from_sample) in &self.w.touched {
                if self.w.active[i] {
                    run.meet_demand(
                        i,
                        from_sample,
                        self.w.usage[i],
                        mode,
                        &self.setup.policy,
                        sink,
                    );
                }
            }
        }
    }

    /// The outcome of every algorithm.
    pub fn finish(self) -> (ReplayedSpan, Vec<AlgoOutcome>) {
        let cast = &self.setup.cast;
        let outcomes = self
            .runs
            .into_iter()
            .map(|r| AlgoOutcome {
                algo: r.algo,
                series: r
                    .watched
                    .iter()
                    .map(|(c, rec)| Series {
                        cgroup: cast.managed[*c].to_string(),
                        kills: r.kills[*c],
                        points: rec.points(),
                    })
                    .collect(),
                tally: r.tally,
                kills_by_cgroup: r.kills,
            })
            .collect();
        (self.span, outcomes)
    }

    fn touch(&mut self, index: usize, from_sample: bool) {
        let w = &mut self.w;
        if !w.active[index] {
            w.active[index] = true;
            if w.started {
                for run in &mut self.runs {
                    run.init_limit(index, &self.setup.initial, &w.recorded_limit);
                }
            }
        }
        if w.mark[index] == w.epoch {
            if let Some(t) = w.touched.iter_mut().find(|(i, _)| *i == index) {
                t.1 |= from_sample;
            }
        } else {
            w.mark[index] = w.epoch;
            w.touched.push((index, from_sample));
        }
    }

    fn deactivate(&mut self, index: usize) {
        self.w.active[index] = false;
        self.w.usage[index] = 0;
        for run in &mut self.runs {
            run.snap.cgroups[index].usage = 0;
            run.snap.cgroups[index].limit = None;
            run.initialized[index] = false;
        }
    }

    fn start(&mut self, t: u64) {
        self.w.started = true;
        for run in &mut self.runs {
            for i in 0..self.w.active.len() {
                if self.w.active[i] {
                    run.init_limit(i, &self.setup.initial, &self.w.recorded_limit);
                }
            }
            run.next_tick = run
                .policy
                .tick_interval_ns()
                .filter(|&d| d > 0)
                .map(|d| t.saturating_add(d));
        }
    }
}

impl World {
    fn set_top_usage(&mut self, id: usize, usage: u64) {
        if self.top_usage.len() <= id {
            self.top_usage.resize(id + 1, 0);
        }
        self.top_sum = self.top_sum - u128::from(self.top_usage[id]) + u128::from(usage);
        self.top_usage[id] = usage;
    }
}

impl Run {
    fn init_limit(&mut self, i: usize, initial: &[Option<u64>], recorded: &[Option<u64>]) {
        if self.initialized[i] {
            return;
        }
        self.initialized[i] = true;
        let limit = initial.get(i).copied().flatten().or(recorded[i]);
        self.limit[i] = limit;
        self.snap.cgroups[i].limit = limit;
        self.snap.cgroups[i].original_limit = limit;
    }

    /// Brings the snapshot up to date with the group just read.
    fn sync(&mut self, e: &World, t: u64) {
        self.snap.time_ns = t;
        self.snap.global.usage = e.global_usage;
        self.snap.global.limit = e.global_limit;
        for &(i, _) in &e.touched {
            let view = &mut self.snap.cgroups[i];
            view.usage = e.usage[i];
            view.limit = if e.started { self.limit[i] } else { None };
        }
    }

    fn tick_if_due(
        &mut self,
        t: u64,
        mode: ReplayMode,
        cfg: &PolicyConfig,
        sink: &mut dyn DecisionSink,
    ) {
        let (Some(due), Some(every)) = (self.next_tick, self.policy.tick_interval_ns()) else {
            return;
        };
        if due > t || every == 0 {
            return;
        }
        let now = self.snap.time_ns;
        self.snap.time_ns = due;
        let plan = self.policy.decide(&self.snap, &Trigger::Tick, cfg);
        if !plan.is_empty() {
            sink.decision(self.algo, mode, &self.snap, &plan);
            self.apply(&plan, cfg);
        }
        self.snap.time_ns = now;
        // Missed ticks (a gap in the trace) are skipped: one tick per group at most.
        let missed = (t - due) / every;
        self.next_tick = Some(due.saturating_add(every.saturating_mul(missed + 1)));
    }

    /// One replayed demand of managed cgroup `i`: slack, OOM, kill.
    fn meet_demand(
        &mut self,
        i: usize,
        from_sample: bool,
        demand: u64,
        mode: ReplayMode,
        cfg: &PolicyConfig,
        sink: &mut dyn DecisionSink,
    ) {
        let limit = self.limit[i];
        if let Some((_, rec)) = self.watched.iter_mut().find(|(c, _)| *c == i) {
            rec.record(self.snap.time_ns, demand, limit);
        }
        let Some(l) = limit else { return };
        if from_sample {
            self.tally.add_slack(l, demand);
        }
        if demand <= l {
            return;
        }
        self.tally.oom_events += 1;
        match mode {
            ReplayMode::React => {
                self.kill(i, demand);
                self.decide_oom(i, demand, OomKind::OomKill, mode, cfg, sink);
            }
            ReplayMode::Rescue => {
                for _ in 0..MAX_RESCUE_ROUNDS {
                    let before = self.limit[i];
                    self.decide_oom(i, demand, OomKind::Oom, mode, cfg, sink);
                    let raised = self.limit[i] > before;
                    if !raised || self.limit[i].is_none_or(|l| demand <= l) {
                        break;
                    }
                }
                if self.limit[i].is_some_and(|l| demand > l) {
                    self.kill(i, demand);
                }
            }
        }
    }

    fn kill(&mut self, i: usize, demand: u64) {
        self.tally.kills += 1;
        self.kills[i] += 1;
        if self.snap.cgroups[i]
            .original_limit
            .is_some_and(|o| demand <= o)
        {
            self.tally.collateral_kills += 1;
        }
    }

    fn decide_oom(
        &mut self,
        i: usize,
        demand: u64,
        kind: OomKind,
        mode: ReplayMode,
        cfg: &PolicyConfig,
        sink: &mut dyn DecisionSink,
    ) {
        let trigger = Trigger::Oom {
            cgroup: i,
            usage_at_oom: demand,
            kind,
        };
        let plan = self.policy.decide(&self.snap, &trigger, cfg);
        sink.decision(self.algo, mode, &self.snap, &plan);
        self.apply(&plan, cfg);
    }

    /// Counts floor violations, then applies the plan if it is safe.
    fn apply(&mut self, plan: &Plan, cfg: &PolicyConfig) {
        for c in &plan.changes {
            if self
                .snap
                .cgroups
                .get(c.cgroup)
                .is_some_and(|v| c.new < v.floor())
            {
                self.tally.floor_violations += 1;
            }
        }
        if let Err(e) = check_plan(&self.snap, plan, cfg) {
            self.tally.unsafe_plans += 1;
            tracing::warn!(algo = self.algo, "plan refused, not applied: {e}");
            return;
        }
        for c in &plan.changes {
            self.tally.adjustments += 1;
            self.tally.bytes_added += c.added();
            self.tally.bytes_reclaimed += c.reduced();
            self.limit[c.cgroup] = Some(c.new);
            self.snap.cgroups[c.cgroup].limit = Some(c.new);
        }
    }
}

/// The initial limit of a cgroup from its training figures: `value × factor`
/// page-aligned up, at least one page.
pub fn initial_from_training(value: u64, factor: f64, page: u64) -> u64 {
    align_up(scale_up(value, factor), page).max(page.max(1))
}
