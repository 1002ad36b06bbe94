use super::*;
use crate::analytics::model::{Exit, ModelConfig, StayBin};

fn deal(stage: usize, age_days: u32, value: i64) -> OpenDeal {
    OpenDeal {
        stage,
        age_days,
        value,
        probability: 50,
        expected_close: None,
    }
}

fn windows(bounds: &[u32]) -> Vec<Window> {
    bounds
        .windows(2)
        .map(|w| Window {
            from: w[0],
            until: w[1],
        })
        .collect()
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

/// A pipeline with spread: wins, losses, moves, thin and rich stages.
fn lively() -> Model {
    let mut bins = Vec::new();
    for d in 0..40u32 {
        let c = u64::from(40 - d);
        bins.push(StayBin {
            stage: 0,
            days: d,
            exit: Exit::Forward(1),
            count: c,
        });
        bins.push(StayBin {
            stage: 0,
            days: d,
            exit: Exit::Lost,
            count: c / 2,
        });
        bins.push(StayBin {
            stage: 1,
            days: d,
            exit: Exit::Won,
            count: c / 3 + 1,
        });
        bins.push(StayBin {
            stage: 1,
            days: d * 2,
            exit: Exit::Lost,
            count: c / 3,
        });
        bins.push(StayBin {
            stage: 1,
            days: d,
            exit: Exit::Open,
            count: 1,
        });
    }
    Model::learn(2, &bins, ModelConfig::default()).unwrap()
}

/// Deterministic, varied deal values with a long right tail, like real pipelines.
fn deals(n: usize) -> Vec<OpenDeal> {
    let mut rng = SimRng::seed(7);
    (0..n)
        .map(|i| {
            let value = (1_000.0 * (2.0 * rng.normal()).exp()) as i64 + 100;
            deal(i % 2, (rng.uniform() * 60.0) as u32, value)
        })
        .collect()
}

#[test]
fn a_certain_win_lands_in_its_week() {
    let m = ten_days();
    // Age 3 → won 7 days from today; age 0 → in 10 days.
    let ds = [deal(0, 3, 500), deal(0, 3, 700), deal(0, 0, 1_000)];
    let out = run(&m, &ds, &windows(&[0, 7, 8, 14]), &Simulation::default());
    assert!(out[0].expected_value.abs() < 1e-6);
    assert!((out[1].expected_value - 1_200.0).abs() < 1e-6);
    assert!((out[1].expected_wins - 2.0).abs() < 1e-9);
    assert!((out[2].expected_value - 1_000.0).abs() < 1e-6);
    for (o, v) in out.iter().zip([0.0, 1_200.0, 1_000.0]) {
        assert!((o.p10 - v).abs() < 1e-6 && (o.p50 - v).abs() < 1e-6 && (o.p90 - v).abs() < 1e-6);
    }
    // The same when the deals are summed in aggregate rather than drawn.
    let agg = Simulation {
        exact_deals: 0,
        ..Simulation::default()
    };
    let out = run(&m, &ds, &windows(&[0, 7, 8, 14]), &agg);
    assert!((out[1].p10 - 1_200.0).abs() < 1e-6 && (out[1].p90 - 1_200.0).abs() < 1e-6);
}

#[test]
fn expected_values_are_the_sum_of_chance_times_value() {
    let m = lively();
    let ds = deals(300);
    let ws = windows(&[0, 7, 14, 28, 56]);
    let out = run(&m, &ds, &ws, &Simulation::default());
    for (w, o) in ws.iter().zip(&out) {
        let naive: f64 = ds
            .iter()
            .map(|d| {
                let t = m.win_timing(d.stage, d.age_days, w.until);
                let p: f64 = t.by_day[w.from as usize..].iter().sum();
                p * d.value as f64
            })
            .sum();
        assert!(
            (o.expected_value - naive).abs() < 1e-6 * naive.max(1.0),
            "{o:?} vs {naive}"
        );
        assert!(o.p10 <= o.p50 && o.p50 <= o.p90);
    }
}

#[test]
fn same_seed_same_numbers_whatever_the_order() {
    let m = lively();
    let ds = deals(2_000);
    let sim = Simulation {
        runs: 2_000,
        exact_deals: 300,
        ..Simulation::default()
    };
    let ws = windows(&[0, 7, 14, 30]);
    let a = run(&m, &ds, &ws, &sim);
    let mut shuffled = ds.clone();
    shuffled.reverse();
    shuffled.swap(3, 1_500);
    let b = run(&m, &shuffled, &ws, &sim);
    assert_eq!(a, b);
    let c = run(&m, &ds, &ws, &Simulation { seed: 1, ..sim });
    assert_ne!(a, c);
}

#[test]
fn the_aggregate_of_small_deals_matches_drawing_every_deal() {
    let m = lively();
    let ds = deals(3_000);
    let ws = windows(&[0, 7, 14, 28, 90]);
    let all = Simulation {
        runs: 20_000,
        exact_deals: usize::MAX,
        seed: 11,
    };
    let hybrid = Simulation {
        exact_deals: 100,
        ..all
    };
    let exact = run(&m, &ds, &ws, &all);
    let approx = run(&m, &ds, &ws, &hybrid);
    for (e, a) in exact.iter().zip(&approx) {
        let spread = e.p90 - e.p10;
        assert!(spread > 0.0);
        // Within 3% of the exact run's P10–P90 width: below what a planner could notice, and
        // of the order of the exact run's own sampling noise.
        for (x, y) in [(e.p10, a.p10), (e.p50, a.p50), (e.p90, a.p90)] {
            assert!((x - y).abs() < 0.03 * spread, "{e:?} vs {a:?}");
        }
    }
}

#[test]
fn nothing_to_simulate_gives_zeros() {
    let m = lively();
    assert_eq!(
        run(&m, &[], &windows(&[0, 7]), &Simulation::default()),
        vec![WindowOutlook::default()]
    );
    assert!(run(&m, &deals(5), &[], &Simulation::default()).is_empty());
    let out = run(
        &m,
        &deals(50),
        &windows(&[0, 7]),
        &Simulation {
            runs: 0,
            ..Simulation::default()
        },
    );
    assert!(out[0].expected_value > 0.0 && out[0].p90 == 0.0);
    // Deals in stages the model does not know, negative values: no chance, no harm.
    let odd = [deal(7, 3, 1_000), deal(0, u32::MAX, -5)];
    let out = run(&m, &odd, &windows(&[0, 7]), &Simulation::default());
    assert!(out[0].expected_value == 0.0 && out[0].p90 == 0.0);
    // A model with no history.
    let empty = Model::learn(2, &[], ModelConfig::default()).unwrap();
    let out = run(
        &empty,
        &deals(50),
        &windows(&[0, 7]),
        &Simulation::default(),
    );
    assert_eq!(out[0], WindowOutlook::default());
}

#[test]
fn aggregates_match_their_moments() {
    let mut rng = SimRng::seed(5);
    for (mean, var, third) in [
        (100.0, 400.0, 0.0),
        (100.0, 400.0, 8_000.0),
        (5.0, 0.0, 0.0),
    ] {
        let a = Aggregate::from_moments(mean, var, third);
        let n = 100_000;
        let xs: Vec<f64> = (0..n).map(|_| a.sample(&mut rng)).collect();
        let m = xs.iter().sum::<f64>() / n as f64;
        let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n as f64;
        assert!((m - mean).abs() < 0.5, "{a:?}: mean {m}");
        assert!((v - var).abs() < 0.03 * var + 1e-9, "{a:?}: var {v}");
    }
    assert_eq!(
        Aggregate::from_moments(f64::NAN, 1.0, 1.0),
        Aggregate::Fixed(0.0)
    );
}

proptest::proptest! {
    #[test]
    fn expectations_match_the_naive_sum_and_quantiles_are_ordered(
        raw in proptest::collection::vec((0usize..3, 0u32..80, 0i64..100_000), 0..25),
        cuts in proptest::collection::vec(0u32..60, 1..5),
        seed in 0u64..1_000,
    ) {
        let m = lively();
        let ds: Vec<OpenDeal> = raw.iter().map(|&(s, a, v)| deal(s, a, v)).collect();
        let mut bounds = cuts.clone();
        bounds.push(0);
        bounds.sort();
        bounds.dedup();
        bounds.push(bounds[bounds.len() - 1] + 7);
        let ws = windows(&bounds);
        let sim = Simulation { runs: 300, seed, exact_deals: usize::MAX };
        let out = run(&m, &ds, &ws, &sim);
        for (w, o) in ws.iter().zip(&out) {
            // Naive: every deal on its own, its chance in the window times its value.
            let (mut value, mut wins, mut total) = (0.0, 0.0, 0.0);
            for d in &ds {
                let t = m.win_timing(d.stage, d.age_days, w.until);
                let p: f64 = t.by_day[w.from as usize..].iter().sum();
                value += p * d.value as f64;
                wins += p;
                if d.stage < m.stages() { total += d.value as f64; }
            }
            proptest::prop_assert!((o.expected_value - value).abs() <= 1e-6 * value.max(1.0));
            proptest::prop_assert!((o.expected_wins - wins).abs() <= 1e-9 * wins.max(1.0));
            proptest::prop_assert!(0.0 <= o.p10 && o.p10 <= o.p50 && o.p50 <= o.p90);
            proptest::prop_assert!(o.p90 <= total + 1e-6);
        }
    }
}
