//! The attention list: the open deals that need effort now, ranked by the weights of their
//! reasons, and apart from them those taking effort out of proportion to their expected value.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use throughline_core::report::{AttentionItem, ListPage};
use throughline_store::reports;

use super::Frame;
use super::charts::group;
use super::error::PageError;
use super::format::money;
use super::report_frame::{Page, ReportView, Stat, Stats, resolve};
use super::session::PageUser;
use crate::AppState;

/// Most deals listed: a manager acts on the top of the list; the rest is a filter away.
const LIMIT: usize = 100;

pub struct ChipView {
    pub code: &'static str,
    pub label: &'static str,
    pub weight: i64,
    pub text: String,
}

pub struct ItemView {
    pub rank: usize,
    pub id: String,
    pub title: String,
    pub owner: String,
    pub stage: String,
    pub stage_link: String,
    pub value: String,
    pub weighted: String,
    pub score: i64,
    pub heat: &'static str,
    pub reasons: Vec<ChipView>,
}

pub struct WeightView {
    pub label: &'static str,
    pub weight: i64,
    pub meaning: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "report_attention.html")]
pub struct AttentionPage {
    pub frame: Frame,
    pub r: ReportView,
    pub stats: Stats,
    pub items: Vec<ItemView>,
    pub more: usize,
    pub over: Vec<ItemView>,
    pub weights: Vec<WeightView>,
}

/// The short name of a reason, for its chip.
fn reason_label(code: &str) -> &'static str {
    match code {
        "activity_overdue" => "Activity overdue",
        "no_next_activity" => "No next activity",
        "rotting" => "Rotting",
        "slow_for_stage" => "Slow for stage",
        "past_expected_close" => "Past expected close",
        "close_date_pushed" => "Close date pushed",
        "high_value" => "High value",
        "effort_out_of_proportion" => "Effort out of proportion",
        _ => "Other",
    }
}

fn item_view(
    rank: usize,
    item: &AttentionItem,
    r: &ReportView,
    owners: &std::collections::HashMap<throughline_core::UserId, String>,
    currency: throughline_core::Currency,
) -> ItemView {
    let stage_id = item.stage_id.to_string();
    ItemView {
        rank,
        id: item.deal_id.to_string(),
        title: item.title.clone(),
        owner: owners.get(&item.owner_id).cloned().unwrap_or_default(),
        stage: item.stage.clone(),
        stage_link: r.deals_link(Some(&stage_id), Some("open")),
        value: money(item.value, currency),
        weighted: money(item.weighted_value, currency),
        score: item.score,
        heat: match item.score {
            s if s >= 8 => "hot",
            s if s >= 5 => "warm",
            _ => "",
        },
        reasons: item
            .reasons
            .iter()
            .map(|reason| ChipView {
                code: reason.code,
                label: reason_label(reason.code),
                weight: reason.weight,
                text: reason.text.clone(),
            })
            .collect(),
    }
}

pub async fn page(
    State(state): State<AppState>,
    user: PageUser,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    let mut tx = state.store.read().await?;
    let Some(res) = resolve(&mut tx, &user, Page::Attention, raw.as_deref()).await? else {
        return Ok(Redirect::to("/board").into_response());
    };
    let report = reports::attention(
        &mut tx,
        &ctx,
        res.pipeline.id,
        &res.filter,
        ctx.at,
        ListPage::first(LIMIT),
    )
    .await?;
    let frame = Frame::new(
        &mut tx,
        &user,
        format!("{} — Attention", res.pipeline.name),
        "/reports/snapshot",
        Some(res.pipeline.id),
    )
    .await?;
    drop(tx);

    let r = res.view;
    let cur = res.currency;
    let who = format!("open deals now, {}", r.who_label);
    let summary = &report.summary;
    let count_of = |code: &str| summary.deals_for(code) as i64;
    let at_stake = summary.weighted_at_stake;
    let stats = Stats {
        items: vec![
            Stat::new(
                "Need effort",
                group(summary.needs_effort as i64),
                format!("Deals with at least one reason, {who}"),
            )
            .tone(if summary.needs_effort == 0 {
                "good"
            } else {
                ""
            }),
            Stat::money(
                "Weighted value at stake",
                at_stake,
                cur,
                format!("Of those deals, {who}"),
            ),
            Stat::new(
                "Activity overdue",
                group(count_of("activity_overdue")),
                format!("Deals, {who}"),
            )
            .tone(if count_of("activity_overdue") > 0 {
                "bad"
            } else {
                ""
            }),
            Stat::new(
                "No next activity",
                group(count_of("no_next_activity")),
                format!("Deals, {who}"),
            ),
            Stat::new(
                "Effort out of proportion",
                group(summary.over_invested as i64),
                format!("Deals listed apart, {who}"),
            ),
        ],
    };
    let items: Vec<ItemView> = report
        .needs_effort
        .iter()
        .take(LIMIT)
        .enumerate()
        .map(|(i, item)| item_view(i + 1, item, &r, &res.user_names, cur))
        .collect();
    let over = report
        .over_invested
        .iter()
        .enumerate()
        .map(|(i, item)| item_view(i + 1, item, &r, &res.user_names, cur))
        .collect();
    let weights = report
        .weights
        .iter()
        .map(|(code, weight, meaning)| WeightView {
            label: reason_label(code),
            weight: *weight,
            meaning,
        })
        .collect();
    Ok(AttentionPage {
        frame,
        more: summary
            .needs_effort
            .saturating_sub(report.needs_effort.len()),
        r,
        stats,
        items,
        over,
        weights,
    }
    .into_response())
}
