//! Reporting periods and calendar buckets, as dates in the team's time zone.
//!
//! Every report takes a period chosen in exactly one way: `--from DATE --to DATE`,
//! `--last 90d` (also `12w`, `6m`, `1y`), `--quarter 2025Q3`, `--month 2025-07` or
//! `--year 2025` (the same names as API query parameters). Figures are then grouped by ISO
//! week (Monday start, key `2026-W05`), calendar month (`2026-02`) or quarter (`2026Q1`).
//!
//! Dates, not instants: "today" and every boundary are calendar dates in the team's time zone,
//! so the caller converts instants with that zone before asking which bucket they fall in;
//! [`Period::bounds`] does the opposite conversion for queries.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize, Serializer};

use crate::validate::Invalid;

/// A range of calendar days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Period {
    /// The first day.
    pub from: Date,
    /// The last day (included).
    pub to: Date,
}

/// The ways to choose a period, as they arrive from the CLI (`--from`, `--last`, …) or an API
/// query string. Exactly one way must be used; see [`PeriodArgs::resolve`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PeriodArgs {
    /// First day, `2025-07-01`.
    pub from: Option<String>,
    /// Last day (included), `2025-09-30`; defaults to today when only `from` is given.
    pub to: Option<String>,
    /// The period ending today: `90d`, `12w`, `6m` or `1y`.
    pub last: Option<String>,
    /// A calendar quarter, `2025Q3`.
    pub quarter: Option<String>,
    /// A calendar month, `2025-07`.
    pub month: Option<String>,
    /// A calendar year, `2025`.
    pub year: Option<String>,
}

/// Longest `--last`: a hundred years is more history than any team has, and the bound keeps
/// bucket lists finite.
const LAST_MAX_DAYS: i64 = 36_600;

impl Period {
    /// A period from `from` to `to`, both included; `to` before `from` is refused.
    pub fn new(from: Date, to: Date) -> Result<Period, Invalid> {
        if to < from {
            return Err(Invalid::field("to", "must not be before from"));
        }
        Ok(Period { from, to })
    }

    /// The number of days in the period (at least 1).
    pub fn days(&self) -> i64 {
        days_between(self.from, self.to) + 1
    }

    /// Whether `date` lies in the period.
    pub fn contains(&self, date: Date) -> bool {
        self.from <= date && date <= self.to
    }

    /// The instants bounding the period in `tz`: the start of `from` (included) and the start
    /// of the day after `to` (excluded) — the half-open range a query should use.
    pub fn bounds(&self, tz: &TimeZone) -> Result<(Timestamp, Timestamp), jiff::Error> {
        let start = self.from.to_zoned_datetime(tz.clone())?.timestamp();
        let end = self
            .to
            .tomorrow()?
            .to_zoned_datetime(tz.clone())?
            .timestamp();
        Ok((start, end))
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} – {}", self.from, self.to)
    }
}

impl PeriodArgs {
    /// The period these arguments choose, with `today` in the team's time zone.
    ///
    /// `Ok(None)` when no way was given, so that each report picks its own default. More than
    /// one way, or a malformed value, is refused with every offending field named.
    pub fn resolve(&self, today: Date) -> Result<Option<Period>, Invalid> {
        let given: Vec<&str> = [
            ("from", self.from.is_some() || self.to.is_some()),
            ("last", self.last.is_some()),
            ("quarter", self.quarter.is_some()),
            ("month", self.month.is_some()),
            ("year", self.year.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, present)| present.then_some(name))
        .collect();
        if given.len() > 1 {
            let mut invalid = Invalid::new();
            for field in &given[1..] {
                invalid.push(
                    *field,
                    format!(
                        "give only one way to choose the period (from/to, last, quarter, month \
                         or year); {} is given too",
                        given[0]
                    ),
                );
            }
            return Err(invalid);
        }
        let Some(way) = given.first() else {
            return Ok(None);
        };
        let period = match *way {
            "from" => self.resolve_dates(today)?,
            "last" => parse_last(self.last.as_deref().unwrap_or_default(), today)?,
            "quarter" => parse_quarter(self.quarter.as_deref().unwrap_or_default())?,
            "month" => parse_month(self.month.as_deref().unwrap_or_default())?,
            _ => parse_year(self.year.as_deref().unwrap_or_default())?,
        };
        Ok(Some(period))
    }

