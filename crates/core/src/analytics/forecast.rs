//! The forecast per month or quarter: won so far, the weighted pipeline, and a probabilistic
//! forecast (P10/P50/P90 of won value) by Monte Carlo over the open deals with the win chances
//! and close times learned by the model.
//!
//! **Weighted pipeline** — the classic figure, kept beside the learned one so the two can be
//! compared: Σ value × configured stage probability ÷ 100 over the open deals whose *expected
//! close date* falls in the bucket. A deal whose expected close date has already passed is
//! still open, so it is expected now: it counts in the bucket holding today. Deals without an
//! expected close date, or with one outside every bucket, are in no bucket; the former are
//! totalled separately so they are not silently lost.
//!
//! **Probabilistic forecast** — ignores expected close dates and configured probabilities
//! (people's hopes) and uses the model instead: each open deal's chance of being won on each
//! coming day, given its stage and its age there. The bucket's forecast is won so far plus the
//! value won from today to the bucket's end; for a bucket entirely in the past it is just won
//! so far. See `engine` for the simulation.

use jiff::civil::Date;
use serde::Serialize;

use super::engine::{self, MAX_RUNS, OpenDeal, Simulation, Window};
use super::model::Model;
use super::period::{Bucket, days_between};
use crate::pipeline::weighted_value;
use crate::validate::Invalid;

/// Furthest a forecast reaches, in days from today (three years): beyond that the history of a
/// pipeline says little, and the cost of the exact computation grows with the square of it.
pub const MAX_HORIZON_DAYS: i64 = 1_100;

/// What a forecast is asked.
#[derive(Debug, Clone, Copy)]
pub struct ForecastRequest<'a> {
    /// Today, in the team's time zone.
    pub today: Date,
    /// The months or quarters, in order (see `period::buckets`).
    pub buckets: &'a [Bucket],
    /// Won value already closed in each bucket, in the same order (missing ones count 0).
    pub won_so_far: &'a [i64],
    /// The open deals now.
    pub deals: &'a [OpenDeal],
    /// Monte Carlo settings.
    pub simulation: Simulation,
}

/// One month or quarter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastBucket {
    /// The month or quarter.
    pub bucket: Bucket,
    /// Won value closed in the bucket so far, minor units.
    pub won_so_far: i64,
    /// Σ value × configured probability of the open deals expected to close in it.
    pub weighted: i64,
    /// How many open deals the weighted figure counts.
    pub weighted_deals: u64,
    /// Won so far plus the expected won value still to come, by the model.
    pub expected: i64,
    /// Won so far plus P10 of the won value still to come: 1 future in 10 ends at or below.
    pub p10: i64,
    /// Median: won so far plus P50 of the won value still to come.
    pub p50: i64,
    /// Won so far plus P90 of the won value still to come.
    pub p90: i64,
}

/// The forecast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    /// One per requested bucket, in order.
    pub buckets: Vec<ForecastBucket>,
    /// Weighted value of open deals without an expected close date.
    pub undated_weighted: i64,
    /// How many open deals have no expected close date.
    pub undated_deals: u64,
    /// The settings the simulation ran with.
    pub simulation: Simulation,
    /// How the figures were made.
    pub method: String,
}

