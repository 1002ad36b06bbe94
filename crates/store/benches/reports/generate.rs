//! A million deals with their whole histories, written through `bulk::DealWriter` the way an
//! import would write them: deals, events, spans, snapshot deltas and report-table rows.
//!
//! Deterministic (seeded) and cached: the dataset lives under
//! `target/bench-data/reports-{scale}.db` (`reports-1m.db` at full size) with a `.json` file
//! beside it describing it. A dataset whose description is missing or of another
//! [`GENERATOR_VERSION`] is regenerated. Bump the version whenever the generated history, or
//! what the bulk writer or the reports read (an edited migration, the report tables),
//! changes. New migrations need no bump: opening a dataset applies them, as it would to a
//! user's database.
//!
//! The history: one pipeline of seven stages, deals arriving over three years, more each year
//! and with the seasons (slow in August and late December, busy in spring and autumn), mostly
//! on weekdays in office hours. Most deals start in the first stage, some (referrals,
//! partners) one stage further in; each spends an Erlang-2 distributed time in every stage and
//! then goes on to the next (4 % skip one), or is lost there; from the last stage it is won or
//! lost. A few deals stall and are never touched again (they stay open, rotting). Values are
//! log-normal. Plain histories like that give about five events per deal (creation, a few
//! stage changes, the close); to reach the ten million events the benchmark asks for, deals
//! in the later stages go back and forth: in each stay from Discovery on, a Poisson number of
//! times the deal steps back one stage (the demo must be redone, the proposal reworked after
//! negotiation) and returns a few days later. Those round trips are half of all events.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use throughline_core::activity::{ActivityKind, NewActivity};
use throughline_core::deal::{CustomFields, Deal, DealStatus};
use throughline_core::pipeline::{NewPipeline, NewStage, Stage};
use throughline_core::time::MS_PER_DAY;
use throughline_core::{Actor, Currency, DealId, PipelineId, Role, UserId};
use throughline_store::bulk::{DealWriter, ImportedDeal};
use throughline_store::users::{self, NewUser};
use throughline_store::{Ctx, Result, Store, Tx, activities, pipelines};

/// Bump when the generated history, or the layout the reports read, changes.
pub const GENERATOR_VERSION: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// A couple of thousand deals: what `cargo test --bench reports` runs to check the
    /// benchmark still works.
    Tiny,
    /// A million deals and about ten million events.
    Million,
}

impl Scale {
    pub fn name(self) -> &'static str {
        match self {
            Scale::Tiny => "tiny",
            Scale::Million => "1m",
        }
    }

    pub fn deals(self) -> usize {
        match self {
            Scale::Tiny => 2_000,
            Scale::Million => 1_000_000,
        }
    }

    /// Deals per `DealWriter::write` call.
    fn batch(self) -> usize {
        match self {
            Scale::Tiny => 500,
            Scale::Million => 10_000,
        }
    }

    /// Deals per transaction (each with its own `DealWriter`, finished before the commit).
    /// The million goes in one, as a first import into a new installation would (the writer
    /// then builds the history's indexes once at the end); the tiny dataset in two, so that
    /// the smoke test also goes through a load into tables that already hold deals.
    fn per_tx(self) -> usize {
        match self {
            Scale::Tiny => 1_000,
            Scale::Million => 1_000_000,
        }
    }

    fn teams(self) -> usize {
        match self {
            Scale::Tiny => 2,
            Scale::Million => 4,
        }
    }

    fn reps_per_team(self) -> usize {
        match self {
            Scale::Tiny => 3,
            Scale::Million => 8,
        }
    }

    /// Open activities (next steps) on recent open deals, and deals with a heavy record of
    /// done activities.
    fn activities(self) -> (usize, usize) {
        match self {
            Scale::Tiny => (40, 5),
            Scale::Million => (4_000, 500),
        }
    }

    /// The events the dataset must hold at least (the benchmark's stated size).
    fn min_events(self) -> i64 {
        match self {
            Scale::Million => 10_000_000,
            Scale::Tiny => 0,
        }
    }

    fn seed(self) -> u64 {
        0x7432_0000 + self as u64
    }
}