    fn resolve_dates(&self, today: Date) -> Result<Period, Invalid> {
        let mut invalid = Invalid::new();
        let from = match self.from.as_deref() {
            None => {
                invalid.push("from", "is required when to is given");
                None
            }
            Some(text) => parse_date("from", text, &mut invalid),
        };
        let to = match self.to.as_deref() {
            None => Some(today),
            Some(text) => parse_date("to", text, &mut invalid),
        };
        invalid.into_result()?;
        match (from, to) {
            (Some(from), Some(to)) => Period::new(from, to),
            // Unreachable: a missing date always pushed an error above.
            _ => Err(Invalid::field("from", "must be a date such as 2025-07-01")),
        }
    }
}

fn parse_date(field: &str, text: &str, invalid: &mut Invalid) -> Option<Date> {
    let trimmed = text.trim();
    // The date parser also reads the date part of a date-time; a period is made of days, and
    // silently dropping a time would answer a question nobody asked.
    match trimmed.parse::<Date>() {
        Ok(date) if !trimmed.contains(['T', 't', ' ']) => Some(date),
        _ => {
            invalid.push(field, format!("`{text}` is not a date such as 2025-07-01"));
            None
        }
    }
}

fn parse_last(text: &str, today: Date) -> Result<Period, Invalid> {
    let bad = || {
        Invalid::field(
            "last",
            format!(
                "`{text}` is not a length such as 90d, 12w, 6m or 1y (days, weeks, months, years)"
            ),
        )
    };
    let trimmed = text.trim().to_ascii_lowercase();
    let Some(unit) = trimmed.chars().last() else {
        return Err(bad());
    };
    let digits = &trimmed[..trimmed.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > 6 {
        return Err(bad());
    }
    let n: i64 = digits.parse().map_err(|_| bad())?;
    if n == 0 {
        return Err(Invalid::field("last", "must be at least one day"));
    }
    let (span, approx_days) = match unit {
        'd' => (n.days(), n),
        'w' => (n.weeks(), n * 7),
        'm' => (n.months(), n * 31),
        'y' => (n.years(), n * 366),
        _ => return Err(bad()),
    };
    if approx_days > LAST_MAX_DAYS {
        return Err(Invalid::field("last", "must be at most 100 years"));
    }
    // "The last 90 days" ends today and holds exactly 90 days: today and the 89 before it.
    // Months and years go back by calendar (the last 1m on 31 March starts on 1 March).
    let from = today
        .checked_sub(span)
        .and_then(|d| d.tomorrow())
        .map_err(|_| Invalid::field("last", "reaches before the earliest supported date"))?;
    Period::new(from, today)
}

fn parse_year_part(field: &str, text: &str, example: &str) -> Result<i16, Invalid> {
    let bad = || Invalid::field(field, format!("`{text}` is not {example}"));
    if text.len() != 4 || !text.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let year: i16 = text.parse().map_err(|_| bad())?;
    if year < 1 {
        return Err(bad());
    }
    Ok(year)
}

fn parse_quarter(text: &str) -> Result<Period, Invalid> {
    let example = "a quarter such as 2025Q3";
    let bad = || Invalid::field("quarter", format!("`{text}` is not {example}"));
    let upper = text.trim().to_ascii_uppercase();
    let (year, q) = upper.split_once('Q').ok_or_else(bad)?;
    let year = year.strip_suffix('-').unwrap_or(year);
    let year = parse_year_part("quarter", year, example)?;
    let q: i8 = match q {
        "1" => 1,
        "2" => 2,
        "3" => 3,
        "4" => 4,
        _ => return Err(bad()),
    };
    let from = Date::new(year, (q - 1) * 3 + 1, 1).map_err(|_| bad())?;
    Ok(Bucket::quarter_from_start(from).period())
}

fn parse_month(text: &str) -> Result<Period, Invalid> {
    let example = "a month such as 2025-07";
    let bad = || Invalid::field("month", format!("`{text}` is not {example}"));
    let trimmed = text.trim();
    let (year, month) = trimmed.split_once('-').ok_or_else(bad)?;
    let year = parse_year_part("month", year, example)?;
    if month.len() != 2 || !month.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let month: i8 = month.parse().map_err(|_| bad())?;
    let from = Date::new(year, month, 1).map_err(|_| bad())?;
    Ok(Period {
        from,
        to: from.last_of_month(),
    })
}

fn parse_year(text: &str) -> Result<Period, Invalid> {
    let year = parse_year_part("year", text.trim(), "a year such as 2025")?;
    let from = Date::new(year, 1, 1)
        .map_err(|_| Invalid::field("year", format!("`{text}` is not a year such as 2025")))?;
    Ok(Period {
        from,
        to: from.last_of_year(),
    })
}

/// The size of a reporting bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Grain {
    /// ISO 8601 week, Monday to Sunday, numbered within its ISO week-year.
    Week,
    /// Calendar month.
    Month,
    /// Calendar quarter: January–March is Q1.
    Quarter,
}

