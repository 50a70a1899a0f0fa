//! The pipeline worker: records of a block -> CSV rows grouped by family, framed for the router.

use std::sync::Arc;

use hashbrown::HashMap;
use onebox::par::{BlockRef, Out, Worker};
use onebox::record::{self, FieldReader, Format, Layout, Value};

use crate::csvrow::CsvStyle;
use crate::frame;
use crate::naming::sanitize_family;
use crate::schema::{self, ColumnSpec, Schema};

/// What every worker needs to know.
pub struct WorkerSpec {
    pub columns: ColumnSpec,
    pub forced: Option<Format>,
    /// `--by FIELD`.
    pub by: Option<String>,
    pub style: CsvStyle,
}

/// Where a record's family value comes from.
enum By {
    None,
    /// One of the columns.
    Column(usize),
    /// A field that is not a column (read in a second pass over the record).
    Reader(Box<FieldReader>),
}

pub struct ChunkWorker {
    spec: Arc<WorkerSpec>,
    /// Built on the first record when the columns come from the block header.
    schema: Option<(Schema, By, Vec<u8>)>,
    /// The names of the block's families, in the order they first appear.
    families: Vec<String>,
    /// Family value -> index in `families`, for this block.
    index: HashMap<Vec<u8>, u32>,
    /// The block's CSV rows, end to end, and each one's (family, length): families are
    /// gathered into frames at the end of the block (kept between blocks for their capacity).
    rows: Vec<u8>,
    row_families: Vec<(u32, u32)>,
    scratch: Vec<u8>,
    by_value: Vec<u8>,
    /// The TSV header checked last (see `check_tsv_header`).
    checked_header: Vec<u8>,
}

impl ChunkWorker {
    pub fn new(spec: Arc<WorkerSpec>) -> anyhow::Result<ChunkWorker> {
        let schema = match &spec.columns {
            ColumnSpec::Fixed(names) => Some(Schema::fixed(names).map_err(onebox::cli::usage)?),
            ColumnSpec::Named(names) => Some(Schema::named(names.clone())),
            ColumnSpec::FromBlockHeader => None,
        };
        let schema = match schema {
            Some(s) => Some(prepare(s, &spec)?),
            None => None,
        };
        Ok(ChunkWorker {
            spec,
            schema,
            families: Vec::new(),
            index: HashMap::new(),
            rows: Vec::new(),
            row_families: Vec::new(),
            scratch: Vec::new(),
            by_value: Vec::new(),
            checked_header: Vec::new(),
        })
    }

    /// Stops at a TSV source whose header names a column twice (whatever the columns are, a
    /// value would be lost); a header is checked again only when the source changes.
    fn check_tsv_header(&mut self, block: &BlockRef<'_>) -> anyhow::Result<()> {
        let Some(Layout::Tsv(h)) = block.header.map(|h| record::layout(self.spec.forced, h)) else {
            return Ok(());
        };
        if self.checked_header != h.text {
            schema::tsv_names(h).map_err(|e| anyhow::anyhow!("{}: {e}", block.source))?;
            self.checked_header.clone_from(&h.text);
        }
        Ok(())
    }
}

/// Adds the family lookup and the header row to a schema.
fn prepare(schema: Schema, spec: &WorkerSpec) -> anyhow::Result<(Schema, By, Vec<u8>)> {
    let by = match &spec.by {
        None => By::None,
        Some(name) => match schema.position(name) {
            Some(i) => By::Column(i),
            None => By::Reader(Box::new(
                FieldReader::new(&[name]).map_err(onebox::cli::usage)?,
            )),
        },
    };
    let header = spec.style.header(&schema.names());
    Ok((schema, by, header))
}

/// The block's number for the family `value` (a new one if it is the first such row).
fn family_slot(
    families: &mut Vec<String>,
    index: &mut HashMap<Vec<u8>, u32>,
    value: &[u8],
    named: bool,
) -> u32 {
    if let Some(&i) = index.get(value) {
        return i;
    }
    families.push(if named {
        sanitize_family(value)
    } else {
        String::new()
    });
    let i = (families.len() - 1) as u32;
    index.insert(value.to_vec(), i);
    i
}

