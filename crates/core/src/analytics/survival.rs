//! The Kaplan–Meier estimator of a duration distribution from right-censored data.
//!
//! Durations are whole days. An *event* ends a duration at a known day (a deal left the
//! stage); a *censored* observation is one whose end we have not seen yet (the deal is still
//! there), and all we know is that the duration is longer. Averaging only the finished
//! durations would be biased toward short ones — every long stay still in progress would be
//! missing — which is why the product uses this estimator (DESIGN.md, "Projection and
//! forecast method").
//!
//! Conventions, as in the textbooks:
//! - S(t) = P(T > t), the share still going after day t.
//! - A subject censored at day c is known to last longer than c: it is counted at risk at c
//!   (events at a day are taken to happen before censorings at that day).
//! - At each day t with events: S(t) = S(t⁻) × (1 − events ÷ at risk).
//!
//! **The censored tail.** When the longest observation is censored, the curve stops above zero
//! and says nothing about later days. Quantiles that the curve does not reach are then
//! *extrapolated* — and flagged as such — with a constant daily exit rate beyond the last
//! observed day: λ = events ÷ days at risk, summed over all subjects (the maximum-likelihood
//! rate of a constant-hazard model on the same data). It is the plainest assumption that keeps
//! every answer finite; it is likely optimistic for very stale subjects, whose exit rate tends
//! to be lower than average. With no events at all λ = 0 and such quantiles are `None`.

use serde::Serialize;

/// One subject: its duration in whole days and whether the end was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    /// Whole days.
    pub days: u32,
    /// `true` when the duration ended (event), `false` when it is still going (censored).
    pub event: bool,
}

/// Many subjects at once: at `day`, so many ended and so many were censored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DayBin {
    /// The day.
    pub day: u32,
    /// Subjects that ended on that day.
    pub events: u64,
    /// Subjects censored on that day (still going after it).
    pub censored: u64,
}

/// One line of the Kaplan–Meier table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KmRow {
    /// The day.
    pub day: u32,
    /// Subjects whose duration is at least `day`.
    pub at_risk: u64,
    /// Subjects that ended on the day.
    pub events: u64,
    /// Subjects censored on the day.
    pub censored: u64,
    /// S(day) = P(T > day).
    pub survival: f64,
}

/// A day-quantile of a duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Quantile {
    /// Whole days.
    pub days: u32,
    /// Beyond the last observed day: reached only through the constant-rate tail.
    pub extrapolated: bool,
}

/// A fitted Kaplan–Meier curve.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Survival {
    rows: Vec<KmRow>,
    subjects: u64,
    events: u64,
    tail_hazard: f64,
}

/// Tolerance for comparing a product of ratios with a level: 0.5 computed as 0.5000000000001
/// must still count as the median.
const EPS: f64 = 1e-12;

impl Survival {
    /// Fit from individual observations.
    pub fn from_observations(observations: &[Observation]) -> Survival {
        let bins: Vec<DayBin> = observations
            .iter()
            .map(|o| DayBin {
                day: o.days,
                events: u64::from(o.event),
                censored: u64::from(!o.event),
            })
            .collect();
        Survival::from_bins(&bins)
    }

    /// Fit from per-day counts (the form the store supplies). Bins may come in any order and
    /// may repeat a day; empty bins are ignored.
    pub fn from_bins(bins: &[DayBin]) -> Survival {
        let mut merged: Vec<DayBin> = bins
            .iter()
            .copied()
            .filter(|b| b.events > 0 || b.censored > 0)
            .collect();
        merged.sort_by_key(|b| b.day);
        merged.dedup_by(|later, kept| {
            if later.day == kept.day {
                kept.events = kept.events.saturating_add(later.events);
                kept.censored = kept.censored.saturating_add(later.censored);
                true
            } else {
                false
            }
        });
        let subjects = merged.iter().fold(0u64, |n, b| {
            n.saturating_add(b.events).saturating_add(b.censored)
        });
        let mut at_risk = subjects;
        let mut survival = 1.0;
        let mut events = 0u64;
        // Days at risk: a subject that ends or is censored at day d was at risk on days 0..=d.
        let mut exposure = 0f64;
        let rows = merged
            .iter()
            .map(|b| {
                if b.events > 0 && at_risk > 0 {
                    survival *= 1.0 - b.events as f64 / at_risk as f64;
                }
                let row = KmRow {
                    day: b.day,
                    at_risk,
                    events: b.events,
                    censored: b.censored,
                    survival,
                };
                events = events.saturating_add(b.events);
                exposure += (b.events as f64 + b.censored as f64) * (f64::from(b.day) + 1.0);
                at_risk = at_risk.saturating_sub(b.events.saturating_add(b.censored));
                row
            })
            .collect();
        let tail_hazard = if exposure > 0.0 {
            (events as f64 / exposure).clamp(0.0, 1.0)
        } else {
            0.0
        };
        Survival {
            rows,
            subjects,
            events,
            tail_hazard,
        }
    }

