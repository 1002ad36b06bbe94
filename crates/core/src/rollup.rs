//! The rows one deal (or one unqualified lead) contributes to the report tables.
//!
//! Period reports (funnel, closes, inflow, time in stage) read small per-day tables instead of
//! the event history. Every row in those tables is a sum of contributions, and a record's
//! contribution is a pure function of its timeline: when a record changes, the store
//! subtracts what the old timeline contributed and adds what the new one does, and a rebuild
//! simply sums all contributions. One function, so the incremental path and the rebuild
//! cannot disagree.
//!
//! Definitions (DESIGN.md): a deal enters a stage at creation and at every stage change; a
//! deal that skips stages counts as having entered and passed them. Only a deal's first entry
//! into a stage counts for the funnel. A stage entry has *progressed* when the deal later
//! reached a later stage or was won. The cohort day of a deal is the day its cycle began (its
//! lead's creation when it came from a lead).

use std::collections::HashMap;

use jiff::Timestamp;

use jiff::tz::TimeZone;

use crate::time::{MS_PER_DAY, to_ms};
use crate::{FastMap, PipelineId, StageId, UserId};

/// A stage entry as the spans record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub at: Timestamp,
    pub stage_id: StageId,
    pub owner_id: UserId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Close {
    pub at: Timestamp,
    pub won: bool,
    pub owner_id: UserId,
    /// The deal's value (pipeline currency, minor units).
    pub value: i64,
}

/// Everything about a deal the report tables depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealTimeline {
    pub pipeline_id: PipelineId,
    pub cycle_started_at: Timestamp,
    pub from_lead: bool,
    pub owner_at_start: UserId,
    pub source: Option<String>,
    pub campaign: Option<String>,
    /// Stage entries in time order (creation first).
    pub entries: Vec<Entry>,
    /// The final outcome, when the deal is closed now.
    pub close: Option<Close>,
}

/// A lead that has not become a deal (open or disqualified): it still entered the funnel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadTimeline {
    pub created_at: Timestamp,
    pub owner_id: Option<UserId>,
    pub source: Option<String>,
    pub campaign: Option<String>,
}

/// Items entering the funnel, by cohort day; what became of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InflowKey {
    /// `None` for leads not yet qualified into a pipeline.
    pub pipeline_id: Option<PipelineId>,
    pub day: i64,
    /// "lead" or "deal" (a deal created without a lead).
    pub kind: &'static str,
    pub owner_id: Option<UserId>,
    pub source: String,
    pub campaign: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InflowValues {
    pub entered: i64,
    pub qualified: i64,
    pub won: i64,
    pub won_value: i64,
    pub won_cycle_ms: i64,
}

/// First stage entries by day, stage and owner (at entry).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FunnelKey {
    pub pipeline_id: PipelineId,
    pub day: i64,
    pub stage_id: StageId,
    pub owner_id: UserId,
    pub source: String,
    pub campaign: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FunnelValues {
    pub entries: i64,
    pub progressed: i64,
}

/// Closes by close day and owner (at close).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClosedKey {
    pub pipeline_id: PipelineId,
    pub day: i64,
    pub owner_id: UserId,
    pub won: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClosedValues {
    pub count: i64,
    pub value: i64,
    pub cycle_ms: i64,
}

/// How a stay in a stage ended.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum StayExit {
    Forward,
    Backward,
    Won,
    Lost,
}

impl StayExit {
    pub fn as_str(self) -> &'static str {
        match self {
            StayExit::Forward => "forward",
            StayExit::Backward => "backward",
            StayExit::Won => "won",
            StayExit::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Option<StayExit> {
        match s {
            "forward" => Some(StayExit::Forward),
            "backward" => Some(StayExit::Backward),
            "won" => Some(StayExit::Won),
            "lost" => Some(StayExit::Lost),
            _ => None,
        }
    }
}

/// Completed stays in a stage, by the month they ended, whole days spent, and how they ended.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StayKey {
    pub pipeline_id: PipelineId,
    /// The UTC day number of the first day of the month the stay ended in.
    pub month: i64,
    pub stage_id: StageId,
    pub days: i64,
    pub exit: StayExit,
    /// The stage moved to (forward/backward exits).
    pub to_stage: Option<StageId>,
}

/// Deals by the furthest stage they reached (skips count as passing) and how they stand now:
/// the calibration table's observed win rate per stage.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReachKey {
    pub pipeline_id: PipelineId,
    pub stage_id: StageId,
    /// "won", "lost" or "open".
    pub outcome: &'static str,
}

