//! The reports at a million deals: funnel for a year, flow with its projection and backtest,
//! forecast with 10,000 simulations, and the attention list, against a 300 ms target each; and
//! the funnel and flow aggregates beside the same aggregates written as SQL in DuckDB.
//!
//! `cargo bench -p throughline-store --bench reports` generates (once, then cached as
//! `target/bench-data/reports-1m.db`) a 1,000,000-deal / 10,000,000-event history through
//! `bulk::DealWriter`, times every report as the JSON API computes it (same store functions,
//! same defaults), then runs `benches/duckdb_reports.py` on the same database file, checks
//! that both computed the same figures and prints a summary: medians, the target, and the
//! ratio ours ÷ DuckDB. See BENCHMARKS.md ("Reports at a million deals").
//!
//! Environment: `THROUGHLINE_BENCH_SAMPLES` sets the summary's samples per figure (default
//! 15); `THROUGHLINE_BENCH_DUCKDB=0` skips the DuckDB leg; `THROUGHLINE_BENCH_PYTHON` names
//! the Python with the `duckdb` package (default `python3`); `THROUGHLINE_BENCH_SCALE=tiny`
//! runs the benchmark on the tiny dataset; `THROUGHLINE_BENCH_DRY_RUN=1` only prints what the
//! generator's histories would hold, without a database.
//!
//! Under `cargo test` (no `--bench`), every benchmark runs once on a tiny dataset (2,000
//! deals) and the summary checks our figures against DuckDB's when Python's `duckdb` and the
//! `sqlite3` command are there (and says it skipped them otherwise), so the benchmark cannot
//! rot.

mod generate;

use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use generate::{Dataset, Scale};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde_json::Value;
use throughline_core::analytics::engine::Simulation;
use throughline_core::analytics::flow::{Flow, flow, series};
use throughline_core::analytics::period::{Grain, Period, PeriodArgs};
use throughline_core::report::{AttentionReport, FunnelReport, ListPage};
use throughline_core::rollup::number_date;
use throughline_core::{Actor, Role};
use throughline_store::reports::{
    self, Cut, DayRange, FlowReport, FlowRequest, ForecastReport, ReportFilter,
};
use throughline_store::{Ctx, Store, Tx, pipelines, settings};

/// Each report's target on a 2-core machine.
const TARGET: Duration = Duration::from_millis(300);
/// What the API uses when not asked otherwise (crates/server/src/report_params.rs): a weekly
/// flow over the last 26 weeks projecting 12 weeks ahead; a monthly forecast of 3 months.
const FLOW_LAST: &str = "26w";
const FLOW_WEEKS: u32 = 12;
const FORECAST_PERIODS: usize = 3;
const RUNS: u32 = 10_000;

fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn scale() -> Scale {
    match std::env::var("THROUGHLINE_BENCH_SCALE").as_deref() {
        Ok("tiny") => Scale::Tiny,
        _ if bench_mode() => Scale::Million,
        _ => Scale::Tiny,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Viewer {
    Admin,
    Rep,
}

/// The figures measured, in the summary's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Report {
    FunnelAdmin,
    FunnelRep,
    Flow,
    FlowOneConnection,
    FlowAggregates,
    Forecast,
    Attention,
    AttentionWhole,
}

impl Report {
    const ALL: [Report; 8] = [
        Report::FunnelAdmin,
        Report::FunnelRep,
        Report::Flow,
        Report::FlowOneConnection,
        Report::FlowAggregates,
        Report::Forecast,
        Report::Attention,
        Report::AttentionWhole,
    ];

    fn label(self) -> &'static str {
        match self {
            Report::FunnelAdmin => "funnel, last full year, admin",
            Report::FunnelRep => "funnel, last full year, one rep",
            Report::Flow => "flow, 26 weeks + 12-week projection + backtest, admin",
            Report::FlowOneConnection => {
                "flow, the same with the backtest in turn on one connection, admin"
            }
            Report::FlowAggregates => "flow aggregates only (inflow and closes per week), admin",
            Report::Forecast => "forecast, 3 months, 10,000 simulations, admin",
            Report::Attention => "attention list, first page of 100, admin",
            Report::AttentionWhole => "attention list, every deal written out, admin",
        }
    }

    /// Reports the target applies to, as the API serves them (the aggregates are a part of the
    /// flow, timed for the comparison with DuckDB; the flow on one connection and the whole
    /// attention list are timed to show what the concurrency and the paging save).
    fn has_target(self) -> bool {
        !matches!(
            self,
            Report::FlowAggregates | Report::FlowOneConnection | Report::AttentionWhole
        )
    }
}

