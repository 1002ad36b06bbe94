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

/// Per stage, the open deals the actor may see as they stood at `at`.
///
/// One statement, so one round trip (it matters on PostgreSQL): the buckets covering the days
/// before T's day (a few per level, see `spans`; the key ranges are disjoint so nothing is
/// counted twice), plus the spans that began on T's own day up to T, minus those that ended
/// then. Each part is a range scan on an index in its own order.
pub async fn tallies(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline: PipelineId,
    at: Timestamp,
) -> Result<HashMap<StageId, Tally>> {
    let at_ms = to_ms(at);
    let day = day_of_ms(at_ms);
    let [(from0, to0), (from1, to1), (from2, to2)] = prefix_ranges(day);
    let rows: Vec<(String, i64, i64)> = on_conn!(tx, c => sqlx::query_as(concat!(
        "SELECT stage_id, CAST(SUM(d_count) AS BIGINT), CAST(SUM(d_value) AS BIGINT) FROM (
           SELECT stage_id, d_count, d_value FROM snapshot_deltas
            WHERE pipeline_id = $3 AND day >= $4 AND day < $5 AND ", visible_owner!("owner_id"), "
           UNION ALL
           SELECT stage_id, d_count, d_value FROM snapshot_deltas
            WHERE pipeline_id = $3 AND day >= $6 AND day < $7 AND ", visible_owner!("owner_id"), "
           UNION ALL
           SELECT stage_id, d_count, d_value FROM snapshot_deltas
            WHERE pipeline_id = $3 AND day >= $8 AND day < $9 AND ", visible_owner!("owner_id"), "
           UNION ALL
           SELECT stage_id, 1, value FROM deal_spans
            WHERE pipeline_id = $3 AND valid_from >= $10 AND valid_from <= $11 AND ", visible_owner!("owner_id"), "
           UNION ALL
           SELECT stage_id, -1, -value FROM deal_spans
            WHERE pipeline_id = $3 AND valid_to >= $10 AND valid_to <= $11 AND ", visible_owner!("owner_id"), "
         ) parts GROUP BY stage_id"
    ))
    .bind(ctx.role())
    .bind(ctx.user())
    .bind(pipeline.to_string())
    .bind(from0)
    .bind(to0)
    .bind(from1)
    .bind(to1)
    .bind(from2)
    .bind(to2)
    .bind(day * MS_PER_DAY)
    .bind(at_ms)
    .fetch_all(&mut *c)
    .await)?;
    let mut out = HashMap::new();
    for (stage, count, value) in rows {
        // Stages whose deals all left again sum to zero: they held nothing at T.
        if count != 0 || value != 0 {
            out.insert(parse("stage id", &stage)?, Tally { count, value });
        }
    }
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
