//! Moving data in and out: imports from CRM exports and spreadsheets, exports of every
//! record and of the history. File formats live here; the store does the writing.

pub mod export;
pub mod import;