// ---------------------------------------------------------------------------------------
// The fixture: the dataset and a store on it, as the server opens it
// ---------------------------------------------------------------------------------------

struct Fixture {
    rt: tokio::runtime::Runtime,
    store: Store,
    data: Dataset,
}

/// The flow series DuckDB computes too.
#[derive(Debug, Clone, PartialEq)]
struct FlowAggregates {
    inflow: Flow,
    won: Flow,
    won_value: Flow,
    lost: Flow,
}

impl Fixture {
    fn open() -> Fixture {
        // As the server runs: a worker thread per core.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (store, data) = rt.block_on(async {
            let data = generate::sqlite(scale()).await;
            let store = Store::open(&data.url).await.expect("open the dataset");
            (store, data)
        });
        Fixture { rt, store, data }
    }

    fn now(&self) -> Timestamp {
        generate::ts(self.data.now_ms)
    }

    fn ctx(&self, viewer: Viewer) -> Ctx {
        let actor = match viewer {
            Viewer::Admin => Actor::user(self.data.admin, Role::Admin),
            Viewer::Rep => Actor::user(self.data.rep, Role::Rep),
        };
        Ctx::new(actor, self.now())
    }

    fn today(&self) -> Date {
        self.now().to_zoned_datetime(TimeZone::UTC).date()
    }

    /// The last full calendar year before today.
    fn funnel_period(&self) -> Period {
        let args = PeriodArgs {
            year: Some((self.today().year() - 1).to_string()),
            ..Default::default()
        };
        args.resolve(self.today()).expect("a year").expect("given")
    }

    fn flow_period(&self) -> Period {
        let args = PeriodArgs {
            last: Some(FLOW_LAST.into()),
            ..Default::default()
        };
        args.resolve(self.today())
            .expect("a period")
            .expect("given")
    }

    fn simulation() -> Simulation {
        Simulation {
            runs: RUNS,
            ..Simulation::default()
        }
    }

    /// What every report handler does first: a read transaction, the pipeline by its key.
    async fn begin(&self) -> (Tx, throughline_core::PipelineId) {
        let mut tx = self.store.read().await.expect("read");
        let pipeline = pipelines::find(&mut tx, &self.data.pipeline_id.to_string())
            .await
            .expect("find the pipeline")
            .expect("the pipeline");
        (tx, pipeline.id)
    }

    /// `GET /api/v1/reports/funnel?pipeline=…&year=…`
    async fn funnel(&self, viewer: Viewer) -> FunnelReport {
        let ctx = self.ctx(viewer);
        let (mut tx, pipeline) = self.begin().await;
        let _ = settings::time_zone(&mut tx).await.expect("time zone");
        let period = self.funnel_period();
        reports::funnel(
            &mut tx,
            &ctx,
            pipeline,
            period.from,
            period.to,
            &ReportFilter::default(),
            None,
        )
        .await
        .expect("funnel")
    }

    /// `GET /api/v1/reports/flow?pipeline=…` (weekly, last 26 weeks, 12 weeks ahead): the
    /// backtest on a second connection at the same time, as the API runs it; or, with
    /// `one_connection`, everything in turn on one.
    async fn flow(&self, one_connection: bool) -> FlowReport {
        let ctx = self.ctx(Viewer::Admin);
        let (mut tx, pipeline) = self.begin().await;
        let _ = settings::time_zone(&mut tx).await.expect("time zone");
        let request = FlowRequest {
            pipeline_id: pipeline,
            period: self.flow_period(),
            grain: Grain::Week,
            weeks: FLOW_WEEKS,
            simulation: Self::simulation(),
        };
        let filter = ReportFilter::default();
        if one_connection {
            reports::flow_report(&mut tx, &ctx, &request, &filter).await
        } else {
            reports::flow_report_concurrently(&self.store, &mut tx, &ctx, &request, &filter).await
        }
        .expect("flow")
    }

    /// The part of the flow report that the DuckDB baseline computes: inflow and closes per
    /// week over the period, read from the store exactly as `flow_report` reads them.
    async fn flow_aggregates(&self) -> FlowAggregates {
        let ctx = self.ctx(Viewer::Admin);
        let (mut tx, pipeline) = self.begin().await;
        let period = self.flow_period();
        let range = DayRange::dates(period.from, period.to);
        let filter = ReportFilter::default();
        let inflow = reports::inflow_per_day(&mut tx, &ctx, pipeline, range, &filter)
            .await
            .expect("inflow");
        let closed = reports::closed(&mut tx, &ctx, pipeline, range, &filter, Cut::Day)
            .await
            .expect("closes");
        let day = |cut: &str| number_date(cut.parse().expect("a day number"));
        let of = |rows: Vec<(Date, f64)>| flow(&series(period, Grain::Week, &rows));
        FlowAggregates {
            inflow: of(inflow
                .iter()
                .map(|&(d, n)| (number_date(d), n as f64))
                .collect()),
            won: of(closed.iter().map(|r| (day(&r.cut), r.won as f64)).collect()),
            won_value: of(closed
                .iter()
                .map(|r| (day(&r.cut), r.won_value as f64))
                .collect()),
            lost: of(closed
                .iter()
                .map(|r| (day(&r.cut), r.lost as f64))
                .collect()),
        }
    }

    /// `GET /api/v1/reports/forecast?pipeline=…&runs=10000` (monthly, 3 months).
    async fn forecast(&self) -> ForecastReport {
        let ctx = self.ctx(Viewer::Admin);
        let (mut tx, pipeline) = self.begin().await;
        reports::forecast(
            &mut tx,
            &ctx,
            pipeline,
            Grain::Month,
            FORECAST_PERIODS,
            &ReportFilter::default(),
            Self::simulation(),
        )
        .await
        .expect("forecast")
    }

    /// `GET /api/v1/reports/attention?pipeline=…` serves the first page (the whole list
    /// summed up, its first 100 deals written out); `page` picks another.
    async fn attention(&self, page: ListPage) -> AttentionReport {
        let ctx = self.ctx(Viewer::Admin);
        let (mut tx, pipeline) = self.begin().await;
        reports::attention(
            &mut tx,
            &ctx,
            pipeline,
            &ReportFilter::default(),
            ctx.at,
            page,
        )
        .await
        .expect("attention")
    }

    fn run(&self, report: Report) {
        match report {
            Report::FunnelAdmin => drop(self.rt.block_on(self.funnel(Viewer::Admin))),
            Report::FunnelRep => drop(self.rt.block_on(self.funnel(Viewer::Rep))),
            Report::Flow => drop(self.rt.block_on(self.flow(false))),
            Report::FlowOneConnection => drop(self.rt.block_on(self.flow(true))),
            Report::FlowAggregates => drop(self.rt.block_on(self.flow_aggregates())),
            Report::Forecast => drop(self.rt.block_on(self.forecast())),
            Report::Attention => drop(self.rt.block_on(self.attention(ListPage::first(100)))),
            Report::AttentionWhole => drop(self.rt.block_on(self.attention(ListPage::ALL))),
        }
    }
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(Fixture::open)
}

