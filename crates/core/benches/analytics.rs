//! Benchmarks of the analytics engine on a generated pipeline: learning the stage model from
//! binned stays, the 12-week projection and the forecast (10,000 simulations each), at 5,000
//! and 50,000 open deals. Target (issue 4): projection plus forecast well under 300 ms on a
//! 2-core machine.
//!
//! Run: `cargo bench -p throughline-core --bench analytics`.

use jiff::ToSpan;
use jiff::civil::{Date, date};
use throughline_core::analytics::engine::{OpenDeal, Simulation};
use throughline_core::analytics::forecast::{ForecastRequest, forecast};
use throughline_core::analytics::model::{Exit, Model, ModelConfig, StayBin};
use throughline_core::analytics::period::{Grain, Period, buckets};
use throughline_core::analytics::projection::{Pace, ProjectionRequest, Refill, project};
use throughline_core::analytics::rng::SimRng;

fn main() {
    divan::main();
}

const STAGES: usize = 6;
const PROBABILITY: [i64; STAGES] = [10, 20, 40, 60, 80, 90];
const TODAY: Date = date(2026, 3, 4);

/// A history of about 400,000 stays, binned by stage, whole days and exit, as the store would
/// deliver it: durations with a long tail, wins from late stages, losses everywhere, some
/// moves back and skips, and open stays.
fn history() -> Vec<StayBin> {
    let mut rng = SimRng::seed(2026);
    let mut counts = std::collections::HashMap::<(usize, u32, Exit), u64>::new();
    for stage in 0..STAGES {
        for _ in 0..60_000 {
            let days = ((8.0 + 4.0 * stage as f64) * (0.9 * rng.normal()).exp()) as u32;
            let u = rng.uniform();
            let exit = if u < 0.08 {
                Exit::Open
            } else if u < 0.10 && stage > 0 {
                Exit::Backward(stage - 1)
            } else if u < 0.35 + 0.05 * stage as f64 {
                Exit::Lost
            } else if stage + 1 == STAGES || (stage >= 3 && u > 0.85) {
                Exit::Won
            } else if u > 0.95 && stage + 2 < STAGES {
                Exit::Forward(stage + 2)
            } else {
                Exit::Forward(stage + 1)
            };
            *counts.entry((stage, days.min(700), exit)).or_insert(0) += 1;
        }
    }
    counts
        .into_iter()
        .map(|((stage, days, exit), count)| StayBin {
            stage,
            days,
            exit,
            count,
        })
        .collect()
}

/// `n` open deals: more in early stages, ages with a long tail (some very stale), values
/// log-normal around 5,000.00 (minor units), expected close dates in the coming months.
fn open_deals(n: usize) -> Vec<OpenDeal> {
    let mut rng = SimRng::seed(n as u64);
    (0..n)
        .map(|_| {
            let stage = ((rng.uniform() * rng.uniform()) * STAGES as f64) as usize;
            let age = (15.0 * (1.2 * rng.normal()).exp()).min(900.0) as u32;
            let value = (500_000.0 * (1.0 * rng.normal()).exp()) as i64;
            let close_in = (rng.uniform() * 200.0) as i64 - 20;
            OpenDeal {
                stage,
                age_days: age,
                value,
                probability: PROBABILITY[stage],
                expected_close: TODAY.checked_add(close_in.days()).ok(),
            }
        })
        .collect()
}

fn model() -> Model {
    Model::learn(STAGES, &history(), ModelConfig::default()).unwrap()
}

fn run_projection(model: &Model, deals: &[OpenDeal]) -> i64 {
    let p = project(
        model,
        &ProjectionRequest {
            today: TODAY,
            deals,
            weeks: 12,
            pace: Pace::RecentAverage {
                per_week: 50_000_000,
            },
            refill: Some(Refill {
                closing_rate: 0.18,
                average_won_value: 600_000,
                median_cycle_days: 45,
            }),
            simulation: Simulation::default(),
        },
    )
    .unwrap();
    p.expected_value
}

fn run_forecast(model: &Model, deals: &[OpenDeal], grain: Grain, until: Date) -> i64 {
    let bs = buckets(Period::new(TODAY, until).unwrap(), grain);
    let f = forecast(
        model,
        &ForecastRequest {
            today: TODAY,
            buckets: &bs,
            won_so_far: &[12_000_000],
            deals,
            simulation: Simulation::default(),
        },
    )
    .unwrap();
    f.buckets.iter().map(|b| b.p50).sum()
}

#[divan::bench(sample_count = 10)]
fn learn_model(bencher: divan::Bencher) {
    let bins = history();
    bencher.bench_local(|| Model::learn(STAGES, &bins, ModelConfig::default()).unwrap());
}

#[divan::bench(args = [5_000, 50_000], sample_count = 10)]
fn projection_12_weeks(bencher: divan::Bencher, n: usize) {
    let (m, deals) = (model(), open_deals(n));
    bencher.bench_local(|| run_projection(&m, &deals));
}

#[divan::bench(args = [5_000, 50_000], sample_count = 10)]
fn forecast_3_months(bencher: divan::Bencher, n: usize) {
    let (m, deals) = (model(), open_deals(n));
    bencher.bench_local(|| run_forecast(&m, &deals, Grain::Month, date(2026, 5, 31)));
}

#[divan::bench(args = [5_000, 50_000], sample_count = 10)]
fn forecast_4_quarters(bencher: divan::Bencher, n: usize) {
    let (m, deals) = (model(), open_deals(n));
    bencher.bench_local(|| run_forecast(&m, &deals, Grain::Quarter, date(2026, 12, 31)));
}

/// What the flow and forecast reports do per request: learn, project, forecast the quarter's
/// months.
#[divan::bench(args = [5_000, 50_000], sample_count = 10)]
fn learn_project_and_forecast(bencher: divan::Bencher, n: usize) {
    let (bins, deals) = (history(), open_deals(n));
    bencher.bench_local(|| {
        let m = Model::learn(STAGES, &bins, ModelConfig::default()).unwrap();
        run_projection(&m, &deals) + run_forecast(&m, &deals, Grain::Month, date(2026, 5, 31))
    });
}