/// What a generated dataset holds, and what the benchmark needs to query it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dataset {
    pub generator_version: u32,
    pub scale: Scale,
    pub url: String,
    pub pipeline_id: PipelineId,
    pub admin: UserId,
    /// A rep with a middling share of the deals, for scoped reports.
    pub rep: UserId,
    /// The history runs from `start_ms` to `end_ms` (epoch milliseconds); the reports are
    /// asked at `now_ms`, just after its end.
    pub start_ms: i64,
    pub end_ms: i64,
    pub now_ms: i64,
    /// Counted from the database.
    pub deals: i64,
    pub open: i64,
    pub won: i64,
    pub lost: i64,
    pub events: i64,
    pub spans: i64,
    pub delta_rows: i64,
    pub report_rows: i64,
    pub activities: i64,
    pub users: i64,
    /// Stage round trips added to reach the event count (each is two stage changes).
    pub round_trips: u64,
    pub file_bytes: u64,
    /// The whole generation, setup to the final checkpoint.
    pub generation_seconds: f64,
    /// Inside `DealWriter`: `write` calls, `finish` calls, and the commits after them.
    pub writer_seconds: f64,
    pub write_seconds: f64,
    pub finish_seconds: f64,
    pub commit_seconds: f64,
    /// Rows `DealWriter` wrote: deals + events + spans + snapshot delta rows + report rows
    /// (counted from the database before activities were added).
    pub writer_rows: i64,
    pub transactions: usize,
    pub batch: usize,
}

impl Dataset {
    /// The rows `DealWriter` wrote per second, over its writes, finishes and commits.
    pub fn rows_per_second(&self) -> f64 {
        self.writer_rows as f64 / self.writer_seconds
    }
}

/// Where cached datasets live: `target/bench-data`, found from the running executable
/// (`target/<profile>/deps/<bench>`) so that a custom `CARGO_TARGET_DIR` is honoured.
pub fn data_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("THROUGHLINE_BENCH_DATA") {
        return PathBuf::from(dir);
    }
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors()
            .find(|p| p.file_name().is_some_and(|n| n == "target"))
            .map(Path::to_path_buf)
    });
    from_exe
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("bench-data")
}

fn read_meta(path: &Path) -> Option<Dataset> {
    let text = std::fs::read_to_string(path).ok()?;
    let meta: Dataset = serde_json::from_str(&text).ok()?;
    (meta.generator_version == GENERATOR_VERSION).then_some(meta)
}

fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// The SQLite dataset of `scale`, generated on first use.
pub async fn sqlite(scale: Scale) -> Dataset {
    let dir = data_dir();
    std::fs::create_dir_all(&dir).expect("create the bench data directory");
    let db = dir.join(format!("reports-{}.db", scale.name()));
    let meta = dir.join(format!("reports-{}.json", scale.name()));
    if let Some(mut found) = read_meta(&meta).filter(|_| db.exists()) {
        // The size now: migrations since the generation may have added indexes and tables.
        found.file_bytes = std::fs::metadata(&db).map_or(found.file_bytes, |m| m.len());
        return found;
    }
    // Stale: another generator version, or an unfinished run.
    let _ = std::fs::remove_file(&meta);
    remove_db(&db);
    let _ = std::fs::remove_dir_all(format!("{}.duckdb-csv", db.display()));
    // Generate into a side file and rename at the end, so an interrupted run never leaves a
    // half-written dataset that a later run would take for a complete one.
    let partial = dir.join(format!("reports-{}.db.partial", scale.name()));
    remove_db(&partial);
    let url = format!("sqlite://{}", partial.display());
    let started = Instant::now();
    let store = Store::open(&url).await.expect("open the SQLite dataset");
    let mut dataset = generate(&store, &url, scale, started)
        .await
        .expect("generate the dataset");
    store.close().await;
    // Leave one self-contained file (the write-ahead log folded in), still in WAL mode as
    // the product opens it, so opening it for reading does not rewrite its header.
    let pool = sqlx::SqlitePool::connect(&url).await.expect("reopen");
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await
        .expect("checkpoint");
    pool.close().await;
    remove_db(&PathBuf::from(format!("{}-wal", partial.display())));
    std::fs::rename(&partial, &db).expect("move the dataset in place");
    dataset.generation_seconds = started.elapsed().as_secs_f64();
    dataset.file_bytes = std::fs::metadata(&db).map_or(0, |m| m.len());
    dataset.url = format!("sqlite://{}", db.display());
    std::fs::write(&meta, serde_json::to_string_pretty(&dataset).unwrap()).expect("write meta");
    dataset
}

