//! Reading cell text as amounts, instants and dates, the way CRM exports and spreadsheets
//! write them.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use throughline_core::Currency;
use throughline_core::money::Money;

/// An amount in major units as written by people and exports: `1200`, `1,200.50`,
/// `1.200,50` and `1 200,50` (European), `$1,200`, `1200 EUR`, `EUR 1200`.
/// Returns minor units.
pub fn amount(text: &str, currency: Currency) -> Result<i64, String> {
    let t: String = text
        .trim()
        .chars()
        .filter(|c| !c.is_alphabetic() && !matches!(c, '$' | '€' | '£' | '¥' | '\u{a0}' | ' '))
        .collect();
    if t.is_empty() {
        return Err(format!("`{text}` is not an amount"));
    }
    let normalized = match (t.rfind(','), t.rfind('.')) {
        // Both: the later one is the decimal separator.
        (Some(c), Some(d)) if c > d => t.replace('.', "").replace(',', "."),
        (Some(_), Some(_)) => t.replace(',', ""),
        // Only commas: a decimal comma when exactly one is followed by one or two digits
        // (`12,5`, `1.234,50` was handled above); otherwise thousands (`1,200`, `1,200,000`).
        (Some(c), None) => {
            let decimals = t.len() - c - 1;
            if t.matches(',').count() == 1 && (1..=2).contains(&decimals) {
                t.replace(',', ".")
            } else {
                t.replace(',', "")
            }
        }
        // Only dots: several mean thousands (`1.200.000`).
        (None, Some(_)) if t.matches('.').count() > 1 => t.replace('.', ""),
        _ => t,
    };
    let money = Money::parse_major(&normalized, currency)
        .map_err(|_| format!("`{text}` is not an amount in {currency}"))?;
    if money.amount < 0 {
        return Err(format!("`{text}` is negative"));
    }
    Ok(money.amount)
}

/// A calendar date: ISO `2024-03-01`, or the date part of an instant; `03/01/2024` is read
/// as US month/day unless the first number is over 12; `01.03.2024` as day.month.year.
pub fn date(text: &str) -> Result<Date, String> {
    let t = text.trim();
    let head = t.split([' ', 'T']).next().unwrap_or(t);
    if let Ok(d) = head.parse::<Date>() {
        return Ok(d);
    }
    let bad = || format!("`{text}` is not a date (2024-03-01, 03/01/2024 or 01.03.2024)");
    let parts: Vec<&str> = head.split(['/', '.', '-']).collect();
    let [a, b, c] = parts[..] else {
        return Err(bad());
    };
    let (a, b, c): (i16, i8, i16) = (
        a.parse().map_err(|_| bad())?,
        b.parse().map_err(|_| bad())?,
        c.parse().map_err(|_| bad())?,
    );
    let year = if c < 100 { 2000 + c } else { c };
    let (month, day) = if head.contains('/') && a <= 12 {
        (a as i8, b)
    } else {
        (b, a as i8)
    };
    Date::new(year, month, day).map_err(|_| bad())
}

/// An instant: RFC 3339, or a local date-time (`2024-03-01 10:22:33`, `03/01/2024 10:22`)
/// or date (its start) in the team's time zone.
pub fn instant(text: &str, tz: &TimeZone) -> Result<Timestamp, String> {
    let t = text.trim();
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(ts);
    }
    if let Ok(dt) = t.parse::<DateTime>() {
        return dt
            .to_zoned_datetime(tz.clone())
            .map(|z| z.timestamp())
            .map_err(|e| e.to_string());
    }
    let d = date(t)?;
    let time = t
        .split_once(' ')
        .map(|(_, time)| time.trim())
        .filter(|time| !time.is_empty());
    let time = match time {
        Some(time) => {
            let upper = time.to_uppercase();
            let pm = upper.ends_with("PM");
            let bare = upper.trim_end_matches("AM").trim_end_matches("PM").trim();
            let mut parsed = jiff::civil::Time::strptime("%H:%M:%S", bare)
                .or_else(|_| jiff::civil::Time::strptime("%H:%M", bare))
                .map_err(|_| format!("`{text}` has a time that cannot be read"))?;
            if pm && parsed.hour() < 12 {
                parsed = parsed
                    .checked_add(jiff::SignedDuration::from_hours(12))
                    .map_err(|e| e.to_string())?;
            } else if upper.ends_with("AM") && parsed.hour() == 12 {
                parsed = parsed
                    .checked_sub(jiff::SignedDuration::from_hours(12))
                    .map_err(|e| e.to_string())?;
            }
            parsed
        }
        None => jiff::civil::Time::midnight(),
    };
    d.to_datetime(time)
        .to_zoned_datetime(tz.clone())
        .map(|z| z.timestamp())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        "EUR".parse().unwrap()
    }

    #[test]
    fn amounts_as_people_write_them() {
        for (text, minor) in [
            ("1200", 120_000),
            ("1,200", 120_000),
            ("1,200.50", 120_050),
            ("1.200,50", 120_050),
            ("1 200,50", 120_050),
            ("12,5", 1_250),
            ("1.200.000", 120_000_000),
            ("$1,200", 120_000),
            ("1200 EUR", 120_000),
            ("EUR 1,200.5", 120_050),
            ("0", 0),
        ] {
            assert_eq!(amount(text, eur()), Ok(minor), "{text}");
        }
        for bad in ["", "abc", "-5", "1.2.3,4,5", "12.345"] {
            assert!(amount(bad, eur()).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_in_three_conventions() {
        let d = Date::new(2024, 3, 1).unwrap();
        for text in [
            "2024-03-01",
            "03/01/2024",
            "01.03.2024",
            "2024-03-01 10:22:33",
            "2024-03-01T10:00:00Z",
        ] {
            assert_eq!(date(text), Ok(d), "{text}");
        }
        assert_eq!(date("25/12/2024"), Ok(Date::new(2024, 12, 25).unwrap()));
        assert!(date("2024-13-01").is_err());
        assert!(date("soon").is_err());
    }

    #[test]
    fn instants_local_to_the_team() {
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        assert_eq!(
            instant("2024-03-01 10:22:33", &berlin).unwrap().to_string(),
            "2024-03-01T09:22:33Z"
        );
        assert_eq!(
            instant("2024-03-01", &TimeZone::UTC).unwrap().to_string(),
            "2024-03-01T00:00:00Z"
        );
        assert_eq!(
            instant("3/1/2024 1:05 PM", &TimeZone::UTC)
                .unwrap()
                .to_string(),
            "2024-03-01T13:05:00Z"
        );
        assert_eq!(
            instant("2024-03-01T10:00:00+01:00", &TimeZone::UTC)
                .unwrap()
                .to_string(),
            "2024-03-01T09:00:00Z"
        );
    }
}
