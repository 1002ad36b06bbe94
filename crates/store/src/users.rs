//! Users, teams, passwords and API tokens.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};
use throughline_core::event::EventKind;
use throughline_core::time::from_ms;
use throughline_core::user::{Team, User};
use throughline_core::validate::{self, Invalid};
use throughline_core::{Role, TeamId, TokenId, UserId};

use crate::db::{Tx, exec, on_conn};
use crate::error::{Result, StoreError};
use crate::events::{Ctx, append};
use crate::rows::{opt_text, parse, parse_opt};

pub const PASSWORD_MIN: usize = 10;

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub team_id: Option<TeamId>,
    /// `None` creates a user who cannot log in (an owner of imported records).
    pub password: Option<String>,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    email: String,
    name: String,
    role: String,
    team_id: Option<String>,
    can_login: bool,
    active: bool,
    created_at: i64,
}

const USER_COLUMNS: &str = "id, email, name, role, team_id, can_login, active, created_at";

impl UserRow {
    fn into_user(self) -> Result<User> {
        Ok(User {
            id: parse("user id", &self.id)?,
            email: self.email,
            name: self.name,
            role: parse("role", &self.role)?,
            team_id: parse_opt("team id", self.team_id.as_deref())?,
            can_login: self.can_login,
            active: self.active,
            created_at: from_ms(self.created_at),
        })
    }
}

fn hash_password(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Corrupt(format!("password hashing failed: {e}")))
}

pub fn check_password(password: &str) -> Result<(), Invalid> {
    if password.chars().count() < PASSWORD_MIN {
        return Err(Invalid::field(
            "password",
            format!("must be at least {PASSWORD_MIN} characters"),
        ));
    }
    Ok(())
}

pub async fn create(tx: &mut Tx, ctx: &Ctx, new: NewUser) -> Result<User> {
    let mut invalid = Invalid::new();
    let email = validate::email("email", &new.email, &mut invalid);
    let name = validate::name("name", &new.name, 120, &mut invalid);
    if let Some(password) = &new.password
        && let Err(e) = check_password(password)
    {
        invalid.errors.extend(e.errors);
    }
    invalid.into_result()?;
    if let Some(team) = new.team_id {
        get_team(tx, team)
            .await?
            .ok_or_else(|| StoreError::invalid("team_id", "no such team"))?;
    }
    if find_by_email(tx, &email).await?.is_some() {
        return Err(StoreError::invalid(
            "email",
            "is already used by another user",
        ));
    }
    let hash = new.password.as_deref().map(hash_password).transpose()?;
    let id = UserId::new();
    let user = User {
        id,
        email,
        name,
        role: new.role,
        team_id: new.team_id,
        can_login: hash.is_some(),
        active: true,
        created_at: ctx.at,
    };
    exec!(tx, c => sqlx::query(
        "INSERT INTO users (id, email, name, role, team_id, password_hash, can_login, active, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE, $8)",
    )
    .bind(id.to_string())
    .bind(&user.email)
    .bind(&user.name)
    .bind(user.role.as_str())
    .bind(opt_text(user.team_id))
    .bind(hash)
    .bind(user.can_login)
    .bind(ctx.at_ms())
    .execute(&mut *c)
    .await)?;
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::UserCreated,
        &id.to_string(),
        &json!({ "after": user }),
    )
    .await?;
    Ok(user)
}

pub async fn get(tx: &mut Tx, id: UserId) -> Result<Option<User>> {
    let row: Option<UserRow> = on_conn!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
    )))
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    row.map(UserRow::into_user).transpose()
}

pub async fn find_by_email(tx: &mut Tx, email: &str) -> Result<Option<User>> {
    let row: Option<UserRow> = on_conn!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE email = $1"
    )))
    .bind(email.trim().to_lowercase())
    .fetch_optional(&mut *c)
    .await)?;
    row.map(UserRow::into_user).transpose()
}

/// Find a user by e-mail or, failing that, by exact name (case-insensitive).
pub async fn find_by_email_or_name(tx: &mut Tx, key: &str) -> Result<Option<User>> {
    if let Some(user) = find_by_email(tx, key).await? {
        return Ok(Some(user));
    }
    let row: Option<UserRow> = on_conn!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE lower(name) = lower($1) ORDER BY created_at LIMIT 1"
    )))
    .bind(key.trim())
    .fetch_optional(&mut *c)
    .await)?;
    row.map(UserRow::into_user).transpose()
}