impl Worker for ChunkWorker {
    fn process(&mut self, block: &BlockRef<'_>, out: &mut Out) -> anyhow::Result<()> {
        self.check_tsv_header(block)?;
        if self.schema.is_none() {
            match block.header {
                Some(h) => {
                    let names = schema::names_from_header(h, self.spec.forced)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", block.source))?;
                    self.schema = Some(prepare(Schema::named(names), &self.spec)?);
                }
                None => return Ok(()), // no data line yet: only blanks and comments
            }
        }
        let Some((schema, by, header)) = self.schema.as_mut() else {
            return Ok(());
        };
        let (families, index) = (&mut self.families, &mut self.index);
        let (scratch, by_value) = (&mut self.scratch, &mut self.by_value);
        let spec = &*self.spec;
        families.clear();
        index.clear();
        let mut values: Vec<Value<'_>> = Vec::new();
        let mut by_values: Vec<Value<'_>> = Vec::new();
        let (mut kept, mut repaired) = (0u64, 0u64);
        // TSV whose columns are ours in order: rows are converted whole (CsvStyle::tsv_row),
        // as Some(the --by column, if any).
        let whole_rows = match block.header.map(|h| record::layout(spec.forced, h)) {
            Some(Layout::Tsv(h)) if spec.style.converts_tsv_rows() && schema.tsv_in_order(h) => {
                match by {
                    By::None => Some(None),
                    By::Column(i) => Some(Some(*i)),
                    By::Reader(_) => None,
                }
            }
            _ => None,
        };
        let (rows, row_families) = (&mut self.rows, &mut self.row_families);
        rows.clear();
        row_families.clear();
        let result = record::records(block, spec.forced, out, |rec, out| {
            let start = rows.len();
            let family = if let Some(pick) = whole_rows {
                let got = spec.style.tsv_row(rec.text, pick, scratch, rows);
                if got.cells != schema.width() {
                    rows.truncate(start);
                    return out.reject(block, rec.line_no, "field_count", rec.text);
                }
                repaired += got.repaired;
                by_value.clear();
                if pick.is_some() {
                    Value::Tsv(&rec.text[got.picked]).write_text(by_value);
                }
                family_slot(families, index, by_value, spec.by.is_some())
            } else {
                if let Err(reason) = schema.read(&rec, &mut values) {
                    return out.reject(block, rec.line_no, reason, rec.text);
                }
                let family_value = match by {
                    By::None => None,
                    By::Column(i) => Some(values[*i]),
                    By::Reader(reader) => {
                        if let Err(reason) = reader.read(&rec, &mut by_values) {
                            return out.reject(block, rec.line_no, reason, rec.text);
                        }
                        Some(by_values[0])
                    }
                };
                by_value.clear();
                if let Some(v) = family_value {
                    v.write_text(by_value);
                }
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        rows.push(spec.style.delimiter);
                    }
                    if !spec.style.value(v, scratch, rows) {
                        repaired += 1;
                    }
                }
                family_slot(families, index, by_value, spec.by.is_some())
            };
            rows.push(b'\n');
            row_families.push((family, (rows.len() - start) as u32));
            kept += 1;
            Ok(())
        });
        if kept > 0 {
            frame::put_header(header, &mut out.data);
            frame::put_rows_by_family(families, row_families, rows, &mut out.data);
        }
        out.tally("records_out", kept);
        out.tally("utf8_repaired", repaired);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(columns: ColumnSpec, by: Option<&str>) -> Arc<WorkerSpec> {
        Arc::new(WorkerSpec {
            columns,
            forced: None,
            by: by.map(str::to_string),
            style: CsvStyle {
                delimiter: b',',
                null: Vec::new(),
            },
        })
    }

    // Block processing needs the pipeline's `Out`, so it is exercised end to end in
    // tests/tests/csv_chunk.rs; here: how the family field is found.
    #[test]
    fn family_from_a_column_or_a_second_reader() {
        let names = vec![b"e".to_vec(), b"v".to_vec()];
        let w = ChunkWorker::new(spec(ColumnSpec::Named(names.clone()), Some("e"))).unwrap();
        let (_, by, header) = w.schema.as_ref().unwrap();
        assert!(matches!(by, By::Column(0)));
        assert_eq!(header, b"e,v\n");
        let w = ChunkWorker::new(spec(ColumnSpec::Named(names), Some("a.b"))).unwrap();
        assert!(matches!(w.schema.as_ref().unwrap().1, By::Reader(_)));
        let w = ChunkWorker::new(spec(ColumnSpec::FromBlockHeader, None)).unwrap();
        assert!(w.schema.is_none());
    }
}
