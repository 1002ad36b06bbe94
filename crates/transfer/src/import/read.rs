//! Reading tables from files: CSV (UTF-8 with or without BOM, CRLF or LF, RFC 4180 quoting,
//! comma, semicolon or tab separated) and XLSX (the first sheet). Rows are streamed from CSV;
//! an XLSX sheet is read whole by the spreadsheet library, which bounds it by Excel's own
//! limit of a million rows.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use calamine::{Data, Reader};

use super::ImportError;

/// One data row: its line in the file (1 is the header) and its cells, trimmed.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: u64,
    /// The cells as read, untrimmed ([`super::cells::Columns`] trims): one buffer a row.
    pub cells: csv::StringRecord,
}

impl Row {
    /// Every cell blank: a spacer line, not a record.
    fn is_blank(&self) -> bool {
        self.cells.iter().all(|c| c.trim().is_empty())
    }
}

/// A table being read: its header, then its rows one by one.
pub struct Table {
    pub headers: Vec<String>,
    rows: Box<dyn Iterator<Item = Result<Row, ImportError>> + Send>,
}

impl Table {
    pub fn rows(self) -> impl Iterator<Item = Result<Row, ImportError>> + Send {
        self.rows
    }

    /// The position of `header` (exact, then ignoring case and surrounding space).
    pub fn column(headers: &[String], header: &str) -> Option<usize> {
        headers.iter().position(|h| h == header).or_else(|| {
            let want = header.trim().to_lowercase();
            headers.iter().position(|h| h.trim().to_lowercase() == want)
        })
    }
}

/// A file read more than once (a planning pass, then the writing pass): a CSV file is opened
/// again for each pass and streamed; an XLSX sheet, which the spreadsheet library reads whole,
/// is read once and kept.
pub struct Source {
    path: PathBuf,
    sheet: Option<Arc<Sheet>>,
}

impl Source {
    pub fn open(path: &Path) -> Result<Source, ImportError> {
        let (file, head) = read_head(path)?;
        drop(file);
        let sheet = if is_spreadsheet(path, &head) {
            Some(Arc::new(read_sheet(path)?))
        } else {
            None
        };
        Ok(Source {
            path: path.to_path_buf(),
            sheet,
        })
    }

    /// The table from its first row.
    pub fn table(&self) -> Result<Table, ImportError> {
        match &self.sheet {
            Some(sheet) => Ok(sheet_table(sheet.clone())),
            None => open(&self.path),
        }
    }
}

/// The first 64 KiB of `path` (less if it is shorter), and the file positioned after them.
fn read_head(path: &Path) -> Result<(File, Vec<u8>), ImportError> {
    let mut file = File::open(path).map_err(|e| ImportError::file(path, e))?;
    let mut head = vec![0u8; 64 * 1024];
    let mut filled = 0;
    while filled < head.len() {
        let n = file
            .read(&mut head[filled..])
            .map_err(|e| ImportError::file(path, e))?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    head.truncate(filled);
    Ok((file, head))
}

/// Is the file a spreadsheet? By its content (XLSX is a zip archive), then its extension.
fn is_spreadsheet(path: &Path, head: &[u8]) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_lowercase);
    head.starts_with(b"PK\x03\x04")
        || matches!(ext.as_deref(), Some("xls" | "xlsx" | "xlsm" | "ods"))
}

/// Open `path`, choosing the reader by its content and extension.
pub fn open(path: &Path) -> Result<Table, ImportError> {
    let (file, head) = read_head(path)?;
    if is_spreadsheet(path, &head) {
        return Ok(sheet_table(Arc::new(read_sheet(path)?)));
    }
    csv_table(head, file)
}

