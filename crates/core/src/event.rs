//! The append-only event history. Codes are stable: they are stored, so never renumber one.

use std::fmt;

use jiff::Timestamp;
use serde::{Serialize, Serializer};

use crate::UserId;

macro_rules! event_kinds {
    ($($variant:ident = $code:literal => $name:literal),+ $(,)?) => {
        /// What happened.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventKind { $($variant),+ }

        impl EventKind {
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant),+];

            pub fn code(self) -> i64 {
                match self { $(EventKind::$variant => $code),+ }
            }

            pub fn from_code(code: i64) -> Option<Self> {
                match code { $($code => Some(EventKind::$variant),)+ _ => None }
            }

            /// Dotted name used in JSON (`deal.stage_changed`).
            pub fn name(self) -> &'static str {
                match self { $(EventKind::$variant => $name),+ }
            }
        }
    };
}

event_kinds! {
    DealCreated = 100 => "deal.created",
    DealUpdated = 101 => "deal.updated",
    DealStageChanged = 102 => "deal.stage_changed",
    DealWon = 103 => "deal.won",
    DealLost = 104 => "deal.lost",
    DealReopened = 105 => "deal.reopened",
    DealCriterionChecked = 106 => "deal.criterion_checked",
    DealCriterionUnchecked = 107 => "deal.criterion_unchecked",
    LeadCreated = 200 => "lead.created",
    LeadUpdated = 201 => "lead.updated",
    LeadQualified = 202 => "lead.qualified",
    LeadDisqualified = 203 => "lead.disqualified",
    LeadReopened = 204 => "lead.reopened",
    PersonCreated = 300 => "person.created",
    PersonUpdated = 301 => "person.updated",
    OrganizationCreated = 400 => "organization.created",
    OrganizationUpdated = 401 => "organization.updated",
    PipelineCreated = 500 => "pipeline.created",
    PipelineUpdated = 501 => "pipeline.updated",
    PipelineArchived = 502 => "pipeline.archived",
    StageCreated = 510 => "stage.created",
    StageUpdated = 511 => "stage.updated",
    StageArchived = 512 => "stage.archived",
    StagesReordered = 513 => "stage.reordered",
    ActivityCreated = 700 => "activity.created",
    ActivityUpdated = 701 => "activity.updated",
    UserCreated = 600 => "user.created",
    UserUpdated = 601 => "user.updated",
    TokenCreated = 610 => "token.created",
}

impl EventKind {
    /// The kind of record the event is about.
    pub fn entity(self) -> &'static str {
        let name = self.name();
        name.split('.').next().unwrap_or(name)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for EventKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Position in the history; later events have larger numbers.
    pub seq: i64,
    pub at: Timestamp,
    /// `None` when the system acted (CLI, import without a named user).
    pub actor_id: Option<UserId>,
    pub kind: EventKind,
    pub code: i64,
    pub entity: &'static str,
    pub entity_id: String,
    /// What changed: `before`/`after` values or `{field: {from, to}}`.
    pub data: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_and_names_are_unique_and_round_trip() {
        let codes: HashSet<_> = EventKind::ALL.iter().map(|k| k.code()).collect();
        let names: HashSet<_> = EventKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(codes.len(), EventKind::ALL.len());
        assert_eq!(names.len(), EventKind::ALL.len());
        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_code(kind.code()), Some(*kind));
        }
        assert_eq!(EventKind::DealStageChanged.entity(), "deal");
        assert_eq!(EventKind::from_code(9999), None);
    }
}
