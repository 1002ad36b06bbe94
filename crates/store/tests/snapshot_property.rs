//! Property: for random sequences of deal operations at non-decreasing instants, the snapshot
//! at every instant equals a naive replay of those operations up to that instant, for an admin,
//! a rep and a manager; and the snapshot at now equals the live open deals.
//!
//! The oracle is a model the test keeps itself from the operations it applied (never the
//! store's spans or deltas): per deal, the list of states it went through and when. It also
//! predicts which operations the store must refuse (unmet criteria, stale versions, closing a
//! closed deal, deals the actor may not see, assignments the actor may not make), so a refusal
//! that the store accepts, or the reverse, fails the test just like a wrong figure.
//!
//! Cases: `THROUGHLINE_PROPTEST_CASES` (SQLite, default 128) and
//! `THROUGHLINE_PROPTEST_PG_CASES` (PostgreSQL, default 16), each of up to about 60 ops.
//! Instants land on, just before and just after UTC midnights, and histories cross the 16- and
//! 256-day boundaries, since the store buckets its deltas by UTC day at those three sizes.

mod support;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use jiff::Timestamp;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use support::*;
use throughline_core::criteria::{CriterionInput, DealField};
use throughline_core::deal::{DealPatch, DealStatus, NewDeal};
use throughline_core::pipeline::{NewPipeline, NewStage, Stage, weighted_value};
use throughline_core::snapshot::Snapshot;
use throughline_core::time::MS_PER_DAY;
use throughline_core::{Actor, CriterionId, DealId, PipelineId, Role};
use throughline_store::deals::{self, CloseDeal, DealFilter, MoveDeal};
use throughline_store::{Ctx, Store, StoreError, Tx, pipelines, snapshot, users};

// ---------------------------------------------------------------------------------------
// Generated operations
// ---------------------------------------------------------------------------------------

/// How far the clock moves before an operation. Never backwards.
#[derive(Debug, Clone)]
enum Gap {
    /// The same millisecond as the previous operation.
    Same,
    Millis(i64),
    Seconds(i64),
    /// Exactly the next UTC midnight.
    NextMidnight,
    /// The last millisecond before the next UTC midnight.
    BeforeMidnight,
    /// Whole days plus some milliseconds.
    Days(i64, i64),
    /// Weeks at a time, across month ends.
    Weeks(i64),
}

impl Gap {
    fn apply(&self, t: i64) -> i64 {
        let next_midnight = (t.div_euclid(MS_PER_DAY) + 1) * MS_PER_DAY;
        match *self {
            Gap::Same => t,
            Gap::Millis(ms) => t + ms,
            Gap::Seconds(s) => t + s * 1_000,
            Gap::NextMidnight => next_midnight,
            Gap::BeforeMidnight => next_midnight - 1,
            Gap::Days(d, ms) => t + d * MS_PER_DAY + ms,
            Gap::Weeks(w) => t + w * 7 * MS_PER_DAY,
        }
    }
}

/// Who performs an operation.
#[derive(Debug, Clone, Copy)]
enum Who {
    /// An admin user.
    Admin,
    /// The system actor (admin rights, no user: cannot default an owner).
    System,
    /// Whoever owns the deal at that moment.
    Owner,
    /// Rep A, in the manager's team.
    RepA,
    /// Rep C, in no team.
    RepC,
    Manager,
}

#[derive(Debug, Clone)]
enum Op {
    Create {
        who: Who,
        owner: Option<usize>,
        value: i64,
        stage: Option<usize>,
    },
    Move {
        who: Who,
        deal: usize,
        stage: usize,
        force: bool,
        stale: bool,
    },
    /// Tick or untick the checklist criterion.
    Tick {
        who: Who,
        deal: usize,
        checked: bool,
    },
    /// Try to tick the field criterion: always refused.
    TickField {
        deal: usize,
    },
    /// Set or clear the expected close date (the field criterion).
    CloseDate {
        who: Who,
        deal: usize,
        set: bool,
        stale: bool,
    },
    Update {
        who: Who,
        deal: usize,
        value: Option<i64>,
        owner: Option<usize>,
        stale: bool,
    },
    Win {
        who: Who,
        deal: usize,
        stale: bool,
    },
    Lose {
        who: Who,
        deal: usize,
        with_reason: bool,
        stale: bool,
    },
    Reopen {
        who: Who,
        deal: usize,
        stale: bool,
    },
}

