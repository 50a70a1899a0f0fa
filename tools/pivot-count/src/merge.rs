//! `--merge`: read earlier pivot-count outputs (CSV, TSV or NDJSON) back into a [`Table`].
//!
//! The columns before the last `count` column are the group's fields, the `sum_*` columns after
//! it are sums. With `-f`, only the named fields are kept, so a merge can also roll groups up.

use std::io::{BufRead, BufReader, Read};

use anyhow::{bail, Context};
use onebox::chunk::ReadLines;
use onebox::input::Source;
use onebox::json::Extractor;

use crate::sum::Sum;
use crate::table::{Agg, Table};

/// The layout of a pivot-count output, from its header.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    pub fields: Vec<String>,
    pub sums: Vec<String>,
}

/// Maps one file's header to the merge's fields and sums.
struct Projection {
    /// Column of each wanted field.
    fields: Vec<usize>,
    count: usize,
    /// Column of each wanted sum.
    sums: Vec<usize>,
}

fn project(
    header: &[String],
    want: &Columns,
    source: &str,
    table: &mut Table,
) -> anyhow::Result<Projection> {
    table.set_sum_count(want.sums.len());
    let count = header
        .iter()
        .rposition(|h| h == "count")
        .with_context(|| format!("{source}: no 'count' column: not a pivot-count output"))?;
    let find = |name: &String, range: std::ops::Range<usize>| {
        header[range.clone()]
            .iter()
            .position(|h| h == name)
            .map(|i| i + range.start)
            .with_context(|| format!("{source}: no column {name:?}"))
    };
    Ok(Projection {
        fields: want
            .fields
            .iter()
            .map(|f| find(f, 0..count))
            .collect::<anyhow::Result<_>>()?,
        count,
        sums: want
            .sums
            .iter()
            .map(|s| find(s, count + 1..header.len()))
            .collect::<anyhow::Result<_>>()?,
    })
}

/// The columns of an output's header (for the first merge input, when `-f` is not given).
pub fn columns_of(header: &[String]) -> Columns {
    let count = header
        .iter()
        .rposition(|h| h == "count")
        .unwrap_or(header.len());
    Columns {
        fields: header[..count].to_vec(),
        sums: header.get(count + 1..).unwrap_or(&[]).to_vec(),
    }
}

/// What the command line asks a merge to keep; the rest comes from the first input's header.
#[derive(Debug, Default)]
pub struct Wanted {
    /// `-f`: these fields, else all of the first input's.
    fields: Option<Vec<String>>,
    /// `--sum` (or `-f`, which rolls up and so keeps only the sums named): these `sum_*`
    /// columns, else all of the first input's.
    sums: Option<Vec<String>>,
    resolved: Option<Columns>,
}

impl Wanted {
    pub fn new(fields: &[String], sums: &[String]) -> Wanted {
        let sums: Vec<String> = sums.iter().map(|s| format!("sum_{s}")).collect();
        Wanted {
            fields: (!fields.is_empty()).then(|| fields.to_vec()),
            sums: (!fields.is_empty() || !sums.is_empty()).then_some(sums),
            resolved: None,
        }
    }

    /// The merge's columns, settled by the first header seen.
    fn resolve(&mut self, header: &[String]) -> Columns {
        let (fields, sums) = (&self.fields, &self.sums);
        self.resolved
            .get_or_insert_with(|| {
                let found = columns_of(header);
                Columns {
                    fields: fields.clone().unwrap_or(found.fields),
                    sums: sums.clone().unwrap_or(found.sums),
                }
            })
            .clone()
    }

    /// The merge's columns: as asked, or as the first input had them (none when there was no
    /// input).
    pub fn into_columns(self) -> Columns {
        self.resolved.unwrap_or_else(|| Columns {
            fields: self.fields.unwrap_or_default(),
            sums: self.sums.unwrap_or_default(),
        })
    }
}

/// Reads one output file into `table`; returns the number of rows read.
pub fn read_into(
    source: &Source,
    reader: Box<dyn Read + Send>,
    want: &mut Wanted,
    table: &mut Table,
) -> anyhow::Result<u64> {
    let name = source.display_name();
    let mut input = BufReader::with_capacity(256 << 10, reader);
    let first = input.fill_buf()?.first().copied();
    match first {
        None => Ok(0),
        Some(b'{') => read_ndjson(&name, input, want, table),
        Some(_) => read_delimited(&name, input, want, table),
    }
}

