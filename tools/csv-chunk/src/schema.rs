//! Which columns a record becomes, and how its values are found.
//!
//! Two ways to fix the columns:
//! * `--columns a,b.c`: dotted paths (nested NDJSON) or TSV column names, read with the shared
//!   [`FieldReader`]; a missing field is a null cell, other fields are left out.
//! * the first record's fields (no `--columns`): an NDJSON record's top-level members or a TSV
//!   header's columns. A later record with a field outside them is rejected (`new_field`), so
//!   no value is ever dropped silently; a field it lacks is a null cell.
//!
//! A name given twice has no one value: a TSV header naming a column twice stops the run (see
//! [`tsv_names`]), and an NDJSON record holding a key twice is rejected (`duplicate_key`).

use hashbrown::HashMap;
use onebox::chunk::Header;
use onebox::json::Extractor;
use onebox::record::{self, FieldReader, Format, Layout, Record, Value};
use onebox::tsv;

/// How the columns are chosen (shared by all workers; each builds its own [`Schema`]).
#[derive(Clone, Debug)]
pub enum ColumnSpec {
    /// `--columns`.
    Fixed(Vec<String>),
    /// Names taken from the first record of the input, found before the run.
    Named(Vec<Vec<u8>>),
    /// Names taken from the first record of the one input, seen by each worker as the block
    /// header (used when the input cannot be read twice, e.g. stdin).
    FromBlockHeader,
}

/// Column names from the first data line of a source.
pub fn names_from_header(header: &Header, forced: Option<Format>) -> Result<Vec<Vec<u8>>, String> {
    match record::layout(forced, header) {
        Layout::Tsv(h) => tsv_names(h),
        Layout::Ndjson => {
            let mut names: Vec<Vec<u8>> = Vec::new();
            Extractor::default()
                .for_each_member(&header.text, |k, _| {
                    if !names.iter().any(|n| n == k) {
                        names.push(k.to_vec());
                    }
                })
                .map_err(|e| e.reason)
                .map_err(|reason| {
                    format!(
                        "the first record (line {}) is not a usable JSON object ({reason}); \
                     name the columns with --columns",
                        header.line
                    )
                })?;
            Ok(names)
        }
    }
}

/// The column names of a TSV header. A name given twice is an error: the rows' values could
/// not be told apart by name, and one of them would be lost.
pub fn tsv_names(header: &Header) -> Result<Vec<Vec<u8>>, String> {
    let names: Vec<Vec<u8>> = tsv::cells(&header.text)
        .map(|c| {
            let mut name = Vec::new();
            tsv::unescape_into(c, &mut name);
            name
        })
        .collect();
    if let Some(dup) = onebox::cli::first_repeated(&names) {
        return Err(format!(
            "the header (line {}) names the column {:?} more than once",
            header.line,
            String::from_utf8_lossy(dup)
        ));
    }
    Ok(names)
}

/// A worker's reader of column values.
pub enum Schema {
    Fixed(FieldReader),
    Named(Named),
}

impl Schema {
    pub fn fixed(names: &[String]) -> Result<Schema, String> {
        Ok(Schema::Fixed(FieldReader::new(names)?))
    }

    pub fn named(names: Vec<Vec<u8>>) -> Schema {
        Schema::Named(Named::new(names))
    }

    /// Column names, for the header row.
    pub fn names(&self) -> Vec<Vec<u8>> {
        match self {
            Schema::Fixed(r) => r.names().iter().map(|n| n.as_bytes().to_vec()).collect(),
            Schema::Named(n) => n.names.clone(),
        }
    }

    /// The column index of `name`, if it is one.
    pub fn position(&self, name: &str) -> Option<usize> {
        match self {
            Schema::Fixed(r) => r.names().iter().position(|n| n == name),
            Schema::Named(n) => n.index.get(name.as_bytes()).copied(),
        }
    }

    /// The column count.
    pub fn width(&self) -> usize {
        match self {
            Schema::Fixed(r) => r.names().len(),
            Schema::Named(n) => n.names.len(),
        }
    }

