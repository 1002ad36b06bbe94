//! The column contract: which columns each kind has, in which order, and how a record of the
//! store becomes a row of cells. The importer reads these names back; never rename one.

use std::fmt::Write;

use throughline_store::export::StageEntry;
use throughline_store::export::{
    self, ActivityRecord, DealRecord, EventRecord, Kind, LeadRecord, OrganizationRecord,
    PersonRecord, PipelineRecord,
};
use throughline_store::{Ctx, Result, Tx};

use super::cell::{Cell, money};

pub const DEAL_COLUMNS: &[&str] = &[
    "id",
    "title",
    "pipeline",
    "stage",
    "status",
    "value",
    "currency",
    "owner_email",
    "owner_name",
    "organization",
    "person",
    "person_email",
    "expected_close_date",
    "source",
    "campaign",
    "lost_reason",
    "created_at",
    "cycle_started_at",
    "closed_at",
    "stage_history",
    "custom",
];

pub const LEAD_COLUMNS: &[&str] = &[
    "id",
    "title",
    "status",
    "owner_email",
    "owner_name",
    "organization",
    "person",
    "person_email",
    "source",
    "campaign",
    "value",
    "currency",
    "disqualify_reason",
    "deal_id",
    "created_at",
    "decided_at",
    "custom",
];

pub const PERSON_COLUMNS: &[&str] = &[
    "id",
    "name",
    "email",
    "phone",
    "organization",
    "owner_email",
    "created_at",
];

pub const ORGANIZATION_COLUMNS: &[&str] = &["id", "name", "domain", "owner_email", "created_at"];

pub const ACTIVITY_COLUMNS: &[&str] = &[
    "id",
    "kind",
    "subject",
    "owner_email",
    "deal_id",
    "deal_title",
    "lead_id",
    "person",
    "organization",
    "due_at",
    "duration_minutes",
    "note",
    "done",
    "done_at",
    "created_at",
];

pub const EVENT_COLUMNS: &[&str] = &[
    "seq",
    "at",
    "actor_email",
    "kind",
    "entity",
    "entity_id",
    "data",
];

/// One row per stage, the pipeline's columns repeated; a pipeline without stages is one row
/// with the stage's columns empty. `criteria` is a JSON array of
/// `{"kind":"checklist","label":…}` and `{"kind":"field","field":…,"label":…}`.
pub const PIPELINE_COLUMNS: &[&str] = &[
    "pipeline",
    "currency",
    "pipeline_archived",
    "stage",
    "position",
    "probability",
    "rot_days",
    "description",
    "criteria",
];

/// The header of an export of `kind`.
pub fn columns(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Deals => DEAL_COLUMNS,
        Kind::Leads => LEAD_COLUMNS,
        Kind::People => PERSON_COLUMNS,
        Kind::Organizations => ORGANIZATION_COLUMNS,
        Kind::Activities => ACTIVITY_COLUMNS,
        Kind::Events => EVENT_COLUMNS,
        Kind::Pipelines => PIPELINE_COLUMNS,
    }
}

/// Custom fields as a JSON object, keys in order.
fn custom(fields: &throughline_core::deal::CustomFields) -> Cell {
    Cell::Json(serde_json::to_string(fields).unwrap_or_else(|_| "{}".into()))
}

/// `[{"stage":"Qualified","at":"2024-03-01T10:22:33.000Z"}, ...]`, keys in that order.
fn stage_history(entries: &[StageEntry]) -> Cell {
    let mut text = String::from("[");
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        let stage = serde_json::to_string(&e.stage).unwrap_or_else(|_| "\"\"".into());
        let _ = write!(
            text,
            r#"{{"stage":{stage},"at":"{}"}}"#,
            super::cell::instant(e.at)
        );
    }
    text.push(']');
    Cell::Json(text)
}

