//! Importing deals: each row becomes a deal with its history (created, the stages it
//! entered, won or lost), written through the store's bulk writer in batches.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use throughline_core::deal::{CustomFields, Deal, DealPatch, DealStatus, NewDeal};
use throughline_core::pipeline::{NewPipeline, NewStage};
use throughline_core::{Currency, DealId, FastMap, PipelineId, StageId};
use throughline_store::bulk::{
    DealWriter, ImportedDeal, LaidOut, any_external_deal, deals_by_external_id,
};
use throughline_store::deals::{CloseDeal, MoveDeal};
use throughline_store::{Ctx, Tx, deals, pipelines, settings};

use super::cells::Columns;
use super::mapping::{Mapping, Outcome};
use super::plan::{Plan, default_pipeline};
use super::read::{Row, Table};
use super::resolve::Resolver;
use super::{ImportError, ImportReport, Progress, Rejection, values};

const BATCH: usize = 5_000;

struct PipelineInfo {
    id: PipelineId,
    currency: Currency,
    /// Stage ids by lower-cased name, and the first stage by position.
    stages: HashMap<String, StageId>,
    first: StageId,
}

/// A row refused: which column, why.
struct Refusal {
    column: Option<String>,
    reason: String,
}

fn refuse(column: Option<String>, reason: impl Into<String>) -> Refusal {
    Refusal {
        column,
        reason: reason.into(),
    }
}

/// `[{"stage": "Qualified", "at": "2024-03-01T10:00:00Z"}, ...]`, as exports write it.
pub(crate) fn parse_history(text: &str) -> Result<Vec<(String, Timestamp)>, String> {
    #[derive(serde::Deserialize)]
    struct Entry {
        stage: String,
        at: Timestamp,
    }
    let entries: Vec<Entry> = serde_json::from_str(text)
        .map_err(|e| format!("stage history is not a JSON list of {{stage, at}}: {e}"))?;
    Ok(entries.into_iter().map(|e| (e.stage, e.at)).collect())
}

/// Create the pipelines and stages the file names that do not exist yet.
async fn prepare_pipelines(
    tx: &mut Tx,
    ctx: &Ctx,
    mapping: &Mapping,
    plan: &Plan,
    report: &mut ImportReport,
) -> Result<HashMap<String, PipelineInfo>, ImportError> {
    let mut out = HashMap::new();
    for p in &plan.pipelines {
        let found = match pipelines::find(tx, &p.name).await? {
            Some(active) if !active.archived => Some(active),
            // An archived pipeline of that name takes the rows when it has every stage they
            // name: its own deals coming back (a move between servers). A file with other
            // stages starts a new pipeline of that name, as archiving left the name free.
            Some(archived) => {
                let names: std::collections::HashSet<String> =
                    pipelines::stages(tx, archived.id, false)
                        .await?
                        .into_iter()
                        .map(|s| s.name.to_lowercase())
                        .collect();
                p.stages
                    .iter()
                    .all(|s| names.contains(&s.to_lowercase()))
                    .then_some(archived)
            }
            None => None,
        };
        let pipeline = match found {
            Some(existing) => existing,
            None => {
                let currency = match mapping.currency.as_deref().or(p.currency.as_deref()) {
                    Some(c) => Some(c.parse::<Currency>().map_err(|_| {
                        ImportError::Mapping(format!("`{c}` is not an ISO 4217 currency code"))
                    })?),
                    None => None,
                };
                report.pipelines_created.push(p.name.clone());
                pipelines::create(
                    tx,
                    ctx,
                    NewPipeline {
                        name: p.name.clone(),
                        currency,
                    },
                )
                .await?
            }
        };
        let existing = pipelines::stages(tx, pipeline.id, false).await?;
        let mut stages: HashMap<String, StageId> = existing
            .iter()
            .map(|s| (s.name.to_lowercase(), s.id))
            .collect();
        let missing: Vec<&String> = p
            .stages
            .iter()
            .filter(|s| !stages.contains_key(&s.to_lowercase()))
            .collect();
        let n = missing.len() as i64;
        for (i, name) in missing.into_iter().enumerate() {
            // Probabilities from the file when it has them, else evenly rising.
            let probability = p
                .probabilities
                .get(&name.to_lowercase())
                .map(|(sum, count)| (sum / f64::from(*count)).round() as i64)
                .unwrap_or(((i as i64 + 1) * 100) / (n + 1))
                .clamp(0, 100);
            let stage = pipelines::create_stage(
                tx,
                ctx,
                pipeline.id,
                NewStage {
                    name: name.clone(),
                    probability,
                    description: Some("Created by an import.".into()),
                    ..NewStage::default()
                },
            )
            .await?;
            report
                .stages_created
                .push(format!("{} / {}", pipeline.name, stage.name));
            stages.insert(name.to_lowercase(), stage.id);
        }
        let all = pipelines::stages(tx, pipeline.id, false).await?;
        let Some(first) = all.first().map(|s| s.id) else {
            continue;
        };
        out.insert(
            p.name.to_lowercase(),
            PipelineInfo {
                id: pipeline.id,
                currency: pipeline.currency,
                stages,
                first,
            },
        );
    }
    Ok(out)
}

