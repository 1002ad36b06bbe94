//! A deal's life: stage by stage, how long it sits, what the rep does meanwhile, whether
//! it moves on, slips back, is won or is lost — planned as the steps a rep would take.
//!
//! Before each forward move the rep first meets the target stage's entry criteria (ticks
//! its checklist, fills the fields it requires), because the store refuses the move
//! otherwise. Each stay is planned as a handful of timed beats, put in time order and then
//! played through the deal's own [`Timeline`], so a deal's steps are always chronological
//! and stop at the end of the history, leaving the deal open where it stood.

use jiff::civil::Date;
use throughline_core::activity::ActivityKind;
use throughline_core::criteria::DealField;

use crate::activities;
use crate::calendar::{self, DAY, HOUR, MINUTE, Ms, date_of, working};
use crate::pipelines::{Need, PipelineSpec};
use crate::random::{self, Rng};
use crate::script::{ActivityPlan, Op, Script, Timeline, Who};
use crate::team::{self, MANAGER, MEMBERS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Won(Ms),
    Lost(Ms),
    Open,
}

/// How a value change is worked out when it happens (not when it is planned), so that
/// changes planned in different passes apply to the value the deal has by then.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Reprice {
    /// Put a first estimate on a deal that has none.
    Estimate,
    Scale(f64),
}

/// One planned thing in a stay.
#[derive(Debug, Clone)]
pub(crate) enum Beat {
    /// Work that happened, logged as a done activity.
    Log(ActivityKind, &'static str),
    /// An activity scheduled for later; `slot` pairs it with its [`Beat::Complete`].
    Schedule {
        slot: usize,
        kind: ActivityKind,
        subject: &'static str,
        due: Ms,
        minutes: i64,
    },
    Complete(usize),
    Tick(usize, usize),
    Value(Reprice),
    CloseDate(Date),
    /// Agree a close date `days` ahead, unless the deal already has one.
    AgreeCloseDate(i64),
    Reassign(usize),
}

enum Next {
    Forward(usize),
    Back(usize),
    Won,
    Lost(&'static str),
}

/// What the deal is when it starts.
pub(crate) struct Start {
    pub deal: usize,
    pub owner: usize,
    pub person: usize,
    pub org_name: String,
    /// Major units; 0 when nobody has estimated it yet.
    pub value: i64,
    /// What the deal is really worth: the first estimate, when one is made.
    pub latent: i64,
    pub created: Ms,
}

pub(crate) struct Life {
    spec: &'static PipelineSpec,
    deal: usize,
    owner: usize,
    person: usize,
    org_name: String,
    value: i64,
    latent: i64,
    close: Option<Date>,
    stage: usize,
    entered: Vec<bool>,
    ticked: Vec<Vec<bool>>,
    backed: bool,
    reassign_at: Option<Ms>,
    slots: Vec<Option<usize>>,
    line: Timeline,
    end: Ms,
}

const DARK: &str = "Went dark";

/// Round to a hundred, never below a hundred: prices are quoted in round figures.
pub(crate) fn round_value(value: f64) -> i64 {
    ((value / 100.0).round() as i64).max(1) * 100
}

impl Life {
    pub fn new(spec: &'static PipelineSpec, start: Start, end: Ms, rng: &mut Rng) -> Self {
        let reassign_at = random::chance(rng, 0.04)
            .then(|| start.created + (random::between(rng, 3.0, 60.0) * DAY as f64) as Ms);
        Self {
            spec,
            deal: start.deal,
            owner: start.owner,
            person: start.person,
            org_name: start.org_name,
            value: start.value,
            latent: start.latent,
            close: None,
            stage: 0,
            entered: spec
                .stages
                .iter()
                .enumerate()
                .map(|(i, _)| i == 0)
                .collect(),
            ticked: spec
                .stages
                .iter()
                .map(|s| vec![false; s.needs.len()])
                .collect(),
            backed: false,
            reassign_at,
            slots: Vec::new(),
            line: Timeline::new(start.created, end),
            end,
        }
    }

    /// Plan the whole life into `script`; the deal's creation step is the caller's.
    pub fn run(mut self, rng: &mut Rng, script: &mut Script) -> Outcome {
        loop {
            if let Some(outcome) = self.stay(rng, script) {
                return outcome;
            }
        }
    }