impl FromStr for Grain {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "week" | "weekly" | "w" => Ok(Grain::Week),
            "month" | "monthly" | "m" => Ok(Grain::Month),
            "quarter" | "quarterly" | "q" => Ok(Grain::Quarter),
            _ => Err(Invalid::field(
                "grain",
                format!("`{s}` is not one of week, month, quarter"),
            )),
        }
    }
}

impl fmt::Display for Grain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Grain::Week => "week",
            Grain::Month => "month",
            Grain::Quarter => "quarter",
        })
    }
}

/// One week, month or quarter: its first and last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bucket {
    /// Which kind of bucket.
    pub grain: Grain,
    /// First day (a Monday for weeks, the 1st for months and quarters).
    pub start: Date,
    /// Last day, included.
    pub end: Date,
}

impl Bucket {
    fn quarter_from_start(start: Date) -> Bucket {
        let end = start
            .checked_add(3.months())
            .and_then(|d| d.yesterday())
            .unwrap_or(start.last_of_year());
        Bucket {
            grain: Grain::Quarter,
            start,
            end,
        }
    }

    /// The key shown to people and used in CSV and JSON: `2026-W05`, `2026-02`, `2026Q1`.
    pub fn key(&self) -> String {
        match self.grain {
            Grain::Week => {
                let iso = self.start.iso_week_date();
                format!("{:04}-W{:02}", iso.year(), iso.week())
            }
            Grain::Month => format!("{:04}-{:02}", self.start.year(), self.start.month()),
            Grain::Quarter => format!(
                "{:04}Q{}",
                self.start.year(),
                (self.start.month() - 1) / 3 + 1
            ),
        }
    }

    /// The bucket as a period.
    pub fn period(&self) -> Period {
        Period {
            from: self.start,
            to: self.end,
        }
    }

    /// Whether `date` falls in the bucket.
    pub fn contains(&self, date: Date) -> bool {
        self.start <= date && date <= self.end
    }

    /// The number of days in the bucket.
    pub fn days(&self) -> i64 {
        days_between(self.start, self.end) + 1
    }

