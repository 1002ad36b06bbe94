//! Reading every record for an export, one page at a time.
//!
//! Each kind has a typed record carrying what an export file shows (names and e-mails rather
//! than ids of linked records) and a function that reads the page after a cursor, in id (or
//! event sequence) order, at most `limit` rows. A caller pages through a whole table with the
//! last row's key as the next cursor, inside one read transaction so that the pages form one
//! consistent state; memory stays bounded by the page size however large the table.
//!
//! Visibility is the lists': deals and activities as their owner allows, leads also when
//! unassigned, people and organizations for everyone. Events follow the record they are
//! about: an admin reads them all; others only those of deals, leads and activities they may
//! see (a record's whole history, as the deal history page shows it).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::Date;
use throughline_core::Currency;
use throughline_core::activity::ActivityKind;
use throughline_core::deal::{CustomFields, DealStatus};
use throughline_core::event::EventKind;
use throughline_core::lead::LeadStatus;
use throughline_core::pipeline::{Pipeline, Stage};
use throughline_core::time::from_ms;

use crate::db::{Tx, on_conn};
use crate::error::{Result, StoreError};
use crate::events::Ctx;
use crate::rows::{currency, custom, date, parse, parse_opt};
use crate::scope::visible_owner;

/// Rows read per page by default: large enough that round trips do not dominate, small
/// enough that a page of deals with their histories stays a few megabytes.
pub const PAGE_SIZE: i64 = 5_000;

/// What can be exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Deals,
    Leads,
    People,
    Organizations,
    Activities,
    Events,
    /// The pipelines with their stages and criteria: the process, not its records.
    Pipelines,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Deals,
        Kind::Leads,
        Kind::People,
        Kind::Organizations,
        Kind::Activities,
        Kind::Events,
        Kind::Pipelines,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Deals => "deals",
            Kind::Leads => "leads",
            Kind::People => "people",
            Kind::Organizations => "organizations",
            Kind::Activities => "activities",
            Kind::Events => "events",
            Kind::Pipelines => "pipelines",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == wanted)
            .ok_or_else(|| {
                format!(
                    "`{s}` is not something to export: use deals, leads, people, organizations, activities, events or pipelines"
                )
            })
    }
}

fn check_limit(limit: i64) -> Result<i64> {
    if (1..=100_000).contains(&limit) {
        Ok(limit)
    } else {
        Err(StoreError::invalid("limit", "must be between 1 and 100000"))
    }
}

/// An id cursor as bind text: ids are UUIDs, anything else cannot have been given out. The
/// first page starts after the empty text, which sorts before every id: a plain `id > $n`
/// lets both databases seek in the primary key index, where `($n IS NULL OR id > $n)` would
/// have every page scan the index from its start.
fn check_after(after: Option<&str>) -> Result<String> {
    Ok(crate::deals::check_cursor(after)?.unwrap_or_default())
}

// ---- deals ----

/// A stage the deal entered, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageEntry {
    pub stage: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DealRecord {
    pub id: String,
    pub title: String,
    pub pipeline: String,
    pub stage: String,
    pub status: DealStatus,
    /// Minor units of `currency`.
    pub value: i64,
    pub currency: Currency,
    pub owner_email: String,
    pub owner_name: String,
    pub organization: Option<String>,
    pub person: Option<String>,
    pub person_email: Option<String>,
    pub expected_close_date: Option<Date>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub lost_reason: Option<String>,
    pub created_at: Timestamp,
    pub cycle_started_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    /// The stages the deal entered, oldest first; the first is the stage it was created in.
    pub stage_history: Vec<StageEntry>,
    pub custom: CustomFields,
}

#[derive(sqlx::FromRow)]
struct DealExportRow {
    id: String,
    title: String,
    pipeline: String,
    stage: String,
    status: String,
    value: i64,
    currency: String,
    owner_email: String,
    owner_name: String,
    organization: Option<String>,
    person: Option<String>,
    person_email: Option<String>,
    expected_close_date: Option<String>,
    source: Option<String>,
    campaign: Option<String>,
    lost_reason: Option<String>,
    created_at: i64,
    cycle_started_at: i64,
    closed_at: Option<i64>,
    custom: String,
}