pub async fn list(tx: &mut Tx) -> Result<Vec<User>> {
    let rows: Vec<UserRow> = on_conn!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users ORDER BY name, id"
    )))
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter().map(UserRow::into_user).collect()
}

/// How many users can sign in (none means the installation still needs its first admin).
pub async fn count_with_login(tx: &mut Tx) -> Result<i64> {
    let (n,): (i64,) = on_conn!(tx, c => sqlx::query_as("SELECT COUNT(*) FROM users WHERE can_login = TRUE")
        .fetch_one(&mut *c)
        .await)?;
    Ok(n)
}

/// The user with this e-mail and password, if both match an active user who may log in.
/// Verification runs even for unknown e-mails so timing does not reveal which exist.
pub async fn verify_password(tx: &mut Tx, email: &str, password: &str) -> Result<Option<User>> {
    let row: Option<(String, Option<String>)> = on_conn!(tx, c => sqlx::query_as(
        "SELECT id, password_hash FROM users WHERE email = $1 AND active = TRUE AND can_login = TRUE",
    )
    .bind(email.trim().to_lowercase())
    .fetch_optional(&mut *c)
    .await)?;
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let stored = match row.as_ref().and_then(|(_, h)| h.clone()) {
        Some(hash) => hash,
        None => DUMMY
            .get_or_init(|| hash_password("not a real password").unwrap_or_default())
            .clone(),
    };
    let ok = PasswordHash::new(&stored)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false);
    match row {
        Some((id, Some(_))) if ok => get(tx, parse("user id", &id)?).await,
        _ => Ok(None),
    }
}

pub async fn set_password(tx: &mut Tx, ctx: &Ctx, id: UserId, password: &str) -> Result<()> {
    check_password(password)?;
    let hash = hash_password(password)?;
    let done = exec!(tx, c => sqlx::query("UPDATE users SET password_hash = $1, can_login = TRUE WHERE id = $2")
        .bind(hash)
        .bind(id.to_string())
        .execute(&mut *c)
        .await)?;
    if done == 0 {
        return Err(StoreError::not_found("user", id));
    }
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::UserUpdated,
        &id.to_string(),
        &json!({ "changes": { "password": "changed" } }),
    )
    .await
}

/// Change a user's e-mail, the name they log in with: for instance the placeholder address an
/// import gave an owner it knew only by name.
pub async fn set_email(tx: &mut Tx, ctx: &Ctx, id: UserId, email: &str) -> Result<User> {
    let mut invalid = Invalid::new();
    let email = validate::email("email", email, &mut invalid);
    invalid.into_result()?;
    let before = get(tx, id)
        .await?
        .ok_or_else(|| StoreError::not_found("user", id))?;
    if before.email == email {
        return Ok(before);
    }
    if find_by_email(tx, &email).await?.is_some() {
        return Err(StoreError::invalid(
            "email",
            "is already used by another user",
        ));
    }
    exec!(tx, c => sqlx::query("UPDATE users SET email = $1 WHERE id = $2")
        .bind(&email)
        .bind(id.to_string())
        .execute(&mut *c)
        .await)?;
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::UserUpdated,
        &id.to_string(),
        &json!({ "changes": { "email": { "from": before.email, "to": email } } }),
    )
    .await?;
    Ok(User { email, ..before })
}

pub async fn set_team(tx: &mut Tx, ctx: &Ctx, id: UserId, team: Option<TeamId>) -> Result<()> {
    if let Some(team) = team {
        get_team(tx, team)
            .await?
            .ok_or_else(|| StoreError::invalid("team_id", "no such team"))?;
    }
    let done = exec!(tx, c => sqlx::query("UPDATE users SET team_id = $1 WHERE id = $2")
        .bind(opt_text(team))
        .bind(id.to_string())
        .execute(&mut *c)
        .await)?;
    if done == 0 {
        return Err(StoreError::not_found("user", id));
    }
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::UserUpdated,
        &id.to_string(),
        &json!({ "changes": { "team_id": team } }),
    )
    .await
}

// ---- teams ----

