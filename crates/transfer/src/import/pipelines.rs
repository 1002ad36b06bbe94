//! Importing pipelines: the process definition a `throughline export pipelines` writes, as
//! nested JSON or one row per stage (CSV, XLSX). Pipelines and stages are found by name;
//! missing ones are created and differing ones updated through the ordinary store
//! operations, so the event history records every change.
//!
//! A rejection names the file's line and column. In JSON, `line` is the pipeline's place in
//! the array (from 1) and the column a path such as `stages[2].probability`.

use std::path::Path;

use serde::Deserialize;
use throughline_core::criteria::{CriterionInput, CriterionKind};
use throughline_core::pipeline::{NewPipeline, NewStage, Pipeline, Stage, StagePatch};
use throughline_core::{Currency, Invalid, StageId};
use throughline_store::{Ctx, StoreError, Tx, pipelines};

use super::read::{self, Table};
use super::{ImportError, ImportReport, Progress, Rejection};

/// A stage as the file gives it, checked.
#[derive(Debug, Clone)]
struct StageSpec {
    line: u64,
    name: String,
    probability: i64,
    rot_days: Option<i64>,
    description: Option<String>,
    criteria: Vec<CriterionInput>,
}

#[derive(Debug, Clone)]
struct PipelineSpec {
    line: u64,
    name: String,
    currency: Currency,
    archived: bool,
    stages: Vec<StageSpec>,
}

/// Where a value sits in the file, for a rejection.
struct Place {
    line: u64,
    /// `None`: CSV/XLSX, the column is the field's own name; `Some(prefix)`: a JSON path.
    prefix: Option<String>,
}

impl Place {
    fn reject(&self, report: &mut ImportReport, field: &str, reason: impl Into<String>) {
        report.rejected.push(Rejection {
            line: self.line,
            column: Some(match &self.prefix {
                Some(prefix) => format!("{prefix}{field}"),
                None => field.to_string(),
            }),
            reason: reason.into(),
        });
    }
}