    /// The Kaplan–Meier table: one row per day with an event or a censoring.
    pub fn table(&self) -> &[KmRow] {
        &self.rows
    }

    /// How many subjects the curve rests on.
    pub fn subjects(&self) -> u64 {
        self.subjects
    }

    /// How many of them ended (the rest are censored).
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The last day with an observation; `None` without data.
    pub fn last_day(&self) -> Option<u32> {
        self.rows.last().map(|r| r.day)
    }

    /// The constant daily exit rate assumed beyond the last observed day (see the module).
    pub fn tail_hazard(&self) -> f64 {
        self.tail_hazard
    }

    /// S(day) = P(T > day). 1 before any event; beyond the last observed day, the curve
    /// continues with the constant-rate tail.
    pub fn survival(&self, day: u32) -> f64 {
        let i = self.rows.partition_point(|r| r.day <= day);
        if i == 0 {
            return 1.0;
        }
        let last = self.rows[i - 1];
        if i == self.rows.len() && day > last.day {
            return last.survival * (1.0 - self.tail_hazard).powf(f64::from(day - last.day));
        }
        last.survival
    }

    /// S(day) for day = −1 allowed: a signed convenience for conditioning on T ≥ age.
    fn survival_before(&self, age: u32) -> f64 {
        match age.checked_sub(1) {
            Some(day) => self.survival(day),
            None => 1.0,
        }
    }

    /// The q-quantile of the duration (0 < q ≤ 1): the first day by which a share q has ended,
    /// that is the smallest t with S(t) ≤ 1 − q. `None` when the curve never gets there.
    pub fn quantile(&self, q: f64) -> Option<Quantile> {
        if !(q > 0.0 && q <= 1.0) {
            return None;
        }
        let level = 1.0 - q;
        if let Some(row) = self.rows.iter().find(|r| r.survival <= level + EPS) {
            return Some(Quantile {
                days: row.day,
                extrapolated: false,
            });
        }
        let last = self.rows.last()?;
        tail_steps(last.survival, level, self.tail_hazard).and_then(|k| {
            Some(Quantile {
                days: last.day.checked_add(k)?,
                extrapolated: true,
            })
        })
    }

    /// The median duration.
    pub fn median(&self) -> Option<Quantile> {
        self.quantile(0.5)
    }

    /// The distribution of the time still to go for a subject that has already lasted `age`
    /// whole days and has not ended: it may still end today, at duration `age`, so this
    /// conditions on T ≥ age. P(R > x) = S(age + x) ÷ S(age − 1), with S(−1) = 1 — the
    /// textbook S(a + x) ÷ S(a) with a = age − 1 completed days.
    pub fn remaining(&self, age: u32) -> Remaining<'_> {
        let base = self.survival_before(age);
        let at_risk = self
            .rows
            .iter()
            .find(|r| r.day >= age)
            .map_or(0, |r| r.at_risk);
        Remaining {
            curve: self,
            age,
            base,
            at_risk,
        }
    }
}

/// Steps of a geometric tail from `from` down to `level` or below, at hazard `hazard`.
fn tail_steps(from: f64, level: f64, hazard: f64) -> Option<u32> {
    if from <= level + EPS {
        return Some(0);
    }
    if hazard <= 0.0 {
        return None;
    }
    if hazard >= 1.0 || level <= 0.0 {
        // A hazard of 1 ends everything in one step; a level of 0 is reached only then.
        return (hazard >= 1.0).then_some(1);
    }
    let k = ((level / from).ln() / (1.0 - hazard).ln()).ceil();
    (k.is_finite() && k >= 1.0 && k <= f64::from(u32::MAX)).then_some(k as u32)
}

