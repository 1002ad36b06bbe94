//! Importing a million deals: `cargo bench -p throughline-transfer --bench import`.
//!
//! Writes (once, seeded) a 1,000,000-row deal export into `target/bench-data/` — a Pipedrive
//! export by default (current stage, created, won and lost times), or with
//! `THROUGHLINE_BENCH_IMPORT_FORMAT=hubspot` a HubSpot export whose five `Date entered`
//! columns carry each deal's stage history — then in the same run times
//! - the baseline: the `sqlite3` command line's `.import` of the same file into a bare table
//!   (no parsing of values, no indexes, no history: the floor of putting those bytes in SQLite);
//! - ours: `throughline_transfer::import::run` into an empty SQLite database, which
//!   recognises the format, parses amounts and dates, resolves owners and companies, and
//!   writes every deal with its events, spans, snapshot deltas and report tables.
//!
//! Prints both times, the ratio, rows/s and the process's peak memory. Environment:
//! `THROUGHLINE_BENCH_IMPORT_ROWS` (default 1,000,000), `THROUGHLINE_BENCH_IMPORT_RUNS` (default
//! 1; with more, each run is printed and the medians compared), `THROUGHLINE_BENCH_DATA`.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use throughline_core::Actor;
use throughline_store::{Ctx, Store};
use throughline_transfer::import::{self, ImportOptions, Kind, Mapping, Silent};

/// As the `throughline` binary runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const STAGES: [&str; 5] = [
    "Appointment Scheduled",
    "Qualified To Buy",
    "Presentation Scheduled",
    "Decision Maker Bought-In",
    "Contract Sent",
];

fn data_dir() -> PathBuf {
    std::env::var_os("THROUGHLINE_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data"))
}

fn date_time(ms: i64) -> String {
    let ts = jiff::Timestamp::from_millisecond(ms).expect("in range");
    ts.strftime("%Y-%m-%d %H:%M").to_string()
}

/// One deal of the generated history: created, entering the first stages in order, and
/// leaving won, lost or still open.
struct Generated {
    created: i64,
    entered: Vec<i64>,
    outcome: Option<(bool, i64)>,
    amount: i64,
    owner: u32,
    company: u32,
}

fn deal(rng: &mut ChaCha8Rng, i: u64, rows: u64) -> Generated {
    let start: i64 = 1_640_995_200_000; // 2022-01-01
    let span: i64 = 3 * 365 * 86_400_000;
    let day = 86_400_000i64;
    let created = start + (i as i64 * span) / rows as i64 + rng.random_range(0..3_600_000);
    let reached = rng.random_range(1..=STAGES.len());
    let mut at = created;
    let mut entered = Vec::with_capacity(reached);
    for _ in 0..reached {
        entered.push(at);
        at += rng.random_range(day / 2..20 * day);
    }
    let roll: f64 = rng.random();
    let outcome = if roll < 0.25 {
        Some((true, at))
    } else if roll < 0.85 {
        Some((false, at))
    } else {
        None
    };
    Generated {
        created,
        entered,
        outcome,
        amount: rng.random_range(5..500) * 100,
        owner: rng.random_range(0..60),
        company: rng.random_range(0..20_000),
    }
}

/// Pipedrive's layout: the stage a deal is in (or closed in), and its dates.
fn generate_pipedrive(path: &Path, rows: u64) -> std::io::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(
        out,
        "Deal - ID,Deal - Title,Deal - Value,Deal - Currency of value,Deal - Pipeline,Deal - Stage,Deal - Status,Deal - Owner,Deal - Organization,Deal - Deal created,Deal - Won time,Deal - Lost time,Deal - Lost reason"
    )?;
    for i in 0..rows {
        let d = deal(&mut rng, i, rows);
        let stage = STAGES[d.entered.len() - 1];
        let (status, won, lost, reason) = match d.outcome {
            Some((true, at)) => ("won", date_time(at), String::new(), ""),
            Some((false, at)) => ("lost", String::new(), date_time(at), "No budget"),
            None => ("open", String::new(), String::new(), ""),
        };
        writeln!(
            out,
            "{},Deal {i},{}.00,USD,Sales Pipeline,{stage},{status},owner{}@example.com,Company {},{},{won},{lost},{reason}",
            10_000_000 + i,
            d.amount,
            d.owner,
            d.company,
            date_time(d.created),
        )?;
    }
    out.flush()
}