// ---------------------------------------------------------------------------------------
// The history
// ---------------------------------------------------------------------------------------

/// name, probability %, rot days, mean days in the stage, share that goes on (from the last
/// stage: that is won), chance per stay of stalling there for good, mean round trips back to
/// the previous stage per stay.
struct StageSpec {
    name: &'static str,
    probability: i64,
    rot_days: i64,
    mean_days: f64,
    go_on: f64,
    stall: f64,
    round_trips: f64,
}

const STAGES: [StageSpec; 7] = [
    StageSpec {
        name: "Lead in",
        probability: 5,
        rot_days: 14,
        mean_days: 5.0,
        go_on: 0.80,
        stall: 0.045,
        round_trips: 0.0,
    },
    StageSpec {
        name: "Qualified",
        probability: 10,
        rot_days: 21,
        mean_days: 8.0,
        go_on: 0.80,
        stall: 0.035,
        round_trips: 0.0,
    },
    StageSpec {
        name: "Discovery",
        probability: 20,
        rot_days: 21,
        mean_days: 10.0,
        go_on: 0.84,
        stall: 0.03,
        round_trips: 1.2,
    },
    StageSpec {
        name: "Demo",
        probability: 40,
        rot_days: 30,
        mean_days: 12.0,
        go_on: 0.85,
        stall: 0.025,
        round_trips: 1.45,
    },
    StageSpec {
        name: "Proposal",
        probability: 60,
        rot_days: 30,
        mean_days: 14.0,
        go_on: 0.86,
        stall: 0.02,
        round_trips: 1.75,
    },
    StageSpec {
        name: "Negotiation",
        probability: 80,
        rot_days: 30,
        mean_days: 10.0,
        go_on: 0.88,
        stall: 0.02,
        round_trips: 1.75,
    },
    StageSpec {
        name: "Contract sent",
        probability: 90,
        rot_days: 14,
        mean_days: 6.0,
        go_on: 0.86,
        stall: 0.015,
        round_trips: 0.8,
    },
];

const LOST_REASONS: [&str; 6] = [
    "Went with a competitor",
    "No budget this year",
    "No decision",
    "Price",
    "Timing",
    "Unresponsive",
];

/// (source, share %, campaign prefix: deals from it carry a campaign of the quarter).
const SOURCES: [(&str, u32, Option<&str>); 6] = [
    ("Web", 30, Some("Content")),
    ("Paid search", 20, Some("Search")),
    ("Outbound", 20, None),
    ("Referral", 13, None),
    ("Event", 10, Some("Events")),
    ("Partner", 7, None),
];

const COMPANIES: [&str; 16] = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Wonka",
    "Aperture",
    "Gringotts",
    "Oscorp",
    "Pied Piper",
];
const KINDS: [&str; 5] = ["New logo", "Expansion", "Renewal", "Pilot", "Upgrade"];

/// Relative inflow per calendar month: slow summers and year ends, busy springs and autumns.
const SEASON: [f64; 12] = [
    0.90, 1.00, 1.15, 1.05, 1.00, 0.95, 0.80, 0.65, 1.10, 1.20, 1.10, 0.75,
];

pub fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).expect("instant in range")
}

fn date_of(ms: i64) -> Date {
    ts(ms).to_zoned_datetime(TimeZone::UTC).date()
}

