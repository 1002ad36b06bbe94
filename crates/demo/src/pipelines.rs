//! The two demo pipelines: each stage with a win probability, a rot limit, its entry
//! criterion written out in plain words and as checklist items and required fields, and the
//! figures the simulation draws a deal's stay from.

use jiff::{SignedDuration, Timestamp};
use throughline_core::activity::ActivityKind;
use throughline_core::criteria::{CriterionInput, DealField};
use throughline_core::pipeline::{NewPipeline, NewStage, Stage};
use throughline_core::{Actor, CriterionId, Currency, PipelineId};
use throughline_store::{Ctx, Tx, pipelines};

use crate::DemoError;

/// One entry requirement of a stage.
#[derive(Clone, Copy)]
pub(crate) enum Need {
    Check(&'static str),
    Field(DealField),
}

pub(crate) struct StageSpec {
    pub name: &'static str,
    pub probability: i64,
    pub rot_days: i64,
    pub description: &'static str,
    pub needs: &'static [Need],
    /// Median days a deal stays before its next step.
    pub median_days: f64,
    /// Chance that the next step is forward (or won, from the last stage) rather than lost.
    pub advance: f64,
    /// Chance that the value is revised when a deal enters (a proposal prices it properly).
    pub reprice: f64,
    /// Chance that the buyer negotiates the value down during the stay.
    pub haggle: f64,
    /// What reps log while a deal sits here.
    pub work: &'static [(ActivityKind, &'static str)],
}

pub(crate) struct PipelineSpec {
    pub name: &'static str,
    pub stages: &'static [StageSpec],
    /// Typical deal value in major units, and the spread of the log-normal around it.
    pub median_value: f64,
    pub value_sigma: f64,
    pub lost_early: &'static [&'static str],
    pub lost_late: &'static [&'static str],
}

pub(crate) const NEW_BUSINESS: usize = 0;
pub(crate) const EXPANSION: usize = 1;

use ActivityKind::{Call, Email, Meeting, Task};
use DealField::{ExpectedCloseDate, OrganizationId, PersonId, Value};
use Need::{Check, Field};

