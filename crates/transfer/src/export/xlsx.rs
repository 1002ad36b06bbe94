//! XLSX: one worksheet named after the kind, written in rust_xlsxwriter's constant-memory
//! mode (each row goes to a temporary file as it is written), so a large export does not
//! hold the workbook in memory. Past a worksheet's 1,048,576 rows the export continues on a
//! further worksheet (`deals 2`, ...) under the same header.

use std::collections::HashMap;
use std::io::{Seek, SeekFrom};

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::ExportError;
use super::cell::Cell;
use super::writer::{Finished, RecordWriter};

/// Rows in one worksheet, the header included.
const SHEET_ROWS: u32 = 1_048_576;
/// Characters in one cell.
const CELL_CHARS: usize = 32_767;

pub(crate) struct XlsxWriter {
    workbook: Workbook,
    name: &'static str,
    columns: Vec<&'static str>,
    /// Rows per worksheet, the header included ([`SHEET_ROWS`] but in tests).
    sheet_rows: u32,
    /// Index of the worksheet being written, and its next row.
    sheet: usize,
    next_row: u32,
    /// Data rows written so far, for error messages.
    rows: u64,
    header: Format,
    /// Number formats by decimals shown.
    decimals: HashMap<usize, Format>,
}

impl XlsxWriter {
    pub fn new(name: &'static str, columns: &[&'static str]) -> Result<Self, ExportError> {
        let mut w = XlsxWriter {
            workbook: Workbook::new(),
            name,
            columns: columns.to_vec(),
            sheet_rows: SHEET_ROWS,
            sheet: 0,
            next_row: 0,
            rows: 0,
            header: Format::new().set_bold(),
            decimals: HashMap::new(),
        };
        w.add_sheet(name.to_string())?;
        Ok(w)
    }

    fn add_sheet(&mut self, sheet_name: String) -> Result<(), ExportError> {
        let sheet = self.workbook.add_worksheet_with_constant_memory();
        sheet.set_name(sheet_name)?;
        sheet.set_freeze_panes(1, 0)?;
        for (col, name) in self.columns.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, *name, &self.header)?;
        }
        self.sheet = self.workbook.worksheets().len() - 1;
        self.next_row = 1;
        Ok(())
    }

    fn decimal_format(&mut self, text: &str) -> Format {
        let digits = text.split_once('.').map_or(0, |(_, frac)| frac.len());
        self.decimals
            .entry(digits)
            .or_insert_with(|| {
                let pattern = if digits == 0 {
                    "0".to_string()
                } else {
                    format!("0.{}", "0".repeat(digits))
                };
                Format::new().set_num_format(pattern)
            })
            .clone()
    }
}

impl RecordWriter for XlsxWriter {
    fn row(&mut self, cells: &[Cell]) -> Result<(), ExportError> {
        if self.next_row >= self.sheet_rows {
            let number = self.workbook.worksheets().len() + 1;
            self.add_sheet(format!("{} {number}", self.name))?;
        }
        self.rows += 1;
        let row = self.next_row;
        for (col, cell) in cells.iter().enumerate() {
            let c = col as u16;
            let decimal = match cell {
                Cell::Decimal(text) => Some(self.decimal_format(text)),
                _ => None,
            };
            let sheet = self.workbook.worksheet_from_index(self.sheet)?;
            let written = match cell {
                Cell::Null => Ok(sheet),
                Cell::Int(n) => sheet.write_number(row, c, *n as f64),
                Cell::Bool(b) => sheet.write_boolean(row, c, *b),
                Cell::Decimal(text) => {
                    // Major units as the nearest double: shown with the currency's
                    // decimals, and read back to the same text by any shortest-form
                    // printing of the number.
                    let value: f64 = text.parse().map_err(|_| {
                        ExportError::Xlsx(format!("`{text}` is not a decimal number"))
                    })?;
                    let format = decimal.as_ref().expect("a decimal has its format");
                    sheet.write_number_with_format(row, c, value, format)
                }
                Cell::Text(_) | Cell::Json(_) => {
                    let text = cell.to_text();
                    let length = text.chars().count();
                    if length > CELL_CHARS {
                        return Err(ExportError::CellTooLong {
                            row: self.rows,
                            column: self.columns.get(col).copied().unwrap_or("?"),
                            length,
                        });
                    }
                    sheet.write_string(row, c, text)
                }
            };
            written?;
        }
        self.next_row += 1;
        Ok(())
    }

    fn end_page(&mut self) -> Result<(), ExportError> {
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<Finished, ExportError> {
        let mut file = tempfile::tempfile()?;
        self.workbook.save_to_writer(&mut file)?;
        file.seek(SeekFrom::Start(0))?;
        Ok(Finished::File(file))
    }
}

impl From<XlsxError> for ExportError {
    fn from(e: XlsxError) -> Self {
        ExportError::Xlsx(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};

    use super::*;

    fn read(finished: Finished) -> Xlsx<std::io::Cursor<Vec<u8>>> {
        let Finished::File(mut file) = finished else {
            panic!("an XLSX export ends in a file");
        };
        let mut bytes = vec![];
        file.read_to_end(&mut bytes).unwrap();
        open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap()
    }

    #[test]
    fn a_full_worksheet_continues_on_the_next_under_the_same_header() {
        let mut w = XlsxWriter::new("deals", &["id", "value"]).unwrap();
        w.sheet_rows = 3;
        for i in 0..5 {
            w.row(&[
                Cell::Text(format!("d{i}")),
                Cell::Decimal(format!("{i}.50")),
            ])
            .unwrap();
        }
        let mut book = read(Box::new(w).finish().unwrap());
        assert_eq!(book.sheet_names(), ["deals", "deals 2", "deals 3"]);
        let mut ids = vec![];
        for name in book.sheet_names() {
            let range = book.worksheet_range(&name).unwrap();
            let mut rows = range.rows();
            assert_eq!(
                rows.next().unwrap(),
                [Data::String("id".into()), Data::String("value".into())]
            );
            for row in rows {
                ids.push(row[0].to_string());
                assert!(matches!(row[1], Data::Float(_)));
            }
        }
        assert_eq!(ids, ["d0", "d1", "d2", "d3", "d4"]);
    }

    #[test]
    fn a_cell_too_long_for_xlsx_is_refused_naming_where() {
        let mut w = XlsxWriter::new("events", &["seq", "data"]).unwrap();
        w.row(&[Cell::Int(1), Cell::Json("{}".into())]).unwrap();
        let long = format!("\"{}\"", "x".repeat(CELL_CHARS));
        let err = w.row(&[Cell::Int(2), Cell::Json(long)]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("record 2") && text.contains("`data`") && text.contains("csv or json"),
            "{text}"
        );
    }
}
