//! The Monte Carlo engine shared by the projection and the forecast: given the open deals and
//! some windows of future days, the expected won value and count in each window and
//! P10/P50/P90 of the won value.
//!
//! 1. **Exact chances first.** Deals in the same stage with the same age have the same
//!    prospects, so they are grouped, and for each group the model gives the exact chance of
//!    being won on each coming day (`model::timing`). Expected values are these chances times
//!    the deal values, summed: no sampling noise at all.
//! 2. **Simulation for the spread.** Each run draws, for every deal, whether and when it is
//!    won, and adds up the won value per window; P10/P50/P90 are taken over the runs. Each run
//!    has its own random stream derived from the seed, so the same seed and the same deals give
//!    the same numbers, whatever the order the deals arrive in.
//! 3. **The long tail of small deals in aggregate.** Drawing every one of 50,000 deals 10,000
//!    times is 500 million draws — seconds, not milliseconds. So the `exact_deals` largest
//!    deals are drawn one by one, and the sum of all the others enters each run as one draw
//!    per window from a translated gamma distribution with exactly their mean, variance and
//!    skewness (the standard approximation for a sum of many small independent amounts, used
//!    by insurers for aggregate claims). A sum of many small independent wins is very nearly
//!    that shape, and the deals that could make or break a week on their own are still drawn
//!    individually. With no more deals than `exact_deals`, every deal is drawn.
//!
//! Quantiles are per window: the P90 of two weeks is not the sum of their P90s.

use serde::{Deserialize, Serialize};

use super::model::Model;
use super::rng::SimRng;
use super::stats;

/// An open deal as the projection and forecast need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OpenDeal {
    /// Stage index (0-based, in pipeline order), as in the model.
    pub stage: usize,
    /// Whole days since it entered its current stage, measured like the model's stays.
    pub age_days: u32,
    /// Value in minor units of the pipeline's currency; below zero counts as zero.
    pub value: i64,
    /// The stage's configured win probability in percent (the weighted forecast uses it).
    pub probability: i64,
    /// The expected close date, if any (the weighted forecast uses it).
    pub expected_close: Option<jiff::civil::Date>,
}

/// Settings of the Monte Carlo simulation. Deserializes with defaults for missing fields, so an
/// API query can set just `seed` or `runs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Simulation {
    /// Number of simulated futures.
    pub runs: u32,
    /// Same seed, same deals → same numbers.
    pub seed: u64,
    /// How many of the largest deals are drawn one by one in each run; the rest are summed in
    /// aggregate (see the module documentation).
    pub exact_deals: usize,
}

impl Default for Simulation {
    fn default() -> Self {
        Simulation {
            runs: 10_000,
            seed: 0x5EED_2026,
            exact_deals: 1_000,
        }
    }
}

/// Most runs accepted: a million runs already pin P10/P90 far beyond any decision's needs.
pub const MAX_RUNS: u32 = 1_000_000;

/// Future days from today: `from` (0 = today) up to but not including `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub from: u32,
    pub until: u32,
}

/// The result for one window.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct WindowOutlook {
    pub expected_value: f64,
    pub expected_wins: f64,
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
}

/// Deals sharing stage and age.
struct Group {
    stage: usize,
    age: u32,
    /// Range in the sorted deal list.
    first: usize,
    end: usize,
    /// Chance of a win in each segment, then cumulative thresholds for drawing.
    segment: Vec<f64>,
}

