//! The record contract (DESIGN section 2): reading and writing NDJSON and TSV records.
//!
//! Reading: [`records`] walks a block's lines, skipping (and counting) blank lines, `#`
//! comments and the TSV header line, and says for each record which format it is in. The
//! format is detected per source from its first data line (`{` means NDJSON, anything else is
//! a TSV header) unless forced with `-i`. [`FieldReader`] pulls named fields (dotted paths in
//! NDJSON, column names in TSV) out of a record as borrowed [`Value`]s.
//!
//! Writing: [`Row`] writes one record field by field as an NDJSON object or a TSV row, and
//! [`write_tsv_header`] writes the TSV header line.

use crate::chunk::Header;
use crate::json::{self, JsonError, JsonValue, Kind, Paths};
use crate::par::{BlockRef, Out};
use crate::tsv;

/// A record format on stdin/stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Ndjson,
    Tsv,
}

/// How the records of a source are laid out.
#[derive(Clone, Copy, Debug)]
pub enum Layout<'h> {
    Ndjson,
    /// TSV with this header line.
    Tsv(&'h Header),
}

impl Layout<'_> {
    pub fn format(&self) -> Format {
        match self {
            Layout::Ndjson => Format::Ndjson,
            Layout::Tsv(_) => Format::Tsv,
        }
    }
}

/// One record line of a block.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    pub line_no: u64,
    pub text: &'a [u8],
    pub layout: Layout<'a>,
}

/// The format a source's records are in, from its first data line (the block's header under
/// [`crate::chunk::HeaderRule::FirstDataLine`]) unless `forced`.
pub fn layout<'h>(forced: Option<Format>, first: &'h Header) -> Layout<'h> {
    match forced {
        Some(Format::Ndjson) => Layout::Ndjson,
        Some(Format::Tsv) => Layout::Tsv(first),
        None if first.text.first() == Some(&b'{') => Layout::Ndjson,
        None => Layout::Tsv(first),
    }
}

/// Calls `f` for every record of `block`, after skipping blank lines, `#` comments and the TSV
/// header, which are counted as `skipped_blank`, `skipped_comment` and `skipped_header`.
///
/// Past a TSV header, a line is data whatever it holds ([`tsv::is_row`]): a row of empty cells
/// (TABs only) or a first cell starting with `#` is a record like any other. Only an empty
/// line of a table of several columns is skipped as blank.
pub fn records<'a>(
    block: &BlockRef<'a>,
    forced: Option<Format>,
    out: &mut Out,
    mut f: impl FnMut(Record<'a>, &mut Out) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let (mut blank, mut comment, mut header_lines) = (0, 0, 0);
    let layout = block.header.map(|h| layout(forced, h));
    // The TSV header's column count, counted once per block, not per line.
    let columns = match layout {
        Some(Layout::Tsv(h)) => memchr::memchr_iter(b'\t', &h.text).count() + 1,
        _ => 0,
    };
    let result = (|| {
        for (line_no, text) in block.lines() {
            let tsv_row = match layout {
                Some(Layout::Tsv(h)) if line_no > h.line => tsv::is_row(text, columns),
                _ => false,
            };
            if !tsv_row {
                if text.is_empty() || text.iter().all(|&c| c == b' ' || c == b'\t') {
                    blank += 1;
                    continue;
                }
                if text[0] == b'#' {
                    comment += 1;
                    continue;
                }
            }
            // The chunker finds the first data line before any record is reached.
            let Some(layout) = layout else { continue };
            if let Layout::Tsv(h) = layout {
                if h.line == line_no {
                    header_lines += 1;
                    continue;
                }
                // (A one-column table's rows may be empty.)
                let json_like = text.first() == Some(&b'{');
                if forced.is_none() && columns == 1 && line_no == h.line + 1 && json_like {
                    note_json_under_header(block.source, h);
                }
            }
            f(
                Record {
                    line_no,
                    text,
                    layout,
                },
                out,
            )?;
        }
        Ok(())
    })();
    out.tally("skipped_blank", blank);
    out.tally("skipped_comment", comment);
    out.tally("skipped_header", header_lines);
    result
}

/// A source read as a one-column TSV whose first row starts with `{` is most likely NDJSON whose
/// first line is damaged (a torn write): its records would go through with every field
/// missing, so this is said, once per source (the row after the header is in one block only).
fn note_json_under_header(source: &str, header: &Header) {
    crate::cli::note(&format!(
        "{source}: read as TSV with the one-column header at line {} (the format is taken from \
         the first data line, which does not start with '{{'), but the next line starts with \
         '{{'; if this is NDJSON with a damaged first line, read it with -i ndjson",
        header.line
    ));
}

