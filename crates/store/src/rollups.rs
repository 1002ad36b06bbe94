//! Keeping the report tables in step with deals and leads.
//!
//! Each operation that changes a deal or lead computes the record's contribution before and
//! after (core::rollup) and adds the difference to the tables, in the same transaction.
//! `rebuild` recomputes every table from the deals, spans and leads; a test checks that the
//! two paths agree.

use std::collections::{BTreeMap, HashMap};

use throughline_core::rollup::{
    Close, ClosedValues, DealTimeline, Entry, FunnelValues, InflowValues, LeadTimeline, Rollup,
    deal_rollup, lead_rollup,
};
use throughline_core::time::from_ms;
use throughline_core::{DealId, LeadId, PipelineId, StageId, UserId};

use crate::db::{Tx, exec, on_conn};
use crate::error::Result;
use crate::rows::{parse, parse_opt};
use crate::settings;
use crate::table_rows::Rows;

/// Bump when what the tables hold changes (a new table or definition): stores opened by a
/// newer version rebuild them once.
pub const VERSION: &str = "2";

type DealRow = (
    String,
    String,
    i64,
    bool,
    Option<String>,
    Option<String>,
    String,
    Option<i64>,
    i64,
    String,
);
type SpanRow = (String, String, String, i64, bool);
/// created_at, owner, source, campaign of a lead.
type LeadRow = (i64, Option<String>, Option<String>, Option<String>);
/// The same and the deal it became.
type LeadWithDeal = (
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

const DEAL_COLUMNS: &str = "d.id, d.pipeline_id, d.cycle_started_at, d.lead_id IS NOT NULL, d.source, d.campaign, d.status, d.closed_at, d.value, d.owner_id";

/// Active stage positions of every pipeline.
async fn all_positions(tx: &mut Tx) -> Result<HashMap<PipelineId, HashMap<StageId, i64>>> {
    let rows: Vec<(String, String, i64)> = on_conn!(tx, c => sqlx::query_as(
        "SELECT pipeline_id, id, position FROM stages WHERE archived = FALSE",
    )
    .fetch_all(&mut *c)
    .await)?;
    let mut out: HashMap<PipelineId, HashMap<StageId, i64>> = HashMap::new();
    for (p, s, pos) in rows {
        out.entry(parse("pipeline id", &p)?)
            .or_default()
            .insert(parse("stage id", &s)?, pos);
    }
    Ok(out)
}

async fn positions(tx: &mut Tx, pipeline: PipelineId) -> Result<HashMap<StageId, i64>> {
    if let Some(cached) = tx.cache.positions.get(&pipeline) {
        return Ok(cached.clone());
    }
    let fresh = load_positions(tx, pipeline).await?;
    tx.cache.positions.insert(pipeline, fresh.clone());
    Ok(fresh)
}

async fn load_positions(tx: &mut Tx, pipeline: PipelineId) -> Result<HashMap<StageId, i64>> {
    let rows: Vec<(String, i64)> = on_conn!(tx, c => sqlx::query_as(
        "SELECT id, position FROM stages WHERE pipeline_id = $1 AND archived = FALSE",
    )
    .bind(pipeline.to_string())
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter()
        .map(|(s, p)| Ok((parse("stage id", &s)?, p)))
        .collect()
}

fn timeline(deal: DealRow, spans: &[SpanRow]) -> Result<DealTimeline> {
    let (_, pipeline, cycle_start, from_lead, source, campaign, status, closed_at, value, owner) =
        deal;
    let owner: UserId = parse("user id", &owner)?;
    let in_pipeline: Vec<&SpanRow> = spans.iter().filter(|s| s.0 == pipeline).collect();
    let mut entries = vec![];
    for (_, stage, span_owner, from, entered) in &in_pipeline {
        if *entered {
            entries.push(Entry {
                at: from_ms(*from),
                stage_id: parse("stage id", stage)?,
                owner_id: parse("user id", span_owner)?,
            });
        }
    }
    let first_owner = match spans.first() {
        Some(s) => parse("user id", &s.2)?,
        None => owner,
    };
    let last_owner = match in_pipeline.last() {
        Some(s) => parse("user id", &s.2)?,
        None => owner,
    };
    let close = match (status.as_str(), closed_at) {
        ("won" | "lost", Some(at)) => Some(Close {
            at: from_ms(at),
            won: status == "won",
            owner_id: last_owner,
            value,
        }),
        _ => None,
    };
    Ok(DealTimeline {
        pipeline_id: parse("pipeline id", &pipeline)?,
        cycle_started_at: from_ms(cycle_start),
        from_lead,
        owner_at_start: first_owner,
        source,
        campaign,
        entries,
        close,
    })
}

/// What a deal contributes now (nothing if it does not exist).
pub(crate) async fn of_deal(tx: &mut Tx, id: DealId) -> Result<Rollup> {
    let row: Option<DealRow> = on_conn!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {DEAL_COLUMNS} FROM deals d WHERE d.id = $1"
    )))
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    let Some(row) = row else {
        return Ok(Rollup::default());
    };
    let spans: Vec<SpanRow> = on_conn!(tx, c => sqlx::query_as(
        "SELECT pipeline_id, stage_id, owner_id, valid_from, entered FROM deal_spans WHERE deal_id = $1 ORDER BY valid_from, id",
    )
    .bind(id.to_string())
    .fetch_all(&mut *c)
    .await)?;
    let pipeline: PipelineId = parse("pipeline id", &row.1)?;
    let tl = timeline(row, &spans)?;
    let tz = settings::time_zone(tx).await?;
    Ok(deal_rollup(&tl, &positions(tx, pipeline).await?, &tz))
}

