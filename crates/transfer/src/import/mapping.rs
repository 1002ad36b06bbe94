//! How a file's columns become records: field → column, outcome values, the pipeline and its
//! stage order, the default currency, extra null markers. Known CRM exports get one from
//! their headers (see `formats`); any other file is mapped with `--map` flags or a TOML file:
//!
//! ```toml
//! pipeline = "Sales"
//! stages = ["Prospecting", "Engaging"]
//! currency = "USD"
//! null = ["Select"]
//! [fields]
//! title = "opportunity_id"
//! owner = "sales_agent"
//! [status_map]
//! Won = "won"
//! Lost = "lost"
//! [[stage_dates]]
//! stage = "Engaging"
//! column = "engage_date"
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ImportError;

/// What an outcome value in the stage or status column means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Open,
    Won,
    Lost,
}

impl std::str::FromStr for Outcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_lowercase().as_str() {
            "open" => Ok(Outcome::Open),
            "won" => Ok(Outcome::Won),
            "lost" => Ok(Outcome::Lost),
            _ => Err(format!("`{s}` is not open, won or lost")),
        }
    }
}

/// A column holding the instant a deal entered a stage (HubSpot's `Date entered` columns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageDate {
    pub stage: String,
    pub column: String,
    /// The pipeline the stage belongs to, when the file holds several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The recognised format, for the summary and external ids (`pipedrive`, `hubspot`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Field → column header.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// A stage or status value → the outcome it stands for.
    #[serde(default)]
    pub status_map: BTreeMap<String, Outcome>,
    /// The pipeline for every row (created if missing), unless a `pipeline` field is mapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<String>,
    /// The order of stages in a pipeline created by the import.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Cell texts that mean "no value", besides the empty cell.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub null: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stage_dates: Vec<StageDate>,
    /// A column holding each stage's win probability (Salesforce's `Probability (%)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<String>,
    /// Prefix of external ids, so ids of two systems never meet (`pipedrive:123`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_prefix: Option<String>,
}

/// The fields each kind of record can take from a column (besides `custom.NAME`).
pub fn known_fields(kind: super::Kind) -> &'static [&'static str] {
    use super::Kind;
    match kind {
        Kind::Deals => &[
            "title",
            "value",
            "currency",
            "pipeline",
            "stage",
            "status",
            "owner",
            "organization",
            "person",
            "person_email",
            "source",
            "campaign",
            "created_at",
            "closed_at",
            "won_at",
            "lost_at",
            "expected_close_date",
            "lost_reason",
            "external_id",
            "stage_history",
            "cycle_started_at",
            "custom",
        ],
        Kind::Leads => &[
            "title",
            "status",
            "owner",
            "organization",
            "person",
            "person_email",
            "source",
            "campaign",
            "value",
            "currency",
            "created_at",
            "disqualify_reason",
            "external_id",
            "deal",
            "decided_at",
            "custom",
        ],
        Kind::People => &[
            "name",
            "email",
            "phone",
            "organization",
            "owner",
            "external_id",
            "created_at",
        ],
        Kind::Organizations => &["name", "domain", "owner", "external_id", "created_at"],
        Kind::Activities => &[
            "kind",
            "subject",
            "owner",
            "deal",
            "person",
            "organization",
            "due_at",
            "duration_minutes",
            "note",
            "done",
            "done_at",
            "created_at",
            "external_id",
        ],
        // Read by the export's own columns (`PIPELINE_COLUMNS`), not through a mapping.
        Kind::Pipelines => &[],
    }
}