#[divan::bench_group(sample_count = 10, sample_size = 1)]
mod reports_sqlite {
    use super::*;

    #[divan::bench]
    fn funnel_year_admin(b: divan::Bencher) {
        let f = fixture();
        b.bench(|| f.run(Report::FunnelAdmin));
    }

    #[divan::bench]
    fn funnel_year_rep(b: divan::Bencher) {
        let f = fixture();
        b.bench(|| f.run(Report::FunnelRep));
    }

    #[divan::bench]
    fn flow_with_projection(b: divan::Bencher) {
        let f = fixture();
        b.bench(|| f.run(Report::Flow));
    }

    #[divan::bench]
    fn flow_on_one_connection(b: divan::Bencher) {
        let f = fixture();
        b.bench(|| f.run(Report::FlowOneConnection));
    }

    #[divan::bench]
    fn flow_aggregates(b: divan::Bencher) {
        let f = fixture();
        b.bench(|| f.run(Report::FlowAggregates));
    }

    #[divan::bench]
    fn forecast_10k_runs(b: divan::Bencher) {
        let f = fixture();
        b.bench(|| f.run(Report::Forecast));
    }

    #[divan::bench]
    fn attention(b: divan::Bencher) {
        let f = fixture();
        b.bench(|| f.run(Report::Attention));
    }

