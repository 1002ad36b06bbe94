//! Instants are stored as epoch milliseconds; these helpers keep the conversions in one place.

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan, tz::TimeZone};

pub const MS_PER_DAY: i64 = 86_400_000;

pub fn to_ms(at: Timestamp) -> i64 {
    at.as_millisecond()
}

/// Milliseconds since the epoch as an instant. Out-of-range values (only possible from a
/// corrupted row) clamp to the nearest representable instant rather than panic.
pub fn from_ms(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// Truncate to whole milliseconds, the precision we store, so that what is returned after a
/// write equals what a later read returns.
pub fn truncate_ms(at: Timestamp) -> Timestamp {
    from_ms(to_ms(at))
}

/// The UTC day number (days since 1970-01-01) holding `ms`.
pub fn day_of_ms(ms: i64) -> i64 {
    ms.div_euclid(MS_PER_DAY)
}

/// The last millisecond of `date` in `tz`: "as of 2017-06-30" means at the close of that day.
pub fn end_of_day(date: Date, tz: &TimeZone) -> Result<Timestamp, jiff::Error> {
    let next = date.checked_add(1.day())?;
    let start_next = next.to_zoned_datetime(tz.clone())?.timestamp();
    Ok(from_ms(to_ms(start_next) - 1))
}

/// Parse either an RFC 3339 instant or a calendar date (meaning the end of that day in `tz`).
pub fn parse_instant_or_date(text: &str, tz: &TimeZone) -> Result<Timestamp, String> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts);
    }
    // A date parser also reads the date of a date-time; a time without an offset is not a
    // date, and taking the end of its day would answer for another instant.
    if !text.contains(['T', 't', ' '])
        && let Ok(date) = text.parse::<Date>()
    {
        return end_of_day(date, tz).map_err(|e| e.to_string());
    }
    Err(format!(
        "`{text}` is neither an RFC 3339 instant (2026-03-31T17:00:00Z) nor a date (2026-03-31)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_mean_the_end_of_that_day() {
        let at = parse_instant_or_date("2017-06-30", &TimeZone::UTC).unwrap();
        assert_eq!(at.to_string(), "2017-06-30T23:59:59.999Z");
        let at = parse_instant_or_date("2017-06-30T12:00:00+02:00", &TimeZone::UTC).unwrap();
        assert_eq!(at.to_string(), "2017-06-30T10:00:00Z");
        assert!(parse_instant_or_date("last tuesday", &TimeZone::UTC).is_err());
        for no_offset in [
            "2017-06-30T12:00:00",
            "2017-06-30 12:00",
            "2017-06-30t12:00",
        ] {
            assert!(
                parse_instant_or_date(no_offset, &TimeZone::UTC).is_err(),
                "{no_offset}"
            );
        }
    }

    #[test]
    fn day_numbers_floor_towards_the_past() {
        assert_eq!(day_of_ms(0), 0);
        assert_eq!(day_of_ms(MS_PER_DAY - 1), 0);
        assert_eq!(day_of_ms(-1), -1);
    }
}
