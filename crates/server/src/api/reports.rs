//! Reports under `/api/v1/reports/…` (and the snapshot under its pipeline). Every report takes
//! the same query parameters: `pipeline` (id or name), a period (`from`/`to`, `last=90d`,
//! `quarter=2025Q3`, `month=2025-07` or `year=2025`), filters (`owner`, `team`, `source`,
//! `campaign`) and, where it makes sense, `group_by`, `grain`, `weeks`, `periods`, `seed`,
//! `runs`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::ToSpan;
use serde::Deserialize;
use throughline_core::analytics::engine::Simulation;
use throughline_core::analytics::period::{Grain, Period, PeriodArgs};
use throughline_core::pipeline::Pipeline;
use throughline_core::report::{AttentionReport, FunnelReport};
use throughline_core::snapshot::Snapshot;
use throughline_core::time::parse_instant_or_date;
use throughline_core::{Invalid, PipelineId, TeamId, UserId};
use throughline_store::reports::{
    self, CycleReport, FlowReport, FlowRequest, ForecastReport, Grouping, ReportFilter,
    SourcesReport, VelocityReport,
};
use throughline_store::{Ctx, Tx, pipelines, settings, snapshot};

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiPath, ApiQuery};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    pipeline: Option<String>,
    from: Option<String>,
    to: Option<String>,
    last: Option<String>,
    quarter: Option<String>,
    month: Option<String>,
    year: Option<String>,
    owner: Option<UserId>,
    team: Option<TeamId>,
    source: Option<String>,
    campaign: Option<String>,
    group_by: Option<String>,
    grain: Option<String>,
    weeks: Option<u32>,
    periods: Option<usize>,
    seed: Option<u64>,
    runs: Option<u32>,
    at: Option<String>,
}

fn invalid(field: &str, message: impl Into<String>) -> Problem {
    Problem::invalid(Invalid::field(field, message))
}

impl ReportQuery {
    fn filter(&self) -> ReportFilter {
        let text = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        ReportFilter {
            owner_id: self.owner,
            team_id: self.team,
            source: text(&self.source),
            campaign: text(&self.campaign),
        }
    }

    async fn pipeline(&self, tx: &mut Tx) -> ApiResult<Pipeline> {
        let key = self
            .pipeline
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty());
        let Some(key) = key else {
            return Err(invalid("pipeline", "is required: a pipeline id or name").into());
        };
        Ok(pipelines::find(tx, key).await?.ok_or_else(|| {
            invalid(
                "pipeline",
                format!("no pipeline is named or has the id `{key}`"),
            )
        })?)
    }

    /// The chosen period, or the last `default_days` days up to today.
    async fn period(&self, tx: &mut Tx, ctx: &Ctx, default_days: i64) -> ApiResult<Period> {
        let tz = settings::time_zone(tx).await?;
        let today = ctx.at.to_zoned_datetime(tz).date();
        let args = PeriodArgs {
            from: self.from.clone(),
            to: self.to.clone(),
            last: self.last.clone(),
            quarter: self.quarter.clone(),
            month: self.month.clone(),
            year: self.year.clone(),
        };
        match args.resolve(today)? {
            Some(p) => Ok(p),
            None => {
                let from = today
                    .checked_sub((default_days - 1).days())
                    .map_err(|e| invalid("last", e.to_string()))?;
                Ok(Period::new(from, today)?)
            }
        }
    }

    fn grouping(&self) -> ApiResult<Option<Grouping>> {
        match self
            .group_by
            .as_deref()
            .map(str::trim)
            .filter(|g| !g.is_empty())
        {
            None => Ok(None),
            Some(g) => g
                .parse()
                .map(Some)
                .map_err(|m: String| invalid("group_by", m).into()),
        }
    }

    fn grain(&self, default: Grain, allowed: &[Grain]) -> ApiResult<Grain> {
        let grain = match self
            .grain
            .as_deref()
            .map(str::trim)
            .filter(|g| !g.is_empty())
        {
            None => default,
            Some(g) => g
                .parse::<Grain>()
                .map_err(|m| invalid("grain", m.to_string()))?,
        };
        if !allowed.contains(&grain) {
            let names: Vec<String> = allowed.iter().map(|g| g.to_string()).collect();
            return Err(invalid("grain", format!("use {}", names.join(" or "))).into());
        }
        Ok(grain)
    }

    fn simulation(&self) -> ApiResult<Simulation> {
        let mut sim = Simulation::default();
        if let Some(seed) = self.seed {
            sim.seed = seed;
        }
        if let Some(runs) = self.runs {
            if !(100..=100_000).contains(&runs) {
                return Err(invalid("runs", "must be between 100 and 100000").into());
            }
            sim.runs = runs;
        }
        Ok(sim)
    }
}