pub async fn create_team(
    tx: &mut Tx,
    ctx: &Ctx,
    name: &str,
    manager: Option<UserId>,
) -> Result<Team> {
    let mut invalid = Invalid::new();
    let name = validate::name("name", name, 120, &mut invalid);
    invalid.into_result()?;
    if let Some(manager) = manager {
        let user = get(tx, manager)
            .await?
            .ok_or_else(|| StoreError::invalid("manager_id", "no such user"))?;
        if user.role == Role::Rep {
            return Err(StoreError::invalid(
                "manager_id",
                "must be a manager or an admin",
            ));
        }
    }
    let team = Team {
        id: TeamId::new(),
        name,
        manager_id: manager,
    };
    let inserted = exec!(tx, c => sqlx::query("INSERT INTO teams (id, name, manager_id, created_at) VALUES ($1, $2, $3, $4)")
        .bind(team.id.to_string())
        .bind(&team.name)
        .bind(opt_text(team.manager_id))
        .bind(ctx.at_ms())
        .execute(&mut *c)
        .await);
    match inserted.map_err(StoreError::from) {
        Err(e) if e.is_unique_violation() => {
            Err(StoreError::invalid("name", "a team with this name exists"))
        }
        other => other.map(|_| team),
    }
}

pub async fn get_team(tx: &mut Tx, id: TeamId) -> Result<Option<Team>> {
    let row: Option<(String, String, Option<String>)> = on_conn!(tx, c => sqlx::query_as(
        "SELECT id, name, manager_id FROM teams WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    row.map(team_from_row).transpose()
}

pub async fn list_teams(tx: &mut Tx) -> Result<Vec<Team>> {
    let rows: Vec<(String, String, Option<String>)> = on_conn!(tx, c => sqlx::query_as(
        "SELECT id, name, manager_id FROM teams ORDER BY name",
    )
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter().map(team_from_row).collect()
}

fn team_from_row((id, name, manager): (String, String, Option<String>)) -> Result<Team> {
    Ok(Team {
        id: parse("team id", &id)?,
        name,
        manager_id: parse_opt("user id", manager.as_deref())?,
    })
}

// ---- API tokens ----

pub(crate) fn token_hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh random secret with a recognisable prefix.
pub fn new_secret(prefix: &str) -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Corrupt(format!("no randomness available: {e}")))?;
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// Create an API token for a user. The secret is returned once; only its hash is stored
/// (a SHA-256 is enough: the secret is 256 random bits, not a password).
pub async fn create_token(
    tx: &mut Tx,
    ctx: &Ctx,
    user: UserId,
    name: &str,
) -> Result<(TokenId, String)> {
    let owner = get(tx, user)
        .await?
        .ok_or_else(|| StoreError::not_found("user", user))?;
    if !owner.active {
        return Err(StoreError::invalid("email", "the user is deactivated"));
    }
    let mut invalid = Invalid::new();
    let name = validate::name("name", name, 120, &mut invalid);
    invalid.into_result()?;
    let secret = new_secret("tl_")?;
    let id = TokenId::new();
    exec!(tx, c => sqlx::query(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.to_string())
    .bind(user.to_string())
    .bind(&name)
    .bind(token_hash(&secret))
    .bind(ctx.at_ms())
    .execute(&mut *c)
    .await)?;
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::TokenCreated,
        &user.to_string(),
        &json!({ "token_id": id, "name": name }),
    )
    .await?;
    Ok((id, secret))
}

/// The active user a token belongs to, if the token is valid and not revoked.
pub async fn authenticate_token(tx: &mut Tx, secret: &str) -> Result<Option<User>> {
    let row: Option<UserRow> = on_conn!(tx, c => sqlx::query_as(
        "SELECT u.id, u.email, u.name, u.role, u.team_id, u.can_login, u.active, u.created_at
         FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active = TRUE",
    )
    .bind(token_hash(secret))
    .fetch_optional(&mut *c)
    .await)?;
    row.map(UserRow::into_user).transpose()
}

pub async fn revoke_token(tx: &mut Tx, ctx: &Ctx, id: TokenId) -> Result<()> {
    let done = exec!(tx, c => sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(ctx.at_ms())
        .bind(id.to_string())
        .execute(&mut *c)
        .await)?;
    if done == 0 {
        return Err(StoreError::not_found("token", id));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn token_hashes_are_stable_hex() {
        let h = super::token_hash("tl_abc");
        assert_eq!(h.len(), 64);
        assert_eq!(h, super::token_hash("tl_abc"));
        assert_ne!(h, super::token_hash("tl_abd"));
    }
}
