//! One store over two backends. Each query is written once, in the SQL both SQLite and
//! PostgreSQL accept (`$1` placeholders, `RETURNING`, `ON CONFLICT`, `CAST(SUM(..) AS BIGINT)`),
//! and the [`on_conn!`] macro runs it on whichever connection the transaction holds.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool};

use crate::error::{Result, StoreError};

/// The page size of a new SQLite database. Bulk loads and the reports' range scans run about
/// twice as fast on 16 KiB pages as on SQLite's default 4 KiB (fewer pages to allocate, link
/// and look up per row; see BENCHMARKS.md, "Importing a million deals"), while a single-deal
/// change still touches only a handful of pages.
const PAGE_SIZE: u32 = 16_384;

/// A database at most this large that still has smaller pages is rewritten to [`PAGE_SIZE`]
/// before a first load of deals: that takes milliseconds then, and the load gains seconds.
const REPAGE_UP_TO_BYTES: i64 = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// An open transaction. Dropping it without [`Tx::commit`] rolls everything back, which is
/// how refused operations leave nothing behind.
pub struct Tx {
    pub(crate) inner: TxInner,
    /// Values read often within one transaction and changed rarely (the team's time zone,
    /// stage positions): read once, dropped when the transaction changes them.
    pub(crate) cache: TxCache,
}

#[derive(Default)]
pub(crate) struct TxCache {
    pub time_zone: Option<jiff::tz::TimeZone>,
    pub positions: std::collections::HashMap<
        throughline_core::PipelineId,
        std::collections::HashMap<throughline_core::StageId, i64>,
    >,
}

pub(crate) enum TxInner {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

/// Run `$body` with `$c` bound to the transaction's connection, whichever backend it is.
/// The body is compiled once per backend, so it must only use what both accept.
macro_rules! on_conn {
    ($tx:expr, $c:ident => $body:expr) => {
        match &mut $tx.inner {
            $crate::db::TxInner::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::db::TxInner::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}
pub(crate) use on_conn;

/// Like [`on_conn!`] for a statement run with `.execute(..)`: yields the number of rows it
/// changed, whichever backend ran it.
macro_rules! exec {
    ($tx:expr, $c:ident => $body:expr) => {
        match &mut $tx.inner {
            $crate::db::TxInner::Sqlite(t) => {
                let $c = &mut **t;
                $body.map(|r| r.rows_affected())
            }
            $crate::db::TxInner::Postgres(t) => {
                let $c = &mut **t;
                $body.map(|r| r.rows_affected())
            }
        }
    };
}
pub(crate) use exec;

impl Tx {
    pub async fn commit(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres(_) => Backend::Postgres,
        }
    }
}

/// The database: a connection pool on SQLite or PostgreSQL.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: Pool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({:?})", self.backend())
    }
}

/// A database URL as the user gave it: `sqlite://path`, `sqlite:path`, a bare file path, or
/// `postgres://...`.
pub fn classify_url(url: &str) -> Result<(Backend, String)> {
    let url = url.trim();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok((Backend::Postgres, url.to_string()))
    } else if let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        if rest.is_empty() {
            return Err(StoreError::UnsupportedUrl(url.to_string()));
        }
        Ok((Backend::Sqlite, rest.to_string()))
    } else if !url.contains("://") && !url.is_empty() {
        Ok((Backend::Sqlite, url.to_string()))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_string()))
    }
}

impl Store {
    /// Connect, creating the SQLite file if needed, and bring the schema up to date.
    pub async fn open(url: &str) -> Result<Store> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// [`Store::open`] with a single connection, for a command that does one thing at a time:
    /// a first import into it can then write without the log (see
    /// [`Store::begin_fresh_load`]), which another open connection would prevent.
    pub async fn open_single(url: &str) -> Result<Store> {
        let store = Self::connect_with(url, 1).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connect without migrating.
    pub async fn connect(url: &str) -> Result<Store> {
        Self::connect_with(url, 8).await
    }

    /// Connect with at most `sqlite_connections` to a SQLite file (PostgreSQL always gets 16).
    async fn connect_with(url: &str, sqlite_connections: u32) -> Result<Store> {
        let (backend, target) = classify_url(url)?;
        let pool = match backend {
            Backend::Sqlite => {
                let options = SqliteConnectOptions::new()
                    .filename(&target)
                    .create_if_missing(true)
                    .page_size(PAGE_SIZE)
                    .journal_mode(SqliteJournalMode::Wal)
                    // WAL with NORMAL loses no committed transaction on an application crash;
                    // only a power loss can drop the last commits.
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(30))
                    .pragma("cache_size", "-65536")
                    .pragma("temp_store", "memory");
                let pool = SqlitePoolOptions::new()
                    .max_connections(sqlite_connections)
                    .connect_with(options)
                    .await?;
                Pool::Sqlite(pool)
            }
            Backend::Postgres => {
                let options = PgConnectOptions::from_str(&target)?;
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await?;
                Pool::Postgres(pool)
            }
        };
        Ok(Store { pool })
    }

