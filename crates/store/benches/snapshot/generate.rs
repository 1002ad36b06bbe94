//! A sales history at scale, written through the store's own operations so that events,
//! spans and daily deltas are exactly what the product would have written.
//!
//! Deterministic (seeded) and cached: a SQLite dataset lives under
//! `target/bench-data/snapshot-v{GENERATOR_VERSION}-{scale}.db` with a `.json` file beside it
//! describing it; a PostgreSQL dataset is a database named `tl_bench_v{GENERATOR_VERSION}_{scale}`
//! with the same `.json` description. Bump [`GENERATOR_VERSION`] whenever the generated
//! history, or what the snapshot reads (spans, deltas, an edited migration), changes, so stale
//! datasets are regenerated rather than measured. New migrations need no bump: opening a
//! dataset applies them, as it would to a user's database.

use std::path::{Path, PathBuf};
use std::time::Instant;

use jiff::Timestamp;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use throughline_core::criteria::{CriterionInput, DealField};
use throughline_core::deal::{CustomFields, DealPatch, NewDeal};
use throughline_core::pipeline::{NewPipeline, NewStage, Stage};
use throughline_core::time::MS_PER_DAY;
use throughline_core::{Actor, CriterionId, DealId, PipelineId, Role, UserId};
use throughline_store::deals::{self, CloseDeal, MoveDeal};
use throughline_store::users::{self, NewUser};
use throughline_store::{Ctx, Result, Store, Tx, pipelines};

/// Bump when the generated history, or the layout the snapshot reads, changes.
pub const GENERATOR_VERSION: u32 = 3;

/// Deals whose whole lives go into one transaction.
const DEALS_PER_TX: usize = 250;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// A few hundred deals: what `cargo test --benches` runs to check the benchmark works.
    Tiny,
    /// A busy team: about 3,000 deals over three years.
    Realistic,
    /// 100,000 deals and over a million events.
    Large,
}

impl Scale {
    pub fn name(self) -> &'static str {
        match self {
            Scale::Tiny => "tiny",
            Scale::Realistic => "realistic",
            Scale::Large => "large",
        }
    }

    fn deals(self) -> usize {
        match self {
            Scale::Tiny => 300,
            Scale::Realistic => 3_000,
            Scale::Large => 100_000,
        }
    }

    fn teams(self) -> usize {
        match self {
            Scale::Tiny => 1,
            Scale::Realistic => 3,
            Scale::Large => 10,
        }
    }

    fn reps_per_team(self) -> usize {
        match self {
            Scale::Tiny => 3,
            Scale::Realistic => 5,
            Scale::Large => 8,
        }
    }

    /// The events the dataset must hold at least (the benchmark's stated size).
    fn min_events(self) -> i64 {
        match self {
            Scale::Large => 1_000_000,
            _ => 0,
        }
    }

    fn seed(self) -> u64 {
        0x7431_0000 + self as u64
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
    /// A rep with an ordinary share of the deals, for scoped snapshots.
    pub rep: UserId,
    pub manager: UserId,
    /// The history runs from `start_ms` to `end_ms` (epoch milliseconds).
    pub start_ms: i64,
    pub end_ms: i64,
    pub deals: i64,
    pub events: i64,
    pub spans: i64,
    pub delta_rows: i64,
    pub users: i64,
    pub generation_seconds: f64,
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

fn meta_path(dir: &Path, backend: &str, scale: Scale) -> PathBuf {
    dir.join(format!(
        "snapshot-v{GENERATOR_VERSION}-{backend}-{}.json",
        scale.name()
    ))
}

fn read_meta(path: &Path) -> Option<Dataset> {
    let text = std::fs::read_to_string(path).ok()?;
    let meta: Dataset = serde_json::from_str(&text).ok()?;
    (meta.generator_version == GENERATOR_VERSION).then_some(meta)
}

/// The SQLite dataset of `scale`, generated on first use.
pub async fn sqlite(scale: Scale) -> Dataset {
    let dir = data_dir();
    std::fs::create_dir_all(&dir).expect("create the bench data directory");
    let db = dir.join(format!("snapshot-v{GENERATOR_VERSION}-{}.db", scale.name()));
    let meta = meta_path(&dir, "sqlite", scale);
    if let Some(found) = read_meta(&meta).filter(|_| db.exists()) {
        return found;
    }
    remove_old_versions(&dir);
    // Generate into a side file and rename at the end, so an interrupted run never leaves a
    // half-written dataset that a later run would take for a complete one.
    let partial = dir.join(format!(
        "snapshot-v{GENERATOR_VERSION}-{}.db.partial",
        scale.name()
    ));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", partial.display()));
    }
    let url = format!("sqlite://{}", partial.display());
    let store = Store::open(&url).await.expect("open the SQLite dataset");
    let mut dataset = generate(&store, scale).await.expect("generate the dataset");
    count(&store, &url, &mut dataset).await;
    store.close().await;
    // Leave one self-contained file: fold the write-ahead log back in before renaming.
    let pool = sqlx::SqlitePool::connect(&url).await.expect("reopen");
    sqlx::query("PRAGMA journal_mode = DELETE")
        .execute(&pool)
        .await
        .expect("checkpoint");
    pool.close().await;
    std::fs::rename(&partial, &db).expect("move the dataset in place");
    dataset.url = format!("sqlite://{}", db.display());
    std::fs::write(&meta, serde_json::to_string_pretty(&dataset).unwrap()).expect("write meta");
    dataset
}

