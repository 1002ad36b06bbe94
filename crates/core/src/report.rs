//! Report results as the API, CLI and pages show them, and the arithmetic that turns summed
//! rows into rates. Ratios are `None` when their denominator is zero: "no data" is not 0 %.

use jiff::civil::Date;
use serde::Serialize;

use crate::pipeline::Stage;
use crate::{Currency, PipelineId, StageId};

/// `num / den`, or `None` for an empty denominator.
pub fn ratio(num: i64, den: i64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// One stage of a funnel over a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelStage {
    pub stage_id: StageId,
    pub name: String,
    pub position: i64,
    pub probability: i64,
    /// Deals that entered the stage for the first time in the period (skipped stages count).
    pub entered: i64,
    /// Of those, how many later reached a later stage or were won.
    pub progressed: i64,
    /// `progressed / entered`: the stage-to-next conversion.
    pub conversion: Option<f64>,
}

/// Outcomes and rates of one slice of a funnel.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Outcomes {
    /// Deals won and lost with a close in the period.
    pub won: i64,
    pub lost: i64,
    pub won_value: i64,
    /// `won / (won + lost)` over deals closed in the period.
    pub win_rate: Option<f64>,
    /// Items that entered the funnel in the period: leads, plus deals created without a lead.
    pub entered: i64,
    /// Of those items, how many have ended as won deals (so far).
    pub entered_won: i64,
    /// `entered_won / entered`: the closing rate of the period's cohort.
    pub closing_rate: Option<f64>,
}

