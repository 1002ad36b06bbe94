//! Who is calling: an API token (`Authorization: Bearer ...`), or the web UI's session
//! cookie — then changes must carry the session's CSRF token in `X-CSRF-Token`.

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

async fn from_session(parts: &mut Parts, state: &AppState) -> Result<Auth, Problem> {
    let found = crate::web::session::from_cookie(&parts.headers, state)
        .await
        .map_err(|_| Problem::internal())?;
    let Some(page_user) = found else {
        return Err(Problem::unauthorized());
    };
    if !parts.method.is_safe() {
        let sent = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !crate::web::session::same_secret(sent, &page_user.csrf) {
            return Err(Problem::new(
                axum::http::StatusCode::FORBIDDEN,
                "/problems/csrf",
                "Missing CSRF token",
                "requests signed in with a session cookie must send the page's CSRF token in X-CSRF-Token",
            ));
        }
    }
    let auth = Auth {
        user: page_user.user,
    };
    parts.extensions.insert(auth.clone());
    Ok(auth)
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
            return from_session(parts, state).await;
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
