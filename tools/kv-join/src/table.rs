//! The look-up table: read once (TSV, CSV or NDJSON, gzip allowed) into a hash map from key
//! text to the new fields, pre-rendered for both output formats, so a hit costs one hash
//! probe and one copy (the rows are packed by [`crate::store::RowStore`]).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::Context;
use onebox::append::{encode_str, Appender};
use onebox::chunk::ReadLines;
use onebox::input::{self, Source};
use onebox::json;
use onebox::record::{FieldReader, Format, Layout, Record, Value};
use onebox::tsv;

use crate::store::{Duplicate, RowRef, RowStore};

/// The table's file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TableFormat {
    Tsv,
    Csv,
    Ndjson,
}

/// What to do with a key seen twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Duplicates {
    Error,
    First,
    Last,
}

/// How to read the table.
pub struct Spec<'a> {
    pub path: &'a Path,
    pub format: Option<TableFormat>,
    pub key: &'a str,
    /// Columns to add; empty means every column but the key.
    pub add: &'a [String],
    pub prefix: &'a str,
    pub duplicates: Duplicates,
}

/// The loaded table.
pub struct Table {
    pub appender: Appender,
    /// Key text -> the row's NDJSON and TSV suffixes (see [`Appender::suffix`]).
    rows: RowStore,
    miss: (Vec<u8>, Vec<u8>),
}

impl Table {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Looks up `keys[i]` into `found[i]` (see [`RowStore::get_batch`]).
    #[inline]
    pub fn get_batch(&self, keys: &[Option<&[u8]>], found: &mut Vec<Option<RowRef>>) {
        self.rows.get_batch(keys, found);
    }

    /// The suffix to append for a found row in `format`.
    #[inline]
    pub fn suffix(&self, row: RowRef, format: Format) -> &[u8] {
        let (json, tsv) = self.rows.suffixes(row);
        match format {
            Format::Ndjson => json,
            Format::Tsv => tsv,
        }
    }

    /// The suffix to append for `key` in `format`, if the table has it.
    pub fn get(&self, key: &[u8], format: Format) -> Option<&[u8]> {
        let (j, t) = self.rows.get(key)?;
        Some(match format {
            Format::Ndjson => j,
            Format::Tsv => t,
        })
    }

    /// The suffix for a miss (all fields null).
    pub fn miss(&self, format: Format) -> &[u8] {
        match format {
            Format::Ndjson => &self.miss.0,
            Format::Tsv => &self.miss.1,
        }
    }
}

/// Reads the table; errors name the file (and line, for bad rows and duplicate keys).
pub fn load(spec: &Spec<'_>, output: Option<Format>) -> anyhow::Result<Table> {
    let name = spec.path.display().to_string();
    let reader = input::open(&Source::Path(PathBuf::from(spec.path)))
        .with_context(|| format!("--table {name}"))?;
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let format = match spec.format.or_else(|| format_from_name(spec.path)) {
        Some(f) => f,
        None => sniff(&mut reader).with_context(|| format!("--table {name}"))?,
    };
    let mut loader = Loader {
        spec,
        name: &name,
        builder: None,
        size_hint: input::decoded_size_hint(&Source::Path(PathBuf::from(spec.path))),
        consumed: 0,
        rows_read: 0,
    };
    match format {
        TableFormat::Tsv => loader.tsv(reader),
        TableFormat::Csv => loader.csv(reader),
        TableFormat::Ndjson => loader.ndjson(reader),
    }?;
    loader.finish(output)
}

fn format_from_name(path: &Path) -> Option<TableFormat> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    let ext = name.rsplit_once('.')?.1;
    match ext {
        "tsv" | "tab" => Some(TableFormat::Tsv),
        "csv" => Some(TableFormat::Csv),
        "ndjson" | "jsonl" | "json" => Some(TableFormat::Ndjson),
        _ => None,
    }
}

/// `{` first means NDJSON, anything else TSV.
fn sniff(reader: &mut impl BufRead) -> std::io::Result<TableFormat> {
    let head = reader.fill_buf()?;
    let first = head.iter().find(|c| !c.is_ascii_whitespace());
    Ok(if first == Some(&b'{') {
        TableFormat::Ndjson
    } else {
        TableFormat::Tsv
    })
}