    /// The bucket right after this one; `None` at the end of the supported calendar.
    pub fn next(&self) -> Option<Bucket> {
        self.end.tomorrow().ok().map(|d| bucket_of(d, self.grain))
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// Serialized as `{"key": "2026-W05", "grain": "week", "start": "2026-01-26", "end": …}`.
impl Serialize for Bucket {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Repr {
            key: String,
            grain: Grain,
            start: Date,
            end: Date,
        }
        Repr {
            key: self.key(),
            grain: self.grain,
            start: self.start,
            end: self.end,
        }
        .serialize(s)
    }
}

/// The bucket of `grain` holding `date`.
pub fn bucket_of(date: Date, grain: Grain) -> Bucket {
    match grain {
        Grain::Week => {
            let back = i64::from(date.weekday().to_monday_zero_offset());
            // Saturating: only the first days of the year -9999 have no Monday before them.
            let start = date.saturating_sub(back.days());
            Bucket {
                grain,
                start,
                end: start.saturating_add(6.days()),
            }
        }
        Grain::Month => Bucket {
            grain,
            start: date.first_of_month(),
            end: date.last_of_month(),
        },
        Grain::Quarter => {
            let first_month = (date.month() - 1) / 3 * 3 + 1;
            let start = Date::new(date.year(), first_month, 1).unwrap_or(date.first_of_month());
            Bucket::quarter_from_start(start)
        }
    }
}

/// The buckets of `grain` that overlap `period`, in order. The first and last may extend
/// beyond the period (a period starting on a Wednesday begins in the middle of a week);
/// compare with [`Bucket::start`]/[`Bucket::end`] to find such partial buckets.
pub fn buckets(period: Period, grain: Grain) -> Vec<Bucket> {
    let mut out = Vec::new();
    let mut bucket = bucket_of(period.from, grain);
    loop {
        out.push(bucket);
        if bucket.end >= period.to {
            break;
        }
        match bucket.next() {
            Some(next) if next.start > bucket.start => bucket = next,
            _ => break,
        }
    }
    out
}

/// Days from `a` to `b` (negative when `b` is earlier).
pub(crate) fn days_between(a: Date, b: Date) -> i64 {
    b.duration_since(a).as_secs().div_euclid(86_400)
}

/// `date` moved by `days`, clamped to the supported calendar.
pub(crate) fn add_days(date: Date, days: i64) -> Date {
    date.saturating_add(days.days())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn args() -> PeriodArgs {
        PeriodArgs::default()
    }

    fn fields(err: Invalid) -> Vec<String> {
        err.errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn each_way_of_choosing_a_period() {
        let today = date(2026, 3, 31);
        let p = |a: PeriodArgs| a.resolve(today).unwrap().unwrap();
        assert_eq!(
            p(PeriodArgs {
                from: Some("2025-07-01".into()),
                to: Some("2025-09-30".into()),
                ..args()
            }),
            Period::new(date(2025, 7, 1), date(2025, 9, 30)).unwrap()
        );
        assert_eq!(
            p(PeriodArgs {
                from: Some("2026-03-01".into()),
                ..args()
            })
            .to,
            today,
            "to defaults to today"
        );
        let last = |s: &str| {
            p(PeriodArgs {
                last: Some(s.into()),
                ..args()
            })
        };
        assert_eq!(last("90d").from, date(2026, 1, 1));
        assert_eq!(last("90d").days(), 90);
        assert_eq!(last("1d").from, today);
        assert_eq!(last("12w").days(), 84);
        assert_eq!(last("1m").from, date(2026, 3, 1));
        assert_eq!(last("6M").from, date(2025, 10, 1));
        assert_eq!(last(" 1y ").from, date(2025, 4, 1));
        assert_eq!(
            p(PeriodArgs {
                quarter: Some("2025Q3".into()),
                ..args()
            }),
            Period::new(date(2025, 7, 1), date(2025, 9, 30)).unwrap()
        );
        assert_eq!(
            p(PeriodArgs {
                quarter: Some("2024-q1".into()),
                ..args()
            })
            .to,
            date(2024, 3, 31)
        );
        assert_eq!(
            p(PeriodArgs {
                month: Some("2024-02".into()),
                ..args()
            }),
            Period::new(date(2024, 2, 1), date(2024, 2, 29)).unwrap()
        );
        assert_eq!(
            p(PeriodArgs {
                year: Some("2025".into()),
                ..args()
            }),
            Period::new(date(2025, 1, 1), date(2025, 12, 31)).unwrap()
        );
        assert_eq!(args().resolve(today).unwrap(), None);
    }

    #[test]
    fn bad_periods_name_the_field() {
        let today = date(2026, 3, 31);
        let err = |a: PeriodArgs| fields(a.resolve(today).unwrap_err());
        assert_eq!(
            err(PeriodArgs {
                last: Some("90d".into()),
                quarter: Some("2025Q3".into()),
                year: Some("2025".into()),
                ..args()
            }),
            ["quarter", "year"]
        );
        assert_eq!(
            err(PeriodArgs {
                to: Some("2025-01-01".into()),
                ..args()
            }),
            ["from"]
        );
        assert_eq!(
            err(PeriodArgs {
                from: Some("2025-13-01".into()),
                to: Some("2025-01-01T10:00".into()),
                ..args()
            }),
            ["from", "to"]
        );
        assert_eq!(
            err(PeriodArgs {
                from: Some("2025-02-01".into()),
                to: Some("2025-01-01".into()),
                ..args()
            }),
            ["to"]
        );
        for bad in [
            "",
            "d",
            "90",
            "90x",
            "0d",
            "-3d",
            "1.5w",
            "999999999d",
            "101y",
            "9०d",
        ] {
            assert_eq!(
                err(PeriodArgs {
                    last: Some(bad.into()),
                    ..args()
                }),
                ["last"],
                "{bad}"
            );
        }
        for bad in ["2025", "2025Q5", "2025Q0", "Q3", "25Q3", "2025Q3x"] {
            assert_eq!(
                err(PeriodArgs {
                    quarter: Some(bad.into()),
                    ..args()
                }),
                ["quarter"],
                "{bad}"
            );
        }
        for bad in ["2025", "2025-13", "2025-7", "2025-00", "abcd-01"] {
            assert_eq!(
                err(PeriodArgs {
                    month: Some(bad.into()),
                    ..args()
                }),
                ["month"],
                "{bad}"
            );
        }
        for bad in ["25", "0000", "twenty", "20255"] {
            assert_eq!(
                err(PeriodArgs {
                    year: Some(bad.into()),
                    ..args()
                }),
                ["year"],
                "{bad}"
            );
        }
    }

    #[test]
    fn bucket_keys_follow_iso_weeks_months_and_quarters() {
        let b = bucket_of(date(2026, 1, 28), Grain::Week);
        assert_eq!(b.key(), "2026-W05");
        assert_eq!((b.start, b.end), (date(2026, 1, 26), date(2026, 2, 1)));
        // 2027-01-01 is a Friday: it belongs to the last ISO week of 2026.
        assert_eq!(bucket_of(date(2027, 1, 1), Grain::Week).key(), "2026-W53");
        // 2024-12-30 is a Monday in ISO week 1 of 2025.
        assert_eq!(bucket_of(date(2024, 12, 31), Grain::Week).key(), "2025-W01");
        assert_eq!(bucket_of(date(2026, 2, 14), Grain::Month).key(), "2026-02");
        let q = bucket_of(date(2026, 2, 14), Grain::Quarter);
        assert_eq!(q.key(), "2026Q1");
        assert_eq!((q.start, q.end), (date(2026, 1, 1), date(2026, 3, 31)));
        assert_eq!(
            bucket_of(date(2026, 12, 31), Grain::Quarter).key(),
            "2026Q4"
        );
        assert_eq!(q.days(), 90);
        assert_eq!(
            serde_json::to_value(q).unwrap(),
            serde_json::json!({"key": "2026Q1", "grain": "quarter", "start": "2026-01-01", "end": "2026-03-31"})
        );
    }

    #[test]
    fn buckets_cover_the_period() {
        let period = Period::new(date(2026, 1, 28), date(2026, 3, 2)).unwrap();
        let weeks = buckets(period, Grain::Week);
        assert_eq!(weeks.first().unwrap().key(), "2026-W05");
        assert_eq!(weeks.last().unwrap().key(), "2026-W10");
        assert_eq!(weeks.len(), 6);
        let months: Vec<String> = buckets(period, Grain::Month)
            .iter()
            .map(Bucket::key)
            .collect();
        assert_eq!(months, ["2026-01", "2026-02", "2026-03"]);
        assert_eq!(buckets(period, Grain::Quarter).len(), 1);
        let edge = Period::new(Date::MAX, Date::MAX).unwrap();
        assert_eq!(buckets(edge, Grain::Week).len(), 1);
        assert_eq!(buckets(edge, Grain::Quarter).len(), 1);
        let start = Period::new(Date::MIN, Date::MIN).unwrap();
        assert_eq!(buckets(start, Grain::Week).len(), 1);
    }

    #[test]
    fn grains_parse() {
        assert_eq!("Week".parse::<Grain>().unwrap(), Grain::Week);
        assert_eq!("quarter".parse::<Grain>().unwrap(), Grain::Quarter);
        assert_eq!(fields("day".parse::<Grain>().unwrap_err()), ["grain"]);
    }

    #[test]
    fn bounds_are_half_open_in_the_time_zone() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let p = Period::new(date(2026, 3, 1), date(2026, 3, 31)).unwrap();
        let (start, end) = p.bounds(&tz).unwrap();
        assert_eq!(start.to_string(), "2026-02-28T23:00:00Z");
        // Summer time began on 29 March.
        assert_eq!(end.to_string(), "2026-03-31T22:00:00Z");
    }

    proptest! {
        #[test]
        fn every_date_is_in_exactly_its_bucket(days in -700_000i64..700_000, g in 0..3u8) {
            let grain = [Grain::Week, Grain::Month, Grain::Quarter][g as usize];
            let d = add_days(date(2000, 1, 1), days);
            let b = bucket_of(d, grain);
            prop_assert!(b.contains(d));
            prop_assert!(b.start <= b.end);
            if let Some(next) = b.next() {
                prop_assert_eq!(days_between(b.end, next.start), 1);
                prop_assert_eq!(bucket_of(next.start, grain), next);
            }
            if grain == Grain::Week {
                prop_assert_eq!(b.days(), 7);
                prop_assert_eq!(b.start.weekday(), jiff::civil::Weekday::Monday);
                let iso = d.iso_week_date();
                prop_assert_eq!(b.key(), format!("{:04}-W{:02}", iso.year(), iso.week()));
            }
        }

        #[test]
        fn buckets_are_contiguous_and_cover(from in -3000i64..3000, len in 0i64..800, g in 0..3u8) {
            let grain = [Grain::Week, Grain::Month, Grain::Quarter][g as usize];
            let start = add_days(date(2025, 6, 15), from);
            let period = Period::new(start, add_days(start, len)).unwrap();
            let bs = buckets(period, grain);
            prop_assert!(bs[0].contains(period.from));
            prop_assert!(bs[bs.len() - 1].contains(period.to));
            for pair in bs.windows(2) {
                prop_assert_eq!(days_between(pair[0].end, pair[1].start), 1);
            }
        }
    }
}