/// What a lead contributes on its own: only while it has not become a deal.
pub(crate) async fn of_lead(tx: &mut Tx, id: LeadId) -> Result<Rollup> {
    let row: Option<LeadWithDeal> = on_conn!(tx, c => sqlx::query_as(
        "SELECT created_at, owner_id, source, campaign, deal_id FROM leads WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    let Some((created, owner, source, campaign, deal)) = row else {
        return Ok(Rollup::default());
    };
    if deal.is_some() {
        return Ok(Rollup::default());
    }
    let tz = settings::time_zone(tx).await?;
    let lead = LeadTimeline {
        created_at: from_ms(created),
        owner_id: parse_opt("user id", owner.as_deref())?,
        source,
        campaign,
    };
    Ok(lead_rollup(&lead, &tz))
}

/// Bring the tables from `before` to what the deal contributes now.
pub(crate) async fn refresh_deal(tx: &mut Tx, id: DealId, before: Rollup) -> Result<()> {
    let after = of_deal(tx, id).await?;
    apply(tx, &Rollup::difference(before, after)).await
}

pub(crate) async fn refresh_lead(tx: &mut Tx, id: LeadId, before: Rollup) -> Result<()> {
    let after = of_lead(tx, id).await?;
    apply(tx, &Rollup::difference(before, after)).await
}

fn key_text<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// Add `diff` to the tables.
pub(crate) async fn apply(tx: &mut Tx, diff: &Rollup) -> Result<()> {
    let rows = diff.inflow.len()
        + diff.funnel.len()
        + diff.closed.len()
        + diff.stays.len()
        + diff.reach.len();
    // One operation changes a handful of rows: cached statements, one per row. A rebuild or
    // an import changes hundreds of thousands: batched inserts.
    if rows > 256 {
        return write_rows(tx, lay_out_large(diff)).await;
    }
    apply_day_tables(tx, diff).await?;
    for (k, v) in &diff.inflow {
        exec!(tx, c => sqlx::query(
            "INSERT INTO report_inflow (pipeline_id, day, kind, owner_id, source, campaign, entered, qualified, won, won_value, won_cycle_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (pipeline_id, day, kind, owner_id, source, campaign) DO UPDATE SET
               entered = report_inflow.entered + excluded.entered, qualified = report_inflow.qualified + excluded.qualified,
               won = report_inflow.won + excluded.won, won_value = report_inflow.won_value + excluded.won_value,
               won_cycle_ms = report_inflow.won_cycle_ms + excluded.won_cycle_ms",
        )
        .bind(key_text(k.pipeline_id))
        .bind(k.day)
        .bind(k.kind)
        .bind(key_text(k.owner_id))
        .bind(&k.source)
        .bind(&k.campaign)
        .bind(v.entered)
        .bind(v.qualified)
        .bind(v.won)
        .bind(v.won_value)
        .bind(v.won_cycle_ms)
        .execute(&mut *c)
        .await)?;
    }
    let mut by_owner: HashMap<(PipelineId, i64, StageId, UserId), FunnelValues> = HashMap::new();
    let mut by_source: HashMap<(PipelineId, i64, StageId, &str, &str), FunnelValues> =
        HashMap::new();
    for (k, v) in &diff.funnel {
        let o = by_owner
            .entry((k.pipeline_id, k.day, k.stage_id, k.owner_id))
            .or_default();
        o.entries += v.entries;
        o.progressed += v.progressed;
        let s = by_source
            .entry((k.pipeline_id, k.day, k.stage_id, &k.source, &k.campaign))
            .or_default();
        s.entries += v.entries;
        s.progressed += v.progressed;
        exec!(tx, c => sqlx::query(
            "INSERT INTO report_funnel_full (pipeline_id, day, stage_id, owner_id, source, campaign, entries, progressed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (pipeline_id, day, stage_id, owner_id, source, campaign) DO UPDATE SET
               entries = report_funnel_full.entries + excluded.entries, progressed = report_funnel_full.progressed + excluded.progressed",
        )
        .bind(k.pipeline_id.to_string())
        .bind(k.day)
        .bind(k.stage_id.to_string())
        .bind(k.owner_id.to_string())
        .bind(&k.source)
        .bind(&k.campaign)
        .bind(v.entries)
        .bind(v.progressed)
        .execute(&mut *c)
        .await)?;
    }
    for ((p, day, stage, owner), v) in by_owner {
        exec!(tx, c => sqlx::query(
            "INSERT INTO report_funnel_owner (pipeline_id, day, stage_id, owner_id, entries, progressed) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (pipeline_id, day, stage_id, owner_id) DO UPDATE SET
               entries = report_funnel_owner.entries + excluded.entries, progressed = report_funnel_owner.progressed + excluded.progressed",
        )
        .bind(p.to_string())
        .bind(day)
        .bind(stage.to_string())
        .bind(owner.to_string())
        .bind(v.entries)
        .bind(v.progressed)
        .execute(&mut *c)
        .await)?;
    }
    for ((p, day, stage, source, campaign), v) in by_source {
        exec!(tx, c => sqlx::query(
            "INSERT INTO report_funnel_source (pipeline_id, day, stage_id, source, campaign, entries, progressed) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (pipeline_id, day, stage_id, source, campaign) DO UPDATE SET
               entries = report_funnel_source.entries + excluded.entries, progressed = report_funnel_source.progressed + excluded.progressed",
        )
        .bind(p.to_string())
        .bind(day)
        .bind(stage.to_string())
        .bind(source)
        .bind(campaign)
        .bind(v.entries)
        .bind(v.progressed)
        .execute(&mut *c)
        .await)?;
    }
    for (k, v) in &diff.closed {
        exec!(tx, c => sqlx::query(
            "INSERT INTO report_closed (pipeline_id, day, owner_id, won, count, value, cycle_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (pipeline_id, day, owner_id, won) DO UPDATE SET
               count = report_closed.count + excluded.count, value = report_closed.value + excluded.value,
               cycle_ms = report_closed.cycle_ms + excluded.cycle_ms",
        )
        .bind(k.pipeline_id.to_string())
        .bind(k.day)
        .bind(k.owner_id.to_string())
        .bind(i64::from(k.won))
        .bind(v.count)
        .bind(v.value)
        .bind(v.cycle_ms)
        .execute(&mut *c)
        .await)?;
    }
    for (k, n) in &diff.reach {
        exec!(tx, c => sqlx::query(
            "INSERT INTO report_reach (pipeline_id, stage_id, outcome, count) VALUES ($1, $2, $3, $4)
             ON CONFLICT (pipeline_id, stage_id, outcome) DO UPDATE SET count = report_reach.count + excluded.count",
        )
        .bind(k.pipeline_id.to_string())
        .bind(k.stage_id.to_string())
        .bind(k.outcome)
        .bind(*n)
        .execute(&mut *c)
        .await)?;
    }
    for (k, n) in &diff.stays {
        exec!(tx, c => sqlx::query(
            "INSERT INTO report_stays (pipeline_id, month, stage_id, days, exit, to_stage, count) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (pipeline_id, month, stage_id, days, exit, to_stage) DO UPDATE SET count = report_stays.count + excluded.count",
        )
        .bind(k.pipeline_id.to_string())
        .bind(k.month)
        .bind(k.stage_id.to_string())
        .bind(k.days)
        .bind(k.exit.as_str())
        .bind(key_text(k.to_stage))
        .bind(*n)
        .execute(&mut *c)
        .await)?;
    }
    Ok(())
}

/// The inflow and closes of `diff` summed over owners, sources and campaigns, added to the
/// day tables (one batched upsert each, whatever the size).
fn day_table_rows(diff: &Rollup) -> [Rows; 2] {
    let mut inflow_days: BTreeMap<(String, i64, &'static str), InflowValues> = BTreeMap::new();
    for (k, v) in &diff.inflow {
        let sum = inflow_days
            .entry((key_text(k.pipeline_id), k.day, k.kind))
            .or_default();
        sum.entered += v.entered;
        sum.qualified += v.qualified;
        sum.won += v.won;
        sum.won_value += v.won_value;
        sum.won_cycle_ms += v.won_cycle_ms;
    }
    let mut inflow = Rows::new(
        "report_inflow_day",
        &["pipeline_id", "day", "kind", "entered", "qualified", "won", "won_value", "won_cycle_ms"],
    )
    .on_conflict(
        "ON CONFLICT (pipeline_id, day, kind) DO UPDATE SET
           entered = report_inflow_day.entered + excluded.entered, qualified = report_inflow_day.qualified + excluded.qualified,
           won = report_inflow_day.won + excluded.won, won_value = report_inflow_day.won_value + excluded.won_value,
           won_cycle_ms = report_inflow_day.won_cycle_ms + excluded.won_cycle_ms",
    );
    for ((pipeline, day, kind), v) in inflow_days {
        inflow.push([
            pipeline.into(),
            day.into(),
            kind.into(),
            v.entered.into(),
            v.qualified.into(),
            v.won.into(),
            v.won_value.into(),
            v.won_cycle_ms.into(),
        ]);
    }

    let mut closed_days: BTreeMap<(PipelineId, i64, bool), ClosedValues> = BTreeMap::new();
    for (k, v) in &diff.closed {
        let sum = closed_days
            .entry((k.pipeline_id, k.day, k.won))
            .or_default();
        sum.count += v.count;
        sum.value += v.value;
        sum.cycle_ms += v.cycle_ms;
    }
    let mut closed = Rows::new(
        "report_closed_day",
        &["pipeline_id", "day", "won", "count", "value", "cycle_ms"],
    )
    .on_conflict(
        "ON CONFLICT (pipeline_id, day, won) DO UPDATE SET
           count = report_closed_day.count + excluded.count, value = report_closed_day.value + excluded.value,
           cycle_ms = report_closed_day.cycle_ms + excluded.cycle_ms",
    );
    for ((pipeline, day, won), v) in closed_days {
        closed.push([
            pipeline.to_string().into(),
            day.into(),
            i64::from(won).into(),
            v.count.into(),
            v.value.into(),
            v.cycle_ms.into(),
        ]);
    }
    [inflow, closed]
}

async fn apply_day_tables(tx: &mut Tx, diff: &Rollup) -> Result<()> {
    write_rows(tx, day_table_rows(diff)).await
}

/// Write rows laid out by [`lay_out_large`] (or any batch of them), table by table.
pub(crate) async fn write_rows(tx: &mut Tx, rows: impl IntoIterator<Item = Rows>) -> Result<()> {
    for mut table in rows {
        table.flush(tx).await?;
    }
    Ok(())
}

/// The rows a large difference adds to every report table (the day tables included),
/// without the database: an import lays them out while its indexes are being built.
pub(crate) fn lay_out_large(diff: &Rollup) -> Vec<Rows> {
    let mut rows: Vec<Rows> = day_table_rows(diff).into();
    rows.extend(bulk_rows(diff));
    rows
}

/// [`apply`] for a large difference, laid out: one batched upsert per table.
fn bulk_rows(diff: &Rollup) -> Vec<Rows> {
    let mut out = Vec::with_capacity(7);
    let mut inflow = Rows::new(
        "report_inflow",
        &["pipeline_id", "day", "kind", "owner_id", "source", "campaign", "entered", "qualified", "won", "won_value", "won_cycle_ms"],
    )
    .on_conflict(
        "ON CONFLICT (pipeline_id, day, kind, owner_id, source, campaign) DO UPDATE SET
           entered = report_inflow.entered + excluded.entered, qualified = report_inflow.qualified + excluded.qualified,
           won = report_inflow.won + excluded.won, won_value = report_inflow.won_value + excluded.won_value,
           won_cycle_ms = report_inflow.won_cycle_ms + excluded.won_cycle_ms",
    );
    // Each table in its key's order: each row lands next to the previous one in its B-tree.
    let mut inflow_rows: Vec<_> = diff.inflow.iter().collect();
    inflow_rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (k, v) in inflow_rows {
        inflow.push([
            key_text(k.pipeline_id).into(),
            k.day.into(),
            k.kind.into(),
            key_text(k.owner_id).into(),
            k.source.as_str().into(),
            k.campaign.as_str().into(),
            v.entered.into(),
            v.qualified.into(),
            v.won.into(),
            v.won_value.into(),
            v.won_cycle_ms.into(),
        ]);
    }
    out.push(inflow);

    let mut by_owner: HashMap<(PipelineId, i64, StageId, UserId), FunnelValues> = HashMap::new();
    let mut by_source: HashMap<(PipelineId, i64, StageId, &str, &str), FunnelValues> =
        HashMap::new();
    let mut full = Rows::new(
        "report_funnel_full",
        &["pipeline_id", "day", "stage_id", "owner_id", "source", "campaign", "entries", "progressed"],
    )
    .on_conflict(
        "ON CONFLICT (pipeline_id, day, stage_id, owner_id, source, campaign) DO UPDATE SET
           entries = report_funnel_full.entries + excluded.entries, progressed = report_funnel_full.progressed + excluded.progressed",
    );
    // In key order: each row lands next to the previous one in the table's B-tree.
    let mut funnel: Vec<_> = diff.funnel.iter().collect();
    funnel.sort_unstable_by_key(|(k, _)| (k.pipeline_id, k.day, k.stage_id, k.owner_id));
    for (k, v) in funnel {
        let o = by_owner
            .entry((k.pipeline_id, k.day, k.stage_id, k.owner_id))
            .or_default();
        o.entries += v.entries;
        o.progressed += v.progressed;
        let s = by_source
            .entry((k.pipeline_id, k.day, k.stage_id, &k.source, &k.campaign))
            .or_default();
        s.entries += v.entries;
        s.progressed += v.progressed;
        full.push([
            k.pipeline_id.to_string().into(),
            k.day.into(),
            k.stage_id.to_string().into(),
            k.owner_id.to_string().into(),
            k.source.as_str().into(),
            k.campaign.as_str().into(),
            v.entries.into(),
            v.progressed.into(),
        ]);
    }
    out.push(full);
    let mut owner_rows = Rows::new(
        "report_funnel_owner",
        &["pipeline_id", "day", "stage_id", "owner_id", "entries", "progressed"],
    )
    .on_conflict(
        "ON CONFLICT (pipeline_id, day, stage_id, owner_id) DO UPDATE SET
           entries = report_funnel_owner.entries + excluded.entries, progressed = report_funnel_owner.progressed + excluded.progressed",
    );
    let mut by_owner: Vec<_> = by_owner.into_iter().collect();
    by_owner.sort_unstable_by_key(|(k, _)| *k);
    for ((p, day, stage, owner), v) in by_owner {
        owner_rows.push([
            p.to_string().into(),
            day.into(),
            stage.to_string().into(),
            owner.to_string().into(),
            v.entries.into(),
            v.progressed.into(),
        ]);
    }
    out.push(owner_rows);
    let mut source_rows = Rows::new(
        "report_funnel_source",
        &["pipeline_id", "day", "stage_id", "source", "campaign", "entries", "progressed"],
    )
    .on_conflict(
        "ON CONFLICT (pipeline_id, day, stage_id, source, campaign) DO UPDATE SET
           entries = report_funnel_source.entries + excluded.entries, progressed = report_funnel_source.progressed + excluded.progressed",
    );
    let mut by_source: Vec<_> = by_source.into_iter().collect();
    by_source.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    for ((p, day, stage, source, campaign), v) in by_source {
        source_rows.push([
            p.to_string().into(),
            day.into(),
            stage.to_string().into(),
            source.into(),
            campaign.into(),
            v.entries.into(),
            v.progressed.into(),
        ]);
    }
    out.push(source_rows);

    let mut closed = Rows::new(
        "report_closed",
        &["pipeline_id", "day", "owner_id", "won", "count", "value", "cycle_ms"],
    )
    .on_conflict(
        "ON CONFLICT (pipeline_id, day, owner_id, won) DO UPDATE SET
           count = report_closed.count + excluded.count, value = report_closed.value + excluded.value,
           cycle_ms = report_closed.cycle_ms + excluded.cycle_ms",
    );
    let mut closed_rows: Vec<_> = diff.closed.iter().collect();
    closed_rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (k, v) in closed_rows {
        closed.push([
            k.pipeline_id.to_string().into(),
            k.day.into(),
            k.owner_id.to_string().into(),
            i64::from(k.won).into(),
            v.count.into(),
            v.value.into(),
            v.cycle_ms.into(),
        ]);
    }
    out.push(closed);

    let mut reach = Rows::new("report_reach", &["pipeline_id", "stage_id", "outcome", "count"])
        .on_conflict(
            "ON CONFLICT (pipeline_id, stage_id, outcome) DO UPDATE SET count = report_reach.count + excluded.count",
        );
    for (k, n) in &diff.reach {
        reach.push([
            k.pipeline_id.to_string().into(),
            k.stage_id.to_string().into(),
            k.outcome.into(),
            (*n).into(),
        ]);
    }
    out.push(reach);

    let mut stays = Rows::new(
        "report_stays",
        &["pipeline_id", "month", "stage_id", "days", "exit", "to_stage", "count"],
    )
    .on_conflict(
        "ON CONFLICT (pipeline_id, month, stage_id, days, exit, to_stage) DO UPDATE SET count = report_stays.count + excluded.count",
    );
    for (k, n) in &diff.stays {
        stays.push([
            k.pipeline_id.to_string().into(),
            k.month.into(),
            k.stage_id.to_string().into(),
            k.days.into(),
            k.exit.as_str().into(),
            key_text(k.to_stage).into(),
            (*n).into(),
        ]);
    }
    out.push(stays);
    out
}

/// Recompute every report table from deals, spans and leads (after a bulk import, a time zone
/// change or a stage reorder). Streams the records, so memory stays bounded by the size of
/// the tables, not of the history.
pub async fn rebuild(tx: &mut Tx) -> Result<()> {
    for table in [
        "report_inflow",
        "report_inflow_day",
        "report_funnel_owner",
        "report_funnel_source",
        "report_funnel_full",
        "report_closed",
        "report_closed_day",
        "report_stays",
        "report_reach",
    ] {
        exec!(tx, c => sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}"))).execute(&mut *c).await)?;
    }
    let tz = settings::time_zone(tx).await?;
    let positions = all_positions(tx).await?;
    let empty = HashMap::new();
    let mut total = Rollup::default();

    // Deals in pages by id, with the spans of exactly those deals: memory stays bounded.
    const PAGE: i64 = 20_000;
    let mut after = String::new();
    loop {
        let deals: Vec<DealRow> = on_conn!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {DEAL_COLUMNS} FROM deals d WHERE d.id > $1 ORDER BY d.id LIMIT $2"
        )))
        .bind(&after)
        .bind(PAGE)
        .fetch_all(&mut *c)
        .await)?;
        let (Some(first), Some(last)) = (
            deals.first().map(|d| d.0.clone()),
            deals.last().map(|d| d.0.clone()),
        ) else {
            break;
        };
        let spans: Vec<(String, String, String, String, i64, bool)> = on_conn!(tx, c => sqlx::query_as(
            "SELECT deal_id, pipeline_id, stage_id, owner_id, valid_from, entered FROM deal_spans
             WHERE deal_id >= $1 AND deal_id <= $2 ORDER BY deal_id, valid_from, id",
        )
        .bind(&first)
        .bind(&last)
        .fetch_all(&mut *c)
        .await)?;
        let mut by_deal: HashMap<String, Vec<SpanRow>> = HashMap::new();
        for (deal, p, st, o, from, entered) in spans {
            by_deal
                .entry(deal)
                .or_default()
                .push((p, st, o, from, entered));
        }
        for deal in deals {
            let spans = by_deal.remove(&deal.0).unwrap_or_default();
            let pipeline: PipelineId = parse("pipeline id", &deal.1)?;
            let tl = timeline(deal, &spans)?;
            total.merge(deal_rollup(
                &tl,
                positions.get(&pipeline).unwrap_or(&empty),
                &tz,
            ));
        }
        after = last;
    }

    let leads: Vec<LeadRow> = on_conn!(tx, c => sqlx::query_as(
        "SELECT created_at, owner_id, source, campaign FROM leads WHERE deal_id IS NULL",
    )
    .fetch_all(&mut *c)
    .await)?;
    for (created, owner, source, campaign) in leads {
        let lead = LeadTimeline {
            created_at: from_ms(created),
            owner_id: parse_opt("user id", owner.as_deref())?,
            source,
            campaign,
        };
        total.merge(lead_rollup(&lead, &tz));
    }
    apply(tx, &total).await
}

