//! Importing deals with their history, many at a time.
//!
//! An imported deal arrives with its whole past: the stages it entered and when, and how and
//! when it closed. The writer lays that past out exactly as the single-deal operations would
//! have recorded it had they been called at those instants — the same events, spans, snapshot
//! deltas and report-table contributions — but written in batches, many times faster than one
//! operation per change (a first import of a million deals in about 15 s; see BENCHMARKS.md).
//! A test checks that both paths give the same snapshots and reports.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;
use std::sync::Arc;
use throughline_core::deal::{CreatedRecord, Deal, DealStatus};
use throughline_core::event::EventKind;
use throughline_core::rollup::{Close, DealTimeline, Entry, Rollup, StageOrder, add_deal_rollup};
use throughline_core::time::{day_of_ms, to_ms};
use throughline_core::{DealId, FastMap, PipelineId, StageId};

use crate::db::{Tx, on_conn};
use crate::error::{Result, StoreError};
use crate::events::Ctx;
use crate::rows::{custom_text, opt_text, parse};
use crate::spans::bucket_key;
use crate::table_rows::{Rows, SetAside, Val};
use crate::{rollups, settings};

/// A deal and its past, as an import found them.
#[derive(Debug, Clone)]
pub struct ImportedDeal {
    /// The deal as it stands now. Its `stage_id` must be the last entry's stage; `version`,
    /// `updated_at` and `stage_entered_at` are derived from the history and overwritten.
    pub deal: Deal,
    /// The stages it entered, in time order; the first is where it was created, at
    /// `deal.created_at`.
    pub entries: Vec<(StageId, Timestamp)>,
    /// The record's id in the system it came from.
    pub external_id: Option<String>,
}

struct StageInfo {
    pipeline_id: PipelineId,
    name: String,
    position: i64,
    /// The stage's and its pipeline's ids as text, shared by every row that names them.
    id_text: Arc<str>,
    pipeline_text: Arc<str>,
}

#[derive(Serialize)]
struct Created<'a> {
    after: CreatedRecord<'a>,
}

#[derive(Serialize)]
struct StageRef<'a> {
    pipeline_id: &'a str,
    stage_id: &'a str,
    stage: &'a str,
}

#[derive(Serialize)]
struct Moved<'a> {
    from: StageRef<'a>,
    to: StageRef<'a>,
    direction: &'static str,
    #[serde(rename = "override")]
    overridden: bool,
    unmet: [(); 0],
    imported: bool,
}

#[derive(Serialize)]
struct Won<'a> {
    stage_id: &'a str,
    value: i64,
    currency: &'a str,
}

#[derive(Serialize)]
struct Lost<'a> {
    reason: Option<&'a str>,
    stage_id: &'a str,
    value: i64,
}

fn to_json<T: Serialize>(v: &T) -> Result<String> {
    // Sized for a created deal in one go: growing the buffer step by step was a quarter of
    // the time spent writing events.
    let mut out = Vec::with_capacity(1024);
    serde_json::to_writer(&mut out, v)
        .map_err(|e| StoreError::Raw(format!("an event cannot be written: {e}")))?;
    String::from_utf8(out).map_err(|e| StoreError::Raw(format!("an event cannot be written: {e}")))
}

const DEAL_COLUMNS: &[&str] = &[
    "id",
    "title",
    "pipeline_id",
    "stage_id",
    "status",
    "value",
    "currency",
    "owner_id",
    "person_id",
    "organization_id",
    "expected_close_date",
    "source",
    "campaign",
    "lead_id",
    "lost_reason",
    "custom",
    "external_id",
    "created_at",
    "cycle_started_at",
    "stage_entered_at",
    "closed_at",
    "updated_at",
    "version",
];
const EVENT_COLUMNS: &[&str] = &["at", "actor_id", "code", "entity", "entity_id", "data"];
const SPAN_COLUMNS: &[&str] = &[
    "deal_id",
    "pipeline_id",
    "stage_id",
    "owner_id",
    "value",
    "entered",
    "valid_from",
    "valid_to",
];

