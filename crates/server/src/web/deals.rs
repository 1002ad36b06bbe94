//! The deals list (filters, search, pages) and the new-deal form.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use throughline_core::deal::{DealStatus, NewDeal};
use throughline_core::money::Money;
use throughline_core::{StageId, UserId};
use throughline_store::deals::{self, DealFilter};
use throughline_store::parties::{self, PartyFilter};
use throughline_store::{StoreError, pipelines, users};

use super::error::PageError;
use super::format::money;
use super::session::{CsrfForm, PageUser};
use super::{Frame, chosen_pipeline};
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pipeline: Option<String>,
    #[serde(default)]
    stage: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
    /// Owner id: reports link here with the owner their figure is about.
    #[serde(default)]
    owner: Option<String>,
    /// Closed on or after this date (team's time zone).
    #[serde(default)]
    closed_from: Option<String>,
    /// Closed on or before this date.
    #[serde(default)]
    closed_to: Option<String>,
}

pub struct Row {
    pub id: String,
    pub title: String,
    pub stage: String,
    pub status: &'static str,
    pub value: String,
    pub owner: String,
    pub close: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "deals.html")]
pub struct DealsPage {
    pub frame: Frame,
    pub pipeline_id: String,
    pub stages: Vec<(String, String)>,
    pub stage: String,
    pub status: String,
    pub q: String,
    pub rows: Vec<Row>,
    pub next: Option<String>,
    /// What narrows the list beyond the form (from a report link), in words.
    pub narrowed: Vec<String>,
    /// The same narrowing as hidden fields, so the form keeps it.
    pub hidden: Vec<(&'static str, String)>,
    pub error: Option<String>,
}

fn blank(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub async fn list(
    State(state): State<AppState>,
    user: PageUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    let mut tx = state.store.read().await?;
    let pipeline = chosen_pipeline(&mut tx, q.pipeline.as_deref()).await?;
    let stages = match &pipeline {
        Some(p) => pipelines::stages(&mut tx, p.id, true).await?,
        None => vec![],
    };
    let status = match blank(&q.status) {
        None | Some("all") => None,
        Some(s) => Some(s.parse::<DealStatus>().map_err(PageError::bad_request)?),
    };
    let tz = super::time_zone(&mut tx).await?;
    let mut narrowed = vec![];
    let mut hidden: Vec<(&'static str, String)> = vec![];
    let mut error = None;
    let owner_id: Option<UserId> = blank(&q.owner).and_then(|o| o.parse().ok());
    let mut day_bound =
        |name: &'static str, text: Option<&str>, next_day: bool| -> Option<jiff::Timestamp> {
            let text = text?;
            let Ok(date) = text.parse::<jiff::civil::Date>() else {
                error = Some(format!(
                    "“{text}” is not a date; that part of the filter is left out."
                ));
                return None;
            };
            hidden.push((name, text.to_string()));
            let day = if next_day {
                date.tomorrow().ok()?
            } else {
                date
            };
            day.to_zoned_datetime(tz.clone())
                .ok()
                .map(|z| z.timestamp())
        };
    let closed_from = day_bound("closed_from", blank(&q.closed_from), false);
    let closed_before = day_bound("closed_to", blank(&q.closed_to), true);
    if closed_from.is_some() || closed_before.is_some() {
        narrowed.push(format!(
            "closed {}{}",
            blank(&q.closed_from)
                .map(|d| format!("from {d} "))
                .unwrap_or_default(),
            blank(&q.closed_to)
                .map(|d| format!("to {d}"))
                .unwrap_or_default()
        ));
    }
    let filter = DealFilter {
        pipeline_id: pipeline.as_ref().map(|p| p.id),
        stage_id: blank(&q.stage).and_then(|s| s.parse::<StageId>().ok()),
        status,
        q: blank(&q.q).map(String::from),
        cursor: blank(&q.cursor).map(String::from),
        limit: Some(100),
        owner_id,
        closed_from,
        closed_before,
        ..Default::default()
    };
    let page = deals::list(&mut tx, &ctx, &filter).await?;
    let names: HashMap<UserId, String> = users::list(&mut tx)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let frame = Frame::new(
        &mut tx,
        &user,
        "Deals",
        "/deals",
        pipeline.as_ref().map(|p| p.id),
    )
    .await?;
    drop(tx);
    if let Some(owner) = owner_id {
        narrowed.push(format!(
            "owned by {}",
            names
                .get(&owner)
                .cloned()
                .unwrap_or_else(|| "someone else".into())
        ));
        hidden.push(("owner", owner.to_string()));
    }
    let stage_names: HashMap<StageId, String> =
        stages.iter().map(|s| (s.id, s.name.clone())).collect();
    let rows = page
        .items
        .iter()
        .map(|d| Row {
            id: d.id.to_string(),
            title: d.title.clone(),
            stage: stage_names.get(&d.stage_id).cloned().unwrap_or_default(),
            status: d.status.as_str(),
            value: money(d.value, d.currency),
            owner: names.get(&d.owner_id).cloned().unwrap_or_default(),
            close: d
                .expected_close_date
                .map(|c| c.to_string())
                .unwrap_or_default(),
        })
        .collect();
    let next = page.next_cursor.map(|cursor| {
        let mut params = vec![("cursor", cursor)];
        for (k, v) in [
            ("pipeline", &q.pipeline),
            ("stage", &q.stage),
            ("status", &q.status),
            ("q", &q.q),
            ("owner", &q.owner),
            ("closed_from", &q.closed_from),
            ("closed_to", &q.closed_to),
        ] {
            if let Some(v) = blank(v) {
                params.push((k, v.to_string()));
            }
        }
        format!(
            "/deals?{}",
            serde_urlencoded::to_string(&params).unwrap_or_default()
        )
    });
    Ok(DealsPage {
        frame,
        pipeline_id: pipeline.map(|p| p.id.to_string()).unwrap_or_default(),
        stages: stages
            .iter()
            .filter(|s| !s.archived)
            .map(|s| (s.id.to_string(), s.name.clone()))
            .collect(),
        stage: blank(&q.stage).unwrap_or("").to_string(),
        status: blank(&q.status).unwrap_or("").to_string(),
        q: blank(&q.q).unwrap_or("").to_string(),
        rows,
        next,
        narrowed,
        hidden,
        error,
    }
    .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct NewDealForm {
    #[serde(default)]
    pipeline: String,
    #[serde(default)]
    stage_id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    expected_close_date: String,
    #[serde(default)]
    organization_id: String,
    #[serde(default)]
    owner_id: String,
    #[serde(default)]
    source: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "deal_new.html")]
pub struct NewDealPage {
    pub frame: Frame,
    pub form: NewDealForm,
    pub pipeline_name: String,
    pub currency: String,
    pub stages: Vec<(String, String)>,
    pub users: Vec<(String, String)>,
    pub organizations: Vec<(String, String)>,
    pub error: Option<String>,
}

async fn new_form(
    state: &AppState,
    user: &PageUser,
    mut form: NewDealForm,
    error: Option<String>,
) -> Result<Response, PageError> {
    let mut tx = state.store.read().await?;
    let Some(pipeline) = chosen_pipeline(&mut tx, Some(form.pipeline.as_str())).await? else {
        return Ok(Redirect::to("/board").into_response());
    };
    form.pipeline = pipeline.id.to_string();
    if form.owner_id.is_empty() {
        form.owner_id = user.user.id.to_string();
    }
    let stages = pipelines::stages(&mut tx, pipeline.id, false).await?;
    let all_users = users::list(&mut tx).await?;
    let orgs = parties::list_organizations(
        &mut tx,
        &PartyFilter {
            limit: Some(500),
            ..Default::default()
        },
    )
    .await?;
    let frame = Frame::new(&mut tx, user, "New deal", "/deals", Some(pipeline.id)).await?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut organizations: Vec<(String, String)> = orgs
        .items
        .into_iter()
        .map(|o| (o.id.to_string(), o.name))
        .collect();
    organizations.sort_by_key(|o| o.1.to_lowercase());
    Ok((
        status,
        NewDealPage {
            frame,
            form,
            pipeline_name: pipeline.name,
            currency: pipeline.currency.to_string(),
            stages: stages
                .iter()
                .map(|s| (s.id.to_string(), s.name.clone()))
                .collect(),
            users: all_users
                .iter()
                .filter(|u| u.active)
                .map(|u| (u.id.to_string(), u.name.clone()))
                .collect(),
            organizations,
            error,
        },
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    #[serde(default)]
    pipeline: Option<String>,
}

pub async fn new_page(
    State(state): State<AppState>,
    user: PageUser,
    Query(q): Query<NewQuery>,
) -> Result<Response, PageError> {
    new_form(
        &state,
        &user,
        NewDealForm {
            pipeline: q.pipeline.unwrap_or_default(),
            ..Default::default()
        },
        None,
    )
    .await
}

pub async fn create(
    State(state): State<AppState>,
    user: PageUser,
    CsrfForm(form): CsrfForm<NewDealForm>,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    let result: Result<_, StoreError> = async {
        let mut tx = state.store.write().await?;
        let pipeline = pipelines::find(&mut tx, &form.pipeline)
            .await?
            .ok_or_else(|| StoreError::invalid("pipeline", "choose a pipeline"))?;
        let value = if form.value.trim().is_empty() {
            0
        } else {
            Money::parse_major(&form.value, pipeline.currency)
                .map_err(|m| StoreError::invalid("value", m))?
                .amount
        };
        let close = match form.expected_close_date.trim() {
            "" => None,
            text => Some(text.parse().map_err(|_| {
                StoreError::invalid("expected_close_date", "use a date such as 2026-03-31")
            })?),
        };
        let deal = deals::create(
            &mut tx,
            &ctx,
            NewDeal {
                title: form.title.clone(),
                pipeline_id: Some(pipeline.id),
                stage_id: form.stage_id.parse().ok(),
                value,
                owner_id: form.owner_id.parse().ok(),
                organization_id: form.organization_id.parse().ok(),
                expected_close_date: close,
                source: Some(form.source.clone()),
                ..Default::default()
            },
        )
        .await?;
        tx.commit().await?;
        Ok(deal)
    }
    .await;
    match result {
        Ok(deal) => Ok(Redirect::to(&format!("/deals/{}", deal.id)).into_response()),
        Err(StoreError::Invalid(invalid)) => {
            let message = invalid
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.field.replace('_', " "), e.message))
                .collect::<Vec<_>>()
                .join(". ");
            new_form(&state, &user, form, Some(message)).await
        }
        Err(StoreError::Forbidden { message, .. }) => {
            new_form(&state, &user, form, Some(message)).await
        }
        Err(other) => Err(other.into()),
    }
}