/// Every non-zero row of a report table as text, for tests that compare tables.
#[doc(hidden)]
pub async fn debug_rows(tx: &mut Tx, table: &str, columns: &str) -> Result<Vec<String>> {
    let sql = format!("SELECT {columns} FROM {table}");
    let rows: Vec<String> = match &mut tx.inner {
        crate::db::TxInner::Sqlite(t) => {
            use sqlx::{Row, ValueRef};
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut **t)
                .await?;
            rows.iter()
                .map(|r| {
                    (0..r.columns().len())
                        .map(|i| match r.try_get_raw(i) {
                            Ok(v) if v.is_null() => "NULL".to_string(),
                            _ => r
                                .try_get::<i64, _>(i)
                                .map(|n| n.to_string())
                                .or_else(|_| r.try_get::<String, _>(i))
                                .unwrap_or_default(),
                        })
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .collect()
        }
        crate::db::TxInner::Postgres(t) => {
            use sqlx::Row;
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut **t)
                .await?;
            rows.iter()
                .map(|r| {
                    (0..r.columns().len())
                        .map(|i| {
                            r.try_get::<i64, _>(i)
                                .map(|n| n.to_string())
                                .or_else(|_| r.try_get::<String, _>(i))
                                .unwrap_or_default()
                        })
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .collect()
        }
    };
    // Rows whose counters are all zero are what is left after contributions cancel out.
    Ok(rows
        .into_iter()
        .filter(|r| !numbers_all_zero(r, columns))
        .collect())
}

fn numbers_all_zero(row: &str, columns: &str) -> bool {
    let names: Vec<&str> = columns.split(',').map(str::trim).collect();
    let counters = [
        "entered",
        "qualified",
        "won_value",
        "won_cycle_ms",
        "entries",
        "progressed",
        "count",
        "value",
        "cycle_ms",
    ];
    let values: Vec<&str> = row.split('|').collect();
    let mut any = false;
    for (name, value) in names.iter().zip(values) {
        if counters.contains(name) || (*name == "won" && columns.contains("won_value")) {
            any = true;
            if value != "0" {
                return false;
            }
        }
    }
    any
}