/// Rows collected so far, with the column layout known once the header is read.
struct Builder {
    names: Vec<String>,
    rows: RowStore,
    appender: Appender,
    /// Reused buffers for one row's rendered suffixes.
    json: Vec<u8>,
    tsv: Vec<u8>,
}

struct Loader<'s> {
    spec: &'s Spec<'s>,
    name: &'s str,
    builder: Option<Builder>,
    /// The table's decoded size, if known (see [`Loader::presize`]).
    size_hint: Option<u64>,
    /// Bytes of the table read so far, and rows.
    consumed: u64,
    rows_read: usize,
}

/// Rows read before the table's row count is estimated from the bytes they took.
const SAMPLE_ROWS: usize = 4096;

impl Loader<'_> {
    fn start(&mut self, columns: &[String]) -> anyhow::Result<()> {
        let names: Vec<String> = if self.spec.add.is_empty() {
            columns
                .iter()
                .filter(|c| *c != self.spec.key)
                .cloned()
                .collect()
        } else {
            self.spec.add.to_vec()
        };
        let out: Vec<String> = names
            .iter()
            .map(|n| format!("{}{n}", self.spec.prefix))
            .collect();
        self.builder = Some(Builder {
            appender: Appender::new(&out, None),
            names,
            rows: RowStore::new(self.spec.duplicates == Duplicates::Last),
            json: Vec::new(),
            tsv: Vec::new(),
        });
        Ok(())
    }

    /// Index of each wanted column in `columns` (key first).
    fn positions(&self, columns: &[String]) -> anyhow::Result<Vec<usize>> {
        let b = self.builder.as_ref().expect("started");
        std::iter::once(self.spec.key)
            .chain(b.names.iter().map(String::as_str))
            .map(|want| {
                columns.iter().position(|c| c == want).ok_or_else(|| {
                    anyhow::anyhow!(
                        "--table {}: no column '{want}' (columns: {})",
                        self.name,
                        columns.join(", ")
                    )
                })
            })
            .collect()
    }

    /// Adds a row: its key text and its values.
    fn row(&mut self, line: u64, key: &[u8], values: &RowValues) -> anyhow::Result<()> {
        let b = self.builder.as_mut().expect("started");
        b.json.clear();
        b.appender
            .suffix_into(Format::Ndjson, values.json(), &mut b.json);
        b.tsv.clear();
        b.appender
            .suffix_into(Format::Tsv, values.tsv(), &mut b.tsv);
        let duplicate = b.rows.insert(key, &b.json, &b.tsv, line);
        self.rows_read += 1;
        if self.rows_read == SAMPLE_ROWS {
            self.presize();
        }
        self.check(duplicate)
    }

    /// Sizes the index for the whole table, its rows estimated from the first rows' share of
    /// its size, so a million-row table loads without regrowing the index (a fifth of the load
    /// time before). The index is kept within the table's size in bytes: rows longer later
    /// than in the sample make the estimate too high, and an index too big takes memory as
    /// look-ups touch it. An estimate too low only costs the regrowths there were before.
    fn presize(&mut self) {
        let (Some(size), Some(b)) = (self.size_hint, self.builder.as_mut()) else {
            return;
        };
        if self.consumed == 0 {
            return;
        }
        let rows = (self.rows_read as f64 * size as f64 / self.consumed as f64) as usize;
        b.rows
            .reserve(rows, usize::try_from(size).unwrap_or(usize::MAX));
    }

    /// A duplicate key is an error unless --first or --last says which row wins.
    fn check(&self, duplicate: Option<Duplicate>) -> anyhow::Result<()> {
        match duplicate {
            Some(d) if self.spec.duplicates == Duplicates::Error => anyhow::bail!(
                "--table {}: duplicate key \"{}\" (lines {} and {}); use --first or --last",
                self.name,
                String::from_utf8_lossy(&d.key),
                d.lines.0,
                d.lines.1
            ),
            _ => Ok(()),
        }
    }

    fn tsv(&mut self, reader: impl BufRead) -> anyhow::Result<()> {
        let mut positions = Vec::new();
        let mut width = 0;
        let mut text = Vec::new();
        let mut values = RowValues::default();
        let mut cells = Vec::new();
        let mut lines = ReadLines::new(reader);
        while let Some((line_no, line)) = lines
            .next_line()
            .with_context(|| format!("--table {}", self.name))?
        {
            self.consumed += line.len() as u64 + 1;
            if self.builder.is_none() {
                // Blank lines and `#` comments may come before the header; past it every line
                // is a row (a key may start with `#`).
                if line.is_empty() || line[0] == b'#' {
                    continue;
                }
                let columns: Vec<String> = tsv::cells(line)
                    .map(|c| {
                        text.clear();
                        tsv::unescape_into(c, &mut text);
                        String::from_utf8_lossy(&text).into_owned()
                    })
                    .collect();
                self.start(&columns)?;
                positions = self.positions(&columns)?;
                width = columns.len();
                continue;
            }
            if !tsv::is_row(line, width) {
                continue;
            }
            cell_ranges(line, &mut cells);
            if cells.len() != width {
                anyhow::bail!(
                    "--table {}:{line_no}: {} cells where the header has {width}",
                    self.name,
                    cells.len()
                );
            }
            let key = &line[cells[positions[0]].clone()];
            values.clear();
            for &p in &positions[1..] {
                let cell = &line[cells[p].clone()];
                if cell.is_empty() {
                    values.push_null();
                    continue;
                }
                text.clear();
                tsv::unescape_into(cell, &mut text);
                values.push(|j, t| {
                    json::write_string(&text, j);
                    t.extend_from_slice(cell);
                });
            }
            text.clear();
            tsv::unescape_into(key, &mut text);
            let key = std::mem::take(&mut text);
            self.row(line_no, &key, &values)?;
            text = key;
        }
        Ok(())
    }

    fn csv(&mut self, reader: impl Read) -> anyhow::Result<()> {
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(QuoteTracker::new(reader));
        let columns: Vec<String> = csv
            .headers()
            .with_context(|| format!("--table {}", self.name))?
            .iter()
            .map(str::to_string)
            .collect();
        self.start(&columns)?;
        let positions = self.positions(&columns)?;
        let mut record = csv::ByteRecord::new();
        let mut values = RowValues::default();
        let mut key = Vec::new();
        loop {
            match csv.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    // A quote left open makes the last record swallow the rest of the table,
                    // which can surface as a ragged record: name the cause instead.
                    if matches!(csv.read_byte_record(&mut record), Ok(false)) {
                        let start = e.position().map_or(0, csv::Position::byte);
                        self.check_quotes(csv.get_mut(), start)?;
                    }
                    anyhow::bail!("--table {}: {e}", self.name)
                }
            }
            let line = record.position().map_or(0, |p| p.line());
            self.consumed =
                record.position().map_or(0, |p| p.byte()) + record.as_slice().len() as u64;
            values.clear();
            for &p in &positions[1..] {
                let cell = &record[p];
                if cell.is_empty() {
                    values.push_null();
                    continue;
                }
                values.push(|j, t| {
                    encode_str(cell, Format::Ndjson, j);
                    encode_str(cell, Format::Tsv, t);
                });
            }
            key.clear();
            key.extend_from_slice(&record[positions[0]]);
            self.row(line, &key, &values)?;
        }
        self.check_quotes(csv.get_mut(), 0)
    }

    /// Reads the rest of the table through `quotes` and fails, naming the line, if a quoted
    /// field opened at or after byte `from` is never closed (the csv crate silently ends it at
    /// the end of the input).
    fn check_quotes(&self, quotes: &mut QuoteTracker<impl Read>, from: u64) -> anyhow::Result<()> {
        std::io::copy(quotes, &mut std::io::sink())
            .with_context(|| format!("--table {}", self.name))?;
        match quotes.open() {
            Some(open) if open.byte >= from => anyhow::bail!(
                "--table {}:{}: unterminated quoted field (its closing quote is missing)",
                self.name,
                open.line
            ),
            _ => Ok(()),
        }
    }

    fn ndjson(&mut self, reader: impl BufRead) -> anyhow::Result<()> {
        let mut fields: Option<FieldReader> = None;
        let mut values = RowValues::default();
        let mut text = Vec::new();
        let mut lines = ReadLines::new(reader);
        while let Some((line_no, line)) = lines
            .next_line()
            .with_context(|| format!("--table {}", self.name))?
        {
            self.consumed += line.len() as u64 + 1;
            if line.trim_ascii().is_empty() || line[0] == b'#' {
                continue;
            }
            if fields.is_none() {
                let columns = top_level_keys(line)
                    .map_err(|e| anyhow::anyhow!("--table {}:{line_no}: {e}", self.name))?;
                self.start(&columns)?;
                let b = self.builder.as_ref().expect("started");
                // Dotted paths reach nested members; a top-level name with a dot is quoted.
                let paths: Vec<String> = std::iter::once(self.spec.key)
                    .chain(b.names.iter().map(String::as_str))
                    .map(|n| {
                        if n.contains('.') && columns.iter().any(|c| c == n) {
                            format!("\"{n}\"")
                        } else {
                            n.to_string()
                        }
                    })
                    .collect();
                fields = Some(
                    FieldReader::new(&paths)
                        .map_err(|e| anyhow::anyhow!("--table {}: {e}", self.name))?,
                );
            }
            let rec = Record {
                line_no,
                text: line,
                layout: Layout::Ndjson,
            };
            let mut vals: Vec<Value<'_>> = Vec::new();
            fields
                .as_mut()
                .expect("set")
                .read(&rec, &mut vals)
                .map_err(|reason| anyhow::anyhow!("--table {}:{line_no}: {reason}", self.name))?;
            if vals[0].is_null() {
                anyhow::bail!(
                    "--table {}:{line_no}: no key '{}'",
                    self.name,
                    self.spec.key
                );
            }
            values.clear();
            for v in &vals[1..] {
                match v {
                    Value::Json(j) if !v.is_null() => {
                        text.clear();
                        v.write_text(&mut text);
                        values.push(|js, t| {
                            j.write_json(js);
                            tsv::escape_into(&text, t);
                        });
                    }
                    _ => values.push_null(),
                }
            }
            text.clear();
            vals[0].write_text(&mut text);
            let key = std::mem::take(&mut text);
            self.row(line_no, &key, &values)?;
            text = key;
        }
        Ok(())
    }

    fn finish(mut self, output: Option<Format>) -> anyhow::Result<Table> {
        let last = self.builder.as_mut().and_then(|b| b.rows.finish());
        self.check(last)?;
        let Some(b) = self.builder else {
            anyhow::bail!("--table {}: empty table (no header or rows)", self.name);
        };
        let out_names = b.appender.names().to_vec();
        let appender = Appender::new(&out_names, output);
        let nulls = vec![None; out_names.len()];
        let miss = (
            appender.suffix(Format::Ndjson, &nulls),
            appender.suffix(Format::Tsv, &nulls),
        );
        Ok(Table {
            appender,
            rows: b.rows,
            miss,
        })
    }
}

