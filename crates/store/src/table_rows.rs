//! Writing many rows of one table at once, for imports and rebuilds.
//!
//! Rows are collected as typed values first, then written in one go: on SQLite through one
//! prepared statement stepped per row on the connection's own handle (the per-statement
//! round trip through sqlx's worker would cost more than the insert itself), on PostgreSQL
//! as multi-row `INSERT`s of up to 65,535 parameters.

use std::ffi::{CStr, CString, c_int};
use std::ptr;

use crate::db::{Tx, TxInner};
use crate::error::{Result, StoreError};

/// One column value. Nulls carry their type because PostgreSQL needs it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Int(Option<i64>),
    Text(Option<String>),
    /// Text repeated on many rows (ids of stages, owners): shared, not copied.
    Shared(std::sync::Arc<str>),
    /// Text fixed in the program (a status, a currency code, an entity name).
    Static(&'static str),
    Bool(bool),
}

impl From<&std::sync::Arc<str>> for Val {
    fn from(v: &std::sync::Arc<str>) -> Self {
        Val::Shared(v.clone())
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(Some(v))
    }
}

impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Self {
        Val::Int(v)
    }
}

impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(Some(v))
    }
}

impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(Some(v.to_string()))
    }
}

impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Self {
        Val::Text(v)
    }
}

impl From<bool> for Val {
    fn from(v: bool) -> Self {
        Val::Bool(v)
    }
}

/// Rows per SQLite statement in a bulk write.
const ROWS_PER_STATEMENT: usize = 64;

/// Parameters SQLite takes in one statement (its default limit since 3.32).
const SQLITE_PARAMETERS: usize = 32_766;

/// Rows waiting to be written to one table.
pub(crate) struct Rows {
    table: &'static str,
    columns: &'static [&'static str],
    /// Appended after `VALUES (...)`, e.g. an `ON CONFLICT` clause.
    suffix: &'static str,
    values: Vec<Val>,
}

impl Rows {
    pub fn new(table: &'static str, columns: &'static [&'static str]) -> Self {
        Self {
            table,
            columns,
            suffix: "",
            values: vec![],
        }
    }

    /// [`Rows::new`] with room for `rows` rows.
    pub fn with_capacity(
        table: &'static str,
        columns: &'static [&'static str],
        rows: usize,
    ) -> Self {
        let mut out = Self::new(table, columns);
        out.values.reserve(rows * columns.len());
        out
    }

    pub fn on_conflict(mut self, suffix: &'static str) -> Self {
        self.suffix = suffix;
        self
    }

    pub fn push<const N: usize>(&mut self, row: [Val; N]) {
        debug_assert_eq!(N, self.columns.len(), "a row of {}", self.table);
        self.values.extend(row);
    }

    fn statement(&self, rows: usize, numbered: bool) -> String {
        let n = self.columns.len();
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ",
            self.table,
            self.columns.join(", ")
        );
        for r in 0..rows {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..n {
                if c > 0 {
                    sql.push_str(", ");
                }
                if numbered {
                    sql.push_str(&format!("${}", r * n + c + 1));
                } else {
                    sql.push('?');
                }
            }
            sql.push(')');
        }
        sql.push(' ');
        sql.push_str(self.suffix);
        sql
    }

    /// Write the rows and empty the buffer.
    pub async fn flush(&mut self, tx: &mut Tx) -> Result<()> {
        if self.values.is_empty() {
            return Ok(());
        }
        match &mut tx.inner {
            TxInner::Sqlite(t) => {
                let mut handle = t.lock_handle().await?;
                let db = handle.as_raw_handle().as_ptr();
                let width = self.columns.len();
                let rows = self.values.len() / width;
                // Many rows per statement: each execution of a statement has a fixed cost
                // (and, for a table with AUTOINCREMENT, a read and write of its counter),
                // paid once per chunk instead of once per row.
                let per_statement = (SQLITE_PARAMETERS / width).clamp(1, ROWS_PER_STATEMENT);
                let whole = rows / per_statement * per_statement * width;
                let (chunked, rest) = self.values.split_at(whole);
                if !chunked.is_empty() {
                    sqlite_insert(
                        db,
                        &self.statement(per_statement, false),
                        width * per_statement,
                        chunked,
                    )?;
                }
                if !rest.is_empty() {
                    sqlite_insert(
                        db,
                        &self.statement(rest.len() / width, false),
                        rest.len(),
                        rest,
                    )?;
                }
            }
            TxInner::Postgres(t) => {
                let per_row = self.columns.len();
                let rows_per_statement = (65_535 / per_row).clamp(1, 2_000);
                for chunk in self.values.chunks(rows_per_statement * per_row) {
                    let sql = self.statement(chunk.len() / per_row, true);
                    bind_pg(sqlx::query(sqlx::AssertSqlSafe(sql)), chunk)
                        .execute(&mut **t)
                        .await?;
                }
            }
        }
        self.values.clear();
        Ok(())
    }
}

