//! Flow and projection: inflow and won closes per week or month with their variation, peaks
//! and valleys marked; then the won value projected for the coming weeks from the open deals,
//! the valleys it foresees, and how many new leads it takes to fill each in time.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use throughline_core::Currency;
use throughline_core::analytics::flow::{Flow, FlowPoint, Mark};
use throughline_core::analytics::period::{Bucket, Grain};
use throughline_core::analytics::projection::{Pace, ProjectedWeek, Projection};
use throughline_store::reports::{self, FlowRequest};

use super::Frame;
use super::charts::{self, Chart, Column, ColumnChart, ColumnMark, fmt_num, group};
use super::error::PageError;
use super::format::{money, money_short};
use super::report_frame::{Page, ReportView, Stat, Stats, pct, resolve};
use super::session::PageUser;
use crate::AppState;
use crate::report_params;

/// One marked bucket, for the list under a chart.
pub struct MarkView {
    pub when: String,
    pub value: String,
}

pub struct ChartBlock {
    pub chart: Chart,
    pub peaks: Vec<MarkView>,
    pub valleys: Vec<MarkView>,
}

pub struct ValleyView {
    pub week: String,
    pub expected: String,
    pub pace: String,
    pub shortfall: String,
    pub needed: Option<u64>,
    pub add_by: String,
    pub late: bool,
}

pub struct HistoryRow {
    pub bucket: String,
    pub inflow: String,
    pub inflow_mark: &'static str,
    pub won: String,
    pub won_value: String,
    pub won_mark: &'static str,
    pub lost: String,
}

/// The projection made some weeks ago from what was known then, beside what happened.
pub struct BacktestView {
    pub as_of: String,
    pub deals: String,
    pub weeks: usize,
    pub error: String,
    pub bias: String,
    pub within: String,
    pub rows: Vec<BacktestRow>,
}

pub struct BacktestRow {
    pub week: String,
    pub expected: String,
    pub range: String,
    pub actual: String,
    pub inside: bool,
}

/// "Sep 7, 2026" for the ISO week key `2026-W36`.
fn week_key_label(key: &str) -> String {
    let parsed = key.split_once("-W").and_then(|(y, w)| {
        let week = jiff::civil::ISOWeekDate::new(
            y.parse().ok()?,
            w.parse().ok()?,
            jiff::civil::Weekday::Monday,
        )
        .ok()?;
        Some(week.date().strftime("%b %-d, %Y").to_string())
    });
    parsed.unwrap_or_else(|| key.to_string())
}

#[derive(Template, WebTemplate)]
#[template(path = "report_flow.html")]
pub struct FlowPage {
    pub frame: Frame,
    pub r: ReportView,
    pub grain_word: &'static str,
    pub empty_history: bool,
    /// Nothing won and nothing open: no chart of won value to draw.
    pub no_won_chart: bool,
    pub stats: Stats,
    pub inflow: ChartBlock,
    pub won: ChartBlock,
    /// The projection drawn on its own when it does not continue the won chart.
    pub projection_chart: Option<Chart>,
    pub weeks_ahead: u32,
    pub projected_deals: usize,
    pub valleys: Vec<ValleyView>,
    pub assumptions: Vec<(String, String)>,
    pub method: String,
    pub history: Vec<HistoryRow>,
    pub backtest: Option<BacktestView>,
}

/// How a bucket reads on an axis: a week by its Monday, a month by its name.
fn axis_label(b: &Bucket, first: bool) -> String {
    match b.grain {
        Grain::Week => b.start.strftime("%b %-d").to_string(),
        Grain::Month if first || b.start.month() == 1 => b.start.strftime("%b %Y").to_string(),
        Grain::Month => b.start.strftime("%b").to_string(),
        Grain::Quarter => b.key(),
    }
}

/// How a bucket reads in text: "week of Jun 1, 2026", "June 2026".
fn bucket_words(b: &Bucket) -> String {
    match b.grain {
        Grain::Week => format!("week of {}", b.start.strftime("%b %-d, %Y")),
        Grain::Month => b.start.strftime("%B %Y").to_string(),
        Grain::Quarter => b.key(),
    }
}

fn column_mark(m: Mark) -> ColumnMark {
    match m {
        Mark::Peak => ColumnMark::Peak,
        Mark::Valley => ColumnMark::Valley,
        Mark::Partial => ColumnMark::Partial,
        Mark::Normal => ColumnMark::Normal,
    }
}

