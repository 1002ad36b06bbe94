//! Who sees which deals and leads, enforced in the queries themselves.
//!
//! Every scoped query binds the actor's role as `$1` and user id as `$2`, and includes
//! [`visible_owner!`] for the owner column: an admin sees all, a manager their own and their
//! teams' records, a rep their own.

/// SQL condition: the record owned by `$col` is visible to the actor bound as `$1`/`$2`.
macro_rules! visible_owner {
    ($col:literal) => {
        concat!(
            "($1 = 'admin' OR ",
            $col,
            " = $2 OR ($1 = 'manager' AND ",
            $col,
            " IN (SELECT su.id FROM users su JOIN teams st ON st.id = su.team_id WHERE st.manager_id = $2)))"
        )
    };
}
pub(crate) use visible_owner;

use throughline_core::{Role, UserId};

use crate::db::{Tx, on_conn};
use crate::error::{Result, StoreError};
use crate::events::Ctx;

/// May the actor assign a record to `owner`? A rep only to themself, a manager to
/// themself and their teams' members, an admin to anyone active.
pub(crate) async fn check_assignable(
    tx: &mut Tx,
    ctx: &Ctx,
    owner: UserId,
    field: &'static str,
) -> Result<()> {
    let row: Option<(bool, bool)> = on_conn!(tx, c => sqlx::query_as(concat!(
        "SELECT u.active, ", visible_owner!("u.id"), " FROM users u WHERE u.id = $3"
    ))
    .bind(ctx.role())
    .bind(ctx.user())
    .bind(owner.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    match row {
        None => Err(StoreError::invalid(field, "no such user")),
        Some((false, _)) => Err(StoreError::invalid(field, "this user is deactivated")),
        Some((true, false)) => Err(StoreError::forbidden(
            Some(field),
            match ctx.actor.role {
                Role::Rep => "a rep can only assign records to themself",
                _ => "a manager can only assign records to members of their teams",
            },
        )),
        Some((true, true)) => Ok(()),
    }
}

/// The owner a new record gets when none is named: the actor. The system must name one.
pub(crate) fn default_owner(
    ctx: &Ctx,
    given: Option<UserId>,
    field: &'static str,
) -> Result<UserId> {
    given.or(ctx.actor.user_id).ok_or_else(|| {
        StoreError::invalid(field, "is required when no user is acting (name an owner)")
    })
}
