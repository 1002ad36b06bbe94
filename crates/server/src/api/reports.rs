use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use throughline_core::PipelineId;
use throughline_core::snapshot::Snapshot;
use throughline_core::time::parse_instant_or_date;
use throughline_store::{settings, snapshot};

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiPath, ApiQuery};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotQuery {
    /// An RFC 3339 instant, or a date meaning the end of that day in the team's time zone.
    /// Defaults to now.
    at: Option<String>,
}

/// The pipeline exactly as it stood at `at`, for the deals the caller may see.
pub async fn snapshot(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<PipelineId>,
    ApiQuery(q): ApiQuery<SnapshotQuery>,
) -> ApiResult<Json<Snapshot>> {
    let ctx = auth.ctx();
    let mut tx = state.store.read().await?;
    let at = match q.at.as_deref() {
        None | Some("") => ctx.at,
        Some(text) => {
            let tz = settings::time_zone(&mut tx).await?;
            parse_instant_or_date(text, &tz).map_err(|msg| {
                Problem::new(
                    axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                    "/problems/validation",
                    "Invalid input",
                    format!("at: {msg}"),
                )
                .with_field("at", msg)
            })?
        }
    };
    Ok(Json(snapshot::snapshot(&mut tx, &ctx, id, at).await?))
}