/// A CSV table from bytes already read and the rest of the stream.
pub fn csv_table<R: Read + Send + 'static>(
    mut head: Vec<u8>,
    rest: R,
) -> Result<Table, ImportError> {
    if head.starts_with(b"\xEF\xBB\xBF") {
        head.drain(..3);
    }
    if std::str::from_utf8(&head[..valid_prefix(&head)]).is_err() {
        return Err(ImportError::Format(
            "the file is not UTF-8 text: save it as CSV UTF-8 or XLSX".into(),
        ));
    }
    let delimiter = sniff_delimiter(&head);
    let newlines = Arc::new(Mutex::new(VecDeque::new()));
    let counted = LineCounter {
        inner: Cursor::new(head).chain(rest),
        offset: 0,
        newlines: newlines.clone(),
    };
    let reader = BufReader::with_capacity(256 * 1024, counted);
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(reader);
    let headers: Vec<String> = csv
        .headers()
        .map_err(|e| ImportError::Format(format!("the header row cannot be read: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if headers.iter().all(String::is_empty) {
        return Err(ImportError::Format("the file has no header row".into()));
    }
    let mut record = csv::StringRecord::new();
    // The csv reader's own line numbers skip blank lines and miscount CRLF files: lines are
    // counted from the bytes instead, up to where each record starts.
    let mut lines_before = 0u64;
    let mut line_of = move |byte: u64| {
        if let Ok(mut queue) = newlines.lock() {
            // Line ends before the record's position, then the run of line ends (blank lines,
            // the rest of a CRLF) the position may point into.
            let mut next = byte;
            while let Some(&(at, newline)) = queue.front() {
                if at >= byte && at != next {
                    break;
                }
                if at >= byte {
                    next += 1;
                }
                queue.pop_front();
                lines_before += u64::from(newline);
            }
        }
        lines_before + 1
    };
    let rows = std::iter::from_fn(move || match csv.read_record(&mut record) {
        Ok(false) => None,
        Ok(true) => {
            let line = record.position().map(|p| line_of(p.byte())).unwrap_or(0);
            Some(Ok(Row {
                line,
                cells: record.clone(),
            }))
        }
        Err(e) => {
            let line = e.position().map(|p| line_of(p.byte())).unwrap_or(0);
            Some(Err(ImportError::Format(format!("line {line}: {e}"))))
        }
    });
    // Blank lines (every cell empty) are not records.
    let rows = rows.filter(|r| !matches!(r, Ok(row) if row.is_blank()));
    Ok(Table {
        headers,
        rows: Box::new(rows),
    })
}

/// A reader that notes the offset of every newline it passes on.
struct LineCounter<R> {
    inner: R,
    offset: u64,
    /// Offsets of carriage returns and line feeds, and whether each is a line feed.
    newlines: Arc<Mutex<VecDeque<(u64, bool)>>>,
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Ok(mut queue) = self.newlines.lock() {
            for (i, b) in buf[..n].iter().enumerate() {
                if *b == b'\n' || *b == b'\r' {
                    queue.push_back((self.offset + i as u64, *b == b'\n'));
                }
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// The length of `bytes` up to the last complete UTF-8 character (the sample may end inside one).
fn valid_prefix(bytes: &[u8]) -> usize {
    match std::str::from_utf8(bytes) {
        Ok(_) => bytes.len(),
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(_) => bytes.len(),
    }
}

/// The separator of the header line: the most frequent of `,`, `;` and tab outside quotes.
fn sniff_delimiter(head: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).max_by_key(|&i| (counts[i], 3 - i)).unwrap_or(0);
    [b',', b';', b'\t'][best]
}

/// A spreadsheet's first sheet, read whole.
struct Sheet {
    headers: Vec<String>,
    rows: Vec<Row>,
}

fn sheet_table(sheet: Arc<Sheet>) -> Table {
    let headers = sheet.headers.clone();
    let rows = (0..sheet.rows.len()).map(move |i| Ok(sheet.rows[i].clone()));
    Table {
        headers,
        rows: Box::new(rows),
    }
}

fn read_sheet(path: &Path) -> Result<Sheet, ImportError> {
    let mut book = calamine::open_workbook_auto(path)
        .map_err(|e| ImportError::Format(format!("the spreadsheet cannot be read: {e}")))?;
    let Some(sheet) = book.sheet_names().first().cloned() else {
        return Err(ImportError::Format("the spreadsheet has no sheet".into()));
    };
    let range = book
        .worksheet_range(&sheet)
        .map_err(|e| ImportError::Format(format!("sheet `{sheet}` cannot be read: {e}")))?;
    let start_row = range.start().map(|(r, _)| r as u64).unwrap_or(0);
    let mut rows = range.rows();
    let headers: Vec<String> = match rows.next() {
        Some(cells) => cells.iter().map(cell_text).collect(),
        None => return Err(ImportError::Format("the sheet is empty".into())),
    };
    let rows: Vec<Row> = rows
        .enumerate()
        .map(|(i, cells)| Row {
            line: start_row + i as u64 + 2,
            cells: cells.iter().map(cell_text).collect(),
        })
        .filter(|r| !r.is_blank())
        .collect();
    Ok(Sheet { headers, rows })
}

/// A cell as the text a CSV export of it would hold: dates as ISO dates or instants.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => excel_date(d.as_f64()),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// An Excel serial date (days since 1899-12-30, fraction of a day for the time) as ISO text.
fn excel_date(serial: f64) -> String {
    let days = serial.floor() as i64;
    let ms = ((serial - serial.floor()) * 86_400_000.0).round() as i64;
    let Ok(base) = jiff::civil::Date::new(1899, 12, 30) else {
        return serial.to_string();
    };
    let Ok(date) = base.checked_add(jiff::Span::new().days(days)) else {
        return serial.to_string();
    };
    if ms == 0 {
        return date.to_string();
    }
    match date
        .to_datetime(jiff::civil::Time::midnight())
        .checked_add(jiff::Span::new().milliseconds(ms))
    {
        Ok(dt) => dt.strftime("%Y-%m-%d %H:%M:%S").to_string(),
        Err(_) => date.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &[u8]) -> (Vec<String>, Vec<Row>) {
        let t = csv_table(text.to_vec(), std::io::empty()).unwrap();
        let headers = t.headers.clone();
        (headers, t.rows().collect::<Result<_, _>>().unwrap())
    }

    #[test]
    fn bom_crlf_and_quotes() {
        let (h, rows) =
            table(b"\xEF\xBB\xBFname,note\r\n\"Acme, Inc\",\"said \"\"hi\"\"\"\r\n\r\nB,x\r\n");
        assert_eq!(h, ["name", "note"]);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[0].cells, vec!["Acme, Inc", "said \"hi\""]);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[1].line, 4);
        let (_, lf) = table(b"a,b\n1,2\n\n\n3,4\n\"multi\nline\",5\n6,7");
        assert_eq!(lf.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 5, 6, 8]);
    }

    #[test]
    fn semicolons_as_european_spreadsheets_write_them() {
        let (h, rows) = table(b"Titel;Wert\nA;1.234,50\n");
        assert_eq!(h, ["Titel", "Wert"]);
        assert_eq!(rows[0].cells, vec!["A", "1.234,50"]);
    }

    #[test]
    fn a_comma_inside_quotes_does_not_decide_the_separator() {
        assert_eq!(sniff_delimiter(b"\"a,b,c\";d;e\n1;2;3"), b';');
        assert_eq!(sniff_delimiter(b"a\tb\n"), b'\t');
        assert_eq!(sniff_delimiter(b"a\n"), b',');
    }

    #[test]
    fn excel_serial_dates() {
        assert_eq!(excel_date(45292.0), "2024-01-01");
        assert_eq!(excel_date(45292.5), "2024-01-01 12:00:00");
    }

    #[test]
    fn a_spreadsheet_is_read_once_and_a_csv_file_streamed_for_each_pass() {
        let dir = tempfile::tempdir().unwrap();
        let xlsx = dir.path().join("deals.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (col, text) in ["Title", "Value"].iter().enumerate() {
            sheet.write_string(0, col as u16, *text).unwrap();
        }
        sheet.write_string(1, 0, "Acme").unwrap();
        sheet.write_number(1, 1, 1200.0).unwrap();
        book.save(&xlsx).unwrap();
        let csv = dir.path().join("deals.csv");
        std::fs::write(&csv, "Title,Value\nAcme,1200\n").unwrap();

        let kept = Source::open(&xlsx).unwrap();
        let streamed = Source::open(&csv).unwrap();
        std::fs::remove_file(&xlsx).unwrap();
        std::fs::remove_file(&csv).unwrap();
        // The sheet is in memory: both passes read it without the file.
        for _ in 0..2 {
            let table = kept.table().unwrap();
            assert_eq!(table.headers, ["Title", "Value"]);
            let rows: Vec<Row> = table.rows().collect::<Result<_, _>>().unwrap();
            assert_eq!(
                (rows[0].line, rows[0].cells.iter().collect::<Vec<_>>()),
                (2, vec!["Acme", "1200"])
            );
        }
        // The CSV file is opened again for each pass.
        assert!(streamed.table().is_err());
    }
}