/// The time still to go given a subject's age; see [`Survival::remaining`].
#[derive(Debug, Clone, Copy)]
pub struct Remaining<'a> {
    curve: &'a Survival,
    /// Days already lasted.
    pub age: u32,
    base: f64,
    /// Past subjects that lasted at least `age` days: what the figures rest on.
    pub at_risk: u64,
}

impl Remaining<'_> {
    /// Whether the past holds nobody who lasted this long with any chance left: the curve had
    /// reached zero. The answer then falls back to the constant-rate tail alone.
    fn beyond_data(&self) -> bool {
        self.base <= f64::MIN_POSITIVE
    }

    /// P(R > x): the chance that the subject is still going x days after today.
    pub fn survival(&self, x: u32) -> f64 {
        if self.beyond_data() {
            return (1.0 - self.curve.tail_hazard).powf(f64::from(x) + 1.0);
        }
        let day = self.age.saturating_add(x);
        (self.curve.survival(day) / self.base).clamp(0.0, 1.0)
    }

    /// The q-quantile of the remaining days (0 < q ≤ 1); `None` when never reached.
    pub fn quantile(&self, q: f64) -> Option<Quantile> {
        if !(q > 0.0 && q <= 1.0) {
            return None;
        }
        let level = 1.0 - q;
        if self.beyond_data() {
            let k = tail_steps(1.0, level, self.curve.tail_hazard)?;
            return Some(Quantile {
                days: k.saturating_sub(1),
                extrapolated: true,
            });
        }
        let rows = &self.curve.rows;
        if let Some(row) = rows
            .iter()
            .filter(|r| r.day >= self.age)
            .find(|r| r.survival / self.base <= level + EPS)
        {
            return Some(Quantile {
                days: row.day - self.age,
                extrapolated: false,
            });
        }
        let last = rows.last()?;
        let (from_day, from_s) = if last.day >= self.age {
            (last.day, last.survival / self.base)
        } else {
            // Older than every observation: the tail starts from here.
            (self.age.saturating_sub(1), 1.0)
        };
        let k = tail_steps(from_s, level, self.curve.tail_hazard)?;
        let days = from_day.checked_add(k)?.checked_sub(self.age)?;
        Some(Quantile {
            days,
            extrapolated: true,
        })
    }

    /// The median of the remaining days.
    pub fn median(&self) -> Option<Quantile> {
        self.quantile(0.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Remission times of the 6-MP group (Freireich et al. 1963, as in Kaplan & Meier's
    /// successors' textbooks): weeks, `+` censored.
    fn six_mp() -> Vec<Observation> {
        let events = [6, 6, 6, 7, 10, 13, 16, 22, 23];
        let censored = [6, 9, 10, 11, 17, 19, 20, 25, 32, 32, 34, 35];
        events
            .iter()
            .map(|&d| Observation {
                days: d,
                event: true,
            })
            .chain(censored.iter().map(|&d| Observation {
                days: d,
                event: false,
            }))
            .collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn the_textbook_table() {
        let km = Survival::from_observations(&six_mp());
        assert_eq!((km.subjects(), km.events()), (21, 9));
        let events: Vec<(u32, u64, u64)> = km
            .table()
            .iter()
            .filter(|r| r.events > 0)
            .map(|r| (r.day, r.at_risk, r.events))
            .collect();
        assert_eq!(
            events,
            [
                (6, 21, 3),
                (7, 17, 1),
                (10, 15, 1),
                (13, 12, 1),
                (16, 11, 1),
                (22, 7, 1),
                (23, 6, 1)
            ]
        );
        let s = |d| km.survival(d);
        assert_eq!(s(5), 1.0);
        assert!(close(s(6), 18.0 / 21.0)); // 0.857
        assert!(close(s(7), 18.0 / 21.0 * 16.0 / 17.0)); // 0.807
        assert!(close(s(9), s(7)));
        assert!(close(s(10), s(7) * 14.0 / 15.0)); // 0.753
        assert!(close(s(13), s(10) * 11.0 / 12.0)); // 0.690
        assert!(close(s(16), s(13) * 10.0 / 11.0)); // 0.627
        assert!(close(s(22), s(16) * 6.0 / 7.0)); // 0.538
        assert!(close(s(23), s(22) * 5.0 / 6.0)); // 0.448
        assert!(close(s(35), s(23)));
        assert_eq!(
            km.median(),
            Some(Quantile {
                days: 23,
                extrapolated: false
            })
        );
        assert_eq!(km.quantile(0.25).unwrap().days, 13);
    }

    #[test]
    fn the_censored_tail_is_extrapolated_and_flagged() {
        let km = Survival::from_observations(&six_mp());
        // Days at risk: Σ(t + 1) = (109 + 250) + 21 = 380, so λ = 9 / 380.
        let lambda = 9.0 / 380.0;
        assert!(close(km.tail_hazard(), lambda));
        assert!(close(km.survival(36), km.survival(35) * (1.0 - lambda)));
        assert!(close(
            km.survival(45),
            km.survival(35) * (1.0 - lambda).powi(10)
        ));
        // S(35) ≈ 0.448 never reaches 0.25 in the data: ln(0.25/0.448)/ln(1−λ) ≈ 24.3 → 25.
        let q75 = km.quantile(0.75).unwrap();
        assert_eq!(
            q75,
            Quantile {
                days: 35 + 25,
                extrapolated: true
            }
        );
        assert!(km.survival(q75.days) <= 0.25 && km.survival(q75.days - 1) > 0.25);
    }

    #[test]
    fn remaining_time_given_age() {
        let km = Survival::from_observations(&six_mp());
        // Still going at the start of week 11: S(10) is the base.
        let r = km.remaining(11);
        assert_eq!(r.at_risk, 13);
        assert!(close(r.survival(0), 1.0));
        assert!(close(r.survival(2), 11.0 / 12.0)); // S(13) / S(10)
        assert!(close(r.survival(5), 11.0 / 12.0 * 10.0 / 11.0)); // S(16) / S(10)
        // The curve ends at S(35) / S(10) = 0.448 / 0.753 ≈ 0.595: the median needs the tail.
        assert!(r.median().unwrap().extrapolated);
        // Age 0 is the whole curve.
        assert_eq!(km.remaining(0).median().unwrap().days, 23);
        // Age 6: T ≥ 6 conditions on nothing that happened (the first events are at 6).
        assert!(close(km.remaining(6).survival(0), 18.0 / 21.0));
    }

    #[test]
    fn curves_that_reach_zero_and_subjects_older_than_anyone() {
        let obs = [3, 5, 5, 8].map(|d| Observation {
            days: d,
            event: true,
        });
        let km = Survival::from_observations(&obs);
        assert_eq!(km.survival(8), 0.0);
        assert_eq!(km.survival(100), 0.0);
        assert_eq!(km.quantile(1.0).unwrap().days, 8);
        assert_eq!(km.median().unwrap().days, 5);
        // Nobody ever lasted 9 days: fall back to the constant rate 4 / (4+6+6+9) = 0.16.
        let r = km.remaining(10);
        assert_eq!(r.at_risk, 0);
        assert!(close(r.survival(0), 1.0 - 0.16));
        let m = r.median().unwrap();
        assert!(m.extrapolated);
        assert!(r.survival(m.days) <= 0.5 && (m.days == 0 || r.survival(m.days - 1) > 0.5));
    }

    #[test]
    fn degenerate_inputs_give_plain_answers() {
        let empty = Survival::from_bins(&[]);
        assert_eq!(empty.survival(10), 1.0);
        assert_eq!(empty.median(), None);
        assert_eq!(empty.remaining(5).median(), None);
        assert_eq!(empty.remaining(5).survival(3), 1.0);
        let all_censored = Survival::from_bins(&[DayBin {
            day: 4,
            events: 0,
            censored: 10,
        }]);
        assert_eq!(all_censored.survival(1000), 1.0);
        assert_eq!(all_censored.median(), None);
        assert_eq!(all_censored.quantile(0.0), None);
        assert_eq!(all_censored.quantile(f64::NAN), None);
        let zeros = Survival::from_bins(&[DayBin::default(); 3]);
        assert_eq!(zeros.subjects(), 0);
        let huge = Survival::from_bins(&[DayBin {
            day: u32::MAX,
            events: u64::MAX,
            censored: u64::MAX,
        }]);
        assert!(huge.survival(u32::MAX).is_finite());
        assert!(huge.remaining(u32::MAX).survival(u32::MAX).is_finite());
        assert!(
            huge.remaining(u32::MAX)
                .median()
                .is_none_or(|q| q.days < u32::MAX)
        );
    }

    #[test]
    fn bins_and_observations_agree() {
        let from_obs = Survival::from_observations(&six_mp());
        let bins = [
            DayBin {
                day: 10,
                events: 1,
                censored: 1,
            },
            DayBin {
                day: 6,
                events: 3,
                censored: 0,
            },
            DayBin {
                day: 6,
                events: 0,
                censored: 1,
            },
            DayBin {
                day: 7,
                events: 1,
                censored: 0,
            },
            DayBin {
                day: 9,
                events: 0,
                censored: 1,
            },
            DayBin {
                day: 11,
                events: 0,
                censored: 1,
            },
            DayBin {
                day: 13,
                events: 1,
                censored: 0,
            },
            DayBin {
                day: 16,
                events: 1,
                censored: 0,
            },
            DayBin {
                day: 17,
                events: 0,
                censored: 1,
            },
            DayBin {
                day: 19,
                events: 0,
                censored: 1,
            },
            DayBin {
                day: 20,
                events: 0,
                censored: 1,
            },
            DayBin {
                day: 22,
                events: 1,
                censored: 0,
            },
            DayBin {
                day: 23,
                events: 1,
                censored: 0,
            },
            DayBin {
                day: 25,
                events: 0,
                censored: 1,
            },
            DayBin {
                day: 32,
                events: 0,
                censored: 2,
            },
            DayBin {
                day: 34,
                events: 0,
                censored: 1,
            },
            DayBin {
                day: 35,
                events: 0,
                censored: 1,
            },
            DayBin {
                day: 99,
                events: 0,
                censored: 0,
            },
        ];
        assert_eq!(Survival::from_bins(&bins), from_obs);
    }

    /// The estimator written the slow, obvious way: at each event day, count who is at risk.
    fn naive_survival(obs: &[Observation], t: u32) -> f64 {
        let mut event_days: Vec<u32> = obs.iter().filter(|o| o.event).map(|o| o.days).collect();
        event_days.sort();
        event_days.dedup();
        let mut s = 1.0;
        for d in event_days.into_iter().filter(|d| *d <= t) {
            let at_risk = obs.iter().filter(|o| o.days >= d).count() as f64;
            let died = obs.iter().filter(|o| o.event && o.days == d).count() as f64;
            s *= 1.0 - died / at_risk;
        }
        s
    }

    proptest! {
        #[test]
        fn matches_the_naive_estimator(
            obs in prop::collection::vec((0u32..40, any::<bool>()), 0..60),
            q in 0.01f64..1.0,
            age in 0u32..45,
        ) {
            let obs: Vec<Observation> = obs.into_iter().map(|(days, event)| Observation { days, event }).collect();
            let km = Survival::from_observations(&obs);
            let last = obs.iter().map(|o| o.days).max().unwrap_or(0);
            for t in 0..=last {
                prop_assert!((km.survival(t) - naive_survival(&obs, t)).abs() < 1e-9);
            }
            // Quantiles are the first day at or below the level, within or beyond the data.
            if let Some(quant) = km.quantile(q) {
                prop_assert!(km.survival(quant.days) <= 1.0 - q + 1e-9);
                if quant.days > 0 { prop_assert!(km.survival(quant.days - 1) > 1.0 - q - 1e-9); }
                prop_assert_eq!(quant.extrapolated, quant.days > last);
            }
            // The conditional distribution is a proper, non-increasing survival curve.
            let r = km.remaining(age);
            let mut prev = 1.0;
            for x in 0..50 {
                let s = r.survival(x);
                prop_assert!((0.0..=1.0).contains(&s) && s <= prev + 1e-12);
                prev = s;
            }
            if let Some(quant) = r.quantile(q) {
                prop_assert!(r.survival(quant.days) <= 1.0 - q + 1e-9);
                if quant.days > 0 { prop_assert!(r.survival(quant.days - 1) > 1.0 - q - 1e-9); }
            }
        }
    }
}
