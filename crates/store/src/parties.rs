//! Organizations and people. Everyone in the team sees them; deals and leads carry the
//! visibility rules.

use serde::{Deserialize, Serialize};
use serde_json::json;
use throughline_core::event::EventKind;
use throughline_core::party::{
    Organization, OrganizationInput, OrganizationPatch, Person, PersonInput, PersonPatch,
};
use throughline_core::time::from_ms;
use throughline_core::{OrganizationId, PersonId};

use crate::db::{Tx, exec, on_conn};
use crate::deals::{Page, check_cursor, page_limit, paginate};
use crate::error::{Result, StoreError};
use crate::events::{Ctx, append};
use crate::rows::{opt_text, parse, parse_opt};
use crate::scope::check_assignable;

/// Filters for organizations and people.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyFilter {
    /// Case-insensitive part of the name (or e-mail, for people).
    pub q: Option<String>,
    pub organization_id: Option<OrganizationId>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

pub(crate) fn like_pattern(q: Option<&str>) -> Option<String> {
    q.map(str::trim).filter(|s| !s.is_empty()).map(|s| {
        let escaped = s
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    })
}

fn stale(entity: &'static str, id: impl ToString, current: i64, given: i64) -> StoreError {
    StoreError::StaleVersion {
        entity,
        id: id.to_string(),
        current,
        given,
    }
}

// ---- organizations ----

#[derive(sqlx::FromRow)]
struct OrganizationRow {
    id: String,
    name: String,
    domain: Option<String>,
    owner_id: Option<String>,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

impl OrganizationRow {
    fn into_organization(self) -> Result<Organization> {
        Ok(Organization {
            id: parse("organization id", &self.id)?,
            name: self.name,
            domain: self.domain,
            owner_id: parse_opt("user id", self.owner_id.as_deref())?,
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
            version: self.version,
        })
    }
}

const ORG_COLUMNS: &str = "id, name, domain, owner_id, created_at, updated_at, version";

pub async fn get_organization(tx: &mut Tx, id: OrganizationId) -> Result<Option<Organization>> {
    let row: Option<OrganizationRow> = on_conn!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ORG_COLUMNS} FROM organizations WHERE id = $1"
    )))
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    row.map(OrganizationRow::into_organization).transpose()
}

pub async fn require_organization(tx: &mut Tx, id: OrganizationId) -> Result<Organization> {
    get_organization(tx, id)
        .await?
        .ok_or_else(|| StoreError::not_found("organization", id))
}

/// The organization with exactly this name (case-insensitive), oldest first.
pub async fn find_organization(tx: &mut Tx, name: &str) -> Result<Option<Organization>> {
    let row: Option<OrganizationRow> = on_conn!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ORG_COLUMNS} FROM organizations WHERE lower(name) = lower($1) ORDER BY id LIMIT 1"
    )))
    .bind(name.trim())
    .fetch_optional(&mut *c)
    .await)?;
    row.map(OrganizationRow::into_organization).transpose()
}

pub async fn list_organizations(tx: &mut Tx, filter: &PartyFilter) -> Result<Page<Organization>> {
    let limit = page_limit(filter.limit)?;
    let cursor = check_cursor(filter.cursor.as_deref())?;
    let rows: Vec<OrganizationRow> = on_conn!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ORG_COLUMNS} FROM organizations
         WHERE ($1 IS NULL OR lower(name) LIKE $1 ESCAPE '\\') AND ($2 IS NULL OR id > $2)
         ORDER BY id LIMIT $3"
    )))
    .bind(like_pattern(filter.q.as_deref()))
    .bind(cursor)
    .bind(limit + 1)
    .fetch_all(&mut *c)
    .await)?;
    let items = rows
        .into_iter()
        .map(OrganizationRow::into_organization)
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, |o| o.id.to_string()))
}

