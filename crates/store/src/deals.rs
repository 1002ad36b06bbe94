//! Deals: create, read, list, change, move through stages, win, lose, reopen.
//!
//! Every change bumps the deal's version, appends an event and keeps the deal's spans in the
//! same transaction. Writes that carry a version are refused when it is stale.

use std::collections::HashSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use throughline_core::criteria::{self, CriterionKind};
use throughline_core::deal::{
    CreatedRecord, Deal, DealPatch, DealStatus, NewDeal, changes, check_reason,
};
use throughline_core::event::{Event, EventKind};
use throughline_core::pipeline::{Pipeline, Stage};
use throughline_core::time::{from_ms, to_ms};
use throughline_core::{CriterionId, DealId, LeadId, PipelineId, StageId, UserId};

use crate::db::{Tx, exec, on_conn};
use crate::error::{Result, StoreError};
use crate::events::{self, Ctx, append};
use crate::rows::{currency, custom, custom_text, date, opt_text, parse, parse_opt};
use crate::scope::{check_assignable, default_owner, visible_owner};
use crate::spans::{self, SpanState};
use crate::{parties, pipelines, rollups};
use throughline_core::rollup::Rollup;

pub const PAGE_DEFAULT: i64 = 50;
pub const PAGE_MAX: i64 = 500;

#[derive(sqlx::FromRow)]
pub(crate) struct DealRow {
    id: String,
    title: String,
    pipeline_id: String,
    stage_id: String,
    status: String,
    value: i64,
    currency: String,
    owner_id: String,
    person_id: Option<String>,
    organization_id: Option<String>,
    expected_close_date: Option<String>,
    source: Option<String>,
    campaign: Option<String>,
    lead_id: Option<String>,
    lost_reason: Option<String>,
    custom: String,
    created_at: i64,
    cycle_started_at: i64,
    stage_entered_at: i64,
    closed_at: Option<i64>,
    updated_at: i64,
    version: i64,
}

macro_rules! deal_columns {
    () => {
        "d.id, d.title, d.pipeline_id, d.stage_id, d.status, d.value, d.currency, d.owner_id, d.person_id, \
         d.organization_id, d.expected_close_date, d.source, d.campaign, d.lead_id, d.lost_reason, d.custom, \
         d.created_at, d.cycle_started_at, d.stage_entered_at, d.closed_at, d.updated_at, d.version"
    };
}

impl DealRow {
    pub(crate) fn into_deal(self) -> Result<Deal> {
        Ok(Deal {
            id: parse("deal id", &self.id)?,
            title: self.title,
            pipeline_id: parse("pipeline id", &self.pipeline_id)?,
            stage_id: parse("stage id", &self.stage_id)?,
            status: parse("deal status", &self.status)?,
            value: self.value,
            currency: currency(&self.currency)?,
            owner_id: parse("user id", &self.owner_id)?,
            person_id: parse_opt("person id", self.person_id.as_deref())?,
            organization_id: parse_opt("organization id", self.organization_id.as_deref())?,
            expected_close_date: date(self.expected_close_date.as_deref())?,
            source: self.source,
            campaign: self.campaign,
            lead_id: parse_opt("lead id", self.lead_id.as_deref())?,
            lost_reason: self.lost_reason,
            custom: custom(&self.custom)?,
            created_at: from_ms(self.created_at),
            cycle_started_at: from_ms(self.cycle_started_at),
            stage_entered_at: from_ms(self.stage_entered_at),
            closed_at: self.closed_at.map(from_ms),
            updated_at: from_ms(self.updated_at),
            version: self.version,
        })
    }
}

/// Filters for listing deals. Every filter is optional; results come oldest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DealFilter {
    pub pipeline_id: Option<PipelineId>,
    pub stage_id: Option<StageId>,
    pub owner_id: Option<UserId>,
    pub status: Option<DealStatus>,
    /// Only deals changed at or after this instant.
    pub updated_since: Option<Timestamp>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    /// Case-insensitive part of the title.
    pub q: Option<String>,
    /// Only deals closed at or after this instant.
    pub closed_from: Option<Timestamp>,
    /// Only deals closed before this instant.
    pub closed_before: Option<Timestamp>,
}

