//! Deal spans and daily snapshot deltas: the event history laid out for fast time travel.
//!
//! A span is a period during which an open deal sat in one stage with one owner and value.
//! Each span adds +1 (and its value) to its stage on the day it starts and −1 on the day it
//! ends, in `snapshot_deltas`. A snapshot at T is then the sum of the deltas of the days before
//! T's day plus the spans that start or end on T's day up to T, so its cost depends on the
//! number of days and stages, not on the number of deals or events.

use throughline_core::time::day_of_ms;

use crate::db::{Tx, exec, on_conn};
use crate::error::Result;

/// The state of an open deal that a span records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpanState {
    pub pipeline_id: String,
    pub stage_id: String,
    pub owner_id: String,
    /// In minor units of the pipeline's currency.
    pub value: i64,
}

async fn add_delta(tx: &mut Tx, state: &SpanState, at_ms: i64, sign: i64) -> Result<()> {
    exec!(tx, c => sqlx::query(
        "INSERT INTO snapshot_deltas (pipeline_id, day, stage_id, owner_id, d_count, d_value)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (pipeline_id, day, stage_id, owner_id)
         DO UPDATE SET d_count = snapshot_deltas.d_count + excluded.d_count,
                       d_value = snapshot_deltas.d_value + excluded.d_value",
    )
    .bind(&state.pipeline_id)
    .bind(day_of_ms(at_ms))
    .bind(&state.stage_id)
    .bind(&state.owner_id)
    .bind(sign)
    .bind(sign * state.value)
    .execute(&mut *c)
    .await)?;
    Ok(())
}

/// Start a span for a deal that is open from `at_ms`.
pub(crate) async fn open(
    tx: &mut Tx,
    deal_id: &str,
    state: &SpanState,
    entered: bool,
    at_ms: i64,
) -> Result<()> {
    exec!(tx, c => sqlx::query(
        "INSERT INTO deal_spans (deal_id, pipeline_id, stage_id, owner_id, value, entered, valid_from)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(deal_id)
    .bind(&state.pipeline_id)
    .bind(&state.stage_id)
    .bind(&state.owner_id)
    .bind(state.value)
    .bind(entered)
    .bind(at_ms)
    .execute(&mut *c)
    .await)?;
    add_delta(tx, state, at_ms, 1).await
}

/// End the deal's current span at `at_ms`, if it has one.
pub(crate) async fn close(tx: &mut Tx, deal_id: &str, at_ms: i64) -> Result<()> {
    let current: Option<(i64, String, String, String, i64, i64)> = on_conn!(tx, c => sqlx::query_as(
        "SELECT id, pipeline_id, stage_id, owner_id, value, valid_from FROM deal_spans
         WHERE deal_id = $1 AND valid_to IS NULL",
    )
    .bind(deal_id)
    .fetch_optional(&mut *c)
    .await)?;
    let Some((span_id, pipeline_id, stage_id, owner_id, value, valid_from)) = current else {
        return Ok(());
    };
    // Clocks can step back a little between servers; a span never ends before it began.
    let at_ms = at_ms.max(valid_from);
    exec!(tx, c => sqlx::query("UPDATE deal_spans SET valid_to = $1 WHERE id = $2")
        .bind(at_ms)
        .bind(span_id)
        .execute(&mut *c)
        .await)?;
    add_delta(
        tx,
        &SpanState {
            pipeline_id,
            stage_id,
            owner_id,
            value,
        },
        at_ms,
        -1,
    )
    .await
}

/// When the deal's current span began (the earliest instant a new change may take effect).
pub(crate) async fn current_start(tx: &mut Tx, deal_id: &str) -> Result<Option<i64>> {
    let row: Option<(i64,)> = on_conn!(tx, c => sqlx::query_as(
        "SELECT valid_from FROM deal_spans WHERE deal_id = $1 AND valid_to IS NULL",
    )
    .bind(deal_id)
    .fetch_optional(&mut *c)
    .await)?;
    Ok(row.map(|(v,)| v))
}

/// Replace the current span with one in a new state (a move, an owner or value change).
pub(crate) async fn replace(
    tx: &mut Tx,
    deal_id: &str,
    state: &SpanState,
    entered: bool,
    at_ms: i64,
) -> Result<()> {
    let at_ms = match current_start(tx, deal_id).await? {
        Some(start) => at_ms.max(start),
        None => at_ms,
    };
    close(tx, deal_id, at_ms).await?;
    open(tx, deal_id, state, entered, at_ms).await
}
