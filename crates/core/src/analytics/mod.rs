//! The analytics engine: pure functions over plain data that turn a pipeline's history into
//! the figures a sales team steers by. No I/O, no SQL, no async — the store feeds these
//! functions with aggregates and the server and CLI render what they return.
//!
//! - [`period`]: reporting periods (`--last 90d`, `--quarter 2025Q3`, …) and week, month and
//!   quarter buckets.
//! - [`stats`]: mean, sample standard deviation, coefficient of variation and quantiles, over
//!   lists and over integer histograms.
//! - [`flow`]: a figure per bucket with peaks and valleys marked.
//! - [`survival`]: the Kaplan–Meier estimator for censored durations.
//! - [`model`]: the semi-Markov stage model learned from stage stays: next-step probabilities,
//!   time in stage, win chances, simulated paths, calibration against configured stage
//!   probabilities.
//! - [`projection`]: expected won closes per coming week, projected valleys and the new leads
//!   needed to fill them.
//! - [`forecast`]: per month or quarter, won so far, weighted pipeline and P10/P50/P90 of won
//!   value by Monte Carlo.
//! - [`engine`]: the Monte Carlo machinery both share, and the open-deal input they take.
//! - [`rng`]: the seeded random numbers behind every simulation.
//!
//! What the store supplies, in short: stays binned by stage index, whole days and exit — open
//! stays included, aged like the open deals (see [`model`]); open deals with their stage index
//! and age; per-day counts for flows; histograms for cycle times; today's date in the team's
//! time zone.

#![deny(missing_docs)]

pub mod engine;
pub mod flow;
pub mod forecast;
pub mod model;
pub mod period;
pub mod projection;
pub mod rng;
pub mod stats;
pub mod survival;