struct Converter {
    cols: Columns,
    mapping: Mapping,
    pipelines: HashMap<String, PipelineInfo>,
    fallback_pipeline: String,
    tz: TimeZone,
    now: Timestamp,
}

/// A converted row, before owners and parties are resolved.
struct Parsed {
    deal: Deal,
    entries: Vec<(StageId, Timestamp)>,
    external_id: Option<String>,
    /// The id was made from the row's content, not read from the file.
    derived_id: bool,
    owner: Option<String>,
    organization: Option<String>,
    person: Option<String>,
    person_email: Option<String>,
}

impl Converter {
    fn instant(&self, row: &Row, field: &str) -> Result<Option<Timestamp>, Refusal> {
        match self.cols.get(row, field) {
            None => Ok(None),
            Some(text) => values::instant(text, &self.tz)
                .map(Some)
                .map_err(|e| refuse(self.cols.column(field), e)),
        }
    }

    fn outcome(&self, row: &Row) -> Result<(Outcome, Option<String>), Refusal> {
        let stage = self.cols.get(row, "stage");
        if let Some(status) = self.cols.get(row, "status") {
            let outcome = self
                .mapping
                .outcome_of(status)
                .or_else(|| status.parse().ok())
                .ok_or_else(|| {
                    refuse(
                        self.cols.column("status"),
                        format!("status `{status}` is not open, won or lost (map it with --status-map {status}=open|won|lost)"),
                    )
                })?;
            let stage = stage.filter(|s| self.mapping.outcome_of(s).is_none());
            return Ok((outcome, stage.map(str::to_string)));
        }
        match stage {
            Some(s) => match self.mapping.outcome_of(s) {
                Some(outcome) => Ok((outcome, None)),
                None => Ok((Outcome::Open, Some(s.to_string()))),
            },
            None => Ok((Outcome::Open, None)),
        }
    }

