//! The first pass over a file: how many rows, and which pipelines and stages they name, in
//! the order the stages should take when the import creates them.

use std::collections::HashMap;

use super::cells::Columns;
use super::mapping::Mapping;
use super::{ImportError, Kind, read};

#[derive(Debug, Default)]
pub(crate) struct PipelinePlan {
    pub name: String,
    /// Stage names in the order the file implies.
    pub stages: Vec<String>,
    /// Win probability per stage (lower-cased name) as the file gives it: (sum, count).
    pub probabilities: HashMap<String, (f64, u32)>,
    pub currency: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub rows: u64,
    pub pipelines: Vec<PipelinePlan>,
}

/// The pipeline a row belongs to when the file does not say.
pub(crate) fn default_pipeline(mapping: &Mapping) -> String {
    if let Some(p) = &mapping.pipeline {
        return p.clone();
    }
    match mapping.format.as_deref() {
        Some("pipedrive") => "Pipedrive".into(),
        Some("hubspot") => "HubSpot".into(),
        Some("salesforce") => "Salesforce".into(),
        _ => "Imported".into(),
    }
}

impl Plan {
    fn pipeline(&mut self, name: &str) -> &mut PipelinePlan {
        let i = match self
            .pipelines
            .iter()
            .position(|p| p.name.eq_ignore_ascii_case(name))
        {
            Some(i) => i,
            None => {
                self.pipelines.push(PipelinePlan {
                    name: name.to_string(),
                    ..PipelinePlan::default()
                });
                self.pipelines.len() - 1
            }
        };
        &mut self.pipelines[i]
    }
}

fn add_stage(p: &mut PipelinePlan, stage: &str) {
    if !p.stages.iter().any(|s| s.eq_ignore_ascii_case(stage)) {
        p.stages.push(stage.to_string());
    }
}

pub(crate) fn survey(
    source: &read::Source,
    kind: Kind,
    mapping: &Mapping,
) -> Result<Plan, ImportError> {
    let table = source.table()?;
    let cols = Columns::new(mapping, &table.headers);
    let mut plan = Plan::default();
    let fallback = default_pipeline(mapping);
    for row in table.rows() {
        let row = match row {
            Ok(row) => row,
            // The second pass reports unreadable lines where they are.
            Err(_) => {
                plan.rows += 1;
                continue;
            }
        };
        plan.rows += 1;
        if kind != Kind::Deals {
            continue;
        }
        let pipeline = cols.get(&row, "pipeline").unwrap_or(&fallback).to_string();
        let currency = cols.get(&row, "currency").map(str::to_string);
        let p = plan.pipeline(&pipeline);
        if p.currency.is_none() {
            p.currency = currency;
        }
        if let Some(stage) = cols.get(&row, "stage")
            && mapping.outcome_of(stage).is_none()
        {
            add_stage(p, stage);
            if let Some(prob) = cols
                .probability
                .and_then(|i| cols.at(&row, i))
                .and_then(|t| t.trim_end_matches('%').trim().parse::<f64>().ok())
            {
                let e = p.probabilities.entry(stage.to_lowercase()).or_default();
                e.0 += prob;
                e.1 += 1;
            }
        }
        for (stage, sd_pipeline, i) in &cols.stage_dates {
            let here = sd_pipeline
                .as_deref()
                .is_none_or(|sp| sp.eq_ignore_ascii_case(&pipeline));
            if here && cols.at(&row, *i).is_some() && mapping.outcome_of(stage).is_none() {
                add_stage(p, stage);
            }
        }
        if let Some(history) = cols.get(&row, "stage_history") {
            for entry in super::deals::parse_history(history).unwrap_or_default() {
                add_stage(p, &entry.0);
            }
        }
    }
    // The order: the mapping's stages, then those of the stage-date columns (HubSpot's are
    // in pipeline order), then the rest as the rows first named them.
    for p in &mut plan.pipelines {
        let mut preferred: Vec<String> = mapping.stages.clone();
        for (stage, sd_pipeline, _) in &cols.stage_dates {
            let here = sd_pipeline
                .as_deref()
                .is_none_or(|sp| sp.eq_ignore_ascii_case(&p.name));
            if here && mapping.outcome_of(stage).is_none() {
                preferred.push(stage.clone());
            }
        }
        let mut ordered: Vec<String> = vec![];
        for s in preferred.iter().chain(p.stages.iter()) {
            if !ordered.iter().any(|o| o.eq_ignore_ascii_case(s)) {
                ordered.push(s.clone());
            }
        }
        p.stages = ordered;
    }
    // Salesforce-like files order their stages by win probability.
    for p in &mut plan.pipelines {
        if !p.probabilities.is_empty() && mapping.stages.is_empty() {
            let prob = |s: &String| {
                p.probabilities
                    .get(&s.to_lowercase())
                    .map(|(sum, n)| sum / f64::from(*n))
                    .unwrap_or(0.0)
            };
            let mut stages = p.stages.clone();
            stages.sort_by(|a, b| prob(a).total_cmp(&prob(b)));
            p.stages = stages;
        }
    }
    plan.pipelines
        .retain(|p| !p.stages.is_empty() || kind != Kind::Deals);
    Ok(plan)
}