    /// Whether TSV lines under `header` hold exactly the columns, in order, so a line's
    /// cells are its row's values as they stand.
    pub fn tsv_in_order(&mut self, header: &Header) -> bool {
        match self {
            Schema::Fixed(_) => false,
            Schema::Named(n) => {
                if n.tsv_header != header.text {
                    n.index_tsv_header(&header.text);
                }
                n.tsv_slots.len() == n.names.len()
                    && n.tsv_slots.iter().enumerate().all(|(i, s)| *s == Some(i))
            }
        }
    }

    /// Fills `values` with the record's cells; `Err(reason)` rejects the record.
    pub fn read<'a>(
        &mut self,
        rec: &Record<'a>,
        values: &mut Vec<Value<'a>>,
    ) -> Result<(), &'static str> {
        match self {
            Schema::Fixed(r) => r.read(rec, values),
            Schema::Named(n) => n.read(rec, values),
        }
    }
}

/// Columns named by the first record.
pub struct Named {
    names: Vec<Vec<u8>>,
    index: HashMap<Vec<u8>, usize>,
    extractor: Extractor,
    /// For TSV: the header seen last and, per its column, the slot it fills (None: a column
    /// that is not one of ours, so every row of that source is a `new_field`).
    tsv_header: Vec<u8>,
    tsv_slots: Vec<Option<usize>>,
}

impl Named {
    fn new(names: Vec<Vec<u8>>) -> Named {
        let index = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        Named {
            names,
            index,
            extractor: Extractor::default(),
            tsv_header: Vec::new(),
            tsv_slots: Vec::new(),
        }
    }

