//! Exports: every kind of record, and the event history, as CSV, JSON or XLSX.
//!
//! An export reads its records a page at a time ([`throughline_store::export`], keyset
//! pagination in one read transaction) and writes each page out before reading the next,
//! so memory stays bounded however many records there are. [`ExportStream`] yields the
//! document as chunks of bytes (the API streams them as the response body); [`export`]
//! writes them to any [`Write`] (the CLI's file or stdout).
//!
//! The columns of each kind are fixed by [`columns`] and read back by the importer. Values:
//! instants in RFC 3339 UTC with milliseconds, dates `YYYY-MM-DD`, money in major units with
//! the currency's decimals (`5000.00`), structured values as JSON. In CSV and XLSX a null is
//! an empty cell; JSON has typed values (numbers, `null`, objects and arrays).

mod cell;
mod records;
mod writer;
mod xlsx;

use std::fmt;
use std::io::{Read, Write};
use std::str::FromStr;

use throughline_store::{Ctx, Store, StoreError, Tx};

pub use cell::{Cell, instant, money};
pub use records::{PIPELINE_COLUMNS, columns};
pub use throughline_store::export::{Kind, PAGE_SIZE};

use records::Cursor;
use writer::{
    CsvWriter, Finished, JsonWriter, PipelinesJsonWriter, RecordWriter, SharedBuf, XlsxWriter,
};

/// File formats of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Csv,
    Json,
    Xlsx,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Csv, Format::Json, Format::Xlsx];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Xlsx => "xlsx",
        }
    }

    /// The file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        self.as_str()
    }

    /// The media type of the document.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == wanted)
            .ok_or_else(|| format!("`{s}` is not an export format: use csv, json or xlsx"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot write the CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("cannot write the JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot write the XLSX: {0}")]
    Xlsx(String),
    #[error(
        "record {row}, column `{column}` holds {length} characters; an XLSX cell holds at most 32,767: export as csv or json instead"
    )]
    CellTooLong {
        row: u64,
        column: &'static str,
        length: usize,
    },
}

/// Bytes of the finished XLSX file read per chunk.
const FILE_CHUNK: usize = 256 * 1024;

/// An export in progress: the document as a sequence of chunks of bytes, each made from one
/// page of records (CSV, JSON) or read from the finished file (XLSX, which can only be
/// assembled once every row is written).
pub struct ExportStream {
    kind: Kind,
    ctx: Ctx,
    tx: Option<Tx>,
    cursor: Cursor,
    page_size: i64,
    writer: Option<Box<dyn RecordWriter>>,
    buf: SharedBuf,
    file: Option<std::fs::File>,
    rows: u64,
}

impl ExportStream {
    /// Start an export of what `ctx`'s actor may see, in one read transaction.
    pub async fn open(
        store: &Store,
        ctx: Ctx,
        kind: Kind,
        format: Format,
    ) -> Result<ExportStream, ExportError> {
        let buf = SharedBuf::default();
        let cols = columns(kind);
        let writer: Box<dyn RecordWriter> = match format {
            Format::Csv => Box::new(CsvWriter::new(cols, buf.clone())?),
            Format::Json if kind == Kind::Pipelines => {
                Box::new(PipelinesJsonWriter::new(buf.clone())?)
            }
            Format::Json => Box::new(JsonWriter::new(cols, buf.clone())?),
            Format::Xlsx => Box::new(XlsxWriter::new(kind.as_str(), cols)?),
        };
        let tx = store.read().await?;
        Ok(ExportStream {
            kind,
            ctx,
            tx: Some(tx),
            cursor: Cursor::default(),
            page_size: PAGE_SIZE,
            writer: Some(writer),
            buf,
            file: None,
            rows: 0,
        })
    }

    /// Read this many records per page (default [`PAGE_SIZE`]).
    pub fn with_page_size(mut self, rows: i64) -> Self {
        self.page_size = rows.clamp(1, 100_000);
        self
    }

    /// Records written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// How many records the whole export holds (read in the export's own transaction, so it
    /// matches what is written). Zero once the reading is over.
    pub async fn count(&mut self) -> Result<u64, ExportError> {
        match self.tx.as_mut() {
            Some(tx) => Ok(throughline_store::export::count(tx, &self.ctx, self.kind)
                .await?
                .max(0) as u64),
            None => Ok(0),
        }
    }

    /// The next bytes of the document, or `None` at its end.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, ExportError> {
        loop {
            let pending = self.buf.take();
            if !pending.is_empty() {
                return Ok(Some(pending));
            }
            if let Some(file) = self.file.as_mut() {
                let mut chunk = vec![0; FILE_CHUNK];
                let n = file.read(&mut chunk)?;
                if n == 0 {
                    self.file = None;
                    return Ok(None);
                }
                chunk.truncate(n);
                return Ok(Some(chunk));
            }
            let Some(writer) = self.writer.as_mut() else {
                return Ok(None);
            };
            if let Some(tx) = self.tx.as_mut() {
                let page =
                    records::next_page(tx, &self.ctx, self.kind, &mut self.cursor, self.page_size)
                        .await?;
                for row in &page {
                    writer.row(row)?;
                }
                writer.end_page()?;
                self.rows += page.len() as u64;
                if self.cursor.done
                    && let Some(tx) = self.tx.take()
                {
                    tx.commit().await?;
                }
                continue;
            }
            // Every page is written: close the document. Assembling an XLSX file compresses
            // every row, which is long work for a large export: it runs off the async threads.
            let writer = self.writer.take().expect("checked above");
            let finished = tokio::task::spawn_blocking(move || writer.finish())
                .await
                .map_err(|e| std::io::Error::other(format!("the export was interrupted: {e}")))??;
            if let Finished::File(file) = finished {
                self.file = Some(file);
            }
        }
    }
}

/// Export what `ctx`'s actor may see of `kind` to `out`, calling `progress` with the number
/// of records written after every page. Returns the number of records.
pub async fn export<W: Write>(
    store: &Store,
    ctx: &Ctx,
    kind: Kind,
    format: Format,
    out: &mut W,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, ExportError> {
    let mut stream = ExportStream::open(store, *ctx, kind, format).await?;
    while let Some(chunk) = stream.next_chunk().await? {
        out.write_all(&chunk)?;
        progress(stream.rows());
    }
    out.flush()?;
    Ok(stream.rows())
}