type DeltaKey = (PipelineId, i64, StageId, throughline_core::UserId);

/// Writes imported deals in batches inside one transaction. Call [`DealWriter::finish`]
/// before committing: the snapshot deltas and report tables are written there.
pub struct DealWriter {
    ctx: Ctx,
    stages: HashMap<StageId, StageInfo>,
    /// Each pipeline's active stages in order.
    orders: HashMap<PipelineId, StageOrder>,
    tz: TimeZone,
    /// Open-deal changes by pipeline, UTC day number, stage and owner.
    deltas: FastMap<DeltaKey, (i64, i64)>,
    owners: FastMap<throughline_core::UserId, Arc<str>>,
    rollup: Rollup,
    written: u64,
    set_aside: Option<SetAside>,
}

/// A batch of deals laid out as rows, ready to be written ([`DealWriter::lay_out`]).
pub struct LaidOut {
    deals: Rows,
    events: Rows,
    spans: Rows,
}

impl LaidOut {
    /// The second half of [`DealWriter::write`]: the rows written. Returns how long it took.
    pub async fn write(mut self, tx: &mut Tx) -> Result<std::time::Duration> {
        let t = std::time::Instant::now();
        self.deals.flush(tx).await?;
        self.events.flush(tx).await?;
        self.spans.flush(tx).await?;
        Ok(t.elapsed())
    }
}

impl DealWriter {
    /// Read what the writer needs (stages, the team's time zone). Create pipelines and stages
    /// before this.
    pub async fn begin(tx: &mut Tx, ctx: Ctx) -> Result<Self> {
        let rows: Vec<(String, String, String, i64, bool)> = on_conn!(tx, c => sqlx::query_as(
            "SELECT id, pipeline_id, name, position, archived FROM stages",
        )
        .fetch_all(&mut *c)
        .await)?;
        let mut stages = HashMap::new();
        let mut positions: HashMap<PipelineId, HashMap<StageId, i64>> = HashMap::new();
        for (id, pipeline, name, position, archived) in rows {
            let id: StageId = parse("stage id", &id)?;
            let pipeline_id: PipelineId = parse("pipeline id", &pipeline)?;
            if !archived {
                positions
                    .entry(pipeline_id)
                    .or_default()
                    .insert(id, position);
            }
            stages.insert(
                id,
                StageInfo {
                    pipeline_id,
                    name,
                    position,
                    id_text: Arc::from(id.to_string()),
                    pipeline_text: Arc::from(pipeline_id.to_string()),
                },
            );
        }
        // Loading into an empty deal table (a new installation's first import): the indexes
        // of the history tables are built once at the end instead of row by row.
        let empty: Option<(i64,)> = on_conn!(tx, c => sqlx::query_as("SELECT CAST(1 AS BIGINT) FROM deals LIMIT 1")
            .fetch_optional(&mut *c)
            .await)?;
        let set_aside = match empty {
            None => Some(SetAside::drop(tx, &["deals", "events", "deal_spans"]).await?),
            Some(_) => None,
        };
        Ok(Self {
            set_aside,
            ctx,
            stages,
            orders: positions
                .into_iter()
                .map(|(pipeline, p)| (pipeline, StageOrder::new(p)))
                .collect(),
            tz: settings::time_zone(tx).await?,
            deltas: FastMap::default(),
            owners: FastMap::default(),
            rollup: Rollup::default(),
            written: 0,
        })
    }

