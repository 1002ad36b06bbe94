//! The semi-Markov stage model (DESIGN.md, "Projection and forecast method").
//!
//! A pipeline is learned from its own history of *stays*: each time a deal entered a stage, how
//! many whole days it stayed and how the stay ended — moved forward to a later stage, moved
//! back, won, lost, or still open (a right-censored stay). From these, per stage and per day of
//! the stay t, the model estimates the daily chance of each way out ("cause-specific hazards":
//! of the deals still in the stage on day t, the share that leave on day t towards each
//! destination). Everything else follows from those daily chances:
//!
//! - the chance of each next step and the distribution of the time in the stage (the
//!   Kaplan–Meier curve when there is a single way out, and its competing-risks extension,
//!   the Aalen–Johansen estimator, otherwise) — open stays count for every day they have
//!   already lasted, so long stays still in progress are not forgotten;
//! - for a deal in stage s that has been there `age` days, the chance that it is eventually won
//!   and the day on which that would happen: conditioning on the age is just starting the
//!   daily chances at day `age`, so a stale deal gets the (usually worse) prospects of deals
//!   that were that stale.
//!
//! **Thin data is shrunk toward the pipeline.** On each day t the stage's own counts are
//! combined with `prior_strength` (k) pseudo-deals that behave like the pipeline as a whole:
//! hazard = (own exits + k × pipeline hazard) ÷ (own deals at risk + k). A stage with hundreds
//! of deals at risk is barely moved; a stage with three deals, or any stage on days beyond its
//! own longest stay, speaks mostly with the pipeline's voice. The pipeline's daily hazard is in
//! turn shrunk the same way toward its overall average daily exit rate, which also continues
//! the curves beyond the longest stay ever seen (a constant rate: the assumption that keeps
//! every answer finite). The pipeline-wide *mix* of exits — won, lost, one stage forward, two
//! back, … — is applied to each stage over the destinations it can reach. With k = 0 each
//! stage is estimated from its own data alone.
//!
//! **Units.** Durations are whole days: `floor((left − entered) ÷ 24 h)`, or the difference of
//! calendar dates in the team's time zone — either, as long as a deal's age is measured the
//! same way. A stay still open at age a (it entered a days ago) tells us that it lasted every
//! day before day a; it may still end today, at duration a.

mod calibration;
mod path;
mod timing;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use calibration::{CalibrationRow, Reach, ReachBin, calibration};
pub use path::{MAX_PATH_DAYS, MAX_PATH_MOVES, Path, PathEnd};
pub use timing::{Outlook, WinTiming};

use super::survival::Quantile;
use crate::validate::Invalid;

/// How a stay in a stage ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Exit {
    /// Moved to the later stage with this index.
    Forward(usize),
    /// Moved back to the earlier stage with this index.
    Backward(usize),
    /// The deal was won from this stage.
    Won,
    /// The deal was lost from this stage.
    Lost,
    /// Still in the stage: `days` is its age today (censored).
    Open,
}

/// Stays in one stage, binned: `count` stays of stage `stage` lasted `days` whole days and
/// ended by `exit` (or are still open at age `days`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StayBin {
    /// Stage index: its 0-based place in the pipeline's order.
    pub stage: usize,
    /// Whole days the stay lasted (or, when open, has lasted so far).
    pub days: u32,
    /// How it ended.
    pub exit: Exit,
    /// How many stays.
    pub count: u64,
}

/// Settings of the learning (deserializes with defaults for missing fields).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelConfig {
    /// Pseudo-deals of pipeline-wide behaviour added to each stage on each day (k in the
    /// module documentation). 0 trusts each stage's own data alone.
    pub prior_strength: f64,
}

impl Default for ModelConfig {
    /// k = 5: a stage needs about five deals at risk on a day for its own data to weigh as
    /// much as the pipeline's there.
    fn default() -> Self {
        ModelConfig {
            prior_strength: 5.0,
        }
    }
}

