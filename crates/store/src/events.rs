//! The append-only event history.

use jiff::Timestamp;
use serde_json::Value;
use throughline_core::event::{Event, EventKind};
use throughline_core::time::{from_ms, to_ms};
use throughline_core::{Actor, UserId};

use crate::db::{Tx, exec, on_conn};
use crate::error::{Result, StoreError};
use crate::rows::{opt_text, parse_opt};

/// Who acts and when. Operations take the instant from here rather than reading the clock,
/// so the demo and importers replay the past through the same code that serves users.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    pub actor: Actor,
    pub at: Timestamp,
}

impl Ctx {
    pub fn new(actor: Actor, at: Timestamp) -> Self {
        Self {
            actor,
            at: throughline_core::time::truncate_ms(at),
        }
    }

    pub fn now(actor: Actor) -> Self {
        Self::new(actor, Timestamp::now())
    }

    pub fn system_now() -> Self {
        Self::now(Actor::SYSTEM)
    }

    pub(crate) fn at_ms(&self) -> i64 {
        to_ms(self.at)
    }

    /// Does the actor see every record (an admin, or the system)?
    pub(crate) fn sees_everything(&self) -> bool {
        self.role() == "admin"
    }

    pub(crate) fn role(&self) -> &'static str {
        self.actor.role.as_str()
    }

    pub(crate) fn user(&self) -> Option<String> {
        opt_text(self.actor.user_id)
    }
}

/// Append one event. Call it in the same transaction as the change it records.
pub(crate) async fn append(
    tx: &mut Tx,
    ctx: &Ctx,
    at_ms: i64,
    kind: EventKind,
    entity_id: &str,
    data: &Value,
) -> Result<()> {
    let text = data.to_string();
    exec!(tx, c => sqlx::query(
        "INSERT INTO events (at, actor_id, code, entity, entity_id, data) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(at_ms)
    .bind(ctx.user())
    .bind(kind.code())
    .bind(kind.entity())
    .bind(entity_id)
    .bind(text)
    .execute(&mut *c)
    .await)?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct EventRow {
    seq: i64,
    at: i64,
    actor_id: Option<String>,
    code: i64,
    entity_id: String,
    data: String,
}

impl EventRow {
    fn into_event(self) -> Result<Event> {
        let kind = EventKind::from_code(self.code)
            .ok_or_else(|| StoreError::Corrupt(format!("event code {} is unknown", self.code)))?;
        let data = serde_json::from_str(&self.data)
            .map_err(|e| StoreError::Corrupt(format!("event {}: {e}", self.seq)))?;
        Ok(Event {
            seq: self.seq,
            at: from_ms(self.at),
            actor_id: parse_opt::<UserId>("user id", self.actor_id.as_deref())?,
            kind,
            code: self.code,
            entity: kind.entity(),
            entity_id: self.entity_id,
            data,
        })
    }
}

/// The events of one record, oldest first.
pub async fn for_entity(tx: &mut Tx, entity_id: &str) -> Result<Vec<Event>> {
    let rows: Vec<EventRow> = on_conn!(tx, c => sqlx::query_as(
        "SELECT seq, at, actor_id, code, entity_id, data FROM events WHERE entity_id = $1 ORDER BY at, seq",
    )
    .bind(entity_id)
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter().map(EventRow::into_event).collect()
}

/// Every event with `seq` greater than `after`, in seq order, at most `limit`.
pub async fn page(tx: &mut Tx, after: i64, limit: i64) -> Result<Vec<Event>> {
    let rows: Vec<EventRow> = on_conn!(tx, c => sqlx::query_as(
        "SELECT seq, at, actor_id, code, entity_id, data FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter().map(EventRow::into_event).collect()
}
