//! The counting worker: one per thread, each with its own [`Table`], merged at the end.

use onebox::counters::Counter;
use onebox::par::{BlockRef, Out, Worker};
use onebox::record::{self, FieldReader, Format, Value};

use crate::sum::Sum;
use crate::table::Table;

/// Counts the records of the blocks it is given.
pub struct CountWorker {
    pub table: Table,
    reader: FieldReader,
    nfields: usize,
    forced: Option<Format>,
    key: Vec<u8>,
    text: Vec<u8>,
    sums: Vec<Option<Sum>>,
    missing: Vec<u64>,
    not_numeric: Vec<u64>,
    missing_counters: Vec<Counter>,
    not_numeric_counters: Vec<Counter>,
}

/// What a worker needs to know, shared by all of them.
pub struct CountSpec {
    pub fields: Vec<String>,
    pub sums: Vec<String>,
    pub forced: Option<Format>,
    pub table_limit: usize,
    pub missing_counters: Vec<Counter>,
    pub not_numeric_counters: Vec<Counter>,
}

impl CountWorker {
    pub fn new(spec: &CountSpec) -> anyhow::Result<CountWorker> {
        let names: Vec<&String> = spec.fields.iter().chain(&spec.sums).collect();
        let reader = FieldReader::new(&names).map_err(onebox::cli::usage)?;
        Ok(CountWorker {
            table: Table::new(spec.sums.len(), spec.table_limit),
            reader,
            nfields: spec.fields.len(),
            forced: spec.forced,
            key: Vec::with_capacity(256),
            text: Vec::new(),
            sums: vec![None; spec.sums.len()],
            missing: vec![0; spec.fields.len()],
            not_numeric: vec![0; spec.sums.len()],
            missing_counters: spec.missing_counters.clone(),
            not_numeric_counters: spec.not_numeric_counters.clone(),
        })
    }
}

impl Worker for CountWorker {
    fn process(&mut self, block: &BlockRef<'_>, out: &mut Out) -> anyhow::Result<()> {
        let mut values: Vec<Value<'_>> = Vec::with_capacity(self.reader.names().len());
        let mut counted = 0u64;
        let result = record::records(block, self.forced, out, |rec, out| {
            if let Err(reason) = self.reader.read(&rec, &mut values) {
                return out.reject(block, rec.line_no, reason, rec.text);
            }
            self.key.clear();
            for (i, v) in values[..self.nfields].iter().enumerate() {
                if i > 0 {
                    self.key.push(b'\t');
                }
                if matches!(v, Value::Missing) {
                    self.missing[i] += 1;
                    continue;
                }
                match v.as_plain() {
                    Some(text) => onebox::tsv::escape_into(text, &mut self.key),
                    None => {
                        self.text.clear();
                        v.write_text(&mut self.text);
                        onebox::tsv::escape_into(&self.text, &mut self.key);
                    }
                }
            }
            for (j, v) in values[self.nfields..].iter().enumerate() {
                self.sums[j] = if v.is_null() {
                    None
                } else {
                    self.text.clear();
                    v.write_text(&mut self.text);
                    let parsed = Sum::parse(&self.text);
                    self.not_numeric[j] += u64::from(parsed.is_none());
                    parsed
                };
            }
            counted += 1;
            self.table.add_one(&self.key, &self.sums)
        });
        out.tally("records_counted", counted);
        for (c, n) in self.missing_counters.iter().zip(&mut self.missing) {
            c.add(std::mem::take(n));
        }
        for (c, n) in self.not_numeric_counters.iter().zip(&mut self.not_numeric) {
            c.add(std::mem::take(n));
        }
        result
    }
}