    fn convert(&self, row: &Row) -> Result<Parsed, Refusal> {
        let title = self
            .cols
            .get(row, "title")
            .ok_or_else(|| refuse(self.cols.column("title"), "the title is empty"))?;
        let pipeline_name = self
            .cols
            .get(row, "pipeline")
            .unwrap_or(&self.fallback_pipeline);
        let pipeline = self
            .pipelines
            .get(&pipeline_name.to_lowercase())
            .ok_or_else(|| {
                refuse(
                    self.cols.column("pipeline"),
                    format!("pipeline `{pipeline_name}` has no stages"),
                )
            })?;
        let currency = match self.cols.get(row, "currency") {
            Some(code) => code.parse::<Currency>().map_err(|_| {
                refuse(
                    self.cols.column("currency"),
                    format!("`{code}` is not an ISO 4217 currency code"),
                )
            })?,
            None => pipeline.currency,
        };
        if currency != pipeline.currency {
            return Err(refuse(
                self.cols.column("currency"),
                format!(
                    "the value is in {currency} but pipeline `{pipeline_name}` counts in {}",
                    pipeline.currency
                ),
            ));
        }
        let value = match self.cols.get(row, "value") {
            Some(text) => {
                values::amount(text, currency).map_err(|e| refuse(self.cols.column("value"), e))?
            }
            None => 0,
        };
        let (outcome, stage_name) = self.outcome(row)?;
        let stage_of = |name: &str, column: Option<String>| {
            pipeline
                .stages
                .get(&name.to_lowercase())
                .copied()
                .ok_or_else(|| {
                    refuse(
                        column,
                        format!("stage `{name}` is not in pipeline `{pipeline_name}`"),
                    )
                })
        };

        // The stages it entered, from the history column or the stage-date columns.
        let mut entries: Vec<(StageId, Timestamp)> = vec![];
        if let Some(text) = self.cols.get(row, "stage_history") {
            let column = self.cols.column("stage_history");
            for (name, at) in parse_history(text).map_err(|e| refuse(column.clone(), e))? {
                entries.push((stage_of(&name, column.clone())?, at));
            }
        }
        for (stage, sd_pipeline, i) in &self.cols.stage_dates {
            if sd_pipeline
                .as_deref()
                .is_some_and(|p| !p.eq_ignore_ascii_case(pipeline_name))
                || self.mapping.outcome_of(stage).is_some()
            {
                continue;
            }
            if let Some(text) = self.cols.at(row, *i) {
                let at = values::instant(text, &self.tz)
                    .map_err(|e| refuse(Some(self.cols.header(*i)), e))?;
                entries.push((stage_of(stage, Some(self.cols.header(*i)))?, at));
            }
        }
        entries.sort_by_key(|e| e.1);

        let won_lost_at = match outcome {
            Outcome::Won => self.instant(row, "won_at")?,
            Outcome::Lost => self.instant(row, "lost_at")?,
            Outcome::Open => None,
        };
        let closed_at = match outcome {
            Outcome::Open => None,
            _ => match won_lost_at {
                Some(at) => Some(at),
                None => self.instant(row, "closed_at")?,
            },
        };
        let created_at = self.instant(row, "created_at")?;
        let created_at = created_at
            .or(entries.first().map(|e| e.1))
            .or(closed_at)
            .unwrap_or(self.now);
        if closed_at.is_some_and(|c| c < created_at) {
            return Err(refuse(
                self.cols.column("closed_at").or(self.cols.column("won_at")),
                "the deal closed before it was created",
            ));
        }

        // Where it was created: the first stage entered, or the pipeline's first stage when
        // it was created before entering any.
        match entries.first().copied() {
            None => {}
            Some((_, first_at)) if first_at <= created_at => {
                entries[0].1 = created_at;
                for e in entries.iter_mut() {
                    e.1 = e.1.max(created_at);
                }
            }
            Some((first_stage, _)) => {
                if first_stage == pipeline.first {
                    entries[0].1 = created_at;
                } else {
                    entries.insert(0, (pipeline.first, created_at));
                }
            }
        }
        // The stage it stands in now, when the file names one beyond the history.
        let current = match &stage_name {
            Some(name) => Some(stage_of(name, self.cols.column("stage"))?),
            None => None,
        };
        match (current, entries.last().copied()) {
            (Some(stage), None) => entries.push((stage, created_at)),
            (Some(stage), Some((last, at))) if stage != last => entries.push((stage, at)),
            (None, None) => entries.push((pipeline.first, created_at)),
            _ => {}
        }
        // A close recorded before the last stage entry closes at that entry.
        let last_at = entries.last().map(|e| e.1).unwrap_or(created_at);
        let closed_at = closed_at.map(|c| c.max(last_at));
        if outcome != Outcome::Open && closed_at.is_none() {
            return Err(refuse(
                self.cols
                    .column(if outcome == Outcome::Won {
                        "won_at"
                    } else {
                        "lost_at"
                    })
                    .or(self.cols.column("closed_at")),
                format!(
                    "the deal is {} but has no close date",
                    if outcome == Outcome::Won {
                        "won"
                    } else {
                        "lost"
                    }
                ),
            ));
        }

        let expected_close_date = match self.cols.get(row, "expected_close_date") {
            Some(text) => Some(
                values::date(text)
                    .map_err(|e| refuse(self.cols.column("expected_close_date"), e))?,
            ),
            None => None,
        };
        let mut custom = CustomFields::new();
        if let Some(text) = self.cols.get(row, "custom") {
            custom = serde_json::from_str(text).map_err(|_| {
                refuse(
                    self.cols.column("custom"),
                    "custom fields are not a JSON object",
                )
            })?;
        }
        for (name, i) in &self.cols.custom {
            if let Some(text) = self.cols.at(row, *i) {
                custom.insert(name.clone(), serde_json::Value::String(text.to_string()));
            }
        }
        let source = self.cols.get(row, "source").map(str::to_string);
        let campaign = self.cols.get(row, "campaign").map(str::to_string);
        // The same checks as a deal created by hand (title length, text fields, custom).
        let checked = NewDeal {
            title: title.to_string(),
            pipeline_id: Some(pipeline.id),
            value,
            source,
            campaign,
            custom,
            ..NewDeal::default()
        }
        .validate()
        .map_err(|invalid| {
            let first = invalid.errors.first();
            let field = first.map(|e| e.field.clone()).unwrap_or_default();
            let column = self.cols.column(&field).or(Some(field.clone()));
            refuse(
                column,
                first
                    .map(|e| e.message.clone())
                    .unwrap_or_else(|| "invalid".into()),
            )
        })?;
        let cycle_started_at = self
            .instant(row, "cycle_started_at")?
            .map(|c| c.min(created_at))
            .unwrap_or(created_at);
        let external_id = match self.cols.get(row, "external_id") {
            Some(id) => Some(match &self.mapping.external_prefix {
                Some(prefix) => format!("{prefix}:{id}"),
                None => id.to_string(),
            }),
            // A file without ids (a report export, a spreadsheet): the row's identity is its
            // title, organization, creation and pipeline, which running the same file again
            // repeats; rows alike in all four are told apart by their order in the file.
            None => Some(format!(
                "{}:{}|{}|{}|{}",
                self.mapping.external_prefix.as_deref().unwrap_or("row"),
                title,
                self.cols.get(row, "organization").unwrap_or(""),
                self.cols.get(row, "created_at").unwrap_or(""),
                pipeline_name,
            )),
        };
        let derived_id = self.cols.get(row, "external_id").is_none();
        let (status, lost_reason) = match outcome {
            Outcome::Open => (DealStatus::Open, None),
            Outcome::Won => (DealStatus::Won, None),
            Outcome::Lost => (
                DealStatus::Lost,
                self.cols.get(row, "lost_reason").map(str::to_string),
            ),
        };
        let last = entries[entries.len() - 1];
        let deal = Deal {
            id: DealId::at(created_at),
            title: checked.title,
            pipeline_id: pipeline.id,
            stage_id: last.0,
            status,
            value,
            currency,
            // Resolved later; a placeholder the caller overwrites.
            owner_id: throughline_core::UserId(uuid_nil()),
            person_id: None,
            organization_id: None,
            expected_close_date,
            source: checked.source,
            campaign: checked.campaign,
            lead_id: None,
            lost_reason,
            custom: checked.custom,
            created_at,
            cycle_started_at,
            stage_entered_at: last.1,
            closed_at,
            updated_at: closed_at.unwrap_or(last.1),
            version: 1,
        };
        let organization = self.cols.get(row, "organization").map(str::to_string);
        if let Some(name) = &organization {
            throughline_core::party::OrganizationInput {
                name: name.clone(),
                domain: None,
                owner_id: None,
            }
            .validate()
            .map_err(|invalid| {
                let message = invalid.errors.first().map(|e| e.message.clone());
                refuse(
                    self.cols.column("organization"),
                    message.unwrap_or_else(|| "invalid".into()),
                )
            })?;
        }
        Ok(Parsed {
            deal,
            entries,
            external_id,
            derived_id,
            owner: self.cols.get(row, "owner").map(str::to_string),
            organization,
            person: self.cols.get(row, "person").map(str::to_string),
            person_email: self.cols.get(row, "person_email").map(str::to_string),
        })
    }
}