/// One table row's values, each encoded for NDJSON and for TSV, in buffers reused from row
/// to row (a million-row table made millions of small allocations before).
#[derive(Default)]
struct RowValues {
    json: Vec<u8>,
    tsv: Vec<u8>,
    /// Each value's end in `json` and in `tsv`; `None` for null.
    ends: Vec<Option<(usize, usize)>>,
}

impl RowValues {
    fn clear(&mut self) {
        self.json.clear();
        self.tsv.clear();
        self.ends.clear();
    }

    fn push_null(&mut self) {
        self.ends.push(None);
    }

    /// Adds a value: `encode` appends its JSON form to the first buffer, its TSV form to the
    /// second.
    fn push(&mut self, encode: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>)) {
        encode(&mut self.json, &mut self.tsv);
        self.ends.push(Some((self.json.len(), self.tsv.len())));
    }

    fn json(&self) -> impl Iterator<Item = Option<&[u8]>> {
        self.spans(&self.json, |end| end.0)
    }

    fn tsv(&self) -> impl Iterator<Item = Option<&[u8]>> {
        self.spans(&self.tsv, |end| end.1)
    }

    /// The values in `buf`, whose ends `end` picks.
    fn spans<'a>(
        &'a self,
        buf: &'a [u8],
        end: impl Fn((usize, usize)) -> usize + 'a,
    ) -> impl Iterator<Item = Option<&'a [u8]>> + 'a {
        let mut start = 0;
        self.ends.iter().map(move |e| {
            let e = end((*e)?);
            let value = &buf[start..e];
            start = e;
            Some(value)
        })
    }
}