/// The raw text of a stage's fields, from either format.
#[derive(Debug, Default, Deserialize)]
struct RawStage {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    probability: Option<serde_json::Value>,
    #[serde(default)]
    rot_days: Option<serde_json::Value>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    criteria: Option<serde_json::Value>,
    // Written by the export, decided by the order here.
    #[serde(default)]
    #[allow(dead_code)]
    position: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
struct RawPipeline {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    archived: Option<bool>,
    #[serde(default)]
    stages: Vec<RawStage>,
}

/// A value as the file shows it, for a message.
fn shown(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn whole(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn check_stage(raw: RawStage, place: &Place, report: &mut ImportReport) -> Option<StageSpec> {
    let before = report.rejected.len();
    let name = raw.name.map(|n| n.trim().to_string()).unwrap_or_default();
    if name.is_empty() {
        place.reject(report, "stage", "a stage needs a name");
    }
    let probability = match raw.probability.as_ref().filter(|v| !v.is_null()) {
        None => {
            place.reject(report, "probability", "is required (0 to 100)");
            0
        }
        Some(v) => match whole(v) {
            Some(p) if (0..=100).contains(&p) => p,
            _ => {
                place.reject(
                    report,
                    "probability",
                    format!("`{}` is not a whole percentage from 0 to 100", shown(v)),
                );
                0
            }
        },
    };
    let rot_days = match raw.rot_days.as_ref().filter(|v| !v.is_null()) {
        None => None,
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => None,
        Some(v) => match whole(v) {
            Some(d) if (1..=3650).contains(&d) => Some(d),
            _ => {
                place.reject(
                    report,
                    "rot_days",
                    format!(
                        "`{}` is not a number of days from 1 to 3650 (empty for never)",
                        shown(v)
                    ),
                );
                None
            }
        },
    };
    let criteria = match raw.criteria {
        None | Some(serde_json::Value::Null) => vec![],
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => vec![],
        Some(serde_json::Value::String(s)) => parse_criteria(&s, place, report),
        Some(v) => parse_criteria(&v.to_string(), place, report),
    };
    let description = raw
        .description
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty());
    let stage = StageSpec {
        line: place.line,
        name,
        probability,
        rot_days,
        description,
        criteria,
    };
    (report.rejected.len() == before).then_some(stage)
}

fn parse_criteria(text: &str, place: &Place, report: &mut ImportReport) -> Vec<CriterionInput> {
    let mut items: Vec<CriterionInput> = match serde_json::from_str(text) {
        Ok(items) => items,
        Err(e) => {
            place.reject(
                report,
                "criteria",
                format!(
                    "is not a JSON array of {{\"kind\":\"checklist\",\"label\":…}} or {{\"kind\":\"field\",\"field\":…}} ({e})"
                ),
            );
            return vec![];
        }
    };
    // Criterion ids belong to the database that exported them.
    for item in &mut items {
        item.id = None;
    }
    if let Err(invalid) = throughline_core::criteria::validate_all(&items) {
        let reason = invalid
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        place.reject(report, "criteria", reason);
    }
    items
}

fn check_pipeline(
    raw_name: Option<String>,
    raw_currency: Option<String>,
    place: &Place,
    report: &mut ImportReport,
) -> Option<(String, Currency)> {
    let before = report.rejected.len();
    let name = raw_name.map(|n| n.trim().to_string()).unwrap_or_default();
    if name.is_empty() {
        place.reject(report, "pipeline", "a pipeline needs a name");
    }
    let currency = match raw_currency.as_deref().map(str::trim) {
        None | Some("") => {
            place.reject(report, "currency", "is required (an ISO 4217 code)");
            None
        }
        Some(code) => match code.parse::<Currency>() {
            Ok(c) => Some(c),
            Err(_) => {
                place.reject(
                    report,
                    "currency",
                    format!("`{code}` is not an ISO 4217 currency code"),
                );
                None
            }
        },
    };
    match currency {
        Some(c) if report.rejected.len() == before => Some((name, c)),
        _ => None,
    }
}

/// Stage names repeated within one pipeline are refused: a name is how deals find a stage.
fn refuse_duplicates(spec: &mut PipelineSpec, json: bool, report: &mut ImportReport) {
    let mut seen: Vec<String> = vec![];
    let mut kept = vec![];
    for (i, stage) in std::mem::take(&mut spec.stages).into_iter().enumerate() {
        let key = stage.name.to_lowercase();
        if seen.contains(&key) {
            let place = Place {
                line: stage.line,
                prefix: json.then(|| format!("stages[{i}].")),
            };
            let column = if json { "name" } else { "stage" };
            place.reject(
                report,
                column,
                format!(
                    "`{}` is already a stage of pipeline `{}`",
                    stage.name, spec.name
                ),
            );
        } else {
            seen.push(key);
            kept.push(stage);
        }
    }
    spec.stages = kept;
}

fn from_json(path: &Path, report: &mut ImportReport) -> Result<Vec<PipelineSpec>, ImportError> {
    let text = std::fs::read_to_string(path).map_err(|e| ImportError::file(path, e))?;
    let raw: Vec<RawPipeline> =
        serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
            ImportError::Format(format!(
                "{}: not a pipelines export (a JSON array of pipelines with their stages): {e}",
                path.display()
            ))
        })?;
    report.rows = raw.len() as u64;
    let mut specs = vec![];
    for (i, p) in raw.into_iter().enumerate() {
        let line = i as u64 + 1;
        let place = Place {
            line,
            prefix: Some(String::new()),
        };
        let before = report.rejected.len();
        let head = check_pipeline(p.name, p.currency, &place, report);
        // JSON names the pipeline `name`; the shared checks speak of CSV's `pipeline`.
        for r in &mut report.rejected[before..] {
            if r.column.as_deref() == Some("pipeline") {
                r.column = Some("name".into());
            }
        }
        let stages: Vec<StageSpec> = p
            .stages
            .into_iter()
            .enumerate()
            .filter_map(|(j, s)| {
                let place = Place {
                    line,
                    prefix: Some(format!("stages[{j}].")),
                };
                // JSON names the stage `name`; the shared checks speak of CSV's `stage`.
                let before = report.rejected.len();
                let stage = check_stage(s, &place, report);
                for r in &mut report.rejected[before..] {
                    if let Some(c) = r.column.as_mut() {
                        *c = c.replace(".stage", ".name");
                    }
                }
                stage
            })
            .collect();
        if let Some((name, currency)) = head {
            let mut spec = PipelineSpec {
                line,
                name,
                currency,
                archived: p.archived.unwrap_or(false),
                stages,
            };
            refuse_duplicates(&mut spec, true, report);
            specs.push(spec);
        }
    }
    Ok(specs)
}

