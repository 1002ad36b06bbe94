//! `throughline report funnel|cycle|velocity|flow|forecast|attention|sources`.

use std::collections::HashMap;

use anyhow::{Result, anyhow, bail};
use jiff::ToSpan;
use throughline_core::analytics::engine::Simulation;
use throughline_core::analytics::flow::{Flow, Mark};
use throughline_core::analytics::period::{Grain, Period, PeriodArgs};
use throughline_core::money::format_minor;
use throughline_core::pipeline::Pipeline;
use throughline_core::report::ListPage;
use throughline_core::{Currency, UserId};
use throughline_store::reports::{self, FlowRequest, Grouping, ReportFilter};
use throughline_store::{Ctx, Tx, settings, users};

use crate::cli::{Format, ReportArgs, ReportCommand};
use crate::output::{Rows, print};
use crate::session::{self, Session};

fn percent(r: Option<f64>) -> String {
    r.map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "–".into())
}

fn days(d: Option<f64>) -> String {
    d.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into())
}

struct Request {
    pipeline: Option<Pipeline>,
    period: Period,
    filter: ReportFilter,
    currency: Currency,
}

async fn request(
    tx: &mut Tx,
    ctx: &Ctx,
    a: &ReportArgs,
    default_days: i64,
    needs_pipeline: bool,
) -> Result<Request> {
    let pipeline = match &a.pipeline {
        Some(key) => Some(session::pipeline(tx, key).await?),
        None if needs_pipeline => {
            bail!("--pipeline is required (a name or id; see `throughline pipeline list`)")
        }
        None => None,
    };
    let tz = settings::time_zone(tx).await?;
    let today = ctx.at.to_zoned_datetime(tz).date();
    let args = PeriodArgs {
        from: a.from.clone(),
        to: a.to.clone(),
        last: a.last.clone(),
        quarter: a.quarter.clone(),
        month: a.month.clone(),
        year: a.year.clone(),
    };
    let period = match args.resolve(today).map_err(|e| anyhow!("{}", flags(&e)))? {
        Some(p) => p,
        None => Period::new(today.checked_sub((default_days - 1).days())?, today)
            .map_err(|e| anyhow!("{}", flags(&e)))?,
    };
    let owner_id: Option<UserId> = match &a.owner {
        Some(email) => Some(session::user(tx, email).await?.id),
        None => None,
    };
    let team_id = match &a.team {
        Some(name) => Some(
            users::list_teams(tx)
                .await?
                .into_iter()
                .find(|t| t.name.eq_ignore_ascii_case(name.trim()))
                .ok_or_else(|| anyhow!("--team: no team is named `{name}`"))?
                .id,
        ),
        None => None,
    };
    let currency = pipeline
        .as_ref()
        .map(|p| p.currency)
        .unwrap_or(Currency::EUR);
    Ok(Request {
        pipeline,
        period,
        filter: ReportFilter {
            owner_id,
            team_id,
            source: a.source.clone(),
            campaign: a.campaign.clone(),
        },
        currency,
    })
}

