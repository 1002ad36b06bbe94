//! Errors on pages: a plain page in the app's style with words a person can act on, never a
//! stack trace.

use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use throughline_store::StoreError;

#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub message: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

impl PageError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
}

impl From<StoreError> for PageError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { entity, .. } => PageError::not_found(format!(
                "This {entity} does not exist, or you cannot see it."
            )),
            StoreError::Forbidden { message, .. } => PageError::forbidden(message),
            StoreError::Invalid(i) => PageError::bad_request(i.summary()),
            StoreError::Conflict { message, .. } => PageError::new(StatusCode::CONFLICT, message),
            StoreError::StaleVersion { .. } => PageError::new(
                StatusCode::CONFLICT,
                "Someone else changed this in the meantime. Go back, reload and try again.",
            ),
            other => {
                tracing::error!(error = %other, "page failed");
                PageError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on our side. It has been logged; please try again.",
                )
            }
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let title = match self.status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::CONFLICT => "Changed in the meantime",
            StatusCode::BAD_REQUEST => "Something is off with that request",
            _ => "Something went wrong",
        };
        (
            self.status,
            ErrorPage {
                title,
                message: &self.message,
            },
        )
            .into_response()
    }
}
