//! The projection of won closes for each of the coming weeks, the valleys it shows before they
//! arrive, and how many new leads or deals it takes to fill them.
//!
//! For the method in a sales manager's words see [`method`]; it is also returned with every
//! projection.

use jiff::civil::Date;
use serde::Serialize;

use super::engine::{self, MAX_RUNS, OpenDeal, Simulation, Window};
use super::model::Model;
use super::period::{Bucket, Grain, add_days, bucket_of, days_between};
use crate::validate::Invalid;

/// Most weeks a projection looks ahead: two years.
pub const MAX_WEEKS: u32 = 104;

/// The line below which a coming week is a valley.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Pace {
    /// The won value per week the goals ask for.
    Goal {
        /// Minor units per week.
        per_week: i64,
    },
    /// Where no goal exists: the recent average, e.g. the mean weekly won value of the last 12
    /// weeks.
    RecentAverage {
        /// Minor units per week.
        per_week: i64,
    },
}

impl Pace {
    /// Won value per week, minor units.
    pub fn per_week(&self) -> i64 {
        match *self {
            Pace::Goal { per_week } | Pace::RecentAverage { per_week } => per_week,
        }
    }
}

/// What it takes to turn new leads into won deals, learned from the pipeline's history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Refill {
    /// Deals won ÷ items that entered the funnel (leads plus deals created without a lead).
    pub closing_rate: f64,
    /// Average value of a won deal, minor units.
    pub average_won_value: i64,
    /// Typical cycle time: median days from creation to won.
    pub median_cycle_days: u32,
}

/// What a projection is asked.
#[derive(Debug, Clone, Copy)]
pub struct ProjectionRequest<'a> {
    /// Today, in the team's time zone.
    pub today: Date,
    /// The open deals now.
    pub deals: &'a [OpenDeal],
    /// How many weeks to project, starting with the current one (12 in the reports).
    pub weeks: u32,
    /// The line below which a week is a valley.
    pub pace: Pace,
    /// `None` when the history cannot say (no lead ever won): valleys then come without a
    /// number of leads needed.
    pub refill: Option<Refill>,
    /// Monte Carlo settings.
    pub simulation: Simulation,
}

/// One coming week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectedWeek {
    /// The ISO week.
    pub week: Bucket,
    /// The first day projected: today for the current week, else the Monday.
    pub from: Date,
    /// Expected number of deals won in the week.
    pub expected_wins: f64,
    /// Expected won value, minor units.
    pub expected_value: i64,
    /// P10: in 1 future out of 10 the week's won value is at most this.
    pub p10: i64,
    /// P50: half the futures won at most this.
    pub p50: i64,
    /// P90: 9 futures in 10 won at most this.
    pub p90: i64,
    /// The pace line for the days projected (a current week counts only its remaining days).
    pub pace: i64,
    /// Expected won value below the pace line.
    pub valley: bool,
}

/// A week projected below the pace line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Valley {
    /// The ISO week.
    pub week: Bucket,
    /// Expected won value, minor units.
    pub expected_value: i64,
    /// The pace line for the week, minor units.
    pub pace: i64,
    /// pace − expected, minor units.
    pub shortfall: i64,
    /// New leads or deals needed to fill it; `None` without a usable closing rate and average
    /// won value.
    pub needed: Option<Needed>,
}

/// New items needed to fill a valley.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Needed {
    /// shortfall ÷ (closing rate × average won value), rounded up.
    pub items: u64,
    /// They must enter the funnel by this day: the valley week's Monday minus the median
    /// cycle time.
    pub add_by: Date,
    /// `add_by` is already past: new leads are unlikely to close in time, so the gap has to
    /// come from the deals already open.
    pub late: bool,
}

/// The projection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Projection {
    /// The weeks, from the current one on.
    pub weeks: Vec<ProjectedWeek>,
    /// The weeks below the pace line, with what it takes to fill them.
    pub valleys: Vec<Valley>,
    /// Totals over all the projected weeks.
    pub expected_wins: f64,
    /// Expected won value over all the weeks, minor units.
    pub expected_value: i64,
    /// Open deals counted (deals in stages the model does not know are left out).
    pub deals: usize,
    /// The pace line used.
    pub pace: Pace,
    /// The settings the simulation ran with.
    pub simulation: Simulation,
    /// How the figures were made, for the people reading them.
    pub method: String,
}

