//! The snapshot at a past instant, at realistic and at large scale, against the obvious query.
//!
//! `cargo bench -p throughline-store --bench snapshot` generates (once, then cached under
//! `target/bench-data`) a 3,000-deal and a 100,000-deal / 1,000,000+-event history through the
//! store's own operations, times the snapshot early, midway and late in the history and at now,
//! as an admin and as a rep, and times in the same run the baseline: the same tallies by the
//! obvious SQL over `deal_spans` (every span open at T). A summary table with medians and the
//! ratio ours ÷ baseline is printed at the end. See BENCHMARKS.md.
//!
//! Environment: `THROUGHLINE_BENCH_SCALES=realistic,large` picks the SQLite datasets (default
//! both); `THROUGHLINE_BENCH_POSTGRES` names the PostgreSQL server for the realistic-scale
//! PostgreSQL leg (default the local one; `0` skips it); `THROUGHLINE_BENCH_SAMPLES` sets the
//! summary's samples per figure (default 15).
//!
//! Under `cargo test` (no `--bench`), every benchmark runs once on a tiny dataset and the
//! summary checks that our figures equal the baseline's, so the benchmark cannot rot.

mod generate;

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use generate::{Dataset, Scale};
use jiff::Timestamp;
use throughline_core::snapshot::{Snapshot, Tally};
use throughline_core::{Actor, Role, StageId};
use throughline_store::{Ctx, Store, snapshot};

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

// ---------------------------------------------------------------------------------------
// What is measured
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    /// A tenth of the way into the history.
    Early,
    Middle,
    /// Nine tenths of the way in.
    Late,
    /// The real present (after the generated history's end).
    Now,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Viewer {
    Admin,
    Rep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Point(When, Viewer);

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let when = match self.0 {
            When::Early => "early",
            When::Middle => "middle",
            When::Late => "late",
            When::Now => "now",
        };
        let who = match self.1 {
            Viewer::Admin => "admin",
            Viewer::Rep => "rep",
        };
        write!(f, "{when}/{who}")
    }
}

const POINTS: [Point; 8] = [
    Point(When::Early, Viewer::Admin),
    Point(When::Early, Viewer::Rep),
    Point(When::Middle, Viewer::Admin),
    Point(When::Middle, Viewer::Rep),
    Point(When::Late, Viewer::Admin),
    Point(When::Late, Viewer::Rep),
    Point(When::Now, Viewer::Admin),
    Point(When::Now, Viewer::Rep),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    SqliteRealistic,
    SqliteLarge,
    PostgresRealistic,
    /// Opt-in (`THROUGHLINE_BENCH_POSTGRES_LARGE=1`): generating it takes a long while.
    PostgresLarge,
}

impl Kind {
    const ALL: [Kind; 4] = [
        Kind::SqliteRealistic,
        Kind::SqliteLarge,
        Kind::PostgresRealistic,
        Kind::PostgresLarge,
    ];