/// Delete cached SQLite datasets of other generator versions: they would only fill the disk.
fn remove_old_versions(dir: &Path) {
    let current = format!("snapshot-v{GENERATOR_VERSION}-");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("snapshot-v") && !name.starts_with(&current) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The PostgreSQL dataset of `scale` on the server at `server_url` (its admin database),
/// generated on first use.
pub async fn postgres(server_url: &str, scale: Scale) -> Dataset {
    let dir = data_dir();
    std::fs::create_dir_all(&dir).expect("create the bench data directory");
    let meta = meta_path(&dir, "postgres", scale);
    let name = format!("tl_bench_v{GENERATOR_VERSION}_{}", scale.name());
    let base = server_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(server_url);
    let url = format!("{base}/{name}");
    let admin = sqlx::PgPool::connect(server_url)
        .await
        .expect("connect to PostgreSQL");
    let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&admin)
        .await
        .expect("look for the dataset database");
    if let Some(found) = read_meta(&meta).filter(|m| exists.is_some() && m.url == url) {
        admin.close().await;
        return found;
    }
    // Datasets of other generator versions are of no use any more.
    let old: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'tl\\_bench\\_v%'")
            .fetch_all(&admin)
            .await
            .expect("list old datasets");
    let current = format!("tl_bench_v{GENERATOR_VERSION}_");
    for (db,) in old.iter().filter(|(db,)| !db.starts_with(&current)) {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
        )))
        .execute(&admin)
        .await
        .expect("drop an old dataset");
    }
    let _ = std::fs::remove_file(&meta);
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await
    .expect("drop the old dataset database");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .expect("create the dataset database");
    admin.close().await;
    let store = Store::open(&url)
        .await
        .expect("open the PostgreSQL dataset");
    let mut dataset = generate(&store, scale).await.expect("generate the dataset");
    count(&store, &url, &mut dataset).await;
    store.close().await;
    // As the product never runs ANALYZE itself, neither does the benchmark; autovacuum
    // may, as it would on a real server.
    dataset.url = url;
    std::fs::write(&meta, serde_json::to_string_pretty(&dataset).unwrap()).expect("write meta");
    dataset
}

const COUNTS: [&str; 5] = [
    "SELECT COUNT(*) FROM deals",
    "SELECT COUNT(*) FROM events",
    "SELECT COUNT(*) FROM deal_spans",
    "SELECT COUNT(*) FROM snapshot_deltas",
    "SELECT COUNT(*) FROM users",
];

