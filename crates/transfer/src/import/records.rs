//! Importing leads, people, organizations and activities, one record at a time through the
//! ordinary store operations (their volumes are those of a team's contacts, not of a
//! deal history), at the instants the file gives.

use jiff::Timestamp;
use throughline_core::activity::{ActivityKind, ActivityPatch, NewActivity};
use throughline_core::deal::CustomFields;
use throughline_core::lead::NewLead;
use throughline_core::party::{OrganizationInput, PersonInput};
use throughline_core::{Currency, DealId, Invalid};
use throughline_store::bulk::{ExternalTable, find_external, set_external};
use throughline_store::leads::Disqualify;
use throughline_store::{Ctx, StoreError, Tx, activities, leads, parties, settings};

use super::cells::Columns;
use super::mapping::Mapping;
use super::read::{Row, Table};
use super::resolve::Resolver;
use super::{ImportError, ImportReport, Kind, Progress, Rejection, values};

struct Context<'a> {
    cols: Columns,
    mapping: &'a Mapping,
    tz: jiff::tz::TimeZone,
    ctx: Ctx,
}

type RowResult<T> = Result<T, (Option<String>, String)>;

/// The value of a row-level result, or the row's refusal returned from the function.
macro_rules! row_try {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(refusal) => return Ok(Err(refusal)),
        }
    };
}

impl Context<'_> {
    fn text(&self, row: &Row, field: &str) -> Option<String> {
        self.cols.get(row, field).map(str::to_string)
    }

    fn instant(&self, row: &Row, field: &str) -> RowResult<Option<Timestamp>> {
        match self.cols.get(row, field) {
            None => Ok(None),
            Some(t) => values::instant(t, &self.tz)
                .map(Some)
                .map_err(|e| (self.cols.column(field), e)),
        }
    }

    fn custom(&self, row: &Row) -> RowResult<CustomFields> {
        let mut custom = CustomFields::new();
        if let Some(text) = self.cols.get(row, "custom") {
            custom = serde_json::from_str(text).map_err(|_| {
                (
                    self.cols.column("custom"),
                    "custom fields are not a JSON object".to_string(),
                )
            })?;
        }
        for (name, i) in &self.cols.custom {
            if let Some(text) = self.cols.at(row, *i) {
                custom.insert(name.clone(), serde_json::Value::String(text.to_string()));
            }
        }
        Ok(custom)
    }

    fn external_id(&self, row: &Row) -> Option<String> {
        let id = self.cols.get(row, "external_id")?;
        Some(match &self.mapping.external_prefix {
            Some(prefix) => format!("{prefix}:{id}"),
            None => id.to_string(),
        })
    }

    /// The row's instant, or the import's when the file has none.
    fn at(&self, row: &Row) -> RowResult<Ctx> {
        let at = self.instant(row, "created_at")?.unwrap_or(self.ctx.at);
        Ok(Ctx::new(self.ctx.actor, at))
    }
}

/// A store refusal that a row caused (bad value) becomes the row's rejection; anything
/// else (the database failing) ends the import.
fn row_refusal(cols: &Columns, err: StoreError) -> Result<(Option<String>, String), ImportError> {
    match err {
        StoreError::Invalid(Invalid { errors }) => {
            let first = errors.into_iter().next();
            let field = first.as_ref().map(|e| e.field.clone()).unwrap_or_default();
            let column = cols
                .column(field.trim_end_matches("_id"))
                .or(cols.column(&field))
                .or(Some(field));
            Ok((
                column,
                first.map(|e| e.message).unwrap_or_else(|| "invalid".into()),
            ))
        }
        StoreError::Forbidden { message, .. } | StoreError::Conflict { message, .. } => {
            Ok((None, message))
        }
        other => Err(other.into()),
    }
}