/// Field errors as the flags a user typed.
fn flags(invalid: &throughline_core::Invalid) -> String {
    invalid
        .errors
        .iter()
        .map(|e| format!("--{}: {}", e.field.replace('_', "-"), e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

fn simulation(a: &ReportArgs) -> Result<Simulation> {
    let mut sim = Simulation::default();
    if let Some(seed) = a.seed {
        sim.seed = seed;
    }
    if let Some(runs) = a.runs {
        if !(100..=100_000).contains(&runs) {
            bail!("--runs: must be between 100 and 100000");
        }
        sim.runs = runs;
    }
    Ok(sim)
}

fn money(v: i64, c: Currency) -> String {
    format_minor(v, c.exponent())
}

fn flow_rows(name: &str, flow: &Flow, rows: &mut Rows) {
    for p in &flow.points {
        let mark = match p.mark {
            Mark::Peak => "peak",
            Mark::Valley => "valley",
            Mark::Partial => "partial",
            Mark::Normal => "",
        };
        rows.push(vec![
            name.into(),
            p.bucket.key(),
            format!("{:.0}", p.value),
            p.z.map(|z| format!("{z:+.2}")).unwrap_or_default(),
            mark.into(),
        ]);
    }
}

fn stats_line(name: &str, flow: &Flow) -> String {
    format!(
        "{name}: mean {} · sd {} · CV {}",
        flow.mean
            .map(|v| format!("{v:.1}"))
            .unwrap_or_else(|| "–".into()),
        flow.sd
            .map(|v| format!("{v:.1}"))
            .unwrap_or_else(|| "–".into()),
        flow.cv
            .map(|v| format!("{v:.2}"))
            .unwrap_or_else(|| "–".into())
    )
}

pub async fn run(cmd: ReportCommand) -> Result<()> {
    match cmd {
        ReportCommand::Snapshot { .. } => unreachable!("handled by report::run"),
        ReportCommand::Funnel(a) => {
            let s = Session::open(&a.db).await?;
            let ctx = s.ctx();
            let mut tx = s.store.read().await?;
            let r = request(&mut tx, &ctx, &a, 90, true).await?;
            let grouping: Option<Grouping> = a
                .group_by
                .as_deref()
                .map(|g| g.parse())
                .transpose()
                .map_err(|e: String| anyhow!("--group-by: {e}"))?;
            let p = r
                .pipeline
                .as_ref()
                .ok_or_else(|| anyhow!("--pipeline is required"))?;
            let report = reports::funnel(
                &mut tx,
                &ctx,
                p.id,
                r.period.from,
                r.period.to,
                &r.filter,
                grouping,
            )
            .await?;
            let mut rows = Rows::new(&[
                ("group", false),
                ("stage", false),
                ("entered", true),
                ("progressed", true),
                ("conversion", true),
            ]);
            for g in std::iter::once(&report.total).chain(report.groups.iter()) {
                for st in &g.stages {
                    rows.push(vec![
                        g.label.clone(),
                        st.name.clone(),
                        st.entered.to_string(),
                        st.progressed.to_string(),
                        percent(st.conversion),
                    ]);
                }
            }
            if matches!(a.format, Format::Table) {
                println!("Funnel of {}, {}", p.name, r.period);
                for g in std::iter::once(&report.total).chain(report.groups.iter()) {
                    let o = &g.outcomes;
                    println!(
                        "  {}: won {} ({} {}), lost {}, win rate {}; {} entered the funnel, {} won so far: closing rate {}",
                        g.label,
                        o.won,
                        money(o.won_value, r.currency),
                        r.currency,
                        o.lost,
                        percent(o.win_rate),
                        o.entered,
                        o.entered_won,
                        percent(o.closing_rate)
                    );
                }
            }
            print(a.format, &rows, &report)?;
        }
        ReportCommand::Cycle(a) => {
            let s = Session::open(&a.db).await?;
            let ctx = s.ctx();
            let mut tx = s.store.read().await?;
            let r = request(&mut tx, &ctx, &a, 90, true).await?;
            let p = r
                .pipeline
                .as_ref()
                .ok_or_else(|| anyhow!("--pipeline is required"))?;
            let report =
                reports::cycle(&mut tx, &ctx, p.id, r.period.from, r.period.to, &r.filter).await?;
            let mut rows = Rows::new(&[
                ("what", false),
                ("n", true),
                ("median days", true),
                ("p90 days", true),
                ("mean days", true),
            ]);
            rows.push(vec![
                "won cycle".into(),
                report.won.n.to_string(),
                days(report.won.median),
                days(report.won.p90),
                days(report.won.mean),
            ]);
            rows.push(vec![
                "lost cycle".into(),
                report.lost.n.to_string(),
                days(report.lost.median),
                days(report.lost.p90),
                days(report.lost.mean),
            ]);
            for st in &report.stages {
                rows.push(vec![
                    format!("in {}", st.name),
                    st.completed.n.to_string(),
                    days(st.completed.median),
                    days(st.completed.p90),
                    days(st.completed.mean),
                ]);
            }
            if matches!(a.format, Format::Table) {
                println!(
                    "Cycle time in {}, deals closed {}; stays ended in those months",
                    p.name, r.period
                );
                println!(
                    "  Longest stays (learned, open deals included): {}",
                    report.slowest.join(" > ")
                );
            }
            print(a.format, &rows, &report)?;
        }
        ReportCommand::Velocity(a) => {
            let s = Session::open(&a.db).await?;
            let ctx = s.ctx();
            let mut tx = s.store.read().await?;
            let r = request(&mut tx, &ctx, &a, 180, true).await?;
            let p = r
                .pipeline
                .as_ref()
                .ok_or_else(|| anyhow!("--pipeline is required"))?;
            let report =
                reports::velocity(&mut tx, &ctx, p.id, r.period.from, r.period.to, &r.filter)
                    .await?;
            let mut rows = Rows::new(&[
                ("cut", false),
                ("open deals", true),
                ("win rate", true),
                ("avg won value", true),
                ("avg won cycle (d)", true),
                ("value per day", true),
            ]);
            for v in std::iter::once(&report.total)
                .chain(&report.by_owner)
                .chain(&report.by_month)
            {
                rows.push(vec![
                    v.label.clone(),
                    v.open_deals.to_string(),
                    percent(v.win_rate),
                    v.average_won_value
                        .map(|x| money(x.round() as i64, r.currency))
                        .unwrap_or_else(|| "–".into()),
                    days(v.average_won_cycle_days),
                    v.value_per_day
                        .map(|x| money(x.round() as i64, r.currency))
                        .unwrap_or_else(|| "–".into()),
                ]);
            }
            if matches!(a.format, Format::Table) {
                println!(
                    "Velocity of {} ({}), {}: open deals × win rate × average won value ÷ average won cycle",
                    p.name, r.currency, r.period
                );
            }
            print(a.format, &rows, &report)?;
        }
        ReportCommand::Flow(a) => {
            let s = Session::open(&a.db).await?;
            let ctx = s.ctx();
            let mut tx = s.store.read().await?;
            let grain: Grain = a
                .grain
                .as_deref()
                .unwrap_or("week")
                .parse()
                .map_err(|e| anyhow!("--grain: {e}"))?;
            if !matches!(grain, Grain::Week | Grain::Month) {
                bail!("--grain: use week or month");
            }
            let r = request(
                &mut tx,
                &ctx,
                &a,
                if grain == Grain::Week { 182 } else { 365 },
                true,
            )
            .await?;
            let p = r
                .pipeline
                .as_ref()
                .ok_or_else(|| anyhow!("--pipeline is required"))?;
            if !(1..=52).contains(&a.weeks) {
                bail!("--weeks: must be between 1 and 52");
            }
            let req = FlowRequest {
                pipeline_id: p.id,
                period: r.period,
                grain,
                weeks: a.weeks,
                simulation: simulation(&a)?,
            };
            let report =
                reports::flow_report_concurrently(&s.store, &mut tx, &ctx, &req, &r.filter).await?;
            let mut rows = Rows::new(&[
                ("series", false),
                ("bucket", false),
                ("value", true),
                ("z", true),
                ("mark", false),
            ]);
            flow_rows("inflow", &report.inflow, &mut rows);
            flow_rows("won", &report.won, &mut rows);
            if matches!(a.format, Format::Table) {
                println!("Flow of {}, {} by {}", p.name, r.period, grain);
                println!(
                    "  {}",
                    stats_line("Inflow (leads + deals without a lead)", &report.inflow)
                );
                println!("  {}", stats_line("Won deals", &report.won));
                print(a.format, &rows, &report)?;
                println!(
                    "\nProjection of won closes ({} open deals, {} simulated futures):",
                    report.projection.deals, report.projection.simulation.runs
                );
                let mut proj = Rows::new(&[
                    ("week", false),
                    ("expected wins", true),
                    ("expected value", true),
                    ("P10", true),
                    ("P90", true),
                    ("pace", true),
                    ("", false),
                ]);
                for w in &report.projection.weeks {
                    proj.push(vec![
                        w.week.key(),
                        format!("{:.1}", w.expected_wins),
                        money(w.expected_value, r.currency),
                        money(w.p10, r.currency),
                        money(w.p90, r.currency),
                        money(w.pace, r.currency),
                        if w.valley {
                            "valley".into()
                        } else {
                            String::new()
                        },
                    ]);
                }
                println!("{}", crate::output::render_table(&proj));
                match &report.backtest {
                    Some(b) => println!(
                        "  How far to trust it: the same projection made on {} from the {} deals open then was off by {} {} a week on average (bias {:+}), and {:.0}% of weeks fell within P10–P90.",
                        b.as_of,
                        b.deals,
                        money(b.summary.mean_abs_error.round() as i64, r.currency),
                        r.currency,
                        money(b.summary.bias.round() as i64, r.currency),
                        b.summary.within_interval * 100.0
                    ),
                    None => println!(
                        "  Not enough history yet to test the projection against the past."
                    ),
                }
                for v in &report.projection.valleys {
                    match &v.needed {
                        Some(n) if !n.late => println!(
                            "  {} falls {} {} short: add {} leads or deals by {}",
                            v.week.key(),
                            money(v.shortfall, r.currency),
                            r.currency,
                            n.items,
                            n.add_by
                        ),
                        Some(n) => println!(
                            "  {} falls {} {} short; new items would have to have come in by {}: push the deals already open",
                            v.week.key(),
                            money(v.shortfall, r.currency),
                            r.currency,
                            n.add_by
                        ),
                        None => println!(
                            "  {} falls {} {} short",
                            v.week.key(),
                            money(v.shortfall, r.currency),
                            r.currency
                        ),
                    }
                }
            } else {
                print(a.format, &rows, &report)?;
            }
        }
        ReportCommand::Forecast(a) => {
            let s = Session::open(&a.db).await?;
            let ctx = s.ctx();
            let mut tx = s.store.read().await?;
            let grain: Grain = a
                .grain
                .as_deref()
                .unwrap_or("month")
                .parse()
                .map_err(|e| anyhow!("--grain: {e}"))?;
            if !matches!(grain, Grain::Month | Grain::Quarter) {
                bail!("--grain: use month or quarter");
            }
            let r = request(&mut tx, &ctx, &a, 90, true).await?;
            let p = r
                .pipeline
                .as_ref()
                .ok_or_else(|| anyhow!("--pipeline is required"))?;
            let periods = a
                .periods
                .unwrap_or(if grain == Grain::Month { 3 } else { 4 });
            if !(1..=24).contains(&periods) {
                bail!("--periods: must be between 1 and 24");
            }
            let report = reports::forecast(
                &mut tx,
                &ctx,
                p.id,
                grain,
                periods,
                &r.filter,
                simulation(&a)?,
            )
            .await?;
            let mut rows = Rows::new(&[
                ("period", false),
                ("won so far", true),
                ("weighted", true),
                ("P10", true),
                ("P50", true),
                ("P90", true),
            ]);
            for b in &report.forecast.buckets {
                rows.push(vec![
                    b.bucket.key(),
                    money(b.won_so_far, r.currency),
                    money(b.weighted, r.currency),
                    money(b.p10, r.currency),
                    money(b.p50, r.currency),
                    money(b.p90, r.currency),
                ]);
            }
            if matches!(a.format, Format::Table) {
                println!(
                    "Forecast of {} ({}), {} simulated futures, seed {}",
                    p.name,
                    r.currency,
                    report.forecast.simulation.runs,
                    report.forecast.simulation.seed
                );
                print(a.format, &rows, &report)?;
                let mut cal = Rows::new(&[
                    ("stage", false),
                    ("configured", true),
                    ("observed", true),
                    ("closed", true),
                    ("learned", true),
                ]);
                for c in &report.calibration {
                    cal.push(vec![
                        c.name.clone(),
                        format!("{:.0}%", c.row.configured),
                        c.row
                            .observed
                            .map(|o| format!("{o:.0}%"))
                            .unwrap_or_else(|| "–".into()),
                        c.row.closed.to_string(),
                        format!("{:.0}%", c.row.learned),
                    ]);
                }
                println!(
                    "\nCalibration: configured stage probabilities beside the win rates seen from each stage"
                );
                println!("{}", crate::output::render_table(&cal));
            } else {
                print(a.format, &rows, &report)?;
            }
        }
        ReportCommand::Attention(a) => {
            let s = Session::open(&a.db).await?;
            let ctx = s.ctx();
            let mut tx = s.store.read().await?;
            let r = request(&mut tx, &ctx, &a, 90, true).await?;
            let p = r
                .pipeline
                .as_ref()
                .ok_or_else(|| anyhow!("--pipeline is required"))?;
            let report = reports::attention(
                &mut tx,
                &ctx,
                p.id,
                &r.filter,
                ctx.at,
                ListPage::first(a.limit),
            )
            .await?;
            let names: HashMap<UserId, String> = users::list(&mut tx)
                .await?
                .into_iter()
                .map(|u| (u.id, u.name))
                .collect();
            let mut rows = Rows::new(&[
                ("score", true),
                ("deal", false),
                ("stage", false),
                ("owner", false),
                ("weighted", true),
                ("why", false),
            ]);
            for i in report.needs_effort.iter().take(a.limit) {
                rows.push(vec![
                    i.score.to_string(),
                    i.title.clone(),
                    i.stage.clone(),
                    names.get(&i.owner_id).cloned().unwrap_or_default(),
                    money(i.weighted_value, r.currency),
                    i.reasons
                        .iter()
                        .map(|x| format!("{} (+{})", x.text, x.weight))
                        .collect::<Vec<_>>()
                        .join("; "),
                ]);
            }
            if matches!(a.format, Format::Table) {
                println!(
                    "{} open deals in {} need effort now (showing {}):",
                    report.summary.needs_effort,
                    p.name,
                    report.needs_effort.len()
                );
                print(a.format, &rows, &report)?;
                if !report.over_invested.is_empty() {
                    println!("\nEffort out of proportion to expected value:");
                    for i in report.over_invested.iter().take(a.limit) {
                        println!(
                            "  {} — {}",
                            i.title,
                            i.reasons.first().map(|r| r.text.as_str()).unwrap_or("")
                        );
                    }
                }
            } else {
                print(a.format, &rows, &report)?;
            }
        }
        ReportCommand::Sources(a) => {
            let s = Session::open(&a.db).await?;
            let ctx = s.ctx();
            let mut tx = s.store.read().await?;
            let r = request(&mut tx, &ctx, &a, 90, false).await?;
            let report = reports::sources(
                &mut tx,
                &ctx,
                r.pipeline.as_ref().map(|p| p.id),
                r.period.from,
                r.period.to,
                &r.filter,
            )
            .await?;
            let mut rows = Rows::new(&[
                ("source", false),
                ("campaign", false),
                ("leads", true),
                ("deals", true),
                ("qualified", true),
                ("won", true),
                ("closing rate", true),
                ("won value", true),
                ("cycle (d)", true),
            ]);
            for row in report
                .sources
                .iter()
                .chain(report.campaigns.iter().filter(|c| !c.campaign.is_empty()))
            {
                rows.push(vec![
                    row.source.clone(),
                    row.campaign.clone(),
                    row.leads.to_string(),
                    row.deals.to_string(),
                    format!("{} ({})", row.qualified, percent(row.qualification_rate)),
                    row.won.to_string(),
                    percent(row.closing_rate),
                    money(row.won_value, r.currency),
                    days(row.average_won_cycle_days),
                ]);
            }
            if matches!(a.format, Format::Table) {
                println!(
                    "Sources, items that entered {} ({})",
                    r.period,
                    r.pipeline
                        .as_ref()
                        .map(|p| p.name.as_str())
                        .unwrap_or("all pipelines")
                );
            }
            print(a.format, &rows, &report)?;
        }
    }
    Ok(())
}