fn read_delimited(
    name: &str,
    mut input: BufReader<Box<dyn Read + Send>>,
    want: &mut Wanted,
    table: &mut Table,
) -> anyhow::Result<u64> {
    // A TAB in the header line means TSV; otherwise CSV.
    let head = input.fill_buf()?;
    let line_end = memchr::memchr(b'\n', head).unwrap_or(head.len());
    let tsv = memchr::memchr(b'\t', &head[..line_end]).is_some();
    if tsv {
        return read_tsv(name, input, want, table);
    }
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(input);
    let header: Vec<String> = csv
        .headers()
        .with_context(|| format!("{name}: reading CSV header"))?
        .iter()
        .map(str::to_string)
        .collect();
    let cols = want.resolve(&header);
    let p = project(&header, &cols, name, table)?;
    let mut record = csv::ByteRecord::new();
    let (mut key, mut rows) = (Vec::new(), 0);
    while csv
        .read_byte_record(&mut record)
        .with_context(|| format!("{name}: reading CSV"))?
    {
        key.clear();
        for (i, &col) in p.fields.iter().enumerate() {
            if i > 0 {
                key.push(b'\t');
            }
            onebox::tsv::escape_into(record.get(col).unwrap_or(b""), &mut key);
        }
        let agg = totals(name, rows + 2, &p, |col| record.get(col))?;
        table.add_agg(&key, &agg)?;
        rows += 1;
    }
    Ok(rows)
}

fn read_tsv(
    name: &str,
    input: BufReader<Box<dyn Read + Send>>,
    want: &mut Wanted,
    table: &mut Table,
) -> anyhow::Result<u64> {
    let mut lines = ReadLines::new(input);
    let Some((_, header)) = lines.next_line()? else {
        return Ok(0);
    };
    let header: Vec<String> = onebox::tsv::cells(header)
        .map(|c| {
            let mut t = Vec::new();
            onebox::tsv::unescape_into(c, &mut t);
            String::from_utf8_lossy(&t).into_owned()
        })
        .collect();
    let cols = want.resolve(&header);
    let p = project(&header, &cols, name, table)?;
    let (mut key, mut rows) = (Vec::new(), 0);
    while let Some((line_no, line)) = lines.next_line()? {
        if line.is_empty() {
            continue;
        }
        let cells: Vec<&[u8]> = onebox::tsv::cells(line).collect();
        if cells.len() != header.len() {
            bail!(
                "{name}:{line_no}: expected {} columns, found {}",
                header.len(),
                cells.len()
            );
        }
        key.clear();
        for (j, &col) in p.fields.iter().enumerate() {
            if j > 0 {
                key.push(b'\t');
            }
            key.extend_from_slice(cells[col]); // already escaped
        }
        let agg = totals(name, line_no, &p, |col| cells.get(col).copied())?;
        table.add_agg(&key, &agg)?;
        rows += 1;
    }
    Ok(rows)
}

fn read_ndjson(
    name: &str,
    input: BufReader<Box<dyn Read + Send>>,
    want: &mut Wanted,
    table: &mut Table,
) -> anyhow::Result<u64> {
    let (mut key, mut rows) = (Vec::new(), 0);
    let mut row = FlatRow::default();
    let mut lines = ReadLines::new(input);
    while let Some((line_no, line)) = lines.next_line()? {
        if line.is_empty() {
            continue;
        }
        row.read(line)
            .with_context(|| format!("{name}:{line_no}: not a pivot-count NDJSON row"))?;
        let cols = want.resolve(&row.keys);
        let p = project(&row.keys, &cols, name, table)?;
        key.clear();
        for (j, &col) in p.fields.iter().enumerate() {
            if j > 0 {
                key.push(b'\t');
            }
            onebox::tsv::escape_into(&row.values[col], &mut key);
        }
        let agg = totals(name, line_no, &p, |col| {
            row.values.get(col).map(Vec::as_slice)
        })?;
        table.add_agg(&key, &agg)?;
        rows += 1;
    }
    Ok(rows)
}

/// The count and sums of one row.
fn totals<'r>(
    name: &str,
    line: u64,
    p: &Projection,
    cell: impl Fn(usize) -> Option<&'r [u8]>,
) -> anyhow::Result<Agg> {
    let count_text = cell(p.count).unwrap_or(b"");
    let count = std::str::from_utf8(count_text)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .with_context(|| format!("{name}:{line}: count is not a whole number"))?;
    let mut sums = Vec::with_capacity(p.sums.len());
    for &col in &p.sums {
        let text = cell(col).unwrap_or(b"");
        sums.push(if text.is_empty() {
            Sum::default()
        } else {
            Sum::parse(text).with_context(|| format!("{name}:{line}: sum is not a number"))?
        });
    }
    Ok(Agg { count, sums })
}

/// A flat NDJSON row (what pivot-count writes) as ordered keys and text values. Numbers keep
/// their exact text: a sum such as 36893488147419103230 would lose digits as an f64.
#[derive(Default)]
struct FlatRow {
    keys: Vec<String>,
    values: Vec<Vec<u8>>,
    json: Extractor,
}

impl FlatRow {
    fn read(&mut self, line: &[u8]) -> anyhow::Result<()> {
        self.keys.clear();
        self.values.clear();
        let (keys, values) = (&mut self.keys, &mut self.values);
        self.json
            .for_each_member(line, |k, v| {
                keys.push(String::from_utf8_lossy(k).into_owned());
                let mut text = Vec::new();
                v.write_text(&mut text); // null is empty, a string decoded, a number as written
                values.push(text);
            })
            .map_err(|e| anyhow::anyhow!("{e}"))
    }
}