/// Forecast each bucket. Refused: buckets out of order or overlapping, a last bucket more than
/// [`MAX_HORIZON_DAYS`] ahead, zero runs or more than [`MAX_RUNS`].
pub fn forecast(model: &Model, request: &ForecastRequest<'_>) -> Result<Forecast, Invalid> {
    let today = request.today;
    let mut invalid = Invalid::new();
    if request.buckets.windows(2).any(|w| w[1].start <= w[0].end) {
        invalid.push("buckets", "must be in order and must not overlap");
    }
    if request
        .buckets
        .last()
        .is_some_and(|b| days_between(today, b.end) >= MAX_HORIZON_DAYS)
    {
        invalid.push(
            "buckets",
            format!("a forecast reaches at most {MAX_HORIZON_DAYS} days ahead"),
        );
    }
    if request.simulation.runs == 0 || request.simulation.runs > MAX_RUNS {
        invalid.push("runs", format!("must be from 1 to {MAX_RUNS}"));
    }
    invalid.into_result()?;

    // Weighted pipeline by expected close date; overdue deals are expected now.
    let mut weighted = vec![(0i64, 0u64); request.buckets.len()];
    let (mut undated_weighted, mut undated_deals) = (0i64, 0u64);
    for deal in request.deals {
        let w = weighted_value(deal.value.max(0), deal.probability.clamp(0, 100));
        match deal.expected_close {
            None => {
                undated_weighted = undated_weighted.saturating_add(w);
                undated_deals += 1;
            }
            Some(date) => {
                let when = date.max(today);
                if let Some(i) = request.buckets.iter().position(|b| b.contains(when)) {
                    weighted[i].0 = weighted[i].0.saturating_add(w);
                    weighted[i].1 += 1;
                }
            }
        }
    }

    // The model's part: future days of each bucket that are not past.
    let offsets: Vec<Option<Window>> = request
        .buckets
        .iter()
        .map(|b| {
            let until = days_between(today, b.end) + 1;
            (until > 0).then(|| Window {
                from: days_between(today, b.start).max(0) as u32,
                until: until as u32,
            })
        })
        .collect();
    let windows: Vec<Window> = offsets.iter().flatten().copied().collect();
    let outlook = engine::run(model, request.deals, &windows, &request.simulation);
    let mut future = outlook.iter();

    let buckets = request
        .buckets
        .iter()
        .enumerate()
        .map(|(i, bucket)| {
            let won = request.won_so_far.get(i).copied().unwrap_or(0);
            let (expected, p10, p50, p90) = match offsets[i].and(future.next()) {
                Some(o) => (o.expected_value, o.p10, o.p50, o.p90),
                None => (0.0, 0.0, 0.0, 0.0),
            };
            let plus = |x: f64| won.saturating_add(x.round() as i64);
            ForecastBucket {
                bucket: *bucket,
                won_so_far: won,
                weighted: weighted[i].0,
                weighted_deals: weighted[i].1,
                expected: plus(expected),
                p10: plus(p10),
                p50: plus(p50),
                p90: plus(p90),
            }
        })
        .collect();
    Ok(Forecast {
        buckets,
        undated_weighted,
        undated_deals,
        simulation: request.simulation,
        method: method(model, &request.simulation),
    })
}

