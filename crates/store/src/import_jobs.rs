//! Finished import jobs: what each did, kept so that a report outlives the server process
//! that ran the import. The job itself is the server's business (its shape is the API's);
//! here it is JSON with the columns it is looked up by.

use jiff::Timestamp;
use throughline_core::UserId;
use throughline_core::time::to_ms;

use crate::db::{Tx, exec, on_conn};
use crate::error::Result;

/// A finished job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedJob {
    pub id: String,
    pub started_by: UserId,
    pub created_at: Timestamp,
    pub finished_at: Timestamp,
    /// The job as the API shows it, JSON.
    pub view: String,
}

/// Keep a finished job. Recording the same job twice keeps the first.
pub async fn record(tx: &mut Tx, job: &FinishedJob) -> Result<()> {
    exec!(tx, c => sqlx::query(
        "INSERT INTO import_jobs (id, started_by, created_at, finished_at, view)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&job.id)
    .bind(job.started_by.to_string())
    .bind(to_ms(job.created_at))
    .bind(to_ms(job.finished_at))
    .bind(&job.view)
    .execute(&mut *c)
    .await)?;
    Ok(())
}

/// The JSON of job `id`, if it finished, and who started it.
pub async fn get(tx: &mut Tx, id: &str) -> Result<Option<(UserId, String)>> {
    let row: Option<(String, String)> = on_conn!(tx, c => sqlx::query_as(
        "SELECT started_by, view FROM import_jobs WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *c)
    .await)?;
    row.map(|(user, view)| Ok((crate::rows::parse("user id", &user)?, view)))
        .transpose()
}

/// The JSON of the latest `limit` finished jobs, newest first: everyone's, or those
/// `started_by` started.
pub async fn recent(tx: &mut Tx, started_by: Option<UserId>, limit: i64) -> Result<Vec<String>> {
    // One statement per case, not `($1 IS NULL OR started_by = $1)`: SQLite plans before it
    // sees the value, and would walk everyone's jobs for one user's.
    let rows: Vec<(String,)> = match started_by {
        None => on_conn!(tx, c => sqlx::query_as(
            "SELECT view FROM import_jobs ORDER BY created_at DESC, id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&mut *c)
        .await)?,
        Some(user) => on_conn!(tx, c => sqlx::query_as(
            "SELECT view FROM import_jobs WHERE started_by = $1
             ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(user.to_string())
        .bind(limit)
        .fetch_all(&mut *c)
        .await)?,
    };
    Ok(rows.into_iter().map(|(view,)| view).collect())
}