/// The history's window and the instant the reports are asked at.
pub fn window() -> (i64, i64, i64) {
    let ms = |s: &str| s.parse::<Timestamp>().expect("instant").as_millisecond();
    (
        ms("2023-07-01T00:00:00Z"),
        ms("2026-06-30T23:59:59.999Z"),
        ms("2026-07-01T09:00:00Z"),
    )
}

fn exponential(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    -mean * (1.0 - rng.random::<f64>()).ln()
}

fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> usize {
    // Knuth's method: fine for the small means used here.
    let limit = (-mean).exp();
    let mut k = 0;
    let mut p = rng.random::<f64>();
    while p > limit {
        k += 1;
        p *= rng.random::<f64>();
    }
    k
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box–Muller.
    let u: f64 = 1.0 - rng.random::<f64>();
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// A deal value in cents: log-normal around 8,000, from 200 to 2,000,000 (whole units).
fn deal_value(rng: &mut ChaCha8Rng) -> i64 {
    let major = (8_000f64.ln() + 1.1 * normal(rng)).exp();
    (major.clamp(200.0, 2_000_000.0) as i64) * 100
}

/// Creation instants: more deals as the business grows (density rising from 0.6 to 1.4 over
/// the window), with the seasons, mostly on weekdays in office hours. Sorted.
fn arrivals(rng: &mut ChaCha8Rng, n: usize, start: i64, end: i64) -> Vec<i64> {
    let first_day = start.div_euclid(MS_PER_DAY);
    let days = (end - start) / MS_PER_DAY + 1;
    let max_density = 1.4 * 1.2;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let day = rng.random_range(0..days);
        let growth = 0.6 + 0.8 * day as f64 / days as f64;
        let date = date_of((first_day + day) * MS_PER_DAY);
        let mut density = growth * SEASON[date.month() as usize - 1];
        // The last two weeks of December are quieter still.
        if date.month() == 12 && date.day() > 18 {
            density *= 0.5;
        }
        let weekday = date.weekday().to_monday_one_offset();
        if weekday >= 6 {
            density *= 0.12;
        }
        if rng.random::<f64>() * max_density > density {
            continue;
        }
        let ms = (first_day + day) * MS_PER_DAY + rng.random_range(7 * 3_600_000..19 * 3_600_000);
        out.push(ms);
    }
    out.sort_unstable();
    out
}

/// A deal's life as stage entries (stage index, instant) and its close (won, instant), cut at
/// the history's end. Also the number of round trips it made.
struct Life {
    entries: Vec<(usize, i64)>,
    close: Option<(bool, i64)>,
    round_trips: u64,
}

fn live(rng: &mut ChaCha8Rng, created: i64, end: i64) -> Life {
    let hour = 3_600_000;
    let mut stage = if rng.random_bool(0.2) { 1 } else { 0 };
    let mut t = created;
    let mut life = Life {
        entries: vec![(stage, t)],
        close: None,
        round_trips: 0,
    };
    loop {
        let spec = &STAGES[stage];
        if rng.random_bool(spec.stall) {
            return life; // never touched again
        }
        // Erlang-2 around the stage's mean, at least an hour.
        let days = exponential(rng, spec.mean_days / 2.0) + exponential(rng, spec.mean_days / 2.0);
        let mut stay_end = t + ((days * MS_PER_DAY as f64) as i64).max(hour);
        // Round trips to the previous stage during the stay; each pushes the stay's end on by
        // the time spent back there.
        let trips = if stage >= 2 {
            poisson(rng, spec.round_trips)
        } else {
            0
        };
        let mut at: Vec<i64> = (0..trips)
            .map(|_| rng.random_range(t + hour..stay_end.max(t + 2 * hour)))
            .collect();
        at.sort_unstable();
        let mut shift = 0;
        for a in at {
            let back = (a + shift).max(life.entries.last().map_or(t, |e| e.1) + hour);
            if back > end {
                return life;
            }
            life.entries.push((stage - 1, back));
            let away = ((exponential(rng, 2.5) * MS_PER_DAY as f64) as i64).max(hour);
            let again = back + away;
            if again > end {
                return life;
            }
            life.entries.push((stage, again));
            life.round_trips += 1;
            shift = again - a;
        }
        stay_end = (stay_end + shift).max(life.entries.last().map_or(t, |e| e.1) + hour);
        if stay_end > end {
            return life;
        }
        t = stay_end;
        let last = stage == STAGES.len() - 1;
        let roll: f64 = rng.random();
        if roll < spec.go_on && !last {
            let skip = stage + 2 < STAGES.len() && rng.random_bool(0.04);
            stage += if skip { 2 } else { 1 };
            life.entries.push((stage, t));
            continue;
        }
        life.close = Some((last && roll < spec.go_on, t));
        return life;
    }
}

