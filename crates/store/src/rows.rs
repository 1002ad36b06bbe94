//! Turning stored text back into typed values. A failure here means a row was written by
//! something other than this code: it is reported as corrupt data, never unwrapped.

use std::str::FromStr;

use jiff::civil::Date;
use throughline_core::Currency;
use throughline_core::deal::CustomFields;

use crate::error::{Result, StoreError};

pub(crate) fn parse<T: FromStr>(what: &str, raw: &str) -> Result<T> {
    raw.parse()
        .map_err(|_| StoreError::Corrupt(format!("{what} `{raw}` cannot be read")))
}

/// `raw` parsed, looked up first among the values already parsed (ids that repeat on many
/// rows).
pub(crate) fn parse_once<T: Copy + FromStr>(
    seen: &mut std::collections::HashMap<String, T>,
    what: &str,
    raw: &str,
) -> Result<T> {
    if let Some(id) = seen.get(raw) {
        return Ok(*id);
    }
    let id: T = parse(what, raw)?;
    seen.insert(raw.to_string(), id);
    Ok(id)
}

pub(crate) fn parse_opt<T: FromStr>(what: &str, raw: Option<&str>) -> Result<Option<T>> {
    raw.map(|r| parse(what, r)).transpose()
}

pub(crate) fn currency(raw: &str) -> Result<Currency> {
    parse("currency", raw)
}

pub(crate) fn date(raw: Option<&str>) -> Result<Option<Date>> {
    parse_opt("date", raw)
}

pub(crate) fn custom(raw: &str) -> Result<CustomFields> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("custom fields: {e}")))
}

pub(crate) fn custom_text(custom: &CustomFields) -> String {
    serde_json::to_string(custom).unwrap_or_else(|_| "{}".into())
}

/// An optional id as bind text.
pub(crate) fn opt_text<T: ToString>(id: Option<T>) -> Option<String> {
    id.map(|i| i.to_string())
}