pub(crate) fn sqlite_error(db: *mut libsqlite3_sys::sqlite3, what: &str) -> StoreError {
    // SAFETY: `db` is the live handle the caller holds locked; errmsg returns a string owned
    // by SQLite, valid until the next call on the handle, which we copy at once.
    let message = unsafe { CStr::from_ptr(libsqlite3_sys::sqlite3_errmsg(db)) }
        .to_string_lossy()
        .into_owned();
    StoreError::Raw(format!("{what}: {message}"))
}

/// `values` bound in order to a PostgreSQL statement.
pub(crate) fn bind_pg<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    values: &'q [Val],
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    for v in values {
        q = match v {
            Val::Int(i) => q.bind(*i),
            Val::Text(s) => q.bind(s.as_deref()),
            Val::Shared(s) => q.bind(&**s),
            Val::Static(s) => q.bind(*s),
            Val::Bool(b) => q.bind(*b),
        };
    }
    q
}

/// Bind `v` to parameter `col` of `stmt`, text as STATIC (not copied).
///
/// # Safety
/// `stmt` must be a valid prepared statement, and `v` must outlive every step of it until it is
/// reset or finalized: SQLite reads the text in place.
pub(crate) unsafe fn bind_sqlite(
    stmt: *mut libsqlite3_sys::sqlite3_stmt,
    col: c_int,
    v: &Val,
) -> c_int {
    use libsqlite3_sys as ffi;
    let text: Option<&str> = match v {
        Val::Text(Some(s)) => Some(s),
        Val::Shared(s) => Some(s),
        Val::Static(s) => Some(s),
        _ => None,
    };
    // SAFETY: as the caller promises.
    unsafe {
        match (v, text) {
            (_, Some(s)) => ffi::sqlite3_bind_text(
                stmt,
                col,
                s.as_ptr().cast(),
                s.len() as c_int,
                ffi::SQLITE_STATIC(),
            ),
            (Val::Int(Some(n)), _) => ffi::sqlite3_bind_int64(stmt, col, *n),
            (Val::Bool(b), _) => ffi::sqlite3_bind_int64(stmt, col, i64::from(*b)),
            _ => ffi::sqlite3_bind_null(stmt, col),
        }
    }
}

