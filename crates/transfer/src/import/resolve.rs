//! Finding the users, organizations and people rows name, and creating them once when they
//! are new: owners as users who cannot log in, so nothing in the file is dropped.

use throughline_core::FastMap;

use throughline_core::party::{OrganizationInput, PersonInput};
use throughline_core::{OrganizationId, PersonId, Role, UserId};
use throughline_store::users::NewUser;
use throughline_store::{Ctx, Tx, bulk, parties, users};

use super::{ImportError, ImportReport};

#[derive(Default)]
pub(crate) struct Resolver {
    owners: FastMap<String, UserId>,
    organizations: FastMap<String, OrganizationId>,
    organizations_loaded: bool,
    people: FastMap<(String, Option<OrganizationId>), PersonId>,
    fallback_owner: Option<UserId>,
    /// Where a cell's matching key is built, several times a row.
    key: String,
}

/// The key a name or e-mail is matched by: trimmed, lowercase. Built in `buf`, without
/// allocating for ASCII text (nearly every cell of a file).
fn fold_into<'b>(buf: &'b mut String, text: &str) -> &'b str {
    let text = text.trim();
    buf.clear();
    if text.is_ascii() {
        buf.push_str(text);
        buf.make_ascii_lowercase();
    } else {
        buf.push_str(&text.to_lowercase());
    }
    buf
}

/// An e-mail address for an owner known only by name: a reserved domain, never deliverable.
fn placeholder_email(name: &str) -> String {
    let local: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '.' })
        .collect::<String>()
        .split('.')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(".");
    let local = if local.is_empty() {
        "owner".to_string()
    } else {
        local
    };
    format!("{local}@imported.invalid")
}