    /// How many deals were written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    fn stage(&self, id: StageId) -> Result<&StageInfo> {
        self.stages
            .get(&id)
            .ok_or_else(|| StoreError::invalid("stage_id", format!("no such stage {id}")))
    }

    /// Add to the open-deal change of a day; [`DealWriter::finish`] spreads the days over
    /// the coarser buckets once, instead of three map updates per change here.
    fn delta(
        &mut self,
        key: (PipelineId, StageId, throughline_core::UserId),
        at_ms: i64,
        d: (i64, i64),
    ) {
        let e = self
            .deltas
            .entry((key.0, day_of_ms(at_ms), key.1, key.2))
            .or_default();
        e.0 += d.0;
        e.1 += d.1;
    }

    /// Write a batch of deals: the rows, their events and spans. The caller checked the
    /// records; what is checked here is that the history is in order.
    pub async fn write(&mut self, tx: &mut Tx, batch: Vec<ImportedDeal>) -> Result<()> {
        self.lay_out(batch)?.write(tx).await.map(drop)
    }

    /// The first half of [`DealWriter::write`], without the database: each deal's row, events
    /// and spans, its snapshot deltas and report contributions. It can run on another thread
    /// while the previous batch is written.
    pub fn lay_out(&mut self, batch: Vec<ImportedDeal>) -> Result<LaidOut> {
        let n = batch.len();
        let mut deals = Rows::with_capacity("deals", DEAL_COLUMNS, n);
        let mut events = Rows::with_capacity("events", EVENT_COLUMNS, 3 * n);
        let mut spans = Rows::with_capacity("deal_spans", SPAN_COLUMNS, 2 * n);
        // The importing user's id, shared by every event of the batch.
        let actor = match self.ctx.user() {
            Some(user) => Val::Shared(Arc::from(user)),
            None => Val::Text(None),
        };
        let role_actor = |e: &mut Rows, at: i64, kind: EventKind, id: &Arc<str>, data: String| {
            e.push([
                at.into(),
                actor.clone(),
                kind.code().into(),
                Val::Static(kind.entity()),
                id.into(),
                data.into(),
            ]);
        };
        for imported in batch {
            let ImportedDeal {
                mut deal,
                entries,
                external_id,
            } = imported;
            let Some(&(first_stage, _)) = entries.first() else {
                return Err(StoreError::invalid("stage", "a deal needs a stage"));
            };
            if entries.windows(2).any(|w| w[1].1 < w[0].1)
                || entries[0].1 != deal.created_at
                || deal
                    .closed_at
                    .is_some_and(|c| Some(c) < entries.last().map(|e| e.1))
            {
                return Err(StoreError::invalid(
                    "created_at",
                    format!("the history of deal `{}` is not in time order", deal.title),
                ));
            }
            let id: Arc<str> = Arc::from(deal.id.to_string());
            let pipeline = deal.pipeline_id;
            let owner = deal.owner_id;
            let owner_text = self
                .owners
                .entry(owner)
                .or_insert_with(|| Arc::from(owner.to_string()))
                .clone();

            let mut created = deal.clone();
            created.stage_id = first_stage;
            created.status = DealStatus::Open;
            created.closed_at = None;
            created.lost_reason = None;
            created.stage_entered_at = deal.created_at;
            created.updated_at = deal.created_at;
            created.version = 1;
            let created_ms = to_ms(deal.created_at);
            role_actor(
                &mut events,
                created_ms,
                EventKind::DealCreated,
                &id,
                to_json(&Created {
                    after: CreatedRecord::from(&created),
                })?,
            );

            let mut version = 1;
            let mut timeline_entries = Vec::with_capacity(entries.len());
            for (i, &(stage_id, at)) in entries.iter().enumerate() {
                let info = self.stage(stage_id)?;
                if info.pipeline_id != pipeline {
                    return Err(StoreError::invalid(
                        "stage",
                        format!("stage `{}` is in another pipeline", info.name),
                    ));
                }
                let at_ms = to_ms(at);
                if i > 0 {
                    let (prev_id, _) = entries[i - 1];
                    let prev = self.stage(prev_id)?;
                    let data = to_json(&Moved {
                        from: StageRef {
                            pipeline_id: &prev.pipeline_text,
                            stage_id: &prev.id_text,
                            stage: &prev.name,
                        },
                        to: StageRef {
                            pipeline_id: &info.pipeline_text,
                            stage_id: &info.id_text,
                            stage: &info.name,
                        },
                        direction: if info.position > prev.position {
                            "forward"
                        } else {
                            "backward"
                        },
                        overridden: false,
                        unmet: [],
                        imported: true,
                    })?;
                    role_actor(&mut events, at_ms, EventKind::DealStageChanged, &id, data);
                    version += 1;
                }
                let end = entries
                    .get(i + 1)
                    .map(|e| e.1)
                    .or(deal.closed_at)
                    .map(to_ms);
                spans.push([
                    (&id).into(),
                    (&info.pipeline_text).into(),
                    (&info.id_text).into(),
                    (&owner_text).into(),
                    deal.value.into(),
                    true.into(),
                    at_ms.into(),
                    end.into(),
                ]);
                self.delta((pipeline, stage_id, owner), at_ms, (1, deal.value));
                if let Some(end) = end {
                    self.delta((pipeline, stage_id, owner), end, (-1, -deal.value));
                }
                timeline_entries.push(Entry {
                    at,
                    stage_id,
                    owner_id: owner,
                });
            }

            let last = entries[entries.len() - 1];
            deal.stage_id = last.0;
            deal.stage_entered_at = last.1;
            deal.updated_at = last.1;
            let close = match (deal.status, deal.closed_at) {
                (DealStatus::Open, _) => {
                    deal.closed_at = None;
                    deal.lost_reason = None;
                    None
                }
                (status, Some(at)) => {
                    let won = status == DealStatus::Won;
                    let stage_text = &self.stage(deal.stage_id)?.id_text;
                    let data = if won {
                        to_json(&Won {
                            stage_id: stage_text,
                            value: deal.value,
                            currency: deal.currency.code(),
                        })?
                    } else {
                        to_json(&Lost {
                            reason: deal.lost_reason.as_deref(),
                            stage_id: stage_text,
                            value: deal.value,
                        })?
                    };
                    let kind = if won {
                        EventKind::DealWon
                    } else {
                        EventKind::DealLost
                    };
                    role_actor(&mut events, to_ms(at), kind, &id, data);
                    version += 1;
                    deal.updated_at = at;
                    Some(Close {
                        at,
                        won,
                        owner_id: owner,
                        value: deal.value,
                    })
                }
                (_, None) => {
                    return Err(StoreError::invalid(
                        "closed_at",
                        format!("deal `{}` is closed but has no close date", deal.title),
                    ));
                }
            };
            deal.version = version;

            let unordered = StageOrder::default();
            add_deal_rollup(
                &mut self.rollup,
                &DealTimeline {
                    pipeline_id: pipeline,
                    cycle_started_at: deal.cycle_started_at,
                    from_lead: deal.lead_id.is_some(),
                    owner_at_start: owner,
                    source: deal.source.clone(),
                    campaign: deal.campaign.clone(),
                    entries: timeline_entries,
                    close,
                },
                self.orders.get(&pipeline).unwrap_or(&unordered),
                &self.tz,
            );
            let stage = self.stage(deal.stage_id)?;
            push_deal(
                &mut deals,
                deal,
                SharedIds {
                    deal: &id,
                    pipeline: &stage.pipeline_text,
                    stage: &stage.id_text,
                    owner: &owner_text,
                },
                external_id,
            );
            self.written += 1;
        }
        Ok(LaidOut {
            deals,
            events,
            spans,
        })
    }

    /// Write the snapshot deltas and report-table contributions of everything written.
    pub async fn finish(mut self, tx: &mut Tx) -> Result<u64> {
        let t = std::time::Instant::now();
        // The rows of the snapshot deltas and report tables are laid out on another thread
        // while SQLite rebuilds the indexes here.
        let deltas = std::mem::take(&mut self.deltas);
        let rollup = std::mem::take(&mut self.rollup);
        let laying = tokio::task::spawn_blocking(move || {
            let mut rows = vec![delta_rows(deltas)];
            rows.extend(rollups::lay_out_large(&rollup));
            rows
        });
        if let Some(set_aside) = self.set_aside.take() {
            set_aside.restore(tx).await?;
        }
        tracing::debug!(elapsed = ?t.elapsed(), "bulk load: indexes rebuilt");
        let rows = laying
            .await
            .map_err(|e| StoreError::Raw(format!("laying out report rows stopped: {e}")))?;
        rollups::write_rows(tx, rows).await?;
        tracing::debug!(elapsed = ?t.elapsed(), "bulk load: snapshot deltas and report tables written");
        Ok(self.written)
    }
}

