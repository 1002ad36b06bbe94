//! The demo team generator: fills an empty database with a realistic sales team and 18
//! months of its history — two pipelines with written stage criteria, a manager and four
//! reps in two teams, organizations and people, leads from several sources and campaigns,
//! about 3,000 deals that moved through their stages, and the activities around them.
//!
//! Everything is written through the same store operations that real use goes through,
//! each performed by the team member who would have done it, at the simulated instant. The
//! event history, the snapshot spans and every past-dated figure are therefore real: they
//! are what the product would have recorded had the team used it for those months.
//!
//! The inflow is deliberately uneven — a working week, a slower summer, a valley over the
//! late-December holidays and a three-week campaign burst — so that flow analytics have
//! peaks and valleys to find, and reps differ in win rate and pace.
//!
//! Generation is deterministic per seed and end instant: the same options give the same
//! records, values, instants and figures, on SQLite and on PostgreSQL alike. Record ids are
//! UUIDv7 (time-ordered, with random bits) and differ between runs; nothing else does.
//!
//! How it works: `plan` simulates the whole history in memory (pure and fast), producing
//! a script of timed steps in time order; `replay` performs each step through the store
//! as the member who would have done it, at its instant, all in one transaction.
//!
//! Cost: the full scale is about 48,000 store operations. Their time is almost all the
//! store's own queries (sqlx hands each SQLite query to a worker thread); in release mode on
//! two busy cores it took about 7 s on SQLite and 21 s on a local PostgreSQL.
//! `progress` is called every thousand steps so that a terminal can show it.

mod activities;
#[cfg(test)]
mod audit;
mod calendar;
mod flow;
mod intake;
mod life;
mod parties;
mod pipelines;
mod plan;
mod random;
mod replay;
mod script;
mod team;

use jiff::Timestamp;
use throughline_core::Actor;
use throughline_store::deals::DealFilter;
use throughline_store::{Ctx, Store, StoreError, Tx, events, users};

use crate::script::Op;

/// The password of every demo user, so that the web UI can be tried at once. A demo
/// database is for trying the product, never for real data.
pub const DEMO_PASSWORD: &str = "throughline-demo";

/// The seed used when none is given (the CLI's default too).
pub const DEFAULT_SEED: u64 = 7;

/// How much history to make, ending when.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoOptions {
    pub seed: u64,
    /// The history ends here, normally now. Deals still running then are left open.
    pub end: Timestamp,
    /// Calendar months of history before `end` (18 by default).
    pub months: u32,
    /// 1.0 makes about 3,000 deals; organizations, people and leads scale along.
    pub scale: f64,
}

impl DemoOptions {
    /// The default demo: 18 months up to now at full scale.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            end: Timestamp::now(),
            months: 18,
            scale: 1.0,
        }
    }

    fn check(&self) -> Result<(), DemoError> {
        if !(1..=120).contains(&self.months) {
            return Err(DemoError::Invalid {
                field: "months",
                message: "must be between 1 and 120".into(),
            });
        }
        if !(self.scale.is_finite() && (0.01..=10.0).contains(&self.scale)) {
            return Err(DemoError::Invalid {
                field: "scale",
                message: "must be between 0.01 and 10".into(),
            });
        }
        let year = self.end.to_zoned_datetime(jiff::tz::TimeZone::UTC).year();
        if !(1980..=9000).contains(&year) {
            return Err(DemoError::Invalid {
                field: "end",
                message: format!("{} is not a plausible end for a sales history", self.end),
            });
        }
        Ok(())
    }
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self::new(DEFAULT_SEED)
    }
}

/// What was generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    pub users: u64,
    pub teams: u64,
    pub pipelines: u64,
    pub stages: u64,
    pub organizations: u64,
    pub people: u64,
    pub leads: u64,
    pub deals: u64,
    pub won: u64,
    pub lost: u64,
    pub open: u64,
    pub activities: u64,
    /// Events the generation appended to the history (on PostgreSQL, events that other
    /// sessions append meanwhile would be counted too).
    pub events: u64,
    /// The first instant of the simulated history, and its end.
    pub start: Timestamp,
    pub end: Timestamp,
    /// Who can log in: the admin first, then the manager and the reps.
    pub logins: Vec<String>,
    /// The password of every demo login ([`DEMO_PASSWORD`]).
    pub password: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "the database already holds {what}; the demo only fills an empty database (use a new SQLite file or a new PostgreSQL database)"
    )]
    NotEmpty { what: String },

    #[error("invalid demo option `{field}`: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },

    /// The store refused a step of the simulation. Nothing of the demo was committed.
    #[error("the store refused demo step {step} at {at}: {source}")]
    Step {
        step: String,
        at: Timestamp,
        #[source]
        source: StoreError,
    },

    #[error(transparent)]
    Store(#[from] StoreError),

    /// The generator's own plan contradicts itself: a bug in this crate.
    #[error("the demo plan is inconsistent: {0}")]
    Inconsistent(String),
}

/// Steps performed between two progress reports.
const PROGRESS_EVERY: usize = 1_000;

