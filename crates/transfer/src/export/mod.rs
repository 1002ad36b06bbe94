//! Exports: every kind of record, and the event history, as CSV, JSON or XLSX.