/// The snapshot deltas' rows: each day's change added to its bucket at every level.
fn delta_rows(deltas: FastMap<DeltaKey, (i64, i64)>) -> Rows {
    let mut rows = Rows::new(
        "snapshot_deltas",
        &[
            "pipeline_id",
            "day",
            "stage_id",
            "owner_id",
            "d_count",
            "d_value",
        ],
    )
    .on_conflict(
        "ON CONFLICT (pipeline_id, day, stage_id, owner_id)
         DO UPDATE SET d_count = snapshot_deltas.d_count + excluded.d_count,
                       d_value = snapshot_deltas.d_value + excluded.d_value",
    );
    let mut buckets: FastMap<DeltaKey, (i64, i64)> = FastMap::default();
    for ((pipeline, day, stage, owner), (count, value)) in deltas {
        for level in 0..3 {
            let e = buckets
                .entry((pipeline, bucket_key(level, day), stage, owner))
                .or_default();
            e.0 += count;
            e.1 += value;
        }
    }
    // In key order: each row lands next to the previous one in the table's B-tree.
    let mut deltas: Vec<(DeltaKey, (i64, i64))> = buckets.into_iter().collect();
    deltas.sort_unstable_by_key(|(k, _)| *k);
    for ((pipeline, day, stage, owner), (count, value)) in deltas {
        if count == 0 && value == 0 {
            continue;
        }
        rows.push([
            pipeline.to_string().into(),
            day.into(),
            stage.to_string().into(),
            owner.to_string().into(),
            count.into(),
            value.into(),
        ]);
    }
    rows
}

