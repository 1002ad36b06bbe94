//! Activities: scheduled and logged work on deals, leads and contacts.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use throughline_core::activity::{Activity, ActivityPatch, NewActivity};
use throughline_core::event::EventKind;
use throughline_core::time::{from_ms, to_ms};
use throughline_core::{ActivityId, DealId, LeadId, UserId};

use crate::db::{Tx, exec, on_conn};
use crate::deals::{Page, check_cursor, page_limit, paginate};
use crate::error::{Result, StoreError};
use crate::events::{Ctx, append};
use crate::rows::{opt_text, parse, parse_opt};
use crate::scope::{check_assignable, default_owner, visible_owner};
use crate::{deals, leads, parties};

#[derive(sqlx::FromRow)]
struct ActivityRow {
    id: String,
    kind: String,
    subject: String,
    owner_id: String,
    deal_id: Option<String>,
    lead_id: Option<String>,
    person_id: Option<String>,
    organization_id: Option<String>,
    due_at: Option<i64>,
    duration_minutes: Option<i64>,
    note: Option<String>,
    done: bool,
    done_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

macro_rules! activity_columns {
    () => {
        "a.id, a.kind, a.subject, a.owner_id, a.deal_id, a.lead_id, a.person_id, a.organization_id, a.due_at, \
         a.duration_minutes, a.note, a.done, a.done_at, a.created_at, a.updated_at, a.version"
    };
}

impl ActivityRow {
    fn into_activity(self) -> Result<Activity> {
        Ok(Activity {
            id: parse("activity id", &self.id)?,
            kind: parse("activity kind", &self.kind)?,
            subject: self.subject,
            owner_id: parse("user id", &self.owner_id)?,
            deal_id: parse_opt("deal id", self.deal_id.as_deref())?,
            lead_id: parse_opt("lead id", self.lead_id.as_deref())?,
            person_id: parse_opt("person id", self.person_id.as_deref())?,
            organization_id: parse_opt("organization id", self.organization_id.as_deref())?,
            due_at: self.due_at.map(from_ms),
            duration_minutes: self.duration_minutes,
            note: self.note,
            done: self.done,
            done_at: self.done_at.map(from_ms),
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
            version: self.version,
        })
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityFilter {
    pub owner_id: Option<UserId>,
    pub deal_id: Option<DealId>,
    pub lead_id: Option<LeadId>,
    pub done: Option<bool>,
    /// Only activities due before this instant.
    pub due_before: Option<Timestamp>,
    /// Only activities due at or after this instant.
    pub due_after: Option<Timestamp>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// Keep the deal's logged effort in step: what an activity counts for is (done, minutes).
async fn add_effort(
    tx: &mut Tx,
    deal: Option<DealId>,
    activities: i64,
    minutes: i64,
) -> Result<()> {
    let Some(deal) = deal else { return Ok(()) };
    if activities == 0 && minutes == 0 {
        return Ok(());
    }
    exec!(tx, c => sqlx::query(
        "UPDATE deals SET activities_done = activities_done + $1, effort_minutes = effort_minutes + $2 WHERE id = $3",
    )
    .bind(activities)
    .bind(minutes)
    .bind(deal.to_string())
    .execute(&mut *c)
    .await)?;
    Ok(())
}

fn effort(a: &Activity) -> (i64, i64) {
    if a.done {
        (1, a.duration_minutes.unwrap_or(0))
    } else {
        (0, 0)
    }
}

pub async fn list(tx: &mut Tx, ctx: &Ctx, filter: &ActivityFilter) -> Result<Page<Activity>> {
    let limit = page_limit(filter.limit)?;
    let cursor = check_cursor(filter.cursor.as_deref())?;
    let rows: Vec<ActivityRow> = on_conn!(tx, c => sqlx::query_as(concat!(
        "SELECT ", activity_columns!(), " FROM activities a WHERE ", visible_owner!("a.owner_id"),
        " AND ($3 IS NULL OR a.owner_id = $3) AND ($4 IS NULL OR a.deal_id = $4) AND ($5 IS NULL OR a.lead_id = $5)
          AND ($6 IS NULL OR a.done = $6) AND ($7 IS NULL OR a.due_at < $7) AND ($8 IS NULL OR a.due_at >= $8)
          AND ($9 IS NULL OR a.id > $9)
          ORDER BY a.id LIMIT $10"
    ))
    .bind(ctx.role())
    .bind(ctx.user())
    .bind(opt_text(filter.owner_id))
    .bind(opt_text(filter.deal_id))
    .bind(opt_text(filter.lead_id))
    .bind(filter.done)
    .bind(filter.due_before.map(to_ms))
    .bind(filter.due_after.map(to_ms))
    .bind(cursor)
    .bind(limit + 1)
    .fetch_all(&mut *c)
    .await)?;
    let items = rows
        .into_iter()
        .map(ActivityRow::into_activity)
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, |a| a.id.to_string()))
}

pub async fn get(tx: &mut Tx, ctx: &Ctx, id: ActivityId) -> Result<Option<Activity>> {
    let row: Option<ActivityRow> = on_conn!(tx, c => sqlx::query_as(concat!(
        "SELECT ", activity_columns!(), " FROM activities a WHERE ", visible_owner!("a.owner_id"), " AND a.id = $3"
    ))
    .bind(ctx.role())
    .bind(ctx.user())
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    row.map(ActivityRow::into_activity).transpose()
}

pub async fn require(tx: &mut Tx, ctx: &Ctx, id: ActivityId) -> Result<Activity> {
    get(tx, ctx, id)
        .await?
        .ok_or_else(|| StoreError::not_found("activity", id))
}

pub async fn create(tx: &mut Tx, ctx: &Ctx, new: NewActivity) -> Result<Activity> {
    let new = new.validate()?;
    let owner = default_owner(ctx, new.owner_id, "owner_id")?;
    check_assignable(tx, ctx, owner, "owner_id").await?;
    if let Some(deal) = new.deal_id {
        deals::get(tx, ctx, deal)
            .await?
            .ok_or_else(|| StoreError::invalid("deal_id", "no such deal"))?;
    }
    if let Some(lead) = new.lead_id {
        leads::get(tx, ctx, lead)
            .await?
            .ok_or_else(|| StoreError::invalid("lead_id", "no such lead"))?;
    }
    if let Some(person) = new.person_id {
        parties::get_person(tx, person)
            .await?
            .ok_or_else(|| StoreError::invalid("person_id", "no such person"))?;
    }
    if let Some(org) = new.organization_id {
        parties::get_organization(tx, org)
            .await?
            .ok_or_else(|| StoreError::invalid("organization_id", "no such organization"))?;
    }
    let activity = Activity {
        id: ActivityId::at(ctx.at),
        kind: new.kind,
        subject: new.subject,
        owner_id: owner,
        deal_id: new.deal_id,
        lead_id: new.lead_id,
        person_id: new.person_id,
        organization_id: new.organization_id,
        due_at: new.due_at,
        duration_minutes: new.duration_minutes,
        note: new.note,
        done: new.done,
        done_at: new.done.then_some(ctx.at),
        created_at: ctx.at,
        updated_at: ctx.at,
        version: 1,
    };
    exec!(tx, c => sqlx::query(
        "INSERT INTO activities (id, kind, subject, owner_id, deal_id, lead_id, person_id, organization_id, due_at,
            duration_minutes, note, done, done_at, created_at, updated_at, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, 1)",
    )
    .bind(activity.id.to_string())
    .bind(activity.kind.as_str())
    .bind(&activity.subject)
    .bind(owner.to_string())
    .bind(opt_text(activity.deal_id))
    .bind(opt_text(activity.lead_id))
    .bind(opt_text(activity.person_id))
    .bind(opt_text(activity.organization_id))
    .bind(activity.due_at.map(to_ms))
    .bind(activity.duration_minutes)
    .bind(&activity.note)
    .bind(activity.done)
    .bind(activity.done_at.map(to_ms))
    .bind(ctx.at_ms())
    .execute(&mut *c)
    .await)?;
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::ActivityCreated,
        &activity.id.to_string(),
        &json!({ "after": activity }),
    )
    .await?;
    let (n, minutes) = effort(&activity);
    add_effort(tx, activity.deal_id, n, minutes).await?;
    Ok(activity)
}

pub async fn update(
    tx: &mut Tx,
    ctx: &Ctx,
    id: ActivityId,
    patch: ActivityPatch,
) -> Result<Activity> {
    let before = require(tx, ctx, id).await?;
    if before.version != patch.version {
        return Err(StoreError::StaleVersion {
            entity: "activity",
            id: id.to_string(),
            current: before.version,
            given: patch.version,
        });
    }
    let mut next = patch.apply(&before, ctx.at)?;
    if next.owner_id != before.owner_id {
        check_assignable(tx, ctx, next.owner_id, "owner_id").await?;
    }
    if next == before {
        return Ok(before);
    }
    next.version += 1;
    next.updated_at = ctx.at.max(before.updated_at);
    let done = exec!(tx, c => sqlx::query(
        "UPDATE activities SET kind = $1, subject = $2, owner_id = $3, due_at = $4, duration_minutes = $5, note = $6,
            done = $7, done_at = $8, updated_at = $9, version = $10
         WHERE id = $11 AND version = $12",
    )
    .bind(next.kind.as_str())
    .bind(&next.subject)
    .bind(next.owner_id.to_string())
    .bind(next.due_at.map(to_ms))
    .bind(next.duration_minutes)
    .bind(&next.note)
    .bind(next.done)
    .bind(next.done_at.map(to_ms))
    .bind(to_ms(next.updated_at))
    .bind(next.version)
    .bind(id.to_string())
    .bind(before.version)
    .execute(&mut *c)
    .await)?;
    if done == 0 {
        return Err(StoreError::StaleVersion {
            entity: "activity",
            id: id.to_string(),
            current: next.version,
            given: before.version,
        });
    }
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::ActivityUpdated,
        &id.to_string(),
        &json!({ "before": before, "after": next }),
    )
    .await?;
    let (n0, m0) = effort(&before);
    let (n1, m1) = effort(&next);
    add_effort(tx, next.deal_id, n1 - n0, m1 - m0).await?;
    Ok(next)
}
