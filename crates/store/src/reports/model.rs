//! Learning the pipeline's stage model from the report tables: completed stays from
//! `report_stays`, open stays from the deals still in each stage (censored at their age).

use std::collections::HashMap;

use jiff::Timestamp;
use throughline_core::analytics::engine::OpenDeal as SimDeal;
use throughline_core::analytics::model::{Exit, Model, ModelConfig, StayBin};
use throughline_core::pipeline::Stage;
use throughline_core::rollup::StayExit;
use throughline_core::time::{MS_PER_DAY, to_ms};
use throughline_core::{PipelineId, StageId};

use super::queries::{OpenSimRow, ReportFilter, StayRow, open_sim_rows, stays};
use crate::db::Tx;
use crate::error::{Result, StoreError};
use crate::events::Ctx;
use crate::pipelines;
use crate::rows::parse_once;
use crate::table_read::for_each_row;
use crate::table_rows::Val;

/// A learned model and the stage order its indexes follow.
pub struct LearnedModel {
    pub model: Model,
    /// Active stages by position, then archived ones: index = place in this list.
    pub stages: Vec<Stage>,
    pub index: HashMap<StageId, usize>,
}

/// Whole days from `from_ms` to `now`, measured like the stays (floor of 24-hour days).
pub fn age_days(from_ms: i64, now: Timestamp) -> u32 {
    u32::try_from(((to_ms(now) - from_ms).max(0)) / MS_PER_DAY).unwrap_or(u32::MAX)
}

/// Completed stays as the model takes them: stages by their place in `index`; a move to a
/// stage of another pipeline leaves this one like a loss would.
pub(crate) fn stay_bins(rows: Vec<StayRow>, index: &HashMap<StageId, usize>) -> Vec<StayBin> {
    rows.into_iter()
        .filter_map(|row| {
            let stage = *index.get(&row.stage_id)?;
            let to = row.to_stage.and_then(|t| index.get(&t).copied());
            let exit = match (row.exit, to) {
                (StayExit::Forward, Some(t)) => Exit::Forward(t),
                (StayExit::Backward, Some(t)) => Exit::Backward(t),
                (StayExit::Won, _) => Exit::Won,
                _ => Exit::Lost,
            };
            Some(StayBin {
                stage,
                days: u32::try_from(row.days.max(0)).unwrap_or(u32::MAX),
                exit,
                count: row.count.max(0) as u64,
            })
        })
        .collect()
}

/// Stays still running, counted per (stage place, whole days so far): censored observations.
pub(crate) fn open_stay_bins(open: HashMap<(usize, u32), u64>) -> impl Iterator<Item = StayBin> {
    open.into_iter().map(|((stage, days), count)| StayBin {
        stage,
        days,
        exit: Exit::Open,
        count,
    })
}

pub async fn learn(tx: &mut Tx, pipeline: PipelineId, now: Timestamp) -> Result<LearnedModel> {
    learn_from(tx, pipeline, now, None).await
}

/// The model, and the open deals the actor may see (with `filter`) as the simulation takes
/// them: read once when they are every open deal of the pipeline.
pub(crate) async fn learn_with_open_deals(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline: PipelineId,
    filter: &ReportFilter,
) -> Result<(LearnedModel, Vec<SimDeal>)> {
    let open = open_sim_rows(tx, ctx, pipeline, filter).await?;
    let whole = ctx.sees_everything() && filter.is_empty();
    let learned = learn_from(tx, pipeline, ctx.at, whole.then_some(&open[..])).await?;
    let deals = learned.sim_rows(&open, ctx.at);
    Ok((learned, deals))
}

/// [`learn`], given the pipeline's open deals when they were already read in full (by one who
/// sees every deal, without filters); otherwise they are read here.
async fn learn_from(
    tx: &mut Tx,
    pipeline: PipelineId,
    now: Timestamp,
    all_open: Option<&[OpenSimRow]>,
) -> Result<LearnedModel> {
    let mut stages = pipelines::stages(tx, pipeline, true).await?;
    stages.sort_by_key(|s| (s.archived, s.position, s.id));
    let index: HashMap<StageId, usize> =
        stages.iter().enumerate().map(|(i, s)| (s.id, i)).collect();

    let mut bins = stay_bins(stays(tx, pipeline, None).await?, &index);
    // Every open deal of the pipeline is a stay still running: the censored observations that
    // keep the durations honest.
    let mut open_bins: HashMap<(usize, u32), u64> = HashMap::new();
    let mut count = |stage: StageId, entered: i64| {
        if let Some(&i) = index.get(&stage) {
            *open_bins.entry((i, age_days(entered, now))).or_default() += 1;
        }
    };
    match all_open {
        Some(rows) => rows
            .iter()
            .for_each(|d| count(d.stage_id, d.stage_entered_at)),
        None => {
            let mut stage_ids: HashMap<String, StageId> = HashMap::new();
            for_each_row(
                tx,
                "SELECT stage_id, stage_entered_at FROM deals WHERE pipeline_id = $1 AND status = 'open'",
                &[Val::Text(Some(pipeline.to_string()))],
                |r| {
                    count(parse_once(&mut stage_ids, "stage id", r.text(0)?)?, r.int(1)?);
                    Ok(())
                },
            )
            .await?;
        }
    }
    bins.extend(open_stay_bins(open_bins));
    let model =
        Model::learn(stages.len(), &bins, ModelConfig::default()).map_err(StoreError::Invalid)?;
    Ok(LearnedModel {
        model,
        stages,
        index,
    })
}

impl LearnedModel {
    /// Open deals as the simulation takes them, from the rows of `open_sim_rows`.
    pub fn sim_rows(&self, deals: &[OpenSimRow], now: Timestamp) -> Vec<SimDeal> {
        deals
            .iter()
            .filter_map(|d| {
                let stage = *self.index.get(&d.stage_id)?;
                Some(SimDeal {
                    stage,
                    age_days: age_days(d.stage_entered_at, now),
                    value: d.value,
                    probability: self.stages[stage].probability,
                    expected_close: d
                        .expected_close_date
                        .as_deref()
                        .and_then(|c| c.parse().ok()),
                })
            })
            .collect()
    }
}
