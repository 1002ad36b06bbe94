//! Pipeline velocity — open deals × win rate × average won value ÷ average won cycle — in total,
//! per owner and month by month, with its four factors side by side so a manager sees which
//! one moved.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use throughline_core::Currency;
use throughline_core::report::Velocity;
use throughline_store::reports;

use super::Frame;
use super::charts::{self, Chart, Column, ColumnChart, ColumnMark, group};
use super::error::PageError;
use super::format::{money, money_short};
use super::report_frame::{Page, ReportView, pct, resolve};
use super::session::PageUser;
use crate::AppState;

/// One factor of the product, with its trend over the months.
pub struct FactorView {
    pub name: &'static str,
    pub op: &'static str,
    pub value: String,
    pub caption: String,
    pub spark: Chart,
    pub change: String,
    pub change_class: &'static str,
    pub href: Option<String>,
}

pub struct Cell {
    pub text: String,
    pub delta: String,
    pub delta_class: &'static str,
    pub moved: bool,
}

pub struct MonthRow {
    pub month: String,
    pub cells: Vec<Cell>,
    pub velocity: String,
    pub reading: String,
}

pub struct OwnerRow {
    pub name: String,
    pub open: String,
    pub win_rate: String,
    pub value: String,
    pub cycle: String,
    pub velocity: String,
    pub meter: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "report_velocity.html")]
pub struct VelocityPage {
    pub frame: Frame,
    pub r: ReportView,
    pub factors: Vec<FactorView>,
    pub result: FactorView,
    pub chart: Chart,
    pub months: Vec<MonthRow>,
    pub owners: Vec<OwnerRow>,
    pub no_wins: bool,
    pub no_months: bool,
}

const FACTORS: [&str; 4] = [
    "Open deals",
    "Win rate",
    "Average won value",
    "Average won cycle",
];

fn factor_values(v: &Velocity) -> [Option<f64>; 4] {
    [
        Some(v.open_deals as f64),
        v.win_rate,
        v.average_won_value,
        v.average_won_cycle_days,
    ]
}

fn factor_text(i: usize, x: Option<f64>, cur: Currency) -> String {
    match (i, x) {
        (_, None) => "—".into(),
        (0, Some(n)) => group(n as i64),
        (1, r) => pct(r),
        (2, Some(v)) => money(v.round() as i64, cur),
        (_, Some(d)) => format!("{d:.0} days"),
    }
}

fn per_day(v: Option<f64>, cur: Currency) -> String {
    v.map(|x| format!("{}/day", money_short(x.round() as i64, cur)))
        .unwrap_or_else(|| "—".into())
}

/// The relative change of a factor, and how it pushes velocity: up is good for all but the
/// cycle, which divides.
fn change(old: Option<f64>, new: Option<f64>, divides: bool) -> Option<(f64, f64)> {
    match (old, new) {
        (Some(a), Some(b)) if a > 0.0 && b > 0.0 => {
            let rel = b / a - 1.0;
            let effect = (b / a).ln() * if divides { -1.0 } else { 1.0 };
            Some((rel, effect))
        }
        _ => None,
    }
}

fn delta_text(rel: f64) -> (String, &'static str) {
    let p = rel * 100.0;
    if p.abs() < 0.5 {
        ("±0%".into(), "flat")
    } else if p > 0.0 {
        (format!("▲ {p:.0}%"), "")
    } else {
        (format!("▼ {:.0}%", -p), "")
    }
}