/// All a record contributes, each key with its values (counts are +1 per item).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rollup {
    pub inflow: FastMap<InflowKey, InflowValues>,
    pub funnel: FastMap<FunnelKey, FunnelValues>,
    pub closed: FastMap<ClosedKey, ClosedValues>,
    pub stays: FastMap<StayKey, i64>,
    pub reach: FastMap<ReachKey, i64>,
}

/// The calendar day of `at` in the team's time zone, as a day number (days since 1970-01-01):
/// report tables bucket by the team's days, so a week or month boundary falls where the team
/// lives.
pub fn local_day(at: Timestamp, tz: &TimeZone) -> i64 {
    // The local date is the UTC date of the instant shifted by the zone's offset then: plain
    // arithmetic, called several times per deal of an import.
    let offset = tz.to_offset(at);
    (at.as_second() + i64::from(offset.seconds())).div_euclid(86_400)
}

/// Days since 1970-01-01 of a calendar date.
pub fn date_number(date: jiff::civil::Date) -> i64 {
    jiff::tz::Offset::UTC
        .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        .map(|t| t.as_second().div_euclid(86_400))
        .unwrap_or(0)
}

/// The calendar date of a day number.
pub fn number_date(day: i64) -> jiff::civil::Date {
    day.checked_mul(86_400)
        .and_then(|s| Timestamp::from_second(s).ok())
        .map(|t| jiff::tz::Offset::UTC.to_datetime(t).date())
        .unwrap_or(jiff::civil::date(1970, 1, 1))
}

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// The day number of the first day of the month holding day number `day`.
pub fn month_of_day(day: i64) -> i64 {
    date_number(number_date(day).first_of_month())
}

fn whole_days(from: Timestamp, to: Timestamp) -> i64 {
    ((to_ms(to) - to_ms(from)).max(0)) / MS_PER_DAY
}

impl Rollup {
    fn add(&mut self, other: Rollup, sign: i64) {
        for (k, v) in other.inflow {
            let e = self.inflow.entry(k).or_default();
            e.entered += sign * v.entered;
            e.qualified += sign * v.qualified;
            e.won += sign * v.won;
            e.won_value += sign * v.won_value;
            e.won_cycle_ms += sign * v.won_cycle_ms;
        }
        for (k, v) in other.funnel {
            let e = self.funnel.entry(k).or_default();
            e.entries += sign * v.entries;
            e.progressed += sign * v.progressed;
        }
        for (k, v) in other.closed {
            let e = self.closed.entry(k).or_default();
            e.count += sign * v.count;
            e.value += sign * v.value;
            e.cycle_ms += sign * v.cycle_ms;
        }
        for (k, v) in other.stays {
            *self.stays.entry(k).or_default() += sign * v;
        }
        for (k, v) in other.reach {
            *self.reach.entry(k).or_default() += sign * v;
        }
    }

    /// `self + other`.
    pub fn merge(&mut self, other: Rollup) {
        self.add(other, 1);
    }

    /// What must be added to the tables to go from `before` to `after` (zero rows dropped).
    pub fn difference(before: Rollup, after: Rollup) -> Rollup {
        let mut out = after;
        out.add(before, -1);
        out.inflow.retain(|_, v| *v != InflowValues::default());
        out.funnel.retain(|_, v| *v != FunnelValues::default());
        out.closed.retain(|_, v| *v != ClosedValues::default());
        out.stays.retain(|_, v| *v != 0);
        out.reach.retain(|_, v| *v != 0);
        out
    }

    pub fn is_empty(&self) -> bool {
        self.inflow.is_empty()
            && self.funnel.is_empty()
            && self.closed.is_empty()
            && self.stays.is_empty()
    }
}

/// What an unqualified lead contributes: one item entering the funnel, no pipeline yet.
pub fn lead_rollup(lead: &LeadTimeline, tz: &TimeZone) -> Rollup {
    let mut out = Rollup::default();
    out.inflow.insert(
        InflowKey {
            pipeline_id: None,
            day: local_day(lead.created_at, tz),
            kind: "lead",
            owner_id: lead.owner_id,
            source: text(&lead.source),
            campaign: text(&lead.campaign),
        },
        InflowValues {
            entered: 1,
            ..Default::default()
        },
    );
    out
}