fn deal(d: DealRecord) -> Vec<Cell> {
    vec![
        Cell::Text(d.id),
        Cell::Text(d.title),
        Cell::Text(d.pipeline),
        Cell::Text(d.stage),
        Cell::text(d.status.as_str()),
        Cell::Decimal(money(d.value, d.currency)),
        Cell::text(d.currency.code()),
        Cell::Text(d.owner_email),
        Cell::Text(d.owner_name),
        Cell::opt_text(d.organization),
        Cell::opt_text(d.person),
        Cell::opt_text(d.person_email),
        Cell::opt_text(d.expected_close_date.map(|date| date.to_string())),
        Cell::opt_text(d.source),
        Cell::opt_text(d.campaign),
        Cell::opt_text(d.lost_reason),
        Cell::instant(d.created_at),
        Cell::instant(d.cycle_started_at),
        Cell::opt_instant(d.closed_at),
        stage_history(&d.stage_history),
        custom(&d.custom),
    ]
}

fn lead(l: LeadRecord) -> Vec<Cell> {
    // A value is always stored with its currency; should one be missing, the digits are
    // those of a two-decimal currency.
    let value = l.value.map_or(Cell::Null, |v| {
        Cell::Decimal(money(
            v,
            l.currency.unwrap_or(throughline_core::Currency::EUR),
        ))
    });
    vec![
        Cell::Text(l.id),
        Cell::Text(l.title),
        Cell::text(l.status.as_str()),
        Cell::opt_text(l.owner_email),
        Cell::opt_text(l.owner_name),
        Cell::opt_text(l.organization),
        Cell::opt_text(l.person),
        Cell::opt_text(l.person_email),
        Cell::opt_text(l.source),
        Cell::opt_text(l.campaign),
        value,
        Cell::opt_text(l.currency.map(|c| c.code())),
        Cell::opt_text(l.disqualify_reason),
        Cell::opt_text(l.deal_id),
        Cell::instant(l.created_at),
        Cell::opt_instant(l.decided_at),
        custom(&l.custom),
    ]
}

fn person(p: PersonRecord) -> Vec<Cell> {
    vec![
        Cell::Text(p.id),
        Cell::Text(p.name),
        Cell::opt_text(p.email),
        Cell::opt_text(p.phone),
        Cell::opt_text(p.organization),
        Cell::opt_text(p.owner_email),
        Cell::instant(p.created_at),
    ]
}

fn organization(o: OrganizationRecord) -> Vec<Cell> {
    vec![
        Cell::Text(o.id),
        Cell::Text(o.name),
        Cell::opt_text(o.domain),
        Cell::opt_text(o.owner_email),
        Cell::instant(o.created_at),
    ]
}

fn activity(a: ActivityRecord) -> Vec<Cell> {
    vec![
        Cell::Text(a.id),
        Cell::text(a.kind.as_str()),
        Cell::Text(a.subject),
        Cell::Text(a.owner_email),
        Cell::opt_text(a.deal_id),
        Cell::opt_text(a.deal_title),
        Cell::opt_text(a.lead_id),
        Cell::opt_text(a.person),
        Cell::opt_text(a.organization),
        Cell::opt_instant(a.due_at),
        a.duration_minutes.map_or(Cell::Null, Cell::Int),
        Cell::opt_text(a.note),
        Cell::Bool(a.done),
        Cell::opt_instant(a.done_at),
        Cell::instant(a.created_at),
    ]
}

fn event(e: EventRecord) -> Vec<Cell> {
    vec![
        Cell::Int(e.seq),
        Cell::instant(e.at),
        Cell::opt_text(e.actor_email),
        Cell::text(e.kind.name()),
        Cell::Text(e.entity),
        Cell::Text(e.entity_id),
        Cell::Json(e.data.to_string()),
    ]
}

/// A stage's criteria as the JSON array an import reads back (ids left out: they are this
/// database's).
pub(crate) fn criteria_json(criteria: &[throughline_core::criteria::Criterion]) -> String {
    let items: Vec<serde_json::Value> = criteria
        .iter()
        .map(|c| {
            let mut item = serde_json::Map::new();
            item.insert("kind".into(), c.kind.as_str().into());
            if let Some(field) = c.field {
                item.insert("field".into(), field.as_str().into());
            }
            item.insert("label".into(), c.label.clone().into());
            serde_json::Value::Object(item)
        })
        .collect();
    serde_json::Value::Array(items).to_string()
}