pub(crate) static PIPELINES: [PipelineSpec; 2] = [
    PipelineSpec {
        name: "New business",
        median_value: 9_000.0,
        value_sigma: 0.75,
        lost_early: &[
            "No budget this year",
            "Not a fit for their process",
            "No response after the first call",
            "Timing: revisit next year",
            "Staying with spreadsheets",
        ],
        lost_late: &[
            "Lost to a competitor",
            "Lost to a competitor",
            "Price too high",
            "Decision postponed",
            "Chose to build in-house",
            "Champion left the company",
        ],
        stages: &[
            StageSpec {
                name: "Qualified",
                probability: 10,
                rot_days: 10,
                description: "A named person at a known company has a problem we solve and agreed to a first call.",
                needs: &[Field(OrganizationId), Field(PersonId)],
                median_days: 5.0,
                advance: 0.76,
                reprice: 0.0,
                haggle: 0.0,
                work: &[
                    (Call, "Intro call"),
                    (Email, "Sent intro deck"),
                    (Call, "Booked discovery call"),
                ],
            },
            StageSpec {
                name: "Discovery",
                probability: 20,
                rot_days: 14,
                description: "We have heard how they sell today, what hurts, and who decides. Write it down before moving on.",
                needs: &[
                    Check("Discovery call held"),
                    Check("Current process and pain written down"),
                ],
                median_days: 9.0,
                advance: 0.70,
                reprice: 0.0,
                haggle: 0.0,
                work: &[
                    (Meeting, "Discovery call"),
                    (Email, "Sent discovery notes"),
                    (Call, "Follow-up on current process"),
                ],
            },
            StageSpec {
                name: "Demo",
                probability: 35,
                rot_days: 21,
                description: "The decision maker has seen the product working on their own use case, and we know roughly what it is worth.",
                needs: &[Check("Decision maker attended the demo"), Field(Value)],
                median_days: 12.0,
                advance: 0.70,
                reprice: 0.0,
                haggle: 0.0,
                work: &[
                    (Meeting, "Product demo"),
                    (Email, "Sent demo recording"),
                    (Call, "Demo follow-up"),
                ],
            },
            StageSpec {
                name: "Proposal",
                probability: 50,
                rot_days: 21,
                description: "A written proposal with price and scope is with the buyer, the budget is confirmed and a close date agreed.",
                needs: &[Check("Budget confirmed"), Field(ExpectedCloseDate)],
                median_days: 14.0,
                advance: 0.70,
                reprice: 0.45,
                haggle: 0.0,
                work: &[
                    (Task, "Prepare proposal"),
                    (Email, "Sent proposal"),
                    (Call, "Walked through the proposal"),
                ],
            },
            StageSpec {
                name: "Negotiation",
                probability: 70,
                rot_days: 30,
                description: "The buyer reviewed the proposal with us and we know who signs and how procurement works.",
                needs: &[
                    Check("Proposal reviewed with the buyer"),
                    Check("Procurement and legal contact known"),
                ],
                median_days: 16.0,
                advance: 0.80,
                reprice: 0.0,
                haggle: 0.35,
                work: &[
                    (Meeting, "Negotiation call"),
                    (Email, "Sent revised terms"),
                    (Call, "Procurement check-in"),
                ],
            },
            StageSpec {
                name: "Contract sent",
                probability: 90,
                rot_days: 14,
                description: "Terms are agreed verbally and the order form is out for signature.",
                needs: &[
                    Check("Terms agreed"),
                    Check("Order form sent for signature"),
                ],
                median_days: 12.0,
                advance: 0.88,
                reprice: 0.0,
                haggle: 0.1,
                work: &[
                    (Task, "Prepare order form"),
                    (Email, "Sent order form"),
                    (Call, "Signature follow-up"),
                ],
            },
        ],
    },
    PipelineSpec {
        name: "Expansion",
        median_value: 5_000.0,
        value_sigma: 0.7,
        lost_early: &["Not needed this year", "Budget cut", "Team is shrinking"],
        lost_late: &[
            "Budget cut",
            "Price too high",
            "Lost to a competitor",
            "Decision postponed",
        ],
        stages: &[
            StageSpec {
                name: "Opportunity",
                probability: 20,
                rot_days: 14,
                description: "An existing customer shows a reason to buy more: more users, another team, a higher plan.",
                needs: &[Field(OrganizationId)],
                median_days: 8.0,
                advance: 0.80,
                reprice: 0.0,
                haggle: 0.0,
                work: &[(Call, "Account check-in"), (Email, "Shared usage report")],
            },
            StageSpec {
                name: "Needs confirmed",
                probability: 40,
                rot_days: 21,
                description: "The customer confirmed the need in a usage review and we know who owns the budget.",
                needs: &[
                    Check("Usage review held with the customer"),
                    Field(PersonId),
                ],
                median_days: 12.0,
                advance: 0.76,
                reprice: 0.0,
                haggle: 0.0,
                work: &[(Meeting, "Usage review"), (Email, "Sent expansion options")],
            },
            StageSpec {
                name: "Quote",
                probability: 60,
                rot_days: 21,
                description: "A priced quote is with the customer and a close date agreed.",
                needs: &[
                    Check("Quote approved by the manager"),
                    Field(Value),
                    Field(ExpectedCloseDate),
                ],
                median_days: 14.0,
                advance: 0.80,
                reprice: 0.35,
                haggle: 0.0,
                work: &[
                    (Task, "Prepare quote"),
                    (Email, "Sent quote"),
                    (Call, "Quote follow-up"),
                ],
            },
            StageSpec {
                name: "Commercials agreed",
                probability: 80,
                rot_days: 21,
                description: "The budget owner agreed to price and terms.",
                needs: &[Check("Budget owner agreed to price and terms")],
                median_days: 12.0,
                advance: 0.90,
                reprice: 0.0,
                haggle: 0.25,
                work: &[
                    (Meeting, "Commercial review"),
                    (Email, "Sent updated quote"),
                ],
            },
            StageSpec {
                name: "Signature",
                probability: 95,
                rot_days: 10,
                description: "The order form is out for signature.",
                needs: &[Check("Order form sent")],
                median_days: 10.0,
                advance: 0.93,
                reprice: 0.0,
                haggle: 0.0,
                work: &[(Email, "Sent order form"), (Call, "Signature follow-up")],
            },
        ],
    },
];

