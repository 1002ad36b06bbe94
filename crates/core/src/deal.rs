//! Deals: opportunities moving through a pipeline to won or lost.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::validate::{self, Invalid};
use crate::{Currency, DealId, LeadId, OrganizationId, PersonId, PipelineId, StageId, UserId};

pub const TITLE_MAX: usize = 200;
pub const TEXT_MAX: usize = 200;
pub const REASON_MAX: usize = 1000;
/// Largest accepted value, in minor units: a trillion in major units of a 2-decimal currency.
pub const VALUE_MAX: i64 = 100_000_000_000_000;

/// Custom fields: free keys, JSON values.
pub type CustomFields = BTreeMap<String, serde_json::Value>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DealStatus {
    Open,
    Won,
    Lost,
}

impl DealStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DealStatus::Open => "open",
            DealStatus::Won => "won",
            DealStatus::Lost => "lost",
        }
    }
}

impl fmt::Display for DealStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DealStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "open" => Ok(DealStatus::Open),
            "won" => Ok(DealStatus::Won),
            "lost" => Ok(DealStatus::Lost),
            other => Err(format!(
                "`{other}` is not a deal status: use open, won or lost"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deal {
    pub id: DealId,
    pub title: String,
    pub pipeline_id: PipelineId,
    pub stage_id: StageId,
    pub status: DealStatus,
    /// Minor units of `currency`.
    pub value: i64,
    pub currency: Currency,
    pub owner_id: UserId,
    pub person_id: Option<PersonId>,
    pub organization_id: Option<OrganizationId>,
    pub expected_close_date: Option<Date>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    /// The lead this deal was qualified from.
    pub lead_id: Option<LeadId>,
    pub lost_reason: Option<String>,
    pub custom: CustomFields,
    /// When the deal was created in its pipeline.
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub created_at: Timestamp,
    /// When its sales cycle began: the lead's creation when it came from a lead.
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub cycle_started_at: Timestamp,
    /// When it entered its current stage.
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub stage_entered_at: Timestamp,
    #[serde(serialize_with = "crate::time::rfc3339::serialize_option")]
    pub closed_at: Option<Timestamp>,
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub updated_at: Timestamp,
    /// Bumped by every change; a write carrying an older version is refused.
    pub version: i64,
}

/// A deal as the event of its creation records it: the deal's own JSON without the fields
/// that are empty (`null` there). A created event is written for every imported deal, and
/// the empty fields were a fifth of it.
#[derive(Debug, Serialize)]
pub struct CreatedRecord<'a> {
    id: DealId,
    title: &'a str,
    pipeline_id: PipelineId,
    stage_id: StageId,
    status: DealStatus,
    value: i64,
    currency: Currency,
    owner_id: UserId,
    #[serde(skip_serializing_if = "Option::is_none")]
    person_id: Option<PersonId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    organization_id: Option<OrganizationId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_close_date: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    campaign: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lead_id: Option<LeadId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lost_reason: Option<&'a str>,
    custom: &'a CustomFields,
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    created_at: Timestamp,
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    cycle_started_at: Timestamp,
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    stage_entered_at: Timestamp,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::time::rfc3339::serialize_option"
    )]
    closed_at: Option<Timestamp>,
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    updated_at: Timestamp,
    version: i64,
}

impl<'a> From<&'a Deal> for CreatedRecord<'a> {
    fn from(d: &'a Deal) -> Self {
        // Destructured, so that a field added to `Deal` must be added here too.
        let Deal {
            id,
            title,
            pipeline_id,
            stage_id,
            status,
            value,
            currency,
            owner_id,
            person_id,
            organization_id,
            expected_close_date,
            source,
            campaign,
            lead_id,
            lost_reason,
            custom,
            created_at,
            cycle_started_at,
            stage_entered_at,
            closed_at,
            updated_at,
            version,
        } = d;
        CreatedRecord {
            id: *id,
            title,
            pipeline_id: *pipeline_id,
            stage_id: *stage_id,
            status: *status,
            value: *value,
            currency: *currency,
            owner_id: *owner_id,
            person_id: *person_id,
            organization_id: *organization_id,
            expected_close_date: *expected_close_date,
            source: source.as_deref(),
            campaign: campaign.as_deref(),
            lead_id: *lead_id,
            lost_reason: lost_reason.as_deref(),
            custom,
            created_at: *created_at,
            cycle_started_at: *cycle_started_at,
            stage_entered_at: *stage_entered_at,
            closed_at: *closed_at,
            updated_at: *updated_at,
            version: *version,
        }
    }
}

