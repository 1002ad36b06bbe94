//! The agenda: a user's open activities, overdue first, then today, this week and later, so
//! nothing falls through the cracks.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::ToSpan;
use serde::Deserialize;
use throughline_core::activity::ActivityPatch;
use throughline_core::{ActivityId, DealId};
use throughline_store::activities::{self, ActivityFilter};
use throughline_store::deals::{self, DealFilter};
use throughline_store::{StoreError, Tx};

use super::error::PageError;
use super::format::{date_time, relative_day};
use super::session::{CsrfForm, PageUser};
use super::{Frame, time_zone};
use crate::AppState;
use crate::extract::ApiPath;

pub struct Item {
    pub id: String,
    pub kind: &'static str,
    pub subject: String,
    pub when: String,
    pub deal_id: String,
    pub deal_title: String,
    pub version: i64,
}

pub struct Section {
    pub title: &'static str,
    pub class: &'static str,
    pub items: Vec<Item>,
}

#[derive(Template, WebTemplate)]
#[template(path = "agenda.html")]
pub struct AgendaPage {
    pub frame: Frame,
    pub sections: Vec<Section>,
    pub without_next: Vec<(String, String)>,
    pub total: usize,
}

async fn deal_titles(tx: &mut Tx, user: &PageUser) -> Result<HashMap<DealId, String>, PageError> {
    let mut titles = HashMap::new();
    let mut cursor = None;
    loop {
        let filter = DealFilter {
            owner_id: Some(user.user.id),
            status: Some(throughline_core::deal::DealStatus::Open),
            cursor,
            limit: Some(500),
            ..Default::default()
        };
        let page = deals::list(tx, &user.ctx(), &filter).await?;
        titles.extend(page.items.into_iter().map(|d| (d.id, d.title)));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(titles)
}

pub async fn page(State(state): State<AppState>, user: PageUser) -> Result<Response, PageError> {
    let ctx = user.ctx();
    let mut tx = state.store.read().await?;
    let tz = time_zone(&mut tx).await?;
    let filter = ActivityFilter {
        owner_id: Some(user.user.id),
        done: Some(false),
        limit: Some(500),
        ..Default::default()
    };
    let open = activities::list(&mut tx, &ctx, &filter).await?.items;
    let titles = deal_titles(&mut tx, &user).await?;
    let frame = Frame::new(&mut tx, &user, "Agenda", "/agenda", None).await?;
    drop(tx);

    let now = ctx.at;
    let today = now.to_zoned_datetime(tz.clone()).date();
    let week_end = today.checked_add(7.days()).unwrap_or(today);
    let mut sections = vec![
        Section {
            title: "Overdue",
            class: "overdue",
            items: vec![],
        },
        Section {
            title: "Today",
            class: "",
            items: vec![],
        },
        Section {
            title: "Next 7 days",
            class: "",
            items: vec![],
        },
        Section {
            title: "Later or undated",
            class: "",
            items: vec![],
        },
    ];
    let mut sorted = open;
    sorted.sort_by_key(|a| (a.due_at.is_none(), a.due_at));
    let mut scheduled: std::collections::HashSet<DealId> = std::collections::HashSet::new();
    for a in &sorted {
        if let Some(d) = a.deal_id {
            scheduled.insert(d);
        }
        let day = a.due_at.map(|d| d.to_zoned_datetime(tz.clone()).date());
        let slot = match (a.due_at, day) {
            (Some(due), _) if due < now && day != Some(today) => 0,
            (_, Some(d)) if d == today => 1,
            (_, Some(d)) if d < week_end => 2,
            _ => 3,
        };
        sections[slot].items.push(Item {
            id: a.id.to_string(),
            kind: a.kind.label(),
            subject: a.subject.clone(),
            when: match a.due_at {
                Some(due) if slot <= 1 => format!(
                    "{} · {}",
                    relative_day(due, now, &tz),
                    date_time(due, &tz).rsplit(' ').next().unwrap_or("")
                ),
                Some(due) => relative_day(due, now, &tz),
                None => "no date".into(),
            },
            deal_id: a.deal_id.map(|d| d.to_string()).unwrap_or_default(),
            deal_title: a
                .deal_id
                .and_then(|d| titles.get(&d).cloned())
                .unwrap_or_default(),
            version: a.version,
        });
    }
    let mut without_next: Vec<(String, String)> = titles
        .iter()
        .filter(|(id, _)| !scheduled.contains(id))
        .map(|(id, t)| (id.to_string(), t.clone()))
        .collect();
    without_next.sort_by(|a, b| a.1.cmp(&b.1));
    let total = sorted.len();
    Ok(AgendaPage {
        frame,
        sections,
        without_next,
        total,
    }
    .into_response())
}

#[derive(Debug, Deserialize)]
pub struct DoneForm {
    version: i64,
}

pub async fn done(
    State(state): State<AppState>,
    user: PageUser,
    ApiPath(id): ApiPath<ActivityId>,
    CsrfForm(f): CsrfForm<DoneForm>,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    let mut tx = state.store.write().await?;
    match activities::update(
        &mut tx,
        &ctx,
        id,
        ActivityPatch {
            version: f.version,
            done: Some(true),
            ..Default::default()
        },
    )
    .await
    {
        Ok(_) | Err(StoreError::StaleVersion { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    tx.commit().await?;
    Ok(Redirect::to("/agenda").into_response())
}
