//! Stage entry criteria: checklist items a person ticks, and deal fields that must be filled.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::CriterionId;
use crate::deal::Deal;
use crate::validate::{self, Invalid};

pub const LABEL_MAX: usize = 200;

/// Deal fields a stage can require to be filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DealField {
    Value,
    ExpectedCloseDate,
    PersonId,
    OrganizationId,
    Source,
    Campaign,
}

impl DealField {
    pub const ALL: [DealField; 6] = [
        DealField::Value,
        DealField::ExpectedCloseDate,
        DealField::PersonId,
        DealField::OrganizationId,
        DealField::Source,
        DealField::Campaign,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DealField::Value => "value",
            DealField::ExpectedCloseDate => "expected_close_date",
            DealField::PersonId => "person_id",
            DealField::OrganizationId => "organization_id",
            DealField::Source => "source",
            DealField::Campaign => "campaign",
        }
    }

    /// How a person reads the requirement.
    pub fn requirement(self) -> &'static str {
        match self {
            DealField::Value => "Value is set",
            DealField::ExpectedCloseDate => "Expected close date is set",
            DealField::PersonId => "Contact person is linked",
            DealField::OrganizationId => "Organization is linked",
            DealField::Source => "Source is recorded",
            DealField::Campaign => "Campaign is recorded",
        }
    }

    pub fn is_filled(self, deal: &Deal) -> bool {
        match self {
            DealField::Value => deal.value > 0,
            DealField::ExpectedCloseDate => deal.expected_close_date.is_some(),
            DealField::PersonId => deal.person_id.is_some(),
            DealField::OrganizationId => deal.organization_id.is_some(),
            DealField::Source => deal.source.is_some(),
            DealField::Campaign => deal.campaign.is_some(),
        }
    }
}

impl fmt::Display for DealField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DealField {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DealField::ALL
            .into_iter()
            .find(|f| f.as_str() == s.trim())
            .ok_or_else(|| {
                let names: Vec<_> = DealField::ALL.iter().map(|f| f.as_str()).collect();
                format!(
                    "`{s}` is not a deal field a stage can require; use one of {}",
                    names.join(", ")
                )
            })
    }
}

/// A criterion as a user writes it: `{"kind": "checklist", "label": "Budget confirmed"}` or
/// `{"kind": "field", "field": "expected_close_date"}`. When updating a stage, items carrying
/// the `id` of an existing criterion keep it (and the ticks made against it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriterionInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<CriterionId>,
    pub kind: CriterionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl CriterionInput {
    pub fn checklist(label: &str) -> Self {
        Self {
            id: None,
            kind: CriterionKind::Checklist,
            label: Some(label.into()),
            field: None,
        }
    }

    pub fn field(field: DealField) -> Self {
        Self {
            id: None,
            kind: CriterionKind::Field,
            label: None,
            field: Some(field.as_str().into()),
        }
    }
}

/// A checked criterion definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriterionRule {
    pub id: Option<CriterionId>,
    pub kind: CriterionKind,
    pub label: String,
    pub field: Option<DealField>,
}

impl CriterionInput {
    pub fn validate(&self) -> Result<CriterionRule, Invalid> {
        let mut invalid = Invalid::new();
        let rule = match self.kind {
            CriterionKind::Checklist => {
                if self.field.is_some() {
                    invalid.push("field", "is only for criteria of kind `field`");
                }
                let label = validate::name(
                    "label",
                    self.label.as_deref().unwrap_or(""),
                    LABEL_MAX,
                    &mut invalid,
                );
                CriterionRule {
                    id: self.id,
                    kind: CriterionKind::Checklist,
                    label,
                    field: None,
                }
            }
            CriterionKind::Field => {
                let field = match self.field.as_deref().map(str::parse::<DealField>) {
                    Some(Ok(field)) => Some(field),
                    Some(Err(message)) => {
                        invalid.push("field", message);
                        None
                    }
                    None => {
                        invalid.push("field", "is required for criteria of kind `field`");
                        None
                    }
                };
                let label = validate::optional_text(
                    "label",
                    self.label.as_deref(),
                    LABEL_MAX,
                    &mut invalid,
                )
                .or_else(|| field.map(|f| f.requirement().to_string()))
                .unwrap_or_default();
                CriterionRule {
                    id: self.id,
                    kind: CriterionKind::Field,
                    label,
                    field,
                }
            }
        };
        invalid.into_result()?;
        Ok(rule)
    }
}