fn mark_word(m: Mark) -> &'static str {
    match m {
        Mark::Peak => "peak",
        Mark::Valley => "valley",
        Mark::Partial => "partial",
        Mark::Normal => "",
    }
}

fn marks(points: &[FlowPoint], value: &dyn Fn(f64) -> String) -> (Vec<MarkView>, Vec<MarkView>) {
    let pick = |want: Mark| {
        points
            .iter()
            .filter(|p| p.mark == want)
            .map(|p| MarkView {
                when: axis_label(&p.bucket, true),
                value: value(p.value),
            })
            .collect()
    };
    (pick(Mark::Peak), pick(Mark::Valley))
}

fn describe_flow(what: &str, f: &Flow, value: &dyn Fn(f64) -> String, grain: &str) -> String {
    let (peaks, valleys) = marks(&f.points, value);
    let list = |v: &[MarkView]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.iter()
                .map(|m| format!("{} ({})", m.when, m.value))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    match (f.mean, f.sd) {
        (Some(m), Some(sd)) => format!(
            "{what} per {grain}: mean {}, standard deviation {} over {} whole {grain}s. Peaks: {}. Valleys: {}.",
            value(m),
            value(sd),
            f.n,
            list(&peaks),
            list(&valleys)
        ),
        _ => format!("{what} per {grain}: too few {grain}s to measure variation."),
    }
}

fn history_columns(f: &Flow, value: &dyn Fn(f64) -> String, unit: &str) -> Vec<Column> {
    f.points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let standing = match p.mark {
                Mark::Peak => " — peak: more than one standard deviation above the mean",
                Mark::Valley => " — valley: more than one standard deviation below the mean",
                Mark::Partial => " — partial: cut by the period's edge, not compared",
                Mark::Normal => "",
            };
            Column {
                label: axis_label(&p.bucket, i == 0),
                actual: Some(p.value),
                projected: None,
                interval: None,
                mark: column_mark(p.mark),
                short: false,
                title: format!(
                    "{}: {}{unit}{standing}",
                    bucket_words(&p.bucket),
                    value(p.value)
                ),
            }
        })
        .collect()
}

fn projected_column(w: &ProjectedWeek, base: f64, cur: Currency, first: bool) -> Column {
    let m = |v: i64| money_short(v, cur);
    let base_i = base as i64;
    Column {
        label: axis_label(&w.week, first),
        actual: None,
        projected: Some(w.expected_value as f64),
        interval: Some(((base_i + w.p10) as f64, (base_i + w.p90) as f64)),
        mark: ColumnMark::Normal,
        short: w.valley,
        title: format!(
            "{}: expected {} won{}, P10–P90 {} – {}{}",
            bucket_words(&w.week),
            m(w.expected_value),
            if base > 0.0 {
                format!(" on top of {} already won", m(base_i))
            } else {
                String::new()
            },
            m(base_i + w.p10),
            m(base_i + w.p90),
            if w.valley {
                format!(" — below the pace of {}", m(w.pace))
            } else {
                String::new()
            }
        ),
    }
}

fn pace_words(p: &Pace) -> &'static str {
    match p {
        Pace::Goal { .. } => "the won value per week the goals ask for",
        Pace::RecentAverage { .. } => "the mean weekly won value of the last 12 weeks",
    }
}

