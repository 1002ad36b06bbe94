//! Typed identifiers: a `DealId` cannot be passed where a `StageId` is expected.
//!
//! Ids are UUIDv7 (time-ordered), so sorting by id is sorting by creation time and cursor
//! pagination by id is stable.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// A time-ordered id for a record created at `at` (used when importing or
            /// generating history, so ids keep sorting by creation time).
            pub fn at(at: jiff::Timestamp) -> Self {
                let ms = at.as_millisecond().max(0) as u64;
                let ts = uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, ((ms % 1000) * 1_000_000) as u32);
                Self(Uuid::new_v7(ts))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    )+};
}

typed_id!(
    /// A user of the product (admin, manager or rep).
    UserId,
    /// A team of users, led by a manager.
    TeamId,
    /// A pipeline: an ordered list of stages.
    PipelineId,
    /// A stage of a pipeline.
    StageId,
    /// One entry criterion of a stage.
    CriterionId,
    /// A deal moving through a pipeline.
    DealId,
    /// A lead: a prospect not yet qualified into a deal.
    LeadId,
    /// A person (contact).
    PersonId,
    /// An organization (company).
    OrganizationId,
    /// An API token.
    TokenId,
    /// An activity (call, meeting, task, email, deadline).
    ActivityId,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text() {
        let id = DealId::new();
        let parsed: DealId = id.to_string().parse().unwrap();
        assert_eq!(id, parsed);
    }

    #[test]
    fn ids_made_for_an_instant_sort_by_that_instant() {
        let early = DealId::at(jiff::Timestamp::from_millisecond(1_000_000).unwrap());
        let late = DealId::at(jiff::Timestamp::from_millisecond(2_000_000).unwrap());
        assert!(early < late);
        assert!(early.to_string() < late.to_string());
    }

    #[test]
    fn garbage_is_not_an_id() {
        assert!("not-a-uuid".parse::<DealId>().is_err());
    }
}
