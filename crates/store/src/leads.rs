//! Leads: created from marketing sources, then qualified into deals or disqualified.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use throughline_core::deal::{Deal, NewDeal, check_reason};
use throughline_core::event::EventKind;
use throughline_core::lead::{Lead, LeadPatch, LeadStatus, NewLead, Qualify};
use throughline_core::time::{from_ms, to_ms};
use throughline_core::{DealId, LeadId, UserId};

use crate::db::{Tx, exec, on_conn};
use crate::deals::{self, Origin, Page, check_cursor, page_limit, paginate};
use crate::error::{Result, StoreError};
use crate::events::{Ctx, append};
use crate::rows::{custom, custom_text, opt_text, parse, parse_opt};
use crate::scope::{check_assignable, visible_owner};
use crate::{parties, rollups};
use throughline_core::rollup::Rollup;

#[derive(sqlx::FromRow)]
struct LeadRow {
    id: String,
    title: String,
    status: String,
    owner_id: Option<String>,
    person_id: Option<String>,
    organization_id: Option<String>,
    source: Option<String>,
    campaign: Option<String>,
    value: Option<i64>,
    currency: Option<String>,
    disqualify_reason: Option<String>,
    deal_id: Option<String>,
    custom: String,
    created_at: i64,
    decided_at: Option<i64>,
    updated_at: i64,
    version: i64,
}

macro_rules! lead_columns {
    () => {
        "l.id, l.title, l.status, l.owner_id, l.person_id, l.organization_id, l.source, l.campaign, l.value, \
         l.currency, l.disqualify_reason, l.deal_id, l.custom, l.created_at, l.decided_at, l.updated_at, l.version"
    };
}

/// Unassigned leads are the team's inbox: everyone sees them.
macro_rules! lead_visible {
    () => {
        concat!("(l.owner_id IS NULL OR ", visible_owner!("l.owner_id"), ")")
    };
}

