//! Who is calling: an API token (`Authorization: Bearer ...`).

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use throughline_core::Actor;
use throughline_core::user::User;
use throughline_store::{Ctx, users};

use crate::AppState;
use crate::error::{Problem, store_problem};

/// A signed-in user. Handlers take it to get a [`Ctx`] for store calls, which scope every
/// read and write to what this user may see and do.
#[derive(Debug, Clone)]
pub struct Auth {
    pub user: User,
}

impl Auth {
    pub fn actor(&self) -> Actor {
        Actor::user(self.user.id, self.user.role)
    }

    /// The context for a change made now by this user.
    pub fn ctx(&self) -> Ctx {
        Ctx::now(self.actor())
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(auth.clone());
        }
        let Some(token) = bearer(parts) else {
            return Err(Problem::unauthorized());
        };
        let mut tx = state.store.read().await.map_err(store_problem)?;
        let user = users::authenticate_token(&mut tx, token)
            .await
            .map_err(store_problem)?;
        drop(tx);
        let auth = Auth {
            user: user.ok_or_else(Problem::unauthorized)?,
        };
        parts.extensions.insert(auth.clone());
        Ok(auth)
    }
}
