//! Real databases for tests: a fresh SQLite file, and a fresh PostgreSQL database on the
//! server named by `THROUGHLINE_TEST_POSTGRES` (default: the local server, trust auth).
//! Set `THROUGHLINE_SKIP_POSTGRES=1` to skip the PostgreSQL leg where no server runs.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use jiff::Timestamp;
use throughline_core::{Actor, Role};
use throughline_store::users::{self, NewUser};
use throughline_store::{Ctx, Store};

pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

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

/// Both backends (PostgreSQL unless skipped).
pub async fn backends() -> Vec<TestDb> {
    let mut all = vec![sqlite().await];
    if let Some(pg) = postgres().await {
        all.push(pg);
    }
    all
}

pub fn at(text: &str) -> Timestamp {
    text.parse().expect("test instant")
}

pub fn system(at_text: &str) -> Ctx {
    Ctx::new(Actor::SYSTEM, at(at_text))
}

pub async fn add_user(store: &Store, email: &str, role: Role) -> Actor {
    let mut tx = store.write().await.unwrap();
    let user = users::create(
        &mut tx,
        &Ctx::system_now(),
        NewUser {
            email: email.into(),
            name: email.split('@').next().unwrap().into(),
            role,
            team_id: None,
            password: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    Actor::user(user.id, role)
}
