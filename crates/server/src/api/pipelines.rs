use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use throughline_core::pipeline::{
    NewPipeline, NewStage, Pipeline, PipelinePatch, Stage, StagePatch,
};
use throughline_core::{PipelineId, StageId};
use throughline_store::pipelines;

use super::created;
use crate::AppState;
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Include archived pipelines or stages.
    #[serde(default)]
    archived: bool,
}

/// A pipeline with its stages.
#[derive(Debug, Serialize)]
pub struct PipelineView {
    #[serde(flatten)]
    pipeline: Pipeline,
    stages: Vec<Stage>,
}

pub async fn list(
    State(state): State<AppState>,
    _auth: Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<PipelineView>>> {
    let mut tx = state.store.read().await?;
    let mut out = vec![];
    for pipeline in pipelines::list(&mut tx, q.archived).await? {
        let stages = pipelines::stages(&mut tx, pipeline.id, false).await?;
        out.push(PipelineView { pipeline, stages });
    }
    Ok(Json(out))
}

pub async fn show(
    State(state): State<AppState>,
    _auth: Auth,
    ApiPath(id): ApiPath<PipelineId>,
) -> ApiResult<Json<PipelineView>> {
    let mut tx = state.store.read().await?;
    let pipeline = pipelines::require(&mut tx, id).await?;
    let stages = pipelines::stages(&mut tx, id, false).await?;
    Ok(Json(PipelineView { pipeline, stages }))
}

pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<NewPipeline>,
) -> ApiResult<(StatusCode, Json<Pipeline>)> {
    let mut tx = state.store.write().await?;
    let pipeline = pipelines::create(&mut tx, &auth.ctx(), body).await?;
    tx.commit().await?;
    Ok(created(pipeline))
}

pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<PipelineId>,
    ApiJson(body): ApiJson<PipelinePatch>,
) -> ApiResult<Json<Pipeline>> {
    let mut tx = state.store.write().await?;
    let pipeline = pipelines::update(&mut tx, &auth.ctx(), id, body).await?;
    tx.commit().await?;
    Ok(Json(pipeline))
}

pub async fn archive(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<PipelineId>,
) -> ApiResult<Json<Pipeline>> {
    let mut tx = state.store.write().await?;
    let pipeline = pipelines::archive(&mut tx, &auth.ctx(), id).await?;
    tx.commit().await?;
    Ok(Json(pipeline))
}

pub async fn stages(
    State(state): State<AppState>,
    _auth: Auth,
    ApiPath(id): ApiPath<PipelineId>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<Stage>>> {
    let mut tx = state.store.read().await?;
    pipelines::require(&mut tx, id).await?;
    Ok(Json(pipelines::stages(&mut tx, id, q.archived).await?))
}

pub async fn create_stage(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<PipelineId>,
    ApiJson(body): ApiJson<NewStage>,
) -> ApiResult<(StatusCode, Json<Stage>)> {
    let mut tx = state.store.write().await?;
    let stage = pipelines::create_stage(&mut tx, &auth.ctx(), id, body).await?;
    tx.commit().await?;
    Ok(created(stage))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    stage_ids: Vec<StageId>,
}

pub async fn reorder(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<PipelineId>,
    ApiJson(body): ApiJson<Order>,
) -> ApiResult<Json<Vec<Stage>>> {
    let mut tx = state.store.write().await?;
    let stages = pipelines::reorder_stages(&mut tx, &auth.ctx(), id, &body.stage_ids).await?;
    tx.commit().await?;
    Ok(Json(stages))
}

pub async fn show_stage(
    State(state): State<AppState>,
    _auth: Auth,
    ApiPath(id): ApiPath<StageId>,
) -> ApiResult<Json<Stage>> {
    let mut tx = state.store.read().await?;
    Ok(Json(pipelines::require_stage(&mut tx, id).await?))
}

pub async fn update_stage(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<StageId>,
    ApiJson(body): ApiJson<StagePatch>,
) -> ApiResult<Json<Stage>> {
    let mut tx = state.store.write().await?;
    let stage = pipelines::update_stage(&mut tx, &auth.ctx(), id, body).await?;
    tx.commit().await?;
    Ok(Json(stage))
}

pub async fn archive_stage(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<StageId>,
) -> ApiResult<Json<Stage>> {
    let mut tx = state.store.write().await?;
    let stage = pipelines::archive_stage(&mut tx, &auth.ctx(), id).await?;
    tx.commit().await?;
    Ok(Json(stage))
}
