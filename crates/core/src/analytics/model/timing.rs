//! When deals are won: the distribution of the day, counted from today, on which a deal now in
//! stage s at age a is won — exactly, by the renewal equations of the semi-Markov model, not by
//! sampling.
//!
//! Two steps:
//! 1. For a deal *entering* stage j today, W_j(t) = P(won on day t). It leaves j on day x
//!    towards d with chance S_j(x − 1)·h_{j,d}(x); if d is "won" that is a win on day x, if d
//!    is stage k the rest is W_k(t − x). Moves on the day of entry (x = 0) tie the stages
//!    together on the same day t, which is solved by iteration.
//! 2. For a deal in stage s at age a: Q(a, t) = h_won(a)·[t = 0] + Σ_k h_k(a)·W_k(t) +
//!    (1 − h(a))·Q(a + 1, t − 1) — it leaves today or it is one day older tomorrow. Computed
//!    for all ages at once, from the oldest down; every age from the end of the tables on
//!    shares one row (the constant tail).

use serde::Serialize;

use super::{Dest, Model};

/// When a deal would be won.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WinTiming {
    /// `by_day[t]`: the chance of being won t days from today (0 = today).
    pub by_day: Vec<f64>,
    /// The chance of being won later than the days listed.
    pub later: f64,
}

/// One deal's prospects, for a deal page or an attention list.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Outlook {
    /// Chance of being won eventually.
    pub win_probability: f64,
    /// If it is won, the median number of days from today until then; `None` when it would not
    /// be within a year (or never).
    pub median_days_to_win: Option<u32>,
    /// Past stays of its stage that lasted at least as long: what the figures rest on.
    pub based_on: u64,
}

/// How far [`Model::outlook`] looks for the median: a year.
const OUTLOOK_DAYS: u32 = 366;

impl Model {
    /// A deal's prospects from its stage and its age there. It costs about a millisecond: fine
    /// for one deal, use the projection for many.
    pub fn outlook(&self, stage: usize, age: u32) -> Outlook {
        let p = self.win_probability(stage, age);
        let timing = self.win_timing(stage, age, OUTLOOK_DAYS);
        let mut cum = 0.0;
        let median_days_to_win = (p > 0.0)
            .then(|| {
                timing.by_day.iter().position(|x| {
                    cum += x;
                    cum >= p / 2.0 - 1e-12
                })
            })
            .flatten()
            .map(|d| d as u32);
        Outlook {
            win_probability: p,
            median_days_to_win,
            based_on: self.at_risk(stage, age),
        }
    }

    /// When a deal in `stage` for `age` days would be won, over the next `days` days.
    pub fn win_timing(&self, stage: usize, age: u32, days: u32) -> WinTiming {
        let horizon = days as usize;
        if stage >= self.stages() || horizon == 0 {
            return WinTiming {
                by_day: vec![0.0; horizon],
                later: self.win_probability(stage, age),
            };
        }
        let entry = self.entry_win_days(horizon);
        let age = (age as usize).min(self.len()) as u32;
        let mut by_day = vec![0.0; horizon];
        self.win_days_by_age(stage, &[age], horizon, &entry, |_, row| {
            by_day.copy_from_slice(row)
        });
        let within: f64 = by_day.iter().sum();
        WinTiming {
            later: (self.win_probability(stage, age) - within).max(0.0),
            by_day,
        }
    }