/// Most stages a model takes; real pipelines have a handful, and the bound caps memory.
pub const MAX_STAGES: usize = 64;
/// Longest stay the tables hold, in days (ten years); longer stays count as this long.
pub const MAX_DAYS: u32 = 3660;
/// Largest daily hazard: a chance of exactly 1 would make every later day impossible and the
/// conditional prospects of an older deal undefined, so certainty is kept a hair short of 1.
const HAZARD_CAP: f64 = 1.0 - 1e-12;

/// Where a deal goes when it leaves a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Dest {
    Won,
    Lost,
    Stage(usize),
}

/// A destination relative to the stage left: the unit in which stages share their exit mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rel {
    Won,
    Lost,
    Forward(usize),
    Backward(usize),
}

fn relative(from: usize, dest: Dest) -> Rel {
    match dest {
        Dest::Won => Rel::Won,
        Dest::Lost => Rel::Lost,
        Dest::Stage(k) if k > from => Rel::Forward(k - from),
        Dest::Stage(k) => Rel::Backward(from - k),
    }
}

fn absolute(from: usize, rel: Rel, stages: usize) -> Option<Dest> {
    match rel {
        Rel::Won => Some(Dest::Won),
        Rel::Lost => Some(Dest::Lost),
        Rel::Forward(d) => from.checked_add(d).filter(|k| *k < stages).map(Dest::Stage),
        Rel::Backward(d) => from.checked_sub(d).map(Dest::Stage),
    }
}

/// Observed and learned figures of one stage, each with what it rests on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageFigures {
    /// Stage index.
    pub stage: usize,
    /// Stays observed: ended plus still open.
    pub stays: u64,
    /// Stays that ended; the next-step probabilities rest on these (plus the prior).
    pub ended: u64,
    /// Stays still open (censored).
    pub open: u64,
    /// Learned chance of each next step for a deal entering the stage.
    pub next: NextStep,
    /// Chance of never leaving (only when nothing in the history ever left; otherwise 0).
    pub never_leaves: f64,
    /// Learned chance that a deal entering the stage is eventually won.
    pub win_probability: f64,
    /// Learned median of the days spent in the stage by a deal entering it; `extrapolated`
    /// when the stage's own history has nobody who stayed that long (the figure then comes
    /// from the pipeline). `None` when nothing ever left.
    pub median_days: Option<Quantile>,
    /// Learned 90th percentile of the days spent in the stage.
    pub p90_days: Option<Quantile>,
}

/// Probabilities (or counts) of the next step out of a stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NextStep {
    /// Won from the stage.
    pub won: f64,
    /// Lost from the stage.
    pub lost: f64,
    /// (stage index, probability), in stage order.
    pub forward: Vec<(usize, f64)>,
    /// (stage index, probability) of moves back, in stage order.
    pub backward: Vec<(usize, f64)>,
}

/// Pipeline-wide figures, the prior every stage is shrunk toward.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PooledFigures {
    /// Stays observed in all stages.
    pub stays: u64,
    /// Stays that ended.
    pub ended: u64,
    /// Stays still open.
    pub open: u64,
    /// Average daily exit rate: exits ÷ days at risk. Used beyond the longest observed stay.
    pub daily_exit_rate: f64,
}

/// One stage's learned daily chances.
#[derive(Debug, Clone)]
pub(crate) struct StageModel {
    /// Destinations with any chance, in order.
    pub(crate) dests: Vec<Dest>,
    /// Cause-specific hazards, `len` rows of `dests.len()`.
    pub(crate) hazard: Vec<f64>,
    /// Total hazard per day.
    pub(crate) total: Vec<f64>,
    /// Hazards from day `len` on (constant).
    pub(crate) tail: Vec<f64>,
    pub(crate) tail_total: f64,
    /// ln S(t), S(t) = P(stay > t days).
    pub(crate) log_surv: Vec<f64>,
    /// Own stays at risk on day t.
    at_risk: Vec<u64>,
    /// P(eventually won | in the stage at age a), for a in 0..=len (the last is every older age).
    win_from_age: Vec<f64>,
}

