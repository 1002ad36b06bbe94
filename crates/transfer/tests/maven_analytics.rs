//! The Maven Analytics "CRM + Sales + Opportunities" data set (8,800 real-looking B2B
//! opportunities, `/work/shared/data/maven-crm-sales-opportunities`), imported with
//! `mappings/maven-sales-pipeline.toml` into a fresh SQLite file, then asked through the same
//! report functions the API calls: win rate overall and per owner, median (and 90th
//! percentile) cycle time of won and lost deals, monthly inflow with its mean, sample standard
//! deviation and coefficient of variation, and the snapshot at the end of 2017-06-30.
//!
//! Every expected figure is worked out here from the CSV alone, with the `csv` crate and plain
//! arithmetic, by the definitions of DESIGN.md — none of it through Throughline code:
//!
//! - win rate = won ÷ (won + lost) over the deals closed in the period (all of them: the
//!   period runs from the first to the last month of the data);
//! - cycle time = close_date − engage_date in days (the mapping makes engage_date the
//!   creation, which is where the cycle starts; there is no lead); quantiles by linear
//!   interpolation between closest ranks (Hyndman & Fan type 7, so an even count's median is
//!   the mean of the two middle values);
//! - inflow = deals created per calendar month (engage_date's month; UTC, the default team
//!   time zone), over the 15 whole months 2016-10 … 2017-12, zero-filled; mean, sample
//!   standard deviation (n − 1), cv = sd ÷ mean;
//! - snapshot at the end of 2017-06-30: engage_date ≤ 2017-06-30 and no close_date or
//!   close_date > 2017-06-30, all in Engaging (won and lost rows entered nothing else), valued
//!   at close_value in cents (open rows have none: 0); Prospecting rows carry no date, so they
//!   are created at the import (now) and hold nothing on that day.
//!
//! The data directory is required: a missing copy fails the test rather than skipping it.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::Timestamp;
use jiff::civil::date;
use throughline_core::analytics::engine::Simulation;
use throughline_core::analytics::period::{Grain, Period};
use throughline_core::time::parse_instant_or_date;
use throughline_store::reports::{self, FlowRequest, Grouping, ReportFilter};
use throughline_store::{Ctx, Store, pipelines, settings, snapshot};
use throughline_transfer::import::{self, ImportOptions, Kind, Mapping, Silent};

mod common;
const MAPPING: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../mappings/maven-sales-pipeline.toml"
);

// ---- the figures from the CSV alone ----

