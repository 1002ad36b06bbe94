//! Flow: inflow of leads and deals and the closes per week or month, with their variation and
//! the peaks and valleys marked; then the projection of won closes for the coming weeks from
//! the deals open now, with the valleys it foresees and what it takes to fill them.

use jiff::ToSpan;
use jiff::civil::Date;
use serde::Serialize;
use throughline_core::PipelineId;
use throughline_core::analytics::engine::Simulation;
use throughline_core::analytics::flow::{Flow, flow, series};
use throughline_core::analytics::period::{Grain, Period};
use throughline_core::analytics::projection::{
    Pace, Projection, ProjectionRequest, Refill, project,
};
use throughline_core::analytics::stats::Histogram;
use throughline_core::rollup::number_date;

use super::model::learn_with_open_deals;
use super::queries::{Cut, DayRange, ReportFilter, closed, inflow, inflow_per_day, won_cycle_days};
use crate::db::{Store, Tx};
use crate::error::{Result, StoreError};
use crate::events::Ctx;
use crate::settings;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowReport {
    pub pipeline_id: PipelineId,
    pub from: Date,
    pub to: Date,
    pub grain: Grain,
    /// New leads plus deals created without a lead, per bucket.
    pub inflow: Flow,
    /// Deals won per bucket.
    pub won: Flow,
    /// Won value per bucket (minor units).
    pub won_value: Flow,
    /// Deals lost per bucket.
    pub lost: Flow,
    /// Won closes projected for the coming weeks from the deals open now.
    pub projection: Projection,
    /// What the projection's refill plan assumes.
    pub assumptions: Assumptions,
    /// The same projection made `weeks` weeks ago from what was known then, beside what those
    /// deals actually brought in: how far to trust the one above.
    pub backtest: Option<super::backtest::BacktestReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assumptions {
    /// Won ÷ entered for the items that entered between a year and a quarter ago (younger
    /// cohorts have not had time to close).
    pub closing_rate: Option<f64>,
    pub average_won_value: Option<i64>,
    pub median_cycle_days: Option<u32>,
    /// The weekly won value a week must reach not to be a valley.
    pub pace_per_week: i64,
    pub pace_source: &'static str,
}

fn daily<T>(
    rows: &[T],
    day: impl Fn(&T) -> Option<i64>,
    amount: impl Fn(&T) -> f64,
) -> Vec<(Date, f64)> {
    rows.iter()
        .filter_map(|r| day(r).map(|d| (number_date(d), amount(r))))
        .collect()
}

fn days_before(today: Date, days: i64) -> Result<Date> {
    today
        .checked_sub(days.days())
        .map_err(|e| StoreError::invalid("to", e.to_string()))
}

/// What a flow report is asked for.
#[derive(Debug, Clone, Copy)]
pub struct FlowRequest {
    pub pipeline_id: PipelineId,
    pub period: Period,
    pub grain: Grain,
    /// Weeks to project ahead.
    pub weeks: u32,
    pub simulation: Simulation,
}

pub async fn flow_report(
    tx: &mut Tx,
    ctx: &Ctx,
    request: &FlowRequest,
    filter: &ReportFilter,
) -> Result<FlowReport> {
    let mut report = flow_without_backtest(tx, ctx, request, filter).await?;
    report.backtest = super::backtest::backtest(
        tx,
        ctx,
        request.pipeline_id,
        request.weeks,
        request.simulation,
    )
    .await?;
    Ok(report)
}

/// [`flow_report`], with the backtest worked out at the same time on a second connection of
/// `store` (on another core where the runtime has one): the two share nothing, and the
/// backtest reads only a past that the present does not change. Where no connection is idle,
/// the backtest follows on `tx`, so that a busy pool never waits on itself.
pub async fn flow_report_concurrently(
    store: &Store,
    tx: &mut Tx,
    ctx: &Ctx,
    request: &FlowRequest,
    filter: &ReportFilter,
) -> Result<FlowReport> {
    if store.idle_connections() == 0 {
        return flow_report(tx, ctx, request, filter).await;
    }
    let (store, actor) = (store.clone(), *ctx);
    let FlowRequest {
        pipeline_id,
        weeks,
        simulation,
        ..
    } = *request;
    let backtest = tokio::spawn(async move {
        let mut tx = store.read().await?;
        super::backtest::backtest(&mut tx, &actor, pipeline_id, weeks, simulation).await
    });
    let report = flow_without_backtest(tx, ctx, request, filter).await;
    let backtest = backtest
        .await
        .map_err(|e| StoreError::Interrupted(format!("the backtest: {e}")))?;
    Ok(FlowReport {
        backtest: backtest?,
        ..report?
    })
}

async fn flow_without_backtest(
    tx: &mut Tx,
    ctx: &Ctx,
    request: &FlowRequest,
    filter: &ReportFilter,
) -> Result<FlowReport> {
    let FlowRequest {
        pipeline_id,
        period,
        grain,
        weeks,
        simulation,
    } = *request;
    let range = DayRange::dates(period.from, period.to);
    let parse_day = |cut: &String| cut.parse::<i64>().ok();
    let inflow_rows = inflow_per_day(tx, ctx, pipeline_id, range, filter).await?;
    let inflow_daily = daily(&inflow_rows, |r| Some(r.0), |r| r.1 as f64);
    let closed_rows = if filter.source.is_some() || filter.campaign.is_some() {
        super::queries::closed_by_origin(tx, ctx, pipeline_id, range, filter, Cut::Day).await?
    } else {
        closed(tx, ctx, pipeline_id, range, filter, Cut::Day).await?
    };
    let won_daily = daily(&closed_rows, |r| parse_day(&r.cut), |r| r.won as f64);
    let value_daily = daily(&closed_rows, |r| parse_day(&r.cut), |r| r.won_value as f64);
    let lost_daily = daily(&closed_rows, |r| parse_day(&r.cut), |r| r.lost as f64);

    // The projection: from today, with this pipeline's learned behaviour.
    let tz = settings::time_zone(tx).await?;
    let today = ctx.at.to_zoned_datetime(tz.clone()).date();
    let (learned, deals) = learn_with_open_deals(tx, ctx, pipeline_id, filter).await?;

    let recent = DayRange::dates(days_before(today, 84)?, days_before(today, 1)?);
    let recent_won: i64 = closed(tx, ctx, pipeline_id, recent, filter, Cut::None)
        .await?
        .iter()
        .map(|r| r.won_value)
        .sum();
    let pace = Pace::RecentAverage {
        per_week: recent_won / 12,
    };

    let cohort = DayRange::dates(days_before(today, 365)?, days_before(today, 91)?);
    let cohort_rows = inflow(tx, ctx, Some(pipeline_id), cohort, filter, Cut::None).await?;
    let (entered, entered_won) = cohort_rows
        .iter()
        .fold((0, 0), |a, r| (a.0 + r.leads + r.deals, a.1 + r.won));
    let year = DayRange::dates(days_before(today, 365)?, today);
    let won_days = won_cycle_days(tx, ctx, pipeline_id, year, filter).await?;
    let year_closed = closed(tx, ctx, pipeline_id, year, filter, Cut::None).await?;
    let (won_n, won_value) = year_closed
        .iter()
        .fold((0, 0), |a, r| (a.0 + r.won, a.1 + r.won_value));
    let mut cycle = Histogram::new();
    for &(days, n) in &won_days {
        cycle.add(days, n.max(0) as u64);
    }
    let cycle = cycle.quantile(0.5).map(|d| d.round() as u32);
    let closing_rate = (entered > 0).then(|| entered_won as f64 / entered as f64);
    let average_won_value = (won_n > 0).then(|| won_value / won_n);
    let refill = match (closing_rate, average_won_value, cycle) {
        (Some(c), Some(v), Some(d)) if c > 0.0 && v > 0 => Some(Refill {
            closing_rate: c,
            average_won_value: v,
            median_cycle_days: d,
        }),
        _ => None,
    };
    let projection = project(
        &learned.model,
        &ProjectionRequest {
            today,
            deals: &deals,
            weeks,
            pace,
            refill,
            simulation,
        },
    )?;
    Ok(FlowReport {
        pipeline_id,
        from: period.from,
        to: period.to,
        grain,
        inflow: flow(&series(period, grain, &inflow_daily)),
        won: flow(&series(period, grain, &won_daily)),
        won_value: flow(&series(period, grain, &value_daily)),
        lost: flow(&series(period, grain, &lost_daily)),
        projection,
        assumptions: Assumptions {
            closing_rate,
            average_won_value,
            median_cycle_days: cycle,
            pace_per_week: pace.per_week(),
            pace_source: "mean weekly won value of the last 12 weeks",
        },
        backtest: None,
    })
}