impl StageModel {
    /// Cause-specific hazards on `day` (a row of `dests.len()`), and the total.
    pub(crate) fn row(&self, day: usize) -> (&[f64], f64) {
        let n = self.dests.len();
        if day < self.total.len() {
            (&self.hazard[day * n..(day + 1) * n], self.total[day])
        } else {
            (&self.tail, self.tail_total)
        }
    }
}

/// A learned pipeline model. See the module documentation.
#[derive(Debug, Clone)]
pub struct Model {
    stages: usize,
    /// Days covered by the tables; every later day uses the constant tail.
    len: usize,
    config: ModelConfig,
    pub(crate) stage: Vec<StageModel>,
    figures: Vec<StageFigures>,
    pooled: PooledFigures,
    /// P(eventually won | entering stage s).
    entry_win: Vec<f64>,
    ignored: u64,
}

/// Counts of one stage gathered from the bins.
#[derive(Default)]
struct Counts {
    /// (day, destination) → exits.
    exits: BTreeMap<(usize, Dest), u64>,
    /// Stays that stop being at risk after day t (ended on t, or open at age t + 1).
    leaving: Vec<u64>,
    /// Stays at risk on day 0.
    start: u64,
    ended: u64,
    open: u64,
}

impl Model {
    /// Learn a model of a pipeline with `stages` stages from its stays.
    ///
    /// Bins that cannot be placed — a stage index out of range, a move to the same stage or
    /// to a stage that does not exist — are skipped and counted in [`Model::ignored`]; a move's
    /// direction is taken from the stage indexes, whatever variant it came in. Refused: more
    /// than [`MAX_STAGES`] stages, or a prior strength that is negative or not finite.
    pub fn learn(stages: usize, bins: &[StayBin], config: ModelConfig) -> Result<Model, Invalid> {
        if stages > MAX_STAGES {
            return Err(Invalid::field(
                "stages",
                format!("a pipeline model takes at most {MAX_STAGES} stages"),
            ));
        }
        if !(config.prior_strength.is_finite() && config.prior_strength >= 0.0) {
            return Err(Invalid::field(
                "prior_strength",
                "must be a finite number, 0 or more",
            ));
        }
        let k = config.prior_strength;

        // The table length: one past the last day anybody was seen at risk.
        let len = bins
            .iter()
            .filter(|b| b.count > 0 && b.stage < stages)
            .map(|b| {
                let d = b.days.min(MAX_DAYS) as usize;
                if b.exit == Exit::Open { d } else { d + 1 }
            })
            .max()
            .unwrap_or(0)
            .max(1);

        let mut counts: Vec<Counts> = (0..stages)
            .map(|_| Counts {
                leaving: vec![0; len],
                ..Counts::default()
            })
            .collect();
        let mut ignored = 0u64;
        for bin in bins.iter().filter(|b| b.count > 0) {
            let Some(c) = counts.get_mut(bin.stage) else {
                ignored = ignored.saturating_add(bin.count);
                continue;
            };
            let day = bin.days.min(MAX_DAYS) as usize;
            let dest = match bin.exit {
                Exit::Won => Dest::Won,
                Exit::Lost => Dest::Lost,
                Exit::Forward(to) | Exit::Backward(to) if to < stages && to != bin.stage => {
                    Dest::Stage(to)
                }
                Exit::Forward(_) | Exit::Backward(_) => {
                    ignored = ignored.saturating_add(bin.count);
                    continue;
                }
                Exit::Open => {
                    c.open = c.open.saturating_add(bin.count);
                    // Open at age a: at risk on days 0..a − 1, unresolved from day a.
                    if day > 0 {
                        c.start = c.start.saturating_add(bin.count);
                        c.leaving[day - 1] = c.leaving[day - 1].saturating_add(bin.count);
                    }
                    continue;
                }
            };
            c.ended = c.ended.saturating_add(bin.count);
            c.start = c.start.saturating_add(bin.count);
            c.leaving[day] = c.leaving[day].saturating_add(bin.count);
            let e = c.exits.entry((day, dest)).or_insert(0);
            *e = e.saturating_add(bin.count);
        }

        // Own at-risk counts and exits per day, and the pipeline's totals.
        let at_risk: Vec<Vec<u64>> = counts
            .iter()
            .map(|c| {
                let mut n = c.start;
                c.leaving
                    .iter()
                    .map(|l| {
                        let here = n;
                        n = n.saturating_sub(*l);
                        here
                    })
                    .collect()
            })
            .collect();
        let mut pool_at_risk = vec![0f64; len];
        let mut pool_exits = vec![0f64; len];
        let mut mix: BTreeMap<Rel, f64> = BTreeMap::new();
        for (s, c) in counts.iter().enumerate() {
            for (t, n) in at_risk[s].iter().enumerate() {
                pool_at_risk[t] += *n as f64;
            }
            for (&(day, dest), &n) in &c.exits {
                pool_exits[day] += n as f64;
                *mix.entry(relative(s, dest)).or_insert(0.0) += n as f64;
            }
        }
        let exposure: f64 = pool_at_risk.iter().sum();
        let pool_ended: f64 = pool_exits.iter().sum();
        let lambda = if exposure > 0.0 {
            (pool_ended / exposure).min(HAZARD_CAP)
        } else {
            0.0
        };
        // The pipeline's daily exit hazard, shrunk toward its average rate where thin.
        let pool_hazard: Vec<f64> = (0..len)
            .map(|t| shrink(pool_exits[t], pool_at_risk[t], k, lambda))
            .collect();

        let mut stage_models = Vec::with_capacity(stages);
        for (s, c) in counts.iter().enumerate() {
            // The pipeline's exit mix over the destinations this stage can reach.
            let mut prior: BTreeMap<Dest, f64> = BTreeMap::new();
            for (&rel, &n) in &mix {
                if let Some(dest) = absolute(s, rel, stages) {
                    *prior.entry(dest).or_insert(0.0) += n;
                }
            }
            let prior_total: f64 = prior.values().sum();
            let mut dests: Vec<Dest> = prior
                .iter()
                .filter(|(_, n)| **n > 0.0)
                .map(|(d, _)| *d)
                .collect();
            for &(_, dest) in c.exits.keys() {
                if !dests.contains(&dest) {
                    dests.push(dest);
                }
            }
            dests.sort();
            let share = |dest: &Dest| {
                if prior_total > 0.0 {
                    prior.get(dest).copied().unwrap_or(0.0) / prior_total
                } else {
                    0.0
                }
            };
            let shares: Vec<f64> = dests.iter().map(share).collect();
            let nd = dests.len();
            let mut hazard = vec![0.0; len * nd];
            let mut total = vec![0.0; len];
            for t in 0..len {
                let n = at_risk[s][t] as f64;
                let row = &mut hazard[t * nd..(t + 1) * nd];
                for (j, dest) in dests.iter().enumerate() {
                    let own = c.exits.get(&(t, *dest)).copied().unwrap_or(0) as f64;
                    row[j] = shrink(own, n, k, pool_hazard[t] * shares[j]);
                }
                total[t] = cap_row(row);
            }
            let mut tail: Vec<f64> = shares.iter().map(|sh| lambda * sh).collect();
            let tail_total = cap_row(&mut tail);
            let mut log_surv = Vec::with_capacity(len);
            let mut acc = 0.0;
            for h in &total {
                acc += (1.0 - h).ln();
                log_surv.push(acc);
            }
            stage_models.push(StageModel {
                dests,
                hazard,
                total,
                tail,
                tail_total,
                log_surv,
                at_risk: at_risk[s].clone(),
                win_from_age: Vec::new(),
            });
        }

        let mut model = Model {
            stages,
            len,
            config,
            stage: stage_models,
            figures: Vec::new(),
            pooled: PooledFigures {
                stays: counts.iter().fold(0u64, |n, c| {
                    n.saturating_add(c.ended).saturating_add(c.open)
                }),
                ended: counts.iter().fold(0u64, |n, c| n.saturating_add(c.ended)),
                open: counts.iter().fold(0u64, |n, c| n.saturating_add(c.open)),
                daily_exit_rate: lambda,
            },
            entry_win: vec![0.0; stages],
            ignored,
        };
        let next = model.next_steps();
        model.entry_win = solve_entry_win(&next, stages);
        for s in 0..stages {
            let w = model.win_by_age(s);
            model.stage[s].win_from_age = w;
        }
        model.figures = (0..stages)
            .map(|s| {
                let (next_step, never) = next[s].clone();
                StageFigures {
                    stage: s,
                    stays: counts[s].ended.saturating_add(counts[s].open),
                    ended: counts[s].ended,
                    open: counts[s].open,
                    next: next_step,
                    never_leaves: never,
                    win_probability: model.entry_win[s],
                    median_days: model.stay_quantile(s, 0.5),
                    p90_days: model.stay_quantile(s, 0.9),
                }
            })
            .collect();
        Ok(model)
    }