/// One page of a list, and where the next one starts.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

pub(crate) fn page_limit(limit: Option<i64>) -> Result<i64> {
    match limit {
        None => Ok(PAGE_DEFAULT),
        Some(n) if (1..=PAGE_MAX).contains(&n) => Ok(n),
        Some(_) => Err(StoreError::invalid(
            "limit",
            format!("must be between 1 and {PAGE_MAX}"),
        )),
    }
}

pub(crate) fn check_cursor(cursor: Option<&str>) -> Result<Option<String>> {
    match cursor {
        None => Ok(None),
        Some(c) => uuid::Uuid::parse_str(c)
            .map(|u| Some(u.to_string()))
            .map_err(|_| StoreError::invalid("cursor", "is not a cursor this list gave out")),
    }
}

/// Cut a page one longer than `limit` down to size and name the next cursor.
pub(crate) fn paginate<T>(mut items: Vec<T>, limit: i64, id_of: impl Fn(&T) -> String) -> Page<T> {
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(&id_of)
    } else {
        None
    };
    Page { items, next_cursor }
}

pub async fn list(tx: &mut Tx, ctx: &Ctx, filter: &DealFilter) -> Result<Page<Deal>> {
    let limit = page_limit(filter.limit)?;
    let cursor = check_cursor(filter.cursor.as_deref())?;
    let rows: Vec<DealRow> = on_conn!(tx, c => sqlx::query_as(concat!(
        "SELECT ", deal_columns!(), " FROM deals d WHERE ", visible_owner!("d.owner_id"),
        " AND ($3 IS NULL OR d.pipeline_id = $3) AND ($4 IS NULL OR d.stage_id = $4)
          AND ($5 IS NULL OR d.owner_id = $5) AND ($6 IS NULL OR d.status = $6)
          AND ($7 IS NULL OR d.updated_at >= $7) AND ($8 IS NULL OR d.id > $8)
          AND ($10 IS NULL OR lower(d.title) LIKE $10 ESCAPE '\\')
          AND ($11 IS NULL OR d.closed_at >= $11) AND ($12 IS NULL OR d.closed_at < $12)
          ORDER BY d.id LIMIT $9"
    ))
    .bind(ctx.role())
    .bind(ctx.user())
    .bind(opt_text(filter.pipeline_id))
    .bind(opt_text(filter.stage_id))
    .bind(opt_text(filter.owner_id))
    .bind(filter.status.map(|s| s.as_str()))
    .bind(filter.updated_since.map(to_ms))
    .bind(cursor)
    .bind(limit + 1)
    .bind(crate::parties::like_pattern(filter.q.as_deref()))
    .bind(filter.closed_from.map(to_ms))
    .bind(filter.closed_before.map(to_ms))
    .fetch_all(&mut *c)
    .await)?;
    let deals = rows
        .into_iter()
        .map(DealRow::into_deal)
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(deals, limit, |d| d.id.to_string()))
}

/// The deal, if it exists and the actor may see it.
pub async fn get(tx: &mut Tx, ctx: &Ctx, id: DealId) -> Result<Option<Deal>> {
    let row: Option<DealRow> = on_conn!(tx, c => sqlx::query_as(concat!(
        "SELECT ", deal_columns!(), " FROM deals d WHERE ", visible_owner!("d.owner_id"), " AND d.id = $3"
    ))
    .bind(ctx.role())
    .bind(ctx.user())
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    row.map(DealRow::into_deal).transpose()
}

/// The deal, or not-found: a deal the actor may not see is reported exactly like one that
/// does not exist, so ids of others' deals reveal nothing.
pub async fn require(tx: &mut Tx, ctx: &Ctx, id: DealId) -> Result<Deal> {
    get(tx, ctx, id)
        .await?
        .ok_or_else(|| StoreError::not_found("deal", id))
}

fn check_version(deal: &Deal, given: Option<i64>) -> Result<()> {
    match given {
        Some(given) if given != deal.version => Err(StoreError::StaleVersion {
            entity: "deal",
            id: deal.id.to_string(),
            current: deal.version,
            given,
        }),
        _ => Ok(()),
    }
}

fn check_currency(deal: &Deal, pipeline: &Pipeline) -> Result<()> {
    if deal.currency != pipeline.currency {
        return Err(StoreError::invalid(
            "currency",
            format!(
                "must be {}, the currency of pipeline `{}`",
                pipeline.currency, pipeline.name
            ),
        ));
    }
    Ok(())
}

fn span_state(deal: &Deal) -> SpanState {
    SpanState {
        pipeline_id: deal.pipeline_id.to_string(),
        stage_id: deal.stage_id.to_string(),
        owner_id: deal.owner_id.to_string(),
        value: deal.value,
    }
}

/// Where a new deal comes from: a lead (whose creation starts the cycle) or nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin {
    pub lead_id: Option<LeadId>,
    pub cycle_started_at: Option<Timestamp>,
}