/// Project won closes for the coming weeks. Refused: zero weeks or more than [`MAX_WEEKS`],
/// zero runs or more than [`MAX_RUNS`], a negative pace.
pub fn project(model: &Model, request: &ProjectionRequest<'_>) -> Result<Projection, Invalid> {
    let mut invalid = Invalid::new();
    if request.weeks == 0 || request.weeks > MAX_WEEKS {
        invalid.push("weeks", format!("must be from 1 to {MAX_WEEKS}"));
    }
    if request.simulation.runs == 0 || request.simulation.runs > MAX_RUNS {
        invalid.push("runs", format!("must be from 1 to {MAX_RUNS}"));
    }
    if request.pace.per_week() < 0 {
        invalid.push("pace", "must not be negative");
    }
    invalid.into_result()?;

    let today = request.today;
    let mut weeks: Vec<Bucket> = Vec::with_capacity(request.weeks as usize);
    let mut week = bucket_of(today, Grain::Week);
    for _ in 0..request.weeks {
        weeks.push(week);
        match week.next() {
            Some(next) if next.start > week.start => week = next,
            _ => break,
        }
    }
    let offset = |d: Date| days_between(today, d).clamp(0, i64::from(u32::MAX)) as u32;
    let windows: Vec<Window> = weeks
        .iter()
        .map(|w| Window {
            from: offset(w.start.max(today)),
            until: offset(w.end).saturating_add(1),
        })
        .collect();
    let outlook = engine::run(model, request.deals, &windows, &request.simulation);

    let per_week = request.pace.per_week();
    let mut projected = Vec::with_capacity(weeks.len());
    let mut valleys = Vec::new();
    for ((week, window), o) in weeks.iter().zip(&windows).zip(&outlook) {
        let days = i64::from(window.until - window.from);
        let pace = ((per_week as f64) * days as f64 / 7.0).round() as i64;
        let expected_value = o.expected_value.round() as i64;
        let valley = expected_value < pace;
        if valley {
            let shortfall = pace - expected_value;
            valleys.push(Valley {
                week: *week,
                expected_value,
                pace,
                shortfall,
                needed: request
                    .refill
                    .and_then(|r| needed(shortfall, r, week.start, today)),
            });
        }
        projected.push(ProjectedWeek {
            week: *week,
            from: week.start.max(today),
            expected_wins: o.expected_wins,
            expected_value,
            p10: o.p10.round() as i64,
            p50: o.p50.round() as i64,
            p90: o.p90.round() as i64,
            pace,
            valley,
        });
    }
    Ok(Projection {
        expected_wins: outlook.iter().map(|o| o.expected_wins).sum(),
        expected_value: outlook
            .iter()
            .map(|o| o.expected_value)
            .sum::<f64>()
            .round() as i64,
        weeks: projected,
        valleys,
        deals: request
            .deals
            .iter()
            .filter(|d| d.stage < model.stages())
            .count(),
        pace: request.pace,
        simulation: request.simulation,
        method: method(model, &request.simulation),
    })
}

/// New items needed for a shortfall, or `None` when the rates make it meaningless.
fn needed(shortfall: i64, refill: Refill, week_start: Date, today: Date) -> Option<Needed> {
    let per_item = refill.closing_rate * refill.average_won_value as f64;
    if !(per_item.is_finite() && per_item > 0.0 && refill.closing_rate <= 1.0) {
        return None;
    }
    let items = (shortfall as f64 / per_item).ceil();
    let add_by = add_days(week_start, -i64::from(refill.median_cycle_days));
    Some(Needed {
        items: if items.is_finite() && items > 0.0 {
            items as u64
        } else {
            0
        },
        add_by,
        late: add_by < today,
    })
}

/// The method, in plain words, with this model's and simulation's settings.
pub fn method(model: &Model, simulation: &Simulation) -> String {
    format!(
        "How these figures are made. Throughline learns from this pipeline's own history how \
         deals move: for every stage, how long deals stay in it and where they go next — a \
         later stage, back, won or lost. Deals still open count too, for the days they have \
         already spent, so slow deals are not forgotten; a stage with little history borrows \
         from the pipeline as a whole (as if {k} typical deals were added to it). For each open \
         deal, from its stage and how long it has been there, it works out the chance of being \
         won in each coming week — a deal that has sat in its stage far longer than usual gets \
         the prospects such stale deals actually had. Chance times value, added up, is the \
         expected won value of each week. For the range, the coming weeks are played out \
         {runs} times with random draws (seed {seed}, so the same data gives the same numbers): \
         P10 and P90 are the values that 1 in 10 futures fell below and 1 in 10 rose above. \
         The {exact} largest deals are drawn one by one; the many smaller ones are added as \
         one sum with the same average and spread. A week is a valley when its expected won \
         value is below the goal pace, or below the recent weekly average where there is no \
         goal. To fill it you need the shortfall ÷ (closing rate × average won value) new \
         leads or deals, entering at least one typical cycle time (the median days from \
         creation to won) before that week; when that day has passed, new leads will not close \
         in time and the gap has to come from the deals already open.",
        k = model.config().prior_strength,
        runs = simulation.runs,
        seed = simulation.seed,
        exact = simulation.exact_deals,
    )
}

