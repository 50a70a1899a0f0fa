//! The per-record work: read the key field, append the table row's fields (or nulls).
//!
//! A block is joined in three passes so that the table's memory is waited for once per batch
//! rather than once per record (see [`crate::store`]): read every record's key, then, a slice
//! of records at a time, look their keys up together and write the records in order.

use std::sync::Arc;

use onebox::par::{BlockRef, Out, Worker};
use onebox::record::{self, FieldReader, Format, Record};

use crate::table::Table;

/// Records looked up together and then written: enough for the look-ups' batches, few
/// enough that the rows they found (two cache lines each) are still cached when written.
const LOOKUP_SLICE: usize = 256;

/// What to do with a record whose key is not in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// Write it with null fields.
    Keep,
    /// Leave it out (counted filtered_missing).
    Drop,
    /// Reject it (reason not_found).
    Reject,
}

/// Settings every worker shares.
pub struct Join {
    pub table: Table,
    pub key: String,
    pub missing: Missing,
    pub input_format: Option<Format>,
}

pub struct JoinWorker {
    join: Arc<Join>,
    reader: FieldReader,
    /// Decoded keys that could not be borrowed from the block (escaped JSON, TSV escapes).
    decoded: Vec<u8>,
    found: Vec<Option<crate::store::RowRef>>,
}

impl JoinWorker {
    pub fn new(join: Arc<Join>) -> anyhow::Result<Self> {
        let reader = join
            .table
            .appender
            .reader(std::slice::from_ref(&join.key))
            .map_err(|msg| onebox::cli::usage(format!("--key: {msg}")))?;
        Ok(JoinWorker {
            join,
            reader,
            decoded: Vec::new(),
            found: Vec::new(),
        })
    }
}

/// A record's key as read in the first pass.
enum Key<'a> {
    /// Null or missing: never in the table.
    None,
    Borrowed(&'a [u8]),
    /// A range of [`JoinWorker::decoded`].
    Decoded(std::ops::Range<usize>),
    /// The record could not be read: rejected with this reason.
    Bad(&'static str),
}

impl Worker for JoinWorker {
    fn process(&mut self, block: &BlockRef<'_>, out: &mut Out) -> anyhow::Result<()> {
        let join = Arc::clone(&self.join);
        let appender = &join.table.appender;
        let layout = block.header.map(|h| record::layout(join.input_format, h));
        if let Some(l) = layout {
            appender.check(l)?;
        }
        appender.header(block, layout, &mut out.data);

        // Pass 1: every record's key.
        let mut pending: Vec<(Record<'_>, Key<'_>)> = Vec::new();
        let mut values = Vec::with_capacity(1);
        self.decoded.clear();
        let result = record::records(block, join.input_format, out, |rec, _| {
            let key = match self.reader.read(&rec, &mut values) {
                Err(reason) => Key::Bad(reason),
                Ok(()) if appender.holds_new_field(&values, 1) => Key::Bad("field_exists"),
                Ok(()) if values[0].is_null() => Key::None,
                Ok(()) => match values[0].as_plain() {
                    Some(plain) => Key::Borrowed(plain),
                    None => {
                        let start = self.decoded.len();
                        values[0].write_text(&mut self.decoded);
                        Key::Decoded(start..self.decoded.len())
                    }
                },
            };
            pending.push((rec, key));
            Ok(())
        });

        // Passes 2 and 3, a slice of records at a time: the look-ups together, then the
        // records in order, while the rows just found are still in the cache.
        let (mut kept, mut found, mut not_found, mut dropped) = (0, 0, 0, 0);
        let mut keys: Vec<Option<&[u8]>> = Vec::with_capacity(LOOKUP_SLICE);
        let written = (|| {
            for slice in pending.chunks(LOOKUP_SLICE) {
                keys.clear();
                keys.extend(slice.iter().map(|(_, key)| match key {
                    Key::Borrowed(k) => Some(*k),
                    Key::Decoded(range) => Some(&self.decoded[range.clone()]),
                    Key::None | Key::Bad(_) => None,
                }));
                join.table.get_batch(&keys, &mut self.found);
                for ((rec, key), row) in slice.iter().zip(&self.found) {
                    if let Key::Bad(reason) = key {
                        out.reject(block, rec.line_no, reason, rec.text)?;
                        continue;
                    }
                    let format = appender.format(rec.layout);
                    let suffix = match row {
                        Some(row) => {
                            found += 1;
                            join.table.suffix(*row, format)
                        }
                        None => match join.missing {
                            Missing::Keep => {
                                not_found += 1;
                                join.table.miss(format)
                            }
                            // Each missing key is counted once: not_found when the record is
                            // written with null fields, else as what became of it.
                            Missing::Drop => {
                                dropped += 1;
                                continue;
                            }
                            Missing::Reject => {
                                out.reject(block, rec.line_no, "not_found", rec.text)?;
                                continue;
                            }
                        },
                    };
                    kept += 1;
                    appender.begin(rec, &mut out.data).end_with(suffix);
                }
            }
            anyhow::Ok(())
        })();
        out.tally("records_out", kept);
        out.tally("found", found);
        out.tally("not_found", not_found);
        out.tally("filtered_missing", dropped);
        result.and(written)
    }
}