fn pipeline(p: PipelineRecord) -> Vec<Vec<Cell>> {
    let head = |p: &PipelineRecord| {
        vec![
            Cell::text(p.pipeline.name.clone()),
            Cell::text(p.pipeline.currency.code()),
            Cell::Bool(p.pipeline.archived),
        ]
    };
    if p.stages.is_empty() {
        let mut row = head(&p);
        row.extend(std::iter::repeat_n(Cell::Null, 6));
        return vec![row];
    }
    p.stages
        .iter()
        .map(|s| {
            let mut row = head(&p);
            row.extend([
                Cell::text(s.name.clone()),
                Cell::Int(s.position),
                Cell::Int(s.probability),
                s.rot_days.map_or(Cell::Null, Cell::Int),
                Cell::opt_text(s.description.clone()),
                Cell::Json(criteria_json(&s.criteria)),
            ]);
            row
        })
        .collect()
}

/// Where the next page starts: after a record id, or after an event's sequence number.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cursor {
    id: Option<String>,
    seq: Option<i64>,
    /// The last page was short: there is nothing after it.
    pub done: bool,
}

/// The next page of `kind` as rows of cells, moving the cursor past it.
pub(crate) async fn next_page(
    tx: &mut Tx,
    ctx: &Ctx,
    kind: Kind,
    cursor: &mut Cursor,
    limit: i64,
) -> Result<Vec<Vec<Cell>>> {
    if cursor.done {
        return Ok(vec![]);
    }
    let after = cursor.id.as_deref();
    let (rows, last_id, last_seq) = match kind {
        Kind::Deals => {
            let page = export::deals(tx, ctx, after, limit).await?;
            let last = page.last().map(|r| r.id.clone());
            (page.into_iter().map(deal).collect::<Vec<_>>(), last, None)
        }
        Kind::Leads => {
            let page = export::leads(tx, ctx, after, limit).await?;
            let last = page.last().map(|r| r.id.clone());
            (page.into_iter().map(lead).collect(), last, None)
        }
        Kind::People => {
            let page = export::people(tx, ctx, after, limit).await?;
            let last = page.last().map(|r| r.id.clone());
            (page.into_iter().map(person).collect(), last, None)
        }
        Kind::Organizations => {
            let page = export::organizations(tx, ctx, after, limit).await?;
            let last = page.last().map(|r| r.id.clone());
            (page.into_iter().map(organization).collect(), last, None)
        }
        Kind::Activities => {
            let page = export::activities(tx, ctx, after, limit).await?;
            let last = page.last().map(|r| r.id.clone());
            (page.into_iter().map(activity).collect(), last, None)
        }
        Kind::Events => {
            let page = export::events(tx, ctx, cursor.seq, limit).await?;
            let last = page.last().map(|r| r.seq);
            (page.into_iter().map(event).collect(), None, last)
        }
        Kind::Pipelines => {
            let rows: Vec<Vec<Cell>> = export::pipelines(tx)
                .await?
                .into_iter()
                .flat_map(pipeline)
                .collect();
            cursor.done = true;
            return Ok(rows);
        }
    };
    if (rows.len() as i64) < limit {
        cursor.done = true;
    }
    if last_id.is_some() {
        cursor.id = last_id;
    }
    if last_seq.is_some() {
        cursor.seq = last_seq;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_columns_once() {
        for kind in Kind::ALL {
            let cols = columns(kind);
            let mut unique = cols.to_vec();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), cols.len(), "{kind}");
        }
        assert_eq!(DEAL_COLUMNS.len(), 21);
        assert_eq!(LEAD_COLUMNS.len(), 17);
        assert_eq!(ACTIVITY_COLUMNS.len(), 15);
    }
}
