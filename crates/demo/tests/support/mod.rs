//! Real databases for the demo tests (a fresh SQLite file; a fresh PostgreSQL database on
//! the server named by `THROUGHLINE_TEST_POSTGRES`, skipped with `THROUGHLINE_SKIP_POSTGRES=1`),
//! and readers that page through everything the demo wrote.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use jiff::Timestamp;
use throughline_core::Actor;
use throughline_core::deal::Deal;
use throughline_core::lead::Lead;
use throughline_demo::DemoOptions;
use throughline_store::deals::{self, DealFilter};
use throughline_store::leads::{self, LeadFilter};
use throughline_store::{Ctx, Store, pipelines, snapshot};

pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Every test history ends here, so figures can be compared between runs and backends.
pub const END: &str = "2026-11-20T12:00:00Z";

pub struct TestDb {
    pub store: Store,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let store = Store::open(&url).await.expect("open sqlite");
    TestDb {
        store,
        url,
        _dir: Some(dir),
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh PostgreSQL database, or `None` when the leg is skipped on purpose.
pub async fn postgres() -> Option<TestDb> {
    if std::env::var("THROUGHLINE_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
        return None;
    }
    let admin_url =
        std::env::var("THROUGHLINE_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.into());
    // Named like the store's test databases, so either suite's cleanup drops leftovers.
    let name = format!(
        "tl_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        Timestamp::now().as_millisecond()
    );
    let admin = sqlx::PgPool::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} is needed for this test ({e}); set THROUGHLINE_SKIP_POSTGRES=1 to skip"));
    drop_leftovers(&admin).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .expect("create test database");
    admin.close().await;
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(&admin_url);
    let url = format!("{base}/{name}");
    let store = Store::open(&url).await.expect("open postgres");
    Some(TestDb {
        store,
        url,
        _dir: None,
    })
}

/// Drop test databases left behind by test processes that are no longer running.
async fn drop_leftovers(admin: &sqlx::PgPool) {
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'tl\\_test\\_%'")
            .fetch_all(admin)
            .await
            .unwrap_or_default();
    for (name,) in names {
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(admin)
            .await;
        }
    }
}

pub fn at(text: &str) -> Timestamp {
    text.parse().expect("test instant")
}

pub fn options(seed: u64, scale: f64) -> DemoOptions {
    DemoOptions {
        seed,
        end: at(END),
        months: 18,
        scale,
    }
}

pub fn system() -> Ctx {
    Ctx::new(Actor::SYSTEM, at(END))
}

pub async fn all_deals(store: &Store) -> Vec<Deal> {
    let mut tx = store.read().await.unwrap();
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let filter = DealFilter {
            cursor,
            limit: Some(500),
            ..Default::default()
        };
        let page = deals::list(&mut tx, &system(), &filter).await.unwrap();
        out.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

pub async fn all_leads(store: &Store) -> Vec<Lead> {
    let mut tx = store.read().await.unwrap();
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let filter = LeadFilter {
            cursor,
            limit: Some(500),
            ..Default::default()
        };
        let page = leads::list(&mut tx, &system(), &filter).await.unwrap();
        out.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

/// Per pipeline and stage: (pipeline, stage, count, value, weighted value) at each instant.
pub type Figures = Vec<(String, String, i64, i64, i64)>;

pub async fn figures(store: &Store, instants: &[Timestamp]) -> Vec<Figures> {
    let mut tx = store.read().await.unwrap();
    let all = pipelines::list(&mut tx, true).await.unwrap();
    let mut out = Vec::new();
    for at in instants {
        let mut rows = Vec::new();
        for p in &all {
            let snap = snapshot::snapshot(&mut tx, &system(), p.id, *at)
                .await
                .unwrap();
            for s in snap.stages {
                rows.push((p.name.clone(), s.name, s.count, s.value, s.weighted_value));
            }
        }
        out.push(rows);
    }
    out
}

/// What a deal is, without its id (which differs between runs).
pub fn deal_content(d: &Deal) -> String {
    format!(
        "{} {} {} {} {:?} {} {:?} {:?} {:?} {:?}",
        d.title,
        d.status,
        d.value,
        d.currency,
        d.expected_close_date,
        d.created_at,
        d.closed_at,
        d.stage_entered_at,
        d.lost_reason,
        d.source
    )
}
