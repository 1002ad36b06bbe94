//! Cycle time: how long won and lost deals took, and how long deals stay in each stage — the
//! slowest stages highlighted, since that is where a pipeline silts up.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use throughline_core::analytics::stats::Summary;
use throughline_store::reports;

use super::Frame;
use super::charts::{self, Chart, SpanBar, group};
use super::error::PageError;
use super::report_frame::{Page, ReportView, Stat, Stats, resolve};
use super::session::PageUser;
use crate::AppState;

pub struct StageView {
    pub id: String,
    pub name: String,
    pub stays: String,
    pub median: String,
    pub p90: String,
    pub mean: String,
    pub learned_median: String,
    pub learned_p90: String,
    pub open_now: String,
    pub slowest: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "report_cycle.html")]
pub struct CyclePage {
    pub frame: Frame,
    pub r: ReportView,
    pub stats: Stats,
    pub no_closes: bool,
    /// No stage has a learned stay yet.
    pub no_stays: bool,
    pub outcome_chart: Chart,
    pub stage_chart: Chart,
    pub stages: Vec<StageView>,
    pub slowest: Vec<String>,
}

fn days(v: Option<f64>) -> String {
    v.map(|d| format!("{d:.0} d")).unwrap_or_else(|| "—".into())
}

fn summary_caption(s: &Summary, scope: &str) -> String {
    if s.n == 0 {
        format!("No deals closed, {scope}")
    } else {
        format!(
            "p90 {} · mean {} · {} deals, {scope}",
            days(s.p90),
            days(s.mean),
            group(s.n as i64)
        )
    }
}

pub async fn page(
    State(state): State<AppState>,
    user: PageUser,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    let mut tx = state.store.read().await?;
    let Some(res) = resolve(&mut tx, &user, Page::Cycle, raw.as_deref()).await? else {
        return Ok(Redirect::to("/board").into_response());
    };
    let period = res.period.expect("cycle time covers a period");
    let report = reports::cycle(
        &mut tx,
        &ctx,
        res.pipeline.id,
        period.from,
        period.to,
        &res.filter,
    )
    .await?;
    let frame = Frame::new(
        &mut tx,
        &user,
        format!("{} — Cycle time", res.pipeline.name),
        "/reports/snapshot",
        Some(res.pipeline.id),
    )
    .await?;
    drop(tx);

    let r = res.view;
    let scope = r.scope();
    let stats = Stats {
        items: vec![
            Stat::new(
                "Won: median cycle",
                days(report.won.median),
                summary_caption(&report.won, &scope),
            ),
            Stat::new(
                "Lost: median cycle",
                days(report.lost.median),
                summary_caption(&report.lost, &scope),
            ),
            Stat::new(
                "Slowest stage",
                report
                    .slowest
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "—".into()),
                "By the learned median stay, all history".to_string(),
            ),
        ],
    };
    let outcome_rows = [("Won", &report.won), ("Lost", &report.lost)]
        .iter()
        .map(|(name, s)| SpanBar {
            label: name.to_string(),
            typical: s.median,
            high: s.p90,
            highlight: false,
            note: if s.n == 0 {
                "no closes".into()
            } else {
                format!("{} · p90 {}", days(s.median), days(s.p90))
            },
        })
        .collect::<Vec<_>>();
    let outcome_chart = charts::spans(
        "outcome-chart",
        format!("Days from the start of the cycle to the close, {scope}"),
        format!(
            "Won deals: median {}, 90th percentile {}, {} deals. Lost deals: median {}, 90th percentile {}, {} deals.",
            days(report.won.median),
            days(report.won.p90),
            report.won.n,
            days(report.lost.median),
            days(report.lost.p90),
            report.lost.n
        ),
        &outcome_rows,
        " d",
        460.0,
    );
    // The two slowest stages (one when there are few) stand out.
    let highlight: Vec<&String> = report
        .slowest
        .iter()
        .take(if report.stages.len() >= 4 { 2 } else { 1 })
        .collect();
    let stage_rows: Vec<SpanBar> = report
        .stages
        .iter()
        .map(|s| SpanBar {
            label: s.name.clone(),
            typical: s.learned_median_days.map(f64::from),
            high: s.learned_p90_days.map(f64::from),
            highlight: highlight.contains(&&s.name),
            note: match (s.learned_median_days, s.learned_p90_days) {
                (Some(m), Some(p)) => format!("{m} d · p90 {p} d"),
                (Some(m), None) => format!("{m} d"),
                _ => "not enough history".into(),
            },
        })
        .collect();
    let stage_chart = charts::spans(
        "stage-chart",
        format!(
            "Typical days in each stage, all history of {}",
            r.pipeline_name
        ),
        format!(
            "Median and 90th percentile of the time deals spend in each stage. Slowest: {}.",
            report.slowest.join(", ")
        ),
        &stage_rows,
        " d",
        660.0,
    );
    let stages = report
        .stages
        .iter()
        .map(|s| StageView {
            id: s.stage_id.to_string(),
            name: s.name.clone(),
            stays: group(s.completed.n as i64),
            median: days(s.completed.median),
            p90: days(s.completed.p90),
            mean: days(s.completed.mean),
            learned_median: days(s.learned_median_days.map(f64::from)),
            learned_p90: days(s.learned_p90_days.map(f64::from)),
            open_now: group(s.open_now as i64),
            slowest: highlight.contains(&&s.name),
        })
        .collect();
    Ok(CyclePage {
        frame,
        no_stays: report.slowest.is_empty(),
        no_closes: report.won.n + report.lost.n == 0,
        slowest: highlight.into_iter().cloned().collect(),
        r,
        stats,
        outcome_chart,
        stage_chart,
        stages,
    }
    .into_response())
}
