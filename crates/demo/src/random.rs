//! The few distributions the simulation needs, over one seeded generator so that a seed
//! fixes every figure. Written out here rather than taken from `rand_distr` because they are
//! short and their exact algorithm is then part of what a seed means.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

pub(crate) type Rng = ChaCha8Rng;

/// A uniform draw in `[0, 1)`.
pub(crate) fn unit(rng: &mut Rng) -> f64 {
    rng.random::<f64>()
}

pub(crate) fn chance(rng: &mut Rng, p: f64) -> bool {
    unit(rng) < p
}

/// A uniform draw in `[low, high)`; `low` when the range is empty.
pub(crate) fn between(rng: &mut Rng, low: f64, high: f64) -> f64 {
    if high <= low {
        return low;
    }
    low + (high - low) * unit(rng)
}

/// A uniform whole number in `low..=high`.
pub(crate) fn int(rng: &mut Rng, low: i64, high: i64) -> i64 {
    if high <= low {
        return low;
    }
    rng.random_range(low..=high)
}

/// A standard normal draw (Box–Muller).
pub(crate) fn normal(rng: &mut Rng) -> f64 {
    let u1 = unit(rng).max(f64::MIN_POSITIVE);
    let u2 = unit(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A log-normal draw with the given median: durations and deal values are skewed, with a
/// long tail of slow deals and big tickets.
pub(crate) fn log_normal(rng: &mut Rng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

/// A Poisson draw: the number of arrivals in a day with expected count `lambda`.
pub(crate) fn poisson(rng: &mut Rng, lambda: f64) -> u32 {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda > 60.0 {
        // Knuth's product underflows for large means; the normal approximation is close.
        let draw = lambda + lambda.sqrt() * normal(rng);
        return draw.round().max(0.0) as u32;
    }
    let limit = (-lambda).exp();
    let mut product = unit(rng);
    let mut count = 0;
    while product > limit {
        count += 1;
        product *= unit(rng);
    }
    count
}

/// An index drawn with probability proportional to its weight.
pub(crate) fn weighted(rng: &mut Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut pick = unit(rng) * total;
    for (i, w) in weights.iter().enumerate() {
        if pick < *w {
            return i;
        }
        pick -= w;
    }
    weights.len().saturating_sub(1)
}

/// One element of a non-empty slice, uniformly.
pub(crate) fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    let i = int(rng, 0, items.len() as i64 - 1) as usize;
    &items[i.min(items.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn poisson_draws_have_the_asked_mean() {
        let mut rng = Rng::seed_from_u64(7);
        for lambda in [0.5, 8.0, 90.0] {
            let n = 20_000;
            let sum: u64 = (0..n).map(|_| u64::from(poisson(&mut rng, lambda))).sum();
            let mean = sum as f64 / n as f64;
            assert!(
                (mean - lambda).abs() < lambda * 0.03 + 0.02,
                "{lambda}: {mean}"
            );
        }
    }

    #[test]
    fn log_normal_draws_have_the_asked_median() {
        let mut rng = Rng::seed_from_u64(8);
        let mut draws: Vec<f64> = (0..10_001)
            .map(|_| log_normal(&mut rng, 10.0, 0.8))
            .collect();
        draws.sort_by(f64::total_cmp);
        assert!((draws[5_000] - 10.0).abs() < 0.5, "{}", draws[5_000]);
    }

    #[test]
    fn weighted_picks_follow_the_weights() {
        let mut rng = Rng::seed_from_u64(9);
        let mut hits = [0u32; 3];
        for _ in 0..30_000 {
            hits[weighted(&mut rng, &[1.0, 0.0, 3.0])] += 1;
        }
        assert_eq!(hits[1], 0);
        let share = f64::from(hits[2]) / 30_000.0;
        assert!((share - 0.75).abs() < 0.02, "{share}");
    }
}