    /// W_j(t) for every stage j and day t < `horizon`.
    pub(crate) fn entry_win_days(&self, horizon: usize) -> Vec<Vec<f64>> {
        let stages = self.stages();
        // Exit densities from entry: S_j(x − 1)·h_{j,d}(x), row x of dests.
        let density: Vec<Vec<f64>> = self
            .stage
            .iter()
            .map(|m| {
                let nd = m.dests.len();
                let mut out = vec![0.0; horizon * nd];
                let mut surv = 1.0;
                for x in 0..horizon {
                    let (row, total) = m.row(x);
                    for (o, h) in out[x * nd..(x + 1) * nd].iter_mut().zip(row) {
                        *o = surv * h;
                    }
                    surv *= 1.0 - total;
                }
                out
            })
            .collect();
        let mut w = vec![vec![0.0; horizon]; stages];
        let mut b = vec![0.0; stages];
        for t in 0..horizon {
            for (j, m) in self.stage.iter().enumerate() {
                let nd = m.dests.len();
                let dens = &density[j];
                let mut acc = 0.0;
                for (di, dest) in m.dests.iter().enumerate() {
                    match dest {
                        Dest::Won => acc += dens[t * nd + di],
                        Dest::Lost => {}
                        Dest::Stage(k) => {
                            let wk = &w[*k];
                            for x in 1..=t {
                                acc += dens[x * nd + di] * wk[t - x];
                            }
                        }
                    }
                }
                b[j] = acc;
            }
            // Same-day moves: W(t) = b + A₀·W(t), iterated from W(t) = b.
            for j in 0..stages {
                w[j][t] = b[j];
            }
            for _ in 0..1000 {
                let mut change: f64 = 0.0;
                for (j, m) in self.stage.iter().enumerate() {
                    let mut v = b[j];
                    for (di, dest) in m.dests.iter().enumerate() {
                        if let Dest::Stage(k) = dest {
                            v += density[j][di] * w[*k][t];
                        }
                    }
                    change = change.max((v - w[j][t]).abs());
                    w[j][t] = v;
                }
                if change < 1e-16 {
                    break;
                }
            }
        }
        w
    }

    /// Calls `each(age, row)` with row[t] = P(won on day t from today) for every age in `ages`
    /// (ascending, each at most the table length, where the tail row serves every older age).
    pub(crate) fn win_days_by_age(
        &self,
        stage: usize,
        ages: &[u32],
        horizon: usize,
        entry: &[Vec<f64>],
        mut each: impl FnMut(u32, &[f64]),
    ) {
        let Some(m) = self.stage.get(stage) else {
            return;
        };
        let (Some(&lowest), Some(&highest)) = (ages.first(), ages.last()) else {
            return;
        };
        let len = self.len();
        // c(a, ·) += hazards of today's exits times what follows them.
        let add_exits = |row: &[f64], out: &mut [f64]| {
            for (dest, h) in m.dests.iter().zip(row) {
                if *h == 0.0 {
                    continue;
                }
                match dest {
                    Dest::Won => {
                        if let Some(o) = out.first_mut() {
                            *o += h;
                        }
                    }
                    Dest::Lost => {}
                    Dest::Stage(k) => {
                        for (o, wk) in out.iter_mut().zip(&entry[*k]) {
                            *o += h * wk;
                        }
                    }
                }
            }
        };
        let mut prev = vec![0.0; horizon];
        let mut next = vec![0.0; horizon];
        // Rows older than `highest + horizon` cannot reach the rows we want within the horizon.
        let top = len.min(highest as usize + horizon);
        if top == len {
            // The tail row: Q(t) = c(t) + (1 − h)·Q(t − 1).
            add_exits(&m.tail, &mut prev);
            for t in 1..horizon {
                prev[t] += (1.0 - m.tail_total) * prev[t - 1];
            }
        }
        let mut wanted = ages.iter().rev().peekable();
        while let Some(&&a) = wanted.peek().filter(|a| ***a as usize >= top) {
            wanted.next();
            each(a, &prev);
        }
        for a in (lowest as usize..top).rev() {
            let (row, total) = m.row(a);
            next.fill(0.0);
            add_exits(row, &mut next);
            for t in 1..horizon {
                next[t] += (1.0 - total) * prev[t - 1];
            }
            std::mem::swap(&mut prev, &mut next);
            while wanted.peek().is_some_and(|w| **w as usize == a) {
                wanted.next();
                each(a as u32, &prev);
            }
        }
    }
}
