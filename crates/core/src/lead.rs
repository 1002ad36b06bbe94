//! Leads: prospects from marketing sources, qualified into deals or disqualified.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::deal::{CustomFields, check_value, checked_text};
use crate::validate::{self, Invalid};
use crate::{Currency, DealId, LeadId, OrganizationId, PersonId, PipelineId, StageId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeadStatus {
    Open,
    Qualified,
    Disqualified,
}

impl LeadStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::Open => "open",
            LeadStatus::Qualified => "qualified",
            LeadStatus::Disqualified => "disqualified",
        }
    }
}

impl fmt::Display for LeadStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LeadStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "open" => Ok(LeadStatus::Open),
            "qualified" => Ok(LeadStatus::Qualified),
            "disqualified" => Ok(LeadStatus::Disqualified),
            other => Err(format!(
                "`{other}` is not a lead status: use open, qualified or disqualified"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lead {
    pub id: LeadId,
    pub title: String,
    pub status: LeadStatus,
    /// Unassigned leads (`None`) are the team's inbox, visible to everyone.
    pub owner_id: Option<UserId>,
    pub person_id: Option<PersonId>,
    pub organization_id: Option<OrganizationId>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    /// Estimated value, if known, in minor units of `currency`.
    pub value: Option<i64>,
    pub currency: Option<Currency>,
    pub disqualify_reason: Option<String>,
    /// The deal it was qualified into.
    pub deal_id: Option<DealId>,
    pub custom: CustomFields,
    pub created_at: Timestamp,
    /// When it was qualified or disqualified.
    pub decided_at: Option<Timestamp>,
    pub updated_at: Timestamp,
    pub version: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewLead {
    pub title: String,
    #[serde(default)]
    pub owner_id: Option<UserId>,
    #[serde(default)]
    pub person_id: Option<PersonId>,
    #[serde(default)]
    pub organization_id: Option<OrganizationId>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub campaign: Option<String>,
    #[serde(default)]
    pub value: Option<i64>,
    #[serde(default)]
    pub currency: Option<Currency>,
    #[serde(default)]
    pub custom: CustomFields,
}

impl NewLead {
    pub fn validate(mut self) -> Result<Self, Invalid> {
        let mut invalid = Invalid::new();
        self.title = validate::name("title", &self.title, crate::deal::TITLE_MAX, &mut invalid);
        self.source = checked_text("source", self.source.as_deref(), &mut invalid);
        self.campaign = checked_text("campaign", self.campaign.as_deref(), &mut invalid);
        if let Some(value) = self.value {
            check_value("value", value, &mut invalid);
            if self.currency.is_none() {
                invalid.push("currency", "is required with a value");
            }
        }
        invalid.into_result()?;
        Ok(self)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadPatch {
    pub version: i64,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default, with = "crate::nullable")]
    pub owner_id: Option<Option<UserId>>,
    #[serde(default, with = "crate::nullable")]
    pub person_id: Option<Option<PersonId>>,
    #[serde(default, with = "crate::nullable")]
    pub organization_id: Option<Option<OrganizationId>>,
    #[serde(default, with = "crate::nullable")]
    pub source: Option<Option<String>>,
    #[serde(default, with = "crate::nullable")]
    pub campaign: Option<Option<String>>,
    #[serde(default, with = "crate::nullable")]
    pub value: Option<Option<i64>>,
    #[serde(default, with = "crate::nullable")]
    pub currency: Option<Option<Currency>>,
    #[serde(default)]
    pub custom: Option<CustomFields>,
}

impl LeadPatch {
    pub fn apply(&self, lead: &Lead) -> Result<Lead, Invalid> {
        let mut invalid = Invalid::new();
        let mut next = lead.clone();
        if let Some(title) = &self.title {
            next.title = validate::name("title", title, crate::deal::TITLE_MAX, &mut invalid);
        }
        if let Some(owner) = self.owner_id {
            next.owner_id = owner;
        }
        if let Some(person) = self.person_id {
            next.person_id = person;
        }
        if let Some(org) = self.organization_id {
            next.organization_id = org;
        }
        if let Some(source) = &self.source {
            next.source = checked_text("source", source.as_deref(), &mut invalid);
        }
        if let Some(campaign) = &self.campaign {
            next.campaign = checked_text("campaign", campaign.as_deref(), &mut invalid);
        }
        if let Some(value) = self.value {
            if let Some(v) = value {
                check_value("value", v, &mut invalid);
            }
            next.value = value;
        }
        if let Some(currency) = self.currency {
            next.currency = currency;
        }
        if next.value.is_some() && next.currency.is_none() {
            invalid.push("currency", "is required with a value");
        }
        if let Some(custom) = &self.custom {
            next.custom = custom.clone();
        }
        invalid.into_result()?;
        Ok(next)
    }
}

/// Turning a lead into a deal. The deal keeps the lead's source, campaign, contact and
/// creation time (as the start of its sales cycle).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Qualify {
    #[serde(default)]
    pub pipeline_id: Option<PipelineId>,
    #[serde(default)]
    pub stage_id: Option<StageId>,
    /// Defaults to the lead's title.
    #[serde(default)]
    pub title: Option<String>,
    /// Defaults to the lead's estimated value, or 0.
    #[serde(default)]
    pub value: Option<i64>,
    #[serde(default)]
    pub currency: Option<Currency>,
    /// Defaults to the lead's owner, or the one qualifying it.
    #[serde(default)]
    pub owner_id: Option<UserId>,
    #[serde(default)]
    pub expected_close_date: Option<Date>,
    #[serde(default)]
    pub version: Option<i64>,
}
