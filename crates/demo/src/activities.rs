//! The work around a deal: calls, e-mails and meetings logged as they happen, meetings
//! scheduled ahead and done on the day, and — for deals still open when the history ends —
//! the next step: usually booked in the future, sometimes overdue, sometimes missing, which
//! is exactly what the agenda and the "no next activity" flag are for.

use throughline_core::activity::ActivityKind;

use crate::calendar::{DAY, HOUR, MINUTE, Ms, working};
use crate::life::{Beat, uniform};
use crate::pipelines::StageSpec;
use crate::random::{self, Rng};

type Beats = Vec<(Ms, Beat)>;

fn slot(slots: &mut Vec<Option<usize>>) -> usize {
    slots.push(None);
    slots.len() - 1
}

/// Work logged during a stay in `stage` from `t` to `horizon`: usually one item, one more
/// for every two weeks or so, and now and then a meeting booked a few days ahead and held.
pub(crate) fn work(
    stage: &StageSpec,
    t: Ms,
    horizon: Ms,
    rng: &mut Rng,
    slots: &mut Vec<Option<usize>>,
    beats: &mut Beats,
) {
    let days = (horizon - t) as f64 / DAY as f64;
    let count = u32::from(random::chance(rng, 0.7)) + random::poisson(rng, days / 14.0).min(2);
    for _ in 0..count {
        let (kind, subject) = *random::pick(rng, stage.work);
        beats.push((uniform(rng, t, horizon), Beat::Log(kind, subject)));
    }
    if days > 3.0 && random::chance(rng, 0.35) {
        let booked = t + ((horizon - t) as f64 * random::between(rng, 0.05, 0.3)) as Ms;
        let due = working(
            booked + (random::between(rng, 1.0, 5.0) * DAY as f64) as Ms,
            rng,
        );
        let held = due + random::int(rng, 30, 120) * MINUTE;
        if held < horizon {
            let s = slot(slots);
            let subject = meeting_subject(stage);
            beats.push((
                booked,
                Beat::Schedule {
                    slot: s,
                    kind: ActivityKind::Meeting,
                    subject,
                    due,
                    minutes: if random::chance(rng, 0.5) { 30 } else { 60 },
                },
            ));
            beats.push((held, Beat::Complete(s)));
        }
    }
}

fn meeting_subject(stage: &StageSpec) -> &'static str {
    stage
        .work
        .iter()
        .find(|(kind, _)| *kind == ActivityKind::Meeting)
        .map(|(_, subject)| *subject)
        .unwrap_or("Follow-up meeting")
}

/// The next step of a deal still open at `end`, booked during its current stay (from `t`).
pub(crate) fn next_step(
    stage: &StageSpec,
    t: Ms,
    end: Ms,
    rng: &mut Rng,
    slots: &mut Vec<Option<usize>>,
    beats: &mut Beats,
) {
    let roll = random::unit(rng);
    let (kind, subject) = *random::pick(rng, stage.work);
    let kind = if kind == ActivityKind::Email {
        ActivityKind::Call
    } else {
        kind
    };
    let (booked, due) = if roll < 0.70 {
        // Booked in the last days, due after the end: the healthy case.
        let booked = uniform(rng, t.max(end - 4 * DAY), end);
        let due = working(
            end + (random::between(rng, 0.1, 10.0) * DAY as f64) as Ms,
            rng,
        );
        (booked, due)
    } else if roll < 0.84 && end - t > DAY {
        // Booked, due before the end, never done: overdue.
        let booked = uniform(rng, t, end - DAY);
        let due = booked + ((end - booked) as f64 * random::between(rng, 0.3, 0.9)) as Ms;
        (booked, due.min(end - HOUR))
    } else {
        return;
    };
    beats.push((
        booked,
        Beat::Schedule {
            slot: slot(slots),
            kind,
            subject,
            due,
            minutes: 30,
        },
    ));
}
