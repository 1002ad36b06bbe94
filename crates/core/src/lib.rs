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

/// A hash map for keys the program makes (ids, days, names from a file being imported),
/// hashed many millions of times in an import: the standard library's DoS-resistant hasher
/// was a fifth of the time spent laying an import's rows out.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