/// Table sizes, counted from the database itself (not from what the generator thinks it
/// wrote).
async fn count(store: &Store, url: &str, dataset: &mut Dataset) {
    let mut n = [0i64; 5];
    match store.backend() {
        throughline_store::Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url)
                .await
                .expect("connect to count");
            for (slot, q) in n.iter_mut().zip(COUNTS) {
                *slot = sqlx::query_as::<_, (i64,)>(q)
                    .fetch_one(&pool)
                    .await
                    .expect("count rows")
                    .0;
            }
            pool.close().await;
        }
        throughline_store::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.expect("connect to count");
            for (slot, q) in n.iter_mut().zip(COUNTS) {
                *slot = sqlx::query_as::<_, (i64,)>(q)
                    .fetch_one(&pool)
                    .await
                    .expect("count rows")
                    .0;
            }
            pool.close().await;
        }
    }
    let [deals, events, spans, delta_rows, users] = n;
    dataset.deals = deals;
    dataset.events = events;
    dataset.spans = spans;
    dataset.delta_rows = delta_rows;
    dataset.users = users;
    assert!(
        events >= dataset.scale.min_events(),
        "the {} dataset must hold at least {} events, it has {events}",
        dataset.scale.name(),
        dataset.scale.min_events()
    );
}

// ---------------------------------------------------------------------------------------
// The history
// ---------------------------------------------------------------------------------------

/// Stages of the generated pipeline: name, probability, mean days spent in it, and the share
/// of deals that go on to the next stage (the rest are lost there).
const STAGES: [(&str, i64, f64, f64); 6] = [
    ("Lead in", 10, 4.0, 0.72),
    ("Qualified", 20, 7.0, 0.70),
    ("Demo", 40, 9.0, 0.68),
    ("Proposal", 60, 11.0, 0.66),
    ("Negotiation", 80, 8.0, 0.80),
    ("Contract sent", 90, 5.0, 0.75),
];
const QUALIFIED: usize = 1;
const PROPOSAL: usize = 3;
const NEGOTIATION: usize = 4;

const LOST_REASONS: [&str; 5] = [
    "Went with a competitor",
    "No budget this year",
    "No decision",
    "Price",
    "Timing",
];

struct World {
    pipeline: PipelineId,
    stages: Vec<Stage>,
    /// Checklist items to tick before entering a stage, by stage index.
    ticks: Vec<Vec<CriterionId>>,
    admin: Actor,
    /// Reps by team; the team's manager is in `managers`.
    teams: Vec<Vec<Actor>>,
    managers: Vec<Actor>,
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).expect("instant in range")
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

/// A deal value in cents: mostly thousands to tens of thousands, a long tail of large ones.
fn deal_value(rng: &mut ChaCha8Rng) -> i64 {
    if rng.random_bool(0.05) {
        return 0; // value not known yet
    }
    let major = 10f64.powf(rng.random_range(2.7..5.3));
    (major as i64) * 100
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
    let mut teams = vec![];
    let mut managers = vec![];
    for t in 0..scale.teams() {
        let manager = user(&mut tx, format!("manager.{t}@example.com"), Role::Manager).await?;
        let team = users::create_team(&mut tx, &sys, &format!("Team {t}"), manager.user_id).await?;
        let mut reps = vec![];
        for r in 0..scale.reps_per_team() {
            let rep = user(&mut tx, format!("rep.{t}.{r}@example.com"), Role::Rep).await?;
            let id = rep.user_id.expect("a rep is a user");
            users::set_team(&mut tx, &sys, id, Some(team.id)).await?;
            reps.push(rep);
        }
        teams.push(reps);
        managers.push(manager);
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
    for (i, (name, probability, _, _)) in STAGES.iter().enumerate() {
        let criteria = match i {
            QUALIFIED => vec![CriterionInput::checklist("Budget confirmed")],
            PROPOSAL => vec![
                CriterionInput::checklist("Decision maker met"),
                CriterionInput::field(DealField::ExpectedCloseDate),
            ],
            NEGOTIATION => vec![CriterionInput::field(DealField::Value)],
            _ => vec![],
        };
        let stage = pipelines::create_stage(
            &mut tx,
            &sys,
            pipeline.id,
            NewStage {
                name: (*name).into(),
                probability: *probability,
                rot_days: Some(30),
                criteria,
                ..Default::default()
            },
        )
        .await?;
        stages.push(stage);
    }
    tx.commit().await?;
    let ticks = stages
        .iter()
        .map(|s| {
            s.criteria
                .iter()
                .filter(|c| c.field.is_none())
                .map(|c| c.id)
                .collect()
        })
        .collect();
    Ok(World {
        pipeline: pipeline.id,
        stages,
        ticks,
        admin,
        teams,
        managers,
    })
}

/// Creation instants: more deals as the business grows, mostly on weekdays in office hours.
fn arrivals(rng: &mut ChaCha8Rng, n: usize, start: i64, end: i64) -> Vec<i64> {
    let days = (end - start) / MS_PER_DAY;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        // Density rising linearly from 0.6 to 1.4 over the window (inverse-CDF sampling).
        let u: f64 = rng.random();
        let x = (-0.6 + (0.36 + 1.6 * u).sqrt()) / 0.8;
        let day = ((x * days as f64) as i64).min(days - 1);
        let midnight = start.div_euclid(MS_PER_DAY) * MS_PER_DAY + day * MS_PER_DAY;
        let weekday = (day + start.div_euclid(MS_PER_DAY) + 4).rem_euclid(7); // 0 = Sunday
        if (weekday == 0 || weekday == 6) && rng.random_bool(0.85) {
            continue;
        }
        let ms = midnight + rng.random_range(7 * 3_600_000..19 * 3_600_000);
        out.push(ms);
    }
    out.sort_unstable();
    out
}

