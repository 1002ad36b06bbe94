//! The board: one column per stage, a card per open deal; live, or as it stood at a past date.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use jiff::civil::Date;
use serde::Deserialize;
use throughline_core::StageId;
use throughline_core::pipeline::Stage;
use throughline_core::time::end_of_day;
use throughline_core::user::initials;
use throughline_store::board::{self, Card};
use throughline_store::{pipelines, snapshot};

use super::error::PageError;
use super::format::{days_between, money, money_short, relative_day};
use super::session::PageUser;
use super::{Frame, chosen_pipeline, time_zone};
use crate::AppState;

/// Cards shown per column; the rest are a link away, so a large pipeline stays fast.
const CARDS_PER_COLUMN: usize = 60;

#[derive(Debug, Default, Deserialize)]
pub struct BoardQuery {
    #[serde(default)]
    pipeline: Option<String>,
    /// A past date: show the board as it stood at the end of that day.
    #[serde(default)]
    as_of: Option<String>,
}

pub struct FlagView {
    pub class: &'static str,
    pub label: &'static str,
}

pub struct CardView {
    pub id: String,
    pub title: String,
    pub version: i64,
    pub stage_id: String,
    pub organization: Option<String>,
    pub owner_name: String,
    pub initials: String,
    pub value: String,
    pub days: i64,
    pub next: Option<String>,
    pub overdue: bool,
    pub past_close: bool,
    pub flags: Vec<FlagView>,
}

pub struct ColumnView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub probability: i64,
    pub count: i64,
    pub value: String,
    pub weighted: String,
    pub share_pct: i64,
    pub cards: Vec<CardView>,
    pub more: usize,
}

#[derive(Template, WebTemplate)]
#[template(path = "board.html")]
pub struct BoardPage {
    pub frame: Frame,
    pub pipeline_name: String,
    pub pipeline_id: String,
    pub summary: String,
    pub columns: Vec<ColumnView>,
    pub readonly: bool,
    pub as_of_value: String,
    pub past_label: Option<String>,
    pub today: String,
    pub error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "board_empty.html")]
pub struct EmptyBoard {
    pub frame: Frame,
    pub has_pipeline: bool,
    pub pipeline_name: String,
}

fn card_view(
    card: Card,
    stage: &Stage,
    now: jiff::Timestamp,
    today: Date,
    live: bool,
    tz: &jiff::tz::TimeZone,
) -> CardView {
    let days = days_between(card.stage_entered_at, now);
    let rotting = stage.rot_days.is_some_and(|limit| days > limit);
    let past_close = live && card.expected_close_date.is_some_and(|d| d < today);
    let mut flags = vec![];
    if rotting {
        flags.push(FlagView {
            class: "rotting",
            label: "Rotting: longer in this stage than its limit",
        });
    }
    if live && card.overdue {
        flags.push(FlagView {
            class: "overdue",
            label: "An activity is overdue",
        });
    }
    if past_close {
        flags.push(FlagView {
            class: "past-close",
            label: "Past its expected close date",
        });
    }
    if live && card.next_activity.is_none() {
        flags.push(FlagView {
            class: "no-next",
            label: "No next activity scheduled",
        });
    }
    let next = card.next_activity.as_ref().map(|a| match a.due_at {
        Some(due) => format!("{} · {}", a.kind.label(), relative_day(due, now, tz)),
        None => format!("{} · {}", a.kind.label(), a.subject),
    });
    CardView {
        id: card.deal_id.to_string(),
        title: card.title,
        version: card.version,
        stage_id: card.stage_id.to_string(),
        organization: card.organization,
        initials: initials(&card.owner_name),
        owner_name: card.owner_name,
        value: money(card.value, card.currency),
        days,
        next,
        overdue: card.overdue,
        past_close,
        flags,
    }
}