/// HubSpot's layout, with the stage history in the `Date entered` columns.
fn generate_hubspot(path: &Path, rows: u64) -> std::io::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    write!(
        out,
        "Record ID,Deal Name,Deal Stage,Pipeline,Amount,Close Date,Create Date,Deal owner,Associated Company"
    )?;
    for s in STAGES {
        write!(out, ",\"Date entered \"\"{s} (Sales Pipeline)\"\"\"")?;
    }
    writeln!(out)?;
    for i in 0..rows {
        let d = deal(&mut rng, i, rows);
        let (stage, close) = match d.outcome {
            Some((true, at)) => ("Closed Won", Some(at)),
            Some((false, at)) => ("Closed Lost", Some(at)),
            None => (STAGES[d.entered.len() - 1], None),
        };
        let entered = d.entered;
        write!(
            out,
            "{},Deal {},{},Sales Pipeline,{}.00,{},{},owner{}@example.com,Company {}",
            10_000_000 + i,
            i,
            stage,
            d.amount,
            close.map(date_time).unwrap_or_default(),
            date_time(d.created),
            d.owner,
            d.company,
        )?;
        for s in 0..STAGES.len() {
            match entered.get(s) {
                Some(&t) => write!(out, ",{}", date_time(t))?,
                None => write!(out, ",")?,
            }
        }
        writeln!(out)?;
    }
    out.flush()
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() {
    if let Ok(filter) = std::env::var("THROUGHLINE_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .init();
    }
    // `cargo test --benches` runs this with --test-less flags; keep that quick.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let rows: u64 = std::env::var("THROUGHLINE_BENCH_IMPORT_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if smoke { 2_000 } else { 1_000_000 });
    let dir = data_dir();
    std::fs::create_dir_all(&dir).expect("bench data directory");
    let hubspot = std::env::var("THROUGHLINE_BENCH_IMPORT_FORMAT").as_deref() == Ok("hubspot");
    let name = if hubspot { "hubspot" } else { "pipedrive" };
    let csv = dir.join(format!("{name}-deals-{rows}.csv"));
    if !csv.exists() {
        let t = Instant::now();
        let partial = csv.with_extension("partial");
        if hubspot {
            generate_hubspot(&partial, rows).expect("write the CSV");
        } else {
            generate_pipedrive(&partial, rows).expect("write the CSV");
        }
        std::fs::rename(&partial, &csv).expect("rename the CSV");
        eprintln!(
            "generated {} in {:.1} s",
            csv.display(),
            t.elapsed().as_secs_f64()
        );
    }
    let bytes = std::fs::metadata(&csv).map(|m| m.len()).unwrap_or(0);

    let runs: usize = std::env::var("THROUGHLINE_BENCH_IMPORT_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1);
    // Baseline and ours alternate, so that both see the machine as it is in each run.
    let mut baselines = vec![];
    let mut times = vec![];
    let mut report = None;
    for run in 1..=runs {
        let baseline = run_baseline(&dir, &csv);
        let (ours, last) = run_ours(&dir, &csv);
        if runs > 1 {
            println!(
                "  run {run}: sqlite3 {}, throughline {ours:.2} s",
                baseline.map_or("n/a".into(), |b| format!("{b:.2} s"))
            );
        }
        baselines.extend(baseline);
        times.push(ours);
        report = Some(last);
    }
    let report = report.expect("at least one run");
    let baseline = median(&mut baselines);
    let ours = median(&mut times).expect("at least one run");
    assert!(
        report.committed,
        "the import was not committed: {:?}",
        report.rejected.first()
    );
    assert_eq!(report.created, rows, "every row becomes a deal");

    println!(
        "import of {rows} {name} deal rows ({:.0} MB)",
        bytes as f64 / 1e6
    );
    let of = if runs > 1 {
        format!(" (median of {runs})")
    } else {
        String::new()
    };
    match baseline {
        Some(b) => println!("  sqlite3 .import into a bare table: {b:.2} s{of}"),
        None => println!("  sqlite3 .import: not available"),
    }
    println!(
        "  throughline import:                {ours:.2} s{of} ({:.0} rows/s), {} users created",
        rows as f64 / ours,
        report.users_created.len()
    );
    if let Some(b) = baseline {
        println!("  ratio ours / sqlite3:              {:.2}", ours / b);
    }
    if let Some(mib) = peak_rss_mib() {
        println!("  peak memory of this process:       {mib:.0} MiB");
    }
}

/// The middle value (the mean of the two middle ones for an even count).
fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// The `sqlite3` command line's `.import` of the file into a bare table: seconds, or `None`
/// where the command is missing or fails.
fn run_baseline(dir: &Path, csv: &Path) -> Option<f64> {
    let bare = dir.join("import-baseline.db");
    let _ = std::fs::remove_file(&bare);
    let t = Instant::now();
    let status = Command::new("sqlite3")
        .arg(&bare)
        .arg("-cmd")
        .arg(".mode csv")
        .arg(format!(".import {} deals", csv.display()))
        .status();
    let baseline = t.elapsed().as_secs_f64();
    matches!(status, Ok(s) if s.success()).then_some(baseline)
}

/// Our import of the file into an empty database: seconds and the import's report.
fn run_ours(dir: &Path, csv: &Path) -> (f64, import::ImportReport) {
    let db = dir.join("import-ours.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        // As `throughline import` opens it: one connection.
        let store = Store::open_single(&format!("sqlite://{}", db.display()))
            .await
            .expect("open the database");
        let options = ImportOptions {
            kind: Kind::Deals,
            mapping: Mapping {
                currency: Some("USD".into()),
                ..Mapping::default()
            },
            dry_run: false,
            partial: false,
        };
        let t = Instant::now();
        let report = import::run(&store, Ctx::now(Actor::SYSTEM), csv, &options, &Silent)
            .await
            .expect("import");
        let elapsed = t.elapsed().as_secs_f64();
        store.close().await;
        (elapsed, report)
    })
}
