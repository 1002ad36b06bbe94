//! Forecast per month or quarter: won so far, the weighted pipeline, and the probabilistic
//! forecast (P10/P50/P90) from the learned stage model, with the calibration table.

use jiff::civil::Date;
use serde::Serialize;
use throughline_core::analytics::engine::Simulation;
use throughline_core::analytics::forecast::{Forecast, ForecastRequest, forecast as run_forecast};
use throughline_core::analytics::model::{CalibrationRow, Reach, ReachBin, calibration};
use throughline_core::analytics::period::{Bucket, Grain, bucket_of};
use throughline_core::{Currency, PipelineId};

use super::model::learn_with_open_deals;
use super::queries::{Cut, DayRange, ReportFilter, closed};
use crate::db::{Tx, on_conn};
use crate::error::Result;
use crate::events::Ctx;
use crate::rows::parse;
use crate::{pipelines, settings};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageCalibration {
    pub name: String,
    #[serde(flatten)]
    pub row: CalibrationRow,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastReport {
    pub pipeline_id: PipelineId,
    pub currency: Currency,
    pub grain: Grain,
    pub forecast: Forecast,
    /// Configured stage probabilities beside the win rates observed and learned from each stage.
    pub calibration: Vec<StageCalibration>,
}

pub async fn forecast(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline_id: PipelineId,
    grain: Grain,
    periods: usize,
    filter: &ReportFilter,
    simulation: Simulation,
) -> Result<ForecastReport> {
    let pipeline = pipelines::require(tx, pipeline_id).await?;
    let tz = settings::time_zone(tx).await?;
    let today = ctx.at.to_zoned_datetime(tz.clone()).date();
    let mut buckets: Vec<Bucket> = vec![bucket_of(today, grain)];
    while buckets.len() < periods.max(1) {
        match buckets.last().and_then(|b| b.next()) {
            Some(next) => buckets.push(next),
            None => break,
        }
    }
    let mut won_so_far = vec![];
    for b in &buckets {
        let to: Date = b.end.min(today);
        let won = if b.start > today {
            0
        } else {
            closed(
                tx,
                ctx,
                pipeline_id,
                DayRange::dates(b.start, to),
                filter,
                Cut::None,
            )
            .await?
            .iter()
            .map(|r| r.won_value)
            .sum()
        };
        won_so_far.push(won);
    }
    let (learned, deals) = learn_with_open_deals(tx, ctx, pipeline_id, filter).await?;
    let result = run_forecast(
        &learned.model,
        &ForecastRequest {
            today,
            buckets: &buckets,
            won_so_far: &won_so_far,
            deals: &deals,
            simulation,
        },
    )?;

    let reach: Vec<(String, String, i64)> = on_conn!(tx, c => sqlx::query_as(
        "SELECT stage_id, outcome, CAST(SUM(count) AS BIGINT) FROM report_reach WHERE pipeline_id = $1 GROUP BY stage_id, outcome",
    )
    .bind(pipeline_id.to_string())
    .fetch_all(&mut *c)
    .await)?;
    let mut bins = vec![];
    for (stage, outcome, count) in reach {
        let Some(&max_stage) = learned.index.get(&parse("stage id", &stage)?) else {
            continue;
        };
        let outcome = match outcome.as_str() {
            "won" => Reach::Won,
            "lost" => Reach::Lost,
            _ => Reach::Open,
        };
        bins.push(ReachBin {
            max_stage,
            outcome,
            count: count.max(0) as u64,
        });
    }
    let active: Vec<i64> = learned
        .stages
        .iter()
        .filter(|s| !s.archived)
        .map(|s| s.probability)
        .collect();
    let calibration = calibration(&active, &bins, &learned.model)
        .into_iter()
        .map(|row| StageCalibration {
            name: learned.stages[row.stage].name.clone(),
            row,
        })
        .collect();
    Ok(ForecastReport {
        pipeline_id,
        currency: pipeline.currency,
        grain,
        forecast: result,
        calibration,
    })
}
