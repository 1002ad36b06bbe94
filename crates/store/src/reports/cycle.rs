//! Cycle time for won and lost deals, and time spent in each stage: which stages hold deals
//! longest.

use jiff::civil::Date;
use serde::Serialize;
use throughline_core::analytics::stats::{Histogram, Summary, summarize};
use throughline_core::rollup::{date_number, month_of_day};
use throughline_core::time::MS_PER_DAY;
use throughline_core::{PipelineId, StageId};

use super::model::learn;
use super::queries::{DayRange, ReportFilter, cycle_times, stays};
use crate::db::Tx;
use crate::error::Result;
use crate::events::Ctx;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageTime {
    pub stage_id: StageId,
    pub name: String,
    /// Completed stays that ended in the months of the period, in whole days.
    pub completed: Summary,
    /// From all history with deals still in the stage counted for the days they have lasted
    /// (Kaplan–Meier): the typical stay, not biased toward the quick ones.
    pub learned_median_days: Option<u32>,
    pub learned_p90_days: Option<u32>,
    /// Open deals in the stage now that the viewer may see (and the filters select).
    pub open_now: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CycleReport {
    pub pipeline_id: PipelineId,
    pub from: Date,
    pub to: Date,
    /// Days from the start of the cycle (the lead's creation, where there was one) to the close,
    /// for deals closed in the period.
    pub won: Summary,
    pub lost: Summary,
    /// Stages in pipeline order.
    pub stages: Vec<StageTime>,
    /// Stage names by learned median stay, longest first.
    pub slowest: Vec<String>,
}

fn days(ms: &[i64]) -> Vec<f64> {
    ms.iter().map(|m| *m as f64 / MS_PER_DAY as f64).collect()
}

pub async fn cycle(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline_id: PipelineId,
    from: Date,
    to: Date,
    filter: &ReportFilter,
) -> Result<CycleReport> {
    let range = DayRange::dates(from, to);
    let (won, lost) = cycle_times(tx, ctx, pipeline_id, range, filter).await?;
    let learned = learn(tx, pipeline_id, ctx.at).await?;
    // The model learns from the whole pipeline; what is listed as open now is only what the
    // viewer may see and the filters select.
    let open = super::queries::open_sim_rows(tx, ctx, pipeline_id, filter).await?;
    let months = (
        month_of_day(date_number(from)),
        month_of_day(date_number(to)),
    );
    let rows = stays(tx, pipeline_id, Some(months)).await?;
    let mut stages = vec![];
    for (i, stage) in learned
        .stages
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.archived)
    {
        let mut histogram = Histogram::new();
        for r in rows.iter().filter(|r| r.stage_id == stage.id) {
            histogram.add(r.days, r.count.max(0) as u64);
        }
        let figures = learned.model.figures().get(i);
        stages.push(StageTime {
            stage_id: stage.id,
            name: stage.name.clone(),
            completed: histogram.summary(),
            learned_median_days: figures.and_then(|f| f.median_days).map(|q| q.days),
            learned_p90_days: figures.and_then(|f| f.p90_days).map(|q| q.days),
            open_now: open.iter().filter(|d| d.stage_id == stage.id).count() as u64,
        });
    }
    let mut slowest: Vec<&StageTime> = stages.iter().collect();
    slowest.sort_by(|a, b| {
        b.learned_median_days
            .cmp(&a.learned_median_days)
            .then(a.name.cmp(&b.name))
    });
    Ok(CycleReport {
        pipeline_id,
        from,
        to,
        won: summarize(&days(&won)),
        lost: summarize(&days(&lost)),
        slowest: slowest
            .iter()
            .filter(|s| s.learned_median_days.is_some())
            .map(|s| s.name.clone())
            .collect(),
        stages,
    })
}
