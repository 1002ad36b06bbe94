//! Pipelines, their stages and the stages' entry criteria.

use std::collections::HashMap;

use serde_json::json;
use throughline_core::criteria::{self, Criterion, CriterionKind};
use throughline_core::event::EventKind;
use throughline_core::pipeline::{
    NewPipeline, NewStage, Pipeline, PipelinePatch, Stage, StagePatch, StageSettings,
    check_pipeline_name,
};
use throughline_core::time::from_ms;
use throughline_core::{CriterionId, Invalid, PipelineId, StageId};

use crate::db::{Tx, exec, on_conn};
use crate::error::{Result, StoreError};
use crate::events::{Ctx, append};
use crate::rows::{currency, parse};
use crate::settings;

fn require_admin(ctx: &Ctx) -> Result<()> {
    if ctx.actor.is_admin() {
        Ok(())
    } else {
        Err(StoreError::forbidden(
            None,
            "only an admin can change pipelines and stages",
        ))
    }
}

#[derive(sqlx::FromRow)]
struct PipelineRow {
    id: String,
    name: String,
    currency: String,
    archived: bool,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

impl PipelineRow {
    fn into_pipeline(self) -> Result<Pipeline> {
        Ok(Pipeline {
            id: parse("pipeline id", &self.id)?,
            name: self.name,
            currency: currency(&self.currency)?,
            archived: self.archived,
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
            version: self.version,
        })
    }
}

pub async fn list(tx: &mut Tx, include_archived: bool) -> Result<Vec<Pipeline>> {
    let rows: Vec<PipelineRow> = on_conn!(tx, c => sqlx::query_as(
        "SELECT id, name, currency, archived, created_at, updated_at, version FROM pipelines
         WHERE archived = FALSE OR $1 ORDER BY archived, created_at, id",
    )
    .bind(include_archived)
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter().map(PipelineRow::into_pipeline).collect()
}

pub async fn get(tx: &mut Tx, id: PipelineId) -> Result<Option<Pipeline>> {
    let row: Option<PipelineRow> = on_conn!(tx, c => sqlx::query_as(
        "SELECT id, name, currency, archived, created_at, updated_at, version FROM pipelines WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    row.map(PipelineRow::into_pipeline).transpose()
}

pub async fn require(tx: &mut Tx, id: PipelineId) -> Result<Pipeline> {
    get(tx, id)
        .await?
        .ok_or_else(|| StoreError::not_found("pipeline", id))
}

/// A pipeline by id or by name (case-insensitive, active pipelines first).
pub async fn find(tx: &mut Tx, key: &str) -> Result<Option<Pipeline>> {
    if let Ok(id) = key.trim().parse::<PipelineId>() {
        return get(tx, id).await;
    }
    let row: Option<PipelineRow> = on_conn!(tx, c => sqlx::query_as(
        "SELECT id, name, currency, archived, created_at, updated_at, version FROM pipelines
         WHERE lower(name) = lower($1) ORDER BY archived, created_at DESC LIMIT 1",
    )
    .bind(key.trim())
    .fetch_optional(&mut *c)
    .await)?;
    row.map(PipelineRow::into_pipeline).transpose()
}

fn name_taken(e: StoreError) -> StoreError {
    if e.is_unique_violation() {
        StoreError::invalid("name", "another active pipeline has this name")
    } else {
        e
    }
}

pub async fn create(tx: &mut Tx, ctx: &Ctx, new: NewPipeline) -> Result<Pipeline> {
    require_admin(ctx)?;
    let name = check_pipeline_name(&new.name)?;
    let currency = match new.currency {
        Some(c) => c,
        None => settings::default_currency(tx).await?,
    };
    let pipeline = Pipeline {
        id: PipelineId::at(ctx.at),
        name,
        currency,
        archived: false,
        created_at: ctx.at,
        updated_at: ctx.at,
        version: 1,
    };
    exec!(tx, c => sqlx::query(
        "INSERT INTO pipelines (id, name, currency, archived, created_at, updated_at, version)
         VALUES ($1, $2, $3, FALSE, $4, $4, 1)",
    )
    .bind(pipeline.id.to_string())
    .bind(&pipeline.name)
    .bind(pipeline.currency.code())
    .bind(ctx.at_ms())
    .execute(&mut *c)
    .await)
    .map_err(|e| name_taken(e.into()))?;
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::PipelineCreated,
        &pipeline.id.to_string(),
        &json!({ "after": pipeline }),
    )
    .await?;
    Ok(pipeline)
}

fn check_version(entity: &'static str, id: impl ToString, current: i64, given: i64) -> Result<()> {
    if current != given {
        return Err(StoreError::StaleVersion {
            entity,
            id: id.to_string(),
            current,
            given,
        });
    }
    Ok(())
}

pub async fn update(
    tx: &mut Tx,
    ctx: &Ctx,
    id: PipelineId,
    patch: PipelinePatch,
) -> Result<Pipeline> {
    require_admin(ctx)?;
    let before = require(tx, id).await?;
    check_version("pipeline", id, before.version, patch.version)?;
    let Some(name) = patch.name else {
        return Ok(before);
    };
    let name = check_pipeline_name(&name)?;
    if name == before.name {
        return Ok(before);
    }
    exec!(tx, c => sqlx::query(
        "UPDATE pipelines SET name = $1, updated_at = $2, version = version + 1 WHERE id = $3 AND version = $4",
    )
    .bind(&name)
    .bind(ctx.at_ms())
    .bind(id.to_string())
    .bind(patch.version)
    .execute(&mut *c)
    .await)
    .map_err(|e| name_taken(e.into()))?;
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::PipelineUpdated,
        &id.to_string(),
        &json!({ "changes": { "name": { "from": before.name, "to": name } } }),
    )
    .await?;
    require(tx, id).await
}

async fn open_deal_count(tx: &mut Tx, column_is_pipeline: bool, id: &str) -> Result<i64> {
    let (n,): (i64,) = if column_is_pipeline {
        on_conn!(tx, c => sqlx::query_as("SELECT COUNT(*) FROM deals WHERE pipeline_id = $1 AND status = 'open'")
            .bind(id)
            .fetch_one(&mut *c)
            .await)?
    } else {
        on_conn!(tx, c => sqlx::query_as("SELECT COUNT(*) FROM deals WHERE stage_id = $1 AND status = 'open'")
            .bind(id)
            .fetch_one(&mut *c)
            .await)?
    };
    Ok(n)
}

/// Archive a pipeline. Refused while it holds open deals: they would vanish from every board.
pub async fn archive(tx: &mut Tx, ctx: &Ctx, id: PipelineId) -> Result<Pipeline> {
    require_admin(ctx)?;
    let before = require(tx, id).await?;
    if before.archived {
        return Ok(before);
    }
    let open = open_deal_count(tx, true, &id.to_string()).await?;
    if open > 0 {
        return Err(StoreError::conflict(
            None,
            format!(
                "the pipeline still has {open} open deal(s); move, win or lose them before archiving it"
            ),
        ));
    }
    exec!(tx, c => sqlx::query("UPDATE pipelines SET archived = TRUE, updated_at = $1, version = version + 1 WHERE id = $2")
        .bind(ctx.at_ms())
        .bind(id.to_string())
        .execute(&mut *c)
        .await)?;
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::PipelineArchived,
        &id.to_string(),
        &json!({}),
    )
    .await?;
    require(tx, id).await
}

// ---- stages ----

#[derive(sqlx::FromRow)]
struct StageRow {
    id: String,
    pipeline_id: String,
    name: String,
    position: i64,
    probability: i64,
    rot_days: Option<i64>,
    description: Option<String>,
    archived: bool,
    version: i64,
}

#[derive(sqlx::FromRow)]
struct CriterionRow {
    id: String,
    stage_id: String,
    kind: String,
    label: String,
    field: Option<String>,
}

impl CriterionRow {
    fn into_criterion(self) -> Result<(StageId, Criterion)> {
        let kind = match self.kind.as_str() {
            "checklist" => CriterionKind::Checklist,
            "field" => CriterionKind::Field,
            other => return Err(StoreError::Corrupt(format!("criterion kind `{other}`"))),
        };
        Ok((
            parse("stage id", &self.stage_id)?,
            Criterion {
                id: parse("criterion id", &self.id)?,
                kind,
                label: self.label,
                field: self
                    .field
                    .as_deref()
                    .map(|f| parse("deal field", f))
                    .transpose()?,
            },
        ))
    }
}

const STAGE_COLUMNS: &str =
    "id, pipeline_id, name, position, probability, rot_days, description, archived, version";

async fn attach_criteria(
    tx: &mut Tx,
    rows: Vec<StageRow>,
    pipeline: Option<&str>,
) -> Result<Vec<Stage>> {
    let criteria_rows: Vec<CriterionRow> = match pipeline {
        Some(pipeline) => on_conn!(tx, c => sqlx::query_as(
            "SELECT sc.id, sc.stage_id, sc.kind, sc.label, sc.field FROM stage_criteria sc
             JOIN stages s ON s.id = sc.stage_id
             WHERE s.pipeline_id = $1 AND sc.archived = FALSE ORDER BY sc.position, sc.id",
        )
        .bind(pipeline)
        .fetch_all(&mut *c)
        .await)?,
        None => {
            let Some(first) = rows.first() else {
                return Ok(vec![]);
            };
            on_conn!(tx, c => sqlx::query_as(
                "SELECT id, stage_id, kind, label, field FROM stage_criteria
                 WHERE stage_id = $1 AND archived = FALSE ORDER BY position, id",
            )
            .bind(&first.id)
            .fetch_all(&mut *c)
            .await)?
        }
    };
    let mut by_stage: HashMap<StageId, Vec<Criterion>> = HashMap::new();
    for row in criteria_rows {
        let (stage, criterion) = row.into_criterion()?;
        by_stage.entry(stage).or_default().push(criterion);
    }
    rows.into_iter()
        .map(|r| {
            let id: StageId = parse("stage id", &r.id)?;
            Ok(Stage {
                id,
                pipeline_id: parse("pipeline id", &r.pipeline_id)?,
                name: r.name,
                position: r.position,
                probability: r.probability,
                rot_days: r.rot_days,
                description: r.description,
                criteria: by_stage.remove(&id).unwrap_or_default(),
                archived: r.archived,
                version: r.version,
            })
        })
        .collect()
}

/// The stages of a pipeline in order, with their criteria; archived ones only if asked.
pub async fn stages(
    tx: &mut Tx,
    pipeline: PipelineId,
    include_archived: bool,
) -> Result<Vec<Stage>> {
    let pid = pipeline.to_string();
    let rows: Vec<StageRow> = on_conn!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {STAGE_COLUMNS} FROM stages WHERE pipeline_id = $1 AND (archived = FALSE OR $2)
         ORDER BY archived, position, id"
    )))
    .bind(&pid)
    .bind(include_archived)
    .fetch_all(&mut *c)
    .await)?;
    attach_criteria(tx, rows, Some(&pid)).await
}

