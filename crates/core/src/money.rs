//! Money: an integer amount in minor units plus an ISO 4217 currency. No floating point.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An ISO 4217 currency, such as EUR.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an ISO 4217 currency code (such as EUR, USD, GBP)")]
pub struct UnknownCurrency(pub String);

impl Currency {
    pub const EUR: Currency = Currency(iso_currency::Currency::EUR);
    pub const USD: Currency = Currency(iso_currency::Currency::USD);

    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// Digits after the decimal point: 2 for EUR, 0 for JPY. Currencies without a defined
    /// exponent (gold, SDR) are treated as having 2.
    pub fn exponent(self) -> u32 {
        u32::from(self.0.exponent().unwrap_or(2))
    }

    pub fn symbol(self) -> String {
        self.0.symbol().symbol
    }
}

impl FromStr for Currency {
    type Err = UnknownCurrency;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        iso_currency::Currency::from_code(&upper)
            .map(Currency)
            .ok_or_else(|| UnknownCurrency(s.to_string()))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

/// An amount in minor units (cents) of a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(amount: i64, currency: Currency) -> Self {
        Self { amount, currency }
    }

    /// Parse a human amount in major units ("12,400.50", "1 200", "12400") into minor units.
    /// Used by importers and the CLI; the API takes minor units directly.
    pub fn parse_major(text: &str, currency: Currency) -> Result<Money, String> {
        let exp = currency.exponent();
        let cleaned: String = text
            .trim()
            .chars()
            .filter(|c| !matches!(c, ',' | ' ' | '_' | '\u{a0}' | '\''))
            .collect();
        if cleaned.is_empty() {
            return Err("is empty".into());
        }
        let (negative, digits) = match cleaned.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, cleaned.as_str()),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && frac.is_empty()
            || !whole.chars().all(|c| c.is_ascii_digit())
            || !frac.chars().all(|c| c.is_ascii_digit())
        {
            return Err(format!("`{text}` is not an amount"));
        }
        if frac.len() > exp as usize && frac[exp as usize..].chars().any(|c| c != '0') {
            return Err(format!(
                "`{text}` has more than {exp} decimals for {currency}"
            ));
        }
        let scale = 10i64.pow(exp);
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole
                .parse()
                .map_err(|_| format!("`{text}` is too large"))?
        };
        let mut frac_digits: String = frac.chars().take(exp as usize).collect();
        while frac_digits.len() < exp as usize {
            frac_digits.push('0');
        }
        let frac: i64 = if frac_digits.is_empty() {
            0
        } else {
            frac_digits
                .parse()
                .map_err(|_| format!("`{text}` is not an amount"))?
        };
        let amount = whole
            .checked_mul(scale)
            .and_then(|w| w.checked_add(frac))
            .ok_or_else(|| format!("`{text}` is too large"))?;
        Ok(Money::new(
            if negative { -amount } else { amount },
            currency,
        ))
    }

    /// Major units with grouping: `12,400.00 EUR`.
    pub fn display(&self) -> String {
        format!(
            "{} {}",
            format_minor(self.amount, self.currency.exponent()),
            self.currency
        )
    }
}

/// `1240050` with exponent 2 → `12,400.50`.
pub fn format_minor(amount: i64, exponent: u32) -> String {
    let scale = 10u64.pow(exponent);
    let abs = amount.unsigned_abs();
    let whole = (abs / scale).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if amount < 0 { "-" } else { "" };
    if exponent == 0 {
        format!("{sign}{grouped}")
    } else {
        format!(
            "{sign}{grouped}.{:0width$}",
            abs % scale,
            width = exponent as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_parse_case_insensitively_and_refuse_unknown_codes() {
        assert_eq!("eur".parse::<Currency>().unwrap(), Currency::EUR);
        assert_eq!("JPY".parse::<Currency>().unwrap().exponent(), 0);
        assert!("EURO".parse::<Currency>().is_err());
        assert!("".parse::<Currency>().is_err());
    }

    #[test]
    fn currencies_serialize_as_their_code() {
        assert_eq!(serde_json::to_string(&Currency::USD).unwrap(), "\"USD\"");
        let err = serde_json::from_str::<Currency>("\"XYZ\"").unwrap_err();
        assert!(err.to_string().contains("not an ISO 4217"));
    }

    #[test]
    fn major_amounts_become_minor_units() {
        let eur = Currency::EUR;
        assert_eq!(
            Money::parse_major("12,400.50", eur).unwrap().amount,
            1_240_050
        );
        assert_eq!(Money::parse_major("12400", eur).unwrap().amount, 1_240_000);
        assert_eq!(Money::parse_major("0.5", eur).unwrap().amount, 50);
        assert_eq!(Money::parse_major("-3.10", eur).unwrap().amount, -310);
        assert_eq!(Money::parse_major("1.500", eur).unwrap().amount, 150);
        assert_eq!(
            Money::parse_major("500", "JPY".parse().unwrap())
                .unwrap()
                .amount,
            500
        );
        assert!(Money::parse_major("1.234", eur).is_err());
        assert!(Money::parse_major("abc", eur).is_err());
        assert!(Money::parse_major("", eur).is_err());
        assert!(Money::parse_major("99999999999999999999", eur).is_err());
    }

    #[test]
    fn minor_units_display_with_grouping() {
        assert_eq!(format_minor(1_240_050, 2), "12,400.50");
        assert_eq!(format_minor(-5, 2), "-0.05");
        assert_eq!(format_minor(1_000_000, 0), "1,000,000");
        assert_eq!(Money::new(500_000, Currency::EUR).display(), "5,000.00 EUR");
    }
}
