//! Imports: CSV and XLSX files, recognised CRM exports or explicit mappings.
//!
//! An import reads the file twice. The first pass reads only what shapes the target (the
//! pipelines and stages the rows name, how many rows there are); the second converts every
//! row, resolving owners, organizations and people, and writes the records with their
//! history in one transaction. A rejected row is reported with its line, column and reason;
//! unless `partial` is set, any rejection rolls the whole import back, and `dry_run` always
//! does, so a file can be checked without changing anything.

mod cells;
mod deals;
pub mod formats;
pub mod mapping;
mod pipelines;
mod plan;
pub mod read;
mod records;
mod resolve;
pub mod values;

use std::path::{Path, PathBuf};

use serde::Serialize;
use throughline_store::{Ctx, Store, StoreError};

pub use mapping::{Mapping, Outcome};

/// What kind of record each row of the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Deals,
    Leads,
    People,
    Organizations,
    Activities,
    /// Pipelines with their stages, as `throughline export pipelines` writes them.
    Pipelines,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Deals => "deals",
            Kind::Leads => "leads",
            Kind::People => "people",
            Kind::Organizations => "organizations",
            Kind::Activities => "activities",
            Kind::Pipelines => "pipelines",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "deals" => Ok(Kind::Deals),
            "leads" => Ok(Kind::Leads),
            "people" => Ok(Kind::People),
            "organizations" => Ok(Kind::Organizations),
            "activities" => Ok(Kind::Activities),
            "pipelines" => Ok(Kind::Pipelines),
            _ => Err(format!(
                "`{s}` is not deals, leads, people, organizations, activities or pipelines"
            )),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Format(String),
    #[error("{0}")]
    Mapping(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ImportError {
    pub(crate) fn file(path: &Path, source: std::io::Error) -> Self {
        ImportError::File {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What to import and how.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub kind: Kind,
    /// Explicit mapping (flags or a TOML file); laid over the recognised format's, if any.
    pub mapping: Mapping,
    /// Check everything, write nothing.
    pub dry_run: bool,
    /// Commit the good rows even when some are rejected.
    pub partial: bool,
}

/// A row the import refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Rejection {
    pub line: u64,
    /// The column at fault, as the file spells it.
    pub column: Option<String>,
    pub reason: String,
}

/// What an import did (or, for a dry run or a refused import, would have done).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct ImportReport {
    pub kind: Option<Kind>,
    /// The recognised format (`pipedrive`, `hubspot`, `salesforce`, `throughline`), if any.
    pub format: Option<String>,
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    /// Rows whose record exists already, unchanged (found by external id).
    pub skipped: u64,
    pub rejected: Vec<Rejection>,
    /// Owners the file names who were not users: created as users who cannot log in.
    pub users_created: Vec<String>,
    pub pipelines_created: Vec<String>,
    pub stages_created: Vec<String>,
    pub organizations_created: u64,
    pub people_created: u64,
    pub dry_run: bool,
    /// True when the changes were committed.
    pub committed: bool,
}

/// Told how far an import has come (a terminal progress bar, an API job).
pub trait Progress: Send + Sync {
    /// The number of data rows, once the first pass has counted them.
    fn total(&self, _rows: u64) {}
    /// `rows` more rows were converted and written.
    fn advance(&self, _rows: u64) {}
}

/// Progress nobody watches.
pub struct Silent;
impl Progress for Silent {}

/// The mapping the import will use for this file: the recognised format's, if any, with
/// the explicit one laid over it. Fails when nothing maps the file.
pub fn resolve_mapping(
    kind: Kind,
    headers: &[String],
    explicit: &Mapping,
) -> Result<Mapping, ImportError> {
    let mut mapping = formats::detect(kind, headers).unwrap_or_default();
    mapping.overlay(explicit.clone());
    let required = match kind {
        Kind::Deals | Kind::Leads => "title",
        Kind::People | Kind::Organizations => "name",
        Kind::Activities => "subject",
        // Pipelines are read by the export's own column names, never mapped.
        Kind::Pipelines => return Ok(mapping),
    };
    if !mapping.fields.contains_key(required) {
        return Err(ImportError::Mapping(format!(
            "the file is not a recognised export (Pipedrive, HubSpot, Salesforce or Throughline) and no column is mapped to `{required}`: map its columns with --map FIELD=COLUMN (e.g. --map {required}=\"{}\"); its columns are: {}",
            headers.first().map(String::as_str).unwrap_or("Name"),
            headers.join(", ")
        )));
    }
    mapping.check(kind, headers)?;
    Ok(mapping)
}

/// Import `path` into the store as `ctx`.
pub async fn run(
    store: &Store,
    ctx: Ctx,
    path: &Path,
    options: &ImportOptions,
    progress: &dyn Progress,
) -> Result<ImportReport, ImportError> {
    if options.kind == Kind::Pipelines {
        return import_pipelines(store, ctx, path, options, progress).await;
    }
    // Read once here for an XLSX sheet; a CSV file is streamed again by each pass.
    let source = read::Source::open(path)?;
    let mapping = resolve_mapping(options.kind, &source.table()?.headers, &options.mapping)?;
    let mut report = ImportReport {
        kind: Some(options.kind),
        format: mapping.format.clone(),
        dry_run: options.dry_run,
        ..ImportReport::default()
    };
    let started = std::time::Instant::now();
    let plan = plan::survey(&source, options.kind, &mapping)?;
    tracing::debug!(elapsed = ?started.elapsed(), "import: file surveyed");
    report.rows = plan.rows;
    progress.total(plan.rows);

    // A first import of deals writes gigabytes: once, not through the log and back.
    let fresh = options.kind == Kind::Deals && !options.dry_run && store.begin_fresh_load().await?;
    let pass = Pass {
        source: &source,
        options,
        mapping: &mapping,
        plan: &plan,
    };
    let written = write(store, ctx, &pass, &mut report, progress).await;
    if fresh {
        store.end_fresh_load().await?;
    }
    written?;
    tracing::debug!(elapsed = ?started.elapsed(), "import: committed");
    Ok(report)
}

async fn import_pipelines(
    store: &Store,
    ctx: Ctx,
    path: &Path,
    options: &ImportOptions,
    progress: &dyn Progress,
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport {
        kind: Some(Kind::Pipelines),
        format: Some("throughline".into()),
        dry_run: options.dry_run,
        ..ImportReport::default()
    };
    let mut tx = store.write().await?;
    pipelines::import(&mut tx, ctx, path, &mut report, progress).await?;
    finish(tx, options, &mut report).await?;
    Ok(report)
}

/// Commit the import's transaction unless it is a dry run or refused.
async fn finish(
    tx: throughline_store::Tx,
    options: &ImportOptions,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    report.rejected.sort_by_key(|r| r.line);
    let refused = !report.rejected.is_empty() && !options.partial;
    if options.dry_run || refused {
        // Dropping the transaction rolls back every row, user and stage it created.
        drop(tx);
    } else {
        tx.commit().await?;
        report.committed = true;
    }
    Ok(())
}

/// What the second pass reads: the file, as the first pass found it.
struct Pass<'a> {
    source: &'a read::Source,
    options: &'a ImportOptions,
    mapping: &'a Mapping,
    plan: &'a plan::Plan,
}

/// The second pass: rows written in one transaction, committed unless refused.
async fn write(
    store: &Store,
    ctx: Ctx,
    pass: &Pass<'_>,
    report: &mut ImportReport,
    progress: &dyn Progress,
) -> Result<(), ImportError> {
    let Pass {
        source,
        options,
        mapping,
        plan,
    } = *pass;
    let started = std::time::Instant::now();
    let mut tx = store.write().await?;
    let table = source.table()?;
    match options.kind {
        Kind::Deals => deals::import(&mut tx, ctx, table, mapping, plan, report, progress).await?,
        kind => records::import(&mut tx, ctx, kind, table, mapping, report, progress).await?,
    }
    tracing::debug!(elapsed = ?started.elapsed(), "import: rows written");
    finish(tx, options, report).await?;
    tracing::debug!(elapsed = ?started.elapsed(), "import: transaction ended");
    Ok(())
}
