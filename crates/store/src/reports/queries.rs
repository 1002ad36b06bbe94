//! Reading the report tables: sums over a range of days, cut by stage, owner, source,
//! campaign or day, for what the actor may see.
//!
//! The SQL is assembled from fixed pieces (table, grouping column, filters) chosen here; no
//! user text ever becomes SQL.

use std::collections::HashMap;

use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use throughline_core::rollup::{StayExit, date_number, number_date};
use throughline_core::time::to_ms;
use throughline_core::{PipelineId, StageId, TeamId, UserId};

use crate::db::{Tx, on_conn};
use crate::error::{Result, StoreError};
use crate::events::Ctx;
use crate::rows::{opt_text, parse, parse_once};
use crate::table_read::for_each_row;
use crate::table_rows::Val;

/// Inclusive range of calendar days in the team's time zone, as day numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRange {
    pub from: i64,
    pub to: i64,
}

impl DayRange {
    pub fn dates(from: jiff::civil::Date, to: jiff::civil::Date) -> Self {
        DayRange {
            from: date_number(from),
            to: date_number(to),
        }
    }

    /// The instants bounding the range in `tz`: [start of `from`, start of the day after `to`).
    pub fn instants(&self, tz: &TimeZone) -> Result<(i64, i64)> {
        let start = |d: i64| -> Result<i64> {
            number_date(d)
                .to_zoned_datetime(tz.clone())
                .map(|z| to_ms(z.timestamp()))
                .map_err(|e| StoreError::invalid("period", e.to_string()))
        };
        Ok((start(self.from)?, start(self.to + 1)?))
    }
}

/// Who and where the figures are about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportFilter {
    pub owner_id: Option<UserId>,
    pub team_id: Option<TeamId>,
    pub source: Option<String>,
    pub campaign: Option<String>,
}

impl ReportFilter {
    /// No filter: every deal the actor may see.
    pub fn is_empty(&self) -> bool {
        !self.by_person() && !self.by_origin()
    }

    fn by_person(&self) -> bool {
        self.owner_id.is_some() || self.team_id.is_some()
    }

    fn by_origin(&self) -> bool {
        self.source.is_some() || self.campaign.is_some()
    }
}

/// How rows are cut before summing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cut {
    #[default]
    None,
    Owner,
    Source,
    Campaign,
    Day,
}

impl Cut {
    fn column(self) -> &'static str {
        match self {
            Cut::None => "''",
            Cut::Owner => "owner_id",
            Cut::Source => "source",
            Cut::Campaign => "campaign",
            Cut::Day => "CAST(day AS TEXT)",
        }
    }

    /// The GROUP BY entry for the cut, with a trailing comma (nothing when not cutting:
    /// PostgreSQL refuses to group by a constant).
    fn group(self) -> &'static str {
        match self {
            Cut::None => "",
            Cut::Owner => "owner_id,",
            Cut::Source => "source,",
            Cut::Campaign => "campaign,",
            Cut::Day => "day,",
        }
    }

    fn needs_person(self) -> bool {
        self == Cut::Owner
    }

    fn needs_origin(self) -> bool {
        matches!(self, Cut::Source | Cut::Campaign)
    }
}

/// Common WHERE pieces; the caller binds `$1` role, `$2` user, `$3` pipeline, `$4`/`$5` the
/// day range, `$6` owner, `$7` team, `$8` source, `$9` campaign.
fn filters(person: bool, origin: bool, has_owner_column: bool) -> String {
    let mut sql = String::from("pipeline_id = $3 AND day >= $4 AND day <= $5");
    if has_owner_column {
        sql.push_str(concat!(
            " AND (owner_id = '' OR ",
            crate::scope::visible_owner!("owner_id"),
            ")"
        ));
    } else {
        // The by-origin table has no owner: only those who see everything may read it.
        sql.push_str(" AND $1 = 'admin' AND ($2 IS NULL OR $2 IS NOT NULL)");
    }
    if person {
        sql.push_str(" AND ($6 IS NULL OR owner_id = $6) AND ($7 IS NULL OR owner_id IN (SELECT id FROM users WHERE team_id = $7))");
    } else {
        sql.push_str(" AND ($6 IS NULL OR $6 IS NOT NULL) AND ($7 IS NULL OR $7 IS NOT NULL)");
    }
    if origin {
        sql.push_str(" AND ($8 IS NULL OR source = $8) AND ($9 IS NULL OR campaign = $9)");
    } else {
        sql.push_str(" AND ($8 IS NULL OR $8 IS NOT NULL) AND ($9 IS NULL OR $9 IS NOT NULL)");
    }
    sql
}

