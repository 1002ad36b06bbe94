//! The deal page and the forms on it: edit, move, tick criteria, win, lose, reopen, activities.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use serde::Deserialize;
use throughline_core::activity::{ActivityKind, ActivityPatch, NewActivity};
use throughline_core::deal::DealPatch;
use throughline_core::event::{Event, EventKind};
use throughline_core::money::{Money, format_minor};
use throughline_core::{ActivityId, CriterionId, DealId, StageId, UserId};
use throughline_store::activities::{self, ActivityFilter};
use throughline_store::deals::{self, CloseDeal, MoveDeal};
use throughline_store::{StoreError, parties, pipelines, users};

use super::error::PageError;
use super::format::{date_time, days_between, money_exact, relative_day};
use super::session::{CsrfForm, PageUser};
use super::{Frame, time_zone};
use crate::AppState;
use crate::extract::ApiPath;

pub struct StageStep {
    pub name: String,
    pub state: &'static str,
}

pub struct CriterionView {
    pub id: String,
    pub label: String,
    pub met: bool,
    pub checkable: bool,
}

pub struct ActivityView {
    pub id: String,
    pub kind: &'static str,
    pub subject: String,
    pub due: String,
    pub overdue: bool,
    pub done: bool,
    pub version: i64,
}

pub struct EventView {
    pub at: String,
    pub text: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "deal.html")]
pub struct DealPage {
    pub frame: Frame,
    pub id: String,
    pub title: String,
    pub status: &'static str,
    pub lost_reason: String,
    pub value: String,
    pub value_input: String,
    pub currency: String,
    pub organization: String,
    pub person: String,
    pub owner_id: String,
    pub owner_name: String,
    pub stage_name: String,
    pub probability: i64,
    pub days_in_stage: i64,
    pub expected_close: String,
    pub source: String,
    pub campaign: String,
    pub created: String,
    pub version: i64,
    pub steps: Vec<StageStep>,
    pub stages: Vec<(String, String)>,
    pub current_stage_id: String,
    pub next_stage_id: String,
    pub next_stage_name: String,
    pub next_guidance: String,
    pub next_criteria: Vec<CriterionView>,
    pub users: Vec<(String, String)>,
    pub activities: Vec<ActivityView>,
    pub events: Vec<EventView>,
    pub error: Option<String>,
    pub error_form: &'static str,
}

/// A refusal to show next to the form that caused it.
pub struct FormError {
    pub form: &'static str,
    pub message: String,
}

fn form_error(form: &'static str, err: StoreError) -> Result<FormError, PageError> {
    let message = match err {
        StoreError::Invalid(invalid) => invalid.errors.iter().map(|e| format!("{}: {}", e.field.replace('_', " "), e.message)).collect::<Vec<_>>().join(". "),
        StoreError::CriteriaUnmet { stage_name, unmet, .. } => format!(
            "“{stage_name}” needs first: {}.",
            unmet.iter().map(|u| u.label.as_str()).collect::<Vec<_>>().join("; ")
        ),
        StoreError::StaleVersion { .. } => "Someone else changed this deal in the meantime; the page now shows the latest version. Please apply your change again.".into(),
        StoreError::Conflict { message, .. } | StoreError::Forbidden { message, .. } => message,
        other => return Err(other.into()),
    };
    Ok(FormError { form, message })
}

fn describe(
    e: &Event,
    names: &HashMap<UserId, String>,
    stages: &HashMap<StageId, String>,
) -> String {
    let who = e
        .actor_id
        .and_then(|u| names.get(&u).cloned())
        .unwrap_or_else(|| "System".into());
    let stage = |v: &serde_json::Value| {
        v.as_str()
            .and_then(|s| s.parse::<StageId>().ok())
            .and_then(|id| stages.get(&id).cloned())
            .unwrap_or_else(|| "a stage".into())
    };
    match e.kind {
        EventKind::DealCreated => format!(
            "{who} created the deal in {}",
            stage(&e.data["after"]["stage_id"])
        ),
        EventKind::DealStageChanged => {
            let over = if e.data["override"].as_bool() == Some(true) {
                " (criteria overridden)"
            } else {
                ""
            };
            format!(
                "{who} moved it from {} to {}{over}",
                stage(&e.data["from"]["stage_id"]),
                stage(&e.data["to"]["stage_id"])
            )
        }
        EventKind::DealUpdated => {
            let fields: Vec<String> = e.data["changes"]
                .as_object()
                .map(|m| m.keys().map(|k| k.replace('_', " ")).collect())
                .unwrap_or_default();
            format!("{who} changed {}", fields.join(", "))
        }
        EventKind::DealWon => format!("{who} marked it won"),
        EventKind::DealLost => format!(
            "{who} marked it lost: {}",
            e.data["reason"].as_str().unwrap_or("")
        ),
        EventKind::DealReopened => format!("{who} reopened it"),
        EventKind::DealCriterionChecked => {
            format!("{who} ticked “{}”", e.data["label"].as_str().unwrap_or(""))
        }
        EventKind::DealCriterionUnchecked => format!(
            "{who} unticked “{}”",
            e.data["label"].as_str().unwrap_or("")
        ),
        other => format!("{who}: {}", other.name()),
    }
}