/// A pipeline as stored: its id, currency, and each stage with its criteria in the order of
/// the spec's needs.
pub(crate) struct Built {
    pub id: PipelineId,
    pub currency: Currency,
    pub stages: Vec<Stage>,
}

impl Built {
    /// The stored criterion for need `item` of stage `stage`.
    pub fn criterion(&self, stage: usize, item: usize) -> Option<CriterionId> {
        self.stages
            .get(stage)
            .and_then(|s| s.criteria.get(item))
            .map(|c| c.id)
    }
}

fn inputs(needs: &[Need]) -> Vec<CriterionInput> {
    needs
        .iter()
        .map(|need| match *need {
            Check(label) => CriterionInput::checklist(label),
            Field(field) => CriterionInput::field(field),
        })
        .collect()
}

/// Create both pipelines as the admin, in the installation's default currency.
pub(crate) async fn create(
    tx: &mut Tx,
    admin: Actor,
    at: Timestamp,
) -> Result<Vec<Built>, DemoError> {
    let mut built = Vec::with_capacity(PIPELINES.len());
    for (i, spec) in PIPELINES.iter().enumerate() {
        // Apart in time, so that lists ordered by creation show them in this order.
        let ctx = Ctx::new(admin, at + SignedDuration::from_mins(10 * i as i64));
        let pipeline = pipelines::create(
            tx,
            &ctx,
            NewPipeline {
                name: spec.name.into(),
                currency: None,
            },
        )
        .await?;
        let mut stages = Vec::with_capacity(spec.stages.len());
        for stage in spec.stages {
            let created = pipelines::create_stage(
                tx,
                &ctx,
                pipeline.id,
                NewStage {
                    name: stage.name.into(),
                    position: None,
                    probability: stage.probability,
                    rot_days: Some(stage.rot_days),
                    description: Some(stage.description.into()),
                    criteria: inputs(stage.needs),
                },
            )
            .await?;
            if created.criteria.len() != stage.needs.len() {
                return Err(DemoError::Inconsistent(format!(
                    "stage `{}` was stored with {} criteria instead of {}",
                    stage.name,
                    created.criteria.len(),
                    stage.needs.len()
                )));
            }
            stages.push(created);
        }
        built.push(Built {
            id: pipeline.id,
            currency: pipeline.currency,
            stages,
        });
    }
    Ok(built)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stage_has_a_probability_a_rot_limit_and_written_criteria() {
        for pipeline in &PIPELINES {
            assert!(
                (5..=7).contains(&pipeline.stages.len()),
                "{}",
                pipeline.name
            );
            let mut last = 0;
            for stage in pipeline.stages {
                assert!(
                    stage.probability > last,
                    "{}: probabilities rise",
                    stage.name
                );
                last = stage.probability;
                assert!(stage.rot_days > 0);
                assert!(stage.description.len() > 20);
                assert!(!stage.needs.is_empty());
                assert!(!stage.work.is_empty());
                assert!((0.0..1.0).contains(&stage.advance));
            }
            // The first stage's criteria are not checked when a deal is created, so they ask
            // only for what every demo deal has from the start.
            assert!(
                pipeline.stages[0]
                    .needs
                    .iter()
                    .all(|n| matches!(n, Field(OrganizationId | PersonId)))
            );
        }
    }
}