/// May the day tables (the sums over owners, sources and campaigns) answer? For one who sees
/// every deal, without filters, cut by nothing or by day.
fn whole_days(ctx: &Ctx, filter: &ReportFilter, cut: Cut) -> bool {
    ctx.sees_everything() && filter.is_empty() && matches!(cut, Cut::None | Cut::Day)
}

/// The table to read, `day_table` where it can answer ([`whole_days`]) or `cut_table`, and its
/// WHERE ([`WHOLE_DAYS`] or [`filters`], with the origin filters when `cut_table` has those
/// columns).
fn table_and_filters(
    ctx: &Ctx,
    filter: &ReportFilter,
    cut: Cut,
    (day_table, cut_table): (&'static str, &'static str),
    has_origin: bool,
) -> (&'static str, String) {
    if whole_days(ctx, filter, cut) {
        (day_table, WHOLE_DAYS.to_string())
    } else {
        (cut_table, filters(true, has_origin, true))
    }
}

/// The WHERE of the day tables, with the parameters of [`filters`]: those it does not need are
/// still referenced, as PostgreSQL refuses a parameter its statement does not use.
const WHOLE_DAYS: &str = "pipeline_id = $3 AND day >= $4 AND day <= $5
    AND ($1 IS NULL OR $1 IS NOT NULL) AND ($2 IS NULL OR $2 IS NOT NULL)
    AND ($6 IS NULL OR $6 IS NOT NULL) AND ($7 IS NULL OR $7 IS NOT NULL)
    AND ($8 IS NULL OR $8 IS NOT NULL) AND ($9 IS NULL OR $9 IS NOT NULL)";

macro_rules! bind_common {
    ($q:expr, $ctx:expr, $pipeline:expr, $range:expr, $filter:expr) => {
        $q.bind($ctx.role())
            .bind($ctx.user())
            .bind($pipeline.to_string())
            .bind($range.from)
            .bind($range.to)
            .bind(opt_text($filter.owner_id))
            .bind(opt_text($filter.team_id))
            .bind($filter.source.clone())
            .bind($filter.campaign.clone())
    };
}

/// First entries into a stage and how many progressed, per stage and cut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunnelRow {
    pub cut: String,
    pub stage_id: StageId,
    pub entries: i64,
    pub progressed: i64,
}

pub async fn funnel(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline: PipelineId,
    range: DayRange,
    filter: &ReportFilter,
    cut: Cut,
) -> Result<Vec<FunnelRow>> {
    let person = filter.by_person() || cut.needs_person() || !ctx.actor.is_admin();
    let origin = filter.by_origin() || cut.needs_origin();
    let table = match (person, origin) {
        (_, false) => "report_funnel_owner",
        (false, true) => "report_funnel_source",
        (true, true) => "report_funnel_full",
    };
    let has_owner = table != "report_funnel_source";
    let sql = format!(
        "SELECT {cut} AS cut, stage_id, CAST(SUM(entries) AS BIGINT), CAST(SUM(progressed) AS BIGINT) FROM {table}
         WHERE {filters} GROUP BY {group} stage_id",
        cut = cut.column(),
        group = cut.group(),
        filters = filters(person, origin, has_owner),
    );
    let rows: Vec<(String, String, i64, i64)> = on_conn!(tx, c => bind_common!(sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())), ctx, pipeline, range, filter).fetch_all(&mut *c).await)?;
    rows.into_iter()
        .map(|(cut, stage, entries, progressed)| {
            Ok(FunnelRow {
                cut,
                stage_id: parse("stage id", &stage)?,
                entries,
                progressed,
            })
        })
        .collect()
}

/// Deals closed in the range, per cut and outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClosedRow {
    pub cut: String,
    pub won: i64,
    pub won_value: i64,
    pub won_cycle_ms: i64,
    pub lost: i64,
    pub lost_value: i64,
    pub lost_cycle_ms: i64,
}

