//! The JSON API under `/api/v1`. Handlers are thin: parse, authorize (through [`Auth`]'s
//! context, which the store scopes by), call the store, answer JSON.

mod activities;
mod deals;
mod exports;
pub(crate) mod imports;
mod leads;
mod parties;
mod pipelines;
mod reports;
mod users;

pub use imports::ImportJobs;

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, OriginalUri, State};
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use serde_json::json;

use crate::AppState;
use crate::error::Problem;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/me", get(users::me))
        .route("/users", get(users::list))
        .route("/teams", get(users::teams))
        .route("/pipelines", get(pipelines::list).post(pipelines::create))
        .route(
            "/pipelines/{id}",
            get(pipelines::show).patch(pipelines::update),
        )
        .route("/pipelines/{id}/archive", post(pipelines::archive))
        .route(
            "/pipelines/{id}/stages",
            get(pipelines::stages).post(pipelines::create_stage),
        )
        .route("/pipelines/{id}/stages/order", put(pipelines::reorder))
        .route("/pipelines/{id}/snapshot", get(reports::snapshot))
        .route(
            "/stages/{id}",
            get(pipelines::show_stage).patch(pipelines::update_stage),
        )
        .route("/stages/{id}/archive", post(pipelines::archive_stage))
        .route("/deals", get(deals::list).post(deals::create))
        .route("/deals/{id}", get(deals::show).patch(deals::update))
        .route("/deals/{id}/move", post(deals::move_to))
        .route("/deals/{id}/criteria/{criterion_id}", post(deals::check))
        .route("/deals/{id}/won", post(deals::won))
        .route("/deals/{id}/lost", post(deals::lost))
        .route("/deals/{id}/reopen", post(deals::reopen))
        .route("/deals/{id}/history", get(deals::history))
        .route("/leads", get(leads::list).post(leads::create))
        .route("/leads/{id}", get(leads::show).patch(leads::update))
        .route("/leads/{id}/qualify", post(leads::qualify))
        .route("/leads/{id}/disqualify", post(leads::disqualify))
        .route("/leads/{id}/reopen", post(leads::reopen))
        .route(
            "/organizations",
            get(parties::list_organizations).post(parties::create_organization),
        )
        .route(
            "/organizations/{id}",
            get(parties::show_organization).patch(parties::update_organization),
        )
        .route(
            "/people",
            get(parties::list_people).post(parties::create_person),
        )
        .route(
            "/people/{id}",
            get(parties::show_person).patch(parties::update_person),
        )
        .route(
            "/activities",
            get(activities::list).post(activities::create),
        )
        .route(
            "/activities/{id}",
            get(activities::show).patch(activities::update),
        )
        .route("/reports/snapshot", get(reports::snapshot_report))
        .route("/reports/funnel", get(reports::funnel))
        .route("/reports/cycle", get(reports::cycle))
        .route("/reports/velocity", get(reports::velocity))
        .route("/reports/flow", get(reports::flow))
        .route("/reports/forecast", get(reports::forecast))
        .route("/reports/attention", get(reports::attention))
        .route("/reports/sources", get(reports::sources))
        .route("/exports/{kind}", get(exports::export))
        .route(
            "/imports",
            post(imports::create)
                .layer(DefaultBodyLimit::max(imports::UPLOAD_LIMIT))
                .get(imports::list),
        )
        .route("/imports/{id}", get(imports::show))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
}

pub fn health_routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health))
        .method_not_allowed_fallback(method_not_allowed)
}

/// Liveness and database reachability, without authentication (for load balancers and
/// `throughline healthcheck`).
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "database": "ok" })),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "/problems/unavailable",
                "Database unreachable",
                "the database does not answer",
            )
            .into_response()
        }
    }
}

/// The full path as requested (a nested router sees it without its prefix).
pub async fn not_found(OriginalUri(uri): OriginalUri) -> Problem {
    Problem::not_found(format!("nothing is at {}", uri.path()))
}

/// A known path asked with a method it does not serve; axum adds the `Allow` header.
pub async fn method_not_allowed(method: Method, OriginalUri(uri): OriginalUri) -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "/problems/method-not-allowed",
        "Method not allowed",
        format!(
            "{method} is not served at {}; see the Allow header",
            uri.path()
        ),
    )
}

/// `201 Created` with the new resource as JSON.
pub(crate) fn created<T: serde::Serialize>(value: T) -> (StatusCode, Json<T>) {
    (StatusCode::CREATED, Json(value))
}