pub async fn funnel(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<FunnelReport>> {
    let ctx = auth.ctx();
    let mut tx = state.store.read().await?;
    let pipeline = q.pipeline(&mut tx).await?;
    let period = q.period(&mut tx, &ctx, 90).await?;
    let grouping = q.grouping()?;
    Ok(Json(
        reports::funnel(
            &mut tx,
            &ctx,
            pipeline.id,
            period.from,
            period.to,
            &q.filter(),
            grouping,
        )
        .await?,
    ))
}

pub async fn cycle(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<CycleReport>> {
    let ctx = auth.ctx();
    let mut tx = state.store.read().await?;
    let pipeline = q.pipeline(&mut tx).await?;
    let period = q.period(&mut tx, &ctx, 90).await?;
    Ok(Json(
        reports::cycle(
            &mut tx,
            &ctx,
            pipeline.id,
            period.from,
            period.to,
            &q.filter(),
        )
        .await?,
    ))
}

pub async fn velocity(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<VelocityReport>> {
    let ctx = auth.ctx();
    let mut tx = state.store.read().await?;
    let pipeline = q.pipeline(&mut tx).await?;
    let period = q.period(&mut tx, &ctx, 180).await?;
    Ok(Json(
        reports::velocity(
            &mut tx,
            &ctx,
            pipeline.id,
            period.from,
            period.to,
            &q.filter(),
        )
        .await?,
    ))
}

pub async fn flow(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<FlowReport>> {
    let ctx = auth.ctx();
    let mut tx = state.store.read().await?;
    let pipeline = q.pipeline(&mut tx).await?;
    let grain = q.grain(Grain::Week, &[Grain::Week, Grain::Month])?;
    let period = q
        .period(&mut tx, &ctx, if grain == Grain::Week { 182 } else { 365 })
        .await?;
    let weeks = q.weeks.unwrap_or(12);
    if !(1..=52).contains(&weeks) {
        return Err(invalid("weeks", "must be between 1 and 52").into());
    }
    let request = FlowRequest {
        pipeline_id: pipeline.id,
        period,
        grain,
        weeks,
        simulation: q.simulation()?,
    };
    Ok(Json(
        reports::flow_report(&mut tx, &ctx, &request, &q.filter()).await?,
    ))
}

pub async fn forecast(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<ForecastReport>> {
    let ctx = auth.ctx();
    let mut tx = state.store.read().await?;
    let pipeline = q.pipeline(&mut tx).await?;
    let grain = q.grain(Grain::Month, &[Grain::Month, Grain::Quarter])?;
    let periods = q
        .periods
        .unwrap_or(if grain == Grain::Month { 3 } else { 4 });
    if !(1..=24).contains(&periods) {
        return Err(invalid("periods", "must be between 1 and 24").into());
    }
    Ok(Json(
        reports::forecast(
            &mut tx,
            &ctx,
            pipeline.id,
            grain,
            periods,
            &q.filter(),
            q.simulation()?,
        )
        .await?,
    ))
}

pub async fn attention(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<AttentionReport>> {
    let ctx = auth.ctx();
    let mut tx = state.store.read().await?;
    let pipeline = q.pipeline(&mut tx).await?;
    Ok(Json(
        reports::attention(&mut tx, &ctx, pipeline.id, &q.filter(), ctx.at).await?,
    ))
}

pub async fn sources(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<SourcesReport>> {
    let ctx = auth.ctx();
    let mut tx = state.store.read().await?;
    let pipeline = match q
        .pipeline
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        None => None,
        Some(_) => Some(q.pipeline(&mut tx).await?.id),
    };
    let period = q.period(&mut tx, &ctx, 90).await?;
    Ok(Json(
        reports::sources(&mut tx, &ctx, pipeline, period.from, period.to, &q.filter()).await?,
    ))
}

pub async fn snapshot_report(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<Snapshot>> {
    let ctx = auth.ctx();
    let mut tx = state.store.read().await?;
    let pipeline = q.pipeline(&mut tx).await?;
    let at = at_param(&mut tx, &ctx, q.at.as_deref()).await?;
    Ok(Json(
        snapshot::snapshot(&mut tx, &ctx, pipeline.id, at).await?,
    ))
}

async fn at_param(tx: &mut Tx, ctx: &Ctx, at: Option<&str>) -> ApiResult<jiff::Timestamp> {
    match at.map(str::trim).filter(|a| !a.is_empty()) {
        None => Ok(ctx.at),
        Some(text) => {
            let tz = settings::time_zone(tx).await?;
            parse_instant_or_date(text, &tz).map_err(|msg| {
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "/problems/validation",
                    "Invalid input",
                    format!("at: {msg}"),
                )
                .with_field("at", msg)
                .into()
            })
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotQuery {
    /// An RFC 3339 instant, or a date meaning the end of that day in the team's time zone.
    /// Defaults to now.
    at: Option<String>,
}

/// The pipeline exactly as it stood at `at`, for the deals the caller may see.
pub async fn snapshot(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<PipelineId>,
    ApiQuery(q): ApiQuery<SnapshotQuery>,
) -> ApiResult<Json<Snapshot>> {
    let ctx = auth.ctx();
    let mut tx = state.store.read().await?;
    let at = at_param(&mut tx, &ctx, q.at.as_deref()).await?;
    Ok(Json(snapshot::snapshot(&mut tx, &ctx, id, at).await?))
}