/// Days since 1970-01-01 of a proleptic Gregorian `YYYY-MM-DD` (H. Hinnant's days_from_civil).
fn day_number(text: &str) -> i64 {
    let parts: Vec<i64> = text
        .split('-')
        .map(|p| p.parse().unwrap_or_else(|_| panic!("date `{text}`")))
        .collect();
    assert_eq!(parts.len(), 3, "date `{text}`");
    let (y, m, d) = (parts[0], parts[1], parts[2]);
    assert!(
        (1..=12).contains(&m) && (1..=31).contains(&d),
        "date `{text}`"
    );
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Type-7 quantile of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    assert!(!sorted.is_empty());
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

#[derive(Debug, Default)]
struct Expected {
    rows: u64,
    won: i64,
    lost: i64,
    /// Per sales agent: (won, lost).
    by_agent: BTreeMap<String, (i64, i64)>,
    /// Cycle days, sorted.
    won_days: Vec<f64>,
    lost_days: Vec<f64>,
    /// Deals created per month `YYYY-MM`.
    inflow: BTreeMap<String, u64>,
    /// Open at the end of 2017-06-30: count and value in cents.
    open_at: (i64, i64),
}

fn expected(path: &Path) -> Expected {
    let mut reader = csv::Reader::from_path(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let headers = reader.headers().expect("header row").clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column `{name}` in {}", path.display()))
    };
    let (agent, stage, engage, close, value) = (
        col("sales_agent"),
        col("deal_stage"),
        col("engage_date"),
        col("close_date"),
        col("close_value"),
    );
    let cutoff = day_number("2017-06-30");
    let mut e = Expected::default();
    for record in reader.records() {
        let r = record.expect("a CSV record");
        e.rows += 1;
        let engage = Some(&r[engage]).filter(|s| !s.is_empty());
        let close = Some(&r[close]).filter(|s| !s.is_empty());
        let cents = match &r[value] {
            "" => 0,
            v => v.parse::<i64>().expect("an integer close_value") * 100,
        };
        let entry = e.by_agent.entry(r[agent].to_string()).or_default();
        match &r[stage] {
            "Won" | "Lost" => {
                let (engage, close) = (
                    engage.expect("a closed row has an engage_date"),
                    close.expect("a closed row has a close_date"),
                );
                let days = (day_number(close) - day_number(engage)) as f64;
                assert!(days >= 0.0, "closed before engaged: {r:?}");
                if &r[stage] == "Won" {
                    e.won += 1;
                    entry.0 += 1;
                    e.won_days.push(days);
                } else {
                    e.lost += 1;
                    entry.1 += 1;
                    e.lost_days.push(days);
                }
            }
            "Engaging" => assert!(close.is_none(), "an open row with a close date: {r:?}"),
            "Prospecting" => assert!(engage.is_none(), "a prospect with a date: {r:?}"),
            other => panic!("deal_stage `{other}`"),
        }
        if let Some(engage) = engage {
            *e.inflow.entry(engage[..7].to_string()).or_default() += 1;
            let open_then =
                day_number(engage) <= cutoff && close.is_none_or(|c| day_number(c) > cutoff);
            if open_then {
                e.open_at.0 += 1;
                e.open_at.1 += cents;
            }
        }
    }
    e.won_days.sort_by(f64::total_cmp);
    e.lost_days.sort_by(f64::total_cmp);
    e
}

fn months(from: (i32, u32), to: (i32, u32)) -> Vec<String> {
    let mut out = vec![];
    let (mut y, mut m) = from;
    while (y, m) <= to {
        out.push(format!("{y:04}-{m:02}"));
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
}

fn close(label: &str, product: Option<f64>, expected: f64, tolerance: f64) {
    let product = product.unwrap_or_else(|| panic!("{label}: the product gives no figure"));
    assert!(
        (product - expected).abs() <= tolerance,
        "{label}: product {product}, CSV {expected}"
    );
}

// ---- the test ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maven_figures_match_the_csv() {
    let data = common::shared_data("maven-crm-sales-opportunities/sales_pipeline.csv");
    assert!(
        data.is_file(),
        "the Maven data set is missing at {} (expected /work/shared/data/maven-crm-sales-opportunities/); \
         this test needs it and does not skip",
        data.display()
    );
    let started = std::time::Instant::now();
    let want = expected(&data);
    assert_eq!(want.rows, 8_800, "sales_pipeline.csv has 8,800 data rows");

    // Import into a fresh SQLite file.
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("maven.db").display());
    let store = Store::open(&url).await.expect("open sqlite");
    let mapping_text = std::fs::read_to_string(MAPPING).expect("the Maven mapping file");
    let mapping = Mapping::from_toml(&mapping_text).expect("the Maven mapping parses");
    let ctx = Ctx::system_now();
    let imported = import::run(
        &store,
        ctx,
        &data,
        &ImportOptions {
            kind: Kind::Deals,
            mapping,
            dry_run: false,
            partial: false,
        },
        &Silent,
    )
    .await
    .expect("import");
    let import_time = started.elapsed();
    assert!(
        imported.rejected.is_empty(),
        "rejected: {:?}",
        imported.rejected
    );
    assert!(imported.committed);
    assert_eq!((imported.rows, imported.created), (8_800, 8_800));
    assert_eq!(imported.users_created.len(), want.by_agent.len());

    let mut tx = store.read().await.expect("read");
    let tz = settings::time_zone(&mut tx).await.expect("time zone");
    assert_eq!(tz, jiff::tz::TimeZone::UTC, "the default team time zone");
    let pipeline = pipelines::find(&mut tx, "MavenTech")
        .await
        .expect("find")
        .expect("the MavenTech pipeline");
    // The months of the data, whole: engage dates run 2016-10-20 … 2017-12-27, closes end
    // 2017-12-31.
    let period = Period::new(date(2016, 10, 1), date(2017, 12, 31)).unwrap();
    let filter = ReportFilter::default();

    // Win rate, overall and per owner.
    let funnel = reports::funnel(
        &mut tx,
        &ctx,
        pipeline.id,
        period.from,
        period.to,
        &filter,
        Some(Grouping::Owner),
    )
    .await
    .expect("funnel");
    let total = &funnel.total.outcomes;
    assert_eq!((total.won, total.lost), (want.won, want.lost));
    let want_rate = want.won as f64 / (want.won + want.lost) as f64;
    close("win rate", total.win_rate, want_rate, 1e-12);
    let mut by_owner: BTreeMap<String, (i64, i64, Option<f64>)> = BTreeMap::new();
    for g in &funnel.groups {
        let o = &g.outcomes;
        assert!(
            by_owner
                .insert(g.label.clone(), (o.won, o.lost, o.win_rate))
                .is_none(),
            "two owner groups labelled {}",
            g.label
        );
    }
    let want_owners: Vec<&String> = want
        .by_agent
        .iter()
        .filter(|(_, (w, l))| w + l > 0)
        .map(|(a, _)| a)
        .collect();
    let got_owners: Vec<&String> = by_owner
        .iter()
        .filter(|(_, (w, l, _))| w + l > 0)
        .map(|(a, _)| a)
        .collect();
    assert_eq!(got_owners, want_owners, "owners with closed deals");
    let mut per_owner_lines = vec![];
    for (agent, &(won, lost)) in want.by_agent.iter().filter(|(_, (w, l))| w + l > 0) {
        let (got_won, got_lost, got_rate) = by_owner[agent];
        assert_eq!((got_won, got_lost), (won, lost), "{agent}: won, lost");
        let rate = won as f64 / (won + lost) as f64;
        close(&format!("{agent}: win rate"), got_rate, rate, 1e-12);
        per_owner_lines.push(format!("{agent}: {won}/{} = {rate:.4}", won + lost));
    }

    // Cycle time of won and lost deals closed in the period.
    let cycle = reports::cycle(&mut tx, &ctx, pipeline.id, period.from, period.to, &filter)
        .await
        .expect("cycle");
    assert_eq!(cycle.won.n, want.won_days.len() as u64);
    assert_eq!(cycle.lost.n, want.lost_days.len() as u64);
    let (won_median, lost_median) = (
        quantile(&want.won_days, 0.5),
        quantile(&want.lost_days, 0.5),
    );
    let (won_p90, lost_p90) = (
        quantile(&want.won_days, 0.9),
        quantile(&want.lost_days, 0.9),
    );
    close("won median days", cycle.won.median, won_median, 1e-6);
    close("lost median days", cycle.lost.median, lost_median, 1e-6);
    close("won p90 days", cycle.won.p90, won_p90, 1e-6);
    close("lost p90 days", cycle.lost.p90, lost_p90, 1e-6);

    // Monthly inflow over the whole months of the data.
    let request = FlowRequest {
        pipeline_id: pipeline.id,
        period,
        grain: Grain::Month,
        weeks: 12,
        // Fewer runs than the API's default: the projection is not checked here, and the
        // inflow figures do not depend on it.
        simulation: Simulation {
            runs: 1_000,
            ..Simulation::default()
        },
    };
    let flow = reports::flow_report(&mut tx, &ctx, &request, &filter)
        .await
        .expect("flow");
    let month_keys = months((2016, 10), (2017, 12));
    let series: Vec<f64> = month_keys
        .iter()
        .map(|m| want.inflow.get(m).copied().unwrap_or(0) as f64)
        .collect();
    assert_eq!(
        want.inflow.keys().collect::<Vec<_>>(),
        month_keys.iter().collect::<Vec<_>>(),
        "every dated row falls in 2016-10 … 2017-12"
    );
    let got_series: Vec<(String, f64)> = flow
        .inflow
        .points
        .iter()
        .map(|p| (p.bucket.start.strftime("%Y-%m").to_string(), p.value))
        .collect();
    let want_series: Vec<(String, f64)> = month_keys.iter().cloned().zip(series.clone()).collect();
    assert_eq!(got_series, want_series, "deals created per month");
    let n = series.len() as f64;
    let mean = series.iter().sum::<f64>() / n;
    let sd = (series.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)).sqrt();
    let cv = sd / mean;
    assert_eq!(flow.inflow.n, series.len() as u64);
    close("inflow mean", flow.inflow.mean, mean, 1e-9);
    close("inflow sd", flow.inflow.sd, sd, 1e-9);
    close("inflow cv", flow.inflow.cv, cv, 1e-9);

    // The snapshot at the end of 2017-06-30, as the API reads `at=2017-06-30`.
    let at = parse_instant_or_date("2017-06-30", &tz).expect("at");
    assert_eq!(at, "2017-06-30T23:59:59.999Z".parse::<Timestamp>().unwrap());
    let snap = snapshot::snapshot(&mut tx, &ctx, pipeline.id, at)
        .await
        .expect("snapshot");
    let stage = |name: &str| {
        snap.stages
            .iter()
            .find(|s| s.name == name)
            .map(|s| (s.count, s.value))
            .unwrap_or_else(|| panic!("no stage {name} in the snapshot"))
    };
    assert_eq!(stage("Prospecting"), (0, 0), "Prospecting at 2017-06-30");
    assert_eq!(stage("Engaging"), want.open_at, "Engaging at 2017-06-30");
    assert_eq!((snap.total.count, snap.total.value), want.open_at);
    drop(tx);
    store.close().await;

    eprintln!(
        "Maven: {} won, {} lost, win rate {want_rate:.6}; per owner:\n  {}\n\
         cycle days won median {won_median} p90 {won_p90}, lost median {lost_median} p90 {lost_p90}\n\
         monthly inflow {series:?}: mean {mean:.6}, sd {sd:.6}, cv {cv:.6}\n\
         open at the end of 2017-06-30: {} deals, {} cents\n\
         import {:.2?}, everything {:.2?}",
        want.won,
        want.lost,
        per_owner_lines.join("\n  "),
        want.open_at.0,
        want.open_at.1,
        import_time,
        started.elapsed()
    );
}