/// Insert `values` with one prepared statement, `width` values per execution.
fn sqlite_insert(
    db: *mut libsqlite3_sys::sqlite3,
    sql: &str,
    width: usize,
    values: &[Val],
) -> Result<()> {
    use libsqlite3_sys as ffi;
    let sql = CString::new(sql).map_err(|e| StoreError::Raw(e.to_string()))?;
    let mut stmt: *mut ffi::sqlite3_stmt = ptr::null_mut();
    // SAFETY: `db` is locked for us by sqlx for the duration of this call (no other thread
    // uses it); the statement is finalized on every path below.
    let rc = unsafe { ffi::sqlite3_prepare_v2(db, sql.as_ptr(), -1, &mut stmt, ptr::null_mut()) };
    if rc != ffi::SQLITE_OK {
        return Err(sqlite_error(db, "preparing a bulk insert"));
    }
    let result = (|| {
        for row in values.chunks(width) {
            for (i, v) in row.iter().enumerate() {
                let col = (i + 1) as c_int;
                // SAFETY: `stmt` is a valid prepared statement; `values` (which owns the text)
                // outlives the whole loop, each row stepped and reset below.
                let rc = unsafe { bind_sqlite(stmt, col, v) };
                if rc != ffi::SQLITE_OK {
                    return Err(sqlite_error(db, "binding a bulk row"));
                }
            }
            // SAFETY: as above.
            let rc = unsafe { ffi::sqlite3_step(stmt) };
            if rc != ffi::SQLITE_DONE {
                return Err(sqlite_error(db, "writing a bulk row"));
            }
            // SAFETY: as above.
            unsafe { ffi::sqlite3_reset(stmt) };
        }
        Ok(())
    })();
    // SAFETY: finalized exactly once.
    unsafe { ffi::sqlite3_finalize(stmt) };
    result
}

/// Secondary indexes set aside while a bulk load fills tables that were empty: building an
/// index once from sorted keys is far cheaper than keeping it up to date row by row. SQLite
/// only; the statements that recreate them run in the same transaction, so a failed import
/// rolls back to the indexes as they were.
pub(crate) struct SetAside {
    create: Vec<String>,
    cache_size: Option<i64>,
}

/// The page cache of a connection during a bulk load (KiB): enough that the pages being
/// filled stay in memory instead of spilling to the log and being read back.
const LOAD_CACHE_KIB: i64 = 512 * 1024;

/// The page cache while indexes are rebuilt (KiB), which is also the size of the runs
/// SQLite sorts keys in (never under 250 pages).
const SORT_RUN_KIB: i64 = 4 * 1024;

impl SetAside {
    pub async fn drop(tx: &mut Tx, tables: &[&str]) -> Result<SetAside> {
        let mut create = vec![];
        let mut cache_size = None;
        if let TxInner::Sqlite(t) = &mut tx.inner {
            let (current,): (i64,) = sqlx::query_as("PRAGMA cache_size")
                .fetch_one(&mut **t)
                .await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "PRAGMA cache_size = -{LOAD_CACHE_KIB}"
            )))
            .execute(&mut **t)
            .await?;
            cache_size = Some(current);
            for table in tables {
                let rows: Vec<(String, String)> = sqlx::query_as(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL",
                )
                .bind(*table)
                .fetch_all(&mut **t)
                .await?;
                for (name, sql) in rows {
                    sqlx::query(sqlx::AssertSqlSafe(format!("DROP INDEX \"{name}\"")))
                        .execute(&mut **t)
                        .await?;
                    create.push(sql);
                }
            }
        }
        Ok(SetAside { create, cache_size })
    }

    pub async fn restore(self, tx: &mut Tx) -> Result<()> {
        if let TxInner::Sqlite(t) = &mut tx.inner {
            // How SQLite sorts an index's keys. With temporary storage in memory it allocates
            // each key on its own and sorts them all at the end on this thread. With a file,
            // it packs keys into runs the size of the page cache, each sorted by a worker
            // thread while this one reads on, then merged; runs of a few MiB stay in the
            // processor's caches. Together about 40 % faster at a million rows on two cores.
            let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
            execute_all(
                t,
                &[
                    "PRAGMA temp_store = FILE".into(),
                    format!("PRAGMA threads = {workers}"),
                    format!("PRAGMA cache_size = -{SORT_RUN_KIB}"),
                ],
            )
            .await?;
            execute_all(t, &self.create).await?;
            if let Some(size) = self.cache_size {
                execute_all(
                    t,
                    &[
                        format!("PRAGMA cache_size = {size}"),
                        "PRAGMA threads = 0".into(),
                        "PRAGMA temp_store = MEMORY".into(),
                    ],
                )
                .await?;
            }
        }
        Ok(())
    }
}

async fn execute_all(conn: &mut sqlx::SqliteConnection, statements: &[String]) -> Result<()> {
    for sql in statements {
        sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