/// Validate a whole list, naming bad items by index (`criteria[2].label`). The same field
/// required twice is refused: it would show up twice in every unmet list.
pub fn validate_all(inputs: &[CriterionInput]) -> Result<Vec<CriterionRule>, Invalid> {
    let mut invalid = Invalid::new();
    let mut rules = Vec::with_capacity(inputs.len());
    let mut fields = HashSet::new();
    let mut ids = HashSet::new();
    for (i, input) in inputs.iter().enumerate() {
        match input.validate() {
            Ok(rule) => {
                if let Some(field) = rule.field
                    && !fields.insert(field)
                {
                    invalid.push(
                        format!("criteria[{i}].field"),
                        format!("`{field}` is already required"),
                    );
                }
                if let Some(id) = rule.id
                    && !ids.insert(id)
                {
                    invalid.push(format!("criteria[{i}].id"), "appears twice");
                }
                rules.push(rule);
            }
            Err(e) => invalid.extend_prefixed(&format!("criteria[{i}]."), e),
        }
    }
    invalid.into_result()?;
    Ok(rules)
}

/// A stage criterion as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criterion {
    pub id: CriterionId,
    pub kind: CriterionKind,
    /// For a checklist item its text; for a field, the requirement in words.
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<DealField>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CriterionKind {
    Checklist,
    Field,
}

impl CriterionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CriterionKind::Checklist => "checklist",
            CriterionKind::Field => "field",
        }
    }
}

impl Criterion {
    pub fn from_rule(id: CriterionId, rule: &CriterionRule) -> Self {
        Self {
            id,
            kind: rule.kind,
            label: rule.label.clone(),
            field: rule.field,
        }
    }
}

/// One criterion a deal does not meet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmet {
    pub criterion_id: CriterionId,
    pub kind: CriterionKind,
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<DealField>,
}

/// The criteria of a stage that `deal` does not meet, in the stage's order. `checked` holds
/// the checklist items ticked on this deal.
pub fn unmet(criteria: &[Criterion], deal: &Deal, checked: &HashSet<CriterionId>) -> Vec<Unmet> {
    criteria
        .iter()
        .filter(|c| match (c.kind, c.field) {
            (CriterionKind::Checklist, _) => !checked.contains(&c.id),
            (CriterionKind::Field, Some(field)) => !field.is_filled(deal),
            (CriterionKind::Field, None) => false,
        })
        .map(|c| Unmet {
            criterion_id: c.id,
            kind: c.kind,
            label: c.label.clone(),
            field: c.field,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deal::tests::sample_deal;

    #[test]
    fn inputs_parse_from_the_documented_json() {
        let inputs: Vec<CriterionInput> = serde_json::from_str(
            r#"[{"kind":"checklist","label":"Budget confirmed"},{"kind":"field","field":"expected_close_date"}]"#,
        )
        .unwrap();
        let rules = validate_all(&inputs).unwrap();
        assert_eq!(rules[0].label, "Budget confirmed");
        assert_eq!(rules[1].field, Some(DealField::ExpectedCloseDate));
        assert_eq!(rules[1].label, "Expected close date is set");
        assert!(serde_json::from_str::<CriterionInput>(r#"{"kind":"vibe","label":"x"}"#).is_err());
        assert!(
            serde_json::from_str::<CriterionInput>(
                r#"{"kind":"checklist","label":"x","colour":1}"#
            )
            .is_err()
        );
    }

    #[test]
    fn bad_inputs_are_named_by_index() {
        let inputs = vec![
            CriterionInput::checklist("ok"),
            CriterionInput::checklist(" "),
            CriterionInput {
                field: Some("colour".into()),
                ..CriterionInput::field(DealField::Value)
            },
            CriterionInput::field(DealField::Value),
            CriterionInput::field(DealField::Value),
            CriterionInput {
                field: None,
                ..CriterionInput::field(DealField::Value)
            },
        ];
        let err = validate_all(&inputs).unwrap_err();
        let fields: Vec<_> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "criteria[1].label",
                "criteria[2].field",
                "criteria[4].field",
                "criteria[5].field"
            ]
        );
        assert!(err.errors[1].message.contains("expected_close_date"));
    }

    #[test]
    fn unmet_lists_unchecked_items_and_empty_fields() {
        let rule = |input: CriterionInput| {
            Criterion::from_rule(CriterionId::new(), &input.validate().unwrap())
        };
        let budget = rule(CriterionInput::checklist("Budget"));
        let close = rule(CriterionInput::field(DealField::ExpectedCloseDate));
        let value = rule(CriterionInput::field(DealField::Value));
        let criteria = vec![budget.clone(), close.clone(), value];
        let mut deal = sample_deal();
        deal.value = 1000;
        deal.expected_close_date = None;

        let none_checked = unmet(&criteria, &deal, &HashSet::new());
        let labels: Vec<_> = none_checked.iter().map(|u| u.label.as_str()).collect();
        assert_eq!(labels, ["Budget", "Expected close date is set"]);

        let checked = HashSet::from([budget.id]);
        deal.expected_close_date = Some("2026-12-01".parse().unwrap());
        assert!(unmet(&criteria, &deal, &checked).is_empty());
    }
}