/// Where a quoted CSV field starts: byte offset and line (1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct QuoteStart {
    byte: u64,
    line: u64,
}

/// Where the CSV reader is, for its quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quoting {
    /// Not in a quoted field.
    Outside,
    Inside,
    /// Just past a quote inside a quoted field: it closed the field, or a second quote follows
    /// (an escaped quote).
    Closing,
}

/// A reader that follows the quoting of the CSV passing through it the way the csv crate
/// (with its default settings) parses it: a quote opens a quoted field only at the start of a
/// field, `""` inside one is a quote, and any other quote closes it. The crate ends a quoted
/// field left open at the end of the input without an error, so the loader asks this reader.
struct QuoteTracker<R> {
    inner: R,
    state: Quoting,
    /// The last quoted field opened.
    last_open: Option<QuoteStart>,
    /// Bytes and lines (`\n`) before the current read.
    byte: u64,
    lines: u64,
    /// The byte before the current read (a field starts after a line end at first).
    prev: u8,
}

impl<R: Read> QuoteTracker<R> {
    fn new(inner: R) -> Self {
        QuoteTracker {
            inner,
            state: Quoting::Outside,
            last_open: None,
            byte: 0,
            lines: 0,
            prev: b'\n',
        }
    }

    /// The quoted field still open, once everything has been read.
    fn open(&self) -> Option<QuoteStart> {
        self.last_open.filter(|_| self.state == Quoting::Inside)
    }

