use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use throughline_core::party::{
    Organization, OrganizationInput, OrganizationPatch, Person, PersonInput, PersonPatch,
};
use throughline_core::{OrganizationId, PersonId};
use throughline_store::Page;
use throughline_store::parties::{self, PartyFilter};

use super::created;
use crate::AppState;
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery};

pub async fn list_organizations(
    State(state): State<AppState>,
    _auth: Auth,
    ApiQuery(filter): ApiQuery<PartyFilter>,
) -> ApiResult<Json<Page<Organization>>> {
    let mut tx = state.store.read().await?;
    Ok(Json(parties::list_organizations(&mut tx, &filter).await?))
}

pub async fn show_organization(
    State(state): State<AppState>,
    _auth: Auth,
    ApiPath(id): ApiPath<OrganizationId>,
) -> ApiResult<Json<Organization>> {
    let mut tx = state.store.read().await?;
    Ok(Json(parties::require_organization(&mut tx, id).await?))
}

pub async fn create_organization(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<OrganizationInput>,
) -> ApiResult<(StatusCode, Json<Organization>)> {
    let mut tx = state.store.write().await?;
    let org = parties::create_organization(&mut tx, &auth.ctx(), body).await?;
    tx.commit().await?;
    Ok(created(org))
}

pub async fn update_organization(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<OrganizationId>,
    ApiJson(body): ApiJson<OrganizationPatch>,
) -> ApiResult<Json<Organization>> {
    let mut tx = state.store.write().await?;
    let org = parties::update_organization(&mut tx, &auth.ctx(), id, body).await?;
    tx.commit().await?;
    Ok(Json(org))
}

pub async fn list_people(
    State(state): State<AppState>,
    _auth: Auth,
    ApiQuery(filter): ApiQuery<PartyFilter>,
) -> ApiResult<Json<Page<Person>>> {
    let mut tx = state.store.read().await?;
    Ok(Json(parties::list_people(&mut tx, &filter).await?))
}

pub async fn show_person(
    State(state): State<AppState>,
    _auth: Auth,
    ApiPath(id): ApiPath<PersonId>,
) -> ApiResult<Json<Person>> {
    let mut tx = state.store.read().await?;
    Ok(Json(parties::require_person(&mut tx, id).await?))
}

pub async fn create_person(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<PersonInput>,
) -> ApiResult<(StatusCode, Json<Person>)> {
    let mut tx = state.store.write().await?;
    let person = parties::create_person(&mut tx, &auth.ctx(), body).await?;
    tx.commit().await?;
    Ok(created(person))
}

pub async fn update_person(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<PersonId>,
    ApiJson(body): ApiJson<PersonPatch>,
) -> ApiResult<Json<Person>> {
    let mut tx = state.store.write().await?;
    let person = parties::update_person(&mut tx, &auth.ctx(), id, body).await?;
    tx.commit().await?;
    Ok(Json(person))
}