    fn stay(&mut self, rng: &mut Rng, script: &mut Script) -> Option<Outcome> {
        let stages = self.spec.stages;
        let here = &stages[self.stage];
        let member = &MEMBERS[self.owner];
        let t = self.line.now();
        let last = self.stage + 1 == stages.len();

        let mut days = random::log_normal(rng, here.median_days * member.pace, 0.75);
        let next = if !last && random::chance(rng, 0.035) {
            days *= random::between(rng, 2.5, 5.0);
            Next::Lost(DARK)
        } else if random::chance(rng, (here.advance * member.skill).min(0.97)) {
            if last {
                Next::Won
            } else if self.stage >= 2
                && !self.backed
                && self.entered[self.stage - 1]
                && random::chance(rng, 0.07)
            {
                Next::Back(self.stage - 1)
            } else if self.stage + 2 < stages.len() && random::chance(rng, 0.05) {
                Next::Forward(self.stage + 2)
            } else {
                Next::Forward(self.stage + 1)
            }
        } else {
            days *= 1.3;
            let reasons = if self.stage < 2 {
                self.spec.lost_early
            } else {
                self.spec.lost_late
            };
            let reason = *random::pick(rng, reasons);
            Next::Lost(reason)
        };
        let mut leave = working(t + (days * DAY as f64) as Ms, rng);
        if matches!(next, Next::Won) {
            leave = quarter_end_pull(t, leave, rng);
        }
        let open = leave >= self.end - HOUR;
        let horizon = if open { self.end } else { leave };

        let mut beats: Vec<(Ms, Beat)> = Vec::new();
        activities::work(here, t, horizon, rng, &mut self.slots, &mut beats);
        self.close_date_pushes(t, horizon, rng, &mut beats);
        if random::chance(rng, here.haggle) {
            let at = uniform(rng, t, horizon);
            beats.push((
                at,
                Beat::Value(Reprice::Scale(random::between(rng, 0.8, 0.95))),
            ));
        }
        if let Some(at) = self.reassign_at.filter(|r| (t..horizon).contains(r)) {
            let mates: Vec<usize> = MEMBERS[self.owner]
                .team
                .map(team::reps_of)
                .unwrap_or_default()
                .into_iter()
                .filter(|m| *m != self.owner)
                .collect();
            if !mates.is_empty() {
                beats.push((at, Beat::Reassign(*random::pick(rng, &mates))));
            }
        }
        if open {
            self.work_in_progress(t, rng, &mut beats);
            activities::next_step(here, t, self.end, rng, &mut self.slots, &mut beats);
        } else {
            match next {
                Next::Forward(target) => self.prepare(target, t, leave, rng, &mut beats),
                Next::Won if random::chance(rng, 0.15) => {
                    let at = uniform(rng, t.max(leave - 2 * DAY), leave);
                    let factor = random::between(rng, 0.9, 1.15);
                    beats.push((at, Beat::Value(Reprice::Scale(factor))));
                }
                _ => {}
            }
        }

        beats.sort_by_key(|(at, _)| *at);
        for (at, beat) in beats {
            if !self.play(at, beat, script) {
                return Some(Outcome::Open);
            }
        }
        if open {
            return Some(Outcome::Open);
        }
        let Some(at) = self.line.next(leave) else {
            return Some(Outcome::Open);
        };
        let who = Who::Member(self.owner);
        let deal = self.deal;
        match next {
            Next::Forward(stage) | Next::Back(stage) => {
                if matches!(next, Next::Back(_)) {
                    self.backed = true;
                }
                script.push(at, who, Op::Move { deal, stage });
                self.stage = stage;
                self.entered[stage] = true;
                None
            }
            Next::Won => {
                script.push(at, who, Op::Win(deal));
                Some(Outcome::Won(at))
            }
            Next::Lost(reason) => {
                script.push(at, who, Op::Lose { deal, reason });
                Some(Outcome::Lost(at))
            }
        }
    }