/// Optional text fields shared by deals and leads.
pub(crate) fn checked_text(
    field: &str,
    raw: Option<&str>,
    invalid: &mut Invalid,
) -> Option<String> {
    validate::optional_text(field, raw, TEXT_MAX, invalid)
}

pub fn check_value(field: &str, value: i64, invalid: &mut Invalid) {
    if value < 0 {
        invalid.push(field, "must not be negative");
    } else if value > VALUE_MAX {
        invalid.push(field, "is too large");
    }
}

fn check_custom(custom: &CustomFields, invalid: &mut Invalid) {
    for key in custom.keys() {
        if key.trim().is_empty() || key.len() > 100 {
            invalid.push("custom", "keys must be 1 to 100 characters");
        }
    }
}

/// A new deal as the API and CLI take it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDeal {
    pub title: String,
    /// The pipeline; optional when `stage_id` is given. Without a stage the deal starts in
    /// the pipeline's first stage.
    #[serde(default)]
    pub pipeline_id: Option<PipelineId>,
    #[serde(default)]
    pub stage_id: Option<StageId>,
    #[serde(default)]
    pub value: i64,
    /// Defaults to the pipeline's currency.
    #[serde(default)]
    pub currency: Option<Currency>,
    /// Defaults to the one creating it.
    #[serde(default)]
    pub owner_id: Option<UserId>,
    #[serde(default)]
    pub person_id: Option<PersonId>,
    #[serde(default)]
    pub organization_id: Option<OrganizationId>,
    #[serde(default)]
    pub expected_close_date: Option<Date>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub campaign: Option<String>,
    #[serde(default)]
    pub custom: CustomFields,
}

impl NewDeal {
    /// Check and normalise what can be checked without the database.
    pub fn validate(mut self) -> Result<Self, Invalid> {
        let mut invalid = Invalid::new();
        self.title = validate::name("title", &self.title, TITLE_MAX, &mut invalid);
        check_value("value", self.value, &mut invalid);
        self.source = checked_text("source", self.source.as_deref(), &mut invalid);
        self.campaign = checked_text("campaign", self.campaign.as_deref(), &mut invalid);
        check_custom(&self.custom, &mut invalid);
        if self.pipeline_id.is_none() && self.stage_id.is_none() {
            invalid.push("pipeline_id", "give a pipeline_id or a stage_id");
        }
        invalid.into_result()?;
        Ok(self)
    }
}

/// A change to a deal's fields. Absent fields stay as they are; `null` clears a nullable
/// field. Stage and status change through their own operations (move, won, lost, reopen).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DealPatch {
    /// The version the change was made against.
    pub version: i64,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub value: Option<i64>,
    #[serde(default)]
    pub currency: Option<Currency>,
    #[serde(default)]
    pub owner_id: Option<UserId>,
    #[serde(default, with = "crate::nullable")]
    pub person_id: Option<Option<PersonId>>,
    #[serde(default, with = "crate::nullable")]
    pub organization_id: Option<Option<OrganizationId>>,
    #[serde(default, with = "crate::nullable")]
    pub expected_close_date: Option<Option<Date>>,
    #[serde(default, with = "crate::nullable")]
    pub source: Option<Option<String>>,
    #[serde(default, with = "crate::nullable")]
    pub campaign: Option<Option<String>>,
    #[serde(default)]
    pub custom: Option<CustomFields>,
}