pub async fn page(
    State(state): State<AppState>,
    user: PageUser,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    let mut tx = state.store.read().await?;
    let Some(res) = resolve(&mut tx, &user, Page::Flow, raw.as_deref()).await? else {
        return Ok(Redirect::to("/board").into_response());
    };
    let period = res.period.expect("the flow covers a period");
    let grain = res.grain.unwrap_or(Grain::Week);
    let weeks = report_params::flow_weeks(None).map_err(|e| PageError::bad_request(e.summary()))?;
    let request = FlowRequest {
        pipeline_id: res.pipeline.id,
        period,
        grain,
        weeks,
        simulation: report_params::simulation(None, None)
            .map_err(|e| PageError::bad_request(e.summary()))?,
    };
    let report =
        reports::flow_report_concurrently(&state.store, &mut tx, &ctx, &request, &res.filter)
            .await?;
    let frame = Frame::new(
        &mut tx,
        &user,
        format!("{} — Flow & projection", res.pipeline.name),
        "/reports/snapshot",
        Some(res.pipeline.id),
    )
    .await?;
    drop(tx);

    let r = res.view;
    let scope = r.scope();
    let cur = res.currency;
    let grain_word = if grain == Grain::Week {
        "week"
    } else {
        "month"
    };
    let count = |v: f64| fmt_num((v * 10.0).round() / 10.0);
    let value = |v: f64| money_short(v.round() as i64, cur);
    let axis = |v: f64| charts::money_axis(v, cur);

    // Inflow.
    let (peaks, valleys) = marks(&report.inflow.points, &count);
    let inflow_chart = charts::columns(ColumnChart {
        id: "inflow-chart",
        title: format!("New leads and deals per {grain_word}, {scope}"),
        desc: describe_flow("New leads and deals", &report.inflow, &count, grain_word),
        columns: history_columns(&report.inflow, &count, " new"),
        band: report.inflow.mean.map(|m| (m, report.inflow.sd)),
        pace: None,
        tick: &|v| fmt_num(v),
        min_step: 1.0,
        width: 1120.0,
        height: 240.0,
    });
    let inflow = ChartBlock {
        chart: inflow_chart,
        peaks,
        valleys,
    };

    // Won value, continued by the projection where the weeks join up.
    let projection: &Projection = &report.projection;
    let mut won_columns = history_columns(&report.won_value, &value, " won");
    let joins = grain == Grain::Week
        && report
            .won_value
            .points
            .last()
            .zip(projection.weeks.first())
            .is_some_and(|(h, p)| h.bucket == p.week || h.bucket.next() == Some(p.week));
    let mut projection_chart = None;
    if joins {
        let mut weeks = projection.weeks.iter().peekable();
        // The current week: what is already won, with the rest of the week projected on top.
        if let (Some(last), Some(first)) = (won_columns.last_mut(), weeks.peek())
            && report.won_value.points.last().map(|p| p.bucket) == Some(first.week)
        {
            let base = last.actual.unwrap_or(0.0);
            let proj = projected_column(first, base, cur, false);
            last.projected = proj.projected;
            last.interval = proj.interval;
            last.short = proj.short;
            last.title = format!("{} (so far); {}", last.title, proj.title);
            weeks.next();
        }
        won_columns.extend(weeks.map(|w| projected_column(w, 0.0, cur, false)));
    } else if !projection.weeks.is_empty() {
        let cols: Vec<Column> = projection
            .weeks
            .iter()
            .enumerate()
            .map(|(i, w)| projected_column(w, 0.0, cur, i == 0))
            .collect();
        projection_chart = Some(charts::columns(ColumnChart {
            id: "projection-chart",
            title: format!(
                "Won value projected for the next {weeks} weeks, {}",
                r.who_label
            ),
            desc: format!(
                "Expected won value per coming week with its P10–P90 range; {} of the weeks fall below the pace of {} per week.",
                projection.valleys.len(),
                value(projection.pace.per_week() as f64)
            ),
            columns: cols,
            band: None,
            pace: Some(projection.pace.per_week() as f64),
            tick: &axis,
            min_step: 100.0,
            width: 1120.0,
            height: 220.0,
        }));
    }
    let (won_peaks, won_valleys) = marks(&report.won_value.points, &value);
    let won_chart = charts::columns(ColumnChart {
        id: "won-chart",
        title: if joins {
            format!("Won value per week, {scope}, then projected for the next {weeks} weeks")
        } else {
            format!("Won value per {grain_word}, {scope}")
        },
        desc: describe_flow("Won value", &report.won_value, &value, grain_word),
        columns: won_columns,
        band: report.won_value.mean.map(|m| (m, report.won_value.sd)),
        pace: joins.then(|| projection.pace.per_week() as f64),
        tick: &axis,
        min_step: 100.0,
        width: 1120.0,
        height: 280.0,
    });
    let won = ChartBlock {
        chart: won_chart,
        peaks: won_peaks,
        valleys: won_valleys,
    };

    let a = &report.assumptions;
    let stats = Stats {
        items: vec![
            Stat::new(
                format!("Inflow per {grain_word}"),
                report.inflow.mean.map(count).unwrap_or_else(|| "—".into()),
                format!(
                    "Mean ± {} (sd), {scope}",
                    report.inflow.sd.map(count).unwrap_or_else(|| "—".into())
                ),
            ),
            Stat::new(
                "Variation",
                pct(report.inflow.cv),
                format!("Inflow sd ÷ mean, {scope}"),
            ),
            Stat::new(
                format!("Won value per {grain_word}"),
                report
                    .won_value
                    .mean
                    .map(value)
                    .unwrap_or_else(|| "—".into()),
                format!("Mean, {scope}"),
            ),
            Stat::money(
                format!("Expected, next {weeks} weeks"),
                projection.expected_value,
                cur,
                format!(
                    "Won value from {} open deals, {}",
                    projection.deals, r.who_label
                ),
            ),
            Stat::new(
                "Valleys ahead",
                projection.valleys.len().to_string(),
                format!(
                    "Weeks below the pace of {}/week",
                    value(projection.pace.per_week() as f64)
                ),
            )
            .tone(if projection.valleys.is_empty() {
                "good"
            } else {
                "bad"
            }),
        ],
    };
    let valleys = projection
        .valleys
        .iter()
        .map(|v| ValleyView {
            week: format!(
                "{} – {}",
                v.week.start.strftime("%b %-d"),
                v.week.end.strftime("%b %-d, %Y")
            ),
            expected: money(v.expected_value, cur),
            pace: money(v.pace, cur),
            shortfall: money(v.shortfall, cur),
            needed: v.needed.map(|n| n.items),
            add_by: v
                .needed
                .map(|n| n.add_by.strftime("%b %-d, %Y").to_string())
                .unwrap_or_default(),
            late: v.needed.is_some_and(|n| n.late),
        })
        .collect();
    let assumptions = vec![
        (
            "Closing rate".to_string(),
            match a.closing_rate {
                Some(c) => format!("{} of new leads and deals end won", pct(Some(c))),
                None => "not known yet".into(),
            },
        ),
        (
            "Average won value".into(),
            a.average_won_value
                .map(|v| money(v, cur))
                .unwrap_or_else(|| "not known yet".into()),
        ),
        (
            "Median cycle".into(),
            a.median_cycle_days
                .map(|d| format!("{d} days from creation to won"))
                .unwrap_or_else(|| "not known yet".into()),
        ),
        (
            "Pace".into(),
            format!(
                "{} per week: {}",
                money(a.pace_per_week, cur),
                pace_words(&projection.pace)
            ),
        ),
        (
            "Open deals projected".into(),
            format!(
                "{} ({} simulated futures)",
                group(projection.deals as i64),
                group(i64::from(projection.simulation.runs))
            ),
        ),
    ];
    let history = report
        .inflow
        .points
        .iter()
        .zip(&report.won.points)
        .zip(&report.won_value.points)
        .zip(&report.lost.points)
        .map(|(((i, w), wv), l)| HistoryRow {
            bucket: bucket_words(&i.bucket),
            inflow: count(i.value),
            inflow_mark: mark_word(i.mark),
            won: count(w.value),
            won_value: money(wv.value.round() as i64, cur),
            won_mark: mark_word(wv.mark),
            lost: count(l.value),
        })
        .collect();
    let empty_history = report.inflow.points.iter().all(|p| p.value == 0.0)
        && report.won_value.points.iter().all(|p| p.value == 0.0);
    let backtest = report.backtest.as_ref().map(|b| {
        let s = &b.summary;
        BacktestView {
            as_of: b.as_of.strftime("%b %-d, %Y").to_string(),
            deals: group(b.deals as i64),
            weeks: s.weeks,
            error: money(s.mean_abs_error.round() as i64, cur),
            bias: if s.bias.abs() < 0.5 {
                "on target on average".into()
            } else if s.bias > 0.0 {
                format!(
                    "{} a week more was won than expected: the projection was cautious",
                    money(s.bias.round() as i64, cur)
                )
            } else {
                format!(
                    "{} a week less was won than expected: the projection was optimistic",
                    money((-s.bias).round() as i64, cur)
                )
            },
            within: pct(Some(s.within_interval)),
            rows: b
                .weeks
                .iter()
                .map(|w| BacktestRow {
                    week: week_key_label(&w.week),
                    expected: money(w.expected_value, cur),
                    range: format!("{} – {}", money_short(w.p10, cur), money_short(w.p90, cur)),
                    actual: money(w.actual, cur),
                    inside: w.p10 <= w.actual && w.actual <= w.p90,
                })
                .collect(),
        }
    });
    let no_won_chart =
        projection.deals == 0 && report.won_value.points.iter().all(|p| p.value == 0.0);
    Ok(FlowPage {
        frame,
        r,
        grain_word,
        empty_history,
        no_won_chart,
        stats,
        inflow,
        won,
        projection_chart,
        weeks_ahead: weeks,
        projected_deals: projection.deals,
        valleys,
        assumptions,
        method: projection.method.clone(),
        history,
        backtest,
    }
    .into_response())
}