/// Expected values and simulated quantiles for each window.
pub(crate) fn run(
    model: &Model,
    deals: &[OpenDeal],
    windows: &[Window],
    sim: &Simulation,
) -> Vec<WindowOutlook> {
    let mut out = vec![WindowOutlook::default(); windows.len()];
    let horizon = windows.iter().map(|w| w.until).max().unwrap_or(0) as usize;
    if horizon == 0 || deals.is_empty() {
        return out;
    }
    let table = model.table_days();

    // Canonical order: by stage, age and value. Groups are runs of it, and every sum below
    // is taken in this order, so the input order cannot change a single bit of the result.
    let mut sorted: Vec<(usize, u32, f64)> = deals
        .iter()
        .filter(|d| d.stage < model.stages())
        .map(|d| (d.stage, d.age_days.min(table), d.value.max(0) as f64))
        .collect();
    sorted.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(a.2.total_cmp(&b.2)));

    // Segments: the days between consecutive window boundaries.
    let mut bounds: Vec<u32> = windows
        .iter()
        .flat_map(|w| [w.from.min(w.until), w.until])
        .chain([0])
        .collect();
    bounds.sort_unstable();
    bounds.dedup();
    let segments = bounds.len() - 1;
    let window_segments: Vec<(usize, usize)> = windows
        .iter()
        .map(|w| {
            let lo = bounds.partition_point(|b| *b < w.from.min(w.until));
            let hi = bounds.partition_point(|b| *b < w.until);
            (lo, hi)
        })
        .collect();

    let mut groups: Vec<Group> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let (stage, age, _) = sorted[i];
        let mut end = i;
        while end < sorted.len() && sorted[end].0 == stage && sorted[end].1 == age {
            end += 1;
        }
        groups.push(Group {
            stage,
            age,
            first: i,
            end,
            segment: vec![0.0; segments],
        });
        i = end;
    }

    // Exact chances per group and segment, one stage at a time.
    let entry = model.entry_win_days(horizon);
    let mut g = 0;
    while g < groups.len() {
        let stage = groups[g].stage;
        let mut g_end = g;
        while g_end < groups.len() && groups[g_end].stage == stage {
            g_end += 1;
        }
        let ages: Vec<u32> = groups[g..g_end].iter().map(|x| x.age).collect();
        // Rows arrive oldest first, one per age: walk the stage's groups backwards.
        let mut slot = g_end;
        model.win_days_by_age(stage, &ages, horizon, &entry, |age, row| {
            while slot > g && groups[slot - 1].age > age {
                slot -= 1;
            }
            if slot > g && groups[slot - 1].age == age {
                slot -= 1;
                for (s, p) in groups[slot].segment.iter_mut().enumerate() {
                    let (a, b) = (bounds[s] as usize, bounds[s + 1] as usize);
                    *p = row[a.min(horizon)..b.min(horizon)]
                        .iter()
                        .sum::<f64>()
                        .max(0.0);
                }
            }
        });
        g = g_end;
    }

    // Expected figures, exact.
    let window_chance = |group: &Group, w: usize| -> f64 {
        let (lo, hi) = window_segments[w];
        group.segment[lo..hi].iter().sum::<f64>().clamp(0.0, 1.0)
    };
    for group in &groups {
        let n = (group.end - group.first) as f64;
        let value: f64 = sorted[group.first..group.end].iter().map(|d| d.2).sum();
        for (w, o) in out.iter_mut().enumerate() {
            let p = window_chance(group, w);
            o.expected_value += p * value;
            o.expected_wins += p * n;
        }
    }
    if sim.runs == 0 {
        return out;
    }

    // Which deals are drawn one by one: the largest, ties broken canonically.
    let mut group_of = vec![0usize; sorted.len()];
    for (gi, group) in groups.iter().enumerate() {
        group_of[group.first..group.end].fill(gi);
    }
    let mut order: Vec<usize> = (0..sorted.len()).collect();
    let exact_count = sim.exact_deals.min(sorted.len());
    let by_size = |a: &usize, b: &usize| sorted[*b].2.total_cmp(&sorted[*a].2).then(a.cmp(b));
    if exact_count < order.len() {
        order.select_nth_unstable_by(exact_count, by_size);
    }
    order.truncate(exact_count);
    order.sort_unstable_by(by_size);
    let mut is_exact = vec![false; sorted.len()];
    for &d in &order {
        is_exact[d] = true;
    }

    // Drawing thresholds per group: cumulative segment chances scaled to 32 bits.
    let thresholds: Vec<Vec<u32>> = groups
        .iter()
        .map(|group| {
            let mut cum = 0.0;
            group
                .segment
                .iter()
                .map(|p| {
                    cum += p;
                    (cum.min(1.0) * 4_294_967_296.0).min(4_294_967_295.0) as u32
                })
                .collect()
        })
        .collect();
    let exact: Vec<(f64, &[u32])> = order
        .iter()
        .map(|&d| (sorted[d].2, thresholds[group_of[d]].as_slice()))
        .collect();

    // The rest, in aggregate: mean, variance and third central moment per window.
    let mut rest = vec![[0.0f64; 3]; windows.len()];
    for group in &groups {
        let (mut s1, mut s2, mut s3) = (0.0, 0.0, 0.0);
        for d in group.first..group.end {
            if !is_exact[d] {
                let v = sorted[d].2;
                s1 += v;
                s2 += v * v;
                s3 += v * v * v;
            }
        }
        if s1 == 0.0 {
            continue;
        }
        for (w, m) in rest.iter_mut().enumerate() {
            let p = window_chance(group, w);
            m[0] += p * s1;
            m[1] += p * (1.0 - p) * s2;
            m[2] += p * (1.0 - p) * (1.0 - 2.0 * p) * s3;
        }
    }
    let aggregates: Vec<Aggregate> = rest
        .iter()
        .map(|m| Aggregate::from_moments(m[0], m[1], m[2]))
        .collect();

    let runs = sim.runs.min(MAX_RUNS) as usize;
    let mut results = vec![0.0f64; windows.len() * runs];
    let mut seg_acc = vec![0.0f64; segments];
    for r in 0..runs {
        let mut rng = SimRng::stream(sim.seed, r as u64);
        seg_acc.fill(0.0);
        let mut pairs = exact.chunks_exact(2);
        for pair in &mut pairs {
            let bits = rng.next_u64();
            draw(pair[0], bits as u32, &mut seg_acc);
            draw(pair[1], (bits >> 32) as u32, &mut seg_acc);
        }
        if let [last] = pairs.remainder() {
            draw(*last, rng.next_u64() as u32, &mut seg_acc);
        }
        for (w, &(lo, hi)) in window_segments.iter().enumerate() {
            let drawn: f64 = seg_acc[lo..hi].iter().sum();
            results[w * runs + r] = drawn + aggregates[w].sample(&mut rng);
        }
    }
    for (w, o) in out.iter_mut().enumerate() {
        let values = &mut results[w * runs..(w + 1) * runs];
        let q = stats::quantiles_unsorted(values, &[0.1, 0.5, 0.9]);
        o.p10 = q[0].unwrap_or(0.0);
        o.p50 = q[1].unwrap_or(0.0);
        o.p90 = q[2].unwrap_or(0.0);
    }
    out
}

