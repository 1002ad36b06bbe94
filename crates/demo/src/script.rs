//! The plan of the simulated past as a script: records to create, and timed steps that each
//! name one store operation and who performs it.
//!
//! Planning is pure and deterministic; only the replay touches the database. Steps refer to
//! records by their index in the plan because ids exist only once the store has created them.

use jiff::civil::Date;
use throughline_core::activity::ActivityKind;

use crate::calendar::{MINUTE, Ms};

/// Who performs a step: the system (an integration such as the web form) or a team member
/// (an index into [`crate::team::MEMBERS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Who {
    System,
    Member(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    CreateOrganization(usize),
    CreatePerson(usize),
    CreateLead(usize),
    /// The acting rep takes an unassigned lead from the inbox.
    ClaimLead(usize),
    QualifyLead {
        lead: usize,
        deal: usize,
    },
    DisqualifyLead {
        lead: usize,
        reason: &'static str,
    },
    /// A deal created directly, not from a lead.
    CreateDeal(usize),
    Tick {
        deal: usize,
        stage: usize,
        item: usize,
    },
    /// Value in major units of the pipeline's currency.
    SetValue {
        deal: usize,
        value: i64,
    },
    SetCloseDate {
        deal: usize,
        date: Date,
    },
    Reassign {
        deal: usize,
        to: usize,
    },
    Move {
        deal: usize,
        stage: usize,
    },
    Win(usize),
    Lose {
        deal: usize,
        reason: &'static str,
    },
    CreateActivity(usize),
    CompleteActivity(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Step {
    pub at: Ms,
    pub who: Who,
    pub op: Op,
}

pub(crate) struct LeadPlan {
    pub title: String,
    pub owner: Option<usize>,
    pub org: usize,
    pub person: usize,
    pub source: &'static str,
    pub campaign: Option<String>,
    /// Estimated value in major units, when the lead came with one.
    pub value: Option<i64>,
}

pub(crate) struct DealPlan {
    pub pipeline: usize,
    pub title: String,
    pub owner: usize,
    pub org: usize,
    pub person: usize,
    /// Value in major units at creation (0 when not yet known).
    pub value: i64,
    pub source: Option<&'static str>,
    pub campaign: Option<String>,
}

pub(crate) struct ActivityPlan {
    pub kind: ActivityKind,
    pub subject: String,
    pub owner: usize,
    pub deal: usize,
    pub person: usize,
    pub due: Ms,
    pub minutes: Option<i64>,
    /// Logged as done when created (work that already happened).
    pub done: bool,
}

/// The steps and the records they create, in the order they are planned.
#[derive(Default)]
pub(crate) struct Script {
    pub steps: Vec<Step>,
    pub leads: Vec<LeadPlan>,
    pub deals: Vec<DealPlan>,
    pub activities: Vec<ActivityPlan>,
}

impl Script {
    pub fn push(&mut self, at: Ms, who: Who, op: Op) {
        self.steps.push(Step { at, who, op });
    }

    pub fn lead(&mut self, lead: LeadPlan) -> usize {
        self.leads.push(lead);
        self.leads.len() - 1
    }

    pub fn deal(&mut self, deal: DealPlan) -> usize {
        self.deals.push(deal);
        self.deals.len() - 1
    }

    pub fn activity(&mut self, activity: ActivityPlan) -> usize {
        self.activities.push(activity);
        self.activities.len() - 1
    }

    /// Put every step in time order. The sort is stable, and each record's steps were
    /// planned in its own time order, so ties keep a record's steps in sequence.
    pub fn sort(&mut self) {
        self.steps.sort_by_key(|s| s.at);
    }
}

/// One record's own clock: each of its steps comes at least a minute after the previous,
/// and none at or after the end of the history. Once a step would fall past the end, the
/// record stops there, as it stood at the end.
pub(crate) struct Timeline {
    cursor: Ms,
    end: Ms,
    stopped: bool,
}

impl Timeline {
    pub fn new(start: Ms, end: Ms) -> Self {
        Self {
            cursor: start,
            end,
            stopped: start >= end,
        }
    }

    pub fn now(&self) -> Ms {
        self.cursor
    }

    /// The instant for a step wanted at `want`, or `None` when the record has stopped.
    pub fn next(&mut self, want: Ms) -> Option<Ms> {
        if self.stopped {
            return None;
        }
        let at = want.max(self.cursor + MINUTE);
        if at >= self.end {
            self.stopped = true;
            return None;
        }
        self.cursor = at;
        Some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeline_never_goes_back_and_stops_at_the_end() {
        let mut line = Timeline::new(1_000_000, 10_000_000);
        assert_eq!(line.next(5_000_000), Some(5_000_000));
        assert_eq!(line.next(4_000_000), Some(5_000_000 + MINUTE));
        assert_eq!(line.next(10_000_000), None);
        assert_eq!(line.next(6_000_000), None, "a stopped record stays stopped");
    }
}
