use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use throughline_core::ActivityId;
use throughline_core::activity::{Activity, ActivityPatch, NewActivity};
use throughline_store::Page;
use throughline_store::activities::{self, ActivityFilter};

use super::created;
use crate::AppState;
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery};

pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(filter): ApiQuery<ActivityFilter>,
) -> ApiResult<Json<Page<Activity>>> {
    let mut tx = state.store.read().await?;
    Ok(Json(activities::list(&mut tx, &auth.ctx(), &filter).await?))
}

pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<ActivityId>,
) -> ApiResult<Json<Activity>> {
    let mut tx = state.store.read().await?;
    Ok(Json(activities::require(&mut tx, &auth.ctx(), id).await?))
}

pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<NewActivity>,
) -> ApiResult<(StatusCode, Json<Activity>)> {
    let mut tx = state.store.write().await?;
    let activity = activities::create(&mut tx, &auth.ctx(), body).await?;
    tx.commit().await?;
    Ok(created(activity))
}

pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<ActivityId>,
    ApiJson(body): ApiJson<ActivityPatch>,
) -> ApiResult<Json<Activity>> {
    let mut tx = state.store.write().await?;
    let activity = activities::update(&mut tx, &auth.ctx(), id, body).await?;
    tx.commit().await?;
    Ok(Json(activity))
}
