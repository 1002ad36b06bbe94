//! Activities: the calls, meetings, tasks, e-mails and deadlines that keep deals moving.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::validate::{self, Invalid};
use crate::{ActivityId, DealId, LeadId, OrganizationId, PersonId, UserId};

pub const SUBJECT_MAX: usize = 200;
pub const NOTE_MAX: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivityKind {
    Call,
    Meeting,
    Task,
    Email,
    Deadline,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 5] = [
        ActivityKind::Call,
        ActivityKind::Meeting,
        ActivityKind::Task,
        ActivityKind::Email,
        ActivityKind::Deadline,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Call => "call",
            ActivityKind::Meeting => "meeting",
            ActivityKind::Task => "task",
            ActivityKind::Email => "email",
            ActivityKind::Deadline => "deadline",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ActivityKind::Call => "Call",
            ActivityKind::Meeting => "Meeting",
            ActivityKind::Task => "Task",
            ActivityKind::Email => "E-mail",
            ActivityKind::Deadline => "Deadline",
        }
    }
}

impl fmt::Display for ActivityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ActivityKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ActivityKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                format!("`{s}` is not an activity kind: use call, meeting, task, email or deadline")
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub id: ActivityId,
    pub kind: ActivityKind,
    pub subject: String,
    pub owner_id: UserId,
    pub deal_id: Option<DealId>,
    pub lead_id: Option<LeadId>,
    pub person_id: Option<PersonId>,
    pub organization_id: Option<OrganizationId>,
    pub due_at: Option<Timestamp>,
    pub duration_minutes: Option<i64>,
    pub note: Option<String>,
    pub done: bool,
    pub done_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewActivity {
    pub kind: ActivityKind,
    pub subject: String,
    #[serde(default)]
    pub owner_id: Option<UserId>,
    #[serde(default)]
    pub deal_id: Option<DealId>,
    #[serde(default)]
    pub lead_id: Option<LeadId>,
    #[serde(default)]
    pub person_id: Option<PersonId>,
    #[serde(default)]
    pub organization_id: Option<OrganizationId>,
    #[serde(default)]
    pub due_at: Option<Timestamp>,
    #[serde(default)]
    pub duration_minutes: Option<i64>,
    #[serde(default)]
    pub note: Option<String>,
    /// Log an activity that already happened.
    #[serde(default)]
    pub done: bool,
}

fn check_duration(minutes: Option<i64>, invalid: &mut Invalid) {
    if let Some(m) = minutes
        && !(0..=24 * 60 * 7).contains(&m)
    {
        invalid.push("duration_minutes", "must be between 0 and 10080 (a week)");
    }
}

impl NewActivity {
    pub fn validate(mut self) -> Result<Self, Invalid> {
        let mut invalid = Invalid::new();
        self.subject = validate::name("subject", &self.subject, SUBJECT_MAX, &mut invalid);
        self.note = validate::optional_text("note", self.note.as_deref(), NOTE_MAX, &mut invalid);
        check_duration(self.duration_minutes, &mut invalid);
        invalid.into_result()?;
        Ok(self)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityPatch {
    pub version: i64,
    #[serde(default)]
    pub kind: Option<ActivityKind>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub owner_id: Option<UserId>,
    #[serde(default, with = "crate::nullable")]
    pub due_at: Option<Option<Timestamp>>,
    #[serde(default, with = "crate::nullable")]
    pub duration_minutes: Option<Option<i64>>,
    #[serde(default, with = "crate::nullable")]
    pub note: Option<Option<String>>,
    /// Mark done (true) or not done (false).
    #[serde(default)]
    pub done: Option<bool>,
}

impl ActivityPatch {
    /// Apply to a copy; `now` stamps `done_at` when the activity becomes done.
    pub fn apply(&self, a: &Activity, now: Timestamp) -> Result<Activity, Invalid> {
        let mut invalid = Invalid::new();
        let mut next = a.clone();
        if let Some(kind) = self.kind {
            next.kind = kind;
        }
        if let Some(subject) = &self.subject {
            next.subject = validate::name("subject", subject, SUBJECT_MAX, &mut invalid);
        }
        if let Some(owner) = self.owner_id {
            next.owner_id = owner;
        }
        if let Some(due) = self.due_at {
            next.due_at = due;
        }
        if let Some(minutes) = self.duration_minutes {
            check_duration(minutes, &mut invalid);
            next.duration_minutes = minutes;
        }
        if let Some(note) = &self.note {
            next.note = validate::optional_text("note", note.as_deref(), NOTE_MAX, &mut invalid);
        }
        if let Some(done) = self.done {
            if done && !a.done {
                next.done_at = Some(now);
            }
            if !done {
                next.done_at = None;
            }
            next.done = done;
        }
        invalid.into_result()?;
        Ok(next)
    }
}
