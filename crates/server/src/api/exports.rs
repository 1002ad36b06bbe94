//! `GET /api/v1/exports/{kind}?format=csv|json|xlsx`: every record of a kind the caller may
//! see, as a file to download. CSV and JSON are streamed a page of records at a time; XLSX is
//! assembled in a temporary file first (the format needs the whole workbook before its first
//! byte) and then sent.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use throughline_transfer::export::{ExportError, ExportStream, Format, Kind};

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiResult, Problem, store_problem};
use crate::extract::{ApiPath, ApiQuery};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// csv (default), json or xlsx.
    #[serde(default)]
    format: Option<String>,
}

fn export_problem(err: ExportError) -> Problem {
    match err {
        ExportError::Store(e) => store_problem(e),
        other => {
            tracing::error!(error = %other, "export failed");
            Problem::internal()
        }
    }
}

pub async fn export(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    let kind: Kind = name.parse().map_err(|_| {
        Problem::not_found(format!(
            "nothing is at /api/v1/exports/{name}: the exports are deals, leads, people, organizations, activities, events and pipelines"
        ))
    })?;
    let format: Format = match query.format.as_deref() {
        None => Format::Csv,
        Some(text) => text.parse().map_err(|message: String| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "/problems/validation",
                "Invalid input",
                format!("format: {message}"),
            )
            .with_field("format", "must be csv, json or xlsx")
        })?,
    };

    let mut stream = ExportStream::open(&state.store, auth.ctx(), kind, format)
        .await
        .map_err(export_problem)?;
    // The first chunk is made before answering, so that a failure to read (or, for XLSX, to
    // build the file) is still a problem document rather than a cut-off download.
    let first = stream.next_chunk().await.map_err(export_problem)?;
    let body =
        futures_util::stream::try_unfold((first, Some(stream)), |(pending, stream)| async move {
            if let Some(chunk) = pending {
                return Ok(Some((Bytes::from(chunk), (None, stream))));
            }
            let Some(mut stream) = stream else {
                return Ok(None);
            };
            match stream.next_chunk().await {
                Ok(Some(chunk)) => Ok(Some((Bytes::from(chunk), (None, Some(stream))))),
                Ok(None) => Ok(None),
                Err(e) => {
                    // The status is sent already: the download is cut off, and the cause logged.
                    tracing::error!(error = %e, "export failed while streaming");
                    Err(e)
                }
            }
        });

    let filename = format!(
        "throughline-{kind}-{}.{}",
        jiff::Timestamp::now()
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .date(),
        format.extension()
    );
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