impl Resolver {
    /// Create, in one batch, the organizations among `names` that do not exist yet; later
    /// calls of [`Resolver::organization`] find them without a query.
    pub async fn prepare_organizations<'a>(
        &mut self,
        tx: &mut Tx,
        ctx: &Ctx,
        names: impl Iterator<Item = &'a str>,
        report: &mut ImportReport,
    ) -> Result<(), ImportError> {
        if !self.organizations_loaded {
            self.organizations
                .extend(bulk::organizations_by_name(tx).await?);
            self.organizations_loaded = true;
        }
        let mut missing: Vec<String> = vec![];
        let mut seen = std::collections::HashSet::new();
        for name in names {
            let norm = fold_into(&mut self.key, name);
            if !self.organizations.contains_key(norm) && seen.insert(norm.to_string()) {
                missing.push(name.trim().to_string());
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        let ids = bulk::create_organizations(tx, ctx, missing.clone()).await?;
        report.organizations_created += ids.len() as u64;
        for (name, id) in missing.into_iter().zip(ids) {
            self.organizations.insert(name.to_lowercase(), id);
        }
        Ok(())
    }

    /// The owner of rows that name none: the importing user, or else the first admin, or
    /// on an installation without users one created to hold them until they are assigned.
    pub async fn fallback_owner(
        &mut self,
        tx: &mut Tx,
        ctx: &Ctx,
        report: &mut ImportReport,
    ) -> Result<UserId, ImportError> {
        if let Some(id) = ctx.actor.user_id {
            return Ok(id);
        }
        if let Some(id) = self.fallback_owner {
            return Ok(id);
        }
        let admin = users::list(tx)
            .await?
            .into_iter()
            .find(|u| u.role == Role::Admin && u.active)
            .map(|u| u.id);
        let id = match admin {
            Some(id) => id,
            None => {
                self.owner(tx, ctx, "imported@imported.invalid", report)
                    .await?
            }
        };
        self.fallback_owner = Some(id);
        Ok(id)
    }

    /// The user an owner cell names (e-mail or name), created when unknown.
    pub async fn owner(
        &mut self,
        tx: &mut Tx,
        ctx: &Ctx,
        key: &str,
        report: &mut ImportReport,
    ) -> Result<UserId, ImportError> {
        if let Some(id) = self.owners.get(fold_into(&mut self.key, key)) {
            return Ok(*id);
        }
        let norm = key.trim().to_lowercase();
        let id = match users::find_by_email_or_name(tx, key.trim()).await? {
            Some(user) => user.id,
            None => {
                let email = if key.contains('@') {
                    key.trim().to_lowercase()
                } else {
                    placeholder_email(key)
                };
                let name = if key.contains('@') {
                    key.split('@').next().unwrap_or(key).to_string()
                } else {
                    key.trim().to_string()
                };
                // Creating users is an admin's right; an import by the system acts as one.
                let creator = Ctx::new(throughline_core::Actor::SYSTEM, ctx.at);
                let user = users::create(
                    tx,
                    &creator,
                    NewUser {
                        email: email.clone(),
                        name: name.clone(),
                        role: Role::Rep,
                        team_id: None,
                        password: None,
                    },
                )
                .await?;
                report.users_created.push(format!("{name} <{email}>"));
                user.id
            }
        };
        self.owners.insert(norm, id);
        Ok(id)
    }

    /// The organization a cell names, if it names one.
    pub async fn organization_named(
        &mut self,
        tx: &mut Tx,
        ctx: &Ctx,
        name: Option<&str>,
        report: &mut ImportReport,
    ) -> Result<Option<OrganizationId>, ImportError> {
        match name {
            Some(name) => Ok(Some(self.organization(tx, ctx, name, report).await?)),
            None => Ok(None),
        }
    }

    /// The user an owner cell names, if it names one.
    pub async fn owner_named(
        &mut self,
        tx: &mut Tx,
        ctx: &Ctx,
        key: Option<&str>,
        report: &mut ImportReport,
    ) -> Result<Option<UserId>, ImportError> {
        match key {
            Some(key) => Ok(Some(self.owner(tx, ctx, key, report).await?)),
            None => Ok(None),
        }
    }

    pub async fn organization(
        &mut self,
        tx: &mut Tx,
        ctx: &Ctx,
        name: &str,
        report: &mut ImportReport,
    ) -> Result<OrganizationId, ImportError> {
        if let Some(id) = self.organizations.get(fold_into(&mut self.key, name)) {
            return Ok(*id);
        }
        let norm = name.trim().to_lowercase();
        let id = match parties::find_organization(tx, name.trim()).await? {
            Some(org) => org.id,
            None => {
                report.organizations_created += 1;
                parties::create_organization(
                    tx,
                    ctx,
                    OrganizationInput {
                        name: name.trim().to_string(),
                        domain: None,
                        owner_id: None,
                    },
                )
                .await?
                .id
            }
        };
        self.organizations.insert(norm, id);
        Ok(id)
    }

    pub async fn person(
        &mut self,
        tx: &mut Tx,
        ctx: &Ctx,
        name: Option<&str>,
        email: Option<&str>,
        organization: Option<OrganizationId>,
        report: &mut ImportReport,
    ) -> Result<Option<PersonId>, ImportError> {
        let key = match (email, name) {
            (Some(e), _) => e.trim().to_lowercase(),
            (None, Some(n)) => n.trim().to_lowercase(),
            (None, None) => return Ok(None),
        };
        let cache_key = (key, if email.is_some() { None } else { organization });
        if let Some(id) = self.people.get(&cache_key) {
            return Ok(Some(*id));
        }
        let id = match parties::find_person(tx, email, name).await? {
            Some(p) => p.id,
            None => {
                report.people_created += 1;
                let display = name
                    .map(str::to_string)
                    .or_else(|| email.map(|e| e.split('@').next().unwrap_or(e).to_string()))
                    .unwrap_or_default();
                parties::create_person(
                    tx,
                    ctx,
                    PersonInput {
                        name: display,
                        email: email.map(str::to_string),
                        phone: None,
                        organization_id: organization,
                        owner_id: None,
                    },
                )
                .await?
                .id
            }
        };
        self.people.insert(cache_key, id);
        Ok(Some(id))
    }
}
