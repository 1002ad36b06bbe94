//! Reading many rows at once, for the reports that walk every open deal.
//!
//! Through sqlx, each SQLite row is decoded on its worker thread and handed over a channel:
//! about 1.5 µs a row, several times what SQLite itself spends finding it. Here the statement
//! is stepped on the connection's own handle (as [`crate::table_rows`] does for writes) and
//! each row is read in place by the caller's closure, without a copy of its text. On
//! PostgreSQL the same closure reads sqlx's rows.
//!
//! Parameters are written `$1`, `$2`, … as everywhere in the store, and bound by name: SQLite
//! numbers `$n` parameters in order of first appearance, not by their digits.

use std::ffi::{CString, c_int};
use std::ptr;

use sqlx::Row as _;

use crate::db::{Tx, TxInner};
use crate::error::{Result, StoreError};
use crate::table_rows::{Val, bind_pg, bind_sqlite, sqlite_error};

/// One row as the closure of [`for_each_row`] sees it: columns by position.
pub(crate) trait RowRead {
    fn int(&self, column: usize) -> Result<i64>;
    fn opt_int(&self, column: usize) -> Result<Option<i64>>;
    /// Text, borrowed for the duration of the call.
    fn opt_text(&self, column: usize) -> Result<Option<&str>>;

    fn text(&self, column: usize) -> Result<&str> {
        self.opt_text(column)?
            .ok_or_else(|| StoreError::Corrupt(format!("column {column} is unexpectedly empty")))
    }
}

/// Run `sql` with `binds` as `$1..$n` and call `each` on every row, in order.
pub(crate) async fn for_each_row(
    tx: &mut Tx,
    sql: &str,
    binds: &[Val],
    mut each: impl FnMut(&dyn RowRead) -> Result<()>,
) -> Result<()> {
    match &mut tx.inner {
        TxInner::Sqlite(t) => {
            let mut handle = t.lock_handle().await?;
            let db = handle.as_raw_handle().as_ptr();
            let mut read = || sqlite_each(db, sql, binds, &mut each);
            // A read can take a tenth of a second: on a multi-threaded runtime the worker's
            // other tasks move to another thread meanwhile, instead of waiting behind it.
            let on_workers = tokio::runtime::Handle::try_current()
                .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
            if on_workers {
                tokio::task::block_in_place(read)
            } else {
                read()
            }
        }
        TxInner::Postgres(t) => {
            let q = bind_pg(sqlx::query(sqlx::AssertSqlSafe(sql.to_string())), binds);
            for row in q.fetch_all(&mut **t).await? {
                each(&PgRead(&row))?;
            }
            Ok(())
        }
    }
}

struct PgRead<'r>(&'r sqlx::postgres::PgRow);

impl RowRead for PgRead<'_> {
    fn int(&self, column: usize) -> Result<i64> {
        self.opt_int(column)?
            .ok_or_else(|| StoreError::Corrupt(format!("column {column} is unexpectedly empty")))
    }

    fn opt_int(&self, column: usize) -> Result<Option<i64>> {
        // Booleans read as 0/1, as SQLite stores them.
        match self.0.try_get::<Option<i64>, _>(column) {
            Ok(v) => Ok(v),
            Err(_) => Ok(self.0.try_get::<Option<bool>, _>(column)?.map(i64::from)),
        }
    }

    fn opt_text(&self, column: usize) -> Result<Option<&str>> {
        Ok(self.0.try_get::<Option<&str>, _>(column)?)
    }
}

struct SqliteRead(*mut libsqlite3_sys::sqlite3_stmt);

impl SqliteRead {
    fn is_null(&self, column: usize) -> bool {
        // SAFETY: the statement is valid and positioned on a row while the closure runs.
        let kind = unsafe { libsqlite3_sys::sqlite3_column_type(self.0, column as c_int) };
        kind == libsqlite3_sys::SQLITE_NULL
    }
}

impl RowRead for SqliteRead {
    fn int(&self, column: usize) -> Result<i64> {
        // SAFETY: as in `is_null`.
        Ok(unsafe { libsqlite3_sys::sqlite3_column_int64(self.0, column as c_int) })
    }

    fn opt_int(&self, column: usize) -> Result<Option<i64>> {
        if self.is_null(column) {
            return Ok(None);
        }
        self.int(column).map(Some)
    }

    fn opt_text(&self, column: usize) -> Result<Option<&str>> {
        if self.is_null(column) {
            return Ok(None);
        }
        // SAFETY: as in `is_null`; the text stays valid until the next step, column read or
        // reset of the statement, and the borrow cannot outlive the closure's call.
        let bytes = unsafe {
            let text = libsqlite3_sys::sqlite3_column_text(self.0, column as c_int);
            let len = libsqlite3_sys::sqlite3_column_bytes(self.0, column as c_int);
            if text.is_null() {
                return Ok(Some(""));
            }
            std::slice::from_raw_parts(text, len.max(0) as usize)
        };
        std::str::from_utf8(bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("column {column} is not UTF-8: {e}")))
    }
}

fn sqlite_each(
    db: *mut libsqlite3_sys::sqlite3,
    sql: &str,
    binds: &[Val],
    each: &mut dyn FnMut(&dyn RowRead) -> Result<()>,
) -> Result<()> {
    use libsqlite3_sys as ffi;
    let sql = CString::new(sql).map_err(|e| StoreError::Raw(e.to_string()))?;
    let mut stmt: *mut ffi::sqlite3_stmt = ptr::null_mut();
    // SAFETY: `db` is locked for us by sqlx for the duration of this call (no other thread
    // uses it); the statement is finalized on every path below.
    let rc = unsafe { ffi::sqlite3_prepare_v2(db, sql.as_ptr(), -1, &mut stmt, ptr::null_mut()) };
    if rc != ffi::SQLITE_OK {
        return Err(sqlite_error(db, "preparing a read"));
    }
    let result = (|| {
        for (i, v) in binds.iter().enumerate() {
            let name =
                CString::new(format!("${}", i + 1)).map_err(|e| StoreError::Raw(e.to_string()))?;
            // SAFETY: `stmt` is valid; `name` is a NUL-terminated string.
            let col = unsafe { ffi::sqlite3_bind_parameter_index(stmt, name.as_ptr()) };
            if col == 0 {
                // Not used by this statement.
                continue;
            }
            // SAFETY: `stmt` is valid, and `binds` outlives every step of it.
            let rc = unsafe { bind_sqlite(stmt, col, v) };
            if rc != ffi::SQLITE_OK {
                return Err(sqlite_error(db, "binding a parameter"));
            }
        }
        loop {
            // SAFETY: as above.
            match unsafe { ffi::sqlite3_step(stmt) } {
                ffi::SQLITE_ROW => each(&SqliteRead(stmt))?,
                ffi::SQLITE_DONE => return Ok(()),
                _ => return Err(sqlite_error(db, "reading rows")),
            }
        }
    })();
    // SAFETY: finalized exactly once.
    unsafe { ffi::sqlite3_finalize(stmt) };
    result
}