struct World {
    pipeline: PipelineId,
    currency: Currency,
    stages: Vec<Stage>,
    admin: Actor,
    reps: Vec<Actor>,
    /// Relative share of new deals each rep gets.
    rep_weight: Vec<f64>,
}

async fn setup(store: &Store, scale: Scale, start: i64) -> Result<World> {
    let sys = Ctx::new(Actor::SYSTEM, ts(start - 30 * MS_PER_DAY));
    let mut tx = store.write().await?;
    let user = async |tx: &mut Tx, email: String, role: Role| -> Result<Actor> {
        let name = email.split('@').next().unwrap_or("user").replace('.', " ");
        let u = users::create(
            tx,
            &sys,
            NewUser {
                email,
                name,
                role,
                team_id: None,
                password: None,
            },
        )
        .await?;
        Ok(Actor::user(u.id, role))
    };
    let admin = user(&mut tx, "admin@example.com".into(), Role::Admin).await?;
    let mut reps = vec![];
    for t in 0..scale.teams() {
        let manager = user(&mut tx, format!("manager.{t}@example.com"), Role::Manager).await?;
        let team = users::create_team(&mut tx, &sys, &format!("Team {t}"), manager.user_id).await?;
        users::set_team(
            &mut tx,
            &sys,
            manager.user_id.expect("a user"),
            Some(team.id),
        )
        .await?;
        for r in 0..scale.reps_per_team() {
            let rep = user(&mut tx, format!("rep.{t}.{r}@example.com"), Role::Rep).await?;
            users::set_team(&mut tx, &sys, rep.user_id.expect("a user"), Some(team.id)).await?;
            reps.push(rep);
        }
    }
    let pipeline = pipelines::create(
        &mut tx,
        &sys,
        NewPipeline {
            name: "Sales".into(),
            currency: None,
        },
    )
    .await?;
    let mut stages = vec![];
    for spec in &STAGES {
        let stage = pipelines::create_stage(
            &mut tx,
            &sys,
            pipeline.id,
            NewStage {
                name: spec.name.into(),
                probability: spec.probability,
                rot_days: Some(spec.rot_days),
                ..Default::default()
            },
        )
        .await?;
        stages.push(stage);
    }
    tx.commit().await?;
    // Some reps carry more than others: shares from 0.6 to 1.4, in a fixed pattern.
    let rep_weight = (0..reps.len())
        .map(|i| 0.6 + 0.8 * ((i * 7) % reps.len()) as f64 / reps.len() as f64)
        .collect();
    Ok(World {
        pipeline: pipeline.id,
        currency: pipeline.currency,
        stages,
        admin,
        reps,
        rep_weight,
    })
}

/// An id that sorts by creation time, as `DealId::at` makes, but from the seeded generator so
/// that every run writes the same ids.
fn deal_id(rng: &mut ChaCha8Rng, ms: i64) -> DealId {
    let mut bytes = [0u8; 10];
    rng.fill(&mut bytes[..]);
    DealId(uuid::Builder::from_unix_timestamp_millis(ms as u64, &bytes).into_uuid())
}