    pub async fn migrate(&self) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
            Pool::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        self.refresh_rollups().await
    }

    /// Rebuild the report tables when this version computes them differently from the one
    /// that wrote them (a new table, a new definition): they are derived, so they can always
    /// be recomputed from the deals and their history.
    async fn refresh_rollups(&self) -> Result<()> {
        let mut tx = self.write().await?;
        let stored = crate::settings::get(&mut tx, crate::settings::ROLLUPS_VERSION).await?;
        if stored.as_deref() != Some(crate::rollups::VERSION) {
            crate::rollups::rebuild(&mut tx).await?;
            crate::settings::set(
                &mut tx,
                crate::settings::ROLLUPS_VERSION,
                crate::rollups::VERSION,
            )
            .await?;
        }
        tx.commit().await
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// A transaction for changes. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`) so two writers queue instead of failing half-way.
    pub async fn write(&self) -> Result<Tx> {
        let inner = match &self.pool {
            Pool::Sqlite(pool) => TxInner::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(pool) => TxInner::Postgres(pool.begin().await?),
        };
        Ok(Tx {
            inner,
            cache: TxCache::default(),
        })
    }

    /// A transaction for reads that must see one consistent state across several queries.
    pub async fn read(&self) -> Result<Tx> {
        let inner = match &self.pool {
            Pool::Sqlite(pool) => TxInner::Sqlite(pool.begin().await?),
            Pool::Postgres(pool) => TxInner::Postgres(
                pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?,
            ),
        };
        Ok(Tx {
            inner,
            cache: TxCache::default(),
        })
    }

    /// For a load into a database that holds no deals yet (a first import), write with a
    /// rollback journal instead of the write-ahead log: pages added to the file need no
    /// journal, so each page is written once instead of to the log and then again to the
    /// database at checkpoint. Returns whether the mode changed: it does not on PostgreSQL, when
    /// deals exist, or when another process has the database open (its connections keep the
    /// log). [`Store::end_fresh_load`] puts the log back.
    pub async fn begin_fresh_load(&self) -> Result<bool> {
        let Pool::Sqlite(pool) = &self.pool else {
            return Ok(false);
        };
        let mut conn = pool.acquire().await?;
        // Read to the end, so that no statement keeps a read open on this connection.
        let any: Vec<(i64,)> = sqlx::query_as("SELECT EXISTS (SELECT 1 FROM deals)")
            .fetch_all(&mut *conn)
            .await?;
        if any.first().is_none_or(|(n,)| *n != 0) {
            return Ok(false);
        }
        // Leaving the log needs the database to itself: with other connections open (another
        // process, or this pool's idle ones), SQLite refuses, and the load goes through the log.
        match sqlx::query_as::<_, (String,)>("PRAGMA journal_mode = DELETE")
            .fetch_one(&mut *conn)
            .await
        {
            Ok((mode,)) => {
                tracing::debug!(%mode, "fresh load: journal mode");
                let fresh = mode.eq_ignore_ascii_case("delete");
                if fresh {
                    adopt_page_size(&mut conn).await?;
                }
                Ok(fresh)
            }
            Err(sqlx::Error::Database(e)) if e.message().contains("locked") => {
                tracing::debug!(idle = pool.num_idle(), "fresh load: the log stays ({e})");
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Back to the write-ahead log after [`Store::begin_fresh_load`] changed the mode.
    pub async fn end_fresh_load(&self) -> Result<()> {
        if let Pool::Sqlite(pool) = &self.pool {
            let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode = WAL")
                .fetch_one(pool)
                .await?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(StoreError::Raw(format!(
                    "the database stayed in `{mode}` journal mode after a load; it returns to the write-ahead log when next opened"
                )));
            }
        }
        Ok(())
    }

    /// Connections open and idle now: whether a second read can start without waiting.
    pub(crate) fn idle_connections(&self) -> usize {
        match &self.pool {
            Pool::Sqlite(pool) => pool.num_idle(),
            Pool::Postgres(pool) => pool.num_idle(),
        }
    }

    /// Check the database answers.
    pub async fn ping(&self) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop)?,
            Pool::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop)?,
        }
        Ok(())
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

/// Rewrite a small database created with smaller pages (by an earlier version) to
/// [`PAGE_SIZE`]. Only possible outside the write-ahead log, hence here.
async fn adopt_page_size(conn: &mut sqlx::SqliteConnection) -> Result<()> {
    let (page_size,): (i64,) = sqlx::query_as("PRAGMA page_size")
        .fetch_one(&mut *conn)
        .await?;
    let (pages,): (i64,) = sqlx::query_as("PRAGMA page_count")
        .fetch_one(&mut *conn)
        .await?;
    if page_size >= i64::from(PAGE_SIZE) || page_size * pages > REPAGE_UP_TO_BYTES {
        return Ok(());
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "PRAGMA page_size = {PAGE_SIZE}"
    )))
    .execute(&mut *conn)
    .await?;
    sqlx::query("VACUUM").execute(&mut *conn).await?;
    tracing::debug!(from = page_size, to = PAGE_SIZE, "fresh load: page size");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend() {
        assert_eq!(
            classify_url("sqlite://data/t.db").unwrap(),
            (Backend::Sqlite, "data/t.db".into())
        );
        assert_eq!(
            classify_url("sqlite:t.db").unwrap(),
            (Backend::Sqlite, "t.db".into())
        );
        assert_eq!(
            classify_url("throughline.db").unwrap(),
            (Backend::Sqlite, "throughline.db".into())
        );
        assert_eq!(
            classify_url("postgres://u@h/db").unwrap().0,
            Backend::Postgres
        );
        assert!(classify_url("mysql://u@h/db").is_err());
        assert!(classify_url("sqlite://").is_err());
    }
}
