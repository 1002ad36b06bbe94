//! Organizations and the people who work there.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::validate::{self, Invalid};
use crate::{OrganizationId, PersonId, UserId};

pub const NAME_MAX: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
    pub domain: Option<String>,
    pub owner_id: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationInput {
    pub name: String,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub owner_id: Option<UserId>,
}

impl OrganizationInput {
    pub fn validate(mut self) -> Result<Self, Invalid> {
        let mut invalid = Invalid::new();
        self.name = validate::name("name", &self.name, NAME_MAX, &mut invalid);
        self.domain = validate::optional_text("domain", self.domain.as_deref(), 253, &mut invalid)
            .map(|d| d.to_lowercase());
        invalid.into_result()?;
        Ok(self)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationPatch {
    pub version: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, with = "crate::nullable")]
    pub domain: Option<Option<String>>,
    #[serde(default, with = "crate::nullable")]
    pub owner_id: Option<Option<UserId>>,
}

impl OrganizationPatch {
    pub fn apply(&self, org: &Organization) -> Result<Organization, Invalid> {
        let mut invalid = Invalid::new();
        let mut next = org.clone();
        if let Some(name) = &self.name {
            next.name = validate::name("name", name, NAME_MAX, &mut invalid);
        }
        if let Some(domain) = &self.domain {
            next.domain = validate::optional_text("domain", domain.as_deref(), 253, &mut invalid)
                .map(|d| d.to_lowercase());
        }
        if let Some(owner) = self.owner_id {
            next.owner_id = owner;
        }
        invalid.into_result()?;
        Ok(next)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: PersonId,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub organization_id: Option<OrganizationId>,
    pub owner_id: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonInput {
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub organization_id: Option<OrganizationId>,
    #[serde(default)]
    pub owner_id: Option<UserId>,
}

fn checked_email(raw: Option<&str>, invalid: &mut Invalid) -> Option<String> {
    let raw = raw.map(str::trim).filter(|s| !s.is_empty())?;
    Some(validate::email("email", raw, invalid))
}

impl PersonInput {
    pub fn validate(mut self) -> Result<Self, Invalid> {
        let mut invalid = Invalid::new();
        self.name = validate::name("name", &self.name, NAME_MAX, &mut invalid);
        self.email = checked_email(self.email.as_deref(), &mut invalid);
        self.phone = validate::optional_text("phone", self.phone.as_deref(), 50, &mut invalid);
        invalid.into_result()?;
        Ok(self)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonPatch {
    pub version: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, with = "crate::nullable")]
    pub email: Option<Option<String>>,
    #[serde(default, with = "crate::nullable")]
    pub phone: Option<Option<String>>,
    #[serde(default, with = "crate::nullable")]
    pub organization_id: Option<Option<OrganizationId>>,
    #[serde(default, with = "crate::nullable")]
    pub owner_id: Option<Option<UserId>>,
}

impl PersonPatch {
    pub fn apply(&self, person: &Person) -> Result<Person, Invalid> {
        let mut invalid = Invalid::new();
        let mut next = person.clone();
        if let Some(name) = &self.name {
            next.name = validate::name("name", name, NAME_MAX, &mut invalid);
        }
        if let Some(email) = &self.email {
            next.email = checked_email(email.as_deref(), &mut invalid);
        }
        if let Some(phone) = &self.phone {
            next.phone = validate::optional_text("phone", phone.as_deref(), 50, &mut invalid);
        }
        if let Some(org) = self.organization_id {
            next.organization_id = org;
        }
        if let Some(owner) = self.owner_id {
            next.owner_id = owner;
        }
        invalid.into_result()?;
        Ok(next)
    }
}