pub async fn closed(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline: PipelineId,
    range: DayRange,
    filter: &ReportFilter,
    cut: Cut,
) -> Result<Vec<ClosedRow>> {
    if filter.by_origin() || cut.needs_origin() {
        return Err(StoreError::invalid(
            "source",
            "closes are not cut by source or campaign; use the sources report",
        ));
    }
    let (table, filters) = table_and_filters(
        ctx,
        filter,
        cut,
        ("report_closed_day", "report_closed"),
        false,
    );
    let sql = format!(
        "SELECT {cut} AS cut, won, CAST(SUM(count) AS BIGINT), CAST(SUM(value) AS BIGINT), CAST(SUM(cycle_ms) AS BIGINT)
         FROM {table} WHERE {filters} GROUP BY {group} won",
        cut = cut.column(),
        group = cut.group(),
    );
    let rows: Vec<(String, i64, i64, i64, i64)> = on_conn!(tx, c => bind_common!(sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())), ctx, pipeline, range, filter).fetch_all(&mut *c).await)?;
    let mut out: HashMap<String, ClosedRow> = HashMap::new();
    for (cut, won, count, value, cycle) in rows {
        let row = out.entry(cut.clone()).or_insert_with(|| ClosedRow {
            cut,
            ..Default::default()
        });
        if won == 1 {
            row.won += count;
            row.won_value += value;
            row.won_cycle_ms += cycle;
        } else {
            row.lost += count;
            row.lost_value += value;
            row.lost_cycle_ms += cycle;
        }
    }
    let mut rows: Vec<ClosedRow> = out.into_values().collect();
    rows.sort_by(|a, b| a.cut.cmp(&b.cut));
    Ok(rows)
}

/// Items that entered the funnel in the range (by cohort day) and what became of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InflowRow {
    pub cut: String,
    pub leads: i64,
    pub deals: i64,
    pub qualified: i64,
    pub won: i64,
    pub won_value: i64,
    pub won_cycle_ms: i64,
}

/// Items that entered `pipeline`'s funnel (with the leads not yet in any pipeline), or every
/// pipeline's when `None`.
pub async fn inflow(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline: Option<PipelineId>,
    range: DayRange,
    filter: &ReportFilter,
    cut: Cut,
) -> Result<Vec<InflowRow>> {
    // Leads not yet qualified into any pipeline entered every pipeline's funnel: they count
    // in each (for a team with one pipeline, exactly where they belong).
    let (table, mut where_sql) = table_and_filters(
        ctx,
        filter,
        cut,
        ("report_inflow_day", "report_inflow"),
        true,
    );
    where_sql = if pipeline.is_none() {
        where_sql.replacen("pipeline_id = $3", "($3 = '' OR $3 <> '')", 1)
    } else {
        where_sql.replacen(
            "pipeline_id = $3",
            "(pipeline_id = $3 OR pipeline_id = '')",
            1,
        )
    };
    let sql = format!(
        "SELECT {cut} AS cut, kind, CAST(SUM(entered) AS BIGINT), CAST(SUM(qualified) AS BIGINT), CAST(SUM(won) AS BIGINT),
                CAST(SUM(won_value) AS BIGINT), CAST(SUM(won_cycle_ms) AS BIGINT)
         FROM {table} WHERE {where_sql} GROUP BY {group} kind",
        cut = cut.column(),
        group = cut.group(),
    );
    let pipeline_text = pipeline.map(|p| p.to_string()).unwrap_or_default();
    let rows: Vec<(String, String, i64, i64, i64, i64, i64)> = on_conn!(tx, c => bind_common!(sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())), ctx, pipeline_text, range, filter).fetch_all(&mut *c).await)?;
    let mut out: HashMap<String, InflowRow> = HashMap::new();
    for (cut, kind, entered, qualified, won, won_value, won_cycle) in rows {
        let row = out.entry(cut.clone()).or_insert_with(|| InflowRow {
            cut,
            ..Default::default()
        });
        if kind == "lead" {
            row.leads += entered;
        } else {
            row.deals += entered;
        }
        row.qualified += qualified;
        row.won += won;
        row.won_value += won_value;
        row.won_cycle_ms += won_cycle;
    }
    let mut rows: Vec<InflowRow> = out.into_values().collect();
    rows.sort_by(|a, b| a.cut.cmp(&b.cut));
    Ok(rows)
}

