use proptest::prelude::*;

use super::*;
use crate::analytics::rng::SimRng;
use crate::analytics::survival::{Observation, Survival};

fn bin(stage: usize, days: u32, exit: Exit, count: u64) -> StayBin {
    StayBin {
        stage,
        days,
        exit,
        count,
    }
}

fn own_data_only() -> ModelConfig {
    ModelConfig {
        prior_strength: 0.0,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// One stage, k = 0: 4 won on day 2, 2 lost on day 5, 2 still open at age 3.
fn one_stage() -> Model {
    Model::learn(
        1,
        &[
            bin(0, 2, Exit::Won, 4),
            bin(0, 5, Exit::Lost, 2),
            bin(0, 3, Exit::Open, 2),
        ],
        own_data_only(),
    )
    .unwrap()
}

#[test]
fn a_hand_worked_stage() {
    let m = one_stage();
    // At risk: days 0–2 all 8 (the open ones lasted days 0, 1, 2); days 3–5 the 2 lost ones.
    assert_eq!(
        (0..7).map(|t| m.at_risk(0, t)).collect::<Vec<_>>(),
        [8, 8, 8, 2, 2, 2, 0]
    );
    // Day 2: 4 of 8 won → S(2) = 0.5; day 5: 2 of 2 lost → S(5) = 0.
    assert!(close(m.stay_survival(0, 1), 1.0));
    assert!(close(m.stay_survival(0, 2), 0.5));
    assert!(m.stay_survival(0, 5) < 1e-9);
    let f = &m.figures()[0];
    assert_eq!((f.stays, f.ended, f.open), (8, 6, 2));
    // Won on day 2 with 0.5; the other half goes on and is lost on day 5.
    assert!(close(f.next.won, 0.5));
    assert!(close(f.next.lost, 0.5));
    assert!(close(f.win_probability, 0.5));
    assert_eq!(f.median_days.unwrap().days, 2);
    assert!(close(m.win_probability(0, 0), 0.5));
    assert!(close(m.win_probability(0, 2), 0.5));
    // Past day 2 only the lost deals were left: no chance.
    assert!(close(m.win_probability(0, 3), 0.0));
    // Older than anyone: the pipeline's average rate (6 exits ÷ 30 days at risk) and mix
    // (4 won : 2 lost) take over.
    assert!(close(m.pooled().daily_exit_rate, 0.2));
    assert!(close(m.win_probability(0, 40), 4.0 / 6.0));
    let t = m.win_timing(0, 0, 10);
    assert!(close(t.by_day[2], 0.5));
    assert!(close(t.by_day.iter().sum::<f64>(), 0.5));
    assert!(t.later < 1e-9);
}

#[test]
fn with_own_data_only_a_single_exit_is_kaplan_meier() {
    let stays: [(u32, usize); 5] = [(0, 1), (3, 4), (3, 2), (7, 1), (9, 3)];
    let open: [(u32, usize); 3] = [(4, 2), (8, 1), (12, 2)];
    let mut bins: Vec<StayBin> = stays
        .iter()
        .map(|&(d, n)| bin(0, d, Exit::Won, n as u64))
        .collect();
    bins.extend(open.iter().map(|&(d, n)| bin(0, d, Exit::Open, n as u64)));
    let m = Model::learn(1, &bins, own_data_only()).unwrap();
    // An open stay of age a is a censoring at a − 1 in the textbook convention.
    let mut obs = Vec::new();
    for &(d, n) in &stays {
        obs.extend(std::iter::repeat_n(
            Observation {
                days: d,
                event: true,
            },
            n,
        ));
    }
    for &(d, n) in &open {
        obs.extend(std::iter::repeat_n(
            Observation {
                days: d - 1,
                event: false,
            },
            n,
        ));
    }
    let km = Survival::from_observations(&obs);
    for t in 0..12 {
        assert!(
            (m.stay_survival(0, t) - km.survival(t)).abs() < 1e-9,
            "day {t}: {} vs {}",
            m.stay_survival(0, t),
            km.survival(t)
        );
    }
}

#[test]
fn a_chain_of_stages_wins_on_the_right_day() {
    // Stage 0 moves to stage 1 after exactly 3 days; stage 1 is won after exactly 10.
    let m = Model::learn(
        2,
        &[bin(0, 3, Exit::Forward(1), 50), bin(1, 10, Exit::Won, 50)],
        own_data_only(),
    )
    .unwrap();
    assert!(close(m.win_probability(0, 0), 1.0));
    let t = m.win_timing(0, 0, 20);
    assert!((t.by_day[13] - 1.0).abs() < 1e-9);
    let t = m.win_timing(1, 4, 20);
    assert!((t.by_day[6] - 1.0).abs() < 1e-9);
    let o = m.outlook(0, 1);
    assert!(close(o.win_probability, 1.0));
    assert_eq!(o.median_days_to_win, Some(12));
    assert_eq!(o.based_on, 50);
    assert_eq!(m.outlook(0, 99).based_on, 0);
    let f = &m.figures()[0];
    assert_eq!(f.next.forward.len(), 1);
    assert!(close(f.next.forward[0].1, 1.0));
    let mut rng = SimRng::seed(1);
    let p = m.simulate_path(0, 1, &mut rng);
    assert_eq!(
        p,
        Path {
            end: PathEnd::Won,
            days: 12,
            moves: 1
        }
    );
}

#[test]
fn same_day_moves_and_cycles_are_solved() {
    // Stage 0 sends half its deals back and forth with stage 1 on the day they arrive.
    let m = Model::learn(
        2,
        &[
            bin(0, 0, Exit::Forward(1), 10),
            bin(1, 0, Exit::Backward(0), 5),
            bin(1, 0, Exit::Won, 5),
        ],
        own_data_only(),
    )
    .unwrap();
    // From 0: always to 1; from 1: won or back, each ½ → eventually always won, all on day 0.
    assert!((m.win_probability(0, 0) - 1.0).abs() < 1e-9);
    let t = m.win_timing(0, 0, 3);
    assert!((t.by_day[0] - 1.0).abs() < 1e-9);
    // A cycle with no way out is never won, and the iteration still ends.
    let m = Model::learn(
        2,
        &[
            bin(0, 1, Exit::Forward(1), 10),
            bin(1, 1, Exit::Backward(0), 10),
        ],
        own_data_only(),
    )
    .unwrap();
    assert_eq!(m.win_probability(0, 0), 0.0);
    let p = m.simulate_path(0, 0, &mut SimRng::seed(3));
    assert_eq!(p.end, PathEnd::Stalled);
}

#[test]
fn thin_stages_borrow_from_the_pipeline() {
    let rich = bin(0, 5, Exit::Won, 1000);
    let thin = bin(1, 1, Exit::Lost, 1);
    let alone = Model::learn(2, &[rich, thin], own_data_only()).unwrap();
    let shrunk = Model::learn(2, &[rich, thin], ModelConfig::default()).unwrap();
    assert!(alone.figures()[1].win_probability < 1e-9);
    let borrowed = shrunk.figures()[1].win_probability;
    assert!(borrowed > 0.3 && borrowed < 1.0, "{borrowed}");
    // The rich stage is barely moved.
    assert!(shrunk.figures()[0].win_probability > 0.99);
    // With plenty of its own data the thin stage speaks for itself again.
    let plenty = Model::learn(
        2,
        &[rich, bin(1, 1, Exit::Lost, 2000)],
        ModelConfig::default(),
    )
    .unwrap();
    assert!(plenty.figures()[1].win_probability < 0.01);
    assert_eq!(plenty.figures()[1].ended, 2000);
}

#[test]
fn bad_input_is_refused_or_skipped() {
    assert!(Model::learn(MAX_STAGES + 1, &[], ModelConfig::default()).is_err());
    for k in [f64::NAN, -1.0, f64::INFINITY] {
        let err = Model::learn(2, &[], ModelConfig { prior_strength: k }).unwrap_err();
        assert_eq!(err.errors[0].field, "prior_strength");
    }
    let m = Model::learn(
        2,
        &[
            bin(5, 1, Exit::Won, 3),
            bin(0, 1, Exit::Forward(0), 2),
            bin(0, 1, Exit::Forward(9), 1),
            bin(1, 2, Exit::Forward(0), 4), // a move back, whatever it was called
            bin(0, 1, Exit::Won, 0),
        ],
        ModelConfig::default(),
    )
    .unwrap();
    assert_eq!(m.ignored(), 6);
    assert_eq!(m.figures()[1].next.backward.len(), 1);
    assert!(m.figures()[1].next.forward.is_empty());
    // Nothing at all, or nothing ever ended: plain zeros, no NaN.
    for m in [
        Model::learn(0, &[], ModelConfig::default()).unwrap(),
        Model::learn(3, &[], ModelConfig::default()).unwrap(),
        Model::learn(3, &[bin(1, 30, Exit::Open, 9)], ModelConfig::default()).unwrap(),
    ] {
        assert!(!m.has_history());
        assert_eq!(m.win_probability(0, 0), 0.0);
        assert_eq!(m.win_probability(99, 0), 0.0);
        assert_eq!(m.stay_survival(0, 1000), 1.0);
        assert!(m.win_timing(0, 3, 10).by_day.iter().all(|p| *p == 0.0));
        let p = m.simulate_path(0, 0, &mut SimRng::seed(1));
        assert_eq!(p.end, PathEnd::Stalled);
        assert!(m.figures().iter().all(|f| f.median_days.is_none()));
    }
    // Absurd durations and counts are clamped, not trusted.
    let m = Model::learn(
        1,
        &[
            bin(0, u32::MAX, Exit::Won, u64::MAX),
            bin(0, u32::MAX, Exit::Open, u64::MAX),
        ],
        ModelConfig::default(),
    )
    .unwrap();
    assert_eq!(m.table_days(), MAX_DAYS + 1);
    assert!(m.win_probability(0, u32::MAX).is_finite());
}

#[test]
fn calibration_sets_configured_beside_observed_and_learned() {
    let m = one_stage();
    let rows = calibration(
        &[20, 60],
        &[
            ReachBin {
                max_stage: 0,
                outcome: Reach::Lost,
                count: 6,
            },
            ReachBin {
                max_stage: 1,
                outcome: Reach::Won,
                count: 3,
            },
            ReachBin {
                max_stage: 1,
                outcome: Reach::Lost,
                count: 1,
            },
            ReachBin {
                max_stage: 1,
                outcome: Reach::Open,
                count: 7,
            },
        ],
        &m,
    );
    assert_eq!(rows.len(), 2);
    // Stage 0 was passed by all 10 closed deals, 3 won; stage 1 by 4, 3 won.
    assert_eq!((rows[0].won, rows[0].closed), (3, 10));
    assert_eq!(rows[0].observed, Some(30.0));
    assert_eq!(rows[1].observed, Some(75.0));
    assert_eq!(rows[1].configured, 60.0);
    assert!(close(rows[0].learned, 50.0));
    assert_eq!(rows[0].learned_from, 8);
    assert_eq!((rows[1].learned, rows[1].learned_from), (0.0, 0));
    assert_eq!(calibration(&[50], &[], &m)[0].observed, None);
}

/// Cause-specific hazards computed the obvious way from the expanded stays.
fn naive_hazard(bins: &[StayBin], stage: usize, day: u32, exit: Exit) -> Option<f64> {
    let mut at_risk = 0u64;
    let mut exits = 0u64;
    for b in bins.iter().filter(|b| b.stage == stage) {
        let still_there = match b.exit {
            Exit::Open => b.days > day,
            _ => b.days >= day,
        };
        if still_there {
            at_risk += b.count;
        }
        if b.exit == exit && b.days == day {
            exits += b.count;
        }
    }
    (at_risk > 0).then(|| exits as f64 / at_risk as f64)
}

fn arb_bins(stages: usize) -> impl Strategy<Value = Vec<StayBin>> {
    let exit = (0..6usize, 0..stages).prop_map(move |(kind, to)| match kind {
        0 => Exit::Won,
        1 | 2 => Exit::Lost,
        3 => Exit::Forward(to),
        4 => Exit::Backward(to),
        _ => Exit::Open,
    });
    prop::collection::vec(
        (0..stages, 0u32..25, exit, 1u64..8).prop_map(|(stage, days, exit, count)| StayBin {
            stage,
            days,
            exit,
            count,
        }),
        0..30,
    )
}

proptest! {
    #[test]
    fn own_hazards_match_the_naive_count(bins in arb_bins(3)) {
        // Moves in the input may be mislabelled or point nowhere; keep the clean ones so the
        // naive count and the model see the same stays.
        let bins: Vec<StayBin> = bins.into_iter().filter(|b| match b.exit {
            Exit::Forward(k) => k > b.stage,
            Exit::Backward(k) => k < b.stage,
            _ => true,
        }).collect();
        let m = Model::learn(3, &bins, own_data_only()).unwrap();
        prop_assert_eq!(m.ignored(), 0);
        for s in 0..3 {
            let sm = &m.stage[s];
            for day in 0..(m.len() as u32) {
                let (row, _) = sm.row(day as usize);
                for (dest, h) in sm.dests.iter().zip(row) {
                    let exit = match dest {
                        Dest::Won => Exit::Won,
                        Dest::Lost => Exit::Lost,
                        Dest::Stage(k) if *k > s => Exit::Forward(*k),
                        Dest::Stage(k) => Exit::Backward(*k),
                    };
                    if let Some(naive) = naive_hazard(&bins, s, day, exit) {
                        prop_assert!((h - naive.min(HAZARD_CAP)).abs() < 1e-9,
                            "stage {} day {} {:?}: {} vs {}", s, day, dest, h, naive);
                    }
                }
            }
        }
    }

    #[test]
    fn chances_are_proper_and_consistent(bins in arb_bins(4), k in 0.0f64..20.0, age in 0u32..40, stage in 0usize..4) {
        let m = Model::learn(4, &bins, ModelConfig { prior_strength: k }).unwrap();
        for s in 0..4 {
            let f = &m.figures()[s];
            let total = f.next.won + f.next.lost + f.never_leaves
                + f.next.forward.iter().chain(&f.next.backward).map(|(_, p)| p).sum::<f64>();
            prop_assert!((total - 1.0).abs() < 1e-6, "stage {} sums to {}", s, total);
            prop_assert!((m.win_probability(s, 0) - f.win_probability).abs() < 1e-9);
        }
        let p = m.win_probability(stage, age);
        prop_assert!((0.0..=1.0).contains(&p));
        let t = m.win_timing(stage, age, 60);
        let within: f64 = t.by_day.iter().sum();
        prop_assert!(t.by_day.iter().all(|x| x.is_finite() && *x >= -1e-12));
        prop_assert!(within <= p + 1e-6, "{} > {}", within, p);
        prop_assert!((within + t.later - p).abs() < 1e-6 || within > p);
    }
}

#[test]
fn simulated_paths_agree_with_the_exact_distributions() {
    // A small pipeline with every kind of exit, some thin data and open stays.
    let bins = [
        bin(0, 2, Exit::Forward(1), 30),
        bin(0, 6, Exit::Forward(2), 10),
        bin(0, 4, Exit::Lost, 20),
        bin(0, 9, Exit::Open, 5),
        bin(1, 3, Exit::Forward(2), 25),
        bin(1, 8, Exit::Backward(0), 5),
        bin(1, 12, Exit::Lost, 10),
        bin(1, 5, Exit::Open, 4),
        bin(2, 4, Exit::Won, 20),
        bin(2, 15, Exit::Won, 5),
        bin(2, 10, Exit::Lost, 8),
        bin(2, 20, Exit::Open, 2),
    ];
    let m = Model::learn(3, &bins, ModelConfig::default()).unwrap();
    for (stage, age) in [(0, 0), (1, 6), (2, 11), (0, 30)] {
        let runs = 40_000u32;
        let horizon = 30;
        let exact = m.win_timing(stage, age, horizon);
        let mut won = 0u32;
        let mut by_day = vec![0u32; horizon as usize];
        for i in 0..runs {
            let mut rng = SimRng::stream(99, u64::from(i));
            let path = m.simulate_path(stage, age, &mut rng);
            if path.end == PathEnd::Won {
                won += 1;
                if path.days < horizon {
                    by_day[path.days as usize] += 1;
                }
            }
        }
        let p = m.win_probability(stage, age);
        let sim = f64::from(won) / f64::from(runs);
        let sd = (p * (1.0 - p) / f64::from(runs)).sqrt();
        assert!(
            (sim - p).abs() < 5.0 * sd + 1e-3,
            "stage {stage} age {age}: simulated {sim} vs exact {p}"
        );
        // The cumulative win-day distribution, checked every 5 days.
        let (mut cum_sim, mut cum_exact) = (0.0, 0.0);
        for (t, (sim_day, exact_day)) in by_day.iter().zip(&exact.by_day).enumerate() {
            cum_sim += f64::from(*sim_day) / f64::from(runs);
            cum_exact += exact_day;
            if t % 5 == 4 {
                assert!(
                    (cum_sim - cum_exact).abs() < 0.012,
                    "stage {stage} age {age} day {t}: {cum_sim} vs {cum_exact}"
                );
            }
        }
    }
}
