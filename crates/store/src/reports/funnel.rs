//! The funnel over a period: first entries and conversion per stage, wins and losses, and the
//! closing rate of the items that entered, in total and cut by owner, team, source, campaign
//! or month.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use throughline_core::report::{FunnelGroup, FunnelReport, Outcomes, funnel_stages};
use throughline_core::rollup::number_date;
use throughline_core::{PipelineId, StageId};

use super::queries::{
    ClosedRow, Cut, DayRange, InflowRow, ReportFilter, closed, closed_by_origin,
    funnel as funnel_rows, inflow,
};
use crate::db::Tx;
use crate::error::Result;
use crate::events::Ctx;
use crate::{pipelines, users};

/// How a report is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Grouping {
    Owner,
    Team,
    Source,
    Campaign,
    Month,
}

impl std::str::FromStr for Grouping {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "owner" => Ok(Grouping::Owner),
            "team" => Ok(Grouping::Team),
            "source" => Ok(Grouping::Source),
            "campaign" => Ok(Grouping::Campaign),
            "month" => Ok(Grouping::Month),
            other => Err(format!(
                "`{other}` is not a grouping: use owner, team, source, campaign or month"
            )),
        }
    }
}

impl Grouping {
    fn cut(self) -> Cut {
        match self {
            Grouping::Owner | Grouping::Team => Cut::Owner,
            Grouping::Source => Cut::Source,
            Grouping::Campaign => Cut::Campaign,
            Grouping::Month => Cut::Day,
        }
    }
}

/// Folds raw cut keys (owner ids, days, …) into the requested groups and their labels.
pub(crate) struct Grouper {
    grouping: Grouping,
    user_names: HashMap<String, String>,
    user_team: HashMap<String, String>,
    team_names: HashMap<String, String>,
}

impl Grouper {
    pub(crate) async fn new(tx: &mut Tx, grouping: Grouping) -> Result<Grouper> {
        let all = users::list(tx).await?;
        let teams = users::list_teams(tx).await?;
        Ok(Grouper {
            grouping,
            user_names: all
                .iter()
                .map(|u| (u.id.to_string(), u.name.clone()))
                .collect(),
            user_team: all
                .iter()
                .filter_map(|u| u.team_id.map(|t| (u.id.to_string(), t.to_string())))
                .collect(),
            team_names: teams
                .iter()
                .map(|t| (t.id.to_string(), t.name.clone()))
                .collect(),
        })
    }

    /// (group key, label) of a raw cut key.
    pub(crate) fn group(&self, raw: &str) -> (String, String) {
        match self.grouping {
            Grouping::Owner => (
                raw.to_string(),
                if raw.is_empty() {
                    "Unassigned".into()
                } else {
                    self.user_names
                        .get(raw)
                        .cloned()
                        .unwrap_or_else(|| raw.to_string())
                },
            ),
            Grouping::Team => match self.user_team.get(raw) {
                Some(team) => (
                    team.clone(),
                    self.team_names
                        .get(team)
                        .cloned()
                        .unwrap_or_else(|| team.clone()),
                ),
                None => (String::new(), "No team".into()),
            },
            Grouping::Source | Grouping::Campaign => (
                raw.to_string(),
                if raw.is_empty() {
                    "(none)".into()
                } else {
                    raw.to_string()
                },
            ),
            Grouping::Month => {
                let month = raw
                    .parse::<i64>()
                    .map(|d| number_date(d).strftime("%Y-%m").to_string())
                    .unwrap_or_default();
                (month.clone(), month)
            }
        }
    }
}

fn outcomes(closed: &[&ClosedRow], inflow: &[&InflowRow]) -> Outcomes {
    let (won, lost, won_value) = closed.iter().fold((0, 0, 0), |a, c| {
        (a.0 + c.won, a.1 + c.lost, a.2 + c.won_value)
    });
    let (entered, entered_won) = inflow
        .iter()
        .fold((0, 0), |a, i| (a.0 + i.leads + i.deals, a.1 + i.won));
    Outcomes::new(won, lost, won_value, entered, entered_won)
}

async fn closes(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline: PipelineId,
    range: DayRange,
    filter: &ReportFilter,
    cut: Cut,
) -> Result<Vec<ClosedRow>> {
    if filter.source.is_some()
        || filter.campaign.is_some()
        || matches!(cut, Cut::Source | Cut::Campaign)
    {
        closed_by_origin(tx, ctx, pipeline, range, filter, cut).await
    } else {
        closed(tx, ctx, pipeline, range, filter, cut).await
    }
}

pub async fn funnel(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline_id: PipelineId,
    from: Date,
    to: Date,
    filter: &ReportFilter,
    grouping: Option<Grouping>,
) -> Result<FunnelReport> {
    let pipeline = pipelines::require(tx, pipeline_id).await?;
    let stages = pipelines::stages(tx, pipeline_id, false).await?;
    let range = DayRange::dates(from, to);

    let sums: Vec<(StageId, i64, i64)> =
        funnel_rows(tx, ctx, pipeline_id, range, filter, Cut::None)
            .await?
            .into_iter()
            .map(|r| (r.stage_id, r.entries, r.progressed))
            .collect();
    let closed_total = closes(tx, ctx, pipeline_id, range, filter, Cut::None).await?;
    let inflow_total = inflow(tx, ctx, Some(pipeline_id), range, filter, Cut::None).await?;
    let total = FunnelGroup {
        key: String::new(),
        label: "All".into(),
        stages: funnel_stages(&stages, &sums),
        outcomes: outcomes(
            &closed_total.iter().collect::<Vec<_>>(),
            &inflow_total.iter().collect::<Vec<_>>(),
        ),
    };

    let mut groups = vec![];
    if let Some(grouping) = grouping {
        let cut = grouping.cut();
        let grouper = Grouper::new(tx, grouping).await?;
        let funnel_cut = funnel_rows(tx, ctx, pipeline_id, range, filter, cut).await?;
        let closed_cut = closes(tx, ctx, pipeline_id, range, filter, cut).await?;
        let inflow_cut = inflow(tx, ctx, Some(pipeline_id), range, filter, cut).await?;
        // BTreeMap: groups come out in a stable order (by key).
        type Parts<'a> = (
            String,
            Vec<(StageId, i64, i64)>,
            Vec<&'a ClosedRow>,
            Vec<&'a InflowRow>,
        );
        let mut by_group: BTreeMap<String, Parts> = BTreeMap::new();
        for r in &funnel_cut {
            let (key, label) = grouper.group(&r.cut);
            by_group
                .entry(key)
                .or_insert_with(|| (label, vec![], vec![], vec![]))
                .1
                .push((r.stage_id, r.entries, r.progressed));
        }
        for r in &closed_cut {
            let (key, label) = grouper.group(&r.cut);
            by_group
                .entry(key)
                .or_insert_with(|| (label, vec![], vec![], vec![]))
                .2
                .push(r);
        }
        for r in &inflow_cut {
            let (key, label) = grouper.group(&r.cut);
            by_group
                .entry(key)
                .or_insert_with(|| (label, vec![], vec![], vec![]))
                .3
                .push(r);
        }
        groups = by_group
            .into_iter()
            .map(|(key, (label, sums, closed, inflow))| FunnelGroup {
                key,
                label,
                stages: funnel_stages(&stages, &sums),
                outcomes: outcomes(&closed, &inflow),
            })
            .collect();
    }
    Ok(FunnelReport {
        pipeline_id,
        currency: pipeline.currency,
        from,
        to,
        total,
        groups,
    })
}
