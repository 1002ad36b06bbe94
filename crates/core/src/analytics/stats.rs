//! Descriptive statistics: mean, sample standard deviation, coefficient of variation and
//! quantiles, over lists of numbers and over integer histograms.
//!
//! Large data arrives from the store as histograms (value → count: cycle times in whole days,
//! for instance), so every statistic here has a histogram form that gives the same answer as
//! the expanded list.
//!
//! **Quantile method.** Linear interpolation between the closest ranks — Hyndman & Fan type 7,
//! the default of R, NumPy and spreadsheets' `PERCENTILE.INC`: with the n values sorted as
//! x₀ ≤ … ≤ xₙ₋₁, the q-quantile is at rank h = (n − 1)·q, between x⌊h⌋ and x⌊h⌋₊₁. So the
//! median of 2, 4, 9, 10 is 6.5 and its 90th percentile is 9.7.
//!
//! Values that are not finite (NaN, ±∞) are ignored by the list functions, so that a single
//! bad figure cannot turn a whole report into NaN.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The arithmetic mean; `None` for no values.
pub fn mean(xs: &[f64]) -> Option<f64> {
    let (n, sum) = xs
        .iter()
        .filter(|x| x.is_finite())
        .fold((0u64, 0.0), |(n, s), x| (n + 1, s + x));
    (n > 0).then(|| sum / n as f64).filter(|m| m.is_finite())
}

/// The sample standard deviation (dividing by n − 1); `None` for fewer than two values.
pub fn sample_sd(xs: &[f64]) -> Option<f64> {
    let m = mean(xs)?;
    let (n, ss) = xs
        .iter()
        .filter(|x| x.is_finite())
        .fold((0u64, 0.0), |(n, s), x| (n + 1, s + (x - m) * (x - m)));
    (n > 1)
        .then(|| (ss / (n - 1) as f64).sqrt())
        .filter(|s| s.is_finite())
}

/// The coefficient of variation, sd ÷ mean; `None` when the mean is zero (or either figure is
/// not finite), where the ratio means nothing.
pub fn cv(mean: f64, sd: f64) -> Option<f64> {
    (mean != 0.0 && mean.is_finite() && sd.is_finite()).then(|| sd / mean)
}

/// The q-quantile (0 ≤ q ≤ 1) by the module's method; `None` for no values or a q outside
/// [0, 1].
pub fn quantile(xs: &[f64], q: f64) -> Option<f64> {
    let mut sorted: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    quantile_sorted(&sorted, q)
}

/// [`quantile`] over values already sorted ascending (and all finite).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    let (lo, hi, frac) = ranks(sorted.len() as u64, q)?;
    Some(interpolate(sorted[lo as usize], sorted[hi as usize], frac))
}

/// [`quantile`] for several q at once over finite values in any order, by selection rather
/// than a full sort (linear time per q): the simulations take three quantiles of 10,000 runs
/// per bucket. The slice is reordered. `None` for an empty slice or a q outside [0, 1].
pub fn quantiles_unsorted(values: &mut [f64], qs: &[f64]) -> Vec<Option<f64>> {
    qs.iter()
        .map(|&q| {
            let (lo, hi, frac) = ranks(values.len() as u64, q)?;
            let (_, lo_value, rest) = values.select_nth_unstable_by(lo as usize, f64::total_cmp);
            let lo_value = *lo_value;
            // The next rank up is the smallest value above the selected one.
            let hi_value = if hi > lo {
                rest.iter()
                    .copied()
                    .min_by(f64::total_cmp)
                    .unwrap_or(lo_value)
            } else {
                lo_value
            };
            Some(interpolate(lo_value, hi_value, frac))
        })
        .collect()
}

/// The two ranks and the weight of the upper one for the q-quantile of n sorted values.
fn ranks(n: u64, q: f64) -> Option<(u64, u64, f64)> {
    if n == 0 || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let h = (n - 1) as f64 * q;
    let lo = (h.floor() as u64).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    Some((lo, hi, h - lo as f64))
}

/// One formula for lists and histograms, so that both give bit-identical results.
fn interpolate(lo: f64, hi: f64, frac: f64) -> f64 {
    if frac == 0.0 {
        lo
    } else {
        lo + frac * (hi - lo)
    }
}

/// The usual figures of a set of values. Each is `None` where it is undefined (no values; one
/// value for the standard deviation; a zero mean for the coefficient of variation).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Summary {
    /// How many values the figures rest on.
    pub n: u64,
    /// Arithmetic mean.
    pub mean: Option<f64>,
    /// Sample standard deviation (n − 1).
    pub sd: Option<f64>,
    /// Coefficient of variation, sd ÷ mean.
    pub cv: Option<f64>,
    /// Median (50th percentile).
    pub median: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
}