    /// Probabilities of each next step from entry, and of never leaving, per stage.
    fn next_steps(&self) -> Vec<(NextStep, f64)> {
        self.stage
            .iter()
            .enumerate()
            .map(|(s, m)| {
                let mut probs = vec![0.0; m.dests.len()];
                let mut surv = 1.0;
                for t in 0..self.len {
                    let (row, total) = m.row(t);
                    for (p, h) in probs.iter_mut().zip(row) {
                        *p += surv * h;
                    }
                    surv *= 1.0 - total;
                }
                let never = if m.tail_total > 0.0 {
                    for (p, h) in probs.iter_mut().zip(&m.tail) {
                        *p += surv * h / m.tail_total;
                    }
                    0.0
                } else {
                    surv
                };
                let mut next = NextStep::default();
                for (dest, p) in m.dests.iter().zip(probs) {
                    match dest {
                        Dest::Won => next.won = p,
                        Dest::Lost => next.lost = p,
                        Dest::Stage(k) if *k > s => next.forward.push((*k, p)),
                        Dest::Stage(k) => next.backward.push((*k, p)),
                    }
                }
                (next, never.clamp(0.0, 1.0))
            })
            .collect()
    }

    /// P(won | in stage s at age a) for every age of the tables, from the entry chances of the
    /// other stages.
    fn win_by_age(&self, s: usize) -> Vec<f64> {
        let m = &self.stage[s];
        let reward = |row: &[f64]| -> f64 {
            m.dests
                .iter()
                .zip(row)
                .map(|(d, h)| match d {
                    Dest::Won => *h,
                    Dest::Lost => 0.0,
                    Dest::Stage(k) => h * self.entry_win[*k],
                })
                .sum()
        };
        let mut out = vec![0.0; self.len + 1];
        out[self.len] = if m.tail_total > 0.0 {
            (reward(&m.tail) / m.tail_total).clamp(0.0, 1.0)
        } else {
            0.0
        };
        for a in (0..self.len).rev() {
            let (row, total) = m.row(a);
            out[a] = (reward(row) + (1.0 - total) * out[a + 1]).clamp(0.0, 1.0);
        }
        out
    }