pub async fn render(
    state: &AppState,
    user: &PageUser,
    id: DealId,
    error: Option<FormError>,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    let mut tx = state.store.read().await?;
    let tz = time_zone(&mut tx).await?;
    let deal = deals::require(&mut tx, &ctx, id).await?;
    let pipeline = pipelines::require(&mut tx, deal.pipeline_id).await?;
    let stages = pipelines::stages(&mut tx, deal.pipeline_id, true).await?;
    let active: Vec<_> = stages.iter().filter(|s| !s.archived).collect();
    let current = stages.iter().find(|s| s.id == deal.stage_id);
    let checked = deals::checked_items(&mut tx, id).await?;
    let all_users = users::list(&mut tx).await?;
    let names: HashMap<UserId, String> = all_users.iter().map(|u| (u.id, u.name.clone())).collect();
    let stage_names: HashMap<StageId, String> =
        stages.iter().map(|s| (s.id, s.name.clone())).collect();
    let organization = match deal.organization_id {
        Some(o) => parties::get_organization(&mut tx, o)
            .await?
            .map(|o| o.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let person = match deal.person_id {
        Some(p) => parties::get_person(&mut tx, p)
            .await?
            .map(|p| p.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let acts = activities::list(
        &mut tx,
        &ctx,
        &ActivityFilter {
            deal_id: Some(id),
            limit: Some(200),
            ..Default::default()
        },
    )
    .await?;
    let history = deals::history(&mut tx, &ctx, id).await?;
    let frame = Frame::new(
        &mut tx,
        user,
        deal.title.clone(),
        "/deals",
        Some(deal.pipeline_id),
    )
    .await?;
    drop(tx);

    let current_pos = current.map(|s| s.position).unwrap_or(0);
    let steps = active
        .iter()
        .map(|s| StageStep {
            name: s.name.clone(),
            state: if s.id == deal.stage_id {
                "current"
            } else if s.position < current_pos {
                "done"
            } else {
                ""
            },
        })
        .collect();
    let next = active.iter().find(|s| s.position > current_pos);
    let next_criteria = next
        .map(|s| {
            s.criteria
                .iter()
                .map(|c| CriterionView {
                    id: c.id.to_string(),
                    label: c.label.clone(),
                    met: match c.field {
                        Some(f) => f.is_filled(&deal),
                        None => checked.contains(&c.id),
                    },
                    checkable: c.field.is_none(),
                })
                .collect()
        })
        .unwrap_or_default();
    let now = Timestamp::now();
    let mut activity_views: Vec<ActivityView> = acts
        .items
        .iter()
        .map(|a| ActivityView {
            id: a.id.to_string(),
            kind: a.kind.label(),
            subject: a.subject.clone(),
            due: a
                .due_at
                .map(|d| relative_day(d, now, &tz))
                .unwrap_or_default(),
            overdue: !a.done && a.due_at.is_some_and(|d| d < now),
            done: a.done,
            version: a.version,
        })
        .collect();
    activity_views.sort_by_key(|a| a.done);
    let mut events: Vec<EventView> = history
        .iter()
        .map(|e| EventView {
            at: date_time(e.at, &tz),
            text: describe(e, &names, &stage_names),
        })
        .collect();
    events.reverse();

    let (error_form, error) = match error {
        Some(e) => (e.form, Some(e.message)),
        None => ("", None),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = DealPage {
        frame,
        id: deal.id.to_string(),
        title: deal.title.clone(),
        status: deal.status.as_str(),
        lost_reason: deal.lost_reason.clone().unwrap_or_default(),
        value: money_exact(deal.value, deal.currency),
        value_input: format_minor(deal.value, deal.currency.exponent()).replace(',', ""),
        currency: deal.currency.to_string(),
        organization,
        person,
        owner_id: deal.owner_id.to_string(),
        owner_name: names.get(&deal.owner_id).cloned().unwrap_or_default(),
        stage_name: current.map(|s| s.name.clone()).unwrap_or_default(),
        probability: current.map(|s| s.probability).unwrap_or(0),
        days_in_stage: days_between(deal.stage_entered_at, now),
        expected_close: deal
            .expected_close_date
            .map(|d| d.to_string())
            .unwrap_or_default(),
        source: deal.source.clone().unwrap_or_default(),
        campaign: deal.campaign.clone().unwrap_or_default(),
        created: date_time(deal.created_at, &tz),
        version: deal.version,
        steps,
        stages: active
            .iter()
            .map(|s| (s.id.to_string(), s.name.clone()))
            .collect(),
        current_stage_id: deal.stage_id.to_string(),
        next_stage_id: next.map(|s| s.id.to_string()).unwrap_or_default(),
        next_stage_name: next.map(|s| s.name.clone()).unwrap_or_default(),
        next_guidance: next.and_then(|s| s.description.clone()).unwrap_or_default(),
        next_criteria,
        users: all_users
            .iter()
            .filter(|u| u.active)
            .map(|u| (u.id.to_string(), u.name.clone()))
            .collect(),
        activities: activity_views,
        events,
        error,
        error_form,
    };
    let _ = pipeline;
    Ok((status, page).into_response())
}

pub async fn page(
    State(state): State<AppState>,
    user: PageUser,
    ApiPath(id): ApiPath<DealId>,
) -> Result<Response, PageError> {
    render(&state, &user, id, None).await
}

/// Run a change; on a refusal show the deal page again with the reason next to the form.
async fn apply<F>(
    state: &AppState,
    user: &PageUser,
    id: DealId,
    form: &'static str,
    change: F,
) -> Result<Response, PageError>
where
    F: AsyncFnOnce(&mut throughline_store::Tx) -> Result<(), StoreError>,
{
    let mut tx = state.store.write().await?;
    match change(&mut tx).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/deals/{id}")).into_response())
        }
        Err(err) => {
            drop(tx);
            let error = form_error(form, err)?;
            render(state, user, id, Some(error)).await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct EditForm {
    version: i64,
    title: String,
    value: String,
    #[serde(default)]
    expected_close_date: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    campaign: String,
    owner_id: String,
}

fn blank_to_none(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

pub async fn edit(
    State(state): State<AppState>,
    user: PageUser,
    ApiPath(id): ApiPath<DealId>,
    CsrfForm(f): CsrfForm<EditForm>,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    apply(&state, &user, id, "edit", async |tx| {
        let deal = deals::require(tx, &ctx, id).await?;
        let value = Money::parse_major(&f.value, deal.currency)
            .map_err(|m| StoreError::invalid("value", m))?;
        let close = match blank_to_none(&f.expected_close_date) {
            None => None,
            Some(text) => Some(text.parse().map_err(|_| {
                StoreError::invalid("expected_close_date", "use a date such as 2026-03-31")
            })?),
        };
        let owner: UserId = f
            .owner_id
            .parse()
            .map_err(|_| StoreError::invalid("owner_id", "choose an owner"))?;
        deals::update(
            tx,
            &ctx,
            id,
            DealPatch {
                version: f.version,
                title: Some(f.title),
                value: Some(value.amount),
                owner_id: Some(owner),
                expected_close_date: Some(close),
                source: Some(blank_to_none(&f.source)),
                campaign: Some(blank_to_none(&f.campaign)),
                ..Default::default()
            },
        )
        .await
        .map(drop)
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct MoveForm {
    version: i64,
    stage_id: String,
}

pub async fn move_to(
    State(state): State<AppState>,
    user: PageUser,
    ApiPath(id): ApiPath<DealId>,
    CsrfForm(f): CsrfForm<MoveForm>,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    apply(&state, &user, id, "move", async |tx| {
        let stage_id: StageId = f
            .stage_id
            .parse()
            .map_err(|_| StoreError::invalid("stage_id", "choose a stage"))?;
        deals::move_to(
            tx,
            &ctx,
            id,
            MoveDeal {
                stage_id,
                version: f.version,
                force: false,
            },
        )
        .await
        .map(drop)
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct CheckForm {
    criterion_id: String,
    checked: String,
}

pub async fn check(
    State(state): State<AppState>,
    user: PageUser,
    ApiPath(id): ApiPath<DealId>,
    CsrfForm(f): CsrfForm<CheckForm>,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    apply(&state, &user, id, "move", async |tx| {
        let criterion: CriterionId = f
            .criterion_id
            .parse()
            .map_err(|_| StoreError::invalid("criterion_id", "unknown criterion"))?;
        deals::set_check(tx, &ctx, id, criterion, f.checked == "true")
            .await
            .map(drop)
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct CloseForm {
    version: i64,
    #[serde(default)]
    reason: Option<String>,
}

pub async fn won(
    State(state): State<AppState>,
    user: PageUser,
    ApiPath(id): ApiPath<DealId>,
    CsrfForm(f): CsrfForm<CloseForm>,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    apply(&state, &user, id, "close", async |tx| {
        deals::win(
            tx,
            &ctx,
            id,
            CloseDeal {
                reason: None,
                version: Some(f.version),
            },
        )
        .await
        .map(drop)
    })
    .await
}

pub async fn lost(
    State(state): State<AppState>,
    user: PageUser,
    ApiPath(id): ApiPath<DealId>,
    CsrfForm(f): CsrfForm<CloseForm>,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    apply(&state, &user, id, "close", async |tx| {
        deals::lose(
            tx,
            &ctx,
            id,
            CloseDeal {
                reason: f.reason,
                version: Some(f.version),
            },
        )
        .await
        .map(drop)
    })
    .await
}

pub async fn reopen(
    State(state): State<AppState>,
    user: PageUser,
    ApiPath(id): ApiPath<DealId>,
    CsrfForm(f): CsrfForm<CloseForm>,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    apply(&state, &user, id, "close", async |tx| {
        deals::reopen(tx, &ctx, id, Some(f.version)).await.map(drop)
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct ActivityForm {
    kind: String,
    subject: String,
    #[serde(default)]
    due: String,
}

pub async fn add_activity(
    State(state): State<AppState>,
    user: PageUser,
    ApiPath(id): ApiPath<DealId>,
    CsrfForm(f): CsrfForm<ActivityForm>,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    let tz = {
        let mut tx = state.store.read().await?;
        time_zone(&mut tx).await?
    };
    apply(&state, &user, id, "activity", async |tx| {
        let kind: ActivityKind = f
            .kind
            .parse()
            .map_err(|m: String| StoreError::invalid("kind", m))?;
        let due_at = match blank_to_none(&f.due) {
            None => None,
            Some(text) => {
                let local: jiff::civil::DateTime = text
                    .parse()
                    .map_err(|_| StoreError::invalid("due", "use a date and time"))?;
                Some(
                    local
                        .to_zoned_datetime(tz.clone())
                        .map_err(|e| StoreError::invalid("due", e.to_string()))?
                        .timestamp(),
                )
            }
        };
        let deal = deals::require(tx, &ctx, id).await?;
        activities::create(
            tx,
            &ctx,
            NewActivity {
                kind,
                subject: f.subject,
                owner_id: Some(deal.owner_id)
                    .filter(|_| ctx.actor.role != throughline_core::Role::Rep),
                deal_id: Some(id),
                lead_id: None,
                person_id: deal.person_id,
                organization_id: deal.organization_id,
                due_at,
                duration_minutes: None,
                note: None,
                done: false,
            },
        )
        .await
        .map(drop)
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct DoneForm {
    version: i64,
    deal_id: String,
}

pub async fn activity_done(
    State(state): State<AppState>,
    user: PageUser,
    ApiPath(id): ApiPath<ActivityId>,
    CsrfForm(f): CsrfForm<DoneForm>,
) -> Result<Response, PageError> {
    let ctx = user.ctx();
    let deal_id: DealId = f
        .deal_id
        .parse()
        .map_err(|_| PageError::bad_request("The form names no deal."))?;
    apply(&state, &user, deal_id, "activity", async |tx| {
        activities::update(
            tx,
            &ctx,
            id,
            ActivityPatch {
                version: f.version,
                done: Some(true),
                ..Default::default()
            },
        )
        .await
        .map(drop)
    })
    .await
}