/// What a deal contributes. `positions` orders the pipeline's stages (stages missing from it
/// — archived since — keep their entries but cannot be skipped through).
pub fn deal_rollup(
    deal: &DealTimeline,
    positions: &HashMap<StageId, i64>,
    tz: &TimeZone,
) -> Rollup {
    let mut out = Rollup::default();
    add_deal_rollup(&mut out, deal, &StageOrder::new(positions.clone()), tz);
    out
}

/// A pipeline's stages by position, for summing many deals of it.
#[derive(Debug, Clone, Default)]
pub struct StageOrder {
    positions: HashMap<StageId, i64>,
    /// (position, stage), in order.
    ordered: Vec<(i64, StageId)>,
}

impl StageOrder {
    pub fn new(positions: HashMap<StageId, i64>) -> Self {
        let mut ordered: Vec<(i64, StageId)> = positions.iter().map(|(s, p)| (*p, *s)).collect();
        ordered.sort();
        Self { positions, ordered }
    }
}

/// [`deal_rollup`] added into `out` (an import sums a million deals without a map each).
pub fn add_deal_rollup(out: &mut Rollup, deal: &DealTimeline, order: &StageOrder, tz: &TimeZone) {
    let StageOrder { positions, ordered } = order;
    let won = deal.close.is_some_and(|c| c.won);

    let mut inflow = InflowValues {
        entered: 1,
        qualified: i64::from(deal.from_lead),
        ..Default::default()
    };
    if let Some(close) = deal.close.filter(|c| c.won) {
        inflow.won = 1;
        inflow.won_value = close.value;
        inflow.won_cycle_ms = (to_ms(close.at) - to_ms(deal.cycle_started_at)).max(0);
    }
    let e = out
        .inflow
        .entry(InflowKey {
            pipeline_id: Some(deal.pipeline_id),
            day: local_day(deal.cycle_started_at, tz),
            kind: if deal.from_lead { "lead" } else { "deal" },
            owner_id: Some(deal.owner_at_start),
            source: text(&deal.source),
            campaign: text(&deal.campaign),
        })
        .or_default();
    e.entered += inflow.entered;
    e.qualified += inflow.qualified;
    e.won += inflow.won;
    e.won_value += inflow.won_value;
    e.won_cycle_ms += inflow.won_cycle_ms;

    if let Some(close) = deal.close {
        let e = out
            .closed
            .entry(ClosedKey {
                pipeline_id: deal.pipeline_id,
                day: local_day(close.at, tz),
                owner_id: close.owner_id,
                won: close.won,
            })
            .or_default();
        e.count += 1;
        e.value += close.value;
        e.cycle_ms += (to_ms(close.at) - to_ms(deal.cycle_started_at)).max(0);
    }

    // First entries, counting skipped stages as entered when the deal jumped past them.
    let mut first: Vec<(StageId, &Entry)> = vec![];
    let mut max_pos = i64::MIN;
    for entry in &deal.entries {
        let pos = positions.get(&entry.stage_id).copied();
        match pos {
            Some(p) if p > max_pos => {
                for (q, stage) in ordered {
                    if *q > max_pos && *q <= p && !first.iter().any(|(s, _)| s == stage) {
                        first.push((*stage, entry));
                    }
                }
                max_pos = p;
            }
            _ => {
                if !first.iter().any(|(s, _)| *s == entry.stage_id) {
                    first.push((entry.stage_id, entry));
                }
            }
        }
    }
    let furthest = ordered
        .iter()
        .rev()
        .find(|(p, _)| *p <= max_pos)
        .map(|(_, s)| *s)
        .or_else(|| deal.entries.last().map(|e| e.stage_id));
    if let Some(stage_id) = furthest {
        let outcome = match deal.close {
            Some(c) if c.won => "won",
            Some(_) => "lost",
            None => "open",
        };
        *out.reach
            .entry(ReachKey {
                pipeline_id: deal.pipeline_id,
                stage_id,
                outcome,
            })
            .or_default() += 1;
    }
    for (stage, entry) in first {
        let progressed = won || positions.get(&stage).is_some_and(|p| *p < max_pos);
        let v = out
            .funnel
            .entry(FunnelKey {
                pipeline_id: deal.pipeline_id,
                day: local_day(entry.at, tz),
                stage_id: stage,
                owner_id: entry.owner_id,
                source: text(&deal.source),
                campaign: text(&deal.campaign),
            })
            .or_default();
        v.entries += 1;
        v.progressed += i64::from(progressed);
    }

    // Completed stays: from an entry to the next entry, or to the close.
    for (i, entry) in deal.entries.iter().enumerate() {
        let (end, exit, to_stage) = match deal.entries.get(i + 1) {
            Some(next) => {
                let forward = match (
                    positions.get(&entry.stage_id),
                    positions.get(&next.stage_id),
                ) {
                    (Some(a), Some(b)) => b > a,
                    _ => true,
                };
                (
                    next.at,
                    if forward {
                        StayExit::Forward
                    } else {
                        StayExit::Backward
                    },
                    Some(next.stage_id),
                )
            }
            None => match deal.close {
                Some(c) => (
                    c.at,
                    if c.won { StayExit::Won } else { StayExit::Lost },
                    None,
                ),
                None => continue,
            },
        };
        let key = StayKey {
            pipeline_id: deal.pipeline_id,
            month: month_of_day(local_day(end, tz)),
            stage_id: entry.stage_id,
            days: whole_days(entry.at, end),
            exit,
            to_stage,
        };
        *out.stays.entry(key).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::day_of_ms;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    struct World {
        pipeline: PipelineId,
        stages: Vec<StageId>,
        owner: UserId,
        positions: HashMap<StageId, i64>,
    }

    fn world() -> World {
        let stages: Vec<StageId> = (0..4).map(|_| StageId::new()).collect();
        let positions = stages
            .iter()
            .enumerate()
            .map(|(i, s)| (*s, i as i64 + 1))
            .collect();
        World {
            pipeline: PipelineId::new(),
            stages,
            owner: UserId::new(),
            positions,
        }
    }

    fn deal(w: &World, entries: &[(&str, usize)], close: Option<(&str, bool)>) -> DealTimeline {
        DealTimeline {
            pipeline_id: w.pipeline,
            cycle_started_at: ts("2026-01-01T10:00:00Z"),
            from_lead: false,
            owner_at_start: w.owner,
            source: Some("Web".into()),
            campaign: None,
            entries: entries
                .iter()
                .map(|(at, s)| Entry {
                    at: ts(at),
                    stage_id: w.stages[*s],
                    owner_id: w.owner,
                })
                .collect(),
            close: close.map(|(at, won)| Close {
                at: ts(at),
                won,
                owner_id: w.owner,
                value: 1000,
            }),
        }
    }

    #[test]
    fn day_numbers_agree_with_the_calendar() {
        let epoch = jiff::civil::date(1970, 1, 1);
        for name in [
            "UTC",
            "America/Los_Angeles",
            "Asia/Kolkata",
            "Pacific/Chatham",
        ] {
            let tz = TimeZone::get(name).unwrap();
            // Every ~7 hours over 55 years: every offset change and both sides of midnight.
            for s in (-86_400 * 400..86_400 * 20_000).step_by(25_457) {
                let at = Timestamp::from_second(s).unwrap();
                let date = at.to_zoned_datetime(tz.clone()).date();
                let expected = i64::from(epoch.until(date).unwrap().get_days());
                assert_eq!(local_day(at, &tz), expected, "{name} {at}");
                assert_eq!(date_number(date), expected, "{date}");
                assert_eq!(number_date(expected), date, "{expected}");
            }
        }
    }

    fn funnel_by_stage(r: &Rollup, w: &World) -> Vec<(i64, i64)> {
        w.stages
            .iter()
            .map(|s| {
                r.funnel
                    .iter()
                    .filter(|(k, _)| k.stage_id == *s)
                    .fold((0, 0), |acc, (_, v)| {
                        (acc.0 + v.entries, acc.1 + v.progressed)
                    })
            })
            .collect()
    }

    #[test]
    fn skipped_stages_count_as_entered_and_passed() {
        let w = world();
        // Created in stage 1, jumps to stage 3, then won.
        let d = deal(
            &w,
            &[("2026-01-01T10:00:00Z", 0), ("2026-01-05T10:00:00Z", 2)],
            Some(("2026-01-09T10:00:00Z", true)),
        );
        let r = deal_rollup(&d, &w.positions, &TimeZone::UTC);
        assert_eq!(funnel_by_stage(&r, &w), [(1, 1), (1, 1), (1, 1), (0, 0)]);
        let skipped_day = r
            .funnel
            .keys()
            .find(|k| k.stage_id == w.stages[1])
            .unwrap()
            .day;
        assert_eq!(
            skipped_day,
            day_of_ms(to_ms(ts("2026-01-05T10:00:00Z"))),
            "a skipped stage is entered at the jump"
        );
    }

    #[test]
    fn only_first_entries_count_and_progress_needs_a_later_stage_or_a_win() {
        let w = world();
        // 1 → 2 → 1 → 2, lost: stage 1 progressed, stage 2 did not; each counted once.
        let d = deal(
            &w,
            &[
                ("2026-01-01T10:00:00Z", 0),
                ("2026-01-02T10:00:00Z", 1),
                ("2026-01-03T10:00:00Z", 0),
                ("2026-01-04T10:00:00Z", 1),
            ],
            Some(("2026-01-06T10:00:00Z", false)),
        );
        let r = deal_rollup(&d, &w.positions, &TimeZone::UTC);
        assert_eq!(funnel_by_stage(&r, &w), [(1, 1), (1, 0), (0, 0), (0, 0)]);
        let exits: Vec<StayExit> = {
            let mut v: Vec<_> = r
                .stays
                .iter()
                .flat_map(|(k, n)| std::iter::repeat_n(k.exit, *n as usize))
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            exits,
            [
                StayExit::Forward,
                StayExit::Forward,
                StayExit::Backward,
                StayExit::Lost
            ]
        );
        let closed: Vec<_> = r.closed.iter().collect();
        assert_eq!(closed.len(), 1);
        assert!(!closed[0].0.won);
        assert_eq!(closed[0].1.cycle_ms, 5 * MS_PER_DAY);
    }

    #[test]
    fn stays_measure_whole_days_until_the_next_entry_or_the_close() {
        let w = world();
        let d = deal(
            &w,
            &[("2026-01-01T10:00:00Z", 0), ("2026-01-04T09:00:00Z", 1)],
            None,
        );
        let r = deal_rollup(&d, &w.positions, &TimeZone::UTC);
        assert_eq!(r.stays.len(), 1, "the open stay in stage 2 is not complete");
        let k = r.stays.keys().next().unwrap();
        assert_eq!(
            (k.stage_id, k.days, k.exit, k.to_stage),
            (w.stages[0], 2, StayExit::Forward, Some(w.stages[1]))
        );
        assert_eq!(k.month, day_of_ms(to_ms(ts("2026-01-01T00:00:00Z"))));
    }

    #[test]
    fn the_difference_of_two_timelines_is_what_changes_in_the_tables() {
        let w = world();
        let open = deal(&w, &[("2026-01-01T10:00:00Z", 0)], None);
        let won = deal(
            &w,
            &[("2026-01-01T10:00:00Z", 0)],
            Some(("2026-02-01T10:00:00Z", true)),
        );
        let diff = Rollup::difference(
            deal_rollup(&open, &w.positions, &TimeZone::UTC),
            deal_rollup(&won, &w.positions, &TimeZone::UTC),
        );
        let inflow: Vec<_> = diff.inflow.values().collect();
        assert_eq!(inflow.len(), 1);
        assert_eq!(
            (inflow[0].entered, inflow[0].won, inflow[0].won_value),
            (0, 1, 1000)
        );
        assert_eq!(diff.closed.len(), 1);
        assert_eq!(
            diff.funnel
                .values()
                .map(|v| (v.entries, v.progressed))
                .collect::<Vec<_>>(),
            [(0, 1)]
        );
        assert!(
            Rollup::difference(
                deal_rollup(&won, &w.positions, &TimeZone::UTC),
                deal_rollup(&won, &w.positions, &TimeZone::UTC)
            )
            .is_empty()
        );
    }

    #[test]
    fn days_are_the_team_s_calendar_days() {
        let at = ts("2026-03-01T23:30:00Z");
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        assert_eq!(
            local_day(at, &TimeZone::UTC) + 1,
            local_day(at, &berlin),
            "00:30 on March 2 in Berlin"
        );
        assert_eq!(
            number_date(local_day(at, &berlin)).to_string(),
            "2026-03-02"
        );
        assert_eq!(date_number(jiff::civil::date(1970, 1, 2)), 1);
        assert_eq!(
            number_date(date_number(jiff::civil::date(1969, 12, 31))).to_string(),
            "1969-12-31"
        );
    }

    #[test]
    fn months_start_on_the_first() {
        let day = day_of_ms(to_ms(ts("2026-03-17T12:00:00Z")));
        assert_eq!(
            month_of_day(day),
            day_of_ms(to_ms(ts("2026-03-01T00:00:00Z")))
        );
    }
}