/// One deal's life, applied operation by operation through the store.
struct Life<'w> {
    world: &'w World,
    end: i64,
    id: DealId,
    version: i64,
    stage: usize,
    owner: Actor,
    team: usize,
    value: i64,
    close_date: bool,
    ticked: Vec<CriterionId>,
    t: i64,
    edits: usize,
}

impl Life<'_> {
    /// Move the clock on; false once the history's end is passed (the deal stays as it is).
    fn advance(&mut self, ms: i64) -> bool {
        self.t += ms.max(1_000);
        self.t <= self.end
    }

    fn ctx(&self, rng: &mut ChaCha8Rng) -> Ctx {
        // Mostly the owner; sometimes the team's manager or an admin tidies up.
        let actor = match rng.random_range(0..20) {
            0 => self.world.admin,
            1 => self.world.managers[self.team],
            _ => self.owner,
        };
        Ctx::new(actor, ts(self.t))
    }

    async fn patch(&mut self, tx: &mut Tx, rng: &mut ChaCha8Rng, patch: DealPatch) -> Result<()> {
        let ctx = self.ctx(rng);
        let deal = deals::update(
            tx,
            &ctx,
            self.id,
            DealPatch {
                version: self.version,
                ..patch
            },
        )
        .await?;
        self.version = deal.version;
        Ok(())
    }

    /// An ordinary edit during a stay in a stage.
    async fn edit(&mut self, tx: &mut Tx, rng: &mut ChaCha8Rng) -> Result<()> {
        self.edits += 1;
        let roll = rng.random_range(0..100);
        if roll < 55 {
            let mut custom = CustomFields::new();
            custom.insert(
                "next_step".into(),
                serde_json::json!(format!("Follow-up #{}", self.edits)),
            );
            self.patch(
                tx,
                rng,
                DealPatch {
                    custom: Some(custom),
                    ..Default::default()
                },
            )
            .await
        } else if roll < 82 {
            let factor = rng.random_range(0.7..1.35);
            let value = ((self.value.max(50_000) as f64 * factor) as i64 / 100) * 100;
            self.value = value;
            self.patch(
                tx,
                rng,
                DealPatch {
                    value: Some(value),
                    ..Default::default()
                },
            )
            .await
        } else if roll < 96 {
            self.close_date = true;
            let date = ts(self.t + rng.random_range(20..120) * MS_PER_DAY)
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date();
            self.patch(
                tx,
                rng,
                DealPatch {
                    expected_close_date: Some(Some(date)),
                    ..Default::default()
                },
            )
            .await
        } else {
            self.patch(
                tx,
                rng,
                DealPatch {
                    title: Some(format!("Deal {} (rev {})", self.id, self.edits)),
                    ..Default::default()
                },
            )
            .await
        }
    }

    /// Meet the entry criteria of `stage` just before moving there, as a rep would.
    async fn prepare(&mut self, tx: &mut Tx, rng: &mut ChaCha8Rng, stage: usize) -> Result<()> {
        for &item in &self.world.ticks[stage] {
            if !self.ticked.contains(&item) {
                let ctx = self.ctx(rng);
                let deal = deals::set_check(tx, &ctx, self.id, item, true).await?;
                self.version = deal.version;
                self.ticked.push(item);
                self.t += rng.random_range(60_000..3_600_000);
            }
        }
        if stage >= PROPOSAL && !self.close_date {
            self.close_date = true;
            let date = ts(self.t + 45 * MS_PER_DAY)
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date();
            self.patch(
                tx,
                rng,
                DealPatch {
                    expected_close_date: Some(Some(date)),
                    ..Default::default()
                },
            )
            .await?;
        }
        if stage >= NEGOTIATION && self.value == 0 {
            self.value = rng.random_range(50..5_000) * 10_000;
            let value = self.value;
            self.patch(
                tx,
                rng,
                DealPatch {
                    value: Some(value),
                    ..Default::default()
                },
            )
            .await?;
        }
        Ok(())
    }

    async fn move_to(&mut self, tx: &mut Tx, rng: &mut ChaCha8Rng, stage: usize) -> Result<()> {
        let ctx = self.ctx(rng);
        let deal = deals::move_to(
            tx,
            &ctx,
            self.id,
            MoveDeal {
                stage_id: self.world.stages[stage].id,
                version: self.version,
                force: false,
            },
        )
        .await?;
        self.version = deal.version;
        self.stage = stage;
        Ok(())
    }

    async fn reassign(&mut self, tx: &mut Tx, rng: &mut ChaCha8Rng) -> Result<()> {
        let team = rng.random_range(0..self.world.teams.len());
        let reps = &self.world.teams[team];
        let to = reps[rng.random_range(0..reps.len())];
        let ctx = Ctx::new(self.world.admin, ts(self.t));
        let deal = deals::update(
            tx,
            &ctx,
            self.id,
            DealPatch {
                version: self.version,
                owner_id: to.user_id,
                ..Default::default()
            },
        )
        .await?;
        self.version = deal.version;
        self.owner = to;
        self.team = team;
        Ok(())
    }

    /// Live the deal's life from creation to its last change before the history's end.
    async fn run(&mut self, tx: &mut Tx, rng: &mut ChaCha8Rng) -> Result<()> {
        let reassign_at = rng.random_bool(0.04).then(|| rng.random_range(0..4usize));
        let mut visits = 0;
        loop {
            let (_, _, mean_days, go_on) = STAGES[self.stage];
            let stay = (exponential(rng, mean_days) * MS_PER_DAY as f64) as i64;
            let stay_end = self.t + stay;
            // Edits spread over the stay.
            let mut at: Vec<i64> = (0..poisson(rng, 1.7))
                .map(|_| self.t + rng.random_range(0..stay.max(1)))
                .collect();
            at.sort_unstable();
            for t in at {
                if !self.advance(t - self.t) {
                    return Ok(());
                }
                self.edit(tx, rng).await?;
            }
            if reassign_at == Some(visits) {
                if !self.advance(rng.random_range(0..MS_PER_DAY)) {
                    return Ok(());
                }
                self.reassign(tx, rng).await?;
            }
            visits += 1;
            if !self.advance(stay_end - self.t) {
                return Ok(());
            }
            let last = self.stage == STAGES.len() - 1;
            let roll: f64 = rng.random();
            if !last && roll < go_on {
                // Now and then a step back first (the demo must be redone), then onwards.
                if self.stage > 0 && rng.random_bool(0.06) {
                    let back = self.stage - 1;
                    self.move_to(tx, rng, back).await?;
                    if !self.advance((exponential(rng, 3.0) * MS_PER_DAY as f64) as i64) {
                        return Ok(());
                    }
                }
                let skip = self.stage + 2 < STAGES.len() && rng.random_bool(0.04);
                let target = if skip { self.stage + 2 } else { self.stage + 1 };
                self.prepare(tx, rng, target).await?;
                if !self.advance(rng.random_range(60_000..7_200_000)) {
                    return Ok(());
                }
                self.move_to(tx, rng, target).await?;
                continue;
            }
            // Closed: won from the last stage (mostly), lost anywhere.
            let won = last && roll < go_on;
            let ctx = self.ctx(rng);
            let deal = if won {
                deals::win(
                    tx,
                    &ctx,
                    self.id,
                    CloseDeal {
                        reason: None,
                        version: Some(self.version),
                    },
                )
                .await?
            } else {
                let reason = LOST_REASONS[rng.random_range(0..LOST_REASONS.len())];
                deals::lose(
                    tx,
                    &ctx,
                    self.id,
                    CloseDeal {
                        reason: Some(reason.into()),
                        version: Some(self.version),
                    },
                )
                .await?
            };
            self.version = deal.version;
            // A few closed deals come back to life (the customer calls again).
            if !rng.random_bool(0.05) {
                return Ok(());
            }
            if !self.advance(rng.random_range(1..30) * MS_PER_DAY) {
                return Ok(());
            }
            let ctx = self.ctx(rng);
            let deal = deals::reopen(tx, &ctx, self.id, Some(self.version)).await?;
            self.version = deal.version;
        }
    }
}

