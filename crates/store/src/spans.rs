//! Deal spans and snapshot deltas: the event history laid out for fast time travel.
//!
//! A span is a period during which an open deal sat in one stage with one owner and value.
//! Each span adds +1 (and its value) to its stage and owner when it starts and −1 when it
//! ends, in `snapshot_deltas`. The deltas are kept in buckets of three sizes at once: one day,
//! 16 days and 256 days (UTC, aligned on day numbers). The days before T's day are covered
//! exactly by at most a few 256-day buckets, then at most 15 16-day buckets, then at most 15
//! one-day buckets; a snapshot sums those and adds the spans that start or end on T's own day up
//! to T. Its cost depends on the number of stages and owners, not on the length of the history
//! or the number of deals and events.
//!
//! Why not one-day buckets alone: summing every day before T touches one row per day, stage
//! and owner: 340,000 rows for 100,000 deals over three years, 0.2 s a snapshot on SQLite. The
//! three levels touch at most about 35 rows per stage and owner, for three writes per delta.

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

/// Bucket sizes, as powers of two of days: 1, 16 and 256 days.
const LEVEL_SHIFTS: [u32; 3] = [0, 4, 8];

/// All levels share the `day` column as one ordered key: a bucket of level k is stored under
/// `k × LEVEL_STRIDE + (day number >> shift)`. Day numbers of representable instants stay
/// within ±2^23, so the levels' key ranges never meet.
const LEVEL_STRIDE: i64 = 1 << 40;

/// The key of the level-`level` bucket holding `day`.
pub(crate) fn bucket_key(level: usize, day: i64) -> i64 {
    level as i64 * LEVEL_STRIDE + (day >> LEVEL_SHIFTS[level])
}

/// Key ranges `[from, to)`, one per level, whose buckets together cover exactly the days
/// before `day`: whole top-level buckets, then finer ones up to `day`.
pub(crate) fn prefix_ranges(day: i64) -> [(i64, i64); 3] {
    let top = LEVEL_SHIFTS.len() - 1;
    std::array::from_fn(|level| {
        let shift = LEVEL_SHIFTS[level];
        let to = bucket_key(level, day);
        let from = if level == top {
            // Every bucket of the top level from the beginning of time.
            level as i64 * LEVEL_STRIDE - LEVEL_STRIDE / 2
        } else {
            // From where the coarser level's buckets stop.
            let coarser = LEVEL_SHIFTS[level + 1];
            level as i64 * LEVEL_STRIDE + ((day >> coarser) << (coarser - shift))
        };
        (from, to)
    })
}

async fn add_delta(tx: &mut Tx, state: &SpanState, at_ms: i64, sign: i64) -> Result<()> {
    let day = day_of_ms(at_ms);
    // One statement for the three levels: one round trip per delta.
    exec!(tx, c => sqlx::query(
        "INSERT INTO snapshot_deltas (pipeline_id, day, stage_id, owner_id, d_count, d_value)
         VALUES ($1, $2, $5, $6, $7, $8), ($1, $3, $5, $6, $7, $8), ($1, $4, $5, $6, $7, $8)
         ON CONFLICT (pipeline_id, day, stage_id, owner_id)
         DO UPDATE SET d_count = snapshot_deltas.d_count + excluded.d_count,
                       d_value = snapshot_deltas.d_value + excluded.d_value",
    )
    .bind(&state.pipeline_id)
    .bind(bucket_key(0, day))
    .bind(bucket_key(1, day))
    .bind(bucket_key(2, day))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The invariant the snapshot rests on: every day before `day` lies in exactly one bucket
    /// that the prefix ranges select, and no later day lies in any.
    #[test]
    fn prefix_ranges_cover_the_days_before_exactly_once() {
        let days = (-600..600).chain(19_700..20_400).chain([
            -(1 << 23),
            (1 << 23) - 1,
            255,
            256,
            4_095,
            4_096,
        ]);
        for day in days {
            let ranges = prefix_ranges(day);
            for (level, (from, to)) in ranges.iter().enumerate() {
                assert!(from <= to, "level {level} range of day {day} is reversed");
            }
            for d in (day - 700..day + 40).chain([-(1 << 23), (1 << 23) - 1]) {
                let hits = (0..LEVEL_SHIFTS.len())
                    .filter(|&level| {
                        let key = bucket_key(level, d);
                        ranges.iter().any(|&(from, to)| from <= key && key < to)
                    })
                    .count();
                assert_eq!(
                    hits,
                    usize::from(d < day),
                    "day {d} is counted {hits} times in the prefix before day {day}"
                );
            }
        }
    }

    #[test]
    fn a_prefix_touches_few_buckets() {
        // At most 15 buckets of each finer level, whatever the day.
        for day in 19_000..21_000 {
            let ranges = prefix_ranges(day);
            for (from, to) in &ranges[..2] {
                assert!(to - from < 16, "day {day}: {from}..{to}");
            }
        }
    }
}