pub async fn page(
    State(state): State<AppState>,
    user: PageUser,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    let mut tx = state.store.read().await?;
    let Some(res) = resolve(&mut tx, &user, Page::Velocity, raw.as_deref()).await? else {
        return Ok(Redirect::to("/board").into_response());
    };
    let period = res.period.expect("velocity covers a period");
    let report = reports::velocity(
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
        format!("{} — Velocity", res.pipeline.name),
        "/reports/snapshot",
        Some(res.pipeline.id),
    )
    .await?;
    drop(tx);

    let r = res.view;
    let scope = r.scope();
    let cur = res.currency;
    let t = &report.total;
    let months = &report.by_month;
    let series =
        |i: usize| -> Vec<Option<f64>> { months.iter().map(|m| factor_values(m)[i]).collect() };
    // Change from the month before last to the last whole month: the latest move.
    let last_two = |i: usize| -> Option<(f64, f64)> {
        let n = months.len();
        if n < 2 {
            return None;
        }
        change(
            factor_values(&months[n - 2])[i],
            factor_values(&months[n - 1])[i],
            i == 3,
        )
    };
    let last_month = months
        .last()
        .map(|m| month_label(&m.key, true))
        .unwrap_or_default();
    let ops = ["", "×", "×", "÷"];
    let captions = [
        format!("Open now, {}", r.who_label),
        format!("Won ÷ (won + lost), {scope}"),
        format!("Per won deal, {scope}"),
        format!("Creation to won, {scope}"),
    ];
    let totals = factor_values(t);
    let factors: Vec<FactorView> = (0..4)
        .map(|i| {
            let (change_text, class) = match last_two(i) {
                Some((rel, effect)) => {
                    let (text, flat) = delta_text(rel);
                    (
                        format!("{text} in {last_month}"),
                        if flat == "flat" {
                            "flat"
                        } else if effect > 0.0 {
                            "up"
                        } else {
                            "down"
                        },
                    )
                }
                None => (String::new(), "flat"),
            };
            FactorView {
                name: FACTORS[i],
                op: ops[i],
                value: factor_text(i, totals[i], cur),
                caption: captions[i].clone(),
                spark: charts::spark(
                    &format!("spark-{i}"),
                    format!("{} per month, {}", FACTORS[i], scope),
                    &series(i),
                    200.0,
                    36.0,
                ),
                change: change_text,
                change_class: class,
                href: (i == 0 && !r.filtered()).then(|| r.deals_link(None, Some("open"))),
            }
        })
        .collect();
    let velocity_series: Vec<Option<f64>> = months.iter().map(|m| m.value_per_day).collect();
    let result = FactorView {
        name: "Velocity",
        op: "=",
        value: per_day(t.value_per_day, cur),
        caption: format!("Expected won value per day, {scope}"),
        spark: charts::spark(
            "spark-v",
            format!("Velocity per month, {scope}"),
            &velocity_series,
            200.0,
            36.0,
        ),
        change: String::new(),
        change_class: "flat",
        href: None,
    };

    let columns: Vec<Column> = months
        .iter()
        .enumerate()
        .map(|(i, m)| Column {
            label: month_label(&m.key, i == 0),
            actual: Some(m.value_per_day.unwrap_or(0.0)),
            projected: None,
            interval: None,
            mark: ColumnMark::Normal,
            short: false,
            title: format!(
                "{}: {}",
                month_label(&m.key, true),
                per_day(m.value_per_day, cur)
            ),
        })
        .collect();
    let chart = charts::columns(ColumnChart {
        id: "velocity-chart",
        title: format!("Velocity per month, value per day, {scope}"),
        desc: months
            .iter()
            .map(|m| {
                format!(
                    "{}: {}",
                    month_label(&m.key, true),
                    per_day(m.value_per_day, cur)
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        columns,
        band: None,
        pace: None,
        tick: &|v| charts::money_axis(v, cur),
        min_step: 100.0,
        width: 1120.0,
        height: 200.0,
    });

    let month_rows = months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let now = factor_values(m);
            let before = i.checked_sub(1).map(|j| factor_values(&months[j]));
            let changes: Vec<Option<(f64, f64)>> = (0..4)
                .map(|k| before.and_then(|b| change(b[k], now[k], k == 3)))
                .collect();
            // The factor that moved velocity most this month.
            let moved = changes
                .iter()
                .enumerate()
                .filter_map(|(k, c)| c.map(|(_, e)| (k, e)))
                .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
                .filter(|(_, e)| e.abs() >= 0.05);
            let cells = (0..4)
                .map(|k| {
                    let (delta, class) = match changes[k] {
                        Some((rel, effect)) => {
                            let (text, flat) = delta_text(rel);
                            (
                                text,
                                if flat == "flat" {
                                    "flat"
                                } else if effect > 0.0 {
                                    "up"
                                } else {
                                    "down"
                                },
                            )
                        }
                        None => (String::new(), "flat"),
                    };
                    Cell {
                        text: factor_text(k, now[k], cur),
                        delta,
                        delta_class: class,
                        moved: moved.is_some_and(|(j, _)| j == k),
                    }
                })
                .collect();
            MonthRow {
                month: month_label(&m.key, true),
                cells,
                velocity: per_day(m.value_per_day, cur),
                reading: match moved {
                    Some((k, e)) => format!(
                        "{} {}",
                        FACTORS[k].to_lowercase(),
                        if e > 0.0 {
                            "pushed it up"
                        } else {
                            "held it back"
                        }
                    ),
                    None => String::new(),
                },
            }
        })
        .collect();
    let best = report
        .by_owner
        .iter()
        .filter_map(|o| o.value_per_day)
        .fold(0.0, f64::max);
    let owners = report
        .by_owner
        .iter()
        .map(|o| OwnerRow {
            name: o.label.clone(),
            open: group(o.open_deals),
            win_rate: pct(o.win_rate),
            value: factor_text(2, o.average_won_value, cur),
            cycle: factor_text(3, o.average_won_cycle_days, cur),
            velocity: per_day(o.value_per_day, cur),
            meter: match o.value_per_day {
                Some(v) if best > 0.0 => ((v / best) * 100.0).round() as i64,
                _ => 0,
            },
        })
        .collect();
    Ok(VelocityPage {
        frame,
        no_months: months.iter().all(|m| m.value_per_day.is_none()),
        no_wins: t.value_per_day.is_none(),
        r,
        factors,
        result,
        chart,
        months: month_rows,
        owners,
    }
    .into_response())
}

/// `2026-07` as "Jul 2026" (or "Jul" after the first column of a chart).
fn month_label(key: &str, with_year: bool) -> String {
    match format!("{key}-01").parse::<jiff::civil::Date>() {
        Ok(d) if with_year || d.month() == 1 => d.strftime("%b %Y").to_string(),
        Ok(d) => d.strftime("%b").to_string(),
        Err(_) => key.to_string(),
    }
}