impl LeadRow {
    fn into_lead(self) -> Result<Lead> {
        Ok(Lead {
            id: parse("lead id", &self.id)?,
            title: self.title,
            status: parse("lead status", &self.status)?,
            owner_id: parse_opt("user id", self.owner_id.as_deref())?,
            person_id: parse_opt("person id", self.person_id.as_deref())?,
            organization_id: parse_opt("organization id", self.organization_id.as_deref())?,
            source: self.source,
            campaign: self.campaign,
            value: self.value,
            currency: parse_opt("currency", self.currency.as_deref())?,
            disqualify_reason: self.disqualify_reason,
            deal_id: parse_opt("deal id", self.deal_id.as_deref())?,
            custom: custom(&self.custom)?,
            created_at: from_ms(self.created_at),
            decided_at: self.decided_at.map(from_ms),
            updated_at: from_ms(self.updated_at),
            version: self.version,
        })
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadFilter {
    pub status: Option<LeadStatus>,
    pub owner_id: Option<UserId>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub updated_since: Option<Timestamp>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

pub async fn list(tx: &mut Tx, ctx: &Ctx, filter: &LeadFilter) -> Result<Page<Lead>> {
    let limit = page_limit(filter.limit)?;
    let cursor = check_cursor(filter.cursor.as_deref())?;
    let rows: Vec<LeadRow> = on_conn!(tx, c => sqlx::query_as(concat!(
        "SELECT ", lead_columns!(), " FROM leads l WHERE ", lead_visible!(),
        " AND ($3 IS NULL OR l.status = $3) AND ($4 IS NULL OR l.owner_id = $4)
          AND ($5 IS NULL OR l.source = $5) AND ($6 IS NULL OR l.campaign = $6)
          AND ($7 IS NULL OR l.updated_at >= $7) AND ($8 IS NULL OR l.id > $8)
          ORDER BY l.id LIMIT $9"
    ))
    .bind(ctx.role())
    .bind(ctx.user())
    .bind(filter.status.map(|s| s.as_str()))
    .bind(opt_text(filter.owner_id))
    .bind(&filter.source)
    .bind(&filter.campaign)
    .bind(filter.updated_since.map(to_ms))
    .bind(cursor)
    .bind(limit + 1)
    .fetch_all(&mut *c)
    .await)?;
    let items = rows
        .into_iter()
        .map(LeadRow::into_lead)
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, |l| l.id.to_string()))
}

pub async fn get(tx: &mut Tx, ctx: &Ctx, id: LeadId) -> Result<Option<Lead>> {
    let row: Option<LeadRow> = on_conn!(tx, c => sqlx::query_as(concat!(
        "SELECT ", lead_columns!(), " FROM leads l WHERE ", lead_visible!(), " AND l.id = $3"
    ))
    .bind(ctx.role())
    .bind(ctx.user())
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    row.map(LeadRow::into_lead).transpose()
}

pub async fn require(tx: &mut Tx, ctx: &Ctx, id: LeadId) -> Result<Lead> {
    get(tx, ctx, id)
        .await?
        .ok_or_else(|| StoreError::not_found("lead", id))
}

async fn check_links(tx: &mut Tx, lead: &Lead) -> Result<()> {
    if let Some(person) = lead.person_id
        && parties::get_person(tx, person).await?.is_none()
    {
        return Err(StoreError::invalid("person_id", "no such person"));
    }
    if let Some(org) = lead.organization_id
        && parties::get_organization(tx, org).await?.is_none()
    {
        return Err(StoreError::invalid(
            "organization_id",
            "no such organization",
        ));
    }
    Ok(())
}

pub async fn create(tx: &mut Tx, ctx: &Ctx, new: NewLead) -> Result<Lead> {
    let new = new.validate()?;
    // Reps own what they create; others may leave a lead unassigned in the inbox.
    let owner = new.owner_id.or(match ctx.actor.role {
        throughline_core::Role::Rep => ctx.actor.user_id,
        _ => None,
    });
    if let Some(owner) = owner {
        check_assignable(tx, ctx, owner, "owner_id").await?;
    }
    let lead = Lead {
        id: LeadId::at(ctx.at),
        title: new.title,
        status: LeadStatus::Open,
        owner_id: owner,
        person_id: new.person_id,
        organization_id: new.organization_id,
        source: new.source,
        campaign: new.campaign,
        value: new.value,
        currency: new.currency,
        disqualify_reason: None,
        deal_id: None,
        custom: new.custom,
        created_at: ctx.at,
        decided_at: None,
        updated_at: ctx.at,
        version: 1,
    };
    check_links(tx, &lead).await?;
    exec!(tx, c => sqlx::query(
        "INSERT INTO leads (id, title, status, owner_id, person_id, organization_id, source, campaign, value, currency,
            disqualify_reason, deal_id, custom, created_at, decided_at, updated_at, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, NULL, $11, $12, NULL, $12, 1)",
    )
    .bind(lead.id.to_string())
    .bind(&lead.title)
    .bind(lead.status.as_str())
    .bind(opt_text(lead.owner_id))
    .bind(opt_text(lead.person_id))
    .bind(opt_text(lead.organization_id))
    .bind(&lead.source)
    .bind(&lead.campaign)
    .bind(lead.value)
    .bind(lead.currency.map(|c| c.code()))
    .bind(custom_text(&lead.custom))
    .bind(ctx.at_ms())
    .execute(&mut *c)
    .await)?;
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::LeadCreated,
        &lead.id.to_string(),
        &json!({ "after": lead }),
    )
    .await?;
    rollups::refresh_lead(tx, lead.id, Rollup::default()).await?;
    Ok(lead)
}

