//! The pipeline at an instant: per stage, the open deals' count, value and weighted value.
//!
//! Definition (DESIGN.md): deals created at or before T and not closed at or before T, each in
//! the stage it was in at T. Values are in minor units of the pipeline's currency; weighted
//! value is value × the stage's probability ÷ 100, per stage.

use std::collections::HashMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::pipeline::{Stage, weighted_value};
use crate::{Currency, PipelineId, StageId};

/// Count and summed value of the deals in one stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub count: i64,
    pub value: i64,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.count += other.count;
        self.value += other.value;
    }

    pub fn sub(&mut self, other: Tally) {
        self.count -= other.count;
        self.value -= other.value;
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotStage {
    pub stage_id: StageId,
    pub name: String,
    pub position: i64,
    pub probability: i64,
    pub count: i64,
    pub value: i64,
    pub weighted_value: i64,
    /// True for a stage archived since: shown only when deals were in it at that instant.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub archived: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotTotal {
    pub count: i64,
    pub value: i64,
    pub weighted_value: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub pipeline_id: PipelineId,
    pub at: Timestamp,
    pub currency: Currency,
    pub stages: Vec<SnapshotStage>,
    pub total: SnapshotTotal,
}

/// Lay the tallies out over the pipeline's stages, in stage order. Active stages always
/// appear (with zeros); archived ones only if they held deals at that instant.
pub fn assemble(
    pipeline_id: PipelineId,
    currency: Currency,
    at: Timestamp,
    stages: &[Stage],
    tallies: &HashMap<StageId, Tally>,
) -> Snapshot {
    let mut ordered: Vec<&Stage> = stages.iter().collect();
    ordered.sort_by_key(|s| (s.position, s.id));
    let mut total = SnapshotTotal::default();
    let rows = ordered
        .into_iter()
        .filter_map(|stage| {
            let tally = tallies.get(&stage.id).copied().unwrap_or_default();
            if stage.archived && tally.count == 0 {
                return None;
            }
            let weighted = weighted_value(tally.value, stage.probability);
            total.count += tally.count;
            total.value += tally.value;
            total.weighted_value += weighted;
            Some(SnapshotStage {
                stage_id: stage.id,
                name: stage.name.clone(),
                position: stage.position,
                probability: stage.probability,
                count: tally.count,
                value: tally.value,
                weighted_value: weighted,
                archived: stage.archived,
            })
        })
        .collect();
    Snapshot {
        pipeline_id,
        at,
        currency,
        stages: rows,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(name: &str, position: i64, probability: i64, archived: bool) -> Stage {
        Stage {
            id: StageId::new(),
            pipeline_id: PipelineId::new(),
            name: name.into(),
            position,
            probability,
            rot_days: None,
            description: None,
            criteria: vec![],
            archived,
            version: 1,
        }
    }

    #[test]
    fn stages_come_in_order_with_weighted_values_and_totals() {
        let lead_in = stage("Lead in", 1, 10, false);
        let proposal = stage("Proposal", 2, 50, false);
        let old = stage("Old", 3, 70, true);
        let gone = stage("Gone", 4, 90, true);
        let tallies = HashMap::from([
            (
                proposal.id,
                Tally {
                    count: 2,
                    value: 1_000,
                },
            ),
            (
                old.id,
                Tally {
                    count: 1,
                    value: 10,
                },
            ),
        ]);
        let snap = assemble(
            PipelineId::new(),
            Currency::EUR,
            Timestamp::UNIX_EPOCH,
            &[proposal.clone(), gone, old.clone(), lead_in.clone()],
            &tallies,
        );
        let names: Vec<_> = snap.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["Lead in", "Proposal", "Old"],
            "empty archived stages are left out"
        );
        assert_eq!(snap.stages[0].count, 0);
        assert_eq!(snap.stages[1].weighted_value, 500);
        assert_eq!(snap.stages[2].weighted_value, 7);
        assert_eq!(
            snap.total,
            SnapshotTotal {
                count: 3,
                value: 1_010,
                weighted_value: 507
            }
        );
    }
}