/// The forecast's method, in plain words.
pub fn method(model: &Model, simulation: &Simulation) -> String {
    format!(
        "Won so far is what has closed in the period. The weighted pipeline is each open \
         deal's value times its stage's configured probability, counted in the period of its \
         expected close date (overdue deals count now). The forecast does not rely on those \
         hopes: it learns from this pipeline's history how often and how fast deals in each \
         stage are won — counting deals still open for the days they have spent, and letting \
         thin stages borrow from the whole pipeline (as if {k} typical deals were added) — and \
         plays out the open deals {runs} times (seed {seed}: the same data gives the same \
         numbers). P50 is the middle outcome; in 8 futures out of 10 the period ends between \
         P10 and P90.",
        k = model.config().prior_strength,
        runs = simulation.runs,
        seed = simulation.seed,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::model::{Exit, ModelConfig, StayBin};
    use crate::analytics::period::{Grain, Period, buckets};
    use jiff::civil::date;

    fn deal(stage: usize, age_days: u32, value: i64, expected_close: Option<Date>) -> OpenDeal {
        OpenDeal {
            stage,
            age_days,
            value,
            probability: 40,
            expected_close,
        }
    }

    /// Half the deals are won after exactly 20 days; the other half are lost after 20.
    fn coin_flip() -> Model {
        Model::learn(
            1,
            &[
                StayBin {
                    stage: 0,
                    days: 20,
                    exit: Exit::Won,
                    count: 50,
                },
                StayBin {
                    stage: 0,
                    days: 20,
                    exit: Exit::Lost,
                    count: 50,
                },
            ],
            ModelConfig {
                prior_strength: 0.0,
            },
        )
        .unwrap()
    }

    fn months() -> Vec<Bucket> {
        buckets(
            Period::new(date(2026, 3, 1), date(2026, 5, 31)).unwrap(),
            Grain::Month,
        )
    }

    #[test]
    fn weighted_and_probabilistic_by_hand() {
        let m = coin_flip();
        let today = date(2026, 3, 20);
        let deals = [
            // Closes on day 20 − 5 = 15 from today: 4 April.
            deal(0, 5, 10_000, Some(date(2026, 4, 10))),
            // Closes tomorrow, 21 March; its expected close is overdue → counted in March.
            deal(0, 19, 6_000, Some(date(2026, 3, 1))),
            // No expected close date; closes 9 April.
            deal(0, 0, 2_000, None),
            // Expected close outside every bucket.
            deal(0, 0, 1_000, Some(date(2027, 1, 1))),
        ];
        let bs = months();
        let f = forecast(
            &m,
            &ForecastRequest {
                today,
                buckets: &bs,
                won_so_far: &[50_000],
                deals: &deals,
                simulation: Simulation::default(),
            },
        )
        .unwrap();
        let march = &f.buckets[0];
        assert_eq!(march.bucket.key(), "2026-03");
        assert_eq!((march.weighted, march.weighted_deals), (2_400, 1));
        assert_eq!(march.won_so_far, 50_000);
        // Half a chance of 6,000 tomorrow.
        assert_eq!(march.expected, 53_000);
        assert!(march.p10 <= march.p50 && march.p50 <= march.p90);
        assert_eq!((march.p10, march.p90), (50_000, 56_000));
        let april = &f.buckets[1];
        assert_eq!((april.weighted, april.weighted_deals), (4_000, 1));
        // 10,000 and 2,000 (and the 1,000 deal, also in April), each at ½.
        assert_eq!(april.expected, 6_500);
        // Eight equally likely outcomes 0, 1,000, 2,000, 3,000, 10,000 … 13,000: P(0) = 1/8
        // is above 10%, and only the top one lies above 87.5%.
        assert_eq!(april.p10, 0);
        assert_eq!(april.p90, 13_000);
        assert_eq!(f.buckets[2].expected, 0);
        assert_eq!((f.undated_weighted, f.undated_deals), (800, 1));
    }

    #[test]
    fn past_buckets_keep_what_was_won() {
        let m = coin_flip();
        let bs = months();
        let f = forecast(
            &m,
            &ForecastRequest {
                today: date(2026, 6, 15),
                buckets: &bs,
                won_so_far: &[1, 2, 3],
                deals: &[deal(0, 19, 6_000, None)],
                simulation: Simulation::default(),
            },
        )
        .unwrap();
        let got: Vec<(i64, i64, i64)> = f
            .buckets
            .iter()
            .map(|b| (b.expected, b.p10, b.p90))
            .collect();
        assert_eq!(got, [(1, 1, 1), (2, 2, 2), (3, 3, 3)]);
    }

    #[test]
    fn reproducible_with_a_seed_and_refusing_bad_buckets() {
        let m = coin_flip();
        let deals: Vec<OpenDeal> = (0..200)
            .map(|i| deal(0, i % 25, 1_000 + i64::from(i) * 37, None))
            .collect();
        let bs = months();
        let req = ForecastRequest {
            today: date(2026, 3, 1),
            buckets: &bs,
            won_so_far: &[],
            deals: &deals,
            simulation: Simulation {
                runs: 3_000,
                ..Simulation::default()
            },
        };
        assert_eq!(forecast(&m, &req).unwrap(), forecast(&m, &req).unwrap());
        let reversed = [bs[1], bs[0]];
        let err = forecast(
            &m,
            &ForecastRequest {
                buckets: &reversed,
                ..req
            },
        )
        .unwrap_err();
        assert_eq!(err.errors[0].field, "buckets");
        let far = buckets(
            Period::new(date(2026, 1, 1), date(2030, 1, 1)).unwrap(),
            Grain::Quarter,
        );
        assert!(
            forecast(
                &m,
                &ForecastRequest {
                    buckets: &far,
                    ..req
                }
            )
            .is_err()
        );
        let none = forecast(
            &m,
            &ForecastRequest {
                buckets: &[],
                ..req
            },
        )
        .unwrap();
        assert!(none.buckets.is_empty());
    }

    proptest::proptest! {
        #[test]
        fn weighted_pipeline_matches_a_naive_count(
            raw in proptest::collection::vec((0i64..1_000_000, 0i64..=100, proptest::option::of(-60i64..150)), 0..40),
            today_offset in 0i64..90,
        ) {
            let m = coin_flip();
            let today = date(2026, 3, 1).checked_add(jiff::Span::new().days(today_offset)).unwrap();
            let deals: Vec<OpenDeal> = raw.iter().map(|&(value, probability, close)| OpenDeal {
                stage: 0,
                age_days: 3,
                value,
                probability,
                expected_close: close.map(|d| today.checked_add(jiff::Span::new().days(d)).unwrap()),
            }).collect();
            let bs = months();
            let f = forecast(&m, &ForecastRequest {
                today,
                buckets: &bs,
                won_so_far: &[],
                deals: &deals,
                simulation: Simulation { runs: 50, ..Simulation::default() },
            }).unwrap();
            for (b, got) in bs.iter().zip(&f.buckets) {
                // Naive: an overdue deal is expected today.
                let mine: Vec<&OpenDeal> = deals.iter().filter(|d| d.expected_close.is_some_and(|c| b.contains(c.max(today)))).collect();
                let naive: i64 = mine.iter().map(|d| weighted_value(d.value, d.probability)).sum();
                proptest::prop_assert_eq!(got.weighted, naive);
                proptest::prop_assert_eq!(got.weighted_deals, mine.len() as u64);
                proptest::prop_assert!(got.p10 <= got.p50 && got.p50 <= got.p90);
            }
            let undated: i64 = deals.iter().filter(|d| d.expected_close.is_none()).map(|d| weighted_value(d.value, d.probability)).sum();
            proptest::prop_assert_eq!(f.undated_weighted, undated);
        }
    }
}
