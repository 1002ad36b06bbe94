//! Opening the database and naming who acts, shared by every command.

use anyhow::{Context, Result, anyhow};
use throughline_core::Actor;
use throughline_core::deal::Deal;
use throughline_core::pipeline::{Pipeline, Stage};
use throughline_core::user::User;
use throughline_store::{Ctx, Store, StoreError, Tx, deals, pipelines, users};

use crate::cli::Db;

/// An open database and the actor the command runs as.
pub struct Session {
    pub store: Store,
    pub actor: Actor,
}

impl Session {
    pub async fn open(db: &Db) -> Result<Session> {
        let store = Store::open(&db.database).await;
        Self::with(db, store).await
    }

    /// [`Session::open`] on one connection, for an import (see `Store::open_single`).
    pub async fn open_single(db: &Db) -> Result<Session> {
        let store = Store::open_single(&db.database).await;
        Self::with(db, store).await
    }

    async fn with(db: &Db, store: throughline_store::Result<Store>) -> Result<Session> {
        let store = store.with_context(|| format!("cannot open the database {}", db.database))?;
        let actor = match &db.as_user {
            None => Actor::SYSTEM,
            Some(email) => {
                let mut tx = store.read().await?;
                let user = users::find_by_email(&mut tx, email)
                    .await?
                    .ok_or_else(|| anyhow!("--as {email}: no user has this e-mail"))?;
                Actor::user(user.id, user.role)
            }
        };
        Ok(Session { store, actor })
    }

    pub fn ctx(&self) -> Ctx {
        Ctx::now(self.actor)
    }
}

pub async fn pipeline(tx: &mut Tx, key: &str) -> Result<Pipeline> {
    pipelines::find(tx, key).await?.ok_or_else(|| {
        anyhow!("no pipeline is named or has the id `{key}` (see `throughline pipeline list`)")
    })
}

pub async fn stage(tx: &mut Tx, pipeline: &Pipeline, key: &str) -> Result<Stage> {
    pipelines::find_stage(tx, pipeline.id, key).await?.ok_or_else(|| {
        anyhow!("pipeline `{}` has no stage named or with the id `{key}` (see `throughline pipeline show`)", pipeline.name)
    })
}

pub async fn user(tx: &mut Tx, email: &str) -> Result<User> {
    users::find_by_email(tx, email)
        .await?
        .ok_or_else(|| anyhow!("no user has the e-mail `{email}`"))
}

pub async fn deal(tx: &mut Tx, ctx: &Ctx, id: &str) -> Result<Deal> {
    let id = id
        .trim()
        .parse()
        .map_err(|_| anyhow!("`{id}` is not a deal id"))?;
    Ok(deals::require(tx, ctx, id).await?)
}

/// A one-paragraph explanation of an error for the terminal: field errors one per line,
/// causes after the message.
pub fn describe(err: &anyhow::Error) -> String {
    if let Some(store) = err.downcast_ref::<StoreError>() {
        return match store {
            StoreError::Invalid(invalid) => {
                let lines: Vec<String> = invalid
                    .errors
                    .iter()
                    .map(|e| format!("  {}: {}", e.field, e.message))
                    .collect();
                format!("invalid input:\n{}", lines.join("\n"))
            }
            StoreError::CriteriaUnmet {
                stage_name, unmet, ..
            } => {
                let lines: Vec<String> =
                    unmet.iter().map(|u| format!("  [ ] {}", u.label)).collect();
                format!(
                    "the deal does not meet the entry criteria of `{stage_name}`:\n{}",
                    lines.join("\n")
                )
            }
            other => other.to_string(),
        };
    }
    format!("{err:#}")
}
