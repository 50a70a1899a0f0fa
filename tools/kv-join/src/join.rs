//! The per-record work: read the key field, append the table row's fields (or nulls).

use std::sync::Arc;

use onebox::par::{BlockRef, Out, Worker};
use onebox::record::{self, FieldReader, Format};

use crate::table::Table;

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
    text: Vec<u8>,
}

impl JoinWorker {
    pub fn new(join: Arc<Join>) -> anyhow::Result<Self> {
        let reader = FieldReader::new(std::slice::from_ref(&join.key))
            .map_err(|msg| onebox::cli::usage(format!("--key: {msg}")))?;
        Ok(JoinWorker {
            join,
            reader,
            text: Vec::new(),
        })
    }
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
        let (mut kept, mut found, mut not_found, mut dropped) = (0, 0, 0, 0);
        let mut values = Vec::with_capacity(1);
        let result = record::records(block, join.input_format, out, |rec, out| {
            if let Err(reason) = self.reader.read(&rec, &mut values) {
                return out.reject(block, rec.line_no, reason, rec.text);
            }
            let v = values[0];
            let format = appender.format(rec.layout);
            let hit = if v.is_null() {
                None
            } else {
                let key = match v.as_plain() {
                    Some(plain) => plain,
                    None => {
                        self.text.clear();
                        v.write_text(&mut self.text);
                        &self.text
                    }
                };
                join.table.get(key, format)
            };
            let suffix = match hit {
                Some(s) => {
                    found += 1;
                    s
                }
                None => match join.missing {
                    Missing::Keep => {
                        not_found += 1;
                        join.table.miss(format)
                    }
                    Missing::Drop => {
                        not_found += 1;
                        dropped += 1;
                        return Ok(());
                    }
                    Missing::Reject => {
                        return out.reject(block, rec.line_no, "not_found", rec.text);
                    }
                },
            };
            kept += 1;
            appender.begin(&rec, &mut out.data).end_with(suffix);
            Ok(())
        });
        out.tally("records_out", kept);
        out.tally("found", found);
        out.tally("not_found", not_found);
        out.tally("filtered_missing", dropped);
        result
    }
}
