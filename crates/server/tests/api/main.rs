//! The JSON API through the HTTP router, on SQLite and on PostgreSQL.
//!
//! One test binary (one link) with a module per area. Each story runs on a fresh database of
//! each backend; every refusal is checked as a problem document (type, status, field,
//! detail), and after every refusal the state is checked to be unchanged.

mod support;

mod activities;
mod deals;
mod errors;
mod leads;
mod parties;
mod pipelines;
mod reports;
mod roles;
mod snapshot;
