//! Printing results as aligned tables, the API's JSON, or CSV.

use std::io::Write;

use anyhow::Result;
use comfy_table::{CellAlignment, ContentArrangement, Table, presets};
use serde::Serialize;

use crate::cli::Format;

/// A table of text cells; numeric columns are right-aligned in table output.
pub struct Rows {
    pub headers: Vec<&'static str>,
    pub numeric: Vec<bool>,
    pub rows: Vec<Vec<String>>,
}

impl Rows {
    pub fn new(headers: &[(&'static str, bool)]) -> Self {
        Self {
            headers: headers.iter().map(|(h, _)| *h).collect(),
            numeric: headers.iter().map(|(_, n)| *n).collect(),
            rows: vec![],
        }
    }

    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }
}

/// Print `rows` in table or CSV form, or `json` (the API's shape) in JSON form.
pub fn print<T: Serialize>(format: Format, rows: &Rows, json: &T) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, json)?;
            writeln!(out)?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(&rows.headers)?;
            for row in &rows.rows {
                // Spreadsheets read 12400.50, not 12,400.50: no grouping in numeric columns.
                let plain: Vec<String> = row
                    .iter()
                    .zip(rows.numeric.iter().chain(std::iter::repeat(&false)))
                    .map(|(cell, numeric)| {
                        if *numeric {
                            cell.replace(',', "")
                        } else {
                            cell.clone()
                        }
                    })
                    .collect();
                w.write_record(&plain)?;
            }
            w.flush()?;
        }
        Format::Table => {
            writeln!(out, "{}", render_table(rows))?;
        }
    }
    Ok(())
}

pub fn render_table(rows: &Rows) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic);
    table.set_header(rows.headers.iter().map(|h| h.to_uppercase()));
    for row in &rows.rows {
        table.add_row(row.clone());
    }
    for (i, numeric) in rows.numeric.iter().enumerate() {
        if *numeric && let Some(col) = table.column_mut(i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    table.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_numbers_right() {
        let mut rows = Rows::new(&[("stage", false), ("count", true)]);
        rows.push(vec!["Lead in".into(), "7".into()]);
        rows.push(vec!["Negotiation".into(), "120".into()]);
        let text = render_table(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("STAGE") && lines[0].contains("COUNT"));
        let seven = lines.iter().find(|l| l.contains("Lead in")).unwrap();
        let hundred = lines.iter().find(|l| l.contains("Negotiation")).unwrap();
        assert_eq!(
            seven.trim_end().len(),
            hundred.trim_end().len(),
            "right-aligned numbers end in the same column"
        );
    }
}