/// A field value found in a record, borrowed from the line.
#[derive(Clone, Copy, Debug, Default)]
pub enum Value<'a> {
    /// The field is not in the record.
    #[default]
    Missing,
    Json(JsonValue<'a>),
    /// A TSV cell, still escaped.
    Tsv(&'a [u8]),
}

impl<'a> Value<'a> {
    /// Appends the value as plain text (see [`JsonValue::write_text`]; TSV cells unescaped).
    pub fn write_text(&self, out: &mut Vec<u8>) {
        match self {
            Value::Missing => {}
            Value::Json(v) => v.write_text(out),
            Value::Tsv(cell) => tsv::unescape_into(cell, out),
        }
    }

    /// Whether the value is absent, JSON null, or an empty TSV cell.
    pub fn is_null(&self) -> bool {
        match self {
            Value::Missing => true,
            Value::Json(v) => v.kind == Kind::Null,
            Value::Tsv(cell) => cell.is_empty(),
        }
    }

    /// The value's text without copying, when it needs no decoding.
    pub fn as_plain(&self) -> Option<&'a [u8]> {
        match self {
            Value::Missing => Some(b""),
            Value::Json(v) => match v.kind {
                Kind::String if !v.escaped => Some(v.raw),
                Kind::Number | Kind::Bool => Some(v.raw),
                Kind::Null => Some(b""),
                _ => None,
            },
            Value::Tsv(cell) if !tsv::needs_unescape(cell) => Some(cell),
            Value::Tsv(_) => None,
        }
    }
}

/// Extracts a fixed list of named fields from records of either format.
pub struct FieldReader {
    names: Vec<String>,
    /// The TSV column name of each field (its path segments joined with `.`).
    columns: Vec<String>,
    paths: Paths,
    extractor: json::Extractor,
    /// For the TSV header in `tsv_header`: the field slots each column fills.
    tsv_header: Vec<u8>,
    slots_by_column: Vec<Vec<usize>>,
    tsv_width: usize,
}

impl FieldReader {
    /// Compiles field paths such as `App.Version` or `"a.b".c`.
    pub fn new<S: AsRef<str>>(names: &[S]) -> Result<FieldReader, String> {
        let names: Vec<String> = names.iter().map(|s| s.as_ref().to_string()).collect();
        let columns = names
            .iter()
            .map(|n| json::split_path(n).map(|segs| segs.join(".")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FieldReader {
            paths: Paths::new(&names)?,
            names,
            columns,
            extractor: json::Extractor::default(),
            tsv_header: Vec::new(),
            slots_by_column: Vec::new(),
            tsv_width: 0,
        })
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Fills `values` (cleared first) with the record's fields, in the order they were named.
    /// A record that is not valid for its format is an error with a reject reason.
    pub fn read<'a>(
        &mut self,
        record: &Record<'a>,
        values: &mut Vec<Value<'a>>,
    ) -> Result<(), &'static str> {
        values.clear();
        values.resize(self.names.len(), Value::Missing);
        match record.layout {
            Layout::Ndjson => self
                .extractor
                .extract(record.text, &self.paths, values)
                .map_err(|e: JsonError| e.reason),
            Layout::Tsv(header) => {
                if self.tsv_header != header.text {
                    self.index_tsv_header(&header.text);
                }
                let mut width = 0;
                for (i, cell) in tsv::cells(record.text).enumerate() {
                    width += 1;
                    for &slot in self.slots_by_column.get(i).map_or(&[][..], Vec::as_slice) {
                        values[slot] = Value::Tsv(cell);
                    }
                }
                if width != self.tsv_width {
                    return Err("field_count");
                }
                Ok(())
            }
        }
    }

    fn index_tsv_header(&mut self, header: &[u8]) {
        let cols: Vec<&[u8]> = tsv::cells(header).collect();
        self.tsv_width = cols.len();
        self.slots_by_column = vec![Vec::new(); cols.len()];
        for (slot, name) in self.columns.iter().enumerate() {
            if let Some(col) = cols.iter().position(|c| *c == name.as_bytes()) {
                self.slots_by_column[col].push(slot);
            }
        }
        self.tsv_header = header.to_vec();
    }
}

impl<'a> From<JsonValue<'a>> for Value<'a> {
    fn from(v: JsonValue<'a>) -> Self {
        Value::Json(v)
    }
}

/// Writes the TSV header line for `names`.
pub fn write_tsv_header<S: AsRef<str>>(names: &[S], out: &mut Vec<u8>) {
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        tsv::escape_into(name.as_ref().as_bytes(), out);
    }
    out.push(b'\n');
}

/// Writes one record, field by field, as an NDJSON object or a TSV row (names are ignored in
/// TSV: the header carries them). Call [`Row::end`] to finish the line.
pub struct Row<'o> {
    out: &'o mut Vec<u8>,
    format: Format,
    first: bool,
}