pub async fn create(tx: &mut Tx, ctx: &Ctx, new: NewDeal) -> Result<Deal> {
    create_from(tx, ctx, new, Origin::default()).await
}

/// Resolve the stage a new deal starts in.
async fn start_stage(
    tx: &mut Tx,
    pipeline_id: Option<PipelineId>,
    stage_id: Option<StageId>,
) -> Result<(Pipeline, Stage)> {
    let stage = match (stage_id, pipeline_id) {
        (Some(stage_id), _) => {
            let stage = pipelines::get_stage(tx, stage_id)
                .await?
                .ok_or_else(|| StoreError::invalid("stage_id", "no such stage"))?;
            if stage.archived {
                return Err(StoreError::invalid("stage_id", "the stage is archived"));
            }
            if pipeline_id.is_some_and(|p| p != stage.pipeline_id) {
                return Err(StoreError::invalid(
                    "stage_id",
                    "belongs to another pipeline",
                ));
            }
            stage
        }
        (None, Some(pipeline_id)) => {
            pipelines::get(tx, pipeline_id)
                .await?
                .ok_or_else(|| StoreError::invalid("pipeline_id", "no such pipeline"))?;
            pipelines::stages(tx, pipeline_id, false)
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| {
                    StoreError::invalid("pipeline_id", "the pipeline has no stages yet")
                })?
        }
        (None, None) => {
            return Err(StoreError::invalid(
                "pipeline_id",
                "give a pipeline_id or a stage_id",
            ));
        }
    };
    let pipeline = pipelines::require(tx, stage.pipeline_id).await?;
    if pipeline.archived {
        return Err(StoreError::invalid(
            "pipeline_id",
            "the pipeline is archived",
        ));
    }
    Ok((pipeline, stage))
}

/// Check that linked records exist.
async fn check_links(tx: &mut Tx, deal: &Deal) -> Result<()> {
    if let Some(person) = deal.person_id
        && parties::get_person(tx, person).await?.is_none()
    {
        return Err(StoreError::invalid("person_id", "no such person"));
    }
    if let Some(org) = deal.organization_id
        && parties::get_organization(tx, org).await?.is_none()
    {
        return Err(StoreError::invalid(
            "organization_id",
            "no such organization",
        ));
    }
    Ok(())
}

pub async fn create_from(tx: &mut Tx, ctx: &Ctx, new: NewDeal, origin: Origin) -> Result<Deal> {
    let new = new.validate()?;
    let (pipeline, stage) = start_stage(tx, new.pipeline_id, new.stage_id).await?;
    let owner = default_owner(ctx, new.owner_id, "owner_id")?;
    check_assignable(tx, ctx, owner, "owner_id").await?;
    let deal = Deal {
        id: DealId::at(ctx.at),
        title: new.title,
        pipeline_id: pipeline.id,
        stage_id: stage.id,
        status: DealStatus::Open,
        value: new.value,
        currency: new.currency.unwrap_or(pipeline.currency),
        owner_id: owner,
        person_id: new.person_id,
        organization_id: new.organization_id,
        expected_close_date: new.expected_close_date,
        source: new.source,
        campaign: new.campaign,
        lead_id: origin.lead_id,
        lost_reason: None,
        custom: new.custom,
        created_at: ctx.at,
        cycle_started_at: origin
            .cycle_started_at
            .map(|t| t.min(ctx.at))
            .unwrap_or(ctx.at),
        stage_entered_at: ctx.at,
        closed_at: None,
        updated_at: ctx.at,
        version: 1,
    };
    check_currency(&deal, &pipeline)?;
    check_links(tx, &deal).await?;
    insert(tx, &deal).await?;
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::DealCreated,
        &deal.id.to_string(),
        &json!({ "after": CreatedRecord::from(&deal) }),
    )
    .await?;
    spans::open(
        tx,
        &deal.id.to_string(),
        &span_state(&deal),
        true,
        ctx.at_ms(),
    )
    .await?;
    rollups::refresh_deal(tx, deal.id, Rollup::default()).await?;
    Ok(deal)
}