    /// Follows the quotes of the next bytes read, `buf`.
    fn scan(&mut self, buf: &[u8]) {
        // Lines are counted up to `counted` only when a field opens, so each byte is counted once.
        let mut counted = 0;
        let mut i = 0;
        while i < buf.len() {
            match self.state {
                Quoting::Inside => match memchr::memchr(b'"', &buf[i..]) {
                    Some(k) => {
                        i += k + 1;
                        self.state = Quoting::Closing;
                    }
                    None => break,
                },
                Quoting::Closing if buf[i] == b'"' => {
                    i += 1;
                    self.state = Quoting::Inside;
                }
                Quoting::Closing => self.state = Quoting::Outside,
                Quoting::Outside => match memchr::memchr(b'"', &buf[i..]) {
                    Some(k) => {
                        let q = i + k;
                        let before = if q == 0 { self.prev } else { buf[q - 1] };
                        if matches!(before, b',' | b'\n' | b'\r') {
                            self.lines +=
                                memchr::memchr_iter(b'\n', &buf[counted..q]).count() as u64;
                            counted = q;
                            self.last_open = Some(QuoteStart {
                                byte: self.byte + q as u64,
                                line: self.lines + 1,
                            });
                            self.state = Quoting::Inside;
                        }
                        i = q + 1;
                    }
                    None => break,
                },
            }
        }
        self.lines += memchr::memchr_iter(b'\n', &buf[counted..]).count() as u64;
        self.byte += buf.len() as u64;
        if let Some(&last) = buf.last() {
            self.prev = last;
        }
    }
}

impl<R: Read> Read for QuoteTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.scan(&buf[..n]);
        Ok(n)
    }
}

/// The byte ranges of `line`'s TSV cells, into `out` (cleared first).
fn cell_ranges(line: &[u8], out: &mut Vec<std::ops::Range<usize>>) {
    out.clear();
    let base = line.as_ptr() as usize;
    out.extend(tsv::cells(line).map(|cell| {
        let start = cell.as_ptr() as usize - base;
        start..start + cell.len()
    }));
}