fn pick_weighted(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// One generated deal: what `DealWriter` takes, and what the activities step needs.
struct Made {
    imported: ImportedDeal,
    owner: usize,
    round_trips: u64,
}

fn make_deal(rng: &mut ChaCha8Rng, world: &World, n: usize, created: i64, end: i64) -> Made {
    let id = deal_id(rng, created);
    let owner = pick_weighted(rng, &world.rep_weight);
    let value = deal_value(rng);
    let weights: Vec<f64> = SOURCES.iter().map(|s| f64::from(s.1)).collect();
    let (source, _, prefix) = SOURCES[pick_weighted(rng, &weights)];
    let campaign = prefix.filter(|_| rng.random_bool(0.7)).map(|p| {
        let d = date_of(created);
        format!("{p} {}-Q{}", d.year(), (d.month() - 1) / 3 + 1)
    });
    let life = live(rng, created, end);
    let (status, closed_at, lost_reason) = match life.close {
        None => (DealStatus::Open, None, None),
        Some((true, at)) => (DealStatus::Won, Some(ts(at)), None),
        Some((false, at)) => (
            DealStatus::Lost,
            Some(ts(at)),
            Some(LOST_REASONS[rng.random_range(0..LOST_REASONS.len())].to_string()),
        ),
    };
    // From Demo on a deal has an expected close date, set when it got there (open deals that
    // stalled are the ones past it).
    let expected_close_date = life
        .entries
        .iter()
        .find(|(s, _)| *s >= 3)
        .map(|&(_, at)| date_of(at + rng.random_range(30..90) * MS_PER_DAY));
    let last_stage = life.entries.last().expect("a first stage").0;
    let deal = Deal {
        id,
        title: format!(
            "{} {} — {}",
            COMPANIES[n % COMPANIES.len()],
            n,
            KINDS[rng.random_range(0..KINDS.len())]
        ),
        pipeline_id: world.pipeline,
        stage_id: world.stages[last_stage].id,
        status,
        value,
        currency: world.currency,
        owner_id: world.reps[owner].user_id.expect("reps are users"),
        person_id: None,
        organization_id: None,
        expected_close_date,
        source: Some(source.to_string()),
        campaign,
        lead_id: None,
        lost_reason,
        custom: CustomFields::new(),
        created_at: ts(created),
        cycle_started_at: ts(created),
        stage_entered_at: ts(created),
        closed_at,
        updated_at: ts(created),
        version: 1,
    };
    Made {
        imported: ImportedDeal {
            deal,
            entries: life
                .entries
                .iter()
                .map(|&(s, at)| (world.stages[s].id, ts(at)))
                .collect(),
            external_id: None,
        },
        owner,
        round_trips: life.round_trips,
    }
}

/// Without a database: how many deals, events and round trips the generator's histories make
/// (`THROUGHLINE_BENCH_DRY_RUN=1`), for tuning the round trips to the event count.
pub fn dry_run(scale: Scale) {
    let (start, end, _) = window();
    let mut rng = ChaCha8Rng::seed_from_u64(scale.seed());
    let created = arrivals(&mut rng, scale.deals(), start, end);
    let (mut events, mut trips, mut won, mut lost, mut open) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut per_stage = [0u64; 7];
    for &at in &created {
        let life = live(&mut rng, at, end);
        events += life.entries.len() as u64 + u64::from(life.close.is_some());
        trips += life.round_trips;
        match life.close {
            Some((true, _)) => won += 1,
            Some((false, _)) => lost += 1,
            None => open += 1,
        }
        for (s, _) in &life.entries {
            per_stage[*s] += 1;
        }
    }
    let n = created.len() as f64;
    println!(
        "{} deals: {events} deal events ({:.2} per deal), {trips} round trips; won {:.1} %, lost {:.1} %, open {:.1} %; entries per stage {per_stage:?}",
        created.len(),
        events as f64 / n,
        won as f64 * 100.0 / n,
        lost as f64 * 100.0 / n,
        open as f64 * 100.0 / n
    );
}

/// Write the whole history. Progress goes to stderr.
async fn generate(store: &Store, url: &str, scale: Scale, started: Instant) -> Result<Dataset> {
    let (start, end, now) = window();
    let mut rng = ChaCha8Rng::seed_from_u64(scale.seed());
    let world = setup(store, scale, start).await?;
    let n = scale.deals();
    let created = arrivals(&mut rng, n, start, end);
    eprintln!(
        "generating the {} reports dataset ({n} deals) through DealWriter…",
        scale.name()
    );
    let import = Ctx::new(world.admin, ts(now - 3_600_000));
    let (mut write_s, mut finish_s, mut commit_s) = (0.0, 0.0, 0.0);
    let mut round_trips = 0;
    let mut transactions = 0;
    let mut per_rep = vec![0u64; world.reps.len()];
    // Open deals created in the last 90 days (id, owner index, created): candidates for
    // activities.
    let mut recent_open: Vec<(DealId, usize, i64)> = vec![];
    let mut number = 0;
    for tx_deals in created.chunks(scale.per_tx()) {
        let clock = Instant::now();
        let mut tx = store.write().await?;
        let mut writer = DealWriter::begin(&mut tx, import).await?;
        write_s += clock.elapsed().as_secs_f64();
        for batch_created in tx_deals.chunks(scale.batch()) {
            let mut batch = Vec::with_capacity(batch_created.len());
            for &at in batch_created {
                let made = make_deal(&mut rng, &world, number, at, end);
                number += 1;
                per_rep[made.owner] += 1;
                round_trips += made.round_trips;
                if made.imported.deal.status == DealStatus::Open && at > end - 90 * MS_PER_DAY {
                    recent_open.push((made.imported.deal.id, made.owner, at));
                }
                batch.push(made.imported);
            }
            let clock = Instant::now();
            writer.write(&mut tx, batch).await?;
            write_s += clock.elapsed().as_secs_f64();
        }
        let clock = Instant::now();
        writer.finish(&mut tx).await?;
        finish_s += clock.elapsed().as_secs_f64();
        let clock = Instant::now();
        tx.commit().await?;
        commit_s += clock.elapsed().as_secs_f64();
        transactions += 1;
        eprintln!(
            "  {:>3}% {number} deals, {:.0} s (write {write_s:.0} s, finish {finish_s:.0} s, commit {commit_s:.0} s)",
            number * 100 / n,
            started.elapsed().as_secs_f64()
        );
    }
    let writer_seconds = write_s + finish_s + commit_s;
    let counts = count(url).await;
    let writer_rows = counts.deals + counts.events + counts.spans + counts.deltas + counts.report;
    eprintln!(
        "  DealWriter: {writer_rows} rows in {writer_seconds:.1} s = {:.0} rows/s ({:.0} deals/s)",
        writer_rows as f64 / writer_seconds,
        n as f64 / writer_seconds
    );

    // Next steps on a sample of the recent open deals (some overdue), and a few deals with a
    // heavy record of done work, through the ordinary operation.
    let (open_activities, heavy) = scale.activities();
    let mut tx = store.write().await?;
    let kinds = [
        ActivityKind::Call,
        ActivityKind::Meeting,
        ActivityKind::Task,
        ActivityKind::Email,
    ];
    for i in 0..open_activities.min(recent_open.len()) {
        let (deal, owner, _) = recent_open[rng.random_range(0..recent_open.len())];
        let created_at = now - rng.random_range(1..20) * MS_PER_DAY;
        let due = now + rng.random_range(-10 * MS_PER_DAY..14 * MS_PER_DAY);
        activities::create(
            &mut tx,
            &Ctx::new(world.reps[owner], ts(created_at)),
            NewActivity {
                kind: kinds[i % kinds.len()],
                subject: format!("Next step {i}"),
                owner_id: None,
                deal_id: Some(deal),
                lead_id: None,
                person_id: None,
                organization_id: None,
                due_at: Some(ts(due)),
                duration_minutes: None,
                note: None,
                done: false,
            },
        )
        .await?;
    }
    for i in 0..heavy.min(recent_open.len()) {
        let (deal, owner, at) = recent_open[rng.random_range(0..recent_open.len())];
        for j in 0..rng.random_range(5..12) {
            let done_at = at + (now - at) * (j + 1) / 13;
            activities::create(
                &mut tx,
                &Ctx::new(world.reps[owner], ts(done_at)),
                NewActivity {
                    kind: kinds[(i + j as usize) % kinds.len()],
                    subject: format!("Call {j}"),
                    owner_id: None,
                    deal_id: Some(deal),
                    lead_id: None,
                    person_id: None,
                    organization_id: None,
                    due_at: Some(ts(done_at)),
                    duration_minutes: Some(rng.random_range(15..90)),
                    note: None,
                    done: true,
                },
            )
            .await?;
        }
    }
    tx.commit().await?;

    let counts = count(url).await;
    // A rep with a middling share of the deals.
    let mut order: Vec<usize> = (0..world.reps.len()).collect();
    order.sort_by_key(|&i| per_rep[i]);
    let rep = world.reps[order[order.len() / 2]]
        .user_id
        .expect("reps are users");
    let dataset = Dataset {
        generator_version: GENERATOR_VERSION,
        scale,
        url: String::new(),
        pipeline_id: world.pipeline,
        admin: world.admin.user_id.expect("the admin is a user"),
        rep,
        start_ms: start,
        end_ms: end,
        now_ms: now,
        deals: counts.deals,
        open: counts.open,
        won: counts.won,
        lost: counts.lost,
        events: counts.events,
        spans: counts.spans,
        delta_rows: counts.deltas,
        report_rows: counts.report,
        activities: counts.activities,
        users: counts.users,
        round_trips,
        file_bytes: 0,
        generation_seconds: 0.0,
        writer_seconds,
        write_seconds: write_s,
        finish_seconds: finish_s,
        commit_seconds: commit_s,
        writer_rows,
        transactions,
        batch: scale.batch(),
    };
    assert!(
        dataset.events >= scale.min_events(),
        "the {} dataset must hold at least {} events, it has {}",
        scale.name(),
        scale.min_events(),
        dataset.events
    );
    Ok(dataset)
}

#[derive(Debug, Default)]
struct Counts {
    deals: i64,
    open: i64,
    won: i64,
    lost: i64,
    events: i64,
    spans: i64,
    deltas: i64,
    report: i64,
    activities: i64,
    users: i64,
}

/// Table sizes, counted from the database itself (not from what the generator thinks it
/// wrote).
async fn count(url: &str) -> Counts {
    let pool = sqlx::SqlitePool::connect(url)
        .await
        .expect("connect to count");
    let one = async |q: &str| -> i64 {
        sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(q.to_string()))
            .fetch_one(&pool)
            .await
            .expect("count rows")
            .0
    };
    let mut by_status: HashMap<String, i64> =
        sqlx::query_as::<_, (String, i64)>("SELECT status, COUNT(*) FROM deals GROUP BY status")
            .fetch_all(&pool)
            .await
            .expect("count deals")
            .into_iter()
            .collect();
    let mut report = 0;
    for table in [
        "report_inflow",
        "report_funnel_owner",
        "report_funnel_source",
        "report_funnel_full",
        "report_closed",
        "report_stays",
        "report_reach",
    ] {
        report += one(&format!("SELECT COUNT(*) FROM {table}")).await;
    }
    let counts = Counts {
        deals: one("SELECT COUNT(*) FROM deals").await,
        open: by_status.remove("open").unwrap_or(0),
        won: by_status.remove("won").unwrap_or(0),
        lost: by_status.remove("lost").unwrap_or(0),
        events: one("SELECT COUNT(*) FROM events").await,
        spans: one("SELECT COUNT(*) FROM deal_spans").await,
        deltas: one("SELECT COUNT(*) FROM snapshot_deltas").await,
        report,
        activities: one("SELECT COUNT(*) FROM activities").await,
        users: one("SELECT COUNT(*) FROM users").await,
    };
    pool.close().await;
    counts
}