    fn read<'a>(
        &mut self,
        rec: &Record<'a>,
        values: &mut Vec<Value<'a>>,
    ) -> Result<(), &'static str> {
        values.clear();
        values.resize(self.names.len(), Value::Missing);
        match rec.layout {
            Layout::Ndjson => {
                let (names, index) = (&self.names, &self.index);
                let (mut unknown, mut duplicate) = (false, false);
                let mut i = 0;
                self.extractor
                    .for_each_member(rec.text, |key, value| {
                        // Records usually list their fields in the first record's order.
                        let slot = if names.get(i).is_some_and(|n| n == key) {
                            Some(i)
                        } else {
                            index.get(key).copied()
                        };
                        match slot {
                            // A key given twice has no one value for its cell.
                            Some(s) if !matches!(values[s], Value::Missing) => duplicate = true,
                            Some(s) => {
                                values[s] = Value::Json(value);
                                i = s + 1;
                            }
                            None => unknown = true,
                        }
                    })
                    .map_err(|e| e.reason)?;
                if duplicate {
                    return Err("duplicate_key");
                }
                if unknown {
                    return Err("new_field");
                }
                Ok(())
            }
            Layout::Tsv(header) => {
                if self.tsv_header != header.text {
                    self.index_tsv_header(&header.text);
                }
                if self.tsv_slots.iter().any(Option::is_none) {
                    return Err("new_field");
                }
                let mut width = 0;
                for cell in tsv::cells(rec.text) {
                    if let Some(&Some(s)) = self.tsv_slots.get(width) {
                        values[s] = Value::Tsv(cell);
                    }
                    width += 1;
                }
                if width != self.tsv_slots.len() {
                    return Err("field_count");
                }
                Ok(())
            }
        }
    }

    fn index_tsv_header(&mut self, header: &[u8]) {
        let mut name = Vec::new();
        self.tsv_slots = tsv::cells(header)
            .map(|c| {
                name.clear();
                tsv::unescape_into(c, &mut name);
                self.index.get(&name).copied()
            })
            .collect();
        self.tsv_header = header.to_vec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(text: &str) -> Header {
        Header {
            line: 1,
            text: text.as_bytes().to_vec(),
        }
    }

    fn read(schema: &mut Schema, h: &Header, line: &str) -> Result<Vec<String>, &'static str> {
        let rec = Record {
            line_no: 2,
            text: line.as_bytes(),
            layout: record::layout(None, h),
        };
        let mut values = Vec::new();
        schema.read(&rec, &mut values)?;
        Ok(values
            .iter()
            .map(|v| {
                if v.is_null() {
                    return "<null>".to_string();
                }
                let mut t = Vec::new();
                v.write_text(&mut t);
                String::from_utf8(t).unwrap()
            })
            .collect())
    }

    #[test]
    fn ndjson_columns_from_the_first_record() {
        let h = header(r#"{"a":1,"b":{"c":2},"a":3}"#);
        let names = names_from_header(&h, None).unwrap();
        assert_eq!(names, [b"a".to_vec(), b"b".to_vec()]);
        let mut s = Schema::named(names);
        assert_eq!(read(&mut s, &h, r#"{"b":"x","a":1}"#).unwrap(), ["1", "x"]);
        assert_eq!(
            read(&mut s, &h, r#"{"a":null}"#).unwrap(),
            ["<null>", "<null>"]
        );
        assert_eq!(
            read(&mut s, &h, r#"{"a":1,"z":2}"#).unwrap_err(),
            "new_field"
        );
        assert_eq!(read(&mut s, &h, r#"{"a":1"#).unwrap_err(), "invalid_json");
        assert!(names_from_header(&header("[1]"), Some(Format::Ndjson)).is_err());
    }

    #[test]
    fn tsv_columns_from_the_header() {
        let h = header("a\tb");
        let names = names_from_header(&h, None).unwrap();
        let mut s = Schema::named(names);
        assert_eq!(read(&mut s, &h, "1\tx\\ty").unwrap(), ["1", "x\ty"]);
        assert_eq!(read(&mut s, &h, "1\t").unwrap(), ["1", "<null>"]);
        assert_eq!(read(&mut s, &h, "1").unwrap_err(), "field_count");
        assert_eq!(read(&mut s, &h, "1\t2\t3").unwrap_err(), "field_count");
        // Another source with the columns in another order, then one with an extra column.
        let h2 = header("b\ta");
        assert_eq!(read(&mut s, &h2, "x\t1").unwrap(), ["1", "x"]);
        let h3 = header("a\tb\tc");
        assert_eq!(read(&mut s, &h3, "1\t2\t3").unwrap_err(), "new_field");
    }

    #[test]
    fn a_tsv_header_naming_a_column_twice_is_an_error() {
        let err = names_from_header(&header("a\tb\ta"), None).unwrap_err();
        assert_eq!(
            err,
            r#"the header (line 1) names the column "a" more than once"#
        );
        // Escapes are undone first: `x\ty` and a TAB-holding name are the same name.
        let err = tsv_names(&header("x\\ty\tx\\ty")).unwrap_err();
        assert!(err.contains(r#""x\ty""#), "{err}");
        assert_eq!(
            tsv_names(&header("a\tb\tA")).unwrap(),
            [b"a".to_vec(), b"b".to_vec(), b"A".to_vec()]
        );
    }

    #[test]
    fn an_ndjson_record_holding_a_key_twice_is_rejected() {
        let h = header(r#"{"a":1,"b":2}"#);
        let mut s = Schema::named(names_from_header(&h, None).unwrap());
        assert_eq!(
            read(&mut s, &h, r#"{"a":1,"a":2}"#).unwrap_err(),
            "duplicate_key"
        );
        assert_eq!(
            read(&mut s, &h, r#"{"a":null,"b":2,"a":3}"#).unwrap_err(),
            "duplicate_key"
        );
        // The same key in nested objects is no duplicate.
        assert_eq!(
            read(&mut s, &h, r#"{"a":{"k":1,"j":{"k":2}},"b":2}"#).unwrap(),
            [r#"{"k":1,"j":{"k":2}}"#, "2"]
        );
    }

    #[test]
    fn fixed_columns_take_paths() {
        let h = header(r#"{"a":{"b":1}}"#);
        let mut s = Schema::fixed(&["a.b".to_string(), "z".to_string()]).unwrap();
        assert_eq!(
            read(&mut s, &h, r#"{"a":{"b":"v"},"q":1}"#).unwrap(),
            ["v", "<null>"]
        );
        assert_eq!(s.position("z"), Some(1));
    }
}