    /// The q-quantile of the days spent in stage s by a deal entering it.
    fn stay_quantile(&self, s: usize, q: f64) -> Option<Quantile> {
        let m = &self.stage[s];
        let level = (1.0 - q).ln();
        if let Some(t) = m.log_surv.iter().position(|l| *l <= level + 1e-12) {
            return Some(Quantile {
                days: t as u32,
                extrapolated: m.at_risk[t] == 0,
            });
        }
        let last = *m.log_surv.last()?;
        if m.tail_total <= 0.0 {
            return None;
        }
        let steps = ((level - last) / (1.0 - m.tail_total).ln()).ceil().max(1.0);
        let days = (self.len as f64 - 1.0 + steps).min(f64::from(u32::MAX)) as u32;
        Some(Quantile {
            days,
            extrapolated: true,
        })
    }

    /// The number of stages.
    pub fn stages(&self) -> usize {
        self.stages
    }

    /// The settings it was learned with.
    pub fn config(&self) -> ModelConfig {
        self.config
    }

    /// Per stage: what was observed and what was learned.
    pub fn figures(&self) -> &[StageFigures] {
        &self.figures
    }

    /// Pipeline-wide figures.
    pub fn pooled(&self) -> PooledFigures {
        self.pooled
    }

    /// Whether anything ever left any stage: without that, the model knows nothing and every
    /// chance it gives is 0.
    pub fn has_history(&self) -> bool {
        self.pooled.ended > 0
    }