async fn insert(tx: &mut Tx, d: &Deal) -> Result<()> {
    exec!(tx, c => sqlx::query(
        "INSERT INTO deals (id, title, pipeline_id, stage_id, status, value, currency, owner_id, person_id,
            organization_id, expected_close_date, source, campaign, lead_id, lost_reason, custom,
            created_at, cycle_started_at, stage_entered_at, closed_at, updated_at, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)",
    )
    .bind(d.id.to_string())
    .bind(&d.title)
    .bind(d.pipeline_id.to_string())
    .bind(d.stage_id.to_string())
    .bind(d.status.as_str())
    .bind(d.value)
    .bind(d.currency.code())
    .bind(d.owner_id.to_string())
    .bind(opt_text(d.person_id))
    .bind(opt_text(d.organization_id))
    .bind(opt_text(d.expected_close_date))
    .bind(&d.source)
    .bind(&d.campaign)
    .bind(opt_text(d.lead_id))
    .bind(&d.lost_reason)
    .bind(custom_text(&d.custom))
    .bind(to_ms(d.created_at))
    .bind(to_ms(d.cycle_started_at))
    .bind(to_ms(d.stage_entered_at))
    .bind(d.closed_at.map(to_ms))
    .bind(to_ms(d.updated_at))
    .bind(d.version)
    .execute(&mut *c)
    .await)?;
    Ok(())
}

/// Write `next` over the stored deal, which must still be at `next.version - 1`.
async fn write(tx: &mut Tx, d: &Deal) -> Result<()> {
    let done = exec!(tx, c => sqlx::query(
        "UPDATE deals SET title = $1, pipeline_id = $2, stage_id = $3, status = $4, value = $5, currency = $6,
            owner_id = $7, person_id = $8, organization_id = $9, expected_close_date = $10, source = $11,
            campaign = $12, lost_reason = $13, custom = $14, stage_entered_at = $15, closed_at = $16,
            updated_at = $17, version = $18
         WHERE id = $19 AND version = $20",
    )
    .bind(&d.title)
    .bind(d.pipeline_id.to_string())
    .bind(d.stage_id.to_string())
    .bind(d.status.as_str())
    .bind(d.value)
    .bind(d.currency.code())
    .bind(d.owner_id.to_string())
    .bind(opt_text(d.person_id))
    .bind(opt_text(d.organization_id))
    .bind(opt_text(d.expected_close_date))
    .bind(&d.source)
    .bind(&d.campaign)
    .bind(&d.lost_reason)
    .bind(custom_text(&d.custom))
    .bind(to_ms(d.stage_entered_at))
    .bind(d.closed_at.map(to_ms))
    .bind(to_ms(d.updated_at))
    .bind(d.version)
    .bind(d.id.to_string())
    .bind(d.version - 1)
    .execute(&mut *c)
    .await)?;
    if done == 0 {
        // Someone else committed a change between our read and this write.
        return Err(StoreError::StaleVersion {
            entity: "deal",
            id: d.id.to_string(),
            current: d.version,
            given: d.version - 1,
        });
    }
    Ok(())
}

fn bumped(deal: &Deal, ctx: &Ctx) -> Deal {
    let mut next = deal.clone();
    next.version += 1;
    next.updated_at = ctx.at.max(deal.updated_at);
    next
}

