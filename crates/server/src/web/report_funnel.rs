//! The funnel over a period: how many deals entered each stage and how many of them moved on,
//! the outcomes of the period, and the same cut by owner, team, source, campaign or month.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use throughline_core::report::{FunnelGroup, FunnelStage};
use throughline_store::reports;

use super::Frame;
use super::charts::{self, Chart, FunnelBar, group};
use super::error::PageError;
use super::format::money;
use super::report_frame::{Page, ReportView, Stat, Stats, pct, resolve};
use super::session::PageUser;
use crate::AppState;

pub struct StageRow {
    pub id: String,
    pub name: String,
    pub probability: i64,
    pub entered: String,
    pub progressed: String,
    pub conversion: String,
}

pub struct GroupRow {
    pub label: String,
    pub stages: Vec<String>,
    pub entered: String,
    pub won: String,
    pub lost: String,
    pub win_rate: String,
    pub won_value: String,
    pub closing_rate: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "report_funnel.html")]
pub struct FunnelPage {
    pub frame: Frame,
    pub r: ReportView,
    pub empty: bool,
    pub chart: Chart,
    pub stages: Vec<StageRow>,
    pub outcomes: Stats,
    pub grouping: String,
    pub stage_names: Vec<String>,
    pub groups: Vec<GroupRow>,
    pub longer: String,
}

fn conversion_text(i: usize, last: usize, s: &FunnelStage) -> Option<String> {
    let c = s.conversion?;
    Some(if i == last {
        format!("↓ {} won", pct(Some(c)))
    } else {
        format!("↓ {} moved on", pct(Some(c)))
    })
}

fn group_row(g: &FunnelGroup, currency: throughline_core::Currency) -> GroupRow {
    GroupRow {
        label: g.label.clone(),
        stages: g.stages.iter().map(|s| group(s.entered)).collect(),
        entered: group(g.outcomes.entered),
        won: group(g.outcomes.won),
        lost: group(g.outcomes.lost),
        win_rate: pct(g.outcomes.win_rate),
        won_value: money(g.outcomes.won_value, currency),
        closing_rate: pct(g.outcomes.closing_rate),
    }
}

pub async fn page(
    State(state): State<AppState>,
    user: PageUser,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    let mut tx = state.store.read().await?;
    let Some(res) = resolve(&mut tx, &user, Page::Funnel, raw.as_deref()).await? else {
        return Ok(Redirect::to("/board").into_response());
    };
    let period = res.period.expect("the funnel covers a period");
    let report = reports::funnel(
        &mut tx,
        &ctx,
        res.pipeline.id,
        period.from,
        period.to,
        &res.filter,
        res.grouping,
    )
    .await?;
    let frame = Frame::new(
        &mut tx,
        &user,
        format!("{} — Funnel", res.pipeline.name),
        "/reports/snapshot",
        Some(res.pipeline.id),
    )
    .await?;
    drop(tx);

    let r = res.view;
    let scope = r.scope();
    let cur = res.currency;
    let total = &report.total;
    let last = total.stages.len().saturating_sub(1);
    let bars: Vec<FunnelBar> = total
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| FunnelBar {
            name: s.name.clone(),
            count: s.entered,
            conversion: conversion_text(i, last, s),
        })
        .collect();
    let widest = total.stages.iter().max_by_key(|s| s.entered);
    let desc = match widest {
        Some(w) => format!(
            "{} stages. Most deals entered {} ({}). {}",
            total.stages.len(),
            w.name,
            w.entered,
            total
                .stages
                .iter()
                .map(|s| format!(
                    "{}: {} entered, {} moved on",
                    s.name,
                    s.entered,
                    pct(s.conversion)
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        None => "No stages.".into(),
    };
    let chart = charts::funnel(
        "funnel-chart",
        format!("Deals entering each stage, {scope}"),
        desc,
        &bars,
        660.0,
    );
    let o = &total.outcomes;
    let won_link = r.closed_link("won");
    let lost_link = r.closed_link("lost");
    let every = "the deals of this pipeline closed this way in the period";
    let outcomes = Stats {
        items: vec![
            Stat::new("Won", group(o.won), format!("Deals won, {scope}")).link(won_link, every),
            Stat::new("Lost", group(o.lost), format!("Deals lost, {scope}")).link(lost_link, every),
            Stat::new(
                "Win rate",
                pct(o.win_rate),
                format!("Won ÷ (won + lost), {scope}"),
            ),
            Stat::money("Won value", o.won_value, cur, format!("Won value, {scope}")),
            Stat::new(
                "Entered the funnel",
                group(o.entered),
                format!("New leads and deals without a lead, {scope}"),
            ),
            Stat::new(
                "Closing rate",
                pct(o.closing_rate),
                format!("{} of them won so far, {scope}", group(o.entered_won)),
            ),
        ],
    };
    let stages = total
        .stages
        .iter()
        .map(|s| StageRow {
            id: s.stage_id.to_string(),
            name: s.name.clone(),
            probability: s.probability,
            entered: group(s.entered),
            progressed: group(s.progressed),
            conversion: pct(s.conversion),
        })
        .collect();
    let empty = total.stages.iter().all(|s| s.entered == 0) && o.won + o.lost + o.entered == 0;
    let longer = r.link_with(&[("period", "365d"), ("from", ""), ("to", "")]);
    Ok(FunnelPage {
        frame,
        grouping: res
            .grouping
            .map(|g| super::report_frame::grouping_key(g).to_string())
            .unwrap_or_default(),
        stage_names: total.stages.iter().map(|s| s.name.clone()).collect(),
        groups: report.groups.iter().map(|g| group_row(g, cur)).collect(),
        r,
        empty,
        chart,
        stages,
        outcomes,
        longer,
    }
    .into_response())
}
