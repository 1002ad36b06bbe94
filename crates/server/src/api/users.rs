use axum::Json;
use axum::extract::State;
use throughline_core::user::{Team, User};
use throughline_store::users;

use crate::AppState;
use crate::auth::Auth;
use crate::error::ApiResult;

pub async fn me(auth: Auth) -> Json<User> {
    Json(auth.user)
}

/// Everyone in the installation (names for owner pickers). Active users first.
pub async fn list(State(state): State<AppState>, _auth: Auth) -> ApiResult<Json<Vec<User>>> {
    let mut tx = state.store.read().await?;
    let mut all = users::list(&mut tx).await?;
    all.sort_by_key(|u| !u.active);
    Ok(Json(all))
}

pub async fn teams(State(state): State<AppState>, _auth: Auth) -> ApiResult<Json<Vec<Team>>> {
    let mut tx = state.store.read().await?;
    Ok(Json(users::list_teams(&mut tx).await?))
}