pub async fn update(tx: &mut Tx, ctx: &Ctx, id: DealId, patch: DealPatch) -> Result<Deal> {
    let before = require(tx, ctx, id).await?;
    check_version(&before, Some(patch.version))?;
    let mut next = patch.apply(&before)?;
    if next.owner_id != before.owner_id {
        check_assignable(tx, ctx, next.owner_id, "owner_id").await?;
    }
    let pipeline = pipelines::require(tx, next.pipeline_id).await?;
    check_currency(&next, &pipeline)?;
    check_links(tx, &next).await?;
    let diff = changes(&before, &next);
    if diff.is_empty() {
        return Ok(before);
    }
    next.version = before.version + 1;
    next.updated_at = ctx.at.max(before.updated_at);
    // The report tables depend on a deal's origin and, once closed, on its value; titles,
    // contacts, dates and open deals' values leave them as they are.
    let touches_rollups = next.source != before.source
        || next.campaign != before.campaign
        || (next.status != DealStatus::Open && next.value != before.value);
    let rollup_before = if touches_rollups {
        Some(rollups::of_deal(tx, id).await?)
    } else {
        None
    };
    write(tx, &next).await?;
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::DealUpdated,
        &id.to_string(),
        &json!({ "changes": diff }),
    )
    .await?;
    if next.status == DealStatus::Open
        && (next.value != before.value || next.owner_id != before.owner_id)
    {
        spans::replace(tx, &id.to_string(), &span_state(&next), false, ctx.at_ms()).await?;
    }
    if let (Some(was), Some(now)) = (before.expected_close_date, next.expected_close_date)
        && now > was
    {
        exec!(tx, c => sqlx::query("UPDATE deals SET close_pushes = close_pushes + 1 WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *c)
            .await)?;
    }
    if let Some(rollup_before) = rollup_before {
        rollups::refresh_deal(tx, id, rollup_before).await?;
    }
    Ok(next)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveDeal {
    pub stage_id: StageId,
    pub version: i64,
    /// Move although entry criteria are unmet (admins only; recorded in the history).
    #[serde(default, rename = "override")]
    pub force: bool,
}

/// The checklist items ticked on a deal.
pub async fn checked_items(tx: &mut Tx, id: DealId) -> Result<HashSet<CriterionId>> {
    let rows: Vec<(String,)> = on_conn!(tx, c => sqlx::query_as(
        "SELECT criterion_id FROM deal_checks WHERE deal_id = $1 AND checked = TRUE",
    )
    .bind(id.to_string())
    .fetch_all(&mut *c)
    .await)?;
    rows.iter().map(|(c,)| parse("criterion id", c)).collect()
}

/// Move a deal to another stage (of its pipeline or another). Moving forward requires the
/// target stage's entry criteria; moving back does not. Both are recorded.
pub async fn move_to(tx: &mut Tx, ctx: &Ctx, id: DealId, mv: MoveDeal) -> Result<Deal> {
    let before = require(tx, ctx, id).await?;
    check_version(&before, Some(mv.version))?;
    if before.status != DealStatus::Open {
        return Err(StoreError::conflict(
            Some("stage_id"),
            format!("the deal is {}; reopen it before moving it", before.status),
        ));
    }
    let target = pipelines::get_stage(tx, mv.stage_id)
        .await?
        .ok_or_else(|| StoreError::invalid("stage_id", "no such stage"))?;
    if target.archived {
        return Err(StoreError::invalid("stage_id", "the stage is archived"));
    }
    if target.id == before.stage_id {
        return Ok(before);
    }
    let pipeline = pipelines::require(tx, target.pipeline_id).await?;
    if pipeline.archived {
        return Err(StoreError::invalid(
            "stage_id",
            "the stage's pipeline is archived",
        ));
    }
    let current = pipelines::require_stage(tx, before.stage_id).await?;
    let forward = target.pipeline_id != before.pipeline_id || target.position > current.position;
    let unmet = if forward {
        criteria::unmet(&target.criteria, &before, &checked_items(tx, id).await?)
    } else {
        vec![]
    };
    let overridden = !unmet.is_empty();
    if overridden && !(mv.force && ctx.actor.is_admin()) {
        if mv.force {
            return Err(StoreError::forbidden(
                Some("override"),
                "only an admin can move a deal past unmet criteria",
            ));
        }
        return Err(StoreError::CriteriaUnmet {
            stage_id: target.id,
            stage_name: target.name,
            unmet,
        });
    }

    let mut next = bumped(&before, ctx);
    next.pipeline_id = target.pipeline_id;
    next.stage_id = target.id;
    next.stage_entered_at = next.updated_at;
    check_currency(&next, &pipeline)?;
    let rollup_before = rollups::of_deal(tx, id).await?;
    write(tx, &next).await?;
    append(tx, ctx, ctx.at_ms(), EventKind::DealStageChanged, &id.to_string(), &json!({
        "from": { "pipeline_id": before.pipeline_id, "stage_id": before.stage_id, "stage": current.name },
        "to": { "pipeline_id": next.pipeline_id, "stage_id": next.stage_id, "stage": target.name },
        "direction": if forward { "forward" } else { "backward" },
        "override": overridden,
        "unmet": unmet,
    })).await?;
    spans::replace(tx, &id.to_string(), &span_state(&next), true, ctx.at_ms()).await?;
    rollups::refresh_deal(tx, id, rollup_before).await?;
    Ok(next)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseDeal {
    /// Required for `lost`.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub version: Option<i64>,
}

async fn close(
    tx: &mut Tx,
    ctx: &Ctx,
    id: DealId,
    status: DealStatus,
    body: CloseDeal,
) -> Result<Deal> {
    let reason = match status {
        DealStatus::Lost => Some(check_reason(body.reason.as_deref().unwrap_or(""))?),
        _ => None,
    };
    let before = require(tx, ctx, id).await?;
    check_version(&before, body.version)?;
    if before.status != DealStatus::Open {
        return Err(StoreError::conflict(
            None,
            format!("the deal is already {}", before.status),
        ));
    }
    let mut next = bumped(&before, ctx);
    next.status = status;
    next.closed_at = Some(next.updated_at);
    next.lost_reason = reason.clone();
    let rollup_before = rollups::of_deal(tx, id).await?;
    write(tx, &next).await?;
    let (kind, data) = match status {
        DealStatus::Lost => (
            EventKind::DealLost,
            json!({ "reason": reason, "stage_id": next.stage_id, "value": next.value }),
        ),
        _ => (
            EventKind::DealWon,
            json!({ "stage_id": next.stage_id, "value": next.value, "currency": next.currency }),
        ),
    };
    append(tx, ctx, ctx.at_ms(), kind, &id.to_string(), &data).await?;
    spans::close(tx, &id.to_string(), ctx.at_ms()).await?;
    rollups::refresh_deal(tx, id, rollup_before).await?;
    Ok(next)
}

pub async fn win(tx: &mut Tx, ctx: &Ctx, id: DealId, body: CloseDeal) -> Result<Deal> {
    close(tx, ctx, id, DealStatus::Won, body).await
}

pub async fn lose(tx: &mut Tx, ctx: &Ctx, id: DealId, body: CloseDeal) -> Result<Deal> {
    close(tx, ctx, id, DealStatus::Lost, body).await
}

/// Reopen a won or lost deal in the stage it closed in.
pub async fn reopen(tx: &mut Tx, ctx: &Ctx, id: DealId, version: Option<i64>) -> Result<Deal> {
    let before = require(tx, ctx, id).await?;
    check_version(&before, version)?;
    if before.status == DealStatus::Open {
        return Err(StoreError::conflict(None, "the deal is already open"));
    }
    let stage = pipelines::require_stage(tx, before.stage_id).await?;
    if stage.archived {
        return Err(StoreError::conflict(
            None,
            "the stage the deal closed in is archived; it cannot be reopened there",
        ));
    }
    let mut next = bumped(&before, ctx);
    next.status = DealStatus::Open;
    next.closed_at = None;
    next.lost_reason = None;
    let rollup_before = rollups::of_deal(tx, id).await?;
    write(tx, &next).await?;
    append(tx, ctx, ctx.at_ms(), EventKind::DealReopened, &id.to_string(), &json!({
        "from_status": before.status, "lost_reason": before.lost_reason, "stage_id": next.stage_id,
    })).await?;
    spans::open(
        tx,
        &id.to_string(),
        &span_state(&next),
        false,
        to_ms(next.updated_at),
    )
    .await?;
    rollups::refresh_deal(tx, id, rollup_before).await?;
    Ok(next)
}

/// The state of one checklist item on a deal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub criterion_id: CriterionId,
    pub checked: bool,
    pub changed_by: Option<UserId>,
    pub changed_at: Timestamp,
}

pub async fn checks(tx: &mut Tx, id: DealId) -> Result<Vec<Check>> {
    let rows: Vec<(String, bool, Option<String>, i64)> = on_conn!(tx, c => sqlx::query_as(
        "SELECT criterion_id, checked, changed_by, changed_at FROM deal_checks WHERE deal_id = $1 ORDER BY changed_at, criterion_id",
    )
    .bind(id.to_string())
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter()
        .map(|(criterion, checked, by, at)| {
            Ok(Check {
                criterion_id: parse("criterion id", &criterion)?,
                checked,
                changed_by: parse_opt("user id", by.as_deref())?,
                changed_at: from_ms(at),
            })
        })
        .collect()
}

/// Tick or untick a checklist criterion on a deal, recording who and when.
pub async fn set_check(
    tx: &mut Tx,
    ctx: &Ctx,
    id: DealId,
    criterion: CriterionId,
    checked: bool,
) -> Result<Deal> {
    let before = require(tx, ctx, id).await?;
    let row: Option<(String, String, String, String, bool)> = on_conn!(tx, c => sqlx::query_as(
        "SELECT sc.kind, sc.label, sc.stage_id, s.pipeline_id, sc.archived FROM stage_criteria sc
         JOIN stages s ON s.id = sc.stage_id WHERE sc.id = $1",
    )
    .bind(criterion.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    let Some((kind, label, stage_id, pipeline_id, archived)) = row else {
        return Err(StoreError::not_found("criterion", criterion));
    };
    if pipeline_id != before.pipeline_id.to_string() || archived {
        return Err(StoreError::invalid(
            "criterion_id",
            "is not a criterion of this deal's pipeline",
        ));
    }
    if kind != CriterionKind::Checklist.as_str() {
        return Err(StoreError::invalid(
            "criterion_id",
            "requires a deal field to be filled; it cannot be ticked",
        ));
    }
    // Ticking what is ticked (or unticking what is not) changes nothing and records nothing.
    let is_checked = checked_items(tx, id).await?.contains(&criterion);
    if is_checked == checked {
        return Ok(before);
    }
    let next = bumped(&before, ctx);
    write(tx, &next).await?;
    exec!(tx, c => sqlx::query(
        "INSERT INTO deal_checks (deal_id, criterion_id, checked, changed_by, changed_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (deal_id, criterion_id) DO UPDATE SET checked = excluded.checked,
             changed_by = excluded.changed_by, changed_at = excluded.changed_at",
    )
    .bind(id.to_string())
    .bind(criterion.to_string())
    .bind(checked)
    .bind(ctx.user())
    .bind(ctx.at_ms())
    .execute(&mut *c)
    .await)?;
    let kind = if checked {
        EventKind::DealCriterionChecked
    } else {
        EventKind::DealCriterionUnchecked
    };
    append(
        tx,
        ctx,
        ctx.at_ms(),
        kind,
        &id.to_string(),
        &json!({
            "criterion_id": criterion, "label": label, "stage_id": stage_id, "checked": checked,
        }),
    )
    .await?;
    Ok(next)
}

/// The deal's history, oldest first (only for those who may see the deal).
pub async fn history(tx: &mut Tx, ctx: &Ctx, id: DealId) -> Result<Vec<Event>> {
    require(tx, ctx, id).await?;
    events::for_entity(tx, &id.to_string()).await
}
