//! Reports under `/api/v1/reports/…` (and the snapshot under its pipeline). The reports take
//! their query parameters from one set: `pipeline` (id or name), a period (`from`/`to`,
//! `last=90d`, `quarter=2025Q3`, `month=2025-07` or `year=2025`), filters (`owner`, `team`,
//! `source`, `campaign`) and, where it makes sense, `group_by`, `grain`, `weeks`, `periods`,
//! `seed`, `runs`, `limit`, `offset`; each refuses those it does not use. A blank value means
//! the parameter is not given.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use throughline_core::analytics::engine::Simulation;
use throughline_core::analytics::period::{Grain, Period, PeriodArgs};
use throughline_core::pipeline::Pipeline;
use throughline_core::report::{AttentionReport, FunnelReport, ListPage};
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
use crate::report_params::{self as params, FLOW_GRAINS, FORECAST_GRAINS, PeriodReport};

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
    #[serde(default, deserialize_with = "blank_or_id")]
    owner: Option<UserId>,
    #[serde(default, deserialize_with = "blank_or_id")]
    team: Option<TeamId>,
    source: Option<String>,
    campaign: Option<String>,
    group_by: Option<String>,
    grain: Option<String>,
    #[serde(default, deserialize_with = "blank_is_none")]
    weeks: Option<u32>,
    #[serde(default, deserialize_with = "blank_is_none")]
    periods: Option<usize>,
    #[serde(default, deserialize_with = "blank_is_none")]
    seed: Option<u64>,
    #[serde(default, deserialize_with = "blank_is_none")]
    runs: Option<u32>,
    at: Option<String>,
    #[serde(default, deserialize_with = "blank_is_none")]
    limit: Option<usize>,
    #[serde(default, deserialize_with = "blank_is_none")]
    offset: Option<usize>,
}

/// A parameter given blank (`limit=`, as a form leaves an empty field) is not given, as for the
/// text parameters; otherwise it must parse.
fn blank_is_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    match Option::<String>::deserialize(deserializer)?
        .as_deref()
        .map(str::trim)
    {
        None | Some("") => Ok(None),
        Some(text) => text.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// [`blank_is_none`] for an id, saying what an id looks like.
fn blank_or_id<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    match Option::<String>::deserialize(deserializer)?
        .as_deref()
        .map(str::trim)
    {
        None | Some("") => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("`{text}` is not an id (a UUID): {e}"))),
    }
}

/// Deals of the attention list written out when no `limit` is given.
const ATTENTION_PAGE: usize = 100;
/// The most any page may hold.
const MAX_PAGE: usize = 1000;

fn invalid(field: &str, message: impl Into<String>) -> Problem {
    Problem::invalid(Invalid::field(field, message))
}

/// The period parameters, and the filters, as each report takes them.
const PERIOD: [&str; 6] = ["from", "to", "last", "quarter", "month", "year"];
const FILTERS: [&str; 4] = ["owner", "team", "source", "campaign"];

impl ReportQuery {
    /// Refuse a parameter the report does not use: a mistyped or misplaced one would
    /// otherwise answer silently with a different report than the one asked for.
    fn only(&self, report: &str, takes: &[&[&str]]) -> ApiResult<()> {
        let text = |v: &Option<String>| v.as_deref().is_some_and(|t| !t.trim().is_empty());
        let given = [
            ("pipeline", text(&self.pipeline)),
            ("from", text(&self.from)),
            ("to", text(&self.to)),
            ("last", text(&self.last)),
            ("quarter", text(&self.quarter)),
            ("month", text(&self.month)),
            ("year", text(&self.year)),
            ("owner", self.owner.is_some()),
            ("team", self.team.is_some()),
            ("source", text(&self.source)),
            ("campaign", text(&self.campaign)),
            ("group_by", text(&self.group_by)),
            ("grain", text(&self.grain)),
            ("weeks", self.weeks.is_some()),
            ("periods", self.periods.is_some()),
            ("seed", self.seed.is_some()),
            ("runs", self.runs.is_some()),
            ("at", text(&self.at)),
            ("limit", self.limit.is_some()),
            ("offset", self.offset.is_some()),
        ];
        match given
            .iter()
            .find(|(name, set)| *set && !takes.iter().any(|group| group.contains(name)))
        {
            Some((name, _)) => {
                Err(invalid(name, format!("is not a parameter of the {report} report")).into())
            }
            None => Ok(()),
        }
    }

    fn filter(&self) -> ReportFilter {
        params::filter(
            self.owner,
            self.team,
            self.source.as_deref(),
            self.campaign.as_deref(),
        )
    }

    async fn pipeline(&self, tx: &mut Tx) -> ApiResult<Pipeline> {
        let Some(key) = params::text(self.pipeline.as_deref()) else {
            return Err(invalid("pipeline", "is required: a pipeline id or name").into());
        };
        Ok(pipelines::find(tx, key).await?.ok_or_else(|| {
            invalid(
                "pipeline",
                format!("no pipeline is named or has the id `{key}`"),
            )
        })?)
    }