pub async fn get_stage(tx: &mut Tx, id: StageId) -> Result<Option<Stage>> {
    let row: Option<StageRow> = on_conn!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {STAGE_COLUMNS} FROM stages WHERE id = $1"
    )))
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    let Some(row) = row else { return Ok(None) };
    Ok(attach_criteria(tx, vec![row], None).await?.pop())
}

pub async fn require_stage(tx: &mut Tx, id: StageId) -> Result<Stage> {
    get_stage(tx, id)
        .await?
        .ok_or_else(|| StoreError::not_found("stage", id))
}

/// A stage of `pipeline` by id or by name (case-insensitive).
pub async fn find_stage(tx: &mut Tx, pipeline: PipelineId, key: &str) -> Result<Option<Stage>> {
    let all = stages(tx, pipeline, false).await?;
    if let Ok(id) = key.trim().parse::<StageId>() {
        return Ok(all.into_iter().find(|s| s.id == id));
    }
    Ok(all
        .into_iter()
        .find(|s| s.name.eq_ignore_ascii_case(key.trim())))
}

/// Write the criteria of a stage: keep ids that are given, create the rest, retire the
/// existing ones that are not in the list.
async fn write_criteria(
    tx: &mut Tx,
    stage: StageId,
    rules: &[criteria::CriterionRule],
    existing: &[Criterion],
) -> Result<()> {
    let mut invalid = Invalid::new();
    for (i, rule) in rules.iter().enumerate() {
        if let Some(id) = rule.id {
            match existing.iter().find(|c| c.id == id) {
                None => invalid.push(
                    format!("criteria[{i}].id"),
                    "is not a criterion of this stage",
                ),
                Some(old) if old.kind != rule.kind => invalid.push(
                    format!("criteria[{i}].kind"),
                    "cannot change; add a new criterion instead",
                ),
                Some(_) => {}
            }
        }
    }
    invalid.into_result()?;
    let kept: Vec<CriterionId> = rules.iter().filter_map(|r| r.id).collect();
    for old in existing.iter().filter(|c| !kept.contains(&c.id)) {
        exec!(tx, c => sqlx::query("UPDATE stage_criteria SET archived = TRUE WHERE id = $1")
            .bind(old.id.to_string())
            .execute(&mut *c)
            .await)?;
    }
    for (i, rule) in rules.iter().enumerate() {
        let position = i as i64 + 1;
        let field = rule.field.map(|f| f.as_str());
        match rule.id {
            Some(id) => exec!(tx, c => sqlx::query(
                "UPDATE stage_criteria SET position = $1, label = $2, field = $3 WHERE id = $4",
            )
            .bind(position)
            .bind(&rule.label)
            .bind(field)
            .bind(id.to_string())
            .execute(&mut *c)
            .await)?,
            None => exec!(tx, c => sqlx::query(
                "INSERT INTO stage_criteria (id, stage_id, position, kind, label, field, archived)
                 VALUES ($1, $2, $3, $4, $5, $6, FALSE)",
            )
            .bind(CriterionId::new().to_string())
            .bind(stage.to_string())
            .bind(position)
            .bind(rule.kind.as_str())
            .bind(&rule.label)
            .bind(field)
            .execute(&mut *c)
            .await)?,
        };
    }
    Ok(())
}