fn uuid_nil() -> uuid::Uuid {
    uuid::Uuid::nil()
}

pub(crate) async fn import(
    tx: &mut Tx,
    ctx: Ctx,
    table: Table,
    mapping: &Mapping,
    plan: &Plan,
    report: &mut ImportReport,
    progress: &dyn Progress,
) -> Result<(), ImportError> {
    let pipelines = prepare_pipelines(tx, &ctx, mapping, plan, report).await?;
    let converter = Converter {
        cols: Columns::new(mapping, &table.headers),
        mapping: mapping.clone(),
        pipelines,
        fallback_pipeline: default_pipeline(mapping),
        tz: settings::time_zone(tx).await?,
        now: ctx.at,
    };
    let mut resolver = Resolver::default();
    let mut writer = DealWriter::begin(tx, ctx).await?;
    let lookup_existing = any_external_deal(tx).await?;

    // Reading and converting rows runs on its own thread, a few batches ahead of the writing.
    let (sender, mut batches) = tokio::sync::mpsc::channel::<Converted>(4);
    let rows_hint = usize::try_from(plan.rows).unwrap_or(0);
    let reader =
        tokio::task::spawn_blocking(move || convert_rows(converter, table, rows_hint, sender));
    // Each batch is laid out as rows on another thread (the writer goes with it and comes
    // back) while the rows of the batch before are written here.
    let mut pending: Option<LaidOut> = None;
    let mut inserting = std::time::Duration::ZERO;
    let mut laying_out = std::time::Duration::ZERO;
    let mut resolving = std::time::Duration::ZERO;
    while let Some(converted) = batches.recv().await {
        report.rejected.extend(converted.rejected);
        let n = converted.parsed.len() as u64;
        let t = std::time::Instant::now();
        let new = resolve_batch(
            tx,
            &ctx,
            &mut resolver,
            converted.parsed,
            lookup_existing,
            report,
        )
        .await?;
        resolving += t.elapsed();
        let laying = tokio::task::spawn_blocking(move || {
            let t = std::time::Instant::now();
            let rows = writer.lay_out(new);
            (writer, rows, t.elapsed())
        });
        if let Some(rows) = pending.take() {
            inserting += rows.write(tx).await?;
        }
        let (back, rows, took) = laying
            .await
            .map_err(|e| ImportError::Format(format!("laying out rows stopped: {e}")))?;
        writer = back;
        laying_out += took;
        pending = Some(rows?);
        progress.advance(n);
    }
    if let Some(rows) = pending.take() {
        inserting += rows.write(tx).await?;
    }
    tracing::debug!(?inserting, ?laying_out, ?resolving, "import: rows inserted");
    reader
        .await
        .map_err(|e| ImportError::Format(format!("reading the file stopped: {e}")))?;
    writer.finish(tx).await?;
    Ok(())
}