/// A deal's ids as the text its other rows share, formatted once.
struct SharedIds<'a> {
    deal: &'a Arc<str>,
    pipeline: &'a Arc<str>,
    stage: &'a Arc<str>,
    owner: &'a Arc<str>,
}

fn push_deal(rows: &mut Rows, d: Deal, ids: SharedIds, external_id: Option<String>) {
    rows.push([
        ids.deal.into(),
        d.title.into(),
        ids.pipeline.into(),
        ids.stage.into(),
        Val::Static(d.status.as_str()),
        d.value.into(),
        Val::Static(d.currency.code()),
        ids.owner.into(),
        opt_text(d.person_id).into(),
        opt_text(d.organization_id).into(),
        opt_text(d.expected_close_date).into(),
        d.source.into(),
        d.campaign.into(),
        opt_text(d.lead_id).into(),
        d.lost_reason.into(),
        custom_text(&d.custom).into(),
        external_id.into(),
        to_ms(d.created_at).into(),
        to_ms(d.cycle_started_at).into(),
        to_ms(d.stage_entered_at).into(),
        d.closed_at.map(to_ms).into(),
        to_ms(d.updated_at).into(),
        d.version.into(),
    ]);
}

/// The deals among `external_ids` that exist already, by external id.
pub async fn deals_by_external_id(
    tx: &mut Tx,
    external_ids: &[String],
) -> Result<HashMap<String, DealId>> {
    let mut out = HashMap::new();
    for chunk in external_ids.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT external_id, id FROM deals WHERE external_id IN ({})",
            placeholders.join(", ")
        );
        let rows: Vec<(String, String)> = on_conn!(tx, c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for id in chunk {
                q = q.bind(id);
            }
            q.fetch_all(&mut *c).await
        })?;
        for (ext, id) in rows {
            out.insert(ext, parse("deal id", &id)?);
        }
    }
    Ok(out)
}

/// Whether any deal carries an external id (when none does, an import need not look any up).
pub async fn any_external_deal(tx: &mut Tx) -> Result<bool> {
    let row: Option<(i64,)> = on_conn!(tx, c => sqlx::query_as(
        "SELECT CAST(1 AS BIGINT) FROM deals WHERE external_id IS NOT NULL LIMIT 1",
    )
    .fetch_optional(&mut *c)
    .await)?;
    Ok(row.is_some())
}