#[derive(Debug, Clone)]
struct Layout {
    probabilities: Vec<i64>,
    /// The stage with a checklist item and the expected-close-date field as entry criteria.
    criteria_stage: usize,
    /// Whether the last stage (when it is not the criteria stage) requires a value.
    value_stage: bool,
}

#[derive(Debug, Clone)]
struct Case {
    layout: Layout,
    start: i64,
    steps: Vec<(Gap, Op)>,
}

fn gap() -> impl Strategy<Value = Gap> {
    prop_oneof![
        2 => Just(Gap::Same),
        2 => (1i64..1_000).prop_map(Gap::Millis),
        3 => (1i64..7_200).prop_map(Gap::Seconds),
        2 => Just(Gap::NextMidnight),
        2 => Just(Gap::BeforeMidnight),
        2 => ((1i64..4), (0i64..MS_PER_DAY)).prop_map(|(d, ms)| Gap::Days(d, ms)),
        1 => (1i64..6).prop_map(Gap::Weeks),
    ]
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        4 => Just(Who::Admin),
        1 => Just(Who::System),
        3 => Just(Who::Owner),
        1 => Just(Who::RepA),
        1 => Just(Who::RepC),
        1 => Just(Who::Manager),
    ]
}

fn value() -> impl Strategy<Value = i64> {
    prop_oneof![
        2 => Just(0i64),
        1 => Just(1i64),
        1 => Just(-5i64),
        6 => 1i64..10_000_000,
    ]
}

/// Mostly fresh versions; sometimes a stale one that must be refused.
fn stale() -> impl Strategy<Value = bool> {
    prop::bool::weighted(0.12)
}

fn create() -> impl Strategy<Value = Op> {
    (
        who(),
        prop::option::weighted(0.7, 0usize..OWNERS),
        value(),
        prop::option::weighted(0.25, 0usize..8),
    )
        .prop_map(|(who, owner, value, stage)| Op::Create {
            who,
            owner,
            value,
            stage,
        })
}

fn op() -> impl Strategy<Value = Op> {
    let deal = 0usize..64;
    let stage = 0usize..8;
    prop_oneof![
        4 => create(),
        6 => (who(), deal.clone(), stage, prop::bool::weighted(0.3), stale())
            .prop_map(|(who, deal, stage, force, stale)| Op::Move { who, deal, stage, force, stale }),
        2 => (who(), deal.clone(), prop::bool::weighted(0.8))
            .prop_map(|(who, deal, checked)| Op::Tick { who, deal, checked }),
        1 => deal.clone().prop_map(|deal| Op::TickField { deal }),
        2 => (who(), deal.clone(), prop::bool::weighted(0.8), stale())
            .prop_map(|(who, deal, set, stale)| Op::CloseDate { who, deal, set, stale }),
        3 => (who(), deal.clone(), prop::option::of(value()), prop::option::of(0usize..OWNERS), stale())
            .prop_map(|(who, deal, value, owner, stale)| Op::Update { who, deal, value, owner, stale }),
        2 => (who(), deal.clone(), stale())
            .prop_map(|(who, deal, stale)| Op::Win { who, deal, stale }),
        2 => (who(), deal.clone(), prop::bool::weighted(0.9), stale())
            .prop_map(|(who, deal, with_reason, stale)| Op::Lose { who, deal, with_reason, stale }),
        2 => (who(), deal, stale())
            .prop_map(|(who, deal, stale)| Op::Reopen { who, deal, stale }),
    ]
}

fn layout() -> impl Strategy<Value = Layout> {
    (3usize..=5)
        .prop_flat_map(|n| {
            (
                prop::collection::vec(
                    prop::sample::select(vec![0i64, 5, 10, 25, 33, 50, 67, 90, 100]),
                    n,
                ),
                1..n,
                any::<bool>(),
            )
        })
        .prop_map(|(probabilities, criteria_stage, value_stage)| Layout {
            probabilities,
            criteria_stage,
            value_stage,
        })
}