async fn write(tx: &mut Tx, l: &Lead) -> Result<()> {
    let done = exec!(tx, c => sqlx::query(
        "UPDATE leads SET title = $1, status = $2, owner_id = $3, person_id = $4, organization_id = $5, source = $6,
            campaign = $7, value = $8, currency = $9, disqualify_reason = $10, deal_id = $11, custom = $12,
            decided_at = $13, updated_at = $14, version = $15
         WHERE id = $16 AND version = $17",
    )
    .bind(&l.title)
    .bind(l.status.as_str())
    .bind(opt_text(l.owner_id))
    .bind(opt_text(l.person_id))
    .bind(opt_text(l.organization_id))
    .bind(&l.source)
    .bind(&l.campaign)
    .bind(l.value)
    .bind(l.currency.map(|c| c.code()))
    .bind(&l.disqualify_reason)
    .bind(opt_text(l.deal_id))
    .bind(custom_text(&l.custom))
    .bind(l.decided_at.map(to_ms))
    .bind(to_ms(l.updated_at))
    .bind(l.version)
    .bind(l.id.to_string())
    .bind(l.version - 1)
    .execute(&mut *c)
    .await)?;
    if done == 0 {
        return Err(StoreError::StaleVersion {
            entity: "lead",
            id: l.id.to_string(),
            current: l.version,
            given: l.version - 1,
        });
    }
    Ok(())
}

fn check_version(lead: &Lead, given: Option<i64>) -> Result<()> {
    match given {
        Some(given) if given != lead.version => Err(StoreError::StaleVersion {
            entity: "lead",
            id: lead.id.to_string(),
            current: lead.version,
            given,
        }),
        _ => Ok(()),
    }
}

fn bumped(lead: &Lead, ctx: &Ctx) -> Lead {
    let mut next = lead.clone();
    next.version += 1;
    next.updated_at = ctx.at.max(lead.updated_at);
    next
}

pub async fn update(tx: &mut Tx, ctx: &Ctx, id: LeadId, patch: LeadPatch) -> Result<Lead> {
    let before = require(tx, ctx, id).await?;
    check_version(&before, Some(patch.version))?;
    let mut next = patch.apply(&before)?;
    if next.owner_id != before.owner_id
        && let Some(owner) = next.owner_id
    {
        check_assignable(tx, ctx, owner, "owner_id").await?;
    }
    check_links(tx, &next).await?;
    if next == before {
        return Ok(before);
    }
    next.version += 1;
    next.updated_at = ctx.at.max(before.updated_at);
    let rollup_before = rollups::of_lead(tx, id).await?;
    write(tx, &next).await?;
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::LeadUpdated,
        &id.to_string(),
        &json!({ "before": before, "after": next }),
    )
    .await?;
    rollups::refresh_lead(tx, id, rollup_before).await?;
    Ok(next)
}

/// Qualify a lead into a new deal that keeps its source, campaign, contact, custom fields
/// and creation time (the start of the deal's cycle).
pub async fn qualify(tx: &mut Tx, ctx: &Ctx, id: LeadId, q: Qualify) -> Result<(Lead, Deal)> {
    let before = require(tx, ctx, id).await?;
    check_version(&before, q.version)?;
    if before.status != LeadStatus::Open {
        return Err(StoreError::conflict(
            None,
            format!("the lead is already {}", before.status),
        ));
    }
    let new = NewDeal {
        title: q.title.unwrap_or_else(|| before.title.clone()),
        pipeline_id: q.pipeline_id,
        stage_id: q.stage_id,
        value: q.value.or(before.value).unwrap_or(0),
        currency: q.currency.or(before.currency),
        owner_id: q.owner_id.or(before.owner_id),
        person_id: before.person_id,
        organization_id: before.organization_id,
        expected_close_date: q.expected_close_date,
        source: before.source.clone(),
        campaign: before.campaign.clone(),
        custom: before.custom.clone(),
    };
    let origin = Origin {
        lead_id: Some(id),
        cycle_started_at: Some(before.created_at),
    };
    let rollup_before = rollups::of_lead(tx, id).await?;
    let deal = deals::create_from(tx, ctx, new, origin).await?;
    let mut next = bumped(&before, ctx);
    next.status = LeadStatus::Qualified;
    next.deal_id = Some(deal.id);
    next.decided_at = Some(next.updated_at);
    write(tx, &next).await?;
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::LeadQualified,
        &id.to_string(),
        &json!({ "deal_id": deal.id }),
    )
    .await?;
    rollups::refresh_lead(tx, id, rollup_before).await?;
    Ok((next, deal))
}