fn from_table(table: Table, report: &mut ImportReport) -> Result<Vec<PipelineSpec>, ImportError> {
    let headers = table.headers.clone();
    let col = |name: &str| Table::column(&headers, name);
    if col("pipeline").is_none() {
        return Err(ImportError::Mapping(format!(
            "the file is not a pipelines export: it has no `pipeline` column (its columns are: {})",
            headers.join(", ")
        )));
    }
    let cols: Vec<Option<usize>> = super::super::export::PIPELINE_COLUMNS
        .iter()
        .map(|c| col(c))
        .collect();
    let mut specs: Vec<PipelineSpec> = vec![];
    for row in table.rows() {
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                report.rejected.push(Rejection {
                    line: 0,
                    column: None,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        report.rows += 1;
        let cell = |i: usize| -> Option<String> {
            cols[i]
                .and_then(|c| row.cells.get(c))
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
        };
        let place = Place {
            line: row.line,
            prefix: None,
        };
        let Some((name, currency)) = check_pipeline(cell(0), cell(1), &place, report) else {
            continue;
        };
        let archived = match cell(2).map(|t| t.to_lowercase()) {
            None => false,
            Some(t) if matches!(t.as_str(), "true" | "yes" | "1") => true,
            Some(t) if matches!(t.as_str(), "false" | "no" | "0") => false,
            Some(t) => {
                place.reject(
                    report,
                    "pipeline_archived",
                    format!("`{t}` is not true or false"),
                );
                continue;
            }
        };
        let same = |s: &PipelineSpec| s.name.eq_ignore_ascii_case(&name) && s.archived == archived;
        let spec = match specs.iter().position(same) {
            Some(i) => {
                if specs[i].currency != currency {
                    place.reject(
                        report,
                        "currency",
                        format!(
                            "pipeline `{name}` is in {} on line {}",
                            specs[i].currency.code(),
                            specs[i].line
                        ),
                    );
                    continue;
                }
                &mut specs[i]
            }
            None => {
                specs.push(PipelineSpec {
                    line: row.line,
                    name: name.clone(),
                    currency,
                    archived,
                    stages: vec![],
                });
                let last = specs.len() - 1;
                &mut specs[last]
            }
        };
        let stage = cell(3);
        if stage.is_none() && cell(5).is_none() {
            // A pipeline without stages.
            continue;
        }
        let raw = RawStage {
            name: stage,
            probability: cell(5).map(serde_json::Value::String),
            rot_days: cell(6).map(serde_json::Value::String),
            description: cell(7),
            criteria: cell(8).map(serde_json::Value::String),
            position: None,
        };
        if let Some(stage) = check_stage(raw, &place, report) {
            spec.stages.push(stage);
        }
    }
    for spec in &mut specs {
        refuse_duplicates(spec, false, report);
    }
    Ok(specs)
}

/// A store refusal of one pipeline or stage becomes its rejection; a failing database ends
/// the import.
fn refusal(line: u64, err: StoreError, report: &mut ImportReport) -> Result<(), ImportError> {
    let (column, reason) = match err {
        StoreError::Invalid(Invalid { errors }) => match errors.into_iter().next() {
            Some(e) => (Some(e.field), e.message),
            None => (None, "invalid".into()),
        },
        StoreError::Forbidden { message, .. } | StoreError::Conflict { message, .. } => {
            (None, message)
        }
        other => return Err(other.into()),
    };
    report.rejected.push(Rejection {
        line,
        column,
        reason,
    });
    Ok(())
}

/// Whether an existing stage already has what the file gives it.
fn unchanged(stage: &Stage, spec: &StageSpec) -> bool {
    stage.name == spec.name
        && stage.probability == spec.probability
        && stage.rot_days == spec.rot_days
        && stage.description == spec.description
        && criteria_of(stage) == spec.criteria.iter().map(key).collect::<Vec<_>>()
}

type CriterionKey = (CriterionKind, Option<String>, String);

fn key(input: &CriterionInput) -> CriterionKey {
    let label = match input.validate() {
        Ok(rule) => rule.label,
        Err(_) => input.label.clone().unwrap_or_default(),
    };
    (input.kind, input.field.clone(), label)
}

fn criteria_of(stage: &Stage) -> Vec<CriterionKey> {
    stage
        .criteria
        .iter()
        .map(|c| {
            (
                c.kind,
                c.field.map(|f| f.as_str().to_string()),
                c.label.clone(),
            )
        })
        .collect()
}

/// The file's criteria for an existing stage, keeping the id (and the ticks made against it)
/// of each criterion that stays the same kind and field.
fn criteria_patch(stage: &Stage, spec: &StageSpec) -> Vec<CriterionInput> {
    let mut taken: Vec<usize> = vec![];
    spec.criteria
        .iter()
        .map(|input| {
            let (kind, field, label) = key(input);
            let found = stage.criteria.iter().enumerate().position(|(i, c)| {
                !taken.contains(&i)
                    && c.kind == kind
                    && match kind {
                        CriterionKind::Field => c.field.map(|f| f.as_str().to_string()) == field,
                        CriterionKind::Checklist => c.label == label,
                    }
            });
            let mut out = input.clone();
            if let Some(i) = found {
                taken.push(i);
                out.id = Some(stage.criteria[i].id);
            }
            out
        })
        .collect()
}

async fn write_pipeline(
    tx: &mut Tx,
    ctx: &Ctx,
    spec: &PipelineSpec,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let existing: Option<Pipeline> = pipelines::list(tx, true)
        .await?
        .into_iter()
        .find(|p| p.name.eq_ignore_ascii_case(&spec.name) && p.archived == spec.archived);
    let mut created = false;
    let pipeline = match existing {
        Some(p) if p.archived => {
            // An archived pipeline takes no changes: it stays as it was archived.
            report.skipped += spec.stages.len().max(1) as u64;
            return Ok(());
        }
        Some(p) => {
            if p.currency != spec.currency {
                report.rejected.push(Rejection {
                    line: spec.line,
                    column: Some("currency".into()),
                    reason: format!(
                        "pipeline `{}` exists in {}; a pipeline's currency cannot change",
                        p.name,
                        p.currency.code()
                    ),
                });
                return Ok(());
            }
            p
        }
        None => {
            let new = NewPipeline {
                name: spec.name.clone(),
                currency: Some(spec.currency),
            };
            match pipelines::create(tx, ctx, new).await {
                Ok(p) => {
                    report.pipelines_created.push(p.name.clone());
                    created = true;
                    p
                }
                Err(e) => return refusal(spec.line, e, report),
            }
        }
    };
    // A pipeline without stages is one row of its own.
    if spec.stages.is_empty() {
        if created {
            report.created += 1;
        } else {
            report.skipped += 1;
        }
    }

    let current = pipelines::stages(tx, pipeline.id, false).await?;
    let mut order: Vec<StageId> = vec![];
    for stage in &spec.stages {
        let found = current
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(&stage.name));
        let written = match found {
            Some(s) if unchanged(s, stage) => {
                report.skipped += 1;
                Ok(s.id)
            }
            Some(s) => {
                let patch = StagePatch {
                    version: s.version,
                    name: Some(stage.name.clone()),
                    probability: Some(stage.probability),
                    rot_days: Some(stage.rot_days),
                    description: Some(stage.description.clone()),
                    criteria: Some(criteria_patch(s, stage)),
                };
                pipelines::update_stage(tx, ctx, s.id, patch)
                    .await
                    .map(|s| {
                        report.updated += 1;
                        s.id
                    })
            }
            None => {
                let new = NewStage {
                    name: stage.name.clone(),
                    position: None,
                    probability: stage.probability,
                    rot_days: stage.rot_days,
                    description: stage.description.clone(),
                    criteria: stage.criteria.clone(),
                };
                pipelines::create_stage(tx, ctx, pipeline.id, new)
                    .await
                    .map(|s| {
                        report.created += 1;
                        report
                            .stages_created
                            .push(format!("{} / {}", pipeline.name, s.name));
                        s.id
                    })
            }
        };
        match written {
            Ok(id) => order.push(id),
            Err(e) => refusal(stage.line, e, report)?,
        }
    }
    // The file's stages in its order; stages it does not name keep their place after them.
    let now: Vec<StageId> = pipelines::stages(tx, pipeline.id, false)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    let mut wanted = order.clone();
    wanted.extend(now.iter().filter(|id| !order.contains(id)));
    if wanted != now {
        pipelines::reorder_stages(tx, ctx, pipeline.id, &wanted).await?;
    }
    if spec.archived
        && let Err(e) = pipelines::archive(tx, ctx, pipeline.id).await
    {
        refusal(spec.line, e, report)?;
    }
    Ok(())
}

/// JSON by its content, not its name: an upload through the API is stored without one. A
/// pipelines table starts with its `pipeline` header, never with `[`.
fn is_json(path: &Path) -> Result<bool, ImportError> {
    use std::io::Read;
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| ImportError::file(path, e))?;
    let text = String::from_utf8_lossy(&head[..n]);
    Ok(text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('['))
}

/// Read the file's pipelines, check them all, then write them in `tx`. Archived pipelines go
/// first, so that one sharing its name with an active pipeline is archived before that one is
/// created (only one active pipeline may carry a name).
pub(crate) async fn import(
    tx: &mut Tx,
    ctx: Ctx,
    path: &Path,
    report: &mut ImportReport,
    progress: &dyn Progress,
) -> Result<(), ImportError> {
    let is_json = is_json(path)?;
    let specs = if is_json {
        from_json(path, report)?
    } else {
        from_table(read::Source::open(path)?.table()?, report)?
    };
    progress.total(report.rows);
    // Lists show pipelines in the order they were created: a millisecond apart, they keep
    // the file's.
    let mut specs: Vec<(i64, PipelineSpec)> = (0..).zip(specs).collect();
    specs.sort_by_key(|(_, s)| !s.archived);
    for (i, spec) in &specs {
        let at = ctx
            .at
            .checked_add(jiff::SignedDuration::from_millis(*i))
            .unwrap_or(ctx.at);
        write_pipeline(tx, &Ctx::new(ctx.actor, at), spec, report).await?;
    }
    progress.advance(report.rows);
    Ok(())
}
