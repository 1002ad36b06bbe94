//! Web sessions: a random secret in a cookie, stored hashed, with a CSRF token per session.

use throughline_core::UserId;
use throughline_core::time::to_ms;
use throughline_core::user::User;

use crate::db::{Tx, exec, on_conn};
use crate::error::Result;
use crate::events::Ctx;
use crate::users::{self, new_secret, token_hash};

/// How long a session lasts without signing in again.
pub const SESSION_DAYS: i64 = 14;

/// A new session: the cookie secret and the CSRF token for its forms.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub secret: String,
    pub csrf_token: String,
}

pub async fn create(tx: &mut Tx, ctx: &Ctx, user: UserId) -> Result<NewSession> {
    let secret = new_secret("tls_")?;
    let csrf_token = new_secret("")?;
    let now = ctx.at_ms();
    exec!(tx, c => sqlx::query(
        "INSERT INTO sessions (secret_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash(&secret))
    .bind(user.to_string())
    .bind(&csrf_token)
    .bind(now)
    .bind(now + SESSION_DAYS * throughline_core::time::MS_PER_DAY)
    .execute(&mut *c)
    .await)?;
    // Old sessions are swept on sign-in rather than by a timer: no background state.
    exec!(tx, c => sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(now).execute(&mut *c).await)?;
    Ok(NewSession { secret, csrf_token })
}

/// The active user behind a session cookie, with the session's CSRF token.
pub async fn lookup(
    tx: &mut Tx,
    secret: &str,
    now: jiff::Timestamp,
) -> Result<Option<(User, String)>> {
    let row: Option<(String, String)> = on_conn!(tx, c => sqlx::query_as(
        "SELECT user_id, csrf_token FROM sessions WHERE secret_hash = $1 AND expires_at > $2",
    )
    .bind(token_hash(secret))
    .bind(to_ms(now))
    .fetch_optional(&mut *c)
    .await)?;
    let Some((user_id, csrf)) = row else {
        return Ok(None);
    };
    let user = users::get(tx, crate::rows::parse("user id", &user_id)?).await?;
    Ok(user.filter(|u| u.active && u.can_login).map(|u| (u, csrf)))
}

pub async fn delete(tx: &mut Tx, secret: &str) -> Result<()> {
    exec!(tx, c => sqlx::query("DELETE FROM sessions WHERE secret_hash = $1").bind(token_hash(secret)).execute(&mut *c).await)?;
    Ok(())
}