pub async fn create_organization(
    tx: &mut Tx,
    ctx: &Ctx,
    input: OrganizationInput,
) -> Result<Organization> {
    let input = input.validate()?;
    if let Some(owner) = input.owner_id {
        check_assignable(tx, ctx, owner, "owner_id").await?;
    }
    let org = Organization {
        id: OrganizationId::at(ctx.at),
        name: input.name,
        domain: input.domain,
        owner_id: input.owner_id,
        created_at: ctx.at,
        updated_at: ctx.at,
        version: 1,
    };
    exec!(tx, c => sqlx::query(
        "INSERT INTO organizations (id, name, domain, owner_id, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $5, 1)",
    )
    .bind(org.id.to_string())
    .bind(&org.name)
    .bind(&org.domain)
    .bind(opt_text(org.owner_id))
    .bind(ctx.at_ms())
    .execute(&mut *c)
    .await)?;
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::OrganizationCreated,
        &org.id.to_string(),
        &json!({ "after": org }),
    )
    .await?;
    Ok(org)
}

pub async fn update_organization(
    tx: &mut Tx,
    ctx: &Ctx,
    id: OrganizationId,
    patch: OrganizationPatch,
) -> Result<Organization> {
    let before = require_organization(tx, id).await?;
    if before.version != patch.version {
        return Err(stale("organization", id, before.version, patch.version));
    }
    let mut next = patch.apply(&before)?;
    if next.owner_id != before.owner_id
        && let Some(owner) = next.owner_id
    {
        check_assignable(tx, ctx, owner, "owner_id").await?;
    }
    if next == before {
        return Ok(before);
    }
    next.version += 1;
    next.updated_at = ctx.at;
    let done = exec!(tx, c => sqlx::query(
        "UPDATE organizations SET name = $1, domain = $2, owner_id = $3, updated_at = $4, version = $5 WHERE id = $6 AND version = $7",
    )
    .bind(&next.name)
    .bind(&next.domain)
    .bind(opt_text(next.owner_id))
    .bind(ctx.at_ms())
    .bind(next.version)
    .bind(id.to_string())
    .bind(before.version)
    .execute(&mut *c)
    .await)?;
    if done == 0 {
        return Err(stale(
            "organization",
            id,
            before.version + 1,
            before.version,
        ));
    }
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::OrganizationUpdated,
        &id.to_string(),
        &json!({ "before": before, "after": next }),
    )
    .await?;
    Ok(next)
}

// ---- people ----

#[derive(sqlx::FromRow)]
struct PersonRow {
    id: String,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    organization_id: Option<String>,
    owner_id: Option<String>,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

impl PersonRow {
    fn into_person(self) -> Result<Person> {
        Ok(Person {
            id: parse("person id", &self.id)?,
            name: self.name,
            email: self.email,
            phone: self.phone,
            organization_id: parse_opt("organization id", self.organization_id.as_deref())?,
            owner_id: parse_opt("user id", self.owner_id.as_deref())?,
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
            version: self.version,
        })
    }
}

const PERSON_COLUMNS: &str =
    "id, name, email, phone, organization_id, owner_id, created_at, updated_at, version";

pub async fn get_person(tx: &mut Tx, id: PersonId) -> Result<Option<Person>> {
    let row: Option<PersonRow> = on_conn!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PERSON_COLUMNS} FROM people WHERE id = $1"
    )))
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    row.map(PersonRow::into_person).transpose()
}

pub async fn require_person(tx: &mut Tx, id: PersonId) -> Result<Person> {
    get_person(tx, id)
        .await?
        .ok_or_else(|| StoreError::not_found("person", id))
}

/// The person with this e-mail, or failing that with exactly this name, oldest first.
pub async fn find_person(
    tx: &mut Tx,
    email: Option<&str>,
    name: Option<&str>,
) -> Result<Option<Person>> {
    if let Some(email) = email.map(str::trim).filter(|e| !e.is_empty()) {
        let row: Option<PersonRow> = on_conn!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE email = $1 ORDER BY id LIMIT 1"
        )))
        .bind(email.to_lowercase())
        .fetch_optional(&mut *c)
        .await)?;
        if row.is_some() {
            return row.map(PersonRow::into_person).transpose();
        }
    }
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    let row: Option<PersonRow> = on_conn!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PERSON_COLUMNS} FROM people WHERE lower(name) = lower($1) ORDER BY id LIMIT 1"
    )))
    .bind(name)
    .fetch_optional(&mut *c)
    .await)?;
    row.map(PersonRow::into_person).transpose()
}

