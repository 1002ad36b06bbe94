//! The forecast per month or quarter: won so far, the weighted pipeline and the probabilistic
//! forecast (P10/P50/P90) from the learned stage model, beside the calibration of each stage's
//! configured probability against what it has really won.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use throughline_core::analytics::period::{Bucket, Grain};
use throughline_store::reports;

use super::Frame;
use super::charts::{self, Chart, RangeRow, group};
use super::error::PageError;
use super::format::{money, money_short};
use super::report_frame::{Page, ReportView, Stat, Stats, resolve};
use super::session::PageUser;
use crate::AppState;
use crate::report_params;

pub struct BucketRow {
    pub name: String,
    pub won: String,
    pub weighted: String,
    pub weighted_deals: String,
    pub expected: String,
    pub p10: String,
    pub p50: String,
    pub p90: String,
}

pub struct CalibrationView {
    pub name: String,
    pub configured: String,
    pub observed: String,
    pub observed_from: String,
    pub learned: String,
    pub learned_from: String,
    /// "set too high", "set too low" or empty.
    pub verdict: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "report_forecast.html")]
pub struct ForecastPage {
    pub frame: Frame,
    pub r: ReportView,
    pub scope: String,
    pub stats: Stats,
    pub chart: Chart,
    pub rows: Vec<BucketRow>,
    pub undated: Option<String>,
    pub calibration: Vec<CalibrationView>,
    pub method: String,
    pub no_deals: bool,
    /// Nothing open and nothing won yet: the chart would be empty.
    pub nothing: bool,
}

fn bucket_name(b: &Bucket) -> String {
    match b.grain {
        Grain::Quarter => format!("Q{} {}", (b.start.month() - 1) / 3 + 1, b.start.year()),
        _ => b.start.strftime("%b %Y").to_string(),
    }
}

fn percent(v: f64) -> String {
    format!("{v:.0}%")
}

pub async fn page(
    State(state): State<AppState>,
    user: PageUser,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    let mut tx = state.store.read().await?;
    let Some(res) = resolve(&mut tx, &user, Page::Forecast, raw.as_deref()).await? else {
        return Ok(Redirect::to("/board").into_response());
    };
    let grain = res.grain.unwrap_or(Grain::Month);
    let bad = |e: throughline_core::Invalid| PageError::bad_request(e.summary());
    let periods = report_params::forecast_periods(None, grain).map_err(bad)?;
    let simulation = report_params::simulation(None, None).map_err(bad)?;
    let report = reports::forecast(
        &mut tx,
        &ctx,
        res.pipeline.id,
        grain,
        periods,
        &res.filter,
        simulation,
    )
    .await?;
    let frame = Frame::new(
        &mut tx,
        &user,
        format!("{} — Forecast", res.pipeline.name),
        "/reports/snapshot",
        Some(res.pipeline.id),
    )
    .await?;
    drop(tx);

    let r = res.view;
    let cur = res.currency;
    let f = &report.forecast;
    let span = match (f.buckets.first(), f.buckets.last()) {
        (Some(a), Some(b)) if a.bucket != b.bucket => {
            format!("{} – {}", bucket_name(&a.bucket), bucket_name(&b.bucket))
        }
        (Some(a), _) => bucket_name(&a.bucket),
        _ => String::new(),
    };
    let scope = format!("{span}, {}", r.who_label);
    let ranges: Vec<RangeRow> = f
        .buckets
        .iter()
        .map(|b| RangeRow {
            label: bucket_name(&b.bucket),
            low: b.p10 as f64,
            mid: b.p50 as f64,
            high: b.p90 as f64,
            base: b.won_so_far as f64,
            reference: Some(b.weighted as f64),
            title: format!(
                "{}: P10 {}, P50 {}, P90 {}",
                bucket_name(&b.bucket),
                money(b.p10, cur),
                money(b.p50, cur),
                money(b.p90, cur)
            ),
        })
        .collect();
    let desc = f
        .buckets
        .iter()
        .map(|b| {
            format!(
                "{}: won so far {}, likely {} (P10 {} to P90 {}), weighted pipeline {}",
                bucket_name(&b.bucket),
                money(b.won_so_far, cur),
                money(b.p50, cur),
                money(b.p10, cur),
                money(b.p90, cur),
                money(b.weighted, cur)
            )
        })
        .collect::<Vec<_>>()
        .join(". ");
    let chart = charts::ranges(
        "forecast-chart",
        format!("Won value forecast per {}, {scope}", grain),
        desc,
        &ranges,
        &|v| charts::money_axis(v, cur),
        1120.0,
    );
    let rows = f
        .buckets
        .iter()
        .map(|b| BucketRow {
            name: bucket_name(&b.bucket),
            won: money(b.won_so_far, cur),
            weighted: money(b.weighted, cur),
            weighted_deals: group(b.weighted_deals as i64),
            expected: money(b.expected, cur),
            p10: money(b.p10, cur),
            p50: money(b.p50, cur),
            p90: money(b.p90, cur),
        })
        .collect();
    let mut stats = vec![];
    if let Some(now) = f.buckets.first() {
        let name = bucket_name(&now.bucket);
        stats.push(Stat::money(
            format!("Won so far, {name}"),
            now.won_so_far,
            cur,
            format!("Closed won, {}", r.who_label),
        ));
        stats.push(Stat::money(
            format!("Likely, {name}"),
            now.p50,
            cur,
            format!(
                "P50; 8 in 10 futures between {} and {}",
                money_short(now.p10, cur),
                money_short(now.p90, cur)
            ),
        ));
        stats.push(Stat::money(
            format!("Weighted, {name}"),
            now.weighted,
            cur,
            format!(
                "Value × stage probability of {} deals expected to close",
                group(now.weighted_deals as i64)
            ),
        ));
    }
    let total_p50: i64 = f.buckets.iter().map(|b| b.p50).sum();
    stats.push(Stat::money(
        format!("Likely, {span}"),
        total_p50,
        cur,
        format!("Sum of the P50s, {}", r.who_label),
    ));
    let undated = (f.undated_deals > 0).then(|| {
        format!(
            "{} open deals have no expected close date (weighted {}): the weighted column leaves them out; the model's forecast counts them.",
            group(f.undated_deals as i64),
            money(f.undated_weighted, cur)
        )
    });
    let calibration = report
        .calibration
        .iter()
        .map(|c| {
            let gap = c.row.configured - c.row.learned;
            CalibrationView {
                name: c.name.clone(),
                configured: percent(c.row.configured),
                observed: c.row.observed.map(percent).unwrap_or_else(|| "—".into()),
                observed_from: format!(
                    "{} of {} closed",
                    group(c.row.won as i64),
                    group(c.row.closed as i64)
                ),
                learned: if c.row.learned_from == 0 {
                    "—".into()
                } else {
                    percent(c.row.learned)
                },
                learned_from: format!("{} stays", group(c.row.learned_from as i64)),
                verdict: if c.row.learned_from < 20 {
                    ""
                } else if gap >= 10.0 {
                    "set too high"
                } else if gap <= -10.0 {
                    "set too low"
                } else {
                    ""
                },
            }
        })
        .collect();
    let no_deals = f
        .buckets
        .iter()
        .all(|b| b.expected == b.won_so_far && b.weighted == 0)
        && f.undated_deals == 0;
    let nothing = no_deals && f.buckets.iter().all(|b| b.won_so_far == 0);
    Ok(ForecastPage {
        nothing,
        frame,
        r,
        scope,
        stats: Stats { items: stats },
        chart,
        rows,
        undated,
        calibration,
        method: f.method.clone(),
        no_deals,
    }
    .into_response())
}