    #[divan::bench]
    fn attention_whole_list(b: divan::Bencher) {
        let f = fixture();
        b.bench(|| f.run(Report::AttentionWhole));
    }
}

// ---------------------------------------------------------------------------------------
// The summary: medians, the target, and the DuckDB baseline
// ---------------------------------------------------------------------------------------

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn start_ms(day: Date) -> i64 {
    day.to_zoned_datetime(TimeZone::UTC)
        .expect("a day")
        .timestamp()
        .as_millisecond()
}

/// Day after `day`, at midnight UTC, in epoch milliseconds: the end of a period.
fn end_ms(day: Date) -> i64 {
    start_ms(day.tomorrow().expect("a next day"))
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether the DuckDB leg can run: Python with `duckdb`, and `sqlite3` for the export.
fn duckdb_available(python: &str) -> Result<(), String> {
    let py = Command::new(python)
        .args(["-c", "import duckdb"])
        .output()
        .map_err(|e| format!("{python} did not start: {e}"))?;
    if !py.status.success() {
        return Err(format!(
            "{python} has no `duckdb` module (pip install duckdb)"
        ));
    }
    let sqlite = Command::new("sqlite3").arg("--version").output();
    if !sqlite.is_ok_and(|o| o.status.success()) {
        return Err("the `sqlite3` command is not installed (apt-get install sqlite3)".into());
    }
    Ok(())
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_i64().expect("an integer"))
        .collect()
}

/// Nonzero buckets of a flow, as (Monday, value).
fn nonzero(flow: &Flow) -> Vec<(String, i64)> {
    flow.points
        .iter()
        .filter(|p| p.value != 0.0)
        .map(|p| (p.bucket.start.to_string(), p.value.round() as i64))
        .collect()
}