/// The tables whose records carry an external id besides deals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternalTable {
    Deals,
    Leads,
    People,
    Organizations,
    Activities,
}

impl ExternalTable {
    fn name(self) -> &'static str {
        match self {
            ExternalTable::Deals => "deals",
            ExternalTable::Leads => "leads",
            ExternalTable::People => "people",
            ExternalTable::Organizations => "organizations",
            ExternalTable::Activities => "activities",
        }
    }
}

/// The id of the record of `table` that an import gave `external_id`, if any.
pub async fn find_external(
    tx: &mut Tx,
    table: ExternalTable,
    external_id: &str,
) -> Result<Option<String>> {
    let sql = format!("SELECT id FROM {} WHERE external_id = $1", table.name());
    let row: Option<(String,)> = on_conn!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(external_id)
        .fetch_optional(&mut *c)
        .await)?;
    Ok(row.map(|(id,)| id))
}

/// Record the id the source system gave a record just created by an import. Not an
/// event: it describes where the record came from, not a change to it.
pub async fn set_external(
    tx: &mut Tx,
    table: ExternalTable,
    id: &str,
    external_id: &str,
) -> Result<()> {
    let sql = format!("UPDATE {} SET external_id = $1 WHERE id = $2", table.name());
    crate::db::exec!(tx, c => sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .bind(external_id)
        .bind(id)
        .execute(&mut *c)
        .await)?;
    Ok(())
}

/// Every organization's id by lower-cased name (the oldest when names repeat), for an
/// import to match names without a query per row.
pub async fn organizations_by_name(
    tx: &mut Tx,
) -> Result<HashMap<String, throughline_core::OrganizationId>> {
    let rows: Vec<(String, String)> = on_conn!(tx, c => sqlx::query_as(
        "SELECT id, name FROM organizations ORDER BY id DESC",
    )
    .fetch_all(&mut *c)
    .await)?;
    let mut out = HashMap::with_capacity(rows.len());
    for (id, name) in rows {
        out.insert(name.trim().to_lowercase(), parse("organization id", &id)?);
    }
    Ok(out)
}

/// Create organizations by name, as `parties::create_organization` would one by one: the
/// row and its `organization.created` event each.
pub async fn create_organizations(
    tx: &mut Tx,
    ctx: &Ctx,
    names: Vec<String>,
) -> Result<Vec<throughline_core::OrganizationId>> {
    use throughline_core::party::{Organization, OrganizationInput};
    let mut orgs = Rows::new(
        "organizations",
        &[
            "id",
            "name",
            "domain",
            "owner_id",
            "created_at",
            "updated_at",
            "version",
        ],
    );
    let mut events = Rows::new("events", EVENT_COLUMNS);
    let mut ids = Vec::with_capacity(names.len());
    let at = ctx.at_ms();
    for name in names {
        let input = OrganizationInput {
            name,
            domain: None,
            owner_id: None,
        }
        .validate()?;
        let org = Organization {
            id: throughline_core::OrganizationId::at(ctx.at),
            name: input.name,
            domain: None,
            owner_id: None,
            created_at: ctx.at,
            updated_at: ctx.at,
            version: 1,
        };
        let id = org.id.to_string();
        orgs.push([
            id.as_str().into(),
            org.name.as_str().into(),
            Val::Text(None),
            Val::Text(None),
            at.into(),
            at.into(),
            1i64.into(),
        ]);
        events.push([
            at.into(),
            ctx.user().into(),
            EventKind::OrganizationCreated.code().into(),
            EventKind::OrganizationCreated.entity().into(),
            id.into(),
            to_json(&serde_json::json!({ "after": org }))?.into(),
        ]);
        ids.push(org.id);
    }
    orgs.flush(tx).await?;
    events.flush(tx).await?;
    Ok(ids)
}
