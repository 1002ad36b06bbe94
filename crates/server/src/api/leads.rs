use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use throughline_core::LeadId;
use throughline_core::deal::Deal;
use throughline_core::lead::{Lead, LeadPatch, NewLead, Qualify};
use throughline_store::Page;
use throughline_store::leads::{self, Disqualify, LeadFilter};

use super::created;
use crate::AppState;
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson};

pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(filter): ApiQuery<LeadFilter>,
) -> ApiResult<Json<Page<Lead>>> {
    let mut tx = state.store.read().await?;
    Ok(Json(leads::list(&mut tx, &auth.ctx(), &filter).await?))
}

pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<LeadId>,
) -> ApiResult<Json<Lead>> {
    let mut tx = state.store.read().await?;
    Ok(Json(leads::require(&mut tx, &auth.ctx(), id).await?))
}

pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<NewLead>,
) -> ApiResult<(StatusCode, Json<Lead>)> {
    let mut tx = state.store.write().await?;
    let lead = leads::create(&mut tx, &auth.ctx(), body).await?;
    tx.commit().await?;
    Ok(created(lead))
}

pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<LeadId>,
    ApiJson(body): ApiJson<LeadPatch>,
) -> ApiResult<Json<Lead>> {
    let mut tx = state.store.write().await?;
    let lead = leads::update(&mut tx, &auth.ctx(), id, body).await?;
    tx.commit().await?;
    Ok(Json(lead))
}

/// The qualified lead and the deal it became.
#[derive(Debug, Serialize)]
pub struct Qualified {
    lead: Lead,
    deal: Deal,
}

pub async fn qualify(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<LeadId>,
    ApiJson(body): ApiJson<Qualify>,
) -> ApiResult<(StatusCode, Json<Qualified>)> {
    let mut tx = state.store.write().await?;
    let (lead, deal) = leads::qualify(&mut tx, &auth.ctx(), id, body).await?;
    tx.commit().await?;
    Ok(created(Qualified { lead, deal }))
}

pub async fn disqualify(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<LeadId>,
    ApiJson(body): ApiJson<Disqualify>,
) -> ApiResult<Json<Lead>> {
    let mut tx = state.store.write().await?;
    let lead = leads::disqualify(&mut tx, &auth.ctx(), id, body).await?;
    tx.commit().await?;
    Ok(Json(lead))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionBody {
    #[serde(default)]
    version: Option<i64>,
}

pub async fn reopen(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<LeadId>,
    OptionalJson(body): OptionalJson<VersionBody>,
) -> ApiResult<Json<Lead>> {
    let mut tx = state.store.write().await?;
    let lead = leads::reopen(&mut tx, &auth.ctx(), id, body.version).await?;
    tx.commit().await?;
    Ok(Json(lead))
}