impl DealPatch {
    /// Apply the patch to a copy of `deal`, checking each changed field.
    pub fn apply(&self, deal: &Deal) -> Result<Deal, Invalid> {
        let mut invalid = Invalid::new();
        let mut next = deal.clone();
        if let Some(title) = &self.title {
            next.title = validate::name("title", title, TITLE_MAX, &mut invalid);
        }
        if let Some(value) = self.value {
            check_value("value", value, &mut invalid);
            next.value = value;
        }
        if let Some(currency) = self.currency {
            next.currency = currency;
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
        if let Some(date) = self.expected_close_date {
            next.expected_close_date = date;
        }
        if let Some(source) = &self.source {
            next.source = checked_text("source", source.as_deref(), &mut invalid);
        }
        if let Some(campaign) = &self.campaign {
            next.campaign = checked_text("campaign", campaign.as_deref(), &mut invalid);
        }
        if let Some(custom) = &self.custom {
            check_custom(custom, &mut invalid);
            next.custom = custom.clone();
        }
        invalid.into_result()?;
        Ok(next)
    }
}

/// The fields that differ between two versions of a deal, as `{field: {from, to}}`, for the
/// event history.
pub fn changes(before: &Deal, after: &Deal) -> serde_json::Map<String, serde_json::Value> {
    let (Ok(serde_json::Value::Object(b)), Ok(serde_json::Value::Object(a))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return serde_json::Map::new();
    };
    const IGNORED: [&str; 3] = ["version", "updated_at", "stage_entered_at"];
    a.into_iter()
        .filter(|(k, v)| !IGNORED.contains(&k.as_str()) && b.get(k) != Some(v))
        .map(|(k, v)| {
            let from = b.get(&k).cloned().unwrap_or(serde_json::Value::Null);
            (k, serde_json::json!({ "from": from, "to": v }))
        })
        .collect()
}

/// Check a reason (lost, disqualified): required, trimmed, bounded.
pub fn check_reason(raw: &str) -> Result<String, Invalid> {
    let mut invalid = Invalid::new();
    let reason = validate::name("reason", raw, REASON_MAX, &mut invalid);
    invalid.into_result()?;
    Ok(reason)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample_deal() -> Deal {
        let at: Timestamp = "2026-01-05T09:00:00Z".parse().unwrap();
        Deal {
            id: DealId::new(),
            title: "Acme renewal".into(),
            pipeline_id: PipelineId::new(),
            stage_id: StageId::new(),
            status: DealStatus::Open,
            value: 0,
            currency: Currency::EUR,
            owner_id: UserId::new(),
            person_id: None,
            organization_id: None,
            expected_close_date: None,
            source: None,
            campaign: None,
            lead_id: None,
            lost_reason: None,
            custom: CustomFields::new(),
            created_at: at,
            cycle_started_at: at,
            stage_entered_at: at,
            closed_at: None,
            updated_at: at,
            version: 1,
        }
    }

    #[test]
    fn new_deals_are_trimmed_and_checked() {
        let bad = NewDeal {
            title: "  ".into(),
            value: -1,
            ..Default::default()
        };
        let err = bad.validate().unwrap_err();
        let fields: Vec<_> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["title", "value", "pipeline_id"]);

        let good = NewDeal {
            title: " Acme ".into(),
            stage_id: Some(StageId::new()),
            source: Some("  ".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(good.title, "Acme");
        assert_eq!(good.source, None);
    }

    #[test]
    fn patches_distinguish_absent_from_null() {
        let mut deal = sample_deal();
        deal.source = Some("Web".into());
        deal.campaign = Some("Spring".into());
        let patch: DealPatch =
            serde_json::from_str(r#"{"version":1,"source":null,"value":900}"#).unwrap();
        let next = patch.apply(&deal).unwrap();
        assert_eq!(next.source, None, "null clears");
        assert_eq!(next.campaign.as_deref(), Some("Spring"), "absent keeps");
        assert_eq!(next.value, 900);
        let diff = changes(&deal, &next);
        assert_eq!(diff.keys().collect::<Vec<_>>(), ["source", "value"]);
        assert_eq!(diff["value"]["from"], 0);
        assert_eq!(diff["value"]["to"], 900);
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_refused() {
        assert!(serde_json::from_str::<DealPatch>(r#"{"version":1,"colour":"red"}"#).is_err());
        assert!(serde_json::from_str::<NewDeal>(r#"{"title":"x","value":"lots"}"#).is_err());
    }

    #[test]
    fn a_created_record_is_the_deal_without_its_empty_fields() {
        let bare = sample_deal();
        let mut full = sample_deal();
        full.person_id = Some(PersonId::new());
        full.organization_id = Some(OrganizationId::new());
        full.expected_close_date = Some("2026-03-31".parse().unwrap());
        full.source = Some("Web".into());
        full.campaign = Some("Spring \"launch\"".into());
        full.lead_id = Some(LeadId::new());
        full.lost_reason = Some("Budget".into());
        full.custom.insert("tier".into(), serde_json::json!(2));
        full.closed_at = Some("2026-02-01T10:30:00.250Z".parse().unwrap());
        full.status = DealStatus::Lost;
        for deal in [bare, full] {
            let mut wanted = serde_json::to_value(&deal).unwrap();
            wanted.as_object_mut().unwrap().retain(|_, v| !v.is_null());
            let record = serde_json::to_value(CreatedRecord::from(&deal)).unwrap();
            assert_eq!(record, wanted);
            // Read back as a deal, an absent field is empty again.
            assert_eq!(serde_json::from_value::<Deal>(record).unwrap(), deal);
        }
        let bare = serde_json::to_string(&CreatedRecord::from(&sample_deal())).unwrap();
        assert!(!bare.contains("null"), "{bare}");
    }
}
