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

/// Instants in JSON as jiff writes them (RFC 3339 in UTC), with a fast path for whole
/// seconds: a deal's JSON holds five, and an import writes a million deals' created events.
pub mod rfc3339 {
    use jiff::Timestamp;
    use serde::{Serialize, Serializer};

    pub fn serialize<S: Serializer>(at: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        match whole_seconds(*at) {
            Some(text) => s.serialize_str(std::str::from_utf8(&text).unwrap_or_default()),
            None => at.serialize(s),
        }
    }

    pub fn serialize_option<S: Serializer>(
        at: &Option<Timestamp>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => serialize(at, s),
            None => s.serialize_none(),
        }
    }

    /// `at` as `YYYY-MM-DDTHH:MM:SSZ`, when it is a whole second of a four-digit year (the
    /// form jiff gives it then); `None` otherwise, for jiff to write.
    pub(crate) fn whole_seconds(at: Timestamp) -> Option<[u8; 20]> {
        if at.subsec_nanosecond() != 0 {
            return None;
        }
        let dt = jiff::tz::Offset::UTC.to_datetime(at);
        let year = dt.year();
        if !(1000..=9999).contains(&year) {
            return None;
        }
        let mut out = *b"0000-00-00T00:00:00Z";
        let mut put = |at: usize, value: i64, digits: usize| {
            let mut v = value;
            for i in (0..digits).rev() {
                out[at + i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, i64::from(year), 4);
        put(5, i64::from(dt.month()), 2);
        put(8, i64::from(dt.day()), 2);
        put(11, i64::from(dt.hour()), 2);
        put(14, i64::from(dt.minute()), 2);
        put(17, i64::from(dt.second()), 2);
        Some(out)
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn written_as_jiff_writes_them(seconds in -70_000_000_000i64..250_000_000_000, nanos in prop_oneof![Just(0i32), 0..1_000_000_000i32]) {
                let at = Timestamp::new(seconds, nanos).unwrap();
                let ours = serde_json::to_string(&Wrapped(at)).unwrap();
                let jiffs = serde_json::to_string(&at).unwrap();
                prop_assert_eq!(ours, jiffs);
            }
        }

        #[test]
        fn the_fast_path_is_taken_for_whole_seconds_only() {
            let at: Timestamp = "2026-03-01T23:30:05Z".parse().unwrap();
            assert_eq!(&whole_seconds(at).unwrap(), b"2026-03-01T23:30:05Z");
            let at: Timestamp = "2026-03-01T23:30:05.25Z".parse().unwrap();
            assert!(whole_seconds(at).is_none());
            let at: Timestamp = "0999-12-31T23:59:59Z".parse().unwrap();
            assert!(whole_seconds(at).is_none());
        }

        struct Wrapped(Timestamp);
        impl Serialize for Wrapped {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                serialize(&self.0, s)
            }
        }
    }
}