fn case(max_ops: usize) -> impl Strategy<Value = Case> {
    // Starts just before a year end, on a leap day's eve, exactly at a midnight, and the
    // evening before day 19,968 (2024-09-02), where the store's 16- and 256-day delta buckets
    // both turn over.
    let starts = vec![
        at("2023-12-31T22:30:00Z"),
        at("2024-02-28T12:00:00Z"),
        at("2024-06-01T00:00:00Z"),
        at("2024-09-01T23:00:00Z"),
    ];
    (
        layout(),
        prop::sample::select(starts),
        prop::collection::vec((gap(), create()), 1..4),
        prop::collection::vec((gap(), op()), 1..max_ops),
    )
        .prop_map(|(layout, start, mut steps, more)| {
            steps.extend(more);
            Case {
                layout,
                start: start.as_millisecond(),
                steps,
            }
        })
}

// ---------------------------------------------------------------------------------------
// The world: users shared by all cases, one fresh pipeline per case
// ---------------------------------------------------------------------------------------

/// Owners a generated op can name, by index: reps A, B, C, the manager and an admin.
const OWNERS: usize = 5;
const REP_A: usize = 0;
const REP_B: usize = 1;
const REP_C: usize = 2;
const MANAGER: usize = 3;
const ADMIN: usize = 4;

struct People {
    admin: Actor,
    /// Indexed by the owner numbers above.
    owners: [Actor; OWNERS],
}

impl People {
    fn actor(&self, who: Who, owner_now: Option<usize>) -> Actor {
        match who {
            Who::Admin => self.admin,
            Who::System => Actor::SYSTEM,
            Who::Owner => owner_now.map_or(self.admin, |o| self.owners[o]),
            Who::RepA => self.owners[REP_A],
            Who::RepC => self.owners[REP_C],
            Who::Manager => self.owners[MANAGER],
        }
    }

    fn owner_index(&self, actor: Actor) -> Option<usize> {
        self.owners
            .iter()
            .position(|a| a.user_id.is_some() && a.user_id == actor.user_id)
    }

    /// What the store's `visible_owner` must say: the manager leads a team of reps A and B.
    /// The admin owner is seen by admins only: it is in no team.
    fn sees(&self, actor: Actor, owner: usize) -> bool {
        match actor.role {
            Role::Admin => true,
            Role::Rep => self.owner_index(actor) == Some(owner),
            Role::Manager => matches!(owner, MANAGER | REP_A | REP_B),
        }
    }
}