/// Number the active stages of a pipeline 1..n in the given order.
async fn renumber(tx: &mut Tx, order: &[StageId]) -> Result<()> {
    // Positions are about to change: forget what this transaction has cached of them.
    tx.cache.positions.clear();
    for (i, id) in order.iter().enumerate() {
        exec!(tx, c => sqlx::query("UPDATE stages SET position = $1 WHERE id = $2")
            .bind(i as i64 + 1)
            .bind(id.to_string())
            .execute(&mut *c)
            .await)?;
    }
    Ok(())
}

pub async fn create_stage(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline_id: PipelineId,
    new: NewStage,
) -> Result<Stage> {
    require_admin(ctx)?;
    let mut invalid = Invalid::new();
    let settings = StageSettings::validate(
        &new.name,
        new.probability,
        new.rot_days,
        new.description.as_deref(),
    )
    .unwrap_or_else(|e| {
        invalid.errors.extend(e.errors);
        StageSettings {
            name: String::new(),
            probability: 0,
            rot_days: None,
            description: None,
        }
    });
    let rules = criteria::validate_all(&new.criteria).unwrap_or_else(|e| {
        invalid.errors.extend(e.errors);
        vec![]
    });
    if new.criteria.iter().any(|c| c.id.is_some()) {
        invalid.push("criteria", "a new stage's criteria cannot carry ids");
    }
    let pipeline = require(tx, pipeline_id).await?;
    if pipeline.archived {
        return Err(StoreError::conflict(None, "the pipeline is archived"));
    }
    let existing = stages(tx, pipeline_id, false).await?;
    if existing
        .iter()
        .any(|s| s.name.eq_ignore_ascii_case(&settings.name))
    {
        invalid.push("name", "another stage of this pipeline has this name");
    }
    let last = existing.len() as i64 + 1;
    let position = new.position.unwrap_or(last);
    if !(1..=last).contains(&position) {
        invalid.push("position", format!("must be between 1 and {last}"));
    }
    invalid.into_result()?;

    let id = StageId::at(ctx.at);
    exec!(tx, c => sqlx::query(
        "INSERT INTO stages (id, pipeline_id, name, position, probability, rot_days, description, archived, created_at, updated_at, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, FALSE, $8, $8, 1)",
    )
    .bind(id.to_string())
    .bind(pipeline_id.to_string())
    .bind(&settings.name)
    .bind(position)
    .bind(settings.probability)
    .bind(settings.rot_days)
    .bind(&settings.description)
    .bind(ctx.at_ms())
    .execute(&mut *c)
    .await)?;
    let mut order: Vec<StageId> = existing.iter().map(|s| s.id).collect();
    order.insert((position - 1) as usize, id);
    renumber(tx, &order).await?;
    if position < last {
        // Stages after it moved: "later stage" changed for past deals, so the funnel changes.
        crate::rollups::rebuild(tx).await?;
    }
    write_criteria(tx, id, &rules, &[]).await?;
    let stage = require_stage(tx, id).await?;
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::StageCreated,
        &id.to_string(),
        &json!({ "after": stage }),
    )
    .await?;
    Ok(stage)
}