/// Items that entered `pipeline`'s funnel per day of the range (leads and deals together): the
/// entered counts of [`inflow`] cut by day, with the same filters, without the other sums.
pub async fn inflow_per_day(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline: PipelineId,
    range: DayRange,
    filter: &ReportFilter,
) -> Result<Vec<(i64, i64)>> {
    let (table, where_sql) = table_and_filters(
        ctx,
        filter,
        Cut::Day,
        ("report_inflow_day", "report_inflow"),
        true,
    );
    let where_sql = where_sql.replacen(
        "pipeline_id = $3",
        "(pipeline_id = $3 OR pipeline_id = '')",
        1,
    );
    let sql = format!(
        "SELECT day, CAST(SUM(entered) AS BIGINT) FROM {table} WHERE {where_sql} GROUP BY day"
    );
    let rows: Vec<(i64, i64)> = on_conn!(tx, c => bind_common!(sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())), ctx, pipeline, range, filter).fetch_all(&mut *c).await)?;
    Ok(rows)
}

/// Completed stays per stage, whole days spent and exit, for stays that ended in the months
/// from `from_month` to `to_month` (day numbers of first days of months; `None` = all time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StayRow {
    pub stage_id: StageId,
    pub days: i64,
    pub exit: StayExit,
    pub to_stage: Option<StageId>,
    pub count: i64,
}

pub async fn stays(
    tx: &mut Tx,
    pipeline: PipelineId,
    months: Option<(i64, i64)>,
) -> Result<Vec<StayRow>> {
    let (from, to) = months.unwrap_or((i64::MIN, i64::MAX));
    // Summed here rather than grouped by the database: the rows come in key order already,
    // and a sort of every month's rows costs more than the sums.
    type Key = (StageId, i64, StayExit, Option<StageId>);
    let mut sums: HashMap<Key, i64> = HashMap::new();
    let mut stages: HashMap<String, StageId> = HashMap::new();
    for_each_row(
        tx,
        "SELECT stage_id, days, exit, to_stage, count FROM report_stays
         WHERE pipeline_id = $1 AND month >= $2 AND month <= $3",
        &[
            Val::Text(Some(pipeline.to_string())),
            Val::Int(Some(from)),
            Val::Int(Some(to)),
        ],
        |r| {
            let exit = r.text(2)?;
            let exit = StayExit::parse(exit)
                .ok_or_else(|| StoreError::Corrupt(format!("stay exit `{exit}`")))?;
            let to_stage = match r.text(3)? {
                "" => None,
                to => Some(parse_once(&mut stages, "stage id", to)?),
            };
            let stage = parse_once(&mut stages, "stage id", r.text(0)?)?;
            *sums.entry((stage, r.int(1)?, exit, to_stage)).or_default() += r.int(4)?;
            Ok(())
        },
    )
    .await?;
    let mut rows: Vec<StayRow> = sums
        .into_iter()
        .filter(|(_, count)| *count != 0)
        .map(|((stage_id, days, exit, to_stage), count)| StayRow {
            stage_id,
            days,
            exit,
            to_stage,
            count,
        })
        .collect();
    // The order a GROUP BY of the key columns gave (ids sort as their text does).
    rows.sort_by(|a, b| {
        (a.stage_id, a.days, a.exit.as_str(), a.to_stage).cmp(&(
            b.stage_id,
            b.days,
            b.exit.as_str(),
            b.to_stage,
        ))
    });
    Ok(rows)
}

/// An open deal as the projection and the forecast simulate it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenSimRow {
    pub stage_id: StageId,
    pub stage_entered_at: i64,
    pub value: i64,
    pub expected_close_date: Option<String>,
}

/// The open deals of a pipeline the actor may see, with the filters applied, with only what a
/// simulation needs: every column is in the `deals_open` index, so the table is not read. The origin
/// filters, whose columns are not in it, are only part of the query when given.
pub async fn open_sim_rows(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline: PipelineId,
    filter: &ReportFilter,
) -> Result<Vec<OpenSimRow>> {
    let sql = open_deals_sql(
        "d.stage_id, d.stage_entered_at, d.value, d.expected_close_date",
        filter,
    );
    // Stage ids repeat: parse each once.
    let mut stages: HashMap<String, StageId> = HashMap::new();
    let mut out = vec![];
    for_each_row(tx, &sql, &person_binds(ctx, pipeline, filter), |r| {
        out.push(OpenSimRow {
            stage_id: parse_once(&mut stages, "stage id", r.text(0)?)?,
            stage_entered_at: r.int(1)?,
            value: r.int(2)?,
            expected_close_date: r.opt_text(3)?.map(str::to_string),
        });
        Ok(())
    })
    .await?;
    Ok(out)
}

