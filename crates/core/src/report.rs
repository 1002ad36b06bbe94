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

impl SourceRow {
    pub fn compute(
        source: String,
        campaign: String,
        leads: i64,
        deals: i64,
        qualified: i64,
        won: i64,
        won_value: i64,
        won_cycle_ms: i64,
    ) -> Self {
        SourceRow {
            source,
            campaign,
            leads,
            deals,
            qualified,
            qualification_rate: ratio(qualified, leads),
            won,
            closing_rate: ratio(won, leads + deals),
            won_value,
            average_won_cycle_days: ratio(won_cycle_ms, won)
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
        let s = SourceRow::compute(
            "Web".into(),
            "".into(),
            8,
            2,
            4,
            3,
            3000,
            3 * 10 * crate::time::MS_PER_DAY,
        );
        assert_eq!(s.qualification_rate, Some(0.5));
        assert_eq!(s.closing_rate, Some(0.3));
        assert_eq!(s.average_won_cycle_days, Some(10.0));
    }
}