pub async fn update_stage(tx: &mut Tx, ctx: &Ctx, id: StageId, patch: StagePatch) -> Result<Stage> {
    require_admin(ctx)?;
    let before = require_stage(tx, id).await?;
    check_version("stage", id, before.version, patch.version)?;
    if before.archived {
        return Err(StoreError::conflict(None, "the stage is archived"));
    }
    let settings = StageSettings::validate(
        patch.name.as_deref().unwrap_or(&before.name),
        patch.probability.unwrap_or(before.probability),
        patch.rot_days.unwrap_or(before.rot_days),
        match &patch.description {
            Some(d) => d.as_deref(),
            None => before.description.as_deref(),
        },
    )?;
    let siblings = stages(tx, before.pipeline_id, false).await?;
    if siblings
        .iter()
        .any(|s| s.id != id && s.name.eq_ignore_ascii_case(&settings.name))
    {
        return Err(StoreError::invalid(
            "name",
            "another stage of this pipeline has this name",
        ));
    }
    if let Some(inputs) = &patch.criteria {
        let rules = criteria::validate_all(inputs)?;
        write_criteria(tx, id, &rules, &before.criteria).await?;
    }
    exec!(tx, c => sqlx::query(
        "UPDATE stages SET name = $1, probability = $2, rot_days = $3, description = $4, updated_at = $5, version = version + 1
         WHERE id = $6 AND version = $7",
    )
    .bind(&settings.name)
    .bind(settings.probability)
    .bind(settings.rot_days)
    .bind(&settings.description)
    .bind(ctx.at_ms())
    .bind(id.to_string())
    .bind(patch.version)
    .execute(&mut *c)
    .await)?;
    let after = require_stage(tx, id).await?;
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::StageUpdated,
        &id.to_string(),
        &json!({ "before": before, "after": after }),
    )
    .await?;
    Ok(after)
}