/// `SELECT columns` of the open deals of pipeline `$3` the actor may see, with the filters of
/// [`person_binds`]. Every column the reports read is in the `deals_open` index, so the table
/// is not read; the origin filters, whose columns are not in it, are only part of the query
/// when given.
pub(crate) fn open_deals_sql(columns: &str, filter: &ReportFilter) -> String {
    let origin = if filter.by_origin() {
        " AND ($6 IS NULL OR d.source = $6) AND ($7 IS NULL OR d.campaign = $7)"
    } else {
        " AND ($6 IS NULL OR $6 IS NOT NULL) AND ($7 IS NULL OR $7 IS NOT NULL)"
    };
    format!(
        "SELECT {columns}
         FROM deals d WHERE d.pipeline_id = $3 AND d.status = 'open' AND {visible}
           AND ($4 IS NULL OR d.owner_id = $4) AND ($5 IS NULL OR d.owner_id IN (SELECT id FROM users WHERE team_id = $5)){origin}",
        visible = crate::scope::visible_owner!("d.owner_id"),
    )
}

/// The parameters of the open-deal queries: `$1` role, `$2` user, `$3` pipeline, `$4` owner,
/// `$5` team, `$6` source, `$7` campaign.
pub(crate) fn person_binds(ctx: &Ctx, pipeline: PipelineId, filter: &ReportFilter) -> [Val; 7] {
    [
        Val::Shared(ctx.role().into()),
        Val::Text(ctx.user()),
        Val::Text(Some(pipeline.to_string())),
        Val::Text(opt_text(filter.owner_id)),
        Val::Text(opt_text(filter.team_id)),
        Val::Text(filter.source.clone()),
        Val::Text(filter.campaign.clone()),
    ]
}

/// Won deals closed in the range by whole days of their cycle (`cycle_times`' won side,
/// counted from the `deals_won` index): (days, deals).
pub async fn won_cycle_days(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline: PipelineId,
    range: DayRange,
    filter: &ReportFilter,
) -> Result<Vec<(i64, i64)>> {
    let tz = crate::settings::time_zone(tx).await?;
    let (from_ms, to_ms) = range.instants(&tz)?;
    let origin = if filter.by_origin() {
        " AND ($8 IS NULL OR d.source = $8) AND ($9 IS NULL OR d.campaign = $9)"
    } else {
        " AND ($8 IS NULL OR $8 IS NOT NULL) AND ($9 IS NULL OR $9 IS NOT NULL)"
    };
    let sql = format!(
        "SELECT d.cycle_started_at, d.closed_at
         FROM deals d
         WHERE d.pipeline_id = $3 AND d.status = 'won' AND d.closed_at >= $4 AND d.closed_at < $5 AND {visible}
           AND ($6 IS NULL OR d.owner_id = $6) AND ($7 IS NULL OR d.owner_id IN (SELECT id FROM users WHERE team_id = $7)){origin}",
        visible = crate::scope::visible_owner!("d.owner_id"),
    );
    let binds = [
        Val::Shared(ctx.role().into()),
        Val::Text(ctx.user()),
        Val::Text(Some(pipeline.to_string())),
        Val::Int(Some(from_ms)),
        Val::Int(Some(to_ms)),
        Val::Text(opt_text(filter.owner_id)),
        Val::Text(opt_text(filter.team_id)),
        Val::Text(filter.source.clone()),
        Val::Text(filter.campaign.clone()),
    ];
    // Counted here: a few hundred distinct days, a hundred thousand deals.
    let mut days: HashMap<i64, i64> = HashMap::new();
    for_each_row(tx, &sql, &binds, |r| {
        let (started, closed) = (r.int(0)?, r.int(1)?);
        let cycle = if closed > started {
            (closed - started) / throughline_core::time::MS_PER_DAY
        } else {
            0
        };
        *days.entry(cycle).or_default() += 1;
        Ok(())
    })
    .await?;
    let mut rows: Vec<(i64, i64)> = days.into_iter().collect();
    rows.sort_unstable();
    Ok(rows)
}

