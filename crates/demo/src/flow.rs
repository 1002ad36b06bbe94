//! The shape of the inflow: how many leads and deals arrive on each day of the history.
//!
//! A flat process would give analytics nothing to find, so the rate follows a working week,
//! a slower summer, a busy start of the year, a valley over the late-December holidays, a
//! team that slowly grows its reach, and one campaign that bursts for three weeks.

use std::f64::consts::TAU;

use jiff::civil::Date;

use crate::calendar::{self, DAY, Ms, date_of, is_weekend, weekday};
use crate::random::{self, Rng};

/// Relative activity of each weekday, Monday first: inboxes are quiet at weekends.
const WEEKDAY: [f64; 7] = [1.1, 1.15, 1.1, 1.0, 0.85, 0.12, 0.08];

/// The year's rhythm: a push when budgets open in January and February, a trough in early
/// August.
pub(crate) fn season(date: Date) -> f64 {
    let doy = f64::from(date.day_of_year());
    let budgets = 1.0 + 0.12 * (TAU * (doy - 40.0) / 365.25).cos();
    let summer = 1.0 - 0.40 * (-((doy - 214.0) / 24.0).powi(2)).exp();
    budgets * summer
}

/// The holiday valley: almost nothing between Christmas Eve and New Year.
pub(crate) fn holiday(date: Date) -> f64 {
    match (date.month(), date.day()) {
        (12, 24..=31) | (1, 1) => 0.1,
        (12, 20..=23) | (1, 2..=4) => 0.45,
        (12, 15..=19) => 0.8,
        _ => 1.0,
    }
}

/// Days `[first, last)` of the history, by UTC day number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Days {
    pub first: i64,
    pub last: i64,
}

impl Days {
    pub fn of(start: Ms, end: Ms) -> Self {
        Self {
            first: calendar::day_of(start),
            last: calendar::day_of(end) + 1,
        }
    }

    pub fn len(&self) -> i64 {
        (self.last - self.first).max(0)
    }

    pub fn contains(&self, day: i64) -> bool {
        (self.first..self.last).contains(&day)
    }
}

/// Relative rate of ordinary inflow on `day`: weekday × season × holidays × growth.
pub(crate) fn regular(day: i64, history: Days) -> f64 {
    let date = date_of(day * DAY);
    let progress = (day - history.first) as f64 / history.len().max(1) as f64;
    let growth = 0.85 + 0.3 * progress;
    WEEKDAY[weekday(day) as usize] * season(date) * holiday(date) * growth
}

/// Relative rate of expansion deals: account work follows the week and the holidays, and
/// the last month of each quarter, when renewals come due, is busier.
pub(crate) fn accounts(day: i64) -> f64 {
    let date = date_of(day * DAY);
    let quarter_end = if date.month() % 3 == 0 { 1.35 } else { 1.0 };
    WEEKDAY[weekday(day) as usize] * holiday(date) * quarter_end
}

/// The three weeks of the campaign burst, starting on a Monday: the latest start between 16
/// and 40 weeks before the end whose weeks lie in spring or autumn, so that the burst stands
/// on its own, clear of summer and of the holidays.
pub(crate) fn campaign_window(history: Days) -> Days {
    let last_monday = {
        let day = history.last - 16 * 7;
        day - weekday(day)
    };
    let fits = |first: i64| {
        (first..first + 21).all(|d| {
            let month = date_of(d * DAY).month();
            matches!(month, 2..=5 | 9..=11)
        })
    };
    let earliest = (history.last - 40 * 7).max(history.first + 7);
    let mut monday = last_monday;
    while monday >= earliest {
        if fits(monday) {
            return Days {
                first: monday,
                last: monday + 21,
            };
        }
        monday -= 7;
    }
    // A history too short to choose: put the burst in its middle.
    let middle = history.first + history.len() / 2;
    let monday = middle - weekday(middle);
    Days {
        first: monday,
        last: monday + 21,
    }
}

/// Relative rate of campaign leads on `day`: the middle week (the webinar itself) peaks.
pub(crate) fn burst(day: i64, window: Days) -> f64 {
    if !window.contains(day) || is_weekend(day) {
        return 0.0;
    }
    match (day - window.first) / 7 {
        1 => 1.4,
        _ => 0.8,
    }
}

/// Arrival instants over `history`: per day a Poisson count whose means follow `rate` and
/// add up to `expected`, each at a working hour of its day. Returned in time order.
pub(crate) fn arrivals(
    rng: &mut Rng,
    history: Days,
    expected: f64,
    rate: impl Fn(i64) -> f64,
) -> Vec<Ms> {
    let rates: Vec<f64> = (history.first..history.last).map(&rate).collect();
    let total: f64 = rates.iter().sum();
    if total <= 0.0 || expected <= 0.0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (day, weight) in (history.first..history.last).zip(rates) {
        let count = random::poisson(rng, expected * weight / total);
        let mut today: Vec<Ms> = (0..count).map(|_| calendar::during(day, rng)).collect();
        today.sort_unstable();
        out.extend(today);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> i64 {
        let date: Date = text.parse().unwrap();
        calendar::day_of(calendar::end_of_date(date))
    }

    #[test]
    fn summer_and_christmas_are_slower_than_spring() {
        let spring = season("2026-03-10".parse().unwrap());
        let august = season("2026-08-03".parse().unwrap());
        assert!(august < spring * 0.7, "{august} vs {spring}");
        assert!(holiday("2026-12-28".parse().unwrap()) < 0.2);
        assert_eq!(holiday("2026-03-10".parse().unwrap()), 1.0);
    }

    #[test]
    fn the_campaign_burst_avoids_summer_and_holidays() {
        for end in ["2026-11-20", "2026-06-30", "2027-01-15", "2026-09-01"] {
            let last = day(end);
            let history = Days {
                first: last - 548,
                last: last + 1,
            };
            let window = campaign_window(history);
            assert_eq!(weekday(window.first), 0, "starts on a Monday");
            assert!(history.contains(window.first) && history.contains(window.last));
            for d in window.first..window.last {
                let month = date_of(d * DAY).month();
                assert!(!matches!(month, 6..=8 | 12 | 1), "{end}: month {month}");
            }
        }
    }

    #[test]
    fn arrivals_add_up_to_the_expected_count() {
        use rand::SeedableRng;
        let mut rng = Rng::seed_from_u64(5);
        let history = Days {
            first: day("2025-01-01"),
            last: day("2026-07-01"),
        };
        let got = arrivals(&mut rng, history, 5_000.0, |d| regular(d, history));
        assert!((4_800..5_200).contains(&got.len()), "{}", got.len());
        assert!(got.windows(2).all(|w| w[0] <= w[1]));
    }
}
