//! The catalogues' CSV dialect, parsed by hand: comma separated, a header line, no quoting (see the module docs
//! of `catalog`). Every error names the file, the line and, for one field, the column.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::Read;
use std::str::FromStr;

use wooo_core::model::Money;

use super::{CatalogError, CatalogFile, parse_price};

/// A parsed file: its header and its non-blank rows.
pub(super) struct CsvTable {
    file: CatalogFile,
    header: Vec<String>,
    records: Vec<Record>,
}

struct Record {
    line: usize,
    fields: Vec<String>,
}

impl CsvTable {
    /// Reads the whole file, checking the header has every `required` column and every row has as many fields
    /// as the header.
    pub(super) fn read(
        file: CatalogFile,
        mut reader: impl Read,
        required: &[&'static str],
    ) -> Result<Self, CatalogError> {
        let mut text = String::new();
        reader.read_to_string(&mut text).map_err(|source| CatalogError::Read { file, source })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);

        let mut lines = text.split('\n').enumerate().map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)));
        let header_line = lines.next().map(|(_, l)| l).filter(|l| !l.trim().is_empty());
        let header_line = header_line.ok_or(CatalogError::Empty { file })?;
        let header = split_fields(file, 1, header_line)?;
        for column in required {
            if !header.iter().any(|h| h == column) {
                return Err(CatalogError::MissingColumn { file, column, found: header.join(",") });
            }
        }

        let mut records = Vec::new();
        for (line, text) in lines {
            if text.trim().is_empty() {
                continue;
            }
            let fields = split_fields(file, line, text)?;
            if fields.len() != header.len() {
                return Err(CatalogError::FieldCount { file, line, expected: header.len(), found: fields.len() });
            }
            records.push(Record { line, fields });
        }
        Ok(Self { file, header, records })
    }

    /// The rows, in file order.
    pub(super) fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.records.iter().map(move |record| Row { table: self, record })
    }
}

fn split_fields(file: CatalogFile, line: usize, text: &str) -> Result<Vec<String>, CatalogError> {
    let fields: Vec<String> = text.split(',').map(str::to_string).collect();
    match fields.iter().position(|f| f.contains('"')) {
        Some(i) => Err(CatalogError::Quoted { file, line, column: i + 1 }),
        None => Ok(fields),
    }
}

/// One row, read by column name.
pub(super) struct Row<'a> {
    table: &'a CsvTable,
    record: &'a Record,
}

impl<'a> Row<'a> {
    /// The 1-based line of the row.
    pub(super) fn line(&self) -> usize {
        self.record.line
    }

    fn index(&self, column: &'static str) -> Result<usize, CatalogError> {
        let header = &self.table.header;
        header.iter().position(|h| h == column).ok_or_else(|| CatalogError::MissingColumn {
            file: self.table.file,
            column,
            found: header.join(","),
        })
    }

    /// An error about `column` of this row.
    pub(super) fn bad(&self, column: &'static str, reason: impl Into<String>) -> CatalogError {
        match self.index(column) {
            Ok(i) => CatalogError::BadValue {
                file: self.table.file,
                line: self.record.line,
                column: i + 1,
                name: column.to_string(),
                value: self.record.fields[i].clone(),
                reason: reason.into(),
            },
            Err(missing) => missing,
        }
    }

    /// The field's text, which must not be blank.
    pub(super) fn text(&self, column: &'static str) -> Result<&'a str, CatalogError> {
        let value = self.record.fields[self.index(column)?].as_str();
        if value.trim().is_empty() { Err(self.bad(column, "must not be empty")) } else { Ok(value) }
    }

    /// The field as a positive price in US dollars.
    pub(super) fn price(&self, column: &'static str) -> Result<Money, CatalogError> {
        parse_price(self.text(column)?).map_err(|reason| self.bad(column, reason))
    }

    /// The field parsed as `T`; `what` describes the expected value for the error message.
    pub(super) fn parse<T: FromStr>(&self, column: &'static str, what: &str) -> Result<T, CatalogError> {
        self.text(column)?.trim().parse().map_err(|_| self.bad(column, format!("expected {what}")))
    }
}

/// Remembers the line each key was first seen on, to reject a second row for the same key.
pub(super) struct SeenKeys<K> {
    file: CatalogFile,
    first_line: HashMap<K, usize>,
}

impl<K: std::hash::Hash + Eq + std::fmt::Display> SeenKeys<K> {
    pub(super) fn new(file: CatalogFile) -> Self {
        Self { file, first_line: HashMap::new() }
    }

