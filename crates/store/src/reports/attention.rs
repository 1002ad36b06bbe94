//! The attention list: open deals that need effort now, and those taking effort out of
//! proportion to their expected value.

use std::collections::HashMap;

use jiff::Timestamp;
use throughline_core::report::{
    ATTENTION_WEIGHTS, AttentionFacts, AttentionReport, ListPage, attention as rank,
};
use throughline_core::time::{MS_PER_DAY, to_ms};
use throughline_core::{DealId, PipelineId, StageId, UserId};

use super::queries::{ReportFilter, open_deals_sql, person_binds, stays};
use crate::db::{Tx, on_conn};
use crate::error::Result;
use crate::events::Ctx;
use crate::rows::{parse, parse_once};
use crate::table_read::for_each_row;
use crate::{pipelines, settings};

/// The 90th percentile (nearest rank) of whole days over a histogram, and its size.
fn p90(histogram: &[(i64, i64)]) -> Option<(f64, i64)> {
    let n: i64 = histogram.iter().map(|(_, c)| c).sum();
    if n == 0 {
        return None;
    }
    let mut sorted = histogram.to_vec();
    sorted.sort();
    let rank = ((0.9 * n as f64).ceil() as i64).max(1);
    let mut seen = 0;
    for (days, count) in sorted {
        seen += count;
        if seen >= rank {
            return Some((days as f64, n));
        }
    }
    None
}

pub async fn attention(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline_id: PipelineId,
    filter: &ReportFilter,
    now: Timestamp,
    page: ListPage,
) -> Result<AttentionReport> {
    let pipeline = pipelines::require(tx, pipeline_id).await?;
    let stages: HashMap<StageId, throughline_core::pipeline::Stage> =
        pipelines::stages(tx, pipeline_id, true)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
    let tz = settings::time_zone(tx).await?;
    let today = now.to_zoned_datetime(tz.clone()).date();
    let now_ms = to_ms(now);

    let mut stay_days: HashMap<StageId, Vec<(i64, i64)>> = HashMap::new();
    for s in stays(tx, pipeline_id, None).await? {
        stay_days
            .entry(s.stage_id)
            .or_default()
            .push((s.days, s.count));
    }

    let sql = open_deals_sql(
        "d.id, d.title, d.stage_id, d.owner_id, d.value, d.stage_entered_at, d.expected_close_date,
         d.close_pushes, d.activities_done, d.effort_minutes",
        filter,
    );
    // Open activities of open deals: does each have a next step, and how late is the oldest?
    let next: Vec<(String, Option<i64>)> = on_conn!(tx, c => sqlx::query_as(
        "SELECT a.deal_id, MIN(a.due_at) FROM activities a JOIN deals d ON d.id = a.deal_id
         WHERE a.done = FALSE AND d.pipeline_id = $1 AND d.status = 'open' GROUP BY a.deal_id",
    )
    .bind(pipeline_id.to_string())
    .fetch_all(&mut *c)
    .await)?;
    let next: HashMap<String, Option<i64>> = next.into_iter().collect();

    // Per stage once, not per deal: the 90th percentile of its past stays.
    let stage_p90: HashMap<StageId, (f64, i64)> = stay_days
        .iter()
        .filter_map(|(stage, h)| p90(h).map(|p| (*stage, p)))
        .collect();
    // Stage and owner ids repeat: parse each once.
    let mut stage_ids: HashMap<String, StageId> = HashMap::new();
    let mut owner_ids: HashMap<String, UserId> = HashMap::new();
    let mut facts = vec![];
    for_each_row(tx, &sql, &person_binds(ctx, pipeline_id, filter), |r| {
        let id = r.text(0)?;
        let stage_id = parse_once(&mut stage_ids, "stage id", r.text(2)?)?;
        let owner_id = parse_once(&mut owner_ids, "user id", r.text(3)?)?;
        let st = stages.get(&stage_id);
        let next_due = next.get(id);
        let overdue_days = next_due
            .copied()
            .flatten()
            .filter(|d| *d < now_ms)
            .map(|d| (now_ms - d) / MS_PER_DAY);
        let past_close_days = r
            .opt_text(6)?
            .and_then(|c| c.parse::<jiff::civil::Date>().ok())
            .filter(|d| *d < today)
            .and_then(|d| d.until(today).ok())
            .map(|span| i64::from(span.get_days()));
        facts.push(AttentionFacts {
            deal_id: parse::<DealId>("deal id", id)?,
            title: r.text(1)?.to_string(),
            owner_id,
            stage_id,
            stage_name: st.map(|s| s.name.clone()).unwrap_or_default(),
            probability: st.map(|s| s.probability).unwrap_or(0),
            value: r.int(4)?,
            days_in_stage: ((now_ms - r.int(5)?).max(0)) / MS_PER_DAY,
            rot_days: st.and_then(|s| s.rot_days),
            stage_p90_days: stage_p90.get(&stage_id).copied(),
            has_next_activity: next_due.is_some(),
            overdue_days,
            past_close_days,
            close_pushes: r.int(7)?,
            activities_done: r.int(8)?,
            effort_minutes: r.int(9)?,
        });
        Ok(())
    })
    .await?;
    let ranking = rank(&facts, pipeline.currency, page);
    Ok(AttentionReport {
        pipeline_id,
        currency: pipeline.currency,
        summary: ranking.summary,
        offset: page.offset,
        needs_effort: ranking.needs_effort,
        over_invested: ranking.over_invested,
        weights: ATTENTION_WEIGHTS.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn p90_is_the_nearest_rank_over_the_histogram() {
        // 10 stays: 1 day ×5, 3 days ×4, 20 days ×1 → the 9th is 3 days.
        assert_eq!(super::p90(&[(20, 1), (1, 5), (3, 4)]), Some((3.0, 10)));
        assert_eq!(super::p90(&[]), None);
    }
}