impl<'o> Row<'o> {
    pub fn begin(out: &'o mut Vec<u8>, format: Format) -> Row<'o> {
        if format == Format::Ndjson {
            out.push(b'{');
        }
        Row {
            out,
            format,
            first: true,
        }
    }

    fn start(&mut self, name: &str) {
        match self.format {
            Format::Ndjson => {
                if !self.first {
                    self.out.push(b',');
                }
                json::write_string(name.as_bytes(), self.out);
                self.out.push(b':');
            }
            Format::Tsv => {
                if !self.first {
                    self.out.push(b'\t');
                }
            }
        }
        self.first = false;
    }

    /// A string field.
    pub fn str(&mut self, name: &str, value: &[u8]) -> &mut Self {
        self.start(name);
        match self.format {
            Format::Ndjson => json::write_string(value, self.out),
            Format::Tsv => tsv::escape_into(value, self.out),
        }
        self
    }

    /// A null field (`null` in NDJSON, an empty cell in TSV).
    pub fn null(&mut self, name: &str) -> &mut Self {
        self.start(name);
        if self.format == Format::Ndjson {
            self.out.extend_from_slice(b"null");
        }
        self
    }

    /// A field whose value is already JSON text without whitespace (a number, `true`, an
    /// object...). TSV gets the text itself.
    pub fn json(&mut self, name: &str, raw: &[u8]) -> &mut Self {
        self.start(name);
        match self.format {
            Format::Ndjson => self.out.extend_from_slice(raw),
            Format::Tsv => tsv::escape_into(raw, self.out),
        }
        self
    }

    pub fn u64(&mut self, name: &str, v: u64) -> &mut Self {
        self.json(name, itoa::Buffer::new().format(v).as_bytes())
    }

    pub fn i64(&mut self, name: &str, v: i64) -> &mut Self {
        self.json(name, itoa::Buffer::new().format(v).as_bytes())
    }

    /// A float; non-finite values are written as null (JSON has no NaN).
    pub fn f64(&mut self, name: &str, v: f64) -> &mut Self {
        if v.is_finite() {
            self.json(name, ryu::Buffer::new().format_finite(v).as_bytes())
        } else {
            self.null(name)
        }
    }

    /// A value read from another record, keeping its JSON type where the formats allow.
    pub fn value(&mut self, name: &str, value: &Value<'_>) -> &mut Self {
        match value {
            Value::Missing => self.null(name),
            Value::Json(v) if v.kind == Kind::Null => self.null(name),
            Value::Json(v) => {
                self.start(name);
                match self.format {
                    Format::Ndjson => v.write_json(self.out),
                    Format::Tsv => {
                        let mut text = Vec::new();
                        v.write_text(&mut text);
                        tsv::escape_into(&text, self.out);
                    }
                }
                self
            }
            Value::Tsv([]) => self.null(name),
            Value::Tsv(cell) => {
                self.start(name);
                match self.format {
                    Format::Tsv => self.out.extend_from_slice(cell),
                    Format::Ndjson => {
                        let mut text = Vec::new();
                        tsv::unescape_into(cell, &mut text);
                        json::write_string(&text, self.out);
                    }
                }
                self
            }
        }
    }

    /// Ends the record with its newline.
    pub fn end(self) {
        if self.format == Format::Ndjson {
            self.out.push(b'}');
        }
        self.out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(line: u64, text: &str) -> Header {
        Header {
            line,
            text: text.as_bytes().to_vec(),
        }
    }

    fn texts(reader: &mut FieldReader, record: &Record<'_>) -> Result<Vec<String>, &'static str> {
        let mut values = Vec::new();
        reader.read(record, &mut values)?;
        Ok(values
            .iter()
            .map(|v| {
                let mut t = Vec::new();
                v.write_text(&mut t);
                String::from_utf8(t).unwrap()
            })
            .collect())
    }

    #[test]
    fn reads_the_same_fields_from_ndjson_and_tsv() {
        let mut reader = FieldReader::new(&["a.b", "c"]).unwrap();
        let nd_header = header(1, r#"{"a":{"b":"x"},"c":1}"#);
        let rec = Record {
            line_no: 1,
            text: br#"{"a":{"b":"x\ty"},"c":1}"#,
            layout: layout(None, &nd_header),
        };
        assert_eq!(texts(&mut reader, &rec).unwrap(), ["x\ty", "1"]);

        let tsv_header = header(1, "c\ta.b\tz");
        let rec = Record {
            line_no: 2,
            text: b"1\tx\\ty\t",
            layout: layout(None, &tsv_header),
        };
        assert_eq!(texts(&mut reader, &rec).unwrap(), ["x\ty", "1"]);
        let short = Record {
            line_no: 3,
            text: b"1\tx",
            layout: layout(None, &tsv_header),
        };
        assert_eq!(texts(&mut reader, &short).unwrap_err(), "field_count");
    }

    #[test]
    fn rows_in_both_formats() {
        let mut out = Vec::new();
        let mut row = Row::begin(&mut out, Format::Ndjson);
        row.str("s", b"a\"b")
            .u64("n", 7)
            .null("z")
            .f64("f", 0.5)
            .json("o", br#"{"k":1}"#);
        row.end();
        assert_eq!(
            out,
            b"{\"s\":\"a\\\"b\",\"n\":7,\"z\":null,\"f\":0.5,\"o\":{\"k\":1}}\n"
        );
        let mut out = Vec::new();
        write_tsv_header(&["s", "n"], &mut out);
        let mut row = Row::begin(&mut out, Format::Tsv);
        row.str("s", b"a\tb").null("z").u64("n", 7);
        row.end();
        assert_eq!(out, b"s\tn\na\\tb\t\t7\n");
    }
}
