//! One value of an exported record, typed so that each format can write it its own way, and
//! the exact text forms of instants and money the column contract fixes.

use jiff::Timestamp;
use jiff::fmt::temporal::DateTimePrinter;
use throughline_core::Currency;
use throughline_core::money::format_minor;

/// One cell of an export row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// An empty cell in CSV and XLSX, `null` in JSON.
    Null,
    Text(String),
    Int(i64),
    /// An exact decimal in plain text (`5000.00`, `-0.05`, `1200`): written as is in CSV, a
    /// number in JSON, a number with as many decimals shown in XLSX.
    Decimal(String),
    Bool(bool),
    /// Structured data (custom fields, a stage history, an event's data) as compact JSON text,
    /// valid by construction: written as text in CSV and XLSX, embedded as a value in JSON.
    Json(String),
}

impl Cell {
    pub fn text(value: impl Into<String>) -> Cell {
        Cell::Text(value.into())
    }

    pub fn opt_text(value: Option<impl Into<String>>) -> Cell {
        value.map_or(Cell::Null, |v| Cell::Text(v.into()))
    }

    pub fn instant(at: Timestamp) -> Cell {
        Cell::Text(instant(at))
    }

    pub fn opt_instant(at: Option<Timestamp>) -> Cell {
        at.map_or(Cell::Null, Cell::instant)
    }

    /// The cell as CSV writes it (and XLSX, for text).
    pub fn to_text(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Text(s) | Cell::Decimal(s) | Cell::Json(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Bool(b) => b.to_string(),
        }
    }
}

const MILLIS: DateTimePrinter = DateTimePrinter::new().precision(Some(3));

/// An instant in RFC 3339, UTC, with milliseconds: `2024-03-01T10:22:33.000Z`.
pub fn instant(at: Timestamp) -> String {
    MILLIS.timestamp_to_string(&at)
}

/// An amount of minor units in major units as a plain decimal with the currency's digits:
/// 500000 EUR → `5000.00`, 5000 JPY → `5000`. No grouping, `-` for negatives.
pub fn money(minor: i64, currency: Currency) -> String {
    format_minor(minor, currency.exponent()).replace(',', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_have_milliseconds_and_zulu() {
        let at: Timestamp = "2024-03-01T10:22:33Z".parse().unwrap();
        assert_eq!(instant(at), "2024-03-01T10:22:33.000Z");
        let at: Timestamp = "2024-03-01T12:22:33.5+02:00".parse().unwrap();
        assert_eq!(instant(at), "2024-03-01T10:22:33.500Z");
        assert_eq!(instant(Timestamp::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn money_is_a_plain_decimal_with_the_currency_digits() {
        let jpy: Currency = "JPY".parse().unwrap();
        let bhd: Currency = "BHD".parse().unwrap();
        assert_eq!(money(500_000, Currency::EUR), "5000.00");
        assert_eq!(money(123_456_789, Currency::USD), "1234567.89");
        assert_eq!(money(5, Currency::EUR), "0.05");
        assert_eq!(money(-5, Currency::EUR), "-0.05");
        assert_eq!(money(0, Currency::EUR), "0.00");
        assert_eq!(money(1_000_000, jpy), "1000000");
        assert_eq!(money(1_234_567, bhd), "1234.567");
    }
}
