//! Installation-wide settings (default currency, team time zone).

use jiff::tz::TimeZone;
use throughline_core::Currency;

use crate::db::{Tx, exec, on_conn};
use crate::error::{Result, StoreError};

pub const DEFAULT_CURRENCY: &str = "default_currency";
pub const TIME_ZONE: &str = "time_zone";
/// The definition version the report tables were last built with.
pub const ROLLUPS_VERSION: &str = "rollups_version";

pub async fn get(tx: &mut Tx, key: &str) -> Result<Option<String>> {
    let row: Option<(String,)> = on_conn!(tx, c => sqlx::query_as("SELECT value FROM settings WHERE key = $1")
        .bind(key)
        .fetch_optional(&mut *c)
        .await)?;
    Ok(row.map(|(v,)| v))
}

pub async fn set(tx: &mut Tx, key: &str, value: &str) -> Result<()> {
    if key == TIME_ZONE {
        tx.cache.time_zone = None;
    }
    exec!(tx, c => sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(&mut *c)
    .await)?;
    Ok(())
}

/// The currency new pipelines get when none is named (EUR unless configured).
pub async fn default_currency(tx: &mut Tx) -> Result<Currency> {
    match get(tx, DEFAULT_CURRENCY).await? {
        Some(code) => code
            .parse()
            .map_err(|e: throughline_core::money::UnknownCurrency| {
                StoreError::Corrupt(e.to_string())
            }),
        None => Ok(Currency::EUR),
    }
}

/// The team's time zone, for calendar days, weeks and months (UTC unless configured).
pub async fn time_zone(tx: &mut Tx) -> Result<TimeZone> {
    if let Some(tz) = &tx.cache.time_zone {
        return Ok(tz.clone());
    }
    let tz = match get(tx, TIME_ZONE).await? {
        Some(name) => TimeZone::get(&name)
            .map_err(|e| StoreError::Corrupt(format!("time zone `{name}`: {e}")))?,
        None => TimeZone::UTC,
    };
    tx.cache.time_zone = Some(tz.clone());
    Ok(tz)
}