    fn label(self) -> &'static str {
        match self {
            Kind::SqliteRealistic => "SQLite",
            Kind::SqliteLarge => "SQLite",
            Kind::PostgresRealistic | Kind::PostgresLarge => "PostgreSQL",
        }
    }

    /// Under `cargo test`, every kind runs on the tiny dataset.
    fn scale(self) -> Scale {
        if !bench_mode() {
            return Scale::Tiny;
        }
        match self {
            Kind::SqliteRealistic | Kind::PostgresRealistic => Scale::Realistic,
            Kind::SqliteLarge | Kind::PostgresLarge => Scale::Large,
        }
    }

    fn enabled(self) -> bool {
        let set_to = |var: &str, value: &str| std::env::var(var).is_ok_and(|v| v.trim() == value);
        match self {
            // Under `cargo test`, follow the test suites' switch.
            Kind::PostgresRealistic if !bench_mode() => !set_to("THROUGHLINE_SKIP_POSTGRES", "1"),
            Kind::PostgresRealistic => !set_to("THROUGHLINE_BENCH_POSTGRES", "0"),
            Kind::PostgresLarge => {
                bench_mode()
                    && !set_to("THROUGHLINE_BENCH_POSTGRES", "0")
                    && set_to("THROUGHLINE_BENCH_POSTGRES_LARGE", "1")
            }
            // The two SQLite kinds are the same tiny dataset under `cargo test`: run it once.
            Kind::SqliteLarge if !bench_mode() => false,
            _ if !bench_mode() => true,
            _ => {
                let scale = if self == Kind::SqliteLarge {
                    "large"
                } else {
                    "realistic"
                };
                std::env::var("THROUGHLINE_BENCH_SCALES")
                    .map_or(true, |s| s.split(',').any(|s| s.trim() == scale))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Fixtures: a dataset, a store on it, and a plain pool for the baseline query
// ---------------------------------------------------------------------------------------

enum Plain {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

struct Fixture {
    kind: Kind,
    rt: tokio::runtime::Runtime,
    store: Store,
    plain: Plain,
    data: Dataset,
}

type Tallies = HashMap<StageId, Tally>;

/// The obvious query: every span open at T (`$4`), per stage, for what the actor (`$1` role,
/// `$2` user) may see: the same visibility rule as the store's `visible_owner`.
const BASELINE: &str = "SELECT stage_id, COUNT(*), CAST(SUM(value) AS BIGINT) FROM deal_spans
     WHERE pipeline_id = $3 AND valid_from <= $4 AND (valid_to IS NULL OR valid_to > $4)
       AND ($1 = 'admin' OR owner_id = $2 OR ($1 = 'manager' AND owner_id IN
            (SELECT su.id FROM users su JOIN teams st ON st.id = su.team_id WHERE st.manager_id = $2)))
     GROUP BY stage_id";

impl Fixture {
    fn open(kind: Kind) -> Fixture {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (store, plain, data) = rt.block_on(async {
            let data = match kind {
                Kind::PostgresRealistic | Kind::PostgresLarge => {
                    let server = std::env::var("THROUGHLINE_BENCH_POSTGRES")
                        .ok()
                        .filter(|v| v.starts_with("postgres"))
                        .unwrap_or_else(|| DEFAULT_POSTGRES.into());
                    generate::postgres(&server, kind.scale()).await
                }
                _ => generate::sqlite(kind.scale()).await,
            };
            let store = Store::open(&data.url).await.expect("open the dataset");
            let plain = match kind {
                Kind::PostgresRealistic | Kind::PostgresLarge => {
                    let pool = sqlx::PgPool::connect(&data.url).await.expect("connect");
                    // A production server's autovacuum would long since have cleared the dead
                    // row versions the generator's updates left and gathered statistics; the
                    // test server here runs with autovacuum off, so do once what it would do.
                    sqlx::query("VACUUM ANALYZE")
                        .execute(&pool)
                        .await
                        .expect("vacuum");
                    Plain::Postgres(pool)
                }
                _ => Plain::Sqlite(sqlx::SqlitePool::connect(&data.url).await.expect("connect")),
            };
            (store, plain, data)
        });
        Fixture {
            kind,
            rt,
            store,
            plain,
            data,
        }
    }

    fn at(&self, when: When) -> Timestamp {
        let span = self.data.end_ms - self.data.start_ms;
        let ms = match when {
            When::Early => self.data.start_ms + span / 10,
            When::Middle => self.data.start_ms + span / 2,
            When::Late => self.data.start_ms + span / 10 * 9,
            When::Now => return Timestamp::now(),
        };
        Timestamp::from_millisecond(ms).expect("instant in range")
    }

    fn actor(&self, viewer: Viewer) -> Actor {
        match viewer {
            Viewer::Admin => Actor::user(self.data.admin, Role::Admin),
            Viewer::Rep => Actor::user(self.data.rep, Role::Rep),
        }
    }

    /// Ours, as a page would call it: a read transaction and the whole snapshot.
    async fn snapshot(&self, p: Point) -> Snapshot {
        let at = self.at(p.0);
        let mut tx = self.store.read().await.expect("read");
        snapshot::snapshot(
            &mut tx,
            &Ctx::new(self.actor(p.1), at),
            self.data.pipeline_id,
            at,
        )
        .await
        .expect("snapshot")
    }

    /// Ours, the tallies only: what the baseline computes.
    async fn tallies(&self, p: Point) -> Tallies {
        let at = self.at(p.0);
        let mut tx = self.store.read().await.expect("read");
        snapshot::tallies(
            &mut tx,
            &Ctx::new(self.actor(p.1), at),
            self.data.pipeline_id,
            at,
        )
        .await
        .expect("tallies")
    }

    async fn baseline(&self, p: Point) -> Tallies {
        let at = self.at(p.0).as_millisecond();
        let actor = self.actor(p.1);
        let role = actor.role.as_str();
        let user = actor.user_id.map(|u| u.to_string());
        let pipeline = self.data.pipeline_id.to_string();
        let rows: Vec<(String, i64, i64)> = match &self.plain {
            Plain::Sqlite(pool) => {
                sqlx::query_as(BASELINE)
                    .bind(role)
                    .bind(user)
                    .bind(pipeline)
                    .bind(at)
                    .fetch_all(pool)
                    .await
            }
            Plain::Postgres(pool) => {
                sqlx::query_as(BASELINE)
                    .bind(role)
                    .bind(user)
                    .bind(pipeline)
                    .bind(at)
                    .fetch_all(pool)
                    .await
            }
        }
        .expect("baseline query");
        rows.into_iter()
            .map(|(stage, count, value)| {
                let stage = stage.parse().expect("stage id");
                (stage, Tally { count, value })
            })
            .filter(|(_, t)| t.count != 0 || t.value != 0)
            .collect()
    }
}

static FIXTURES: [OnceLock<Option<Fixture>>; 4] = [const { OnceLock::new() }; 4];

/// The fixture of `kind`, opened (and its dataset generated) on first use; `None` if the kind
/// is switched off.
fn fixture(kind: Kind) -> Option<&'static Fixture> {
    let slot = Kind::ALL.iter().position(|k| *k == kind).expect("a kind");
    FIXTURES[slot]
        .get_or_init(|| kind.enabled().then(|| Fixture::open(kind)))
        .as_ref()
}

#[derive(Debug, Clone, Copy)]
enum Method {
    Snapshot,
    Tallies,
    Baseline,
}

fn bench(b: divan::Bencher, kind: Kind, p: Point, method: Method) {
    let Some(f) = fixture(kind) else { return };
    match method {
        Method::Snapshot => b.bench(|| f.rt.block_on(f.snapshot(p))),
        Method::Tallies => b.bench(|| f.rt.block_on(f.tallies(p))),
        Method::Baseline => b.bench(|| f.rt.block_on(f.baseline(p))),
    }
}

#[divan::bench_group(sample_count = 30, sample_size = 1)]
mod sqlite_realistic {
    use super::*;

    #[divan::bench(args = POINTS)]
    fn snapshot(b: divan::Bencher, p: Point) {
        bench(b, Kind::SqliteRealistic, p, Method::Snapshot)
    }

    #[divan::bench(args = POINTS)]
    fn baseline(b: divan::Bencher, p: Point) {
        bench(b, Kind::SqliteRealistic, p, Method::Baseline)
    }
}

#[divan::bench_group(sample_count = 20, sample_size = 1)]
mod sqlite_large {
    use super::*;

    #[divan::bench(args = POINTS)]
    fn snapshot(b: divan::Bencher, p: Point) {
        bench(b, Kind::SqliteLarge, p, Method::Snapshot)
    }

    #[divan::bench(args = POINTS)]
    fn tallies(b: divan::Bencher, p: Point) {
        bench(b, Kind::SqliteLarge, p, Method::Tallies)
    }

    #[divan::bench(args = POINTS, sample_count = 8)]
    fn baseline(b: divan::Bencher, p: Point) {
        bench(b, Kind::SqliteLarge, p, Method::Baseline)
    }
}

#[divan::bench_group(sample_count = 30, sample_size = 1)]
mod postgres_realistic {
    use super::*;

    #[divan::bench(args = POINTS)]
    fn snapshot(b: divan::Bencher, p: Point) {
        bench(b, Kind::PostgresRealistic, p, Method::Snapshot)
    }

    #[divan::bench(args = POINTS)]
    fn baseline(b: divan::Bencher, p: Point) {
        bench(b, Kind::PostgresRealistic, p, Method::Baseline)
    }
}

#[divan::bench_group(sample_count = 20, sample_size = 1)]
mod postgres_large {
    use super::*;

    #[divan::bench(args = POINTS)]
    fn snapshot(b: divan::Bencher, p: Point) {
        bench(b, Kind::PostgresLarge, p, Method::Snapshot)
    }

    #[divan::bench(args = POINTS, sample_count = 8)]
    fn baseline(b: divan::Bencher, p: Point) {
        bench(b, Kind::PostgresLarge, p, Method::Baseline)
    }
}

// ---------------------------------------------------------------------------------------
// The summary: medians per figure, and the ratio to the baseline
// ---------------------------------------------------------------------------------------

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn file_size(url: &str) -> String {
    url.strip_prefix("sqlite://")
        .and_then(|path| std::fs::metadata(path).ok())
        .map(|m| format!("{:.0} MB", m.len() as f64 / 1e6))
        .unwrap_or_else(|| "-".into())
}

fn summary() {
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
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("\n{cpu}, {cores} cores; load average {}", load.trim());
    println!("\n## Datasets\n");
    println!(
        "| backend | scale | deals | events | spans | delta rows | users | file | generated in |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    // Only the datasets the benchmarks above used (a name filter given to divan narrows both).
    let kinds: Vec<&Fixture> = FIXTURES
        .iter()
        .filter_map(|f| f.get().and_then(Option::as_ref))
        .collect();
    for f in &kinds {
        let d = &f.data;
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.0} s |",
            f.kind.label(),
            d.scale.name(),
            d.deals,
            d.events,
            d.spans,
            d.delta_rows,
            d.users,
            file_size(&d.url),
            d.generation_seconds
        );
    }
    println!("\n## Snapshot (median of {samples} runs each)\n");
    println!(
        "| backend | scale | instant | viewer | open deals | snapshot | tallies | baseline | tallies ÷ baseline |"
    );
    println!("|---|---|---|---|---:|---:|---:|---:|---:|");
    for f in &kinds {
        for p in POINTS {
            // Same figures both ways, or the timing means nothing.
            let ours = f.rt.block_on(f.tallies(p));
            let theirs = f.rt.block_on(f.baseline(p));
            assert_eq!(
                ours,
                theirs,
                "{} {}: the snapshot disagrees with the baseline",
                f.kind.label(),
                p
            );
            let open: i64 = ours.values().map(|t| t.count).sum();
            // Each figure in its own run of samples after two warm-up calls: interleaving them
            // made every snapshot pay for the cache the baseline's scan had just churned.
            let time = |method: Method| {
                let run = || match method {
                    Method::Snapshot => drop(f.rt.block_on(f.snapshot(p))),
                    Method::Tallies => drop(f.rt.block_on(f.tallies(p))),
                    Method::Baseline => drop(f.rt.block_on(f.baseline(p))),
                };
                run();
                run();
                (0..samples)
                    .map(|_| {
                        let clock = Instant::now();
                        run();
                        clock.elapsed()
                    })
                    .collect::<Vec<_>>()
            };
            let (s, t, b) = (
                time(Method::Snapshot),
                time(Method::Tallies),
                time(Method::Baseline),
            );
            let (s, t, b) = (median(s), median(t), median(b));
            println!(
                "| {} | {} | {} | {} | {open} | {} | {} | {} | {:.3} |",
                f.kind.label(),
                f.data.scale.name(),
                match p.0 {
                    When::Now => "now".to_string(),
                    w => format!("{w:?} ({})", f.at(w).strftime("%Y-%m-%d")).to_lowercase(),
                },
                match p.1 {
                    Viewer::Admin => "admin",
                    Viewer::Rep => "rep",
                },
                ms(s),
                ms(t),
                ms(b),
                t.as_secs_f64() / b.as_secs_f64()
            );
        }
    }
}

fn main() {
    divan::main();
    summary();
}
