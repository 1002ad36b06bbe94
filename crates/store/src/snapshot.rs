//! The pipeline at any instant, computed from the spans and bucketed deltas (see `spans`).

use std::collections::HashMap;

use jiff::Timestamp;
use throughline_core::snapshot::{Snapshot, Tally, assemble};
use throughline_core::time::{MS_PER_DAY, day_of_ms, to_ms, truncate_ms};
use throughline_core::{PipelineId, StageId};

use crate::db::{Tx, on_conn};
use crate::error::Result;
use crate::events::Ctx;
use crate::pipelines;
use crate::rows::parse;
use crate::scope::visible_owner;
use crate::spans::prefix_ranges;

type TallyRow = (String, i64, i64);

fn fold(rows: Vec<TallyRow>, into: &mut HashMap<StageId, Tally>, sign: i64) -> Result<()> {
    for (stage, count, value) in rows {
        let tally = into.entry(parse("stage id", &stage)?).or_default();
        let delta = Tally { count, value };
        if sign > 0 {
            tally.add(delta)
        } else {
            tally.sub(delta)
        }
    }
    Ok(())
}

/// Per stage, the open deals the actor may see as they stood at `at`.
pub async fn tallies(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline: PipelineId,
    at: Timestamp,
) -> Result<HashMap<StageId, Tally>> {
    let pid = pipeline.to_string();
    let at_ms = to_ms(at);
    let day = day_of_ms(at_ms);
    let day_start = day * MS_PER_DAY;
    let mut out = HashMap::new();

    // The days before T's day: a few buckets per level (see `spans`). One range scan per
    // level, each on the key's order; the ranges are disjoint so nothing is counted twice.
    let [(from0, to0), (from1, to1), (from2, to2)] = prefix_ranges(day);
    let before: Vec<TallyRow> = on_conn!(tx, c => sqlx::query_as(concat!(
        "SELECT stage_id, CAST(SUM(d_count) AS BIGINT), CAST(SUM(d_value) AS BIGINT) FROM (
           SELECT stage_id, d_count, d_value FROM snapshot_deltas
            WHERE pipeline_id = $3 AND day >= $4 AND day < $5 AND ", visible_owner!("owner_id"), "
           UNION ALL
           SELECT stage_id, d_count, d_value FROM snapshot_deltas
            WHERE pipeline_id = $3 AND day >= $6 AND day < $7 AND ", visible_owner!("owner_id"), "
           UNION ALL
           SELECT stage_id, d_count, d_value FROM snapshot_deltas
            WHERE pipeline_id = $3 AND day >= $8 AND day < $9 AND ", visible_owner!("owner_id"), "
         ) buckets GROUP BY stage_id"
    ))
    .bind(ctx.role())
    .bind(ctx.user())
    .bind(&pid)
    .bind(from0)
    .bind(to0)
    .bind(from1)
    .bind(to1)
    .bind(from2)
    .bind(to2)
    .fetch_all(&mut *c)
    .await)?;
    fold(before, &mut out, 1)?;

    // T's own day up to T: spans that began, and spans that ended.
    let started: Vec<TallyRow> = on_conn!(tx, c => sqlx::query_as(concat!(
        "SELECT stage_id, COUNT(*), CAST(SUM(value) AS BIGINT) FROM deal_spans
         WHERE pipeline_id = $3 AND valid_from >= $4 AND valid_from <= $5 AND ", visible_owner!("owner_id"),
        " GROUP BY stage_id"
    ))
    .bind(ctx.role())
    .bind(ctx.user())
    .bind(&pid)
    .bind(day_start)
    .bind(at_ms)
    .fetch_all(&mut *c)
    .await)?;
    fold(started, &mut out, 1)?;

    let ended: Vec<TallyRow> = on_conn!(tx, c => sqlx::query_as(concat!(
        "SELECT stage_id, COUNT(*), CAST(SUM(value) AS BIGINT) FROM deal_spans
         WHERE pipeline_id = $3 AND valid_to >= $4 AND valid_to <= $5 AND ", visible_owner!("owner_id"),
        " GROUP BY stage_id"
    ))
    .bind(ctx.role())
    .bind(ctx.user())
    .bind(&pid)
    .bind(day_start)
    .bind(at_ms)
    .fetch_all(&mut *c)
    .await)?;
    fold(ended, &mut out, -1)?;

    out.retain(|_, t| t.count != 0 || t.value != 0);
    Ok(out)
}

/// The pipeline exactly as it stood at `at`, for what the actor may see.
pub async fn snapshot(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline: PipelineId,
    at: Timestamp,
) -> Result<Snapshot> {
    let at = truncate_ms(at);
    let p = pipelines::require(tx, pipeline).await?;
    let stages = pipelines::stages(tx, pipeline, true).await?;
    let tallies = tallies(tx, ctx, pipeline, at).await?;
    Ok(assemble(pipeline, p.currency, at, &stages, &tallies))
}
