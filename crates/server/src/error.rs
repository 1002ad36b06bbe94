//! Every error the HTTP API returns is an RFC 9457 problem document
//! (`application/problem+json`) naming the offending field where there is one.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value, json};
use throughline_core::{FieldError, Invalid};
use throughline_store::StoreError;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem document. `type` is a relative URI naming the kind of problem.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// The first offending field, for clients that show one message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every offending field with its message.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Problem {
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            title,
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            errors: vec![],
            extra: Map::new(),
        }
    }

    pub fn with_field(mut self, field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        self.errors.push(FieldError {
            field: field.clone(),
            message: message.into(),
        });
        self.field.get_or_insert(field);
        self
    }

    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_string(), value);
        self
    }

    pub fn invalid(invalid: Invalid) -> Self {
        let detail = invalid.summary();
        let mut problem = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "/problems/validation",
            "Invalid input",
            detail,
        );
        problem.field = invalid.errors.first().map(|e| e.field.clone());
        problem.errors = invalid.errors;
        problem
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::NOT_FOUND,
            "/problems/not-found",
            "Not found",
            detail,
        )
    }

    pub fn unauthorized() -> Self {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "/problems/unauthorized",
            "Not signed in",
            "send an API token as `Authorization: Bearer <token>` (create one with `throughline token create`)",
        )
    }

    pub fn internal() -> Self {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "/problems/internal",
            "Internal error",
            "something went wrong on our side; it has been logged",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let unauthorized = status == StatusCode::UNAUTHORIZED;
        let body = serde_json::to_vec(&self).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if unauthorized {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// What handlers return on failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0:?}")]
    Problem(Box<Problem>),
}

impl From<Problem> for ApiError {
    fn from(p: Problem) -> Self {
        ApiError::Problem(Box::new(p))
    }
}

impl From<Invalid> for ApiError {
    fn from(i: Invalid) -> Self {
        Problem::invalid(i).into()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Map a store refusal to its problem. Database failures are logged with their cause and
/// answered with a generic message: SQL never reaches a client.
pub fn store_problem(err: StoreError) -> Problem {
    match err {
        StoreError::NotFound { entity, id } => Problem::not_found(format!("no {entity} with id {id}")),
        StoreError::Invalid(invalid) => Problem::invalid(invalid),
        StoreError::StaleVersion { entity, current, given, .. } => Problem::new(
            StatusCode::CONFLICT,
            "/problems/stale-version",
            "Changed by someone else",
            format!(
                "the {entity} was changed since you loaded it (you sent version {given}, it is now at version {current}); reload it and apply your change again"
            ),
        )
        .with_field("version", format!("is stale: the current version is {current}"))
        .with("current_version", json!(current)),
        StoreError::CriteriaUnmet { stage_id, stage_name, unmet } => {
            let mut problem = Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "/problems/criteria-unmet",
                "Stage criteria not met",
                format!(
                    "the deal cannot enter `{stage_name}` until these are met: {}",
                    unmet.iter().map(|u| u.label.as_str()).collect::<Vec<_>>().join("; ")
                ),
            );
            problem.field = Some("stage_id".into());
            for u in &unmet {
                let field = match u.field {
                    Some(f) => f.as_str().to_string(),
                    None => format!("criteria.{}", u.criterion_id),
                };
                problem.errors.push(FieldError { field, message: format!("unmet: {}", u.label) });
            }
            problem.with("stage_id", json!(stage_id)).with("unmet", json!(unmet))
        }
        StoreError::Conflict { field, message } => {
            let problem = Problem::new(StatusCode::CONFLICT, "/problems/conflict", "Not possible now", message.clone());
            match field {
                Some(f) => problem.with_field(f, message),
                None => problem,
            }
        }
        StoreError::Forbidden { field, message } => {
            let problem = Problem::new(StatusCode::FORBIDDEN, "/problems/forbidden", "Not allowed", message.clone());
            match field {
                Some(f) => problem.with_field(f, message),
                None => problem,
            }
        }
        other => {
            tracing::error!(error = %other, "request failed");
            Problem::internal()
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Store(e) => store_problem(e).into_response(),
            ApiError::Problem(p) => p.into_response(),
        }
    }
}
