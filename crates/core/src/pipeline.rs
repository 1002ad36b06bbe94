//! Pipelines and their stages.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::criteria::{Criterion, CriterionInput};
use crate::validate::{self, Invalid};
use crate::{Currency, PipelineId, StageId};

pub const NAME_MAX: usize = 120;
pub const DESCRIPTION_MAX: usize = 4000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pipeline {
    pub id: PipelineId,
    pub name: String,
    /// Figures of the pipeline (snapshot values) are in this currency.
    pub currency: Currency,
    pub archived: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    pub id: StageId,
    pub pipeline_id: PipelineId,
    pub name: String,
    /// 1-based order within the pipeline.
    pub position: i64,
    /// Win probability in percent, 0–100.
    pub probability: i64,
    /// A deal longer than this in the stage is rotting; `None` means never.
    pub rot_days: Option<i64>,
    /// The written entry criterion: what must be true for a deal to be here.
    pub description: Option<String>,
    pub criteria: Vec<Criterion>,
    pub archived: bool,
    pub version: i64,
}

/// Checked stage settings, shared by create and update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageSettings {
    pub name: String,
    pub probability: i64,
    pub rot_days: Option<i64>,
    pub description: Option<String>,
}

impl StageSettings {
    pub fn validate(
        name: &str,
        probability: i64,
        rot_days: Option<i64>,
        description: Option<&str>,
    ) -> Result<Self, Invalid> {
        let mut invalid = Invalid::new();
        let name = validate::name("name", name, NAME_MAX, &mut invalid);
        if !(0..=100).contains(&probability) {
            invalid.push("probability", "must be a whole percentage from 0 to 100");
        }
        if let Some(days) = rot_days
            && !(1..=3650).contains(&days)
        {
            invalid.push(
                "rot_days",
                "must be between 1 and 3650 days, or null for never",
            );
        }
        let description =
            validate::optional_text("description", description, DESCRIPTION_MAX, &mut invalid);
        invalid.into_result()?;
        Ok(Self {
            name,
            probability,
            rot_days,
            description,
        })
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPipeline {
    pub name: String,
    /// Defaults to the installation's default currency.
    #[serde(default)]
    pub currency: Option<Currency>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelinePatch {
    pub version: i64,
    #[serde(default)]
    pub name: Option<String>,
}

pub fn check_pipeline_name(raw: &str) -> Result<String, Invalid> {
    let mut invalid = Invalid::new();
    let name = validate::name("name", raw, NAME_MAX, &mut invalid);
    invalid.into_result()?;
    Ok(name)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewStage {
    pub name: String,
    /// 1-based place in the pipeline; the stages after it move down. Defaults to last.
    #[serde(default)]
    pub position: Option<i64>,
    pub probability: i64,
    #[serde(default)]
    pub rot_days: Option<i64>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub criteria: Vec<CriterionInput>,
}

/// A change to a stage. `criteria`, when given, replaces the list: items with the `id` of
/// an existing criterion keep it; existing criteria left out are retired.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StagePatch {
    pub version: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub probability: Option<i64>,
    #[serde(default, with = "crate::nullable")]
    pub rot_days: Option<Option<i64>>,
    #[serde(default, with = "crate::nullable")]
    pub description: Option<Option<String>>,
    #[serde(default)]
    pub criteria: Option<Vec<CriterionInput>>,
}

/// `value × probability / 100`, rounded half away from zero, in the same minor units.
pub fn weighted_value(value: i64, probability: i64) -> i64 {
    let product = i128::from(value) * i128::from(probability);
    let rounded = if product >= 0 {
        (product + 50) / 100
    } else {
        (product - 50) / 100
    };
    i64::try_from(rounded).unwrap_or(if rounded > 0 { i64::MAX } else { i64::MIN })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_value_rounds_half_away_from_zero() {
        assert_eq!(weighted_value(500_000, 40), 200_000);
        assert_eq!(weighted_value(5, 50), 3);
        assert_eq!(weighted_value(4, 50), 2);
        assert_eq!(weighted_value(-5, 50), -3);
        assert_eq!(weighted_value(1, 0), 0);
    }

    #[test]
    fn stage_settings_name_every_bad_field() {
        let err = StageSettings::validate(" ", 101, Some(0), None).unwrap_err();
        let fields: Vec<_> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "probability", "rot_days"]);
        let ok =
            StageSettings::validate("Qualified", 20, Some(14), Some("  Budget known ")).unwrap();
        assert_eq!(ok.description.as_deref(), Some("Budget known"));
    }
}