/// A batch of converted rows and the rows refused on the way.
struct Converted {
    parsed: Vec<(u64, Parsed)>,
    rejected: Vec<Rejection>,
}

fn convert_rows(
    converter: Converter,
    table: Table,
    rows_hint: usize,
    sender: tokio::sync::mpsc::Sender<Converted>,
) {
    let started = std::time::Instant::now();
    let mut waiting = std::time::Duration::ZERO;
    // Each external id seen so far: the line it was first on, and how many times.
    let mut seen_external: FastMap<String, (u64, u64)> = FastMap::default();
    seen_external.reserve(rows_hint);
    let mut out = Converted {
        parsed: Vec::with_capacity(BATCH),
        rejected: vec![],
    };
    for row in table.rows() {
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                out.rejected.push(Rejection {
                    line: 0,
                    column: None,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        match converter.convert(&row) {
            Ok(mut parsed) => {
                let repeat = parsed.external_id.as_deref().and_then(|ext| {
                    match seen_external.get_mut(ext) {
                        Some((first_line, count)) => {
                            *count += 1;
                            Some((*first_line, *count, format!("{ext}#{count}")))
                        }
                        None => {
                            seen_external.insert(ext.to_owned(), (row.line, 1));
                            None
                        }
                    }
                });
                match repeat {
                    None => out.parsed.push((row.line, parsed)),
                    // An id made up from the row's values (no id column): a repeat is
                    // another deal with the same values, told apart by its number.
                    Some((_, _, numbered)) if parsed.derived_id => {
                        parsed.external_id = Some(numbered);
                        out.parsed.push((row.line, parsed));
                    }
                    Some((first_line, _, _)) => out.rejected.push(Rejection {
                        line: row.line,
                        column: converter.cols.column("external_id"),
                        reason: format!("the same id as line {first_line}"),
                    }),
                }
            }
            Err(r) => out.rejected.push(Rejection {
                line: row.line,
                column: r.column,
                reason: r.reason,
            }),
        }
        if out.parsed.len() >= BATCH {
            let full = std::mem::replace(
                &mut out,
                Converted {
                    parsed: Vec::with_capacity(BATCH),
                    rejected: vec![],
                },
            );
            let t = std::time::Instant::now();
            let sent = sender.blocking_send(full);
            waiting += t.elapsed();
            if sent.is_err() {
                // The writer stopped (an error it reports itself).
                return;
            }
        }
    }
    let _ = sender.blocking_send(out);
    tracing::debug!(converting = ?started.elapsed() - waiting, ?waiting, "import: rows converted");
}

/// Owners, organizations and people of a batch found or created, and rows already imported
/// updated: what is left are the new deals, for the writer.
async fn resolve_batch(
    tx: &mut Tx,
    ctx: &Ctx,
    resolver: &mut Resolver,
    batch: Vec<(u64, Parsed)>,
    lookup_existing: bool,
    report: &mut ImportReport,
) -> Result<Vec<ImportedDeal>, ImportError> {
    let existing = if lookup_existing {
        let ids: Vec<String> = batch
            .iter()
            .filter_map(|(_, p)| p.external_id.clone())
            .collect();
        deals_by_external_id(tx, &ids).await?
    } else {
        HashMap::new()
    };
    let mut new = Vec::with_capacity(batch.len());
    resolver
        .prepare_organizations(
            tx,
            ctx,
            batch.iter().filter_map(|(_, p)| p.organization.as_deref()),
            report,
        )
        .await?;
    for (_line, mut parsed) in batch {
        let owner = match &parsed.owner {
            Some(key) => resolver.owner(tx, ctx, key, report).await?,
            None => resolver.fallback_owner(tx, ctx, report).await?,
        };
        parsed.deal.owner_id = owner;
        if let Some(org) = &parsed.organization {
            parsed.deal.organization_id = Some(resolver.organization(tx, ctx, org, report).await?);
        }
        parsed.deal.person_id = resolver
            .person(
                tx,
                ctx,
                parsed.person.as_deref(),
                parsed.person_email.as_deref(),
                parsed.deal.organization_id,
                report,
            )
            .await?;
        match parsed.external_id.as_ref().and_then(|e| existing.get(e)) {
            Some(&id) => update_existing(tx, ctx, id, parsed, report).await?,
            None => {
                report.created += 1;
                new.push(ImportedDeal {
                    deal: parsed.deal,
                    entries: parsed.entries,
                    external_id: parsed.external_id,
                });
            }
        }
    }
    Ok(new)
}

/// A row whose deal was imported before: unchanged rows are skipped; changes are made
/// through the ordinary operations, so they are recorded as of this import.
async fn update_existing(
    tx: &mut Tx,
    ctx: &Ctx,
    id: DealId,
    parsed: Parsed,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let Some(current) = deals::get(tx, ctx, id).await? else {
        report.skipped += 1;
        return Ok(());
    };
    let want = &parsed.deal;
    let same_fields = current.title == want.title
        && current.value == want.value
        && current.owner_id == want.owner_id
        && current.expected_close_date == want.expected_close_date
        && current.organization_id == want.organization_id
        && current.person_id == want.person_id
        && current.source == want.source
        && current.campaign == want.campaign
        && current.custom == want.custom;
    let same_stage = current.stage_id == want.stage_id;
    let same_status = current.status == want.status;
    if same_fields && same_stage && same_status {
        report.skipped += 1;
        return Ok(());
    }
    let mut deal = current;
    if !same_status && deal.status != DealStatus::Open {
        deal = deals::reopen(tx, ctx, id, Some(deal.version)).await?;
    }
    if !same_fields {
        let patch = DealPatch {
            version: deal.version,
            title: Some(want.title.clone()),
            value: Some(want.value),
            owner_id: Some(want.owner_id),
            expected_close_date: Some(want.expected_close_date),
            organization_id: Some(want.organization_id),
            person_id: Some(want.person_id),
            source: Some(want.source.clone()),
            campaign: Some(want.campaign.clone()),
            custom: Some(want.custom.clone()),
            ..DealPatch::default()
        };
        deal = deals::update(tx, ctx, id, patch).await?;
    }
    if deal.stage_id != want.stage_id {
        deal = deals::move_to(
            tx,
            &Ctx::new(throughline_core::Actor::SYSTEM, ctx.at),
            id,
            MoveDeal {
                stage_id: want.stage_id,
                version: deal.version,
                force: true,
            },
        )
        .await?;
    }
    match want.status {
        DealStatus::Won if deal.status == DealStatus::Open => {
            deals::win(
                tx,
                ctx,
                id,
                CloseDeal {
                    reason: None,
                    version: Some(deal.version),
                },
            )
            .await?;
        }
        DealStatus::Lost if deal.status == DealStatus::Open => {
            let reason = want
                .lost_reason
                .clone()
                .unwrap_or_else(|| "Imported as lost".into());
            deals::lose(
                tx,
                ctx,
                id,
                CloseDeal {
                    reason: Some(reason),
                    version: Some(deal.version),
                },
            )
            .await?;
        }
        _ => {}
    }
    report.updated += 1;
    Ok(())
}