impl Mapping {
    pub fn from_toml(text: &str) -> Result<Mapping, ImportError> {
        toml::from_str(text).map_err(|e| ImportError::Mapping(format!("mapping file: {e}")))
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Lay `other` over this mapping: its entries win.
    pub fn overlay(&mut self, other: Mapping) {
        self.fields.extend(other.fields);
        self.status_map.extend(other.status_map);
        self.stage_dates.extend(other.stage_dates);
        self.null.extend(other.null);
        if other.format.is_some() {
            self.format = other.format;
        }
        if other.pipeline.is_some() {
            self.pipeline = other.pipeline;
        }
        if !other.stages.is_empty() {
            self.stages = other.stages;
        }
        if other.currency.is_some() {
            self.currency = other.currency;
        }
        if other.probability.is_some() {
            self.probability = other.probability;
        }
        if other.external_prefix.is_some() {
            self.external_prefix = other.external_prefix;
        }
    }

    /// Parse `FIELD=COLUMN` flags.
    pub fn add_field_flag(&mut self, flag: &str) -> Result<(), ImportError> {
        let (field, column) = flag.split_once('=').ok_or_else(|| {
            ImportError::Mapping(format!(
                "--map `{flag}`: write FIELD=COLUMN, e.g. title=Name"
            ))
        })?;
        let (field, column) = (field.trim(), column.trim());
        if field.is_empty() || column.is_empty() {
            return Err(ImportError::Mapping(format!(
                "--map `{flag}`: both FIELD and COLUMN are needed"
            )));
        }
        self.fields.insert(field.to_string(), column.to_string());
        Ok(())
    }

    /// Parse `VALUE=open|won|lost` flags.
    pub fn add_status_flag(&mut self, flag: &str) -> Result<(), ImportError> {
        let (value, outcome) = flag.split_once('=').ok_or_else(|| {
            ImportError::Mapping(format!("--status-map `{flag}`: write VALUE=open|won|lost"))
        })?;
        let outcome: Outcome = outcome
            .parse()
            .map_err(|e| ImportError::Mapping(format!("--status-map `{flag}`: {e}")))?;
        self.status_map.insert(value.trim().to_string(), outcome);
        Ok(())
    }

    /// The outcome a stage/status value stands for, if the mapping names it.
    pub fn outcome_of(&self, value: &str) -> Option<Outcome> {
        self.status_map.get(value).copied().or_else(|| {
            self.status_map
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(value))
                .map(|(_, v)| *v)
        })
    }

    /// Check that every mapped field is one the kind knows and every column is in the file.
    pub fn check(&self, kind: super::Kind, headers: &[String]) -> Result<(), ImportError> {
        let known = known_fields(kind);
        for (field, column) in &self.fields {
            if !known.contains(&field.as_str()) && !field.starts_with("custom.") {
                return Err(ImportError::Mapping(format!(
                    "`{field}` is not a field of {kind}; known fields: {}, or custom.NAME",
                    known.join(", ")
                )));
            }
            if field.starts_with("custom.") && field.len() <= "custom.".len() {
                return Err(ImportError::Mapping(
                    "custom fields need a name: custom.NAME".into(),
                ));
            }
            if super::read::Table::column(headers, column).is_none() {
                return Err(ImportError::Mapping(format!(
                    "field `{field}` is mapped to column `{column}`, which the file does not have; its columns are: {}",
                    headers.join(", ")
                )));
            }
        }
        for sd in &self.stage_dates {
            if super::read::Table::column(headers, &sd.column).is_none() {
                return Err(ImportError::Mapping(format!(
                    "the date of stage `{}` is mapped to column `{}`, which the file does not have",
                    sd.stage, sd.column
                )));
            }
        }
        if let Some(c) = &self.currency {
            c.parse::<throughline_core::Currency>().map_err(|_| {
                ImportError::Mapping(format!("`{c}` is not an ISO 4217 currency code"))
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_file_round_trips() {
        let text = r#"
pipeline = "Sales"
stages = ["Prospecting", "Engaging"]
currency = "USD"
null = ["Select"]
[fields]
title = "opportunity_id"
"custom.product" = "product"
[status_map]
Won = "won"
Lost = "lost"
[[stage_dates]]
stage = "Engaging"
column = "engage_date"
"#;
        let m = Mapping::from_toml(text).unwrap();
        assert_eq!(m.fields["custom.product"], "product");
        assert_eq!(m.outcome_of("won"), Some(Outcome::Won));
        assert_eq!(m.stage_dates[0].column, "engage_date");
        assert_eq!(Mapping::from_toml(&m.to_toml()).unwrap(), m);
        assert!(Mapping::from_toml("colour = 1").is_err());
    }

    #[test]
    fn flags() {
        let mut m = Mapping::default();
        m.add_field_flag("title = Name").unwrap();
        assert_eq!(m.fields["title"], "Name");
        assert!(m.add_field_flag("title").is_err());
        m.add_status_flag("Closed Won=won").unwrap();
        assert_eq!(m.outcome_of("closed won"), Some(Outcome::Won));
        assert!(m.add_status_flag("X=maybe").is_err());
    }
}
