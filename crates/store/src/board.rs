//! The board: a pipeline's open deals per stage with what a card shows (organization,
//! owner, days in stage, next activity), live or as they stood at a past instant.

use std::collections::HashMap;

use jiff::Timestamp;
use throughline_core::activity::ActivityKind;
use throughline_core::time::{from_ms, to_ms};
use throughline_core::{Currency, DealId, PipelineId, StageId, UserId};

use crate::db::{Tx, on_conn};
use crate::error::Result;
use crate::events::Ctx;
use crate::rows::{currency, date, parse};
use crate::scope::visible_owner;

/// The next open activity of a deal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextActivity {
    pub kind: ActivityKind,
    pub subject: String,
    pub due_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct Card {
    pub deal_id: DealId,
    pub title: String,
    pub stage_id: StageId,
    pub value: i64,
    pub currency: Currency,
    pub owner_id: UserId,
    pub owner_name: String,
    pub organization: Option<String>,
    pub expected_close_date: Option<jiff::civil::Date>,
    pub stage_entered_at: Timestamp,
    pub version: i64,
    /// Only for the live board: the earliest open activity, and whether any is overdue.
    pub next_activity: Option<NextActivity>,
    pub overdue: bool,
}

type CardRow = (
    String,
    String,
    String,
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    i64,
);

fn card_from(row: CardRow) -> Result<Card> {
    let (id, title, stage, value, cur, owner, owner_name, org, close, entered, version) = row;
    Ok(Card {
        deal_id: parse("deal id", &id)?,
        title,
        stage_id: parse("stage id", &stage)?,
        value,
        currency: currency(&cur)?,
        owner_id: parse("user id", &owner)?,
        owner_name,
        organization: org,
        expected_close_date: date(close.as_deref())?,
        stage_entered_at: from_ms(entered),
        version,
        next_activity: None,
        overdue: false,
    })
}

/// The open deals of a pipeline now, oldest in stage first, with their next activities.
pub async fn live(tx: &mut Tx, ctx: &Ctx, pipeline: PipelineId) -> Result<Vec<Card>> {
    let rows: Vec<CardRow> = on_conn!(tx, c => sqlx::query_as(concat!(
        "SELECT d.id, d.title, d.stage_id, d.value, d.currency, d.owner_id, u.name, o.name, d.expected_close_date,
                d.stage_entered_at, d.version
         FROM deals d JOIN users u ON u.id = d.owner_id LEFT JOIN organizations o ON o.id = d.organization_id
         WHERE d.pipeline_id = $3 AND d.status = 'open' AND ", visible_owner!("d.owner_id"),
        " ORDER BY d.stage_entered_at, d.id"
    ))
    .bind(ctx.role())
    .bind(ctx.user())
    .bind(pipeline.to_string())
    .fetch_all(&mut *c)
    .await)?;
    let mut cards = rows
        .into_iter()
        .map(card_from)
        .collect::<Result<Vec<_>>>()?;

    let acts: Vec<(String, String, String, Option<i64>)> = on_conn!(tx, c => sqlx::query_as(concat!(
        "SELECT a.deal_id, a.kind, a.subject, a.due_at FROM activities a JOIN deals d ON d.id = a.deal_id
         WHERE d.pipeline_id = $3 AND d.status = 'open' AND a.done = FALSE AND ", visible_owner!("d.owner_id"),
        " ORDER BY a.deal_id, a.due_at IS NULL, a.due_at"
    ))
    .bind(ctx.role())
    .bind(ctx.user())
    .bind(pipeline.to_string())
    .fetch_all(&mut *c)
    .await)?;
    let now = to_ms(ctx.at);
    let mut next: HashMap<DealId, (NextActivity, bool)> = HashMap::new();
    for (deal, kind, subject, due) in acts {
        let deal: DealId = parse("deal id", &deal)?;
        let overdue = due.is_some_and(|d| d < now);
        match next.get_mut(&deal) {
            Some((_, any_overdue)) => *any_overdue |= overdue,
            None => {
                let activity = NextActivity {
                    kind: parse("activity kind", &kind)?,
                    subject,
                    due_at: due.map(from_ms),
                };
                next.insert(deal, (activity, overdue));
            }
        }
    }
    for card in &mut cards {
        if let Some((activity, overdue)) = next.remove(&card.deal_id) {
            card.next_activity = Some(activity);
            card.overdue = overdue;
        }
    }
    Ok(cards)
}