    /// Meet the entry criteria of `target` in the last days before the move, as a rep
    /// would: tick what was done, agree a close date, put a value on the deal.
    fn prepare(
        &mut self,
        target: usize,
        t: Ms,
        leave: Ms,
        rng: &mut Rng,
        beats: &mut Vec<(Ms, Beat)>,
    ) {
        let from = t.max(leave - 3 * DAY);
        let stage = &self.spec.stages[target];
        for (item, need) in stage.needs.iter().enumerate() {
            let at = uniform(rng, from, leave);
            match need {
                Need::Check(_) if !self.ticked[target][item] => {
                    self.ticked[target][item] = true;
                    beats.push((at, Beat::Tick(target, item)));
                }
                Need::Field(DealField::Value) => beats.push((at, Beat::Value(Reprice::Estimate))),
                Need::Field(DealField::ExpectedCloseDate) => {
                    // Reps are optimistic: the date agreed is sooner than the stages left
                    // usually take, which is why close dates slip.
                    let ahead: f64 = self.spec.stages[target..]
                        .iter()
                        .map(|s| s.median_days)
                        .sum();
                    let days = (ahead * random::between(rng, 0.5, 1.1)).round() as i64;
                    beats.push((at, Beat::AgreeCloseDate(days.max(7))));
                }
                _ => {}
            }
        }
        if random::chance(rng, stage.reprice) {
            let at = uniform(rng, from, leave);
            let factor = random::between(rng, 0.8, 1.3);
            beats.push((at, Beat::Value(Reprice::Scale(factor))));
        }
    }

    /// A deal still open at the end is often half-way to its next stage.
    fn work_in_progress(&mut self, t: Ms, rng: &mut Rng, beats: &mut Vec<(Ms, Beat)>) {
        let next = self.stage + 1;
        let Some(stage) = self.spec.stages.get(next) else {
            return;
        };
        if !random::chance(rng, 0.5) {
            return;
        }
        let item = stage
            .needs
            .iter()
            .enumerate()
            .find(|(i, n)| matches!(n, Need::Check(_)) && !self.ticked[next][*i])
            .map(|(i, _)| i);
        if let Some(item) = item {
            self.ticked[next][item] = true;
            beats.push((uniform(rng, t, self.end), Beat::Tick(next, item)));
        }
    }

    /// When a deal outlives its expected close date, the rep usually pushes the date out a
    /// few days later; sometimes nobody does, and the deal shows as past its date.
    fn close_date_pushes(&self, t: Ms, horizon: Ms, rng: &mut Rng, beats: &mut Vec<(Ms, Beat)>) {
        let Some(mut date) = self.close else {
            return;
        };
        loop {
            let due = calendar::end_of_date(date);
            if due >= horizon {
                return;
            }
            let at = working(
                due.max(t) + (random::between(rng, 0.5, 5.0) * DAY as f64) as Ms,
                rng,
            );
            if at >= horizon || !random::chance(rng, 0.6) {
                return;
            }
            date = date_of(at + (random::between(rng, 10.0, 45.0) * DAY as f64) as Ms);
            beats.push((at, Beat::CloseDate(date)));
        }
    }

    /// Turn a beat into its step, at the deal's next free instant. False once the history
    /// has ended for this deal.
    fn play(&mut self, want: Ms, beat: Beat, script: &mut Script) -> bool {
        let Some(at) = self.line.next(want) else {
            return false;
        };
        let deal = self.deal;
        let who = Who::Member(self.owner);
        match beat {
            Beat::Log(kind, subject) => {
                let activity = self.activity(script, kind, subject, at, None, true);
                script.push(at, who, Op::CreateActivity(activity));
            }
            Beat::Schedule {
                slot,
                kind,
                subject,
                due,
                minutes,
            } => {
                let activity = self.activity(script, kind, subject, due, Some(minutes), false);
                if let Some(s) = self.slots.get_mut(slot) {
                    *s = Some(activity);
                }
                script.push(at, who, Op::CreateActivity(activity));
            }
            Beat::Complete(slot) => {
                if let Some(activity) = self.slots.get(slot).copied().flatten() {
                    // Whoever owns the activity marks it done, even after a reassignment.
                    let owner = script.activities[activity].owner;
                    script.push(at, Who::Member(owner), Op::CompleteActivity(activity));
                }
            }
            Beat::Tick(stage, item) => script.push(at, who, Op::Tick { deal, stage, item }),
            Beat::Value(change) => {
                let value = match change {
                    Reprice::Estimate if self.value > 0 => self.value,
                    Reprice::Estimate => self.latent,
                    Reprice::Scale(f) => {
                        let base = if self.value > 0 {
                            self.value
                        } else {
                            self.latent
                        };
                        round_value(base as f64 * f)
                    }
                };
                if value != self.value {
                    self.value = value;
                    script.push(at, who, Op::SetValue { deal, value });
                }
            }
            Beat::CloseDate(date) => {
                self.close = Some(date);
                script.push(at, who, Op::SetCloseDate { deal, date });
            }
            Beat::AgreeCloseDate(days) => {
                if self.close.is_none() {
                    let date = date_of(at + days * DAY);
                    self.close = Some(date);
                    script.push(at, who, Op::SetCloseDate { deal, date });
                }
            }
            Beat::Reassign(to) => {
                script.push(at, Who::Member(MANAGER), Op::Reassign { deal, to });
                self.owner = to;
            }
        }
        true
    }

