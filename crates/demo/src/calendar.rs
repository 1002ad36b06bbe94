//! Simulated time: instants as epoch milliseconds (cheap to add and compare in a plan of
//! tens of thousands of steps), working hours, and the calendar dates humans write.
//!
//! The demo lives in UTC working hours (08:00–18:00), which reads as a normal European
//! office day; analytics bucket by the team's time zone, and a few hours of offset do not
//! move a week's figures in any way that matters.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::random::{self, Rng};

pub(crate) type Ms = i64;

pub(crate) const MINUTE: Ms = 60_000;
pub(crate) const HOUR: Ms = 60 * MINUTE;
pub(crate) const DAY: Ms = 24 * HOUR;

const WORK_START: Ms = 8 * HOUR;
const WORK_END: Ms = 18 * HOUR;

pub(crate) fn day_of(ms: Ms) -> i64 {
    ms.div_euclid(DAY)
}

/// 0 = Monday … 6 = Sunday (1970-01-01, day 0, was a Thursday).
pub(crate) fn weekday(day: i64) -> i64 {
    (day + 3).rem_euclid(7)
}

pub(crate) fn is_weekend(day: i64) -> bool {
    weekday(day) >= 5
}

pub(crate) fn timestamp(ms: Ms) -> Timestamp {
    throughline_core::time::from_ms(ms)
}

pub(crate) fn date_of(ms: Ms) -> Date {
    timestamp(ms).to_zoned_datetime(TimeZone::UTC).date()
}

/// The last millisecond of `date`: a deal expected to close on a date is late after it.
pub(crate) fn end_of_date(date: Date) -> Ms {
    let days = date
        .since(Date::constant(1970, 1, 1))
        .map(|span| i64::from(span.get_days()))
        .unwrap_or(0);
    (days + 1) * DAY - 1
}

/// The first working instant at or after `ms`: weekends move to Monday and evenings to the
/// next morning, at a random minute so that a team's steps do not all share a clock time.
pub(crate) fn working(ms: Ms, rng: &mut Rng) -> Ms {
    let mut day = day_of(ms);
    let mut time = ms - day * DAY;
    if time >= WORK_END {
        day += 1;
        time = -1;
    }
    while is_weekend(day) {
        day += 1;
        time = -1;
    }
    if time < WORK_START {
        time = WORK_START + random::int(rng, 0, 3 * HOUR);
    }
    day * DAY + time
}

/// A random working instant on `day` (a weekend day gets one too: inboxes do not stop).
pub(crate) fn during(day: i64, rng: &mut Rng) -> Ms {
    // Mid-morning and early afternoon are busiest: a sum of two uniforms peaks in the middle.
    let span = (WORK_END - WORK_START) as f64;
    let offset = (random::unit(rng) + random::unit(rng)) / 2.0 * span;
    day * DAY + WORK_START + offset as Ms + random::int(rng, 0, 59_999)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn weekdays_count_from_monday() {
        let monday: Timestamp = "2026-03-02T10:00:00Z".parse().unwrap();
        assert_eq!(weekday(day_of(monday.as_millisecond())), 0);
        assert_eq!(weekday(day_of(monday.as_millisecond()) + 6), 6);
    }

    #[test]
    fn working_instants_avoid_weekends_and_nights() {
        let mut rng = Rng::seed_from_u64(1);
        let saturday_night: Timestamp = "2026-03-07T22:00:00Z".parse().unwrap();
        let at = working(saturday_night.as_millisecond(), &mut rng);
        let when = timestamp(at).to_zoned_datetime(TimeZone::UTC);
        assert_eq!(when.date(), Date::constant(2026, 3, 9));
        assert!((8..11).contains(&when.hour()));
        let tuesday_noon: Timestamp = "2026-03-03T12:00:00Z".parse().unwrap();
        assert_eq!(
            working(tuesday_noon.as_millisecond(), &mut rng),
            tuesday_noon.as_millisecond()
        );
    }

    #[test]
    fn dates_end_at_their_last_millisecond() {
        let date = Date::constant(2026, 1, 31);
        assert_eq!(date_of(end_of_date(date)), date);
        assert_eq!(date_of(end_of_date(date) + 1), Date::constant(2026, 2, 1));
    }
}
