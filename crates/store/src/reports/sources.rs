//! Which marketing efforts feed the pipeline: per lead source and campaign, the items that
//! entered, how many were qualified, how many closed as won, their value and cycle.

use jiff::civil::Date;
use serde::Serialize;
use throughline_core::PipelineId;
use throughline_core::report::{InflowCounts, SourceRow};

use super::queries::{DayRange, ReportFilter, inflow_by_origin};
use crate::db::Tx;
use crate::error::Result;
use crate::events::Ctx;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourcesReport {
    /// `None`: every pipeline.
    pub pipeline_id: Option<PipelineId>,
    pub from: Date,
    pub to: Date,
    /// One row per source (campaign empty), best closing value first.
    pub sources: Vec<SourceRow>,
    /// One row per source and campaign.
    pub campaigns: Vec<SourceRow>,
}

fn counts(rows: &[&super::queries::InflowRow]) -> InflowCounts {
    rows.iter().fold(InflowCounts::default(), |mut c, r| {
        c.leads += r.leads;
        c.deals += r.deals;
        c.qualified += r.qualified;
        c.won += r.won;
        c.won_value += r.won_value;
        c.won_cycle_ms += r.won_cycle_ms;
        c
    })
}

pub async fn sources(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline: Option<PipelineId>,
    from: Date,
    to: Date,
    filter: &ReportFilter,
) -> Result<SourcesReport> {
    let rows = inflow_by_origin(tx, ctx, pipeline, DayRange::dates(from, to), filter).await?;
    let mut campaigns: Vec<SourceRow> = rows
        .iter()
        .map(|(s, c, r)| SourceRow::compute(s.clone(), c.clone(), counts(&[r])))
        .collect();
    let mut names: Vec<&String> = rows.iter().map(|(s, _, _)| s).collect();
    names.dedup();
    let mut sources: Vec<SourceRow> = names
        .into_iter()
        .map(|name| {
            let of: Vec<&super::queries::InflowRow> = rows
                .iter()
                .filter(|(s, _, _)| s == name)
                .map(|(_, _, r)| r)
                .collect();
            SourceRow::compute(name.clone(), String::new(), counts(&of))
        })
        .collect();
    let by_value = |a: &SourceRow, b: &SourceRow| {
        b.won_value
            .cmp(&a.won_value)
            .then(a.source.cmp(&b.source))
            .then(a.campaign.cmp(&b.campaign))
    };
    sources.sort_by(by_value);
    campaigns.sort_by(by_value);
    Ok(SourcesReport {
        pipeline_id: pipeline,
        from,
        to,
        sources,
        campaigns,
    })
}