async fn people(store: &Store) -> People {
    let admin = add_user(store, "ada@example.com", Role::Admin).await;
    let a = add_user(store, "alex@example.com", Role::Rep).await;
    let b = add_user(store, "bea@example.com", Role::Rep).await;
    let c = add_user(store, "cyd@example.com", Role::Rep).await;
    let m = add_user(store, "max@example.com", Role::Manager).await;
    let mut tx = store.write().await.unwrap();
    let sys = Ctx::system_now();
    let team = users::create_team(&mut tx, &sys, "North", m.user_id)
        .await
        .unwrap();
    for rep in [a, b] {
        users::set_team(&mut tx, &sys, rep.user_id.unwrap(), Some(team.id))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let owners = [a, b, c, m, admin];
    People {
        admin: owners[ADMIN],
        owners,
    }
}

struct Board {
    pipeline: PipelineId,
    stages: Vec<Stage>,
    checklist: CriterionId,
    field: CriterionId,
    layout: Layout,
}

impl Board {
    fn value_stage(&self) -> Option<usize> {
        let last = self.stages.len() - 1;
        (self.layout.value_stage && last != self.layout.criteria_stage).then_some(last)
    }
}

static PIPELINES: AtomicU32 = AtomicU32::new(0);

async fn board(store: &Store, layout: &Layout, start: i64) -> Board {
    let sys = Ctx::new(Actor::SYSTEM, ts(start - MS_PER_DAY));
    let mut tx = store.write().await.unwrap();
    let p = pipelines::create(
        &mut tx,
        &sys,
        NewPipeline {
            name: format!("Sales {}", PIPELINES.fetch_add(1, Ordering::SeqCst)),
            currency: None,
        },
    )
    .await
    .unwrap();
    let last = layout.probabilities.len() - 1;
    let mut stages = vec![];
    for (i, &probability) in layout.probabilities.iter().enumerate() {
        let criteria = if i == layout.criteria_stage {
            vec![
                CriterionInput::checklist("Budget confirmed"),
                CriterionInput::field(DealField::ExpectedCloseDate),
            ]
        } else if i == last && layout.value_stage {
            vec![CriterionInput::field(DealField::Value)]
        } else {
            vec![]
        };
        let stage = pipelines::create_stage(
            &mut tx,
            &sys,
            p.id,
            NewStage {
                name: format!("Stage {i}"),
                probability,
                criteria,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        stages.push(stage);
    }
    tx.commit().await.unwrap();
    let gate = &stages[layout.criteria_stage];
    Board {
        pipeline: p.id,
        checklist: gate.criteria[0].id,
        field: gate.criteria[1].id,
        stages,
        layout: layout.clone(),
    }
}

// ---------------------------------------------------------------------------------------
// The oracle
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct State {
    stage: usize,
    value: i64,
    owner: usize,
    open: bool,
}

#[derive(Debug, Clone)]
struct ModelDeal {
    id: DealId,
    version: i64,
    state: State,
    ticked: bool,
    close_date: bool,
    /// Every state the deal went through, with the instant it began (non-decreasing).
    history: Vec<(i64, State)>,
}

impl ModelDeal {
    /// The deal as it stood at `t`: the last state that began at or before `t`.
    fn at(&self, t: i64) -> Option<State> {
        self.history
            .iter()
            .take_while(|(from, _)| *from <= t)
            .last()
            .map(|(_, s)| *s)
    }

    fn set(&mut self, t: i64, state: State) {
        self.state = state;
        self.history.push((t, state));
    }

    fn version_to_send(&self, stale: bool) -> i64 {
        match (stale, self.version > 1) {
            (false, _) => self.version,
            (true, true) => self.version - 1,
            (true, false) => self.version + 1,
        }
    }
}

/// What the model says an operation must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Applied; the deal's version goes up by one.
    Changed,
    /// Accepted but nothing to change (same stage, same values): no new version.
    Unchanged,
    NotFound,
    Invalid,
    Stale,
    Unmet,
    Conflict,
    Forbidden,
}

fn outcome_of<T>(result: &Result<T, StoreError>) -> Result<(), Outcome> {
    match result {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound { .. }) => Err(Outcome::NotFound),
        Err(StoreError::Invalid(_)) => Err(Outcome::Invalid),
        Err(StoreError::StaleVersion { .. }) => Err(Outcome::Stale),
        Err(StoreError::CriteriaUnmet { .. }) => Err(Outcome::Unmet),
        Err(StoreError::Conflict { .. }) => Err(Outcome::Conflict),
        Err(StoreError::Forbidden { .. }) => Err(Outcome::Forbidden),
        // A database error is never an expected outcome: report it as is.
        Err(other) => panic!("store failed: {other}"),
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Figures {
    count: i64,
    value: i64,
    weighted: i64,
}

/// Per stage (in stage order), what the model says the snapshot at `t` shows to someone who
/// sees the owners `sees` accepts.
fn expected(
    board: &Board,
    model: &[ModelDeal],
    t: i64,
    sees: impl Fn(usize) -> bool,
) -> Vec<Figures> {
    let mut per_stage = vec![Figures::default(); board.stages.len()];
    for deal in model {
        if let Some(s) = deal.at(t).filter(|s| s.open && sees(s.owner)) {
            per_stage[s.stage].count += 1;
            per_stage[s.stage].value += s.value;
        }
    }
    for (figures, stage) in per_stage.iter_mut().zip(&board.stages) {
        figures.weighted = weighted_value(figures.value, stage.probability);
    }
    per_stage
}

fn figures_of(board: &Board, snap: &Snapshot) -> Result<Vec<Figures>, TestCaseError> {
    let ids: Vec<_> = snap.stages.iter().map(|s| s.stage_id).collect();
    let want: Vec<_> = board.stages.iter().map(|s| s.id).collect();
    prop_assert_eq!(ids, want, "the snapshot lists every stage in order");
    Ok(snap
        .stages
        .iter()
        .map(|s| Figures {
            count: s.count,
            value: s.value,
            weighted: s.weighted_value,
        })
        .collect())
}

// ---------------------------------------------------------------------------------------
// Running a case
// ---------------------------------------------------------------------------------------

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).expect("instant in range")
}

struct Run<'a> {
    store: &'a Store,
    people: &'a People,
    board: Board,
    model: Vec<ModelDeal>,
    applied: Cell<usize>,
    refused: Cell<usize>,
    /// How often each kind of op ended each way.
    outcomes: RefCell<BTreeMap<String, usize>>,
}

