//! Reports: the funnel snapshot at any instant, beside the same pipeline at an earlier one.
//! The other report pages live in `report_*.rs` and share the frame of `report_frame.rs`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use jiff::ToSpan;
use jiff::civil::Date;
use throughline_core::snapshot::Snapshot;
use throughline_core::time::end_of_day;
use throughline_store::snapshot;

use super::error::PageError;
use super::format::money;
use super::report_frame::{Page, ReportView, query_map, resolve};
use super::session::PageUser;
use super::{Frame, time_zone};
use crate::AppState;

pub struct Bar {
    pub y: i64,
    pub x: i64,
    pub width: i64,
    pub name: String,
    pub label: String,
}

pub struct StageRow {
    pub id: String,
    pub name: String,
    pub probability: i64,
    pub count: i64,
    pub value: String,
    pub weighted: String,
    pub delta_count: String,
    pub delta_value: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "snapshot.html")]
pub struct SnapshotPage {
    pub frame: Frame,
    pub r: ReportView,
    /// Shown at the present: the counts are then the deals the deals list shows.
    pub live: bool,
    pub at: String,
    pub compare: String,
    pub at_label: String,
    pub compare_label: String,
    pub bars: Vec<Bar>,
    pub chart_height: i64,
    pub rows: Vec<StageRow>,
    pub total: StageRow,
    pub error: Option<String>,
    pub empty: bool,
}

const CHART_WIDTH: i64 = 720;
const BAR_HEIGHT: i64 = 34;
const BAR_GAP: i64 = 10;

fn signed(n: i64) -> String {
    if n > 0 {
        format!("+{n}")
    } else {
        n.to_string()
    }
}

fn signed_money(n: i64, currency: throughline_core::Currency) -> String {
    let text = money(n.abs(), currency);
    match n.signum() {
        1 => format!("+{text}"),
        -1 => format!("−{text}"),
        _ => "—".into(),
    }
}

fn bars(snap: &Snapshot) -> Vec<Bar> {
    let max = snap
        .stages
        .iter()
        .map(|s| s.count)
        .max()
        .unwrap_or(0)
        .max(1);
    snap.stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            // Width by count, centred: the funnel's shape.
            let width = (s.count * (CHART_WIDTH - 260) / max).max(2);
            Bar {
                y: i as i64 * (BAR_HEIGHT + BAR_GAP),
                x: 160 + (CHART_WIDTH - 260 - width) / 2,
                width,
                name: s.name.clone(),
                label: format!("{} · {}", s.count, money(s.value, snap.currency)),
            }
        })
        .collect()
}

fn parse_day(text: Option<&str>, fallback: Date, errors: &mut Vec<String>, what: &str) -> Date {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => fallback,
        Some(t) => t.parse().unwrap_or_else(|_| {
            errors.push(format!(
                "“{t}” is not a date ({what}); showing {fallback} instead."
            ));
            fallback
        }),
    }
}

pub async fn snapshot(
    State(state): State<AppState>,
    user: PageUser,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    let mut tx = state.store.read().await?;
    let tz = time_zone(&mut tx).await?;
    let Some(res) = resolve(&mut tx, &user, Page::Snapshot, raw.as_deref()).await? else {
        return Ok(axum::response::Redirect::to("/board").into_response());
    };
    let pipeline = res.pipeline;
    let q = query_map(raw.as_deref());
    let today = ctx.at.to_zoned_datetime(tz.clone()).date();
    let mut errors = vec![];
    let at_day = parse_day(q.get("at").map(String::as_str), today, &mut errors, "as of");
    let default_compare = at_day.checked_sub(30.days()).unwrap_or(at_day);
    let compare_day = parse_day(
        q.get("compare").map(String::as_str),
        default_compare,
        &mut errors,
        "compared with",
    );
    let instant = |d: Date| -> Result<jiff::Timestamp, PageError> {
        if d >= today {
            Ok(ctx.at)
        } else {
            end_of_day(d, &tz).map_err(|e| PageError::bad_request(e.to_string()))
        }
    };
    let now_snap = snapshot::snapshot(&mut tx, &ctx, pipeline.id, instant(at_day)?).await?;
    let then_snap = snapshot::snapshot(&mut tx, &ctx, pipeline.id, instant(compare_day)?).await?;
    let frame = Frame::new(
        &mut tx,
        &user,
        format!("{} — Snapshot", pipeline.name),
        "/reports/snapshot",
        Some(pipeline.id),
    )
    .await?;
    drop(tx);

    let cur = pipeline.currency;
    let rows = now_snap
        .stages
        .iter()
        .map(|s| {
            let before = then_snap.stages.iter().find(|b| b.stage_id == s.stage_id);
            let (bc, bv) = before.map(|b| (b.count, b.value)).unwrap_or((0, 0));
            StageRow {
                id: s.stage_id.to_string(),
                name: s.name.clone(),
                probability: s.probability,
                count: s.count,
                value: money(s.value, cur),
                weighted: money(s.weighted_value, cur),
                delta_count: signed(s.count - bc),
                delta_value: signed_money(s.value - bv, cur),
            }
        })
        .collect();
    let total = StageRow {
        id: String::new(),
        name: "Total".into(),
        probability: 0,
        count: now_snap.total.count,
        value: money(now_snap.total.value, cur),
        weighted: money(now_snap.total.weighted_value, cur),
        delta_count: signed(now_snap.total.count - then_snap.total.count),
        delta_value: signed_money(now_snap.total.value - then_snap.total.value, cur),
    };
    let bars = bars(&now_snap);
    let label = |d: Date| {
        if d >= today {
            "now".to_string()
        } else {
            format!("end of {}", d.strftime("%b %-d, %Y"))
        }
    };
    Ok(SnapshotPage {
        frame,
        r: res.view,
        live: at_day >= today,
        at: at_day.to_string(),
        compare: compare_day.to_string(),
        at_label: label(at_day),
        compare_label: label(compare_day),
        chart_height: bars.len() as i64 * (BAR_HEIGHT + BAR_GAP),
        bars,
        rows,
        total,
        error: (!errors.is_empty()).then(|| errors.join(" ")),
        empty: now_snap.stages.is_empty(),
    }
    .into_response())
}

/// `/reports`: the first report, with whatever filters came along.
pub async fn index(axum::extract::RawQuery(raw): axum::extract::RawQuery) -> Response {
    let target = match raw.filter(|q| !q.is_empty()) {
        Some(q) => format!("/reports/snapshot?{q}"),
        None => "/reports/snapshot".into(),
    };
    axum::response::Redirect::to(&target).into_response()
}
