//! Calibration: the win probability configured on each stage beside the win rate actually
//! observed from it, and the one the model learned — so that a team can see that its
//! "Proposal: 60%" really wins 35% of the time.

use serde::Serialize;

use super::Model;

/// Where a deal ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reach {
    /// Won.
    Won,
    /// Lost.
    Lost,
    /// Still open.
    Open,
}

/// `count` deals whose furthest stage was `max_stage` and that ended as `outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReachBin {
    /// Index of the furthest stage the deal entered. A deal that skipped a stage counts as
    /// having passed it (DESIGN.md), so reaching stage 3 means passing 0, 1 and 2.
    pub max_stage: usize,
    /// How the deals ended.
    pub outcome: Reach,
    /// How many deals.
    pub count: u64,
}

/// One line of the calibration table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationRow {
    /// Stage index.
    pub stage: usize,
    /// The stage's configured win probability, in percent.
    pub configured: f64,
    /// Won ÷ (won + lost) among closed deals that reached the stage, in percent; `None` when
    /// none has closed. Deals still open are left out, which favours whatever closes fast.
    pub observed: Option<f64>,
    /// Closed deals that reached the stage and were won.
    pub won: u64,
    /// Closed deals that reached the stage.
    pub closed: u64,
    /// The model's chance that a deal entering the stage is won, in percent. It counts open
    /// deals for as long as they have lasted and borrows from the pipeline where data is thin.
    pub learned: f64,
    /// Stays in the stage the learned figure rests on.
    pub learned_from: u64,
}

/// The calibration table, one row per configured stage (probabilities in percent, in stage
/// order).
pub fn calibration(configured: &[i64], reached: &[ReachBin], model: &Model) -> Vec<CalibrationRow> {
    configured
        .iter()
        .enumerate()
        .map(|(s, &percent)| {
            let (mut won, mut lost) = (0u64, 0u64);
            for bin in reached.iter().filter(|b| b.max_stage >= s) {
                match bin.outcome {
                    Reach::Won => won = won.saturating_add(bin.count),
                    Reach::Lost => lost = lost.saturating_add(bin.count),
                    Reach::Open => {}
                }
            }
            let closed = won.saturating_add(lost);
            let figures = model.figures().get(s);
            CalibrationRow {
                stage: s,
                configured: percent.clamp(0, 100) as f64,
                observed: (closed > 0).then(|| 100.0 * won as f64 / closed as f64),
                won,
                closed,
                learned: figures.map_or(0.0, |f| 100.0 * f.win_probability),
                learned_from: figures.map_or(0, |f| f.stays),
            }
        })
        .collect()
}