/// All of [`Summary`] for a list of values.
pub fn summarize(xs: &[f64]) -> Summary {
    let mut sorted: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let mean = mean(&sorted);
    let sd = sample_sd(&sorted);
    Summary {
        n: sorted.len() as u64,
        mean,
        sd,
        cv: mean.zip(sd).and_then(|(m, s)| cv(m, s)),
        median: quantile_sorted(&sorted, 0.5),
        p90: quantile_sorted(&sorted, 0.9),
    }
}

/// Integer values with their counts, such as cycle times in whole days: 3 deals took 12 days,
/// 1 took 40. Histograms from different groups merge by adding counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    counts: BTreeMap<i64, u64>,
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Histogram {
        Histogram::default()
    }

    /// A histogram of the given values, each counted once.
    pub fn from_values(values: impl IntoIterator<Item = i64>) -> Histogram {
        let mut h = Histogram::new();
        for v in values {
            h.add(v, 1);
        }
        h
    }

    /// Count `value` `count` more times.
    pub fn add(&mut self, value: i64, count: u64) {
        if count > 0 {
            let c = self.counts.entry(value).or_insert(0);
            *c = c.saturating_add(count);
        }
    }

    /// Add every count of `other` to this histogram.
    pub fn merge(&mut self, other: &Histogram) {
        for (&v, &c) in &other.counts {
            self.add(v, c);
        }
    }

    /// The number of values counted.
    pub fn count(&self) -> u64 {
        self.counts
            .values()
            .fold(0u64, |total, c| total.saturating_add(*c))
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// (value, count) pairs in ascending order of value.
    pub fn iter(&self) -> impl Iterator<Item = (i64, u64)> + '_ {
        self.counts.iter().map(|(&v, &c)| (v, c))
    }

    /// The arithmetic mean; `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        // An exact integer sum first: the values may be large and the counts many.
        let sum: i128 = self
            .iter()
            .map(|(v, c)| i128::from(v) * i128::from(c))
            .sum();
        Some(sum as f64 / n as f64)
    }

    /// The sample standard deviation (n − 1); `None` for fewer than two values.
    pub fn sample_sd(&self) -> Option<f64> {
        let n = self.count();
        let m = self.mean()?;
        if n < 2 {
            return None;
        }
        let ss: f64 = self
            .iter()
            .map(|(v, c)| c as f64 * (v as f64 - m) * (v as f64 - m))
            .sum();
        Some((ss / (n - 1) as f64).sqrt())
    }

    /// The q-quantile by the module's method: exactly the quantile of the expanded list.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let (lo, hi, frac) = ranks(self.count(), q)?;
        let lo_value = self.value_at_rank(lo)?;
        let hi_value = self.value_at_rank(hi)?;
        Some(interpolate(lo_value as f64, hi_value as f64, frac))
    }

    /// The value at 0-based `rank` of the expanded, sorted list.
    fn value_at_rank(&self, rank: u64) -> Option<i64> {
        let mut seen = 0u64;
        for (v, c) in self.iter() {
            seen = seen.saturating_add(c);
            if rank < seen {
                return Some(v);
            }
        }
        None
    }

    /// All of [`Summary`].
    pub fn summary(&self) -> Summary {
        let mean = self.mean();
        let sd = self.sample_sd();
        Summary {
            n: self.count(),
            mean,
            sd,
            cv: mean.zip(sd).and_then(|(m, s)| cv(m, s)),
            median: self.quantile(0.5),
            p90: self.quantile(0.9),
        }
    }
}

impl FromIterator<i64> for Histogram {
    fn from_iter<I: IntoIterator<Item = i64>>(iter: I) -> Self {
        Histogram::from_values(iter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hand_worked_figures() {
        let xs = [2.0, 4.0, 9.0, 10.0];
        assert_eq!(mean(&xs), Some(6.25));
        // Deviations −4.25, −2.25, 2.75, 3.75; squares sum to 44.75; ÷ 3.
        assert_eq!(sample_sd(&xs), Some((44.75f64 / 3.0).sqrt()));
        assert_eq!(quantile(&xs, 0.5), Some(6.5));
        // h = 3 × 0.9 = 2.7: 9 + 0.7 × (10 − 9).
        assert!((quantile(&xs, 0.9).unwrap() - 9.7).abs() < 1e-12);
        assert_eq!(quantile(&xs, 0.0), Some(2.0));
        assert_eq!(quantile(&xs, 1.0), Some(10.0));
        assert_eq!(quantile(&[10.0, 2.0, 9.0, 4.0], 0.25), Some(3.5));
        assert_eq!(cv(6.25, 2.5), Some(0.4));
    }

    #[test]
    fn undefined_figures_are_none_not_nan() {
        assert_eq!(mean(&[]), None);
        assert_eq!(sample_sd(&[3.0]), None);
        assert_eq!(cv(0.0, 1.0), None);
        assert_eq!(cv(f64::NAN, 1.0), None);
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[1.0], 1.5), None);
        assert_eq!(quantile(&[1.0], f64::NAN), None);
        assert_eq!(mean(&[f64::NAN, 1.0, f64::INFINITY, 3.0]), Some(2.0));
        let s = summarize(&[]);
        assert_eq!(s, Summary::default());
        let s = summarize(&[0.0, 0.0]);
        assert_eq!((s.mean, s.sd, s.cv), (Some(0.0), Some(0.0), None));
        let h = Histogram::new();
        assert_eq!(h.summary(), Summary::default());
        assert_eq!(mean(&[f64::MAX, f64::MAX]), None, "overflow is not a mean");
    }