/// Record that an imported lead was qualified, before the import, into an imported deal:
/// the lead becomes qualified at `decided_at` and the deal remembers where it came from, as
/// `qualify` would have left them.
pub async fn link_imported(
    tx: &mut Tx,
    ctx: &Ctx,
    id: LeadId,
    deal_id: DealId,
    decided_at: Timestamp,
) -> Result<Lead> {
    let before = require(tx, ctx, id).await?;
    if before.status != LeadStatus::Open {
        return Err(StoreError::conflict(
            Some("status"),
            format!("the lead is already {}", before.status),
        ));
    }
    deals::require(tx, ctx, deal_id).await?;
    let lead_rollup = rollups::of_lead(tx, id).await?;
    let deal_rollup = rollups::of_deal(tx, deal_id).await?;
    let at = Ctx::new(ctx.actor, decided_at.max(before.created_at));
    let mut next = bumped(&before, &at);
    next.status = LeadStatus::Qualified;
    next.deal_id = Some(deal_id);
    next.decided_at = Some(next.updated_at);
    write(tx, &next).await?;
    exec!(tx, c => sqlx::query("UPDATE deals SET lead_id = $1 WHERE id = $2")
        .bind(id.to_string())
        .bind(deal_id.to_string())
        .execute(&mut *c)
        .await)?;
    append(
        tx,
        &at,
        at.at_ms(),
        EventKind::LeadQualified,
        &id.to_string(),
        &json!({ "deal_id": deal_id, "imported": true }),
    )
    .await?;
    rollups::refresh_lead(tx, id, lead_rollup).await?;
    rollups::refresh_deal(tx, deal_id, deal_rollup).await?;
    Ok(next)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disqualify {
    pub reason: String,
    #[serde(default)]
    pub version: Option<i64>,
}

pub async fn disqualify(tx: &mut Tx, ctx: &Ctx, id: LeadId, body: Disqualify) -> Result<Lead> {
    let reason = check_reason(&body.reason)?;
    let before = require(tx, ctx, id).await?;
    check_version(&before, body.version)?;
    if before.status != LeadStatus::Open {
        return Err(StoreError::conflict(
            None,
            format!("the lead is already {}", before.status),
        ));
    }
    let mut next = bumped(&before, ctx);
    next.status = LeadStatus::Disqualified;
    next.disqualify_reason = Some(reason.clone());
    next.decided_at = Some(next.updated_at);
    write(tx, &next).await?;
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::LeadDisqualified,
        &id.to_string(),
        &json!({ "reason": reason }),
    )
    .await?;
    Ok(next)
}

/// Put a disqualified lead back in the open list.
pub async fn reopen(tx: &mut Tx, ctx: &Ctx, id: LeadId, version: Option<i64>) -> Result<Lead> {
    let before = require(tx, ctx, id).await?;
    check_version(&before, version)?;
    if before.status != LeadStatus::Disqualified {
        return Err(StoreError::conflict(
            None,
            format!(
                "only a disqualified lead can be reopened; this one is {}",
                before.status
            ),
        ));
    }
    let mut next = bumped(&before, ctx);
    next.status = LeadStatus::Open;
    next.disqualify_reason = None;
    next.decided_at = None;
    write(tx, &next).await?;
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::LeadReopened,
        &id.to_string(),
        &json!({ "reason_was": before.disqualify_reason }),
    )
    .await?;
    Ok(next)
}