/// Check that DuckDB computed our figures; panics with both sides if not.
fn same_figures(f: &Fixture, duck: &Value) {
    let funnel = f.rt.block_on(f.funnel(Viewer::Admin));
    let d = &duck["funnel"];
    let ours: Vec<Vec<i64>> = funnel
        .total
        .stages
        .iter()
        .filter(|s| s.entered != 0 || s.progressed != 0)
        .map(|s| vec![s.position, s.entered, s.progressed])
        .collect();
    let theirs: Vec<Vec<i64>> = d["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(ints)
        .collect();
    assert_eq!(
        ours, theirs,
        "funnel stages (position, entered, progressed)"
    );
    let o = &funnel.total.outcomes;
    let field = |name: &str| d[name].as_i64().expect("a figure");
    assert_eq!(
        (o.won, o.lost, o.won_value, o.entered, o.entered_won),
        (
            field("won"),
            field("lost"),
            field("won_value"),
            field("entered"),
            field("entered_won")
        ),
        "funnel outcomes (won, lost, won value, entered, entered and won)"
    );

    let flows = f.rt.block_on(f.flow_aggregates());
    let d = &duck["flow"];
    let theirs_inflow: Vec<(String, i64)> = d["inflow"]
        .as_array()
        .expect("inflow")
        .iter()
        .map(|w| {
            (
                w[0].as_str().expect("a week").to_string(),
                w[1].as_i64().expect("a count"),
            )
        })
        .collect();
    assert_eq!(nonzero(&flows.inflow), theirs_inflow, "weekly inflow");
    let ours_won: Vec<(String, i64, i64)> = flows
        .won
        .points
        .iter()
        .zip(&flows.won_value.points)
        .filter(|(n, v)| n.value != 0.0 || v.value != 0.0)
        .map(|(n, v)| {
            (
                n.bucket.start.to_string(),
                n.value.round() as i64,
                v.value.round() as i64,
            )
        })
        .collect();
    let theirs_won: Vec<(String, i64, i64)> = d["won"]
        .as_array()
        .expect("won")
        .iter()
        .map(|w| {
            (
                w[0].as_str().expect("a week").to_string(),
                w[1].as_i64().expect("a count"),
                w[2].as_i64().expect("a value"),
            )
        })
        .filter(|(_, n, v)| *n != 0 || *v != 0)
        .collect();
    assert_eq!(ours_won, theirs_won, "weekly won deals and value");
}

fn summary() {
    let Some(f) = FIXTURE.get() else {
        // A divan filter that ran none of the benchmarks.
        return;
    };
    let d = &f.data;
    let samples: usize = if bench_mode() {
        std::env::var("THROUGHLINE_BENCH_SAMPLES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(15)
    } else {
        1
    };
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("\n{cpu}, {cores} cores; load average {}", load());

    println!("\n## Dataset ({})\n", d.url);
    println!(
        "| deals | open | won | lost | events | spans | delta rows | report rows | activities | users | file |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} MB |",
        d.deals,
        d.open,
        d.won,
        d.lost,
        d.events,
        d.spans,
        d.delta_rows,
        d.report_rows,
        d.activities,
        d.users,
        d.file_bytes as f64 / 1e6
    );
    println!(
        "\nGenerated in {:.0} s. DealWriter: {} rows (deals, events, spans, snapshot deltas, report rows) \
         in {:.1} s = {:.0} rows/s, {:.0} deals/s ({} transactions, batches of {}; write {:.1} s, finish {:.1} s, commit {:.1} s). \
         {} stage round trips added for the event count.",
        d.generation_seconds,
        d.writer_rows,
        d.writer_seconds,
        d.rows_per_second(),
        d.deals as f64 / d.writer_seconds,
        d.transactions,
        d.batch,
        d.write_seconds,
        d.finish_seconds,
        d.commit_seconds,
        d.round_trips
    );

    let funnel = f.funnel_period();
    let flow_period = f.flow_period();
    println!(
        "\nAsked at {} (UTC team time zone): funnel {}..{}, flow {}..{}.",
        f.now(),
        funnel.from,
        funnel.to,
        flow_period.from,
        flow_period.to
    );

    // Each figure in its own run of samples after two warm-up calls.
    println!("\n## Reports (median of {samples} runs each)\n");
    if !bench_mode() {
        println!(
            "Under `cargo test`: an unoptimised build on the tiny dataset, not a measurement.\n"
        );
    }
    println!("| report | median | fastest | slowest | target 300 ms |");
    println!("|---|---:|---:|---:|---|");
    let mut medians = vec![];
    for report in Report::ALL {
        f.run(report);
        f.run(report);
        let times: Vec<Duration> = (0..samples)
            .map(|_| {
                let clock = Instant::now();
                f.run(report);
                clock.elapsed()
            })
            .collect();
        let (lo, hi) = (
            *times.iter().min().expect("samples"),
            *times.iter().max().expect("samples"),
        );
        let m = median(times);
        medians.push((report, m));
        println!(
            "| {} | {} | {} | {} | {} |",
            report.label(),
            ms(m),
            ms(lo),
            ms(hi),
            if !report.has_target() {
                "–"
            } else if !bench_mode() {
                "(test build)"
            } else if m <= TARGET {
                "met"
            } else {
                "MISSED"
            }
        );
    }
    println!("\nLoad average after timing ours: {}", load());

    // The DuckDB baseline, on the same file, now.
    let off = std::env::var("THROUGHLINE_BENCH_DUCKDB").is_ok_and(|v| v.trim() == "0");
    let python = std::env::var("THROUGHLINE_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    if off {
        println!("\nDuckDB baseline skipped (THROUGHLINE_BENCH_DUCKDB=0).");
        return;
    }
    if let Err(why) = duckdb_available(&python) {
        if bench_mode() {
            panic!("the DuckDB baseline cannot run: {why} (THROUGHLINE_BENCH_DUCKDB=0 skips it)");
        }
        println!("\nDuckDB baseline skipped: {why}.");
        return;
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../benches/duckdb_reports.py"
    );
    let file = d.url.strip_prefix("sqlite://").expect("a SQLite dataset");
    let args = [
        script.to_string(),
        file.to_string(),
        d.pipeline_id.to_string(),
        start_ms(funnel.from).to_string(),
        end_ms(funnel.to).to_string(),
        start_ms(flow_period.from).to_string(),
        end_ms(flow_period.to).to_string(),
        samples.to_string(),
    ];
    let clock = Instant::now();
    let out = Command::new(&python)
        .args(&args)
        .output()
        .expect("run benches/duckdb_reports.py");
    assert!(
        out.status.success(),
        "duckdb_reports.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let duck: Value = serde_json::from_slice(&out.stdout).expect("the script's JSON");
    same_figures(f, &duck);
    println!(
        "\n## Against DuckDB {} (same file, same run; {:.0} s with loading)\n",
        duck["duckdb"].as_str().unwrap_or("?"),
        clock.elapsed().as_secs_f64()
    );
    println!("Both computed the same figures (checked before comparing times).\n");
    println!("| aggregates | ours (median) | DuckDB (median) | ours ÷ DuckDB |");
    println!("|---|---:|---:|---:|");
    let ours = |r: Report| {
        medians
            .iter()
            .find(|(x, _)| *x == r)
            .map(|(_, m)| *m)
            .expect("measured")
    };
    for (name, report, key) in [
        (
            "funnel for the year (stages, outcomes, cohort)",
            Report::FunnelAdmin,
            "funnel",
        ),
        (
            "flow: weekly inflow and closes",
            Report::FlowAggregates,
            "flow",
        ),
    ] {
        let theirs = duck[key]["median_ms"].as_f64().expect("a median");
        let mine = ours(report).as_secs_f64() * 1e3;
        println!(
            "| {name} | {mine:.1} ms | {theirs:.1} ms | {:.3} |",
            mine / theirs
        );
    }
    println!("\nLoad average at the end: {}", load());
}

fn main() {
    if std::env::var("THROUGHLINE_BENCH_DRY_RUN").is_ok_and(|v| v == "1") {
        generate::dry_run(scale());
        return;
    }
    if let Ok(dir) = std::env::var("THROUGHLINE_BENCH_DUMP") {
        dump(&dir);
        return;
    }
    if std::env::var("THROUGHLINE_BENCH_PROFILE").is_ok_and(|v| v == "1") {
        profile();
        return;
    }
    divan::main();
    summary();
}

// ---------------------------------------------------------------------------------------
// Profile: the pieces each report is made of, timed one by one (THROUGHLINE_BENCH_PROFILE=1)
// ---------------------------------------------------------------------------------------

fn profile() {
    let f = fixture();
    let ctx = f.ctx(Viewer::Admin);
    let filter = ReportFilter::default();
    let pipeline = f.data.pipeline_id;
    let now = f.now();
    let today = f.today();
    let time = |name: &str, run: &dyn Fn() -> String| {
        run();
        let mut times = vec![];
        let mut what = String::new();
        for _ in 0..3 {
            let clock = Instant::now();
            what = run();
            times.push(clock.elapsed());
        }
        println!("{:>10}  {name}: {what}", ms(median(times)));
    };
    let days = |d: i64| today.checked_sub(jiff::Span::new().days(d)).expect("a day");
    time("stays (all months)", &|| {
        let rows = f.rt.block_on(async {
            let mut tx = f.store.read().await.unwrap();
            reports::stays(&mut tx, pipeline, None).await.unwrap()
        });
        format!("{} rows", rows.len())
    });
    time("learn", &|| {
        let m = f.rt.block_on(async {
            let mut tx = f.store.read().await.unwrap();
            reports::learn(&mut tx, pipeline, now).await.unwrap()
        });
        format!("{} stages", m.stages.len())
    });
    time("open_sim_rows", &|| {
        let rows = f.rt.block_on(async {
            let mut tx = f.store.read().await.unwrap();
            reports::open_sim_rows(&mut tx, &ctx, pipeline, &filter)
                .await
                .unwrap()
        });
        format!("{} rows", rows.len())
    });
    time("won_cycle_days (year)", &|| {
        let rows = f.rt.block_on(async {
            let mut tx = f.store.read().await.unwrap();
            reports::won_cycle_days(
                &mut tx,
                &ctx,
                pipeline,
                DayRange::dates(days(365), today),
                &filter,
            )
            .await
            .unwrap()
        });
        format!("{} rows", rows.len())
    });
    time("closed (year)", &|| {
        let rows = f.rt.block_on(async {
            let mut tx = f.store.read().await.unwrap();
            reports::closed(
                &mut tx,
                &ctx,
                pipeline,
                DayRange::dates(days(365), today),
                &filter,
                Cut::None,
            )
            .await
            .unwrap()
        });
        format!("{} rows", rows.len())
    });
    time("inflow (cohort)", &|| {
        let rows = f.rt.block_on(async {
            let mut tx = f.store.read().await.unwrap();
            reports::inflow(
                &mut tx,
                &ctx,
                Some(pipeline),
                DayRange::dates(days(365), days(91)),
                &filter,
                Cut::None,
            )
            .await
            .unwrap()
        });
        format!("{} rows", rows.len())
    });
    time("backtest", &|| {
        let b = f.rt.block_on(async {
            let mut tx = f.store.read().await.unwrap();
            reports::backtest(&mut tx, &ctx, pipeline, FLOW_WEEKS, Fixture::simulation())
                .await
                .unwrap()
        });
        format!("{:?} deals", b.map(|b| b.deals))
    });
    let learned = f.rt.block_on(async {
        let mut tx = f.store.read().await.unwrap();
        reports::learn(&mut tx, pipeline, now).await.unwrap()
    });
    let open = f.rt.block_on(async {
        let mut tx = f.store.read().await.unwrap();
        reports::open_sim_rows(&mut tx, &ctx, pipeline, &filter)
            .await
            .unwrap()
    });
    time("sim_rows", &|| {
        format!("{} deals", learned.sim_rows(&open, now).len())
    });
    let deals = learned.sim_rows(&open, now);
    time("project (core)", &|| {
        let p = throughline_core::analytics::projection::project(
            &learned.model,
            &throughline_core::analytics::projection::ProjectionRequest {
                today,
                deals: &deals,
                weeks: FLOW_WEEKS,
                pace: throughline_core::analytics::projection::Pace::RecentAverage { per_week: 0 },
                refill: None,
                simulation: Fixture::simulation(),
            },
        )
        .unwrap();
        format!("{} weeks", p.weeks.len())
    });
    for report in Report::ALL {
        time(report.label(), &|| {
            f.run(report);
            String::new()
        });
    }
}

/// Write every report as JSON into `dir` (`THROUGHLINE_BENCH_DUMP=dir`): run before and after
/// a change to the store, `diff -r` shows whether any figure moved.
fn dump(dir: &str) {
    let f = fixture();
    std::fs::create_dir_all(dir).expect("dump directory");
    let write = |name: &str, json: String| {
        std::fs::write(format!("{dir}/{name}.json"), json).expect("write a dump");
        println!("wrote {dir}/{name}.json");
    };
    let pretty = |v: &dyn erased::Ser| v.json();
    write(
        "funnel-admin",
        pretty(&f.rt.block_on(f.funnel(Viewer::Admin))),
    );
    write("funnel-rep", pretty(&f.rt.block_on(f.funnel(Viewer::Rep))));
    write("flow", pretty(&f.rt.block_on(f.flow(false))));
    write("flow-one-connection", pretty(&f.rt.block_on(f.flow(true))));
    write("forecast", pretty(&f.rt.block_on(f.forecast())));
    write(
        "attention",
        pretty(&f.rt.block_on(f.attention(ListPage::ALL))),
    );
}

mod erased {
    pub trait Ser {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> String {
            serde_json::to_string_pretty(self).expect("serialize")
        }
    }
}