/// Cycle times (ms) of deals closed in the range, won and lost, for quantiles.
pub async fn cycle_times(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline: PipelineId,
    range: DayRange,
    filter: &ReportFilter,
) -> Result<(Vec<i64>, Vec<i64>)> {
    let tz = crate::settings::time_zone(tx).await?;
    let (from_ms, to_ms) = range.instants(&tz)?;
    let rows: Vec<(String, i64)> = on_conn!(tx, c => sqlx::query_as(concat!(
        "SELECT d.status, d.closed_at - d.cycle_started_at FROM deals d
         WHERE d.pipeline_id = $3 AND d.status <> 'open' AND d.closed_at >= $4 AND d.closed_at < $5 AND ",
        crate::scope::visible_owner!("d.owner_id"),
        " AND ($6 IS NULL OR d.owner_id = $6) AND ($7 IS NULL OR d.owner_id IN (SELECT id FROM users WHERE team_id = $7))
          AND ($8 IS NULL OR d.source = $8) AND ($9 IS NULL OR d.campaign = $9)"
    ))
    .bind(ctx.role())
    .bind(ctx.user())
    .bind(pipeline.to_string())
    .bind(from_ms)
    .bind(to_ms)
    .bind(opt_text(filter.owner_id))
    .bind(opt_text(filter.team_id))
    .bind(filter.source.clone())
    .bind(filter.campaign.clone())
    .fetch_all(&mut *c)
    .await)?;
    let (mut won, mut lost) = (vec![], vec![]);
    for (status, ms) in rows {
        if status == "won" {
            won.push(ms.max(0))
        } else {
            lost.push(ms.max(0))
        }
    }
    Ok((won, lost))
}

/// Won and lost deals closed in the range, cut by source or campaign, from the deals
/// themselves (the close tables are not cut by origin).
pub async fn closed_by_origin(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline: PipelineId,
    range: DayRange,
    filter: &ReportFilter,
    cut: Cut,
) -> Result<Vec<ClosedRow>> {
    let tz = crate::settings::time_zone(tx).await?;
    let (from_ms, to_ms) = range.instants(&tz)?;
    let column = match cut {
        Cut::Source => "COALESCE(d.source, '')",
        Cut::Campaign => "COALESCE(d.campaign, '')",
        // Days in the team's time zone are worked out below, per close.
        Cut::Day => "CAST(d.closed_at AS TEXT)",
        _ => "''",
    };
    let sql = format!(
        "SELECT {column}, d.status, COUNT(*), CAST(SUM(d.value) AS BIGINT), CAST(SUM(d.closed_at - d.cycle_started_at) AS BIGINT)
         FROM deals d WHERE d.pipeline_id = $3 AND d.status <> 'open' AND d.closed_at >= $4 AND d.closed_at < $5 AND {visible}
           AND ($6 IS NULL OR d.owner_id = $6) AND ($7 IS NULL OR d.owner_id IN (SELECT id FROM users WHERE team_id = $7))
           AND ($8 IS NULL OR d.source = $8) AND ($9 IS NULL OR d.campaign = $9)
         GROUP BY {group} d.status",
        group = if cut == Cut::None { "" } else { "1," },
        visible = crate::scope::visible_owner!("d.owner_id"),
    );
    let rows: Vec<(String, String, i64, i64, i64)> = on_conn!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(ctx.role())
        .bind(ctx.user())
        .bind(pipeline.to_string())
        .bind(from_ms)
        .bind(to_ms)
        .bind(opt_text(filter.owner_id))
        .bind(opt_text(filter.team_id))
        .bind(filter.source.clone())
        .bind(filter.campaign.clone())
        .fetch_all(&mut *c)
        .await)?;
    let mut out: HashMap<String, ClosedRow> = HashMap::new();
    for (key, status, count, value, cycle) in rows {
        let key = match (cut, key.parse::<i64>()) {
            (Cut::Day, Ok(ms)) => {
                throughline_core::rollup::local_day(throughline_core::time::from_ms(ms), &tz)
                    .to_string()
            }
            _ => key,
        };
        let row = out.entry(key.clone()).or_insert_with(|| ClosedRow {
            cut: key,
            ..Default::default()
        });
        if status == "won" {
            row.won += count;
            row.won_value += value;
            row.won_cycle_ms += cycle;
        } else {
            row.lost += count;
            row.lost_value += value;
            row.lost_cycle_ms += cycle;
        }
    }
    let mut rows: Vec<ClosedRow> = out.into_values().collect();
    rows.sort_by(|a, b| a.cut.cmp(&b.cut));
    Ok(rows)
}

