use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use throughline_core::deal::{Deal, DealPatch, NewDeal};
use throughline_core::event::Event;
use throughline_core::{CriterionId, DealId};
use throughline_store::deals::{self, Check, CloseDeal, DealFilter, MoveDeal};
use throughline_store::{Page, Tx};

use super::created;
use crate::AppState;
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson};

/// A deal with the state of its checklist items.
#[derive(Debug, Serialize)]
pub struct DealView {
    #[serde(flatten)]
    deal: Deal,
    checks: Vec<Check>,
}

async fn view(tx: &mut Tx, deal: Deal) -> ApiResult<DealView> {
    let checks = deals::checks(tx, deal.id).await?;
    Ok(DealView { deal, checks })
}

pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(filter): ApiQuery<DealFilter>,
) -> ApiResult<Json<Page<Deal>>> {
    let mut tx = state.store.read().await?;
    Ok(Json(deals::list(&mut tx, &auth.ctx(), &filter).await?))
}

pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<DealId>,
) -> ApiResult<Json<DealView>> {
    let mut tx = state.store.read().await?;
    let deal = deals::require(&mut tx, &auth.ctx(), id).await?;
    Ok(Json(view(&mut tx, deal).await?))
}

pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<NewDeal>,
) -> ApiResult<(StatusCode, Json<DealView>)> {
    let mut tx = state.store.write().await?;
    let deal = deals::create(&mut tx, &auth.ctx(), body).await?;
    let view = view(&mut tx, deal).await?;
    tx.commit().await?;
    Ok(created(view))
}

pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<DealId>,
    ApiJson(body): ApiJson<DealPatch>,
) -> ApiResult<Json<DealView>> {
    let mut tx = state.store.write().await?;
    let deal = deals::update(&mut tx, &auth.ctx(), id, body).await?;
    let view = view(&mut tx, deal).await?;
    tx.commit().await?;
    Ok(Json(view))
}

pub async fn move_to(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<DealId>,
    ApiJson(body): ApiJson<MoveDeal>,
) -> ApiResult<Json<DealView>> {
    let mut tx = state.store.write().await?;
    let deal = deals::move_to(&mut tx, &auth.ctx(), id, body).await?;
    let view = view(&mut tx, deal).await?;
    tx.commit().await?;
    Ok(Json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckBody {
    checked: bool,
}

pub async fn check(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((id, criterion)): ApiPath<(DealId, CriterionId)>,
    ApiJson(body): ApiJson<CheckBody>,
) -> ApiResult<Json<DealView>> {
    let mut tx = state.store.write().await?;
    let deal = deals::set_check(&mut tx, &auth.ctx(), id, criterion, body.checked).await?;
    let view = view(&mut tx, deal).await?;
    tx.commit().await?;
    Ok(Json(view))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionBody {
    #[serde(default)]
    version: Option<i64>,
}

pub async fn won(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<DealId>,
    OptionalJson(body): OptionalJson<VersionBody>,
) -> ApiResult<Json<DealView>> {
    let version = body.version;
    let mut tx = state.store.write().await?;
    let deal = deals::win(
        &mut tx,
        &auth.ctx(),
        id,
        CloseDeal {
            reason: None,
            version,
        },
    )
    .await?;
    let view = view(&mut tx, deal).await?;
    tx.commit().await?;
    Ok(Json(view))
}

pub async fn lost(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<DealId>,
    ApiJson(body): ApiJson<CloseDeal>,
) -> ApiResult<Json<DealView>> {
    let mut tx = state.store.write().await?;
    let deal = deals::lose(&mut tx, &auth.ctx(), id, body).await?;
    let view = view(&mut tx, deal).await?;
    tx.commit().await?;
    Ok(Json(view))
}

pub async fn reopen(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<DealId>,
    OptionalJson(body): OptionalJson<VersionBody>,
) -> ApiResult<Json<DealView>> {
    let version = body.version;
    let mut tx = state.store.write().await?;
    let deal = deals::reopen(&mut tx, &auth.ctx(), id, version).await?;
    let view = view(&mut tx, deal).await?;
    tx.commit().await?;
    Ok(Json(view))
}

pub async fn history(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<DealId>,
) -> ApiResult<Json<Vec<Event>>> {
    let mut tx = state.store.read().await?;
    Ok(Json(deals::history(&mut tx, &auth.ctx(), id).await?))
}
