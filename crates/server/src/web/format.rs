//! How figures and times read on pages.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Unit};
use throughline_core::Currency;
use throughline_core::money::format_minor;

/// `€ 12,400` — whole major units with grouping, for cards and tables.
pub fn money(minor: i64, currency: Currency) -> String {
    let scale = 10i64.pow(currency.exponent());
    let whole = if scale > 1 {
        (minor + scale / 2).div_euclid(scale)
    } else {
        minor
    };
    format!("{} {}", currency.symbol(), format_minor(whole, 0))
}

/// `€ 12,400.50` — exact, for the deal page.
pub fn money_exact(minor: i64, currency: Currency) -> String {
    format!(
        "{} {}",
        currency.symbol(),
        format_minor(minor, currency.exponent())
    )
}

/// `€ 1.24M`, `€ 540k`, `€ 9,850` — for column totals where space is short.
pub fn money_short(minor: i64, currency: Currency) -> String {
    let major = minor as f64 / 10f64.powi(currency.exponent() as i32);
    let sym = currency.symbol();
    let abs = major.abs();
    if abs >= 999_500.0 {
        format!("{sym} {:.2}M", major / 1_000_000.0)
    } else if abs >= 99_950.0 {
        format!("{sym} {:.0}k", major / 1_000.0)
    } else {
        money(minor, currency)
    }
}

/// Whole days from `from` to `to` (never negative).
pub fn days_between(from: Timestamp, to: Timestamp) -> i64 {
    to.since(from)
        .ok()
        .and_then(|span| span.total(Unit::Hour).ok())
        .map(|h| (h / 24.0).floor() as i64)
        .unwrap_or(0)
        .max(0)
}

/// "today", "tomorrow", "in 3 days", "yesterday", "5 days ago", or a date further out.
pub fn relative_day(at: Timestamp, now: Timestamp, tz: &TimeZone) -> String {
    let day = at.to_zoned_datetime(tz.clone()).date();
    let today = now.to_zoned_datetime(tz.clone()).date();
    relative_date(day, today)
}

pub fn relative_date(day: Date, today: Date) -> String {
    let diff = today
        .until(day)
        .map(|s| i64::from(s.get_days()))
        .unwrap_or(0);
    match diff {
        0 => "today".into(),
        1 => "tomorrow".into(),
        -1 => "yesterday".into(),
        2..=6 => format!("in {diff} days"),
        -6..=-2 => format!("{} days ago", -diff),
        _ => day.strftime("%b %-d, %Y").to_string(),
    }
}

/// `Mar 31, 2026 14:05` in the team's time zone.
pub fn date_time(at: Timestamp, tz: &TimeZone) -> String {
    at.to_zoned_datetime(tz.clone())
        .strftime("%b %-d, %Y %H:%M")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_naturally() {
        let eur = Currency::EUR;
        assert_eq!(money(1_240_050, eur), "€ 12,401");
        assert_eq!(money_exact(1_240_050, eur), "€ 12,400.50");
        assert_eq!(money_short(12_400_000_000, eur), "€ 124.00M");
        assert_eq!(money_short(54_000_000, eur), "€ 540k");
        assert_eq!(money_short(985_000, eur), "€ 9,850");
        assert_eq!(money(500, "JPY".parse().unwrap()), "¥ 500");
    }

    #[test]
    fn days_read_relative_to_today() {
        let today: Date = "2026-03-10".parse().unwrap();
        let d = |s: &str| s.parse::<Date>().unwrap();
        assert_eq!(relative_date(d("2026-03-10"), today), "today");
        assert_eq!(relative_date(d("2026-03-11"), today), "tomorrow");
        assert_eq!(relative_date(d("2026-03-09"), today), "yesterday");
        assert_eq!(relative_date(d("2026-03-14"), today), "in 4 days");
        assert_eq!(relative_date(d("2026-03-05"), today), "5 days ago");
        assert_eq!(relative_date(d("2026-04-30"), today), "Apr 30, 2026");
    }

    #[test]
    fn whole_days_floor() {
        let a: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let b: Timestamp = "2026-03-03T09:59:59Z".parse().unwrap();
        assert_eq!(days_between(a, b), 1);
        assert_eq!(days_between(b, a), 0);
    }
}