/// The visible deals after `after`, in id order: `$1` role, `$2` user, `$3` cursor, `$4` limit.
macro_rules! deal_page {
    ($columns:literal) => {
        concat!(
            "SELECT ",
            $columns,
            " FROM deals d WHERE ",
            visible_owner!("d.owner_id"),
            " AND d.id > $3 ORDER BY d.id LIMIT $4"
        )
    };
}

/// The page of deals after `after` (a deal id), at most `limit`, with their stage histories.
pub async fn deals(
    tx: &mut Tx,
    ctx: &Ctx,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<DealRecord>> {
    let limit = check_limit(limit)?;
    let after = check_after(after)?;
    let rows: Vec<DealExportRow> = on_conn!(tx, c => sqlx::query_as(concat!(
        "SELECT d.id, d.title, p.name AS pipeline, s.name AS stage, d.status, d.value, d.currency,
                u.email AS owner_email, u.name AS owner_name, o.name AS organization,
                pe.name AS person, pe.email AS person_email, d.expected_close_date, d.source,
                d.campaign, d.lost_reason, d.created_at, d.cycle_started_at, d.closed_at, d.custom
         FROM deals d
         JOIN pipelines p ON p.id = d.pipeline_id
         JOIN stages s ON s.id = d.stage_id
         JOIN users u ON u.id = d.owner_id
         LEFT JOIN organizations o ON o.id = d.organization_id
         LEFT JOIN people pe ON pe.id = d.person_id
         WHERE ", visible_owner!("d.owner_id"), " AND d.id > $3
         ORDER BY d.id LIMIT $4"
    ))
    .bind(ctx.role())
    .bind(ctx.user())
    .bind(&after)
    .bind(limit)
    .fetch_all(&mut *c)
    .await)?;
    if rows.is_empty() {
        return Ok(vec![]);
    }
    // The entries of exactly the same page of deals: the same query as a subquery, in the
    // same transaction.
    let entries: Vec<(String, String, i64)> = on_conn!(tx, c => sqlx::query_as(concat!(
        "SELECT sp.deal_id, s.name, sp.valid_from FROM deal_spans sp
         JOIN stages s ON s.id = sp.stage_id
         WHERE sp.entered = TRUE AND sp.deal_id IN (", deal_page!("d.id"), ")
         ORDER BY sp.deal_id, sp.valid_from, sp.id"
    ))
    .bind(ctx.role())
    .bind(ctx.user())
    .bind(&after)
    .bind(limit)
    .fetch_all(&mut *c)
    .await)?;
    let mut histories: HashMap<String, Vec<StageEntry>> = HashMap::with_capacity(rows.len());
    for (deal_id, stage, at) in entries {
        histories.entry(deal_id).or_default().push(StageEntry {
            stage,
            at: from_ms(at),
        });
    }
    rows.into_iter()
        .map(|r| {
            Ok(DealRecord {
                stage_history: histories.remove(&r.id).unwrap_or_default(),
                status: parse("deal status", &r.status)?,
                currency: currency(&r.currency)?,
                expected_close_date: date(r.expected_close_date.as_deref())?,
                custom: custom(&r.custom)?,
                created_at: from_ms(r.created_at),
                cycle_started_at: from_ms(r.cycle_started_at),
                closed_at: r.closed_at.map(from_ms),
                id: r.id,
                title: r.title,
                pipeline: r.pipeline,
                stage: r.stage,
                value: r.value,
                owner_email: r.owner_email,
                owner_name: r.owner_name,
                organization: r.organization,
                person: r.person,
                person_email: r.person_email,
                source: r.source,
                campaign: r.campaign,
                lost_reason: r.lost_reason,
            })
        })
        .collect()
}

// ---- leads ----

#[derive(Debug, Clone, PartialEq)]
pub struct LeadRecord {
    pub id: String,
    pub title: String,
    pub status: LeadStatus,
    pub owner_email: Option<String>,
    pub owner_name: Option<String>,
    pub organization: Option<String>,
    pub person: Option<String>,
    pub person_email: Option<String>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    /// Minor units of `currency`.
    pub value: Option<i64>,
    pub currency: Option<Currency>,
    pub disqualify_reason: Option<String>,
    pub deal_id: Option<String>,
    pub created_at: Timestamp,
    pub decided_at: Option<Timestamp>,
    pub custom: CustomFields,
}

#[derive(sqlx::FromRow)]
struct LeadExportRow {
    id: String,
    title: String,
    status: String,
    owner_email: Option<String>,
    owner_name: Option<String>,
    organization: Option<String>,
    person: Option<String>,
    person_email: Option<String>,
    source: Option<String>,
    campaign: Option<String>,
    value: Option<i64>,
    currency: Option<String>,
    disqualify_reason: Option<String>,
    deal_id: Option<String>,
    created_at: i64,
    decided_at: Option<i64>,
    custom: String,
}

/// Unassigned leads are the team's inbox: everyone sees them (as in the leads list).
macro_rules! lead_visible {
    () => {
        concat!("(l.owner_id IS NULL OR ", visible_owner!("l.owner_id"), ")")
    };
}

/// The page of leads after `after` (a lead id), at most `limit`.
pub async fn leads(
    tx: &mut Tx,
    ctx: &Ctx,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<LeadRecord>> {
    let limit = check_limit(limit)?;
    let after = check_after(after)?;
    let rows: Vec<LeadExportRow> = on_conn!(tx, c => sqlx::query_as(concat!(
        "SELECT l.id, l.title, l.status, u.email AS owner_email, u.name AS owner_name,
                o.name AS organization, pe.name AS person, pe.email AS person_email, l.source,
                l.campaign, l.value, l.currency, l.disqualify_reason, l.deal_id, l.created_at,
                l.decided_at, l.custom
         FROM leads l
         LEFT JOIN users u ON u.id = l.owner_id
         LEFT JOIN organizations o ON o.id = l.organization_id
         LEFT JOIN people pe ON pe.id = l.person_id
         WHERE ", lead_visible!(), " AND l.id > $3
         ORDER BY l.id LIMIT $4"
    ))
    .bind(ctx.role())
    .bind(ctx.user())
    .bind(&after)
    .bind(limit)
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter()
        .map(|r| {
            Ok(LeadRecord {
                status: parse("lead status", &r.status)?,
                currency: parse_opt("currency", r.currency.as_deref())?,
                custom: custom(&r.custom)?,
                created_at: from_ms(r.created_at),
                decided_at: r.decided_at.map(from_ms),
                id: r.id,
                title: r.title,
                owner_email: r.owner_email,
                owner_name: r.owner_name,
                organization: r.organization,
                person: r.person,
                person_email: r.person_email,
                source: r.source,
                campaign: r.campaign,
                value: r.value,
                disqualify_reason: r.disqualify_reason,
                deal_id: r.deal_id,
            })
        })
        .collect()
}

// ---- people and organizations ----

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRecord {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub organization: Option<String>,
    pub owner_email: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationRecord {
    pub id: String,
    pub name: String,
    pub domain: Option<String>,
    pub owner_email: Option<String>,
    pub created_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct PersonExportRow {
    id: String,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    organization: Option<String>,
    owner_email: Option<String>,
    created_at: i64,
}

#[derive(sqlx::FromRow)]
struct OrganizationExportRow {
    id: String,
    name: String,
    domain: Option<String>,
    owner_email: Option<String>,
    created_at: i64,
}

/// The page of people after `after` (a person id), at most `limit`. Everyone sees people;
/// the context is taken for symmetry with the other kinds.
pub async fn people(
    tx: &mut Tx,
    _ctx: &Ctx,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<PersonRecord>> {
    let limit = check_limit(limit)?;
    let after = check_after(after)?;
    let rows: Vec<PersonExportRow> = on_conn!(tx, c => sqlx::query_as(
        "SELECT pe.id, pe.name, pe.email, pe.phone, o.name AS organization, u.email AS owner_email,
                pe.created_at
         FROM people pe
         LEFT JOIN organizations o ON o.id = pe.organization_id
         LEFT JOIN users u ON u.id = pe.owner_id
         WHERE pe.id > $1
         ORDER BY pe.id LIMIT $2"
    )
    .bind(&after)
    .bind(limit)
    .fetch_all(&mut *c)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|r| PersonRecord {
            created_at: from_ms(r.created_at),
            id: r.id,
            name: r.name,
            email: r.email,
            phone: r.phone,
            organization: r.organization,
            owner_email: r.owner_email,
        })
        .collect())
}

/// The page of organizations after `after` (an organization id), at most `limit`.
pub async fn organizations(
    tx: &mut Tx,
    _ctx: &Ctx,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<OrganizationRecord>> {
    let limit = check_limit(limit)?;
    let after = check_after(after)?;
    let rows: Vec<OrganizationExportRow> = on_conn!(tx, c => sqlx::query_as(
        "SELECT o.id, o.name, o.domain, u.email AS owner_email, o.created_at
         FROM organizations o
         LEFT JOIN users u ON u.id = o.owner_id
         WHERE o.id > $1
         ORDER BY o.id LIMIT $2"
    )
    .bind(&after)
    .bind(limit)
    .fetch_all(&mut *c)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|r| OrganizationRecord {
            created_at: from_ms(r.created_at),
            id: r.id,
            name: r.name,
            domain: r.domain,
            owner_email: r.owner_email,
        })
        .collect())
}

// ---- activities ----

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityRecord {
    pub id: String,
    pub kind: ActivityKind,
    pub subject: String,
    pub owner_email: String,
    pub deal_id: Option<String>,
    pub deal_title: Option<String>,
    pub lead_id: Option<String>,
    pub person: Option<String>,
    pub organization: Option<String>,
    pub due_at: Option<Timestamp>,
    pub duration_minutes: Option<i64>,
    pub note: Option<String>,
    pub done: bool,
    pub done_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct ActivityExportRow {
    id: String,
    kind: String,
    subject: String,
    owner_email: String,
    deal_id: Option<String>,
    deal_title: Option<String>,
    lead_id: Option<String>,
    person: Option<String>,
    organization: Option<String>,
    due_at: Option<i64>,
    duration_minutes: Option<i64>,
    note: Option<String>,
    done: bool,
    done_at: Option<i64>,
    created_at: i64,
}

/// The page of activities after `after` (an activity id), at most `limit`.
pub async fn activities(
    tx: &mut Tx,
    ctx: &Ctx,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<ActivityRecord>> {
    let limit = check_limit(limit)?;
    let after = check_after(after)?;
    let rows: Vec<ActivityExportRow> = on_conn!(tx, c => sqlx::query_as(concat!(
        "SELECT a.id, a.kind, a.subject, u.email AS owner_email, a.deal_id, d.title AS deal_title,
                a.lead_id, pe.name AS person, o.name AS organization, a.due_at,
                a.duration_minutes, a.note, a.done, a.done_at, a.created_at
         FROM activities a
         JOIN users u ON u.id = a.owner_id
         LEFT JOIN deals d ON d.id = a.deal_id
         LEFT JOIN people pe ON pe.id = a.person_id
         LEFT JOIN organizations o ON o.id = a.organization_id
         WHERE ", visible_owner!("a.owner_id"), " AND a.id > $3
         ORDER BY a.id LIMIT $4"
    ))
    .bind(ctx.role())
    .bind(ctx.user())
    .bind(&after)
    .bind(limit)
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter()
        .map(|r| {
            Ok(ActivityRecord {
                kind: parse("activity kind", &r.kind)?,
                due_at: r.due_at.map(from_ms),
                done_at: r.done_at.map(from_ms),
                created_at: from_ms(r.created_at),
                id: r.id,
                subject: r.subject,
                owner_email: r.owner_email,
                deal_id: r.deal_id,
                deal_title: r.deal_title,
                lead_id: r.lead_id,
                person: r.person,
                organization: r.organization,
                duration_minutes: r.duration_minutes,
                note: r.note,
                done: r.done,
            })
        })
        .collect()
}

// ---- events ----

#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub seq: i64,
    pub at: Timestamp,
    /// `None` when the system acted.
    pub actor_email: Option<String>,
    pub kind: EventKind,
    pub entity: String,
    pub entity_id: String,
    pub data: serde_json::Value,
}

#[derive(sqlx::FromRow)]
struct EventExportRow {
    seq: i64,
    at: i64,
    actor_email: Option<String>,
    code: i64,
    entity: String,
    entity_id: String,
    data: String,
}

/// SQL condition: the event `e` is about a record the actor bound as `$1`/`$2` may see.
macro_rules! event_visible {
    () => {
        concat!(
            "($1 = 'admin'
              OR (e.entity = 'deal' AND EXISTS (SELECT 1 FROM deals d WHERE d.id = e.entity_id AND ",
            visible_owner!("d.owner_id"),
            "))
              OR (e.entity = 'lead' AND EXISTS (SELECT 1 FROM leads l WHERE l.id = e.entity_id AND ",
            lead_visible!(),
            "))
              OR (e.entity = 'activity' AND EXISTS (SELECT 1 FROM activities a WHERE a.id = e.entity_id AND ",
            visible_owner!("a.owner_id"),
            ")))"
        )
    };
}

/// The page of events with `seq` greater than `after`, in seq order, at most `limit`.
pub async fn events(
    tx: &mut Tx,
    ctx: &Ctx,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<EventRecord>> {
    let limit = check_limit(limit)?;
    let rows: Vec<EventExportRow> = on_conn!(tx, c => sqlx::query_as(concat!(
        "SELECT e.seq, e.at, u.email AS actor_email, e.code, e.entity, e.entity_id, e.data
         FROM events e
         LEFT JOIN users u ON u.id = e.actor_id
         WHERE e.seq > $3 AND ", event_visible!(), "
         ORDER BY e.seq LIMIT $4"
    ))
    .bind(ctx.role())
    .bind(ctx.user())
    .bind(after.unwrap_or(0))
    .bind(limit)
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter()
        .map(|r| {
            let kind = EventKind::from_code(r.code)
                .ok_or_else(|| StoreError::Corrupt(format!("event code {} is unknown", r.code)))?;
            let data = serde_json::from_str(&r.data)
                .map_err(|e| StoreError::Corrupt(format!("event {}: {e}", r.seq)))?;
            Ok(EventRecord {
                seq: r.seq,
                at: from_ms(r.at),
                actor_email: r.actor_email,
                kind,
                entity: r.entity,
                entity_id: r.entity_id,
                data,
            })
        })
        .collect()
}

// ---- pipelines ----

/// A pipeline with its active stages in order, each with its active criteria.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineRecord {
    pub pipeline: Pipeline,
    pub stages: Vec<Stage>,
}

/// Every pipeline, archived ones last, with its active stages. Pipelines are everyone's to
/// see, and few: they are read whole rather than a page at a time. Archived stages are left
/// out: they take no deals, and an import would bring them back as stages that do.
pub async fn pipelines(tx: &mut Tx) -> Result<Vec<PipelineRecord>> {
    let mut out = vec![];
    for pipeline in crate::pipelines::list(tx, true).await? {
        let stages = crate::pipelines::stages(tx, pipeline.id, false).await?;
        out.push(PipelineRecord { pipeline, stages });
    }
    Ok(out)
}

/// How many records of `kind` an export by the actor holds (for a progress bar).
pub async fn count(tx: &mut Tx, ctx: &Ctx, kind: Kind) -> Result<i64> {
    // Scoped queries take the caller's role and user as $1 and $2; people and organizations
    // are everyone's.
    let (sql, scoped): (&'static str, bool) = match kind {
        Kind::Deals => (
            concat!(
                "SELECT COUNT(*) FROM deals d WHERE ",
                visible_owner!("d.owner_id")
            ),
            true,
        ),
        Kind::Leads => (
            concat!("SELECT COUNT(*) FROM leads l WHERE ", lead_visible!()),
            true,
        ),
        Kind::People => ("SELECT COUNT(*) FROM people", false),
        Kind::Organizations => ("SELECT COUNT(*) FROM organizations", false),
        Kind::Activities => (
            concat!(
                "SELECT COUNT(*) FROM activities a WHERE ",
                visible_owner!("a.owner_id")
            ),
            true,
        ),
        Kind::Events => (
            concat!("SELECT COUNT(*) FROM events e WHERE ", event_visible!()),
            true,
        ),
        // One row per active stage, and one for each pipeline without any.
        Kind::Pipelines => (
            "SELECT (SELECT COUNT(*) FROM stages WHERE archived = FALSE)
                  + (SELECT COUNT(*) FROM pipelines p WHERE NOT EXISTS
                       (SELECT 1 FROM stages s WHERE s.pipeline_id = p.id AND s.archived = FALSE))",
            false,
        ),
    };
    let (n,): (i64,) = on_conn!(tx, c => {
        let query = sqlx::query_as(sql);
        let query = if scoped {
            query.bind(ctx.role()).bind(ctx.user())
        } else {
            query
        };
        query.fetch_one(&mut *c).await
    })?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_by_name_and_refuse_others() {
        for kind in Kind::ALL {
            assert_eq!(kind.as_str().parse::<Kind>().unwrap(), kind);
        }
        assert_eq!(" Deals ".parse::<Kind>().unwrap(), Kind::Deals);
        let err = "invoices".parse::<Kind>().unwrap_err();
        assert!(
            err.contains("invoices") && err.contains("activities"),
            "{err}"
        );
    }
}