/// How far a past projection was from what happened.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Backtest {
    /// Weeks compared.
    pub weeks: usize,
    /// Mean absolute error of the expected won value, minor units.
    pub mean_abs_error: f64,
    /// Mean of (actual − expected): positive when the projection was too cautious.
    pub bias: f64,
    /// Share of weeks whose actual won value fell within P10–P90 (about 0.8 when the spread
    /// is right).
    pub within_interval: f64,
}

/// Compare a projection made as of a past day (from the history known then) with the won
/// value actually closed in those weeks, week by week in order. `None` without weeks to
/// compare.
pub fn backtest(projected: &[ProjectedWeek], actual: &[i64]) -> Option<Backtest> {
    let pairs: Vec<(&ProjectedWeek, f64)> = projected
        .iter()
        .zip(actual)
        .map(|(p, a)| (p, *a as f64))
        .collect();
    if pairs.is_empty() {
        return None;
    }
    let n = pairs.len() as f64;
    let errors: Vec<f64> = pairs
        .iter()
        .map(|(p, a)| a - p.expected_value as f64)
        .collect();
    Some(Backtest {
        weeks: pairs.len(),
        mean_abs_error: errors.iter().map(|e| e.abs()).sum::<f64>() / n,
        bias: errors.iter().sum::<f64>() / n,
        within_interval: pairs
            .iter()
            .filter(|(p, a)| p.p10 as f64 <= *a && *a <= p.p90 as f64)
            .count() as f64
            / n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::model::{Exit, ModelConfig, StayBin};
    use jiff::civil::date;

    fn deal(stage: usize, age_days: u32, value: i64) -> OpenDeal {
        OpenDeal {
            stage,
            age_days,
            value,
            probability: 50,
            expected_close: None,
        }
    }

    /// Every deal in stage 0 is won exactly 10 days after entering it.
    fn ten_days() -> Model {
        Model::learn(
            1,
            &[StayBin {
                stage: 0,
                days: 10,
                exit: Exit::Won,
                count: 100,
            }],
            ModelConfig {
                prior_strength: 0.0,
            },
        )
        .unwrap()
    }

    fn request(deals: &[OpenDeal]) -> ProjectionRequest<'_> {
        ProjectionRequest {
            // A Wednesday.
            today: date(2026, 3, 4),
            deals,
            weeks: 4,
            pace: Pace::Goal { per_week: 7_000 },
            refill: Some(Refill {
                closing_rate: 0.25,
                average_won_value: 2_000,
                median_cycle_days: 10,
            }),
            simulation: Simulation::default(),
        }
    }

    #[test]
    fn all_value_lands_in_the_right_week_and_valleys_get_a_refill_plan() {
        let m = ten_days();
        // Age 2 → won on day 8 from Wednesday 4 March: Thursday 12 March, week 11.
        let deals = [deal(0, 2, 3_000), deal(0, 2, 5_000), deal(0, 9, 1_000)];
        let p = project(&m, &request(&deals)).unwrap();
        let keys: Vec<String> = p.weeks.iter().map(|w| w.week.key()).collect();
        assert_eq!(keys, ["2026-W10", "2026-W11", "2026-W12", "2026-W13"]);
        let values: Vec<i64> = p.weeks.iter().map(|w| w.expected_value).collect();
        // The age-9 deal closes tomorrow, in the current week.
        assert_eq!(values, [1_000, 8_000, 0, 0]);
        assert_eq!(p.weeks[1].p10, 8_000);
        assert_eq!(p.weeks[1].p90, 8_000);
        assert!((p.weeks[1].expected_wins - 2.0).abs() < 1e-9);
        assert_eq!(p.expected_value, 9_000);
        assert_eq!(p.deals, 3);
        // The current week projects only Wednesday to Sunday: 5/7 of the pace.
        assert_eq!(p.weeks[0].from, date(2026, 3, 4));
        assert_eq!(p.weeks[0].pace, 5_000);
        let valley_keys: Vec<String> = p.valleys.iter().map(|v| v.week.key()).collect();
        assert_eq!(valley_keys, ["2026-W10", "2026-W12", "2026-W13"]);
        let w12 = &p.valleys[1];
        assert_eq!(w12.shortfall, 7_000);
        // 7,000 ÷ (0.25 × 2,000) = 14 items, by Monday 16 March − 10 days = 6 March.
        assert_eq!(
            w12.needed,
            Some(Needed {
                items: 14,
                add_by: date(2026, 3, 6),
                late: false
            })
        );
        // This week's gap cannot be filled by new leads any more.
        let w10 = p.valleys[0].needed.unwrap();
        assert_eq!(w10.items, 8);
        assert!(w10.late);
        assert!(p.method.contains("10000 times"));
    }

    #[test]
    fn recent_average_and_missing_refill_figures() {
        let m = ten_days();
        let deals = [deal(0, 2, 3_000)];
        let mut r = request(&deals);
        r.pace = Pace::RecentAverage { per_week: 2_000 };
        r.refill = Some(Refill {
            closing_rate: 0.0,
            average_won_value: 2_000,
            median_cycle_days: 10,
        });
        let p = project(&m, &r).unwrap();
        assert_eq!(p.valleys.len(), 3);
        assert!(p.valleys.iter().all(|v| v.needed.is_none()));
        r.refill = None;
        r.pace = Pace::RecentAverage { per_week: 0 };
        let p = project(&m, &r).unwrap();
        assert!(p.valleys.is_empty(), "a zero pace has no valleys");
    }

    #[test]
    fn bad_requests_name_the_field() {
        let m = ten_days();
        let mut r = request(&[]);
        r.weeks = 0;
        r.pace = Pace::Goal { per_week: -1 };
        r.simulation.runs = MAX_RUNS + 1;
        let fields: Vec<String> = project(&m, &r)
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["weeks", "runs", "pace"]);
        r.simulation.runs = 0;
        assert_eq!(project(&m, &r).unwrap_err().errors[1].field, "runs");
        r.weeks = MAX_WEEKS;
        r.pace = Pace::Goal { per_week: 1 };
        r.simulation.runs = 100;
        let p = project(&m, &r).unwrap();
        assert_eq!(p.weeks.len(), MAX_WEEKS as usize);
        assert_eq!(p.expected_value, 0);
    }

    #[test]
    fn backtests_measure_error_bias_and_coverage() {
        let m = ten_days();
        let deals = [deal(0, 2, 3_000), deal(0, 9, 1_000)];
        let p = project(&m, &request(&deals)).unwrap();
        // Projected 1,000, 3,000, 0, 0; actual 1,000, 2,000, 500, 0.
        let b = backtest(&p.weeks, &[1_000, 2_000, 500, 0]).unwrap();
        assert_eq!(b.weeks, 4);
        assert_eq!(b.mean_abs_error, 375.0);
        assert_eq!(b.bias, -125.0);
        assert_eq!(b.within_interval, 0.5);
        assert_eq!(backtest(&p.weeks, &[]), None);
    }

    #[test]
    fn simulation_settings_read_from_a_query_with_defaults() {
        let s: Simulation = serde_json::from_str(r#"{"seed": 7}"#).unwrap();
        assert_eq!(
            s,
            Simulation {
                seed: 7,
                ..Simulation::default()
            }
        );
    }

    proptest::proptest! {
        #[test]
        fn valleys_and_refills_follow_their_definition(
            // Ages up to 10: older than anyone in the history is the tail's business.
            raw in proptest::collection::vec((0u32..=10, 0i64..10_000), 0..20),
            per_week in 0i64..20_000,
            rate in 0.01f64..1.0,
            average in 1i64..5_000,
            cycle in 0u32..60,
            weekday in 0i64..7,
        ) {
            let m = ten_days();
            let deals: Vec<OpenDeal> = raw.iter().map(|&(age, v)| deal(0, age, v)).collect();
            let today = date(2026, 3, 2).checked_add(jiff::Span::new().days(weekday)).unwrap();
            let refill = Refill { closing_rate: rate, average_won_value: average, median_cycle_days: cycle };
            let p = project(&m, &ProjectionRequest {
                today,
                deals: &deals,
                weeks: 6,
                pace: Pace::Goal { per_week },
                refill: Some(refill),
                simulation: Simulation { runs: 100, ..Simulation::default() },
            }).unwrap();
            // Naive: a deal aged a is won 10 − a days from today (if not already due).
            for w in &p.weeks {
                let naive: i64 = raw.iter().filter(|(age, _)| {
                    let day = add_days(today, i64::from(10 - age));
                    w.from <= day && day <= w.week.end
                }).map(|(_, v)| v).sum();
                proptest::prop_assert_eq!(w.expected_value, naive);
                proptest::prop_assert_eq!(w.valley, naive < w.pace);
            }
            let flagged: Vec<Bucket> = p.weeks.iter().filter(|w| w.valley).map(|w| w.week).collect();
            let valleys: Vec<Bucket> = p.valleys.iter().map(|v| v.week).collect();
            proptest::prop_assert_eq!(flagged, valleys);
            for v in &p.valleys {
                let n = v.needed.unwrap();
                let per_item = rate * average as f64;
                proptest::prop_assert!((n.items as f64) * per_item >= v.shortfall as f64 - 1e-6);
                proptest::prop_assert!(((n.items as f64) - 1.0) * per_item < v.shortfall as f64);
                proptest::prop_assert_eq!(n.add_by, add_days(v.week.start, -i64::from(cycle)));
                proptest::prop_assert_eq!(n.late, n.add_by < today);
            }
        }
    }
}