/// Inflow cut by source and campaign together.
pub async fn inflow_by_origin(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline: Option<PipelineId>,
    range: DayRange,
    filter: &ReportFilter,
) -> Result<Vec<(String, String, InflowRow)>> {
    let mut where_sql = filters(true, true, true);
    where_sql = if pipeline.is_none() {
        where_sql.replacen("pipeline_id = $3", "($3 = '' OR $3 <> '')", 1)
    } else {
        where_sql.replacen(
            "pipeline_id = $3",
            "(pipeline_id = $3 OR pipeline_id = '')",
            1,
        )
    };
    let sql = format!(
        "SELECT source, campaign, kind, CAST(SUM(entered) AS BIGINT), CAST(SUM(qualified) AS BIGINT), CAST(SUM(won) AS BIGINT),
                CAST(SUM(won_value) AS BIGINT), CAST(SUM(won_cycle_ms) AS BIGINT)
         FROM report_inflow WHERE {where_sql} GROUP BY source, campaign, kind"
    );
    let pipeline_text = pipeline.map(|p| p.to_string()).unwrap_or_default();
    type Row = (String, String, String, i64, i64, i64, i64, i64);
    let rows: Vec<Row> = on_conn!(tx, c => bind_common!(sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())), ctx, pipeline_text, range, filter).fetch_all(&mut *c).await)?;
    let mut out: HashMap<(String, String), InflowRow> = HashMap::new();
    for (source, campaign, kind, entered, qualified, won, won_value, won_cycle) in rows {
        let row = out.entry((source, campaign)).or_default();
        if kind == "lead" {
            row.leads += entered;
        } else {
            row.deals += entered;
        }
        row.qualified += qualified;
        row.won += won;
        row.won_value += won_value;
        row.won_cycle_ms += won_cycle;
    }
    let mut rows: Vec<(String, String, InflowRow)> =
        out.into_iter().map(|((s, c), r)| (s, c, r)).collect();
    rows.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    Ok(rows)
}

/// Open deals per owner now (for velocity by owner).
pub async fn open_by_owner(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline: PipelineId,
    filter: &ReportFilter,
) -> Result<Vec<(String, i64)>> {
    let rows: Vec<(String, i64)> = on_conn!(tx, c => sqlx::query_as(concat!(
        "SELECT d.owner_id, COUNT(*) FROM deals d WHERE d.pipeline_id = $3 AND d.status = 'open' AND ", crate::scope::visible_owner!("d.owner_id"),
        " AND ($4 IS NULL OR d.owner_id = $4) AND ($5 IS NULL OR d.owner_id IN (SELECT id FROM users WHERE team_id = $5))
          GROUP BY d.owner_id"
    ))
    .bind(ctx.role())
    .bind(ctx.user())
    .bind(pipeline.to_string())
    .bind(opt_text(filter.owner_id))
    .bind(opt_text(filter.team_id))
    .fetch_all(&mut *c)
    .await)?;
    Ok(rows)
}

/// Open deals at an instant for the owners a filter selects (the snapshot's fast path is cut
/// by visibility, not by filters; this reads the spans covering the instant).
pub async fn open_at_for_owners(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline: PipelineId,
    at_ms: i64,
    filter: &ReportFilter,
) -> Result<i64> {
    let (n,): (i64,) = on_conn!(tx, c => sqlx::query_as(concat!(
        "SELECT COUNT(*) FROM deal_spans s WHERE s.pipeline_id = $3 AND s.valid_from <= $4 AND (s.valid_to IS NULL OR s.valid_to > $4)
           AND ", crate::scope::visible_owner!("s.owner_id"),
        " AND ($5 IS NULL OR s.owner_id = $5) AND ($6 IS NULL OR s.owner_id IN (SELECT id FROM users WHERE team_id = $6))"
    ))
    .bind(ctx.role())
    .bind(ctx.user())
    .bind(pipeline.to_string())
    .bind(at_ms)
    .bind(opt_text(filter.owner_id))
    .bind(opt_text(filter.team_id))
    .fetch_one(&mut *c)
    .await)?;
    Ok(n)
}
