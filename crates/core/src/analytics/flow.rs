//! Flow: a figure per week or month (inflow of leads and deals, closes) with its mean, sample
//! standard deviation and coefficient of variation, and each bucket marked as a peak or a
//! valley when it lies more than one standard deviation above or below the mean of the window
//! (DESIGN.md, "Inflow").

use jiff::civil::Date;
use serde::Serialize;

use super::period::{Bucket, Grain, Period, buckets};
use super::stats;

/// One bucket's figure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BucketValue {
    /// The bucket.
    pub bucket: Bucket,
    /// Its figure (a count or an amount in minor units).
    pub value: f64,
    /// The bucket reaches outside the period (a week cut by the period's first or last day),
    /// so its figure covers only part of it.
    pub partial: bool,
}

/// How a bucket compares with the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mark {
    /// More than one standard deviation above the mean.
    Peak,
    /// More than one standard deviation below the mean.
    Valley,
    /// Within one standard deviation of the mean.
    Normal,
    /// A partial bucket: not compared, and left out of the mean and deviation, because a
    /// three-day week would otherwise always look like a valley.
    Partial,
}

/// One bucket with its standing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FlowPoint {
    /// The bucket.
    pub bucket: Bucket,
    /// Its figure.
    pub value: f64,
    /// (value − mean) ÷ sd; `None` when the deviation is zero or undefined.
    pub z: Option<f64>,
    /// Peak, valley, normal or partial.
    pub mark: Mark,
}

/// The flow over a window of buckets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flow {
    /// Whole buckets the figures rest on.
    pub n: u64,
    /// Mean of the whole buckets.
    pub mean: Option<f64>,
    /// Sample standard deviation (n − 1) of the whole buckets.
    pub sd: Option<f64>,
    /// sd ÷ mean; `None` for a zero mean.
    pub cv: Option<f64>,
    /// Every bucket of the series, in order.
    pub points: Vec<FlowPoint>,
}

/// Every bucket of `grain` overlapping `period`, with the figures of `daily` (date, amount)
/// added up per bucket. Buckets without any figure get zero: a week without a single new lead
/// is the valley we most want to see, and a `GROUP BY` never returns it. Dates outside the
/// period are ignored.
pub fn series(period: Period, grain: Grain, daily: &[(Date, f64)]) -> Vec<BucketValue> {
    let mut out: Vec<BucketValue> = buckets(period, grain)
        .into_iter()
        .map(|bucket| BucketValue {
            bucket,
            value: 0.0,
            partial: bucket.start < period.from || bucket.end > period.to,
        })
        .collect();
    for &(date, amount) in daily {
        if !period.contains(date) || !amount.is_finite() {
            continue;
        }
        // Buckets are sorted and contiguous: find the one holding `date`.
        let i = out.partition_point(|b| b.bucket.end < date);
        if let Some(b) = out.get_mut(i) {
            b.value += amount;
        }
    }
    out
}