pub async fn list_people(tx: &mut Tx, filter: &PartyFilter) -> Result<Page<Person>> {
    let limit = page_limit(filter.limit)?;
    let cursor = check_cursor(filter.cursor.as_deref())?;
    let rows: Vec<PersonRow> = on_conn!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PERSON_COLUMNS} FROM people
         WHERE ($1 IS NULL OR lower(name) LIKE $1 ESCAPE '\\' OR email LIKE $1 ESCAPE '\\')
           AND ($2 IS NULL OR organization_id = $2) AND ($3 IS NULL OR id > $3)
         ORDER BY id LIMIT $4"
    )))
    .bind(like_pattern(filter.q.as_deref()))
    .bind(opt_text(filter.organization_id))
    .bind(cursor)
    .bind(limit + 1)
    .fetch_all(&mut *c)
    .await)?;
    let items = rows
        .into_iter()
        .map(PersonRow::into_person)
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, |p| p.id.to_string()))
}

pub async fn create_person(tx: &mut Tx, ctx: &Ctx, input: PersonInput) -> Result<Person> {
    let input = input.validate()?;
    if let Some(org) = input.organization_id
        && get_organization(tx, org).await?.is_none()
    {
        return Err(StoreError::invalid(
            "organization_id",
            "no such organization",
        ));
    }
    if let Some(owner) = input.owner_id {
        check_assignable(tx, ctx, owner, "owner_id").await?;
    }
    let person = Person {
        id: PersonId::at(ctx.at),
        name: input.name,
        email: input.email,
        phone: input.phone,
        organization_id: input.organization_id,
        owner_id: input.owner_id,
        created_at: ctx.at,
        updated_at: ctx.at,
        version: 1,
    };
    exec!(tx, c => sqlx::query(
        "INSERT INTO people (id, name, email, phone, organization_id, owner_id, created_at, updated_at, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 1)",
    )
    .bind(person.id.to_string())
    .bind(&person.name)
    .bind(&person.email)
    .bind(&person.phone)
    .bind(opt_text(person.organization_id))
    .bind(opt_text(person.owner_id))
    .bind(ctx.at_ms())
    .execute(&mut *c)
    .await)?;
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::PersonCreated,
        &person.id.to_string(),
        &json!({ "after": person }),
    )
    .await?;
    Ok(person)
}

pub async fn update_person(
    tx: &mut Tx,
    ctx: &Ctx,
    id: PersonId,
    patch: PersonPatch,
) -> Result<Person> {
    let before = require_person(tx, id).await?;
    if before.version != patch.version {
        return Err(stale("person", id, before.version, patch.version));
    }
    let mut next = patch.apply(&before)?;
    if next.organization_id != before.organization_id
        && let Some(org) = next.organization_id
        && get_organization(tx, org).await?.is_none()
    {
        return Err(StoreError::invalid(
            "organization_id",
            "no such organization",
        ));
    }
    if next.owner_id != before.owner_id
        && let Some(owner) = next.owner_id
    {
        check_assignable(tx, ctx, owner, "owner_id").await?;
    }
    if next == before {
        return Ok(before);
    }
    next.version += 1;
    next.updated_at = ctx.at;
    let done = exec!(tx, c => sqlx::query(
        "UPDATE people SET name = $1, email = $2, phone = $3, organization_id = $4, owner_id = $5, updated_at = $6, version = $7
         WHERE id = $8 AND version = $9",
    )
    .bind(&next.name)
    .bind(&next.email)
    .bind(&next.phone)
    .bind(opt_text(next.organization_id))
    .bind(opt_text(next.owner_id))
    .bind(ctx.at_ms())
    .bind(next.version)
    .bind(id.to_string())
    .bind(before.version)
    .execute(&mut *c)
    .await)?;
    if done == 0 {
        return Err(stale("person", id, before.version + 1, before.version));
    }
    append(
        tx,
        ctx,
        ctx.at_ms(),
        EventKind::PersonUpdated,
        &id.to_string(),
        &json!({ "before": before, "after": next }),
    )
    .await?;
    Ok(next)
}