/// Write the whole history through the store. Progress goes to stderr.
pub async fn generate(store: &Store, scale: Scale) -> Result<Dataset> {
    let started = Instant::now();
    let start = "2023-07-03T00:00:00Z"
        .parse::<Timestamp>()
        .expect("start")
        .as_millisecond();
    let end = "2026-06-30T23:59:59.999Z"
        .parse::<Timestamp>()
        .expect("end")
        .as_millisecond();
    let mut rng = ChaCha8Rng::seed_from_u64(scale.seed());
    let world = setup(store, scale, start).await?;
    let n = scale.deals();
    let created = arrivals(&mut rng, n, start, end);
    eprintln!(
        "generating the {} dataset ({n} deals) on {:?}…",
        scale.name(),
        store.backend()
    );
    let mut reported = 0;
    for (batch_no, batch) in created.chunks(DEALS_PER_TX).enumerate() {
        let mut tx = store.write().await?;
        for (i, &at) in batch.iter().enumerate() {
            let team = rng.random_range(0..world.teams.len());
            let reps = &world.teams[team];
            let owner = reps[rng.random_range(0..reps.len())];
            let value = deal_value(&mut rng);
            let number = batch_no * DEALS_PER_TX + i;
            let deal = deals::create(
                &mut tx,
                &Ctx::new(owner, ts(at)),
                NewDeal {
                    title: format!("Deal {number}"),
                    pipeline_id: Some(world.pipeline),
                    value,
                    source: Some(["Web", "Referral", "Event", "Outbound"][number % 4].into()),
                    ..Default::default()
                },
            )
            .await?;
            let mut life = Life {
                world: &world,
                end,
                id: deal.id,
                version: deal.version,
                stage: 0,
                owner,
                team,
                value,
                close_date: false,
                ticked: vec![],
                t: at,
                edits: 0,
            };
            life.run(&mut tx, &mut rng).await?;
        }
        tx.commit().await?;
        let done = (batch_no + 1) * DEALS_PER_TX;
        if done * 20 / n > reported {
            reported = done * 20 / n;
            eprintln!(
                "  {:>3}% {done} deals, {:.0} s",
                (done * 100 / n).min(100),
                started.elapsed().as_secs_f64()
            );
        }
    }
    let rep = world.teams[0][0]
        .user_id
        .expect("reps are users, not the system");
    Ok(Dataset {
        generator_version: GENERATOR_VERSION,
        scale,
        url: String::new(),
        pipeline_id: world.pipeline,
        admin: world.admin.user_id.expect("the admin is a user"),
        rep,
        manager: world.managers[0].user_id.expect("managers are users"),
        start_ms: start,
        end_ms: end,
        deals: 0,
        events: 0,
        spans: 0,
        delta_rows: 0,
        users: 0,
        generation_seconds: started.elapsed().as_secs_f64(),
    })
}