/// Fill `store`, which must hold no pipelines, deals or demo users, with the demo team and
/// its history. `progress(done, total)` is called as steps complete.
///
/// The whole history is written in one transaction: a failure leaves the database as it
/// was, so the command can simply be run again.
pub async fn generate(
    store: &Store,
    opts: &DemoOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<DemoSummary, DemoError> {
    opts.check()?;
    let mut tx = store.read().await?;
    refuse_if_filled(&mut tx).await?;
    let seq_before = last_event(&mut tx).await?;
    drop(tx);

    let plan = plan::build(opts)?;
    let steps = &plan.script.steps;
    let total = steps.len() as u64 + 1;
    progress(0, total);

    let mut tx = store.write().await?;
    // Re-checked under the write lock: another process may have filled it meanwhile.
    refuse_if_filled(&mut tx).await?;
    let roster = team::create(&mut tx, calendar::timestamp(plan.setup), DEMO_PASSWORD).await?;
    let admin = roster.actors[team::ADMIN];
    let boards = pipelines::create(
        &mut tx,
        admin,
        calendar::timestamp(plan.setup + calendar::HOUR),
    )
    .await?;
    progress(1, total);

    let mut replay = replay::Replay::new(&plan, &roster, &boards);
    for (i, step) in steps.iter().enumerate() {
        replay.step(&mut tx, step).await?;
        if (i + 1) % PROGRESS_EVERY == 0 {
            progress(i as u64 + 2, total);
        }
    }
    let seq_after = last_event(&mut tx).await?;
    tx.commit().await?;
    progress(total, total);

    let count = |f: fn(&Op) -> bool| steps.iter().filter(|s| f(&s.op)).count() as u64;
    let deals = count(|op| matches!(op, Op::QualifyLead { .. } | Op::CreateDeal(_)));
    let won = count(|op| matches!(op, Op::Win(_)));
    let lost = count(|op| matches!(op, Op::Lose { .. }));
    Ok(DemoSummary {
        users: roster.actors.len() as u64,
        teams: roster.teams.len() as u64,
        pipelines: boards.len() as u64,
        stages: boards.iter().map(|b| b.stages.len() as u64).sum(),
        organizations: count(|op| matches!(op, Op::CreateOrganization(_))),
        people: count(|op| matches!(op, Op::CreatePerson(_))),
        leads: count(|op| matches!(op, Op::CreateLead(_))),
        deals,
        won,
        lost,
        open: deals - won - lost,
        activities: count(|op| matches!(op, Op::CreateActivity(_))),
        events: (seq_after - seq_before).max(0) as u64,
        start: calendar::timestamp(plan.start),
        end: calendar::timestamp(plan.end),
        logins: team::MEMBERS.iter().map(|m| m.email.to_string()).collect(),
        password: DEMO_PASSWORD.into(),
    })
}

async fn refuse_if_filled(tx: &mut Tx) -> Result<(), DemoError> {
    let pipelines = throughline_store::pipelines::list(tx, true).await?;
    if !pipelines.is_empty() {
        return Err(DemoError::NotEmpty {
            what: format!("{} pipeline(s)", pipelines.len()),
        });
    }
    let ctx = Ctx::new(Actor::SYSTEM, Timestamp::now());
    let filter = DealFilter {
        limit: Some(1),
        ..Default::default()
    };
    if !throughline_store::deals::list(tx, &ctx, &filter)
        .await?
        .items
        .is_empty()
    {
        return Err(DemoError::NotEmpty {
            what: "deals".into(),
        });
    }
    for member in &team::MEMBERS {
        if users::find_by_email(tx, member.email).await?.is_some() {
            return Err(DemoError::NotEmpty {
                what: format!("a user {}", member.email),
            });
        }
    }
    Ok(())
}

/// The sequence number of the newest event (0 when there is none). The store has no count
/// of events, but it pages them by sequence number, so a galloping search over "is there an
/// event after n?" finds the newest in a few dozen one-row reads instead of reading the
/// whole history.
async fn last_event(tx: &mut Tx) -> Result<i64, DemoError> {
    async fn any_after(tx: &mut Tx, seq: i64) -> Result<bool, StoreError> {
        Ok(!events::page(tx, seq, 1).await?.is_empty())
    }
    let mut low = 0;
    if !any_after(tx, low).await? {
        return Ok(0);
    }
    // Invariant: an event exists after `low`, none after `high`.
    let mut high = 1;
    while any_after(tx, high).await? {
        low = high;
        high = high.saturating_mul(2);
    }
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        if any_after(tx, mid).await? {
            low = mid;
        } else {
            high = mid;
        }
    }
    Ok(high)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CLI and the server may run the generation in a spawned task.
    #[allow(dead_code)]
    fn generation_can_move_between_threads(store: &Store, opts: &DemoOptions) {
        fn send<T: Send>(_: T) {}
        send(generate(store, opts, &|_, _| {}));
    }

    #[test]
    fn default_options_make_the_issue_s_demo() {
        let opts = DemoOptions::default();
        assert_eq!(
            (opts.seed, opts.months, opts.scale),
            (DEFAULT_SEED, 18, 1.0)
        );
        assert!(opts.check().is_ok());
        assert!(DEMO_PASSWORD.chars().count() >= throughline_store::users::PASSWORD_MIN);
    }
}