/// The deals of a pipeline as they stood at `at`: stage, owner and value then; title and
/// organization as they are now. At most `per_stage` cards per stage (the column totals come
/// from the snapshot), so a pipeline with a long history answers as fast as a young one.
pub async fn as_of(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline: PipelineId,
    stages: &[StageId],
    at: Timestamp,
    per_stage: i64,
) -> Result<Vec<Card>> {
    let at = to_ms(at);
    let mut cards = vec![];
    for stage in stages {
        // Spans that ended after `at` and began by then, nearest first: the index on
        // (pipeline, stage, valid_to) finds them without reading older history.
        let ended_later: Vec<CardRow> = on_conn!(tx, c => sqlx::query_as(concat!(
            "SELECT d.id, d.title, s.stage_id, s.value, d.currency, s.owner_id, u.name, o.name, d.expected_close_date,
                    COALESCE((SELECT MAX(e.valid_from) FROM deal_spans e
                              WHERE e.deal_id = s.deal_id AND e.entered = TRUE AND e.valid_from <= $4), s.valid_from),
                    d.version
             FROM deal_spans s JOIN deals d ON d.id = s.deal_id JOIN users u ON u.id = s.owner_id
             LEFT JOIN organizations o ON o.id = d.organization_id
             WHERE s.pipeline_id = $3 AND s.stage_id = $5 AND s.valid_to > $4 AND s.valid_from <= $4 AND ",
            visible_owner!("s.owner_id"),
            " ORDER BY s.valid_to LIMIT $6"
        ))
        .bind(ctx.role())
        .bind(ctx.user())
        .bind(pipeline.to_string())
        .bind(at)
        .bind(stage.to_string())
        .bind(per_stage)
        .fetch_all(&mut *c)
        .await)?;
        let room = per_stage - ended_later.len() as i64;
        cards.extend(
            ended_later
                .into_iter()
                .map(card_from)
                .collect::<Result<Vec<_>>>()?,
        );
        if room <= 0 {
            continue;
        }
        let still_open: Vec<CardRow> = on_conn!(tx, c => sqlx::query_as(concat!(
            "SELECT d.id, d.title, s.stage_id, s.value, d.currency, s.owner_id, u.name, o.name, d.expected_close_date,
                    COALESCE((SELECT MAX(e.valid_from) FROM deal_spans e
                              WHERE e.deal_id = s.deal_id AND e.entered = TRUE AND e.valid_from <= $4), s.valid_from),
                    d.version
             FROM deal_spans s JOIN deals d ON d.id = s.deal_id JOIN users u ON u.id = s.owner_id
             LEFT JOIN organizations o ON o.id = d.organization_id
             WHERE s.pipeline_id = $3 AND s.stage_id = $5 AND s.valid_to IS NULL AND s.valid_from <= $4 AND ",
            visible_owner!("s.owner_id"),
            " ORDER BY s.valid_from LIMIT $6"
        ))
        .bind(ctx.role())
        .bind(ctx.user())
        .bind(pipeline.to_string())
        .bind(at)
        .bind(stage.to_string())
        .bind(room)
        .fetch_all(&mut *c)
        .await)?;
        cards.extend(
            still_open
                .into_iter()
                .map(card_from)
                .collect::<Result<Vec<_>>>()?,
        );
    }
    cards.sort_by_key(|c| (c.stage_entered_at, c.deal_id));
    Ok(cards)
}