    /// Records `key` as seen on `line`, or names the line it was first seen on.
    pub(super) fn check(&mut self, key: K, line: usize) -> Result<(), CatalogError> {
        match self.first_line.entry(key) {
            Entry::Vacant(v) => {
                v.insert(line);
                Ok(())
            }
            Entry::Occupied(o) => {
                Err(CatalogError::Duplicate { file: self.file, line, key: o.key().to_string(), first_line: *o.get() })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<CsvTable, CatalogError> {
        CsvTable::read(CatalogFile::Ec2OnDemand, text.as_bytes(), &["region", "instance_type", "usd_per_hour"])
    }

    #[test]
    fn reads_rows_by_column_name_in_any_order_with_crlf_and_blank_lines() {
        let t = read(
            "usd_per_hour,region,instance_type,extra\r\n0.096,us-east-1,m5.large,x\r\n\r\n1,eu-west-1,m5.xlarge,y",
        )
        .unwrap();
        let rows: Vec<_> =
            t.rows().map(|r| (r.line(), r.text("instance_type").unwrap(), r.price("usd_per_hour").unwrap())).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0, 2);
        assert_eq!(rows[0].1, "m5.large");
        assert_eq!(rows[0].2.nanos(), 96_000_000);
        assert_eq!(rows[1].0, 4, "blank lines still count");
        assert_eq!(rows[1].2.nanos(), 1_000_000_000);
    }

    #[test]
    fn empty_file_and_missing_column_are_errors() {
        assert!(matches!(read(""), Err(CatalogError::Empty { .. })));
        assert!(matches!(read("\n\n"), Err(CatalogError::Empty { .. })));
        let err = read("region,instance_type\nus-east-1,m5.large\n").err().unwrap();
        assert!(matches!(err, CatalogError::MissingColumn { column: "usd_per_hour", .. }), "{err}");
        assert_eq!(err.line(), Some(1));
    }

    #[test]
    fn wrong_field_count_names_the_line() {
        let err =
            read("region,instance_type,usd_per_hour\nus-east-1,m5.large,0.1\nus-east-1,m5.large\n").err().unwrap();
        assert!(matches!(err, CatalogError::FieldCount { line: 3, expected: 3, found: 2, .. }), "{err}");
        assert_eq!(err.to_string(), "ec2_ondemand.csv:3: 2 fields, but the header has 3");
    }

    #[test]
    fn quoted_fields_are_rejected_with_line_and_column() {
        let err = read("region,instance_type,usd_per_hour\nus-east-1,\"m5.large\",0.1\n").err().unwrap();
        assert!(matches!(err, CatalogError::Quoted { line: 2, column: 2, .. }), "{err}");
        assert!(err.to_string().contains("quoted fields are not supported"));
        // A quoted field holding a comma would otherwise silently shift every later column.
        let err = read("region,instance_type,usd_per_hour\nus-east-1,m5.large,\"0,1\"\n").err().unwrap();
        assert!(matches!(err, CatalogError::Quoted { column: 3, .. }), "{err}");
        assert!(matches!(read("\"region\",instance_type,usd_per_hour\n"), Err(CatalogError::Quoted { line: 1, .. })));
    }

    #[test]
    fn bad_values_name_line_column_and_text() {
        let t = read("region,instance_type,usd_per_hour\nus-east-1,m5.large,abc\nus-east-1,,0.1\n").unwrap();
        let rows: Vec<_> = t.rows().collect();
        let err = rows[0].price("usd_per_hour").unwrap_err();
        assert_eq!(err.to_string(), "ec2_ondemand.csv:2:3: `usd_per_hour` = `abc`: not a decimal number");
        let err = rows[1].text("instance_type").unwrap_err();
        assert_eq!((err.line(), err.column()), (Some(3), Some(2)));
        assert!(rows[0].parse::<u32>("usd_per_hour", "a whole number").is_err());
    }

    #[test]
    fn second_row_for_a_key_names_both_lines() {
        let mut seen = SeenKeys::new(CatalogFile::Gce);
        seen.check("a".to_string(), 2).unwrap();
        seen.check("b".to_string(), 3).unwrap();
        let err = seen.check("a".to_string(), 9).unwrap_err();
        assert_eq!(err.to_string(), "gce.csv:9: second row for a (first at line 2)");
    }
}