pub async fn page(
    State(state): State<AppState>,
    user: PageUser,
    Query(q): Query<BoardQuery>,
) -> Result<axum::response::Response, PageError> {
    use axum::response::IntoResponse;
    let ctx = user.ctx();
    let mut tx = state.store.read().await?;
    let tz = time_zone(&mut tx).await?;
    let pipeline = chosen_pipeline(&mut tx, q.pipeline.as_deref()).await?;
    let Some(pipeline) = pipeline else {
        let frame = Frame::new(&mut tx, &user, "Board", "/board", None).await?;
        return Ok(EmptyBoard {
            frame,
            has_pipeline: false,
            pipeline_name: String::new(),
        }
        .into_response());
    };
    let stages = pipelines::stages(&mut tx, pipeline.id, false).await?;
    if stages.is_empty() {
        let frame = Frame::new(&mut tx, &user, "Board", "/board", Some(pipeline.id)).await?;
        return Ok(EmptyBoard {
            frame,
            has_pipeline: true,
            pipeline_name: pipeline.name,
        }
        .into_response());
    }

    let today = ctx.at.to_zoned_datetime(tz.clone()).date();
    let mut error = None;
    let as_of: Option<Date> = match q.as_of.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => match text.parse::<Date>() {
            Ok(d) if d < today => Some(d),
            Ok(_) => None,
            Err(_) => {
                error = Some(format!("“{text}” is not a date; showing today's board."));
                None
            }
        },
    };
    let (at, cards, live) = match as_of {
        Some(date) => {
            let at = end_of_day(date, &tz).map_err(|e| PageError::bad_request(e.to_string()))?;
            let ids: Vec<_> = stages.iter().map(|s| s.id).collect();
            let per_stage = CARDS_PER_COLUMN as i64 + 1;
            let cards = board::as_of(&mut tx, &ctx, pipeline.id, &ids, at, per_stage).await?;
            (at, cards, false)
        }
        None => (ctx.at, board::live(&mut tx, &ctx, pipeline.id).await?, true),
    };
    let snap = snapshot::snapshot(&mut tx, &ctx, pipeline.id, at).await?;
    let frame = Frame::new(
        &mut tx,
        &user,
        format!("{} — Board", pipeline.name),
        "/board",
        Some(pipeline.id),
    )
    .await?;
    drop(tx);

    let mut by_stage: HashMap<StageId, Vec<Card>> = HashMap::new();
    for card in cards {
        by_stage.entry(card.stage_id).or_default().push(card);
    }
    let day_of_view = if live { today } else { as_of.unwrap_or(today) };
    let total_value = snap.total.value.max(1);
    let columns = stages
        .iter()
        .map(|stage| {
            let figures = snap.stages.iter().find(|s| s.stage_id == stage.id);
            let (count, value, weighted) = figures
                .map(|f| (f.count, f.value, f.weighted_value))
                .unwrap_or((0, 0, 0));
            let mut cards = by_stage.remove(&stage.id).unwrap_or_default();
            cards.truncate(CARDS_PER_COLUMN);
            // The snapshot counts every deal in the stage; only a page of them became cards.
            let more = usize::try_from(count)
                .unwrap_or(0)
                .saturating_sub(cards.len());
            ColumnView {
                id: stage.id.to_string(),
                name: stage.name.clone(),
                description: stage.description.clone().unwrap_or_default(),
                probability: stage.probability,
                count,
                value: money_short(value, pipeline.currency),
                weighted: money_short(weighted, pipeline.currency),
                share_pct: (value * 100 / total_value).clamp(0, 100),
                cards: cards
                    .into_iter()
                    .map(|c| card_view(c, stage, at, day_of_view, live, &tz))
                    .collect(),
                more,
            }
        })
        .collect();
    let summary = format!(
        "{} open deals · {} · weighted {}",
        snap.total.count,
        money_short(snap.total.value, pipeline.currency),
        money_short(snap.total.weighted_value, pipeline.currency)
    );
    Ok(BoardPage {
        frame,
        pipeline_name: pipeline.name.clone(),
        pipeline_id: pipeline.id.to_string(),
        summary,
        columns,
        readonly: !live,
        as_of_value: as_of.map(|d| d.to_string()).unwrap_or_default(),
        past_label: as_of.map(|d| d.strftime("%B %-d, %Y").to_string()),
        today: today.to_string(),
        error,
    }
    .into_response())
}
