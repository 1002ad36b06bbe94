//! How far to trust the projection: the same projection made as of a past day, from the history
//! known then, set beside what the deals open that day actually brought in.

use std::collections::{HashMap, HashSet};

use jiff::ToSpan;
use jiff::civil::Date;
use serde::Serialize;
use throughline_core::analytics::engine::{OpenDeal as SimDeal, Simulation};
use throughline_core::analytics::model::{Model, ModelConfig};
use throughline_core::analytics::period::{Grain, bucket_of};
use throughline_core::analytics::projection::{
    Backtest, Pace, ProjectionRequest, backtest as compare, project,
};
use throughline_core::rollup::{date_number, local_day, month_of_day};
use throughline_core::time::{from_ms, to_ms};
use throughline_core::{DealId, PipelineId, StageId};

use super::model::{age_days, open_stay_bins, stay_bins};
use super::queries::stays;
use crate::db::Tx;
use crate::error::{Result, StoreError};
use crate::events::Ctx;
use crate::rows::{parse, parse_once};
use crate::scope::visible_owner;
use crate::table_read::for_each_row;
use crate::table_rows::Val;
use crate::{pipelines, settings};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestWeek {
    pub week: String,
    pub expected_value: i64,
    pub p10: i64,
    pub p90: i64,
    /// Won value the deals open on `as_of` actually closed that week.
    pub actual: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestReport {
    /// The day the past projection was made as of.
    pub as_of: Date,
    /// Open deals on that day the projection started from.
    pub deals: usize,
    pub summary: Backtest,
    pub weeks: Vec<BacktestWeek>,
}

/// The projection `weeks` weeks ago compared with what happened since; `None` without history.
pub async fn backtest(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline_id: PipelineId,
    weeks: u32,
    simulation: Simulation,
) -> Result<Option<BacktestReport>> {
    let tz = settings::time_zone(tx).await?;
    let today = ctx.at.to_zoned_datetime(tz.clone()).date();
    let this_week = bucket_of(today, Grain::Week).start;
    let as_of = this_week
        .checked_sub((i64::from(weeks) * 7).days())
        .map_err(|e| StoreError::invalid("weeks", e.to_string()))?;
    let at = as_of
        .to_zoned_datetime(tz.clone())
        .map_err(|e| StoreError::invalid("weeks", e.to_string()))?
        .timestamp();
    let at_ms = to_ms(at);

    let mut stages = pipelines::stages(tx, pipeline_id, true).await?;
    stages.sort_by_key(|s| (s.archived, s.position, s.id));
    let index: HashMap<StageId, usize> =
        stages.iter().enumerate().map(|(i, s)| (s.id, i)).collect();

    // History known then: stays that had ended before that month (the tables count stays by
    // the month they ended), and the deals open that day, censored at their age then.
    let known_months = (i64::MIN, month_of_day(date_number(as_of)) - 1);
    let mut bins = stay_bins(stays(tx, pipeline_id, Some(known_months)).await?, &index);
    // The spans covering that instant: still open, or ended after it. Two range scans of
    // `deal_spans_to` (the open spans lead each pipeline's range, then those ended after the
    // instant); `+valid_from` keeps the planner off the index of every span that began before
    // the instant, most of the history. A span that began with a stage entry began the stay
    // itself (a deal's spans follow one another without overlap), so only the others look back
    // for the entry.
    let covering = concat!(
        "SELECT s.stage_id, s.value, s.deal_id,
                CASE WHEN s.entered THEN s.valid_from ELSE
                COALESCE((SELECT MAX(e.valid_from) FROM deal_spans e
                          WHERE e.deal_id = s.deal_id AND e.entered = TRUE AND e.valid_from <= $4), s.valid_from) END
         FROM deal_spans s
         WHERE s.pipeline_id = $3 AND s.valid_to IS NULL AND s.valid_from <= $4 AND ",
        visible_owner!("s.owner_id"),
        " UNION ALL
         SELECT s.stage_id, s.value, s.deal_id,
                CASE WHEN s.entered THEN s.valid_from ELSE
                COALESCE((SELECT MAX(e.valid_from) FROM deal_spans e
                          WHERE e.deal_id = s.deal_id AND e.entered = TRUE AND e.valid_from <= $4), s.valid_from) END
         FROM deal_spans s
         WHERE s.pipeline_id = $3 AND s.valid_to > $4 AND +s.valid_from <= $4 AND ",
        visible_owner!("s.owner_id")
    );
    let binds = [
        Val::Shared(ctx.role().into()),
        Val::Text(ctx.user()),
        Val::Text(Some(pipeline_id.to_string())),
        Val::Int(Some(at_ms)),
    ];
    let mut open_bins: HashMap<(usize, u32), u64> = HashMap::new();
    let mut deals = vec![];
    let mut stage_ids: HashMap<String, StageId> = HashMap::new();
    let mut open_then: HashSet<DealId> = HashSet::new();
    for_each_row(tx, covering, &binds, |r| {
        let stage: StageId = parse_once(&mut stage_ids, "stage id", r.text(0)?)?;
        let Some(&i) = index.get(&stage) else {
            return Ok(());
        };
        let age = age_days(r.int(3)?, at);
        open_then.insert(parse("deal id", r.text(2)?)?);
        *open_bins.entry((i, age)).or_default() += 1;
        deals.push(SimDeal {
            stage: i,
            age_days: age,
            value: r.int(1)?,
            probability: stages[i].probability,
            expected_close: None,
        });
        Ok(())
    })
    .await?;
    if deals.is_empty() {
        return Ok(None);
    }
    bins.extend(open_stay_bins(open_bins));
    let model =
        Model::learn(stages.len(), &bins, ModelConfig::default()).map_err(StoreError::Invalid)?;
    let request = ProjectionRequest {
        today: as_of,
        deals: &deals,
        weeks,
        pace: Pace::RecentAverage { per_week: 0 },
        refill: None,
        simulation,
    };
    let projection = project(&model, &request)?;

    let end = this_week
        .to_zoned_datetime(tz.clone())
        .map_err(|e| StoreError::invalid("weeks", e.to_string()))?
        .timestamp();
    // What those same deals won since, week by week (every column is in `deals_won`).
    let won = "SELECT id, closed_at, value FROM deals
               WHERE pipeline_id = $1 AND status = 'won' AND closed_at >= $2 AND closed_at < $3";
    let binds = [
        Val::Text(Some(pipeline_id.to_string())),
        Val::Int(Some(at_ms)),
        Val::Int(Some(to_ms(end))),
    ];
    let mut actual_by_week: HashMap<String, i64> = HashMap::new();
    for_each_row(tx, won, &binds, |r| {
        if open_then.contains(&parse::<DealId>("deal id", r.text(0)?)?) {
            let day = throughline_core::rollup::number_date(local_day(from_ms(r.int(1)?), &tz));
            *actual_by_week
                .entry(bucket_of(day, Grain::Week).key())
                .or_default() += r.int(2)?;
        }
        Ok(())
    })
    .await?;
    let actual: Vec<i64> = projection
        .weeks
        .iter()
        .map(|w| actual_by_week.get(&w.week.key()).copied().unwrap_or(0))
        .collect();
    let Some(summary) = compare(&projection.weeks, &actual) else {
        return Ok(None);
    };
    let weeks = projection
        .weeks
        .iter()
        .zip(&actual)
        .map(|(w, a)| BacktestWeek {
            week: w.week.key(),
            expected_value: w.expected_value,
            p10: w.p10,
            p90: w.p90,
            actual: *a,
        })
        .collect();
    Ok(Some(BacktestReport {
        as_of,
        deals: deals.len(),
        summary,
        weeks,
    }))
}