impl Run<'_> {
    /// Apply one op in its own transaction, check the store did what the model predicts,
    /// and update the model. The transaction is committed even after a refusal: a refused
    /// operation must have written nothing, even to a transaction an importer keeps using.
    async fn apply(&mut self, t: i64, op: &Op) -> Result<(), TestCaseError> {
        let people = self.people;
        let board = &self.board;
        let gate = board.layout.criteria_stage;
        let value_stage = board.value_stage();
        let mut tx = self.store.write().await.unwrap();

        if let Op::Create {
            who,
            owner,
            value,
            stage,
        } = op
        {
            let actor = people.actor(*who, *owner);
            let stage = stage.map(|s| s % board.stages.len());
            let result = deals::create(
                &mut tx,
                &Ctx::new(actor, ts(t)),
                NewDeal {
                    title: format!("Deal {}", self.model.len()),
                    pipeline_id: Some(board.pipeline),
                    stage_id: stage.map(|s| board.stages[s].id),
                    value: *value,
                    owner_id: owner.map(|o| people.owners[o].user_id.unwrap()),
                    ..Default::default()
                },
            )
            .await;
            let owner_index = owner.or_else(|| people.owner_index(actor));
            // A negative value, or the system creating without naming an owner.
            let predicted = if *value < 0 || (owner.is_none() && actor.user_id.is_none()) {
                Outcome::Invalid
            } else if owner_index.is_none_or(|o| !people.sees(actor, o)) {
                Outcome::Forbidden
            } else {
                Outcome::Changed
            };
            self.check(op, predicted, outcome_of(&result))?;
            tx.commit().await.unwrap();
            if let Ok(deal) = result {
                let state = State {
                    stage: stage.unwrap_or(0),
                    value: *value,
                    owner: owner_index.unwrap(),
                    open: true,
                };
                prop_assert_eq!(deal.stage_id, board.stages[state.stage].id);
                self.model.push(ModelDeal {
                    id: deal.id,
                    version: 1,
                    state,
                    ticked: false,
                    close_date: false,
                    history: vec![(t, state)],
                });
            }
            return Ok(());
        }

        if self.model.is_empty() {
            return Ok(()); // nothing to act on yet
        }
        let target = op_deal(op).expect("every other op names a deal") % self.model.len();
        let deal = self.model[target].clone();
        let cur = deal.state;
        let who = op_who(op);
        let actor = people.actor(who, Some(cur.owner));
        let ctx = Ctx::new(actor, ts(t));
        let visible = people.sees(actor, cur.owner);
        let mut next = cur;
        let mut ticked = deal.ticked;
        let mut close_date = deal.close_date;

        let (predicted, result): (Outcome, Result<(), Outcome>) = match op {
            Op::Create { .. } => unreachable!(),
            Op::Move {
                stage,
                force,
                stale,
                ..
            } => {
                let to = stage % board.stages.len();
                let forward = to > cur.stage;
                let unmet = forward
                    && ((to == gate && !(deal.ticked && deal.close_date))
                        || (Some(to) == value_stage && cur.value == 0));
                let predicted = if !visible {
                    Outcome::NotFound
                } else if *stale {
                    Outcome::Stale
                } else if !cur.open {
                    Outcome::Conflict
                } else if to == cur.stage {
                    Outcome::Unchanged
                } else if unmet && !(*force && actor.is_admin()) {
                    if *force {
                        Outcome::Forbidden
                    } else {
                        Outcome::Unmet
                    }
                } else {
                    next.stage = to;
                    Outcome::Changed
                };
                let r = deals::move_to(
                    &mut tx,
                    &ctx,
                    deal.id,
                    MoveDeal {
                        stage_id: board.stages[to].id,
                        version: deal.version_to_send(*stale),
                        force: *force,
                    },
                )
                .await;
                (predicted, outcome_of(&r))
            }
            Op::Tick { checked, .. } => {
                let predicted = if !visible {
                    Outcome::NotFound
                } else if ticked == *checked {
                    Outcome::Unchanged // ticking what is ticked records nothing
                } else {
                    ticked = *checked;
                    Outcome::Changed
                };
                let r = deals::set_check(&mut tx, &ctx, deal.id, board.checklist, *checked).await;
                (predicted, outcome_of(&r))
            }
            Op::TickField { .. } => {
                let predicted = if visible {
                    Outcome::Invalid
                } else {
                    Outcome::NotFound
                };
                let r = deals::set_check(&mut tx, &ctx, deal.id, board.field, true).await;
                (predicted, outcome_of(&r))
            }
            Op::CloseDate { set, stale, .. } => {
                let predicted = if !visible {
                    Outcome::NotFound
                } else if *stale {
                    Outcome::Stale
                } else if *set == deal.close_date {
                    Outcome::Unchanged
                } else {
                    close_date = *set;
                    Outcome::Changed
                };
                let date = set.then(|| "2026-06-30".parse().unwrap());
                let r = deals::update(
                    &mut tx,
                    &ctx,
                    deal.id,
                    DealPatch {
                        version: deal.version_to_send(*stale),
                        expected_close_date: Some(date),
                        ..Default::default()
                    },
                )
                .await;
                (predicted, outcome_of(&r))
            }
            Op::Update {
                value,
                owner,
                stale,
                ..
            } => {
                let predicted = if !visible {
                    Outcome::NotFound
                } else if *stale {
                    Outcome::Stale
                } else if value.is_some_and(|v| v < 0) {
                    Outcome::Invalid
                } else if owner.is_some_and(|o| o != cur.owner && !people.sees(actor, o)) {
                    Outcome::Forbidden
                } else {
                    next.value = value.unwrap_or(cur.value);
                    next.owner = owner.unwrap_or(cur.owner);
                    if next == cur {
                        Outcome::Unchanged
                    } else {
                        Outcome::Changed
                    }
                };
                let r = deals::update(
                    &mut tx,
                    &ctx,
                    deal.id,
                    DealPatch {
                        version: deal.version_to_send(*stale),
                        value: *value,
                        owner_id: owner.map(|o| people.owners[o].user_id.unwrap()),
                        ..Default::default()
                    },
                )
                .await;
                (predicted, outcome_of(&r))
            }
            Op::Win { stale, .. } | Op::Lose { stale, .. } => {
                let lose = matches!(op, Op::Lose { .. });
                let with_reason = !matches!(
                    op,
                    Op::Lose {
                        with_reason: false,
                        ..
                    }
                );
                let predicted = if !with_reason {
                    Outcome::Invalid // the reason is checked before anything else
                } else if !visible {
                    Outcome::NotFound
                } else if *stale {
                    Outcome::Stale
                } else if !cur.open {
                    Outcome::Conflict
                } else {
                    next.open = false;
                    Outcome::Changed
                };
                let body = CloseDeal {
                    reason: (lose && with_reason).then(|| "Went with a competitor".into()),
                    version: Some(deal.version_to_send(*stale)),
                };
                let r = if lose {
                    deals::lose(&mut tx, &ctx, deal.id, body).await
                } else {
                    deals::win(&mut tx, &ctx, deal.id, body).await
                };
                (predicted, outcome_of(&r))
            }
            Op::Reopen { stale, .. } => {
                let predicted = if !visible {
                    Outcome::NotFound
                } else if *stale {
                    Outcome::Stale
                } else if cur.open {
                    Outcome::Conflict
                } else {
                    next.open = true;
                    Outcome::Changed
                };
                let r =
                    deals::reopen(&mut tx, &ctx, deal.id, Some(deal.version_to_send(*stale))).await;
                (predicted, outcome_of(&r))
            }
        };
        self.check(op, predicted, result)?;
        tx.commit().await.unwrap();

        let m = &mut self.model[target];
        if predicted == Outcome::Changed {
            m.version += 1;
            m.ticked = ticked;
            m.close_date = close_date;
            if next != cur {
                m.set(t, next);
            }
        }
        Ok(())
    }

    fn check(
        &self,
        op: &Op,
        predicted: Outcome,
        got: Result<(), Outcome>,
    ) -> Result<(), TestCaseError> {
        let got = got.map_or_else(|e| e, |()| predicted);
        let kind = format!("{op:?}");
        let kind = kind.split([' ', '{']).next().unwrap_or("?");
        *self
            .outcomes
            .borrow_mut()
            .entry(format!("{kind} {predicted:?}"))
            .or_default() += 1;
        match predicted {
            Outcome::Changed | Outcome::Unchanged => {
                prop_assert!(
                    matches!(got, Outcome::Changed | Outcome::Unchanged),
                    "{op:?}: the model accepts it, the store said {got:?}"
                );
                self.applied.set(self.applied.get() + 1);
            }
            refusal => {
                prop_assert_eq!(got, refusal, "{:?}: wrong outcome", op);
                self.refused.set(self.refused.get() + 1);
            }
        }
        Ok(())
    }

    async fn snapshot_as(
        &self,
        tx: &mut Tx,
        actor: Actor,
        t: i64,
    ) -> Result<Vec<Figures>, TestCaseError> {
        let snap = snapshot::snapshot(tx, &Ctx::new(actor, ts(t)), self.board.pipeline, ts(t))
            .await
            .map_err(|e| TestCaseError::fail(format!("snapshot at {}: {e}", ts(t))))?;
        prop_assert_eq!(snap.at, ts(t));
        let figures = figures_of(&self.board, &snap)?;
        let total = figures.iter().fold(Figures::default(), |acc, f| Figures {
            count: acc.count + f.count,
            value: acc.value + f.value,
            weighted: acc.weighted + f.weighted,
        });
        prop_assert_eq!(
            (
                snap.total.count,
                snap.total.value,
                snap.total.weighted_value
            ),
            (total.count, total.value, total.weighted),
            "totals add up"
        );
        Ok(figures)
    }

    /// The snapshot at `t` for an admin, rep A and the manager equals the model's replay.
    async fn check_instant(&self, tx: &mut Tx, t: i64) -> Result<(), TestCaseError> {
        let people = self.people;
        let viewers = [
            ("admin", people.admin),
            ("rep A", people.owners[REP_A]),
            ("manager", people.owners[MANAGER]),
        ];
        for (name, actor) in viewers {
            let got = self.snapshot_as(tx, actor, t).await?;
            let want = expected(&self.board, &self.model, t, |owner| {
                people.sees(actor, owner)
            });
            prop_assert_eq!(got, want, "snapshot at {} seen by {}", ts(t), name);
        }
        Ok(())
    }

    /// The snapshot at now equals the open deals as they are stored, and every stored deal
    /// is what the model says, with one event per version.
    async fn check_live(&self, tx: &mut Tx) -> Result<(), TestCaseError> {
        let admin = Ctx::now(self.people.admin);
        let mut stored = BTreeMap::new();
        let mut cursor = None;
        loop {
            let page = deals::list(
                tx,
                &admin,
                &DealFilter {
                    pipeline_id: Some(self.board.pipeline),
                    cursor,
                    limit: Some(100),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            stored.extend(page.items.into_iter().map(|d| (d.id, d)));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        prop_assert_eq!(
            stored.len(),
            self.model.len(),
            "every created deal is stored"
        );

        let mut live = vec![Figures::default(); self.board.stages.len()];
        for m in &self.model {
            let d = &stored[&m.id];
            let stage = self.board.stages.iter().position(|s| s.id == d.stage_id);
            prop_assert_eq!(stage, Some(m.state.stage), "stage of {}", m.id);
            prop_assert_eq!(d.value, m.state.value);
            prop_assert_eq!(
                d.owner_id,
                self.people.owners[m.state.owner].user_id.unwrap()
            );
            prop_assert_eq!(d.status == DealStatus::Open, m.state.open);
            prop_assert_eq!(d.version, m.version, "version of {}", m.id);
            prop_assert_eq!(d.expected_close_date.is_some(), m.close_date);
            let history = deals::history(tx, &admin, m.id).await.unwrap();
            prop_assert_eq!(
                history.len() as i64,
                m.version,
                "one event per change of {}",
                m.id
            );
            if d.status == DealStatus::Open {
                let f = &mut live[m.state.stage];
                f.count += 1;
                f.value += d.value;
            }
        }
        for (f, stage) in live.iter_mut().zip(&self.board.stages) {
            f.weighted = weighted_value(f.value, stage.probability);
        }
        let now = Timestamp::now().as_millisecond();
        let at_now = self.snapshot_as(tx, self.people.admin, now).await?;
        prop_assert_eq!(at_now, live, "the snapshot at now is the live open deals");
        Ok(())
    }
}

fn op_deal(op: &Op) -> Option<usize> {
    match op {
        Op::Create { .. } => None,
        Op::Move { deal, .. }
        | Op::Tick { deal, .. }
        | Op::TickField { deal }
        | Op::CloseDate { deal, .. }
        | Op::Update { deal, .. }
        | Op::Win { deal, .. }
        | Op::Lose { deal, .. }
        | Op::Reopen { deal, .. } => Some(*deal),
    }
}

fn op_who(op: &Op) -> Who {
    match op {
        Op::TickField { .. } => Who::Admin,
        Op::Create { who, .. }
        | Op::Move { who, .. }
        | Op::Tick { who, .. }
        | Op::CloseDate { who, .. }
        | Op::Update { who, .. }
        | Op::Win { who, .. }
        | Op::Lose { who, .. }
        | Op::Reopen { who, .. } => *who,
    }
}

/// Counts over all cases, to show the generator reaches what it should.
#[derive(Debug, Default)]
struct Coverage {
    cases: usize,
    applied: usize,
    refused: usize,
    instants: usize,
    at_midnight: usize,
    outcomes: BTreeMap<String, usize>,
}

async fn run_case(
    store: &Store,
    people: &People,
    case: &Case,
    coverage: &mut Coverage,
) -> Result<(), TestCaseError> {
    let board = board(store, &case.layout, case.start).await;
    let mut run = Run {
        store,
        people,
        board,
        model: vec![],
        applied: Cell::new(0),
        refused: Cell::new(0),
        outcomes: RefCell::default(),
    };
    let mut t = case.start;
    let mut instants = vec![t - 1];
    for (gap, op) in &case.steps {
        let before = t;
        t = gap.apply(t);
        run.apply(t, op).await?;
        // The present as it is being written agrees with the model right away.
        let mut tx = store.read().await.unwrap();
        let got = run.snapshot_as(&mut tx, people.admin, t).await?;
        drop(tx);
        let want = expected(&run.board, &run.model, t, |_| true);
        prop_assert_eq!(got, want, "snapshot at {} right after {:?}", ts(t), op);

        let day_start = t.div_euclid(MS_PER_DAY) * MS_PER_DAY;
        instants.extend([t, t - 1, before + (t - before) / 2, day_start]);
        if t == day_start {
            coverage.at_midnight += 1;
        }
    }
    instants.extend([t + 1, t + MS_PER_DAY]);
    instants.sort_unstable();
    instants.dedup();

    // With the whole history written, every past instant still replays correctly.
    let mut tx = store.read().await.unwrap();
    for &i in &instants {
        run.check_instant(&mut tx, i).await?;
    }
    run.check_live(&mut tx).await?;
    coverage.cases += 1;
    coverage.applied += run.applied.get();
    coverage.refused += run.refused.get();
    for (k, n) in run.outcomes.take() {
        *coverage.outcomes.entry(k).or_default() += n;
    }
    coverage.instants += instants.len();
    Ok(())
}

fn cases_from_env(var: &str, default: u32) -> u32 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn check_backend(rt: &tokio::runtime::Runtime, db: TestDb, cases: u32, max_ops: usize) {
    let people = rt.block_on(people(&db.store));
    let mut runner = TestRunner::new(Config {
        cases,
        // Failing cases are kept here and replayed first on the next run.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/snapshot_property.proptest-regressions",
        ))),
        max_shrink_iters: 2_000,
        ..Config::default()
    });
    let coverage = RefCell::new(Coverage::default());
    let result = runner.run(&case(max_ops), |case| {
        rt.block_on(run_case(
            &db.store,
            &people,
            &case,
            &mut coverage.borrow_mut(),
        ))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let coverage = coverage.into_inner();
    eprintln!("{coverage:?}");
    // The generator must exercise refusals and midnights, or the property proves little.
    assert!(coverage.applied > coverage.cases, "{coverage:?}");
    assert!(coverage.refused > 0, "{coverage:?}");
    assert!(coverage.at_midnight > 0, "{coverage:?}");
    rt.block_on(db.store.close());
}

#[test]
fn snapshots_replay_the_history_on_sqlite() {
    let rt = runtime();
    let db = rt.block_on(sqlite());
    let cases = cases_from_env("THROUGHLINE_PROPTEST_CASES", 128);
    check_backend(&rt, db, cases, 60);
}

#[test]
fn snapshots_replay_the_history_on_postgres() {
    let rt = runtime();
    let Some(db) = rt.block_on(postgres()) else {
        eprintln!("PostgreSQL leg skipped (THROUGHLINE_SKIP_POSTGRES=1)");
        return;
    };
    let cases = cases_from_env("THROUGHLINE_PROPTEST_PG_CASES", 16);
    check_backend(&rt, db, cases, 60);
}