/// Draw one deal: with 32 random bits, find the segment it is won in, if any.
#[inline]
fn draw((value, thresholds): (f64, &[u32]), u: u32, acc: &mut [f64]) {
    match thresholds.last() {
        Some(&won) if u < won => {
            let seg = thresholds.partition_point(|t| *t <= u);
            if let Some(a) = acc.get_mut(seg) {
                *a += value;
            }
        }
        _ => {}
    }
}

/// The distribution a window's aggregate of small deals is drawn from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Aggregate {
    Fixed(f64),
    Normal { mean: f64, sd: f64 },
    Gamma { shift: f64, scale: f64, shape: f64 },
}

impl Aggregate {
    /// Match mean, variance and third central moment; a translated gamma when skewed, a normal
    /// when (nearly) symmetric, a constant when there is no spread.
    fn from_moments(mean: f64, var: f64, third: f64) -> Aggregate {
        if !(mean.is_finite() && var.is_finite() && third.is_finite()) {
            return Aggregate::Fixed(if mean.is_finite() { mean } else { 0.0 });
        }
        if var <= 1e-12 * (1.0 + mean * mean) {
            return Aggregate::Fixed(mean);
        }
        let sd = var.sqrt();
        let skew = third / (var * sd);
        if skew < 0.01 {
            return Aggregate::Normal { mean, sd };
        }
        Aggregate::Gamma {
            shift: mean - 2.0 * sd / skew,
            scale: sd * skew / 2.0,
            shape: 4.0 / (skew * skew),
        }
    }

    /// One draw; never below zero (won value cannot be negative).
    fn sample(&self, rng: &mut SimRng) -> f64 {
        let x = match *self {
            Aggregate::Fixed(v) => v,
            Aggregate::Normal { mean, sd } => mean + sd * rng.normal(),
            Aggregate::Gamma {
                shift,
                scale,
                shape,
            } => shift + scale * rng.gamma(shape),
        };
        if x.is_finite() { x.max(0.0) } else { 0.0 }
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
