//! One simulated future of one deal: which stages it goes through, how long it stays in each,
//! and whether it ends won or lost. Seeded, so the same seed gives the same path.
//!
//! The projection and forecast do not need paths — they use the exact win-day distributions of
//! `timing` — but a path is what a person can picture ("in this run, it moves to Proposal
//! after 9 days and is won 20 days later"), and sampling many paths is an independent check
//! of those exact distributions.

use serde::Serialize;

use super::super::rng::SimRng;
use super::{Dest, Model, StageModel};

/// How a simulated path ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PathEnd {
    /// Won.
    Won,
    /// Lost.
    Lost,
    /// Still open after [`MAX_PATH_DAYS`] days or [`MAX_PATH_MOVES`] moves, or stuck in a
    /// stage nobody ever left.
    Stalled,
}

/// A simulated remaining path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Path {
    /// How it ends.
    pub end: PathEnd,
    /// Days from today until it is won or lost (for a stalled path, until it was given up).
    pub days: u32,
    /// Stage changes on the way.
    pub moves: u32,
}

/// A path is given up after this many days (a hundred years)…
pub const MAX_PATH_DAYS: u32 = 36_525;
/// …or this many stage changes.
pub const MAX_PATH_MOVES: u32 = 10_000;

impl Model {
    /// Simulate the rest of the path of a deal in `stage` for `age` days.
    pub fn simulate_path(&self, stage: usize, age: u32, rng: &mut SimRng) -> Path {
        let mut days = 0u32;
        let mut moves = 0u32;
        let mut stage = stage;
        let mut age = age;
        let stalled = |days, moves| Path {
            end: PathEnd::Stalled,
            days,
            moves,
        };
        loop {
            let Some(m) = self.stage.get(stage) else {
                return stalled(days, moves);
            };
            let Some(exit_day) = sample_exit_day(m, self.len(), age, rng) else {
                return stalled(MAX_PATH_DAYS, moves);
            };
            days = days.saturating_add(exit_day - age);
            if days > MAX_PATH_DAYS {
                return stalled(MAX_PATH_DAYS, moves);
            }
            let (row, total) = m.row(exit_day as usize);
            let mut pick = rng.uniform() * total;
            let mut dest = None;
            for (d, h) in m.dests.iter().zip(row) {
                if *h > 0.0 {
                    dest = Some(*d);
                    if pick < *h {
                        break;
                    }
                    pick -= h;
                }
            }
            match dest {
                Some(Dest::Won) => {
                    return Path {
                        end: PathEnd::Won,
                        days,
                        moves,
                    };
                }
                Some(Dest::Lost) => {
                    return Path {
                        end: PathEnd::Lost,
                        days,
                        moves,
                    };
                }
                Some(Dest::Stage(k)) => {
                    moves += 1;
                    if moves >= MAX_PATH_MOVES {
                        return stalled(days, moves);
                    }
                    stage = k;
                    age = 0;
                }
                None => return stalled(days, moves),
            }
        }
    }
}

/// The day (counted from entering the stage) on which a stay now `age` days old ends, drawn by
/// inverting its conditional survival curve: the first day t ≥ age with S(t) < u·S(age − 1).
/// `None` when it never ends.
fn sample_exit_day(m: &StageModel, len: usize, age: u32, rng: &mut SimRng) -> Option<u32> {
    let log_tail = (1.0 - m.tail_total).ln();
    let a = age as usize;
    let log_at = |day: usize| -> f64 {
        if day < len {
            m.log_surv[day]
        } else {
            m.log_surv[len - 1] + (day - len + 1) as f64 * log_tail
        }
    };
    let base = if a == 0 { 0.0 } else { log_at(a - 1) };
    let target = base + rng.uniform_open0().ln();
    if a < len {
        let offset = m.log_surv[a..].partition_point(|l| *l >= target);
        if a + offset < len {
            return Some((a + offset) as u32);
        }
    }
    if m.tail_total <= 0.0 {
        return None;
    }
    let (from_day, from) = if a < len {
        (len - 1, m.log_surv[len - 1])
    } else {
        (a - 1, base)
    };
    let k = ((target - from) / log_tail).floor() + 1.0;
    let day = from_day as f64 + k.max(1.0);
    (day.is_finite() && day <= f64::from(MAX_PATH_DAYS) + f64::from(age)).then_some(day as u32)
}