/// The top-level member names of a JSON object line, in order.
fn top_level_keys(line: &[u8]) -> Result<Vec<String>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| format!("invalid JSON ({e})"))?;
    match v {
        serde_json::Value::Object(m) => Ok(m.keys().cloned().collect()),
        _ => Err("not a JSON object".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(name: &str, text: &str, add: &[String], dup: Duplicates) -> anyhow::Result<Table> {
        let dir = std::env::temp_dir().join(format!("kv-join-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(name);
        std::fs::write(&path, text)?;
        let spec = Spec {
            path: &path,
            format: None,
            key: "id",
            add,
            prefix: "",
            duplicates: dup,
        };
        load(&spec, None)
    }

    #[test]
    fn formats_come_from_names() {
        assert_eq!(
            format_from_name(Path::new("a.CSV.gz")),
            Some(TableFormat::Csv)
        );
        assert_eq!(
            format_from_name(Path::new("a.jsonl")),
            Some(TableFormat::Ndjson)
        );
        assert_eq!(format_from_name(Path::new("table")), None);
    }

    #[test]
    fn rows_render_once_for_both_formats() {
        let t = load_str("t", "id\tv\tw\na\tx\\ty\t\n", &[], Duplicates::Error).unwrap();
        assert_eq!(
            t.get(b"a", Format::Ndjson).unwrap(),
            b",\"v\":\"x\\ty\",\"w\":null"
        );
        assert_eq!(t.get(b"a", Format::Tsv).unwrap(), b"\tx\\ty\t");
        assert_eq!(t.miss(Format::Tsv), b"\t\t");
        assert!(t.get(b"b", Format::Tsv).is_none());
    }

    #[test]
    fn tables_whose_rows_outgrow_or_undercut_the_sample_load_whole() {
        for longer_later in [true, false] {
            // Rows longer after the sample than in it make the row estimate too high (the
            // index is held within the table's size); shorter ones make it too low (the index
            // regrows as it fills). Either way every row is there, and a duplicate key far
            // past the sample is still found.
            let value = |i: usize| {
                let long = (i >= SAMPLE_ROWS) == longer_later;
                format!("v{i}{}", if long { "-a-longer-value" } else { "" })
            };
            let mut text = String::from("id\tv\n");
            for i in 0..3 * SAMPLE_ROWS {
                text.push_str(&format!("k{i}\t{}\n", value(i)));
            }
            let t = load_str("big.tsv", &text, &[], Duplicates::Error).unwrap();
            for i in 0..3 * SAMPLE_ROWS {
                let got = t.get(format!("k{i}").as_bytes(), Format::Tsv).unwrap();
                assert_eq!(got, format!("\t{}", value(i)).as_bytes());
            }
            text.push_str("k7\tagain\n");
            let err = load_str("big.tsv", &text, &[], Duplicates::Error)
                .err()
                .unwrap();
            let lines = format!("(lines 9 and {})", 3 * SAMPLE_ROWS + 2);
            assert!(err.to_string().contains(&lines), "{err}");
        }
    }

    #[test]
    fn duplicates_follow_the_policy() {
        let text = "{\"id\":1,\"v\":1}\n{\"id\":1,\"v\":2}\n";
        let err = load_str("d.ndjson", text, &[], Duplicates::Error)
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .contains("duplicate key \"1\" (lines 1 and 2)"),
            "{err}"
        );
        let last = load_str("d.ndjson", text, &[], Duplicates::Last).unwrap();
        assert_eq!(last.get(b"1", Format::Ndjson).unwrap(), b",\"v\":2");
        let first = load_str("d.ndjson", text, &[], Duplicates::First).unwrap();
        assert_eq!(first.get(b"1", Format::Ndjson).unwrap(), b",\"v\":1");
    }

    #[test]
    fn ndjson_tables_count_every_line_and_take_crlf_and_a_last_line_without_newline() {
        // Blank and comment lines count for the line numbers errors give.
        let text = "{\"id\":\"a\",\"v\":1}\r\n\n# note\n{\"id\":\"b\",\"v\":2}";
        let t = load_str("t.ndjson", text, &[], Duplicates::Error).unwrap();
        assert_eq!(t.get(b"a", Format::Ndjson).unwrap(), b",\"v\":1");
        assert_eq!(t.get(b"b", Format::Ndjson).unwrap(), b",\"v\":2");
        let bad = "{\"id\":\"a\",\"v\":1}\n\n{\"id\":\"b\",\"v\":}\n";
        let err = load_str("t.ndjson", bad, &[], Duplicates::Error)
            .err()
            .unwrap();
        assert!(
            err.to_string().ends_with("t.ndjson:3: invalid_json"),
            "{err}"
        );
        let dup = "{\"id\":\"a\"}\n# c\n{\"id\":\"a\"}\n";
        let err = load_str("t.ndjson", dup, &[], Duplicates::Error)
            .err()
            .unwrap();
        assert!(err.to_string().contains("(lines 1 and 3)"), "{err}");
    }

    #[test]
    fn tsv_keys_may_start_with_a_hash_past_the_header() {
        // Comments and blank lines are skipped only before the header.
        let text = "# owners\n\nid\tv\n#a\tx\n\nb\ty\n";
        let t = load_str("h.tsv", text, &[], Duplicates::Error).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t.get(b"#a", Format::Ndjson).unwrap(), b",\"v\":\"x\"");
        assert_eq!(t.get(b"b", Format::Ndjson).unwrap(), b",\"v\":\"y\"");
        // With one column an empty line is the row whose key is empty.
        let t = load_str("one.tsv", "id\na\n\n#b\n", &[], Duplicates::Error).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t.get(b"", Format::Ndjson).unwrap(), b"");
        assert_eq!(t.get(b"#b", Format::Ndjson).unwrap(), b"");
    }

    fn csv_error(text: &str) -> String {
        load_str("q.csv", text, &[], Duplicates::Error)
            .err()
            .expect("an error")
            .to_string()
    }

    #[test]
    fn csv_unterminated_quotes_name_the_line_they_open_on() {
        let err = csv_error("id,owner\nm1,\"alice\nm2,bob\nm3,carol\n");
        assert!(
            err.ends_with("q.csv:2: unterminated quoted field (its closing quote is missing)"),
            "{err}"
        );
        // After a valid multi-line cell, and without a final newline.
        let err = csv_error("id,owner\nm1,\"a\nb\"\nm2,\"bob");
        assert!(
            err.ends_with("q.csv:4: unterminated quoted field (its closing quote is missing)"),
            "{err}"
        );
        // Open in a column before the last, the swallowed record is also ragged: the quote is
        // the cause named.
        let err = csv_error("id,owner,team\nm1,x,y\nm2,\"bob,z\nm3,c,d\n");
        assert!(
            err.ends_with("q.csv:3: unterminated quoted field (its closing quote is missing)"),
            "{err}"
        );
        // A ragged row before a quote left open is reported first.
        let err = csv_error("id,owner\nm1,x,y\nm2,\"bob\n");
        assert!(err.contains("line: 2"), "{err}");
    }

    #[test]
    fn csv_quoted_cells_may_span_lines_and_hold_quotes() {
        let text =
            "id,owner\nm1,\"alice\r\nsmith\"\nm2,\"say \"\"hi\"\"\"\nm3,5\"11\n\"m4\",\"\"\n";
        let t = load_str("ok.csv", text, &[], Duplicates::Error).unwrap();
        assert_eq!(t.len(), 4);
        assert_eq!(
            t.get(b"m1", Format::Ndjson).unwrap(),
            b",\"owner\":\"alice\\r\\nsmith\""
        );
        assert_eq!(
            t.get(b"m2", Format::Ndjson).unwrap(),
            b",\"owner\":\"say \\\"hi\\\"\""
        );
        assert_eq!(
            t.get(b"m3", Format::Ndjson).unwrap(),
            b",\"owner\":\"5\\\"11\""
        );
        assert_eq!(t.get(b"m4", Format::Ndjson).unwrap(), b",\"owner\":null");
    }

    #[test]
    fn quote_tracking_does_not_depend_on_read_sizes() {
        let open = QuoteStart { byte: 19, line: 4 };
        let text: &[u8] = b"a,\"x\"\"\ny\"\n5\"1,\"\"\nb,\"c\nd";
        for cut in 0..=text.len() {
            let mut q = QuoteTracker::new(std::io::empty());
            q.scan(&text[..cut]);
            q.scan(&text[cut..]);
            assert_eq!(q.open(), Some(open), "cut at {cut}");
        }
        let mut q = QuoteTracker::new(std::io::empty());
        q.scan(b"a,\"x\"\"\"\n\"\"\n");
        assert_eq!(q.open(), None);
    }
}