pub(crate) async fn import(
    tx: &mut Tx,
    ctx: Ctx,
    kind: Kind,
    table: Table,
    mapping: &Mapping,
    report: &mut ImportReport,
    progress: &dyn Progress,
) -> Result<(), ImportError> {
    let c = Context {
        cols: Columns::new(mapping, &table.headers),
        mapping,
        tz: settings::time_zone(tx).await?,
        ctx,
    };
    let mut resolver = Resolver::default();
    let mut done = 0u64;
    for row in table.rows() {
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                report.rejected.push(Rejection {
                    line: 0,
                    column: None,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let table = match kind {
            Kind::Leads => ExternalTable::Leads,
            Kind::People => ExternalTable::People,
            Kind::Organizations => ExternalTable::Organizations,
            Kind::Activities => ExternalTable::Activities,
            // Never reached: these have importers of their own.
            Kind::Deals | Kind::Pipelines => ExternalTable::Deals,
        };
        let external = c.external_id(&row);
        if let Some(ext) = &external
            && find_external(tx, table, ext).await?.is_some()
        {
            report.skipped += 1;
            continue;
        }
        let result = match kind {
            Kind::Leads => lead(tx, &c, &mut resolver, &row, report).await?,
            Kind::People => person(tx, &c, &mut resolver, &row, report).await?,
            Kind::Organizations => organization(tx, &c, &mut resolver, &row, report).await?,
            Kind::Activities => activity(tx, &c, &mut resolver, &row, report).await?,
            Kind::Deals | Kind::Pipelines => unreachable_deals(),
        };
        match result {
            Ok(id) => {
                if let Some(ext) = &external {
                    set_external(tx, table, &id, ext).await?;
                }
                report.created += 1;
            }
            Err((column, reason)) => report.rejected.push(Rejection {
                line: row.line,
                column,
                reason,
            }),
        }
        done += 1;
        if done.is_multiple_of(1_000) {
            progress.advance(1_000);
        }
    }
    progress.advance(done % 1_000);
    Ok(())
}

/// A deal by the id an import gave it (as the source named it, or as a Throughline export
/// did), or by its id here.
async fn deal_by_key(tx: &mut Tx, key: &str) -> Result<Option<DealId>, ImportError> {
    let found = match find_external(tx, ExternalTable::Deals, key).await? {
        Some(id) => Some(id),
        None => find_external(tx, ExternalTable::Deals, &format!("throughline:{key}")).await?,
    };
    Ok(found
        .and_then(|id| id.parse::<DealId>().ok())
        .or_else(|| key.parse::<DealId>().ok()))
}

fn unreachable_deals() -> RowResult<String> {
    Err((
        None,
        "deals and pipelines are imported by importers of their own".into(),
    ))
}

async fn owner_of(
    tx: &mut Tx,
    c: &Context<'_>,
    resolver: &mut Resolver,
    row: &Row,
    report: &mut ImportReport,
) -> Result<Option<throughline_core::UserId>, ImportError> {
    match c.cols.get(row, "owner") {
        Some(key) => Ok(Some(resolver.owner(tx, &c.ctx, key, report).await?)),
        None => Ok(Some(resolver.fallback_owner(tx, &c.ctx, report).await?)),
    }
}

async fn lead(
    tx: &mut Tx,
    c: &Context<'_>,
    resolver: &mut Resolver,
    row: &Row,
    report: &mut ImportReport,
) -> Result<RowResult<String>, ImportError> {
    let Some(title) = c.text(row, "title") else {
        return Ok(Err((c.cols.column("title"), "the title is empty".into())));
    };
    let at = row_try!(c.at(row));
    let custom = row_try!(c.custom(row));
    let currency = match c
        .cols
        .get(row, "currency")
        .or(c.mapping.currency.as_deref())
    {
        Some(code) => match code.parse::<Currency>() {
            Ok(cur) => Some(cur),
            Err(_) => {
                return Ok(Err((
                    c.cols.column("currency"),
                    format!("`{code}` is not an ISO 4217 currency code"),
                )));
            }
        },
        None => None,
    };
    let value = match (c.cols.get(row, "value"), currency) {
        (Some(text), Some(cur)) => match values::amount(text, cur) {
            Ok(v) => Some(v),
            Err(e) => return Ok(Err((c.cols.column("value"), e))),
        },
        (Some(_), None) => {
            return Ok(Err((
                c.cols.column("value"),
                "a value needs a currency: map a currency column or give --currency".into(),
            )));
        }
        _ => None,
    };
    let status = c.cols.get(row, "status").map(str::to_lowercase);
    let disqualified = match status.as_deref() {
        None | Some("open") | Some("new") | Some("qualified") => false,
        Some("disqualified") | Some("lost") => true,
        Some(other) => match c.mapping.outcome_of(other) {
            Some(super::Outcome::Lost) => true,
            Some(_) => false,
            None => {
                return Ok(Err((
                    c.cols.column("status"),
                    format!("status `{other}` is not open or disqualified"),
                )));
            }
        },
    };
    let organization = resolver
        .organization_named(tx, &at, c.cols.get(row, "organization"), report)
        .await?;
    let person = resolver
        .person(
            tx,
            &at,
            c.cols.get(row, "person"),
            c.cols.get(row, "person_email"),
            organization,
            report,
        )
        .await?;
    // A lead may be nobody's yet: only an owner the file names is set.
    let owner = resolver
        .owner_named(tx, &c.ctx, c.cols.get(row, "owner"), report)
        .await?;
    let new = NewLead {
        title,
        owner_id: owner,
        person_id: person,
        organization_id: organization,
        source: c.text(row, "source"),
        campaign: c.text(row, "campaign"),
        value,
        currency,
        custom,
    };
    let created = match leads::create(tx, &at, new).await {
        Ok(lead) => lead,
        Err(e) => return Ok(Err(row_refusal(&c.cols, e)?)),
    };
    if status.as_deref() == Some("qualified")
        && let Some(key) = c.cols.get(row, "deal")
    {
        let Some(deal) = deal_by_key(tx, key).await? else {
            return Ok(Err((
                c.cols.column("deal"),
                format!("no deal `{key}` (import the deals first)"),
            )));
        };
        let decided = row_try!(c.instant(row, "decided_at")).unwrap_or(at.at);
        if let Err(e) = leads::link_imported(tx, &at, created.id, deal, decided).await {
            return Ok(Err(row_refusal(&c.cols, e)?));
        }
    }
    if disqualified {
        let reason = c
            .text(row, "disqualify_reason")
            .unwrap_or_else(|| "Disqualified before the import".into());
        let decided = row_try!(c.instant(row, "decided_at"))
            .unwrap_or(at.at)
            .max(at.at);
        if let Err(e) = leads::disqualify(
            tx,
            &Ctx::new(at.actor, decided),
            created.id,
            Disqualify {
                reason,
                version: Some(created.version),
            },
        )
        .await
        {
            return Ok(Err(row_refusal(&c.cols, e)?));
        }
    }
    Ok(Ok(created.id.to_string()))
}

async fn organization(
    tx: &mut Tx,
    c: &Context<'_>,
    resolver: &mut Resolver,
    row: &Row,
    report: &mut ImportReport,
) -> Result<RowResult<String>, ImportError> {
    let Some(name) = c.text(row, "name") else {
        return Ok(Err((c.cols.column("name"), "the name is empty".into())));
    };
    let at = row_try!(c.at(row));
    if let Some(existing) = parties::find_organization(tx, &name).await? {
        return Ok(Ok(existing.id.to_string()));
    }
    let owner = resolver
        .owner_named(tx, &c.ctx, c.cols.get(row, "owner"), report)
        .await?;
    let input = OrganizationInput {
        name,
        domain: c.text(row, "domain"),
        owner_id: owner,
    };
    match parties::create_organization(tx, &at, input).await {
        Ok(org) => Ok(Ok(org.id.to_string())),
        Err(e) => Ok(Err(row_refusal(&c.cols, e)?)),
    }
}

async fn person(
    tx: &mut Tx,
    c: &Context<'_>,
    resolver: &mut Resolver,
    row: &Row,
    report: &mut ImportReport,
) -> Result<RowResult<String>, ImportError> {
    let Some(name) = c.text(row, "name") else {
        return Ok(Err((c.cols.column("name"), "the name is empty".into())));
    };
    let at = row_try!(c.at(row));
    let email = c.text(row, "email");
    if let Some(email) = &email
        && let Some(existing) = parties::find_person(tx, Some(email), None).await?
    {
        return Ok(Ok(existing.id.to_string()));
    }
    let organization = resolver
        .organization_named(tx, &at, c.cols.get(row, "organization"), report)
        .await?;
    let owner = resolver
        .owner_named(tx, &c.ctx, c.cols.get(row, "owner"), report)
        .await?;
    let input = PersonInput {
        name,
        email,
        phone: c.text(row, "phone"),
        organization_id: organization,
        owner_id: owner,
    };
    match parties::create_person(tx, &at, input).await {
        Ok(p) => Ok(Ok(p.id.to_string())),
        Err(e) => Ok(Err(row_refusal(&c.cols, e)?)),
    }
}

async fn activity(
    tx: &mut Tx,
    c: &Context<'_>,
    resolver: &mut Resolver,
    row: &Row,
    report: &mut ImportReport,
) -> Result<RowResult<String>, ImportError> {
    let Some(subject) = c.text(row, "subject") else {
        return Ok(Err((
            c.cols.column("subject"),
            "the subject is empty".into(),
        )));
    };
    let kind = match c.cols.get(row, "kind") {
        None => ActivityKind::Task,
        Some(text) => match serde_json::from_value::<ActivityKind>(serde_json::Value::String(
            text.to_lowercase(),
        )) {
            Ok(k) => k,
            Err(_) => {
                return Ok(Err((
                    c.cols.column("kind"),
                    format!("`{text}` is not call, meeting, task, email or deadline"),
                )));
            }
        },
    };
    let at = row_try!(c.at(row));
    let due_at = row_try!(c.instant(row, "due_at"));
    let duration_minutes = match c.cols.get(row, "duration_minutes") {
        None => None,
        Some(t) => match t.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                return Ok(Err((
                    c.cols.column("duration_minutes"),
                    format!("`{t}` is not a whole number of minutes"),
                )));
            }
        },
    };
    let done = matches!(
        c.cols.get(row, "done").map(str::to_lowercase).as_deref(),
        Some("true" | "yes" | "1" | "done")
    );
    let deal_id = match c.cols.get(row, "deal") {
        None => None,
        Some(key) => match deal_by_key(tx, key).await? {
            Some(id) => Some(id),
            None => return Ok(Err((c.cols.column("deal"), format!("no deal `{key}`")))),
        },
    };
    let organization = resolver
        .organization_named(tx, &at, c.cols.get(row, "organization"), report)
        .await?;
    let person = resolver
        .person(
            tx,
            &at,
            c.cols.get(row, "person"),
            None,
            organization,
            report,
        )
        .await?;
    let owner = owner_of(tx, c, resolver, row, report).await?;
    let new = NewActivity {
        kind,
        subject,
        owner_id: owner,
        deal_id,
        lead_id: None,
        person_id: person,
        organization_id: organization,
        due_at,
        duration_minutes,
        note: c.text(row, "note"),
        done,
    };
    // Done at a known instant: created open, then done then, as it happened.
    let done_at = row_try!(c.instant(row, "done_at")).filter(|_| done);
    let new = NewActivity {
        done: done && done_at.is_none(),
        ..new
    };
    let created = match activities::create(tx, &at, new).await {
        Ok(a) => a,
        Err(e) => return Ok(Err(row_refusal(&c.cols, e)?)),
    };
    if let Some(done_at) = done_at {
        let patch = ActivityPatch {
            version: created.version,
            done: Some(true),
            ..ActivityPatch::default()
        };
        let when = Ctx::new(at.actor, done_at.max(at.at));
        if let Err(e) = activities::update(tx, &when, created.id, patch).await {
            return Ok(Err(row_refusal(&c.cols, e)?));
        }
    }
    Ok(Ok(created.id.to_string()))
}
