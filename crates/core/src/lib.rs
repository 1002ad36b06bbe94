//! Domain types, rules and analytics of Throughline.
//!
//! Nothing here performs I/O: every function works on plain data so that it can be unit- and
//! property-tested without a database.

pub mod activity;
pub mod analytics;
pub mod criteria;
pub mod deal;
pub mod event;
pub mod ids;
pub mod lead;
pub mod money;
pub mod nullable;
pub mod party;
pub mod pipeline;
pub mod report;
pub mod role;
pub mod rollup;
pub mod snapshot;
pub mod time;
pub mod user;
pub mod validate;

pub use ids::*;
pub use money::{Currency, Money};
pub use role::{Actor, Role};
pub use validate::{FieldError, Invalid};