    fn activity(
        &self,
        script: &mut Script,
        kind: ActivityKind,
        subject: &str,
        due: Ms,
        minutes: Option<i64>,
        done: bool,
    ) -> usize {
        script.activity(ActivityPlan {
            kind,
            subject: format!("{subject} – {}", self.org_name),
            owner: self.owner,
            deal: self.deal,
            person: self.person,
            due,
            minutes,
            done,
        })
    }
}

/// An instant drawn uniformly in `[from, to)`.
pub(crate) fn uniform(rng: &mut Rng, from: Ms, to: Ms) -> Ms {
    if to <= from {
        return from;
    }
    from + random::int(rng, 0, to - from - 1)
}

/// Deals that would close in the first days of a quarter are often pushed over the line
/// before it ends, for the quarter's number.
fn quarter_end_pull(t: Ms, leave: Ms, rng: &mut Rng) -> Ms {
    let date = date_of(leave);
    if !matches!(date.month(), 1 | 4 | 7 | 10) || date.day() > 10 || !random::chance(rng, 0.4) {
        return leave;
    }
    let mut day = calendar::day_of(leave) - i64::from(date.day());
    while calendar::is_weekend(day) {
        day -= 1;
    }
    let pulled = day * DAY + 15 * HOUR + random::int(rng, 0, 120) * MINUTE;
    if pulled > t + HOUR { pulled } else { leave }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipelines::{NEW_BUSINESS, PIPELINES};
    use rand::SeedableRng;

    fn lives(n: usize, end: Ms) -> (Script, Vec<Outcome>) {
        let mut rng = Rng::seed_from_u64(11);
        let mut script = Script::default();
        let outcomes = (0..n)
            .map(|deal| {
                let start = Start {
                    deal,
                    owner: 2 + deal % 4,
                    person: 0,
                    org_name: "Acme".into(),
                    value: 0,
                    latent: 9_000,
                    created: 0,
                };
                Life::new(&PIPELINES[NEW_BUSINESS], start, end, &mut rng).run(&mut rng, &mut script)
            })
            .collect();
        (script, outcomes)
    }

    #[test]
    fn most_deals_are_lost_some_won_and_moves_follow_their_criteria() {
        let (script, outcomes) = lives(2_000, 400 * DAY);
        let won = outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Won(_)))
            .count();
        let lost = outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Lost(_)))
            .count();
        let rate = won as f64 / (won + lost) as f64;
        assert!((0.12..0.35).contains(&rate), "win rate {rate}");
        // Every forward move comes after its target's checklist was ticked on that deal.
        let spec = &PIPELINES[NEW_BUSINESS];
        let mut ticked = std::collections::HashSet::new();
        let mut stage = vec![0usize; 2_000];
        let mut at = vec![0; 2_000];
        for step in &script.steps {
            let deal = match step.op {
                Op::Tick { deal, stage, item } => {
                    ticked.insert((deal, stage, item));
                    deal
                }
                Op::Move { deal, stage: to } => {
                    if to > stage[deal] {
                        for (item, need) in spec.stages[to].needs.iter().enumerate() {
                            if matches!(need, Need::Check(_)) {
                                assert!(ticked.contains(&(deal, to, item)), "deal {deal}");
                            }
                        }
                    }
                    stage[deal] = to;
                    deal
                }
                Op::Win(deal) | Op::Lose { deal, .. } | Op::SetValue { deal, .. } => deal,
                Op::SetCloseDate { deal, .. } | Op::Reassign { deal, .. } => deal,
                Op::CreateActivity(a) | Op::CompleteActivity(a) => script.activities[a].deal,
                _ => continue,
            };
            assert!(step.at > at[deal], "steps of deal {deal} are chronological");
            at[deal] = step.at;
        }
    }

    #[test]
    fn deals_still_running_at_the_end_stay_open() {
        let (script, outcomes) = lives(300, 20 * DAY);
        assert!(outcomes.contains(&Outcome::Open));
        assert!(script.steps.iter().all(|s| s.at < 20 * DAY));
    }
}