    /// The chosen period, or the report's default period up to today.
    async fn period(&self, tx: &mut Tx, ctx: &Ctx, report: PeriodReport) -> ApiResult<Period> {
        let today = params::today(tx, ctx).await?;
        let args = PeriodArgs {
            from: self.from.clone(),
            to: self.to.clone(),
            last: self.last.clone(),
            quarter: self.quarter.clone(),
            month: self.month.clone(),
            year: self.year.clone(),
        };
        Ok(params::period(&args, today, report)?)
    }

    fn grouping(&self) -> ApiResult<Option<Grouping>> {
        Ok(params::grouping(self.group_by.as_deref())?)
    }

    fn grain(&self, default: Grain, allowed: &[Grain]) -> ApiResult<Grain> {
        Ok(params::grain(self.grain.as_deref(), default, allowed)?)
    }

    /// The page of a ranked list: `limit` (1–1000, default 100) items from `offset`.
    fn page(&self) -> ApiResult<ListPage> {
        let limit = self.limit.unwrap_or(ATTENTION_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(invalid("limit", format!("must be between 1 and {MAX_PAGE}")).into());
        }
        Ok(ListPage {
            offset: self.offset.unwrap_or(0),
            limit,
        })
    }

    fn simulation(&self) -> ApiResult<Simulation> {
        Ok(params::simulation(self.seed, self.runs)?)
    }
}

pub async fn funnel(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<FunnelReport>> {
    q.only("funnel", &[&["pipeline", "group_by"], &PERIOD, &FILTERS])?;
    let ctx = auth.ctx();
    let mut tx = state.store.read().await?;
    let pipeline = q.pipeline(&mut tx).await?;
    let period = q.period(&mut tx, &ctx, PeriodReport::Funnel).await?;
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
    q.only("cycle", &[&["pipeline"], &PERIOD, &FILTERS])?;
    let ctx = auth.ctx();
    let mut tx = state.store.read().await?;
    let pipeline = q.pipeline(&mut tx).await?;
    let period = q.period(&mut tx, &ctx, PeriodReport::Cycle).await?;
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
    q.only("velocity", &[&["pipeline"], &PERIOD, &FILTERS])?;
    let ctx = auth.ctx();
    let mut tx = state.store.read().await?;
    let pipeline = q.pipeline(&mut tx).await?;
    let period = q.period(&mut tx, &ctx, PeriodReport::Velocity).await?;
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
    q.only(
        "flow",
        &[
            &["pipeline", "grain", "weeks", "seed", "runs"],
            &PERIOD,
            &FILTERS,
        ],
    )?;
    let ctx = auth.ctx();
    let mut tx = state.store.read().await?;
    let pipeline = q.pipeline(&mut tx).await?;
    let grain = q.grain(FLOW_GRAINS[0], &FLOW_GRAINS)?;
    let period = q.period(&mut tx, &ctx, PeriodReport::Flow(grain)).await?;
    let weeks = params::flow_weeks(q.weeks)?;
    let request = FlowRequest {
        pipeline_id: pipeline.id,
        period,
        grain,
        weeks,
        simulation: q.simulation()?,
    };
    Ok(Json(
        reports::flow_report_concurrently(&state.store, &mut tx, &ctx, &request, &q.filter())
            .await?,
    ))
}

pub async fn forecast(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<ForecastReport>> {
    q.only(
        "forecast",
        &[&["pipeline", "grain", "periods", "seed", "runs"], &FILTERS],
    )?;
    let ctx = auth.ctx();
    let mut tx = state.store.read().await?;
    let pipeline = q.pipeline(&mut tx).await?;
    let grain = q.grain(FORECAST_GRAINS[0], &FORECAST_GRAINS)?;
    let periods = params::forecast_periods(q.periods, grain)?;
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
    q.only("attention", &[&["pipeline", "limit", "offset"], &FILTERS])?;
    let ctx = auth.ctx();
    let mut tx = state.store.read().await?;
    let pipeline = q.pipeline(&mut tx).await?;
    Ok(Json(
        reports::attention(&mut tx, &ctx, pipeline.id, &q.filter(), ctx.at, q.page()?).await?,
    ))
}

pub async fn sources(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<SourcesReport>> {
    q.only("sources", &[&["pipeline"], &PERIOD, &FILTERS])?;
    let ctx = auth.ctx();
    let mut tx = state.store.read().await?;
    let pipeline = match params::text(q.pipeline.as_deref()) {
        None => None,
        Some(_) => Some(q.pipeline(&mut tx).await?.id),
    };
    let period = q.period(&mut tx, &ctx, PeriodReport::Sources).await?;
    Ok(Json(
        reports::sources(&mut tx, &ctx, pipeline, period.from, period.to, &q.filter()).await?,
    ))
}

pub async fn snapshot_report(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<Snapshot>> {
    q.only("snapshot", &[&["pipeline", "at"]])?;
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