/// Put the active stages of a pipeline in the given order (every active stage exactly once).
pub async fn reorder_stages(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline_id: PipelineId,
    order: &[StageId],
) -> Result<Vec<Stage>> {
    require_admin(ctx)?;
    require(tx, pipeline_id).await?;
    let current = stages(tx, pipeline_id, false).await?;
    let mut wanted: Vec<StageId> = order.to_vec();
    wanted.sort();
    wanted.dedup();
    let mut have: Vec<StageId> = current.iter().map(|s| s.id).collect();
    have.sort();
    if wanted.len() != order.len() || wanted != have {
        return Err(StoreError::invalid(
            "stage_ids",
            "must list every active stage of the pipeline exactly once",
        ));
    }
    renumber(tx, order).await?;
    crate::rollups::rebuild(tx).await?;
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::StagesReordered,
        &pipeline_id.to_string(),
        &json!({ "stage_ids": order }),
    )
    .await?;
    stages(tx, pipeline_id, false).await
}

/// Archive a stage. Refused while open deals sit in it.
pub async fn archive_stage(tx: &mut Tx, ctx: &Ctx, id: StageId) -> Result<Stage> {
    require_admin(ctx)?;
    let before = require_stage(tx, id).await?;
    if before.archived {
        return Ok(before);
    }
    let open = open_deal_count(tx, false, &id.to_string()).await?;
    if open > 0 {
        return Err(StoreError::conflict(
            None,
            format!(
                "{open} open deal(s) are in this stage; move them to another stage before archiving it"
            ),
        ));
    }
    exec!(tx, c => sqlx::query("UPDATE stages SET archived = TRUE, updated_at = $1, version = version + 1 WHERE id = $2")
        .bind(ctx.at_ms())
        .bind(id.to_string())
        .execute(&mut *c)
        .await)?;
    let remaining: Vec<StageId> = stages(tx, before.pipeline_id, false)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    renumber(tx, &remaining).await?;
    crate::rollups::rebuild(tx).await?;
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::StageArchived,
        &id.to_string(),
        &json!({}),
    )
    .await?;
    require_stage(tx, id).await
}
