use anyhow::{Result, anyhow};
use serde::Serialize;
use throughline_core::criteria::{CriterionInput, DealField};
use throughline_core::pipeline::{NewPipeline, NewStage, Pipeline, PipelinePatch, Stage};
use throughline_store::pipelines;

use crate::cli::PipelineCommand;
use crate::output::{Rows, print};
use crate::session::{self, Session};

#[derive(Serialize)]
struct PipelineView {
    #[serde(flatten)]
    pipeline: Pipeline,
    stages: Vec<Stage>,
}

fn criteria_text(stage: &Stage) -> String {
    stage
        .criteria
        .iter()
        .map(|c| c.label.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

pub async fn run(cmd: PipelineCommand) -> Result<()> {
    match cmd {
        PipelineCommand::List {
            db,
            archived,
            format,
        } => {
            let s = Session::open(&db).await?;
            let mut tx = s.store.read().await?;
            let mut views = vec![];
            let mut rows = Rows::new(&[
                ("pipeline", false),
                ("currency", false),
                ("stages", false),
                ("id", false),
            ]);
            for pipeline in pipelines::list(&mut tx, archived).await? {
                let stages = pipelines::stages(&mut tx, pipeline.id, false).await?;
                let names = stages
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" → ");
                let name = if pipeline.archived {
                    format!("{} (archived)", pipeline.name)
                } else {
                    pipeline.name.clone()
                };
                rows.push(vec![
                    name,
                    pipeline.currency.to_string(),
                    names,
                    pipeline.id.to_string(),
                ]);
                views.push(PipelineView { pipeline, stages });
            }
            print(format, &rows, &views)?;
        }
        PipelineCommand::Show {
            db,
            pipeline,
            format,
        } => {
            let s = Session::open(&db).await?;
            let mut tx = s.store.read().await?;
            let pipeline = session::pipeline(&mut tx, &pipeline).await?;
            let stages = pipelines::stages(&mut tx, pipeline.id, false).await?;
            let mut rows = Rows::new(&[
                ("#", true),
                ("stage", false),
                ("probability", true),
                ("rot days", true),
                ("entry criteria", false),
                ("id", false),
            ]);
            for st in &stages {
                rows.push(vec![
                    st.position.to_string(),
                    st.name.clone(),
                    format!("{}%", st.probability),
                    st.rot_days
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "-".into()),
                    criteria_text(st),
                    st.id.to_string(),
                ]);
            }
            print(format, &rows, &PipelineView { pipeline, stages })?;
        }
        PipelineCommand::Create { db, name, currency } => {
            let currency = currency
                .map(|c| c.parse())
                .transpose()
                .map_err(|e: throughline_core::money::UnknownCurrency| anyhow!(e))?;
            let s = Session::open(&db).await?;
            let mut tx = s.store.write().await?;
            let p = pipelines::create(&mut tx, &s.ctx(), NewPipeline { name, currency }).await?;
            tx.commit().await?;
            println!("created pipeline {} ({}) {}", p.name, p.currency, p.id);
        }
        PipelineCommand::Rename {
            db,
            pipeline,
            new_name,
        } => {
            let s = Session::open(&db).await?;
            let mut tx = s.store.write().await?;
            let p = session::pipeline(&mut tx, &pipeline).await?;
            let p = pipelines::update(
                &mut tx,
                &s.ctx(),
                p.id,
                PipelinePatch {
                    version: p.version,
                    name: Some(new_name),
                },
            )
            .await?;
            tx.commit().await?;
            println!("renamed to {}", p.name);
        }
        PipelineCommand::Archive { db, pipeline } => {
            let s = Session::open(&db).await?;
            let mut tx = s.store.write().await?;
            let p = session::pipeline(&mut tx, &pipeline).await?;
            pipelines::archive(&mut tx, &s.ctx(), p.id).await?;
            tx.commit().await?;
            println!("archived pipeline {}", p.name);
        }
        PipelineCommand::AddStage(a) => {
            let mut criteria: Vec<CriterionInput> = a
                .checklist
                .iter()
                .map(|l| CriterionInput::checklist(l))
                .collect();
            for field in &a.require {
                let field: DealField = field
                    .parse()
                    .map_err(|e: String| anyhow!("--require: {e}"))?;
                criteria.push(CriterionInput::field(field));
            }
            let s = Session::open(&a.db).await?;
            let mut tx = s.store.write().await?;
            let p = session::pipeline(&mut tx, &a.pipeline).await?;
            let stage = pipelines::create_stage(
                &mut tx,
                &s.ctx(),
                p.id,
                NewStage {
                    name: a.name,
                    position: a.position,
                    probability: a.probability,
                    rot_days: a.rot_days,
                    description: a.description,
                    criteria,
                },
            )
            .await?;
            tx.commit().await?;
            println!(
                "added stage {} at position {} of {} ({})",
                stage.name, stage.position, p.name, stage.id
            );
        }
        PipelineCommand::ArchiveStage {
            db,
            pipeline,
            stage,
        } => {
            let s = Session::open(&db).await?;
            let mut tx = s.store.write().await?;
            let p = session::pipeline(&mut tx, &pipeline).await?;
            let st = session::stage(&mut tx, &p, &stage).await?;
            pipelines::archive_stage(&mut tx, &s.ctx(), st.id).await?;
            tx.commit().await?;
            println!("archived stage {}", st.name);
        }
    }
    Ok(())
}