    #[test]
    fn histograms_count_merge_and_summarise() {
        let mut a = Histogram::from_values([12, 12, 12, 40]);
        let b: Histogram = [5, 12].into_iter().collect();
        a.merge(&b);
        a.add(7, 0);
        assert_eq!(a.count(), 6);
        assert_eq!(a.iter().collect::<Vec<_>>(), [(5, 1), (12, 4), (40, 1)]);
        // 5, 12, 12, 12, 12, 40: median between ranks 2 and 3 → 12; p90 at rank 4.5 → 26.
        assert_eq!(a.quantile(0.5), Some(12.0));
        assert_eq!(a.quantile(0.9), Some(26.0));
        assert_eq!(a.mean(), Some(93.0 / 6.0));
        let s = a.summary();
        assert_eq!(s.n, 6);
        assert_eq!(s.median, Some(12.0));
    }

    proptest! {
        #[test]
        fn histogram_figures_equal_the_expanded_list(
            pairs in prop::collection::vec((-1000i64..1000, 1u64..6), 0..40),
            q in 0.0f64..=1.0,
        ) {
            let mut h = Histogram::new();
            let mut list = Vec::new();
            for (v, c) in &pairs {
                h.add(*v, *c);
                list.extend(std::iter::repeat_n(*v as f64, *c as usize));
            }
            prop_assert_eq!(h.count(), list.len() as u64);
            prop_assert_eq!(h.quantile(q), quantile(&list, q));
            prop_assert_eq!(h.quantile(0.5), quantile(&list, 0.5));
            prop_assert_eq!(h.quantile(0.9), quantile(&list, 0.9));
            match (h.mean(), mean(&list)) {
                (Some(a), Some(b)) => prop_assert!((a - b).abs() <= 1e-9 * (1.0 + b.abs())),
                (a, b) => prop_assert_eq!(a, b),
            }
            match (h.sample_sd(), sample_sd(&list)) {
                (Some(a), Some(b)) => prop_assert!((a - b).abs() <= 1e-9 * (1.0 + b.abs())),
                (a, b) => prop_assert_eq!(a, b),
            }
        }

        #[test]
        fn quantiles_match_a_naive_definition(
            xs in prop::collection::vec(-1e6f64..1e6, 1..60),
            q in 0.0f64..=1.0,
        ) {
            // Naive: sort, then walk to the two ranks around (n − 1)q.
            let mut s = xs.clone();
            s.sort_by(|a, b| a.partial_cmp(b).unwrap());
            let h = (s.len() - 1) as f64 * q;
            let lo = h.floor() as usize;
            let hi = h.ceil() as usize;
            let naive = s[lo] + (h - lo as f64) * (s[hi] - s[lo]);
            let got = quantile(&xs, q).unwrap();
            prop_assert!((got - naive).abs() <= 1e-9 * (1.0 + naive.abs()));
            prop_assert!(s[0] <= got && got <= s[s.len() - 1]);
        }

        #[test]
        fn selection_gives_the_sorted_answer(
            xs in prop::collection::vec(-1e3f64..1e3, 0..80),
            qs in prop::collection::vec(0.0f64..=1.0, 1..4),
        ) {
            let mut scratch = xs.clone();
            let got = quantiles_unsorted(&mut scratch, &qs);
            for (q, g) in qs.iter().zip(got) {
                prop_assert_eq!(g, quantile(&xs, *q));
            }
        }

        #[test]
        fn mean_and_sd_match_the_textbook_formulas(xs in prop::collection::vec(-1e6f64..1e6, 2..60)) {
            let n = xs.len() as f64;
            let m = xs.iter().sum::<f64>() / n;
            let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
            prop_assert!((mean(&xs).unwrap() - m).abs() <= 1e-6);
            prop_assert!((sample_sd(&xs).unwrap() - var.sqrt()).abs() <= 1e-6);
        }
    }
}
