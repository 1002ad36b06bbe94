//! Persistence of Throughline: the only crate with SQL.
//!
//! Operations are free functions over a [`Tx`] so that several of them can share one
//! transaction (an import, the demo generator) while each stays the single path for its
//! change: the record, its event and its derived spans are written together.

mod db;
mod error;
pub mod reports;
pub mod rollups;
mod rows;
mod scope;
mod spans;
mod table_read;
mod table_rows;

pub mod activities;
pub mod board;
pub mod bulk;
pub mod deals;
pub mod events;
pub mod export;
pub mod import_jobs;
pub mod leads;
pub mod parties;
pub mod pipelines;
pub mod sessions;
pub mod settings;
pub mod snapshot;
pub mod users;

pub use db::{Backend, Store, Tx, classify_url};
pub use deals::Page;
pub use error::{Result, StoreError};
pub use events::Ctx;
