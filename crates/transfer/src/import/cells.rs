//! Reading a row's cells by field name, with the mapping's null markers applied.

use throughline_core::FastMap;

use super::mapping::Mapping;
use super::read::{Row, Table};

/// Where each mapped field sits in the file.
pub(crate) struct Columns {
    /// Looked up about twenty times a row.
    by_field: FastMap<String, usize>,
    headers: Vec<String>,
    nulls: Vec<String>,
    /// `custom.NAME` fields: (NAME, column).
    pub custom: Vec<(String, usize)>,
    /// Stage-entry date columns: (stage, pipeline, column).
    pub stage_dates: Vec<(String, Option<String>, usize)>,
    pub probability: Option<usize>,
}

impl Columns {
    pub fn new(mapping: &Mapping, headers: &[String]) -> Self {
        let mut by_field = FastMap::default();
        let mut custom = vec![];
        for (field, column) in &mapping.fields {
            if let Some(i) = Table::column(headers, column) {
                match field.strip_prefix("custom.") {
                    Some(name) => custom.push((name.to_string(), i)),
                    None => {
                        by_field.insert(field.clone(), i);
                    }
                }
            }
        }
        let stage_dates = mapping
            .stage_dates
            .iter()
            .filter_map(|sd| {
                Table::column(headers, &sd.column)
                    .map(|i| (sd.stage.clone(), sd.pipeline.clone(), i))
            })
            .collect();
        Self {
            by_field,
            headers: headers.to_vec(),
            nulls: mapping
                .null
                .iter()
                .map(|n| n.trim().to_lowercase())
                .collect(),
            custom,
            stage_dates,
            probability: mapping
                .probability
                .as_deref()
                .and_then(|p| Table::column(headers, p)),
        }
    }

    /// The cell at column `i`, or `None` when empty or a null marker.
    pub fn at<'r>(&self, row: &'r Row, i: usize) -> Option<&'r str> {
        let text = row.cells.get(i)?.trim();
        if text.is_empty() || (!self.nulls.is_empty() && self.nulls.contains(&text.to_lowercase()))
        {
            return None;
        }
        Some(text)
    }

    /// The cell of `field`, or `None` when unmapped, empty or a null marker.
    pub fn get<'r>(&self, row: &'r Row, field: &str) -> Option<&'r str> {
        self.at(row, *self.by_field.get(field)?)
    }

    /// The header of `field`'s column, for error messages.
    pub fn column(&self, field: &str) -> Option<String> {
        self.by_field.get(field).map(|&i| self.headers[i].clone())
    }

    pub fn header(&self, i: usize) -> String {
        self.headers.get(i).cloned().unwrap_or_default()
    }
}