/// Mean, deviation and marks of a series of bucket figures, in the given order. Partial
/// buckets are marked [`Mark::Partial`] and left out of the figures — unless every bucket is
/// partial, in which case they are all used (better a rough answer than none).
pub fn flow(series: &[BucketValue]) -> Flow {
    let whole: Vec<f64> = series
        .iter()
        .filter(|b| !b.partial)
        .map(|b| b.value)
        .collect();
    let use_all = whole.is_empty();
    let values: Vec<f64> = if use_all {
        series.iter().map(|b| b.value).collect()
    } else {
        whole
    };
    let mean = stats::mean(&values);
    let sd = stats::sample_sd(&values);
    let points = series
        .iter()
        .map(|b| {
            let z = match (mean, sd) {
                (Some(m), Some(s)) if s > 0.0 && b.value.is_finite() => Some((b.value - m) / s),
                _ => None,
            };
            let mark = if b.partial && !use_all {
                Mark::Partial
            } else {
                match z {
                    Some(z) if z > 1.0 => Mark::Peak,
                    Some(z) if z < -1.0 => Mark::Valley,
                    _ => Mark::Normal,
                }
            };
            FlowPoint {
                bucket: b.bucket,
                value: b.value,
                z,
                mark,
            }
        })
        .collect();
    Flow {
        n: values.iter().filter(|v| v.is_finite()).count() as u64,
        mean,
        sd,
        cv: mean.zip(sd).and_then(|(m, s)| stats::cv(m, s)),
        points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::period::bucket_of;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn weeks(values: &[f64]) -> Vec<BucketValue> {
        let mut b = bucket_of(date(2026, 1, 5), Grain::Week);
        values
            .iter()
            .map(|&value| {
                let out = BucketValue {
                    bucket: b,
                    value,
                    partial: false,
                };
                b = b.next().unwrap();
                out
            })
            .collect()
    }

    #[test]
    fn peaks_and_valleys_by_hand() {
        // Mean 10; deviations 0, 0, 0, 6, −6, 0 → squares 72 ÷ 5 = 14.4 → sd ≈ 3.795.
        let f = flow(&weeks(&[10.0, 10.0, 10.0, 16.0, 4.0, 10.0]));
        assert_eq!(f.n, 6);
        assert_eq!(f.mean, Some(10.0));
        let sd = 14.4f64.sqrt();
        assert_eq!(f.sd, Some(sd));
        assert_eq!(f.cv, Some(sd / 10.0));
        let marks: Vec<Mark> = f.points.iter().map(|p| p.mark).collect();
        use Mark::*;
        assert_eq!(marks, [Normal, Normal, Normal, Peak, Valley, Normal]);
        assert_eq!(f.points[3].z, Some(6.0 / sd));
        assert_eq!(f.points[0].bucket.key(), "2026-W02");
    }

    #[test]
    fn flat_empty_and_single_series_mark_nothing() {
        let f = flow(&weeks(&[5.0, 5.0, 5.0]));
        assert_eq!(f.sd, Some(0.0));
        assert!(
            f.points
                .iter()
                .all(|p| p.mark == Mark::Normal && p.z.is_none())
        );
        let f = flow(&[]);
        assert_eq!((f.n, f.mean, f.sd, f.cv), (0, None, None, None));
        let f = flow(&weeks(&[0.0, 0.0]));
        assert_eq!(f.cv, None, "zero mean has no coefficient of variation");
        let f = flow(&weeks(&[7.0]));
        assert_eq!((f.mean, f.sd), (Some(7.0), None));
    }

    #[test]
    fn series_fills_empty_buckets_and_flags_partial_ones() {
        // Wednesday 7 January to Sunday 1 February 2026: W02 is cut, W03–W05 are whole.
        let period = Period::new(date(2026, 1, 7), date(2026, 2, 1)).unwrap();
        let daily = [
            (date(2026, 1, 7), 2.0),
            (date(2026, 1, 13), 3.0),
            (date(2026, 1, 14), 1.0),
            (date(2026, 1, 30), 8.0),
            (date(2025, 12, 31), 100.0),
            (date(2026, 1, 31), f64::NAN),
        ];
        let s = series(period, Grain::Week, &daily);
        let got: Vec<(String, f64, bool)> = s
            .iter()
            .map(|b| (b.bucket.key(), b.value, b.partial))
            .collect();
        assert_eq!(
            got,
            [
                ("2026-W02".to_string(), 2.0, true),
                ("2026-W03".to_string(), 4.0, false),
                ("2026-W04".to_string(), 0.0, false),
                ("2026-W05".to_string(), 8.0, false),
            ]
        );
        let f = flow(&s);
        assert_eq!(f.n, 3);
        assert_eq!(f.mean, Some(4.0));
        assert_eq!(f.points[0].mark, Mark::Partial);
        // Only partial buckets: use them rather than say nothing.
        let one_day = Period::new(date(2026, 1, 7), date(2026, 1, 7)).unwrap();
        let f = flow(&series(one_day, Grain::Month, &daily));
        assert_eq!((f.n, f.mean), (1, Some(2.0)));
    }

    proptest! {
        #[test]
        fn marks_agree_with_the_definition(values in prop::collection::vec(0u32..50, 0..30)) {
            let values: Vec<f64> = values.into_iter().map(f64::from).collect();
            let f = flow(&weeks(&values));
            // Naive: recompute mean and sd by the textbook and compare each bucket directly.
            let n = values.len() as f64;
            for (p, v) in f.points.iter().zip(&values) {
                prop_assert!(p.z.is_none_or(|z| z.is_finite()));
                if values.len() < 2 { prop_assert_eq!(p.mark, Mark::Normal); continue; }
                let m = values.iter().sum::<f64>() / n;
                let sd = (values.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
                let expected = if sd > 0.0 && *v > m + sd + 1e-9 { Mark::Peak }
                    else if sd > 0.0 && *v < m - sd - 1e-9 { Mark::Valley }
                    else { p.mark }; // within rounding of the boundary: either is right
                prop_assert_eq!(p.mark, expected);
                if sd > 0.0 && (*v - m).abs() < sd - 1e-9 { prop_assert_eq!(p.mark, Mark::Normal); }
            }
        }
    }
}