impl Outcomes {
    pub fn new(won: i64, lost: i64, won_value: i64, entered: i64, entered_won: i64) -> Self {
        Outcomes {
            won,
            lost,
            won_value,
            win_rate: ratio(won, won + lost),
            entered,
            entered_won,
            closing_rate: ratio(entered_won, entered),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelGroup {
    /// What the slice is: an owner id, a team id, a source, a campaign or a month (`2026-03`).
    pub key: String,
    /// How a person reads the key.
    pub label: String,
    pub stages: Vec<FunnelStage>,
    #[serde(flatten)]
    pub outcomes: Outcomes,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelReport {
    pub pipeline_id: PipelineId,
    pub currency: Currency,
    pub from: Date,
    pub to: Date,
    /// The figures for everything the filters select.
    pub total: FunnelGroup,
    /// The same, cut by the requested grouping (empty without one).
    pub groups: Vec<FunnelGroup>,
}

/// Lay per-stage sums over the pipeline's active stages, in order.
pub fn funnel_stages(stages: &[Stage], sums: &[(StageId, i64, i64)]) -> Vec<FunnelStage> {
    let mut ordered: Vec<&Stage> = stages.iter().filter(|s| !s.archived).collect();
    ordered.sort_by_key(|s| (s.position, s.id));
    ordered
        .into_iter()
        .map(|s| {
            let (entered, progressed) = sums
                .iter()
                .filter(|(id, _, _)| *id == s.id)
                .fold((0, 0), |acc, (_, e, p)| (acc.0 + e, acc.1 + p));
            FunnelStage {
                stage_id: s.id,
                name: s.name.clone(),
                position: s.position,
                probability: s.probability,
                entered,
                progressed,
                conversion: ratio(progressed, entered),
            }
        })
        .collect()
}

/// Pipeline velocity, value per day: open deals × win rate × average won value ÷ average won
/// cycle in days (DESIGN.md), with its four factors so a manager sees which one moved.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Velocity {
    pub key: String,
    pub label: String,
    pub open_deals: i64,
    pub win_rate: Option<f64>,
    /// Minor units of the pipeline's currency.
    pub average_won_value: Option<f64>,
    pub average_won_cycle_days: Option<f64>,
    /// Minor units per day.
    pub value_per_day: Option<f64>,
}

impl Velocity {
    pub fn compute(
        key: String,
        label: String,
        open_deals: i64,
        won: i64,
        lost: i64,
        won_value: i64,
        won_cycle_ms: i64,
    ) -> Self {
        let win_rate = ratio(won, won + lost);
        let average_won_value = ratio(won_value, won);
        let average_won_cycle_days =
            ratio(won_cycle_ms, won).map(|ms| ms / crate::time::MS_PER_DAY as f64);
        let value_per_day = match (win_rate, average_won_value, average_won_cycle_days) {
            (Some(w), Some(v), Some(c)) if c > 0.0 => Some(open_deals as f64 * w * v / c),
            _ => None,
        };
        Velocity {
            key,
            label,
            open_deals,
            win_rate,
            average_won_value,
            average_won_cycle_days,
            value_per_day,
        }
    }
}

/// What one lead source (or source and campaign) brings.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SourceRow {
    pub source: String,
    pub campaign: String,
    pub leads: i64,
    /// Deals created without a lead (they enter the funnel directly).
    pub deals: i64,
    pub qualified: i64,
    /// `qualified / leads`.
    pub qualification_rate: Option<f64>,
    pub won: i64,
    /// `won / (leads + deals)`.
    pub closing_rate: Option<f64>,
    pub won_value: i64,
    /// Mean cycle of the won ones, in days.
    pub average_won_cycle_days: Option<f64>,
}

/// Items that entered the funnel and what became of them, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct InflowCounts {
    pub leads: i64,
    pub deals: i64,
    pub qualified: i64,
    pub won: i64,
    pub won_value: i64,
    pub won_cycle_ms: i64,
}

impl SourceRow {
    pub fn compute(source: String, campaign: String, c: InflowCounts) -> Self {
        SourceRow {
            source,
            campaign,
            leads: c.leads,
            deals: c.deals,
            qualified: c.qualified,
            qualification_rate: ratio(c.qualified, c.leads),
            won: c.won,
            closing_rate: ratio(c.won, c.leads + c.deals),
            won_value: c.won_value,
            average_won_cycle_days: ratio(c.won_cycle_ms, c.won)
                .map(|ms| ms / crate::time::MS_PER_DAY as f64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_none_without_a_denominator() {
        let o = Outcomes::new(0, 0, 0, 0, 0);
        assert_eq!((o.win_rate, o.closing_rate), (None, None));
        let o = Outcomes::new(3, 1, 900, 10, 2);
        assert_eq!((o.win_rate, o.closing_rate), (Some(0.75), Some(0.2)));
    }

    #[test]
    fn velocity_multiplies_its_factors() {
        // 10 open deals × 50 % × 1,000.00 ÷ 20 days = 250.00 per day.
        let v = Velocity::compute(
            "".into(),
            "".into(),
            10,
            2,
            2,
            200_000,
            40 * crate::time::MS_PER_DAY,
        );
        assert_eq!(v.win_rate, Some(0.5));
        assert_eq!(v.average_won_value, Some(100_000.0));
        assert_eq!(v.average_won_cycle_days, Some(20.0));
        assert_eq!(v.value_per_day, Some(25_000.0));
        assert_eq!(
            Velocity::compute("".into(), "".into(), 10, 0, 2, 0, 0).value_per_day,
            None
        );
    }

    #[test]
    fn sources_divide_by_what_entered() {
        let counts = InflowCounts {
            leads: 8,
            deals: 2,
            qualified: 4,
            won: 3,
            won_value: 3000,
            won_cycle_ms: 3 * 10 * crate::time::MS_PER_DAY,
        };
        let s = SourceRow::compute("Web".into(), "".into(), counts);
        assert_eq!(s.qualification_rate, Some(0.5));
        assert_eq!(s.closing_rate, Some(0.3));
        assert_eq!(s.average_won_cycle_days, Some(10.0));
    }
}

/// What the attention list knows about one open deal.
#[derive(Debug, Clone, PartialEq)]
pub struct AttentionFacts {
    pub deal_id: crate::DealId,
    pub title: String,
    pub owner_id: crate::UserId,
    pub stage_id: StageId,
    pub stage_name: String,
    pub probability: i64,
    pub value: i64,
    pub days_in_stage: i64,
    pub rot_days: Option<i64>,
    /// 90th percentile of completed stays in this stage, in days, and how many stays it rests on.
    pub stage_p90_days: Option<(f64, i64)>,
    pub has_next_activity: bool,
    /// Days the oldest overdue activity is late.
    pub overdue_days: Option<i64>,
    /// Days past the expected close date.
    pub past_close_days: Option<i64>,
    pub close_pushes: i64,
    pub activities_done: i64,
    pub effort_minutes: i64,
}

/// One reason a deal is on a list, and how much it weighs in the ranking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub code: &'static str,
    pub text: String,
    pub weight: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttentionItem {
    pub deal_id: crate::DealId,
    pub title: String,
    pub owner_id: crate::UserId,
    pub stage_id: StageId,
    pub stage: String,
    pub value: i64,
    pub weighted_value: i64,
    /// The sum of the reasons' weights: the list is ranked by it, then by weighted value.
    pub score: i64,
    pub reasons: Vec<Reason>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttentionReport {
    pub pipeline_id: PipelineId,
    pub currency: Currency,
    /// Open deals that need effort now: how many, and what their reasons add up to.
    pub summary: AttentionSummary,
    /// Where the page of `needs_effort` starts in the ranked list.
    pub offset: usize,
    /// Open deals that need effort now, most urgent first: the requested page.
    pub needs_effort: Vec<AttentionItem>,
    /// Open deals taking effort out of proportion to their expected value, the most out of
    /// proportion first: at most a page of them.
    pub over_invested: Vec<AttentionItem>,
    /// The weights used, so a reader can follow the ranking.
    pub weights: Vec<(&'static str, i64, &'static str)>,
}

/// The whole list in figures, whatever page of it is shown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AttentionSummary {
    /// Open deals with at least one reason.
    pub needs_effort: usize,
    /// Their weighted value.
    pub weighted_at_stake: i64,
    /// Deals per reason, in the order of [`ATTENTION_WEIGHTS`].
    pub by_reason: Vec<ReasonCount>,
    /// Open deals whose effort is out of proportion.
    pub over_invested: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonCount {
    pub code: &'static str,
    pub deals: usize,
}

impl AttentionSummary {
    /// Deals on the list for the reason `code`.
    pub fn deals_for(&self, code: &str) -> usize {
        self.by_reason
            .iter()
            .find(|r| r.code == code)
            .map_or(0, |r| r.deals)
    }
}

/// Which part of a ranked list to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListPage {
    pub offset: usize,
    pub limit: usize,
}

impl ListPage {
    /// The first `limit` items.
    pub const fn first(limit: usize) -> ListPage {
        ListPage { offset: 0, limit }
    }

    /// Everything.
    pub const ALL: ListPage = ListPage {
        offset: 0,
        limit: usize::MAX,
    };
}

/// The weights of the reasons, with what each means.
pub const ATTENTION_WEIGHTS: [(&str, i64, &str); 8] = [
    (
        "activity_overdue",
        3,
        "an activity is overdue (+1 when more than a week late)",
    ),
    ("no_next_activity", 3, "nothing is scheduled next"),
    (
        "rotting",
        2,
        "longer in the stage than its rot limit (+1 beyond twice the limit)",
    ),
    (
        "slow_for_stage",
        2,
        "longer in the stage than 90% of past deals there",
    ),
    (
        "past_expected_close",
        2,
        "the expected close date has passed (+1 after 30 days)",
    ),
    (
        "close_date_pushed",
        1,
        "the expected close date was pushed later, per push beyond the first (at most 3)",
    ),
    (
        "high_value",
        2,
        "expected value among the top tenth of the open pipeline",
    ),
    (
        "effort_out_of_proportion",
        0,
        "many logged activities for little expected value (listed apart)",
    ),
];

fn weight(code: &str) -> i64 {
    ATTENTION_WEIGHTS
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, w, _)| *w)
        .unwrap_or(0)
}

/// The value at the given quantile (0..1) of `values`, nearest rank.
fn nearest_rank(values: &mut [i64], q: f64) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    Some(*values.select_nth_unstable(rank - 1).1)
}

/// What the whole open pipeline sets as the bar for "high value" and "effort out of
/// proportion".
struct Bars {
    top_value: Option<i64>,
    median_value: Option<i64>,
    heavy: Option<i64>,
}

/// The reasons of one deal, without their texts: at most one of each kind.
#[derive(Default)]
struct Found {
    reasons: [(&'static str, i64); ATTENTION_WEIGHTS.len()],
    len: usize,
}

impl Found {
    fn add(&mut self, code: &'static str, extra: i64) {
        self.reasons[self.len] = (code, weight(code) + extra);
        self.len += 1;
    }

    fn list(&self) -> &[(&'static str, i64)] {
        &self.reasons[..self.len]
    }

    fn score(&self) -> i64 {
        self.list().iter().map(|(_, w)| w).sum()
    }
}

fn weighted(f: &AttentionFacts) -> i64 {
    crate::pipeline::weighted_value(f.value, f.probability)
}

/// Effort per unit of expected value, for deals with at least five activities.
fn effort_ratio(f: &AttentionFacts) -> Option<i64> {
    (f.activities_done >= 5).then(|| f.activities_done * 1_000_000 / weighted(f).max(1))
}

/// Why `f` needs effort now, if it does.
fn reasons_of(f: &AttentionFacts, bars: &Bars) -> Found {
    let mut found = Found::default();
    if let Some(days) = f.overdue_days {
        found.add("activity_overdue", i64::from(days > 7));
    }
    if !f.has_next_activity {
        found.add("no_next_activity", 0);
    }
    if let Some(limit) = f.rot_days.filter(|l| f.days_in_stage > *l) {
        found.add("rotting", i64::from(f.days_in_stage > 2 * limit));
    }
    if f.stage_p90_days
        .is_some_and(|(p, n)| n >= 5 && f.days_in_stage as f64 > p)
    {
        found.add("slow_for_stage", 0);
    }
    if let Some(days) = f.past_close_days {
        found.add("past_expected_close", i64::from(days > 30));
    }
    if f.close_pushes >= 2 {
        found.add("close_date_pushed", (f.close_pushes - 2).min(2));
    }
    if found.len > 0
        && bars.top_value.is_some_and(|t| weighted(f) >= t)
        && bars.median_value.is_some_and(|m| weighted(f) > m)
    {
        found.add("high_value", 0);
    }
    found
}

/// The sentence explaining a reason of `f`.
fn reason_text(code: &str, f: &AttentionFacts, currency: Currency) -> String {
    match code {
        "activity_overdue" => format!(
            "an activity is {} day(s) overdue",
            f.overdue_days.unwrap_or(0)
        ),
        "no_next_activity" => "no next activity is scheduled".into(),
        "rotting" => format!(
            "{} days in {}, limit {}",
            f.days_in_stage,
            f.stage_name,
            f.rot_days.unwrap_or(0)
        ),
        "slow_for_stage" => {
            let (p90, n) = f.stage_p90_days.unwrap_or((0.0, 0));
            format!(
                "{} days in {}: 90% of {n} past deals left it within {p90:.0}",
                f.days_in_stage, f.stage_name
            )
        }
        "past_expected_close" => format!(
            "expected to close {} day(s) ago",
            f.past_close_days.unwrap_or(0)
        ),
        "close_date_pushed" => format!("expected close date pushed {} times", f.close_pushes),
        "high_value" => "among the highest expected values in the pipeline".into(),
        _ => format!(
            "{} activities ({} min) logged for an expected value of {}",
            f.activities_done,
            f.effort_minutes,
            crate::Money::new(weighted(f), currency).display()
        ),
    }
}

fn item(f: &AttentionFacts, reasons: Vec<Reason>) -> AttentionItem {
    AttentionItem {
        deal_id: f.deal_id,
        title: f.title.clone(),
        owner_id: f.owner_id,
        stage_id: f.stage_id,
        stage: f.stage_name.clone(),
        value: f.value,
        weighted_value: weighted(f),
        score: reasons.iter().map(|r| r.weight).sum(),
        reasons,
    }
}

/// The `page` of `ranked` (sorted by `order`), without sorting what lies beyond it.
fn page_of<T>(
    mut ranked: Vec<T>,
    page: ListPage,
    order: impl Fn(&T, &T) -> std::cmp::Ordering,
) -> Vec<T> {
    let end = page.offset.saturating_add(page.limit).min(ranked.len());
    if page.offset >= end {
        return vec![];
    }
    if end < ranked.len() {
        ranked.select_nth_unstable_by(end, &order);
        ranked.truncate(end);
    }
    ranked.sort_unstable_by(&order);
    ranked.drain(..page.offset);
    ranked
}

/// What [`attention`] finds: the whole list summed up, and the page of it asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct AttentionRanking {
    pub summary: AttentionSummary,
    pub needs_effort: Vec<AttentionItem>,
    pub over_invested: Vec<AttentionItem>,
}

/// Rank open deals by what needs effort now, and list apart those whose logged effort is out
/// of proportion to their expected value. Only the deals of `page` (of each list) are written
/// out with their reasons; the summary covers every deal.
pub fn attention(facts: &[AttentionFacts], currency: Currency, page: ListPage) -> AttentionRanking {
    let mut expected: Vec<i64> = facts.iter().map(weighted).collect();
    // Top tenth, but never the common value: in a pipeline of equal deals none stands out.
    let top_value = nearest_rank(&mut expected, 0.9);
    let median_value = nearest_rank(&mut expected, 0.5);
    // Effort per unit of expected value: the top tenth (with at least five activities) is
    // out of proportion.
    let mut per_value: Vec<i64> = facts.iter().filter_map(effort_ratio).collect();
    let heavy = nearest_rank(&mut per_value, 0.9);
    let bars = Bars {
        top_value,
        median_value,
        heavy,
    };

    let mut summary = AttentionSummary {
        by_reason: ATTENTION_WEIGHTS
            .iter()
            .map(|(code, _, _)| ReasonCount { code, deals: 0 })
            .collect(),
        ..AttentionSummary::default()
    };
    // (score, weighted value, index) of each deal needing effort; (weighted value, index) of
    // each out of proportion.
    let mut needs: Vec<(i64, i64, usize)> = vec![];
    let mut over: Vec<(i64, usize)> = vec![];
    for (i, f) in facts.iter().enumerate() {
        let found = reasons_of(f, &bars);
        if found.len > 0 {
            needs.push((found.score(), weighted(f), i));
            summary.weighted_at_stake += weighted(f);
            for (code, _) in found.list() {
                if let Some(r) = summary.by_reason.iter_mut().find(|r| r.code == *code) {
                    r.deals += 1;
                }
            }
        }
        if effort_ratio(f).is_some_and(|r| bars.heavy.is_some_and(|h| r >= h)) {
            over.push((weighted(f), i));
        }
    }
    summary.needs_effort = needs.len();
    summary.over_invested = over.len();
    if let Some(r) = summary
        .by_reason
        .iter_mut()
        .find(|r| r.code == "effort_out_of_proportion")
    {
        r.deals = over.len();
    }

    let needs = page_of(needs, page, |a, b| {
        b.0.cmp(&a.0)
            .then(b.1.cmp(&a.1))
            .then(facts[a.2].deal_id.cmp(&facts[b.2].deal_id))
    });
    let over = page_of(over, ListPage { offset: 0, ..page }, |a, b| {
        a.0.cmp(&b.0)
            .then(facts[a.1].deal_id.cmp(&facts[b.1].deal_id))
    });
    let needs_effort = needs
        .into_iter()
        .map(|(_, _, i)| {
            let f = &facts[i];
            let reasons = reasons_of(f, &bars)
                .list()
                .iter()
                .map(|&(code, weight)| Reason {
                    code,
                    text: reason_text(code, f, currency),
                    weight,
                })
                .collect();
            item(f, reasons)
        })
        .collect();
    let over_invested = over
        .into_iter()
        .map(|(_, i)| {
            let f = &facts[i];
            item(
                f,
                vec![Reason {
                    code: "effort_out_of_proportion",
                    text: reason_text("effort_out_of_proportion", f, currency),
                    weight: 0,
                }],
            )
        })
        .collect();
    AttentionRanking {
        summary,
        needs_effort,
        over_invested,
    }
}

#[cfg(test)]
mod attention_tests {
    use super::*;

    fn facts(title: &str) -> AttentionFacts {
        AttentionFacts {
            deal_id: crate::DealId::new(),
            title: title.into(),
            owner_id: crate::UserId::new(),
            stage_id: StageId::new(),
            stage_name: "Proposal".into(),
            probability: 50,
            value: 10_000,
            days_in_stage: 3,
            rot_days: Some(14),
            stage_p90_days: Some((10.0, 40)),
            has_next_activity: true,
            overdue_days: None,
            past_close_days: None,
            close_pushes: 0,
            activities_done: 0,
            effort_minutes: 0,
        }
    }

    #[test]
    fn healthy_deals_are_not_listed_and_reasons_add_up() {
        let healthy = facts("fine");
        let mut stuck = facts("stuck");
        stuck.days_in_stage = 30;
        stuck.has_next_activity = false;
        stuck.close_pushes = 3;
        stuck.value = 30_000;
        let ranking = attention(&[healthy, stuck], Currency::EUR, ListPage::ALL);
        let (needs, over) = (ranking.needs_effort, ranking.over_invested);
        assert!(over.is_empty());
        assert_eq!(needs.len(), 1);
        let codes: Vec<_> = needs[0].reasons.iter().map(|r| r.code).collect();
        // 30 days > 2 × 14: rotting weighs 3; slower than p90 10: 2; no next: 3; pushed 3×: 2;
        // and it is worth more than the other deal: high value 2.
        assert_eq!(
            codes,
            [
                "no_next_activity",
                "rotting",
                "slow_for_stage",
                "close_date_pushed",
                "high_value"
            ]
        );
        assert_eq!(needs[0].score, 3 + 3 + 2 + 2 + 2);
    }

    #[test]
    fn more_urgent_ranks_first_and_effort_heavy_small_deals_are_listed_apart() {
        let mut late = facts("late");
        late.overdue_days = Some(10);
        let mut quiet = facts("quiet");
        quiet.has_next_activity = false;
        quiet.value = 50_000;
        let mut busy = facts("busy");
        busy.activities_done = 12;
        busy.value = 200;
        let mut others: Vec<AttentionFacts> =
            (0..10).map(|i| facts(&format!("other {i}"))).collect();
        others.extend([late, quiet, busy]);
        let ranking = attention(&others, Currency::EUR, ListPage::ALL);
        assert_eq!(ranking.summary.needs_effort, 2);
        assert_eq!(ranking.summary.deals_for("no_next_activity"), 1);
        assert_eq!(ranking.summary.deals_for("effort_out_of_proportion"), 1);
        let (needs, over) = (ranking.needs_effort, ranking.over_invested);
        let titles: Vec<_> = needs.iter().map(|i| i.title.as_str()).collect();
        assert_eq!(
            titles,
            ["quiet", "late"],
            "quiet: no next (3) + high value (2) = 5 > late: overdue 3 + 1 = 4"
        );
        assert_eq!(
            over.iter().map(|i| i.title.as_str()).collect::<Vec<_>>(),
            ["busy"]
        );
    }

    proptest::proptest! {
        /// A page is that slice of the whole ranked list, and the summary does not depend on
        /// the page.
        #[test]
        fn a_page_is_a_slice_of_the_whole_list(
            deals in proptest::collection::vec(
                (0i64..40, proptest::bool::ANY, 0i64..4, 0i64..9, 1i64..6),
                0..60,
            ),
            offset in 0usize..70,
            limit in 0usize..30,
        ) {
            let all: Vec<AttentionFacts> = deals
                .iter()
                .enumerate()
                .map(|(i, &(days, next, pushes, done, value))| {
                    let mut f = facts(&format!("deal {i}"));
                    f.days_in_stage = days;
                    f.has_next_activity = next;
                    f.close_pushes = pushes;
                    f.activities_done = done;
                    f.value = value * 1_000;
                    f
                })
                .collect();
            let whole = attention(&all, Currency::EUR, ListPage::ALL);
            let page = attention(&all, Currency::EUR, ListPage { offset, limit });
            proptest::prop_assert_eq!(&page.summary, &whole.summary);
            proptest::prop_assert_eq!(whole.summary.needs_effort, whole.needs_effort.len());
            let end = offset.saturating_add(limit).min(whole.needs_effort.len());
            let expected = whole.needs_effort.get(offset.min(end)..end).unwrap_or(&[]);
            proptest::prop_assert_eq!(&page.needs_effort[..], expected);
            let over_end = limit.min(whole.over_invested.len());
            proptest::prop_assert_eq!(&page.over_invested[..], &whole.over_invested[..over_end]);
            for pair in whole.needs_effort.windows(2) {
                proptest::prop_assert!(
                    (pair[0].score, pair[0].weighted_value) >= (pair[1].score, pair[1].weighted_value)
                );
            }
        }
    }
}
