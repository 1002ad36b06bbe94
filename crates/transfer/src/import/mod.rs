//! Imports: CSV and XLSX files, recognised CRM exports or explicit mappings.
