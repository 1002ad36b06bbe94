//! Leads: the inbox of prospects, with qualify and disqualify.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use throughline_core::lead::{LeadStatus, NewLead, Qualify};
use throughline_core::{LeadId, UserId};
use throughline_store::leads::{self, Disqualify, LeadFilter};
use throughline_store::{StoreError, pipelines, users};

use super::error::PageError;
use super::format::relative_day;
use super::session::{CsrfForm, PageUser};
use super::{Frame, time_zone};
use crate::AppState;
use crate::extract::ApiPath;

#[derive(Debug, Default, Deserialize)]
pub struct LeadsQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

pub struct LeadRow {
    pub id: String,
    pub title: String,
    pub source: String,
    pub campaign: String,
    pub status: &'static str,
    pub owner: String,
    pub created: String,
    pub deal_id: String,
    pub reason: String,
    pub version: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "leads.html")]
pub struct LeadsPage {
    pub frame: Frame,
    pub status: String,
    pub source: String,
    pub rows: Vec<LeadRow>,
    pub pipelines: Vec<(String, String)>,
    pub next: Option<String>,
    pub error: Option<String>,
}

impl LeadsPage {
    pub fn is_status(&self, value: &str) -> bool {
        self.status == value
    }
}

async fn render(
    state: &AppState,
    user: &PageUser,
    q: LeadsQuery,
    error: Option<String>,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    let mut tx = state.store.read().await?;
    let tz = time_zone(&mut tx).await?;
    let status_text = q
        .status
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "open".into());
    let status = match status_text.as_str() {
        "all" => None,
        s => Some(s.parse::<LeadStatus>().map_err(PageError::bad_request)?),
    };
    let source = q.source.clone().filter(|s| !s.trim().is_empty());
    let filter = LeadFilter {
        status,
        source: source.clone(),
        cursor: q.cursor.clone().filter(|c| !c.is_empty()),
        limit: Some(100),
        ..Default::default()
    };
    let page = leads::list(&mut tx, &ctx, &filter).await?;
    let names: HashMap<UserId, String> = users::list(&mut tx)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let all_pipelines = pipelines::list(&mut tx, false).await?;
    let frame = Frame::new(&mut tx, user, "Leads", "/leads", None).await?;
    drop(tx);
    let rows = page
        .items
        .iter()
        .map(|l| LeadRow {
            id: l.id.to_string(),
            title: l.title.clone(),
            source: l.source.clone().unwrap_or_default(),
            campaign: l.campaign.clone().unwrap_or_default(),
            status: l.status.as_str(),
            owner: l
                .owner_id
                .and_then(|o| names.get(&o).cloned())
                .unwrap_or_else(|| "Unassigned".into()),
            created: relative_day(l.created_at, ctx.at, &tz),
            deal_id: l.deal_id.map(|d| d.to_string()).unwrap_or_default(),
            reason: l.disqualify_reason.clone().unwrap_or_default(),
            version: l.version,
        })
        .collect();
    let next = page.next_cursor.map(|c| {
        let mut params = vec![("status", status_text.clone()), ("cursor", c)];
        if let Some(s) = &source {
            params.push(("source", s.clone()));
        }
        format!(
            "/leads?{}",
            serde_urlencoded::to_string(&params).unwrap_or_default()
        )
    });
    let status_code = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((
        status_code,
        LeadsPage {
            frame,
            status: status_text,
            source: source.unwrap_or_default(),
            rows,
            pipelines: all_pipelines
                .iter()
                .map(|p| (p.id.to_string(), p.name.clone()))
                .collect(),
            next,
            error,
        },
    )
        .into_response())
}

pub async fn list(
    State(state): State<AppState>,
    user: PageUser,
    Query(q): Query<LeadsQuery>,
) -> Result<Response, PageError> {
    render(&state, &user, q, None).await
}

fn message(err: StoreError) -> Result<String, PageError> {
    match err {
        StoreError::Invalid(i) => Ok(i
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.field.replace('_', " "), e.message))
            .collect::<Vec<_>>()
            .join(". ")),
        StoreError::Conflict { message, .. } | StoreError::Forbidden { message, .. } => Ok(message),
        StoreError::StaleVersion { .. } => Ok(
            "Someone else changed this lead in the meantime; the list shows the latest now.".into(),
        ),
        other => Err(other.into()),
    }
}

async fn apply<F>(state: &AppState, user: &PageUser, change: F) -> Result<Response, PageError>
where
    F: AsyncFnOnce(&mut throughline_store::Tx) -> Result<String, StoreError>,
{
    let mut tx = state.store.write().await?;
    match change(&mut tx).await {
        Ok(target) => {
            tx.commit().await?;
            Ok(Redirect::to(&target).into_response())
        }
        Err(err) => {
            drop(tx);
            let text = message(err)?;
            render(state, user, LeadsQuery::default(), Some(text)).await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct NewLeadForm {
    title: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    campaign: String,
}

pub async fn create(
    State(state): State<AppState>,
    user: PageUser,
    CsrfForm(f): CsrfForm<NewLeadForm>,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    apply(&state, &user, async |tx| {
        leads::create(
            tx,
            &ctx,
            NewLead {
                title: f.title,
                source: Some(f.source),
                campaign: Some(f.campaign),
                ..Default::default()
            },
        )
        .await?;
        Ok("/leads".to_string())
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct QualifyForm {
    version: i64,
    pipeline_id: String,
}

pub async fn qualify(
    State(state): State<AppState>,
    user: PageUser,
    ApiPath(id): ApiPath<LeadId>,
    CsrfForm(f): CsrfForm<QualifyForm>,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    apply(&state, &user, async |tx| {
        let pipeline_id = f
            .pipeline_id
            .parse()
            .map_err(|_| StoreError::invalid("pipeline_id", "choose a pipeline"))?;
        let (_, deal) = leads::qualify(
            tx,
            &ctx,
            id,
            Qualify {
                pipeline_id: Some(pipeline_id),
                version: Some(f.version),
                ..Default::default()
            },
        )
        .await?;
        Ok(format!("/deals/{}", deal.id))
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct DisqualifyForm {
    version: i64,
    reason: String,
}

pub async fn disqualify(
    State(state): State<AppState>,
    user: PageUser,
    ApiPath(id): ApiPath<LeadId>,
    CsrfForm(f): CsrfForm<DisqualifyForm>,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    apply(&state, &user, async |tx| {
        leads::disqualify(
            tx,
            &ctx,
            id,
            Disqualify {
                reason: f.reason,
                version: Some(f.version),
            },
        )
        .await?;
        Ok("/leads".to_string())
    })
    .await
}
