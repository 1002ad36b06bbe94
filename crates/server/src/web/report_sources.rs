//! Which marketing efforts feed the pipeline: per lead source, and per campaign within it, what
//! entered, what was qualified and what was won, best won value first.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use throughline_core::report::SourceRow;
use throughline_store::reports;

use super::Frame;
use super::charts::group;
use super::error::PageError;
use super::format::money;
use super::report_frame::{Page, ReportView, Stat, Stats, pct, resolve};
use super::session::PageUser;
use crate::AppState;

pub struct RowView {
    pub name: String,
    pub leads: i64,
    pub deals: i64,
    pub qualified: i64,
    pub qualification: String,
    pub qualification_sort: String,
    pub won: i64,
    pub closing: String,
    pub closing_sort: String,
    pub won_value: String,
    pub won_value_sort: i64,
    /// Width of the won-value meter, percent of the best source.
    pub meter: i64,
    pub cycle: String,
    pub cycle_sort: String,
    /// Drill down: this page cut to the source (or campaign).
    pub href: String,
}

pub struct SourceGroup {
    pub source: RowView,
    pub campaigns: Vec<RowView>,
}

#[derive(Template, WebTemplate)]
#[template(path = "report_sources.html")]
pub struct SourcesPage {
    pub frame: Frame,
    pub r: ReportView,
    pub stats: Stats,
    pub groups: Vec<SourceGroup>,
}

fn sort_key(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.6}")).unwrap_or_else(|| "-1".into())
}

fn row_view(
    s: &SourceRow,
    name: String,
    best: i64,
    href: String,
    currency: throughline_core::Currency,
) -> RowView {
    RowView {
        name,
        leads: s.leads,
        deals: s.deals,
        qualified: s.qualified,
        qualification: pct(s.qualification_rate),
        qualification_sort: sort_key(s.qualification_rate),
        won: s.won,
        closing: pct(s.closing_rate),
        closing_sort: sort_key(s.closing_rate),
        won_value: money(s.won_value, currency),
        won_value_sort: s.won_value,
        meter: if best > 0 {
            (s.won_value * 100 / best).clamp(0, 100)
        } else {
            0
        },
        cycle: s
            .average_won_cycle_days
            .map(|d| format!("{d:.0} days"))
            .unwrap_or_else(|| "—".into()),
        cycle_sort: sort_key(s.average_won_cycle_days),
        href,
    }
}

pub async fn page(
    State(state): State<AppState>,
    user: PageUser,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    let mut tx = state.store.read().await?;
    let Some(res) = resolve(&mut tx, &user, Page::Sources, raw.as_deref()).await? else {
        return Ok(Redirect::to("/board").into_response());
    };
    let period = res.period.expect("sources cover a period");
    let report = reports::sources(
        &mut tx,
        &ctx,
        Some(res.pipeline.id),
        period.from,
        period.to,
        &res.filter,
    )
    .await?;
    let frame = Frame::new(
        &mut tx,
        &user,
        format!("{} — Sources", res.pipeline.name),
        "/reports/snapshot",
        Some(res.pipeline.id),
    )
    .await?;
    drop(tx);

    let r = res.view;
    let scope = r.scope();
    let cur = res.currency;
    let best = report
        .sources
        .iter()
        .map(|s| s.won_value)
        .max()
        .unwrap_or(0);
    let label = |s: &str, none: &str| {
        if s.is_empty() {
            none.to_string()
        } else {
            s.to_string()
        }
    };
    let groups: Vec<SourceGroup> = report
        .sources
        .iter()
        .map(|s| {
            let campaigns: Vec<&SourceRow> = report
                .campaigns
                .iter()
                .filter(|c| c.source == s.source)
                .collect();
            // A source whose only "campaign" is none needs no campaign rows.
            let show = campaigns.len() > 1 || campaigns.iter().any(|c| !c.campaign.is_empty());
            SourceGroup {
                source: row_view(
                    s,
                    label(&s.source, "(no source)"),
                    best,
                    r.link_with(&[("source", &s.source), ("campaign", "")]),
                    cur,
                ),
                campaigns: if show {
                    campaigns
                        .iter()
                        .map(|c| {
                            row_view(
                                c,
                                label(&c.campaign, "(no campaign)"),
                                best,
                                r.link_with(&[("source", &c.source), ("campaign", &c.campaign)]),
                                cur,
                            )
                        })
                        .collect()
                } else {
                    vec![]
                },
            }
        })
        .collect();
    let entered: i64 = report.sources.iter().map(|s| s.leads + s.deals).sum();
    let won_value: i64 = report.sources.iter().map(|s| s.won_value).sum();
    let won: i64 = report.sources.iter().map(|s| s.won).sum();
    let top = report.sources.first().filter(|s| s.won_value > 0);
    // The best closing rate among sources with enough items to mean something.
    let best_rate = report
        .sources
        .iter()
        .filter(|s| s.leads + s.deals >= 20 && s.closing_rate.is_some())
        .max_by(|a, b| {
            a.closing_rate
                .unwrap_or(0.0)
                .total_cmp(&b.closing_rate.unwrap_or(0.0))
        });
    let mut stats = vec![
        Stat::new(
            "Entered the funnel",
            group(entered),
            format!("Leads and deals without a lead, {scope}"),
        ),
        Stat::new(
            "Closing rate",
            pct(throughline_core::report::ratio(won, entered)),
            format!("{} of them won so far, {scope}", group(won)),
        ),
        Stat::money(
            "Won value",
            won_value,
            cur,
            format!("From these items, {scope}"),
        ),
    ];
    if let Some(t) = top {
        stats.push(Stat::new(
            "Best by won value",
            label(&t.source, "(no source)"),
            format!("{}, {scope}", money(t.won_value, cur)),
        ));
    }
    if let Some(b) = best_rate {
        stats.push(Stat::new(
            "Best closing rate",
            label(&b.source, "(no source)"),
            format!(
                "{} of {} items, {scope}",
                pct(b.closing_rate),
                group(b.leads + b.deals)
            ),
        ));
    }
    Ok(SourcesPage {
        frame,
        r,
        stats: Stats { items: stats },
        groups,
    }
    .into_response())
}