    /// Stays skipped as impossible to place (see [`Model::learn`]).
    pub fn ignored(&self) -> u64 {
        self.ignored
    }

    /// Days covered by the learned tables; from this age on every deal is treated alike.
    pub fn table_days(&self) -> u32 {
        self.len as u32
    }

    /// The chance that a deal in stage `stage` for `age` days is eventually won. 0 for a stage
    /// that does not exist.
    pub fn win_probability(&self, stage: usize, age: u32) -> f64 {
        self.stage
            .get(stage)
            .map_or(0.0, |m| m.win_from_age[(age as usize).min(self.len)])
    }

    /// How many past stays of `stage` lasted at least `age` days (or are open and older): what
    /// the figures for such a deal rest on, before shrinkage.
    pub fn at_risk(&self, stage: usize, age: u32) -> u64 {
        self.stage
            .get(stage)
            .and_then(|m| m.at_risk.get(age as usize).copied())
            .unwrap_or(0)
    }

    /// The learned P(stay in `stage` lasts more than `day` days) for a deal entering it.
    pub fn stay_survival(&self, stage: usize, day: u32) -> f64 {
        let Some(m) = self.stage.get(stage) else {
            return 1.0;
        };
        let d = day as usize;
        if d < self.len {
            m.log_surv[d].exp()
        } else {
            let last = m.log_surv.last().copied().unwrap_or(0.0);
            (last + (d - self.len + 1) as f64 * (1.0 - m.tail_total).ln()).exp()
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// (own events + k × prior hazard) ÷ (own at risk + k); the prior alone when both are 0.
fn shrink(events: f64, at_risk: f64, k: f64, prior: f64) -> f64 {
    let denom = at_risk + k;
    if denom > 0.0 {
        (events + k * prior) / denom
    } else {
        prior
    }
}

/// Keep a row of hazards a valid set of chances: each in [0, 1], together at most
/// [`HAZARD_CAP`] (scaled down proportionally). Returns the total.
fn cap_row(row: &mut [f64]) -> f64 {
    for h in row.iter_mut() {
        if !h.is_finite() || *h < 0.0 {
            *h = 0.0;
        }
    }
    let total: f64 = row.iter().sum();
    if total > HAZARD_CAP {
        let scale = HAZARD_CAP / total;
        for h in row.iter_mut() {
            *h *= scale;
        }
        return HAZARD_CAP;
    }
    total
}

/// P(eventually won | entering stage s) for every s: w = won + Σ move(s→k) · w_k. Solved by
/// iteration from 0, which converges to the right (smallest) solution even when deals can
/// cycle between stages forever with no way out.
fn solve_entry_win(next: &[(NextStep, f64)], stages: usize) -> Vec<f64> {
    let mut w = vec![0.0; stages];
    for _ in 0..100_000 {
        let mut change: f64 = 0.0;
        for (s, (step, _)) in next.iter().enumerate() {
            let moved: f64 = step
                .forward
                .iter()
                .chain(&step.backward)
                .map(|(k, p)| p * w[*k])
                .sum();
            let new = (step.won + moved).clamp(0.0, 1.0);
            change = change.max((new - w[s]).abs());
            w[s] = new;
        }
        if change < 1e-15 {
            break;
        }
    }
    w
}

#[cfg(test)]
mod tests;
