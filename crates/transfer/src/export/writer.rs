//! One writer per format behind [`RecordWriter`]: CSV and JSON write into a shared buffer
//! that the export drains after every page; XLSX builds its workbook in temporary files and
//! hands over the finished file at the end.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use super::ExportError;
use super::cell::Cell;

/// Bytes written by a writer, taken out by the export after each page.
#[derive(Clone, Default)]
pub(crate) struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Write for SharedBuf {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a writer leaves when it finishes.
pub(crate) enum Finished {
    /// Everything is in the shared buffer.
    InBuffer,
    /// The document is this file, positioned at its start.
    File(std::fs::File),
}

pub(crate) trait RecordWriter: Send {
    fn row(&mut self, cells: &[Cell]) -> Result<(), ExportError>;
    /// A page is written: push buffered bytes out to the shared buffer.
    fn end_page(&mut self) -> Result<(), ExportError>;
    fn finish(self: Box<Self>) -> Result<Finished, ExportError>;
}

// ---- CSV ----

pub(crate) struct CsvWriter {
    out: csv::Writer<SharedBuf>,
}

impl CsvWriter {
    pub fn new(columns: &[&str], buf: SharedBuf) -> Result<Self, ExportError> {
        let mut out = csv::WriterBuilder::new().from_writer(buf);
        out.write_record(columns)?;
        Ok(CsvWriter { out })
    }
}

impl RecordWriter for CsvWriter {
    fn row(&mut self, cells: &[Cell]) -> Result<(), ExportError> {
        self.out.write_record(cells.iter().map(Cell::to_text))?;
        Ok(())
    }

    fn end_page(&mut self) -> Result<(), ExportError> {
        self.out.flush()?;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<Finished, ExportError> {
        self.out.flush()?;
        Ok(Finished::InBuffer)
    }
}

// ---- JSON ----

/// An array of objects, one per line, keys in column order.
pub(crate) struct JsonWriter {
    columns: Vec<&'static str>,
    out: std::io::BufWriter<SharedBuf>,
    first: bool,
}

impl JsonWriter {
    pub fn new(columns: &[&'static str], buf: SharedBuf) -> Result<Self, ExportError> {
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, buf);
        out.write_all(b"[")?;
        Ok(JsonWriter {
            columns: columns.to_vec(),
            out,
            first: true,
        })
    }
}

fn json_value(out: &mut impl Write, cell: &Cell) -> Result<(), ExportError> {
    match cell {
        Cell::Null => out.write_all(b"null")?,
        Cell::Text(s) => serde_json::to_writer(&mut *out, s)?,
        Cell::Int(n) => write!(out, "{n}")?,
        // Made by `cell::money`: digits, at most one dot, maybe a leading minus, which is a
        // JSON number as it stands, with its decimals kept (`5000.00`). JSON cells are JSON
        // text made by the export itself.
        Cell::Decimal(s) | Cell::Json(s) => out.write_all(s.as_bytes())?,
        Cell::Bool(b) => write!(out, "{b}")?,
    }
    Ok(())
}

impl RecordWriter for JsonWriter {
    fn row(&mut self, cells: &[Cell]) -> Result<(), ExportError> {
        self.out
            .write_all(if self.first { b"\n{" } else { b",\n{" })?;
        self.first = false;
        for (i, (column, cell)) in self.columns.iter().zip(cells).enumerate() {
            if i > 0 {
                self.out.write_all(b",")?;
            }
            serde_json::to_writer(&mut self.out, column)?;
            self.out.write_all(b":")?;
            json_value(&mut self.out, cell)?;
        }
        self.out.write_all(b"}")?;
        Ok(())
    }

    fn end_page(&mut self) -> Result<(), ExportError> {
        self.out.flush()?;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<Finished, ExportError> {
        self.out.write_all(b"\n]\n")?;
        self.out.flush()?;
        Ok(Finished::InBuffer)
    }
}

// ---- pipelines as nested JSON ----

/// Pipelines as an array of objects, each with its `stages` array, from the one-row-per-stage
/// cells of [`super::records::PIPELINE_COLUMNS`]. A pipeline's rows are consecutive and its
/// stages numbered from 1, so a row at position 1 (or without a stage) starts the next one:
/// that keeps two pipelines of the same name (one archived) apart.
pub(crate) struct PipelinesJsonWriter {
    out: std::io::BufWriter<SharedBuf>,
    current: Option<serde_json::Map<String, serde_json::Value>>,
    first: bool,
}

impl PipelinesJsonWriter {
    pub fn new(buf: SharedBuf) -> Result<Self, ExportError> {
        let mut out = std::io::BufWriter::new(buf);
        out.write_all(b"[")?;
        Ok(PipelinesJsonWriter {
            out,
            current: None,
            first: true,
        })
    }

    fn flush_pipeline(&mut self) -> Result<(), ExportError> {
        if let Some(pipeline) = self.current.take() {
            self.out
                .write_all(if self.first { b"\n" } else { b",\n" })?;
            self.first = false;
            serde_json::to_writer(&mut self.out, &pipeline)?;
        }
        Ok(())
    }
}

fn cell_value(cell: &Cell) -> Result<serde_json::Value, ExportError> {
    Ok(match cell {
        Cell::Null => serde_json::Value::Null,
        Cell::Text(s) | Cell::Decimal(s) => serde_json::Value::String(s.clone()),
        Cell::Int(n) => (*n).into(),
        Cell::Bool(b) => (*b).into(),
        Cell::Json(s) => serde_json::from_str(s)?,
    })
}

impl RecordWriter for PipelinesJsonWriter {
    fn row(&mut self, cells: &[Cell]) -> Result<(), ExportError> {
        let [name, currency, archived, stage @ ..] = cells else {
            return Ok(());
        };
        let starts = matches!(stage.get(1), None | Some(Cell::Null | Cell::Int(1)));
        if starts || self.current.is_none() {
            self.flush_pipeline()?;
            let mut p = serde_json::Map::new();
            p.insert("name".into(), cell_value(name)?);
            p.insert("currency".into(), cell_value(currency)?);
            p.insert("archived".into(), cell_value(archived)?);
            p.insert("stages".into(), serde_json::Value::Array(vec![]));
            self.current = Some(p);
        }
        if matches!(stage.first(), None | Some(Cell::Null)) {
            return Ok(());
        }
        let mut s = serde_json::Map::new();
        for (column, cell) in super::records::PIPELINE_COLUMNS[3..].iter().zip(stage) {
            let key = if *column == "stage" { "name" } else { column };
            s.insert(key.into(), cell_value(cell)?);
        }
        if let Some(serde_json::Value::Array(stages)) =
            self.current.as_mut().and_then(|p| p.get_mut("stages"))
        {
            stages.push(serde_json::Value::Object(s));
        }
        Ok(())
    }

    fn end_page(&mut self) -> Result<(), ExportError> {
        self.out.flush()?;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<Finished, ExportError> {
        self.flush_pipeline()?;
        self.out.write_all(b"\n]\n")?;
        self.out.flush()?;
        Ok(Finished::InBuffer)
    }
}

// ---- XLSX ----

pub(crate) use super::xlsx::XlsxWriter;

#[cfg(test)]
mod tests {
    use super::*;

    fn written(w: Box<dyn RecordWriter>, buf: &SharedBuf) -> String {
        assert!(matches!(w.finish().unwrap(), Finished::InBuffer));
        String::from_utf8(buf.take()).unwrap()
    }

    #[test]
    fn json_keeps_decimals_and_types() {
        let buf = SharedBuf::default();
        let mut w: Box<dyn RecordWriter> =
            Box::new(JsonWriter::new(&["a", "b", "c", "d", "e", "f"], buf.clone()).unwrap());
        w.row(&[
            Cell::text("x \"y\""),
            Cell::Decimal("5000.00".into()),
            Cell::Null,
            Cell::Int(7),
            Cell::Bool(true),
            Cell::Json(r#"{"k":[1]}"#.into()),
        ])
        .unwrap();
        w.row(&[
            Cell::text(""),
            Cell::Decimal("-0.05".into()),
            Cell::Null,
            Cell::Int(-1),
            Cell::Bool(false),
            Cell::Json("[]".into()),
        ])
        .unwrap();
        let text = written(w, &buf);
        assert_eq!(
            text,
            "[\n{\"a\":\"x \\\"y\\\"\",\"b\":5000.00,\"c\":null,\"d\":7,\"e\":true,\"f\":{\"k\":[1]}},\n\
             {\"a\":\"\",\"b\":-0.05,\"c\":null,\"d\":-1,\"e\":false,\"f\":[]}\n]\n"
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed[0]["b"], 5000.0);
    }

    #[test]
    fn an_empty_json_export_is_an_empty_array() {
        let buf = SharedBuf::default();
        let w = Box::new(JsonWriter::new(&["a"], buf.clone()).unwrap());
        let text = written(w, &buf);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            serde_json::json!([])
        );
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let buf = SharedBuf::default();
        let mut w: Box<dyn RecordWriter> =
            Box::new(CsvWriter::new(&["a", "b", "c"], buf.clone()).unwrap());
        w.row(&[
            Cell::text("one, two"),
            Cell::Null,
            Cell::Json(r#"{"k":"v"}"#.into()),
        ])
        .unwrap();
        assert_eq!(
            written(w, &buf),
            "a,b,c\n\"one, two\",,\"{\"\"k\"\":\"\"v\"\"}\"\n"
        );
    }
}
