//! Writing the groups: CSV (default, what Excel and pivot tables open), TSV or NDJSON.

use std::io::Write;

use onebox::record::Row;

use crate::table::Agg;

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Csv,
    Tsv,
    Ndjson,
}

/// Checks that the output columns (the -f fields, `count`, a `sum_<field>` per --sum) have
/// distinct names: a repeated name is a duplicate JSON key, and `--merge` would read the wrong
/// column of it.
pub fn check_column_names(fields: &[String], sums: &[String]) -> Result<(), String> {
    let mut columns: Vec<(String, String)> = fields
        .iter()
        .map(|f| (f.clone(), format!("-f {f}")))
        .collect();
    columns.push(("count".into(), "the count column".into()));
    columns.extend(
        sums.iter()
            .map(|s| (format!("sum_{s}"), format!("--sum {s}"))),
    );
    for (i, (name, from)) in columns.iter().enumerate() {
        if let Some((_, first)) = columns[..i].iter().find(|(n, _)| n == name) {
            return Err(format!(
                "output column {name:?} would come from both {first} and {from}: \
                 each output column needs its own name"
            ));
        }
    }
    Ok(())
}

/// Writes rows in one format.
pub struct GroupWriter<W: Write> {
    format: OutputFormat,
    csv: Option<csv::Writer<W>>,
    plain: Option<W>,
    names: Vec<String>,
    nfields: usize,
    buf: Vec<u8>,
    cells: Vec<Vec<u8>>,
    text: String,
}

impl<W: Write> GroupWriter<W> {
    /// `fields` are the group columns, `sums` the summed columns' names.
    pub fn new(out: W, format: OutputFormat, fields: &[String], sums: &[String]) -> Self {
        let mut names: Vec<String> = fields.to_vec();
        names.push("count".into());
        names.extend(sums.iter().cloned());
        let (csv, plain) = match format {
            OutputFormat::Csv => (
                Some(
                    csv::WriterBuilder::new()
                        .terminator(csv::Terminator::Any(b'\n'))
                        .from_writer(out),
                ),
                None,
            ),
            _ => (None, Some(out)),
        };
        GroupWriter {
            format,
            csv,
            plain,
            nfields: fields.len(),
            names,
            buf: Vec::new(),
            cells: Vec::new(),
            text: String::new(),
        }
    }

    pub fn header(&mut self) -> anyhow::Result<()> {
        match (self.csv.as_mut(), self.plain.as_mut()) {
            (Some(csv), _) => csv.write_record(&self.names).map_err(csv_error)?,
            (None, Some(out)) if self.format == OutputFormat::Tsv => {
                self.buf.clear();
                onebox::record::write_tsv_header(&self.names, &mut self.buf);
                out.write_all(&self.buf)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Writes one group: its key (TSV-escaped values joined by TAB) and totals.
    pub fn row(&mut self, key: &[u8], agg: &Agg) -> anyhow::Result<()> {
        self.check_sums(key, agg)?;
        self.buf.clear();
        match self.format {
            OutputFormat::Tsv => {
                self.buf.extend_from_slice(key);
                self.buf.push(b'\t');
                self.buf
                    .extend_from_slice(itoa::Buffer::new().format(agg.count).as_bytes());
                for s in &agg.sums {
                    self.buf.push(b'\t');
                    self.text.clear();
                    s.write(&mut self.text);
                    self.buf.extend_from_slice(self.text.as_bytes());
                }
                self.buf.push(b'\n');
            }
            OutputFormat::Csv | OutputFormat::Ndjson => {
                self.split_key(key);
                if let Some(csv) = self.csv.as_mut() {
                    let mut record: Vec<Vec<u8>> = std::mem::take(&mut self.cells);
                    record.push(itoa::Buffer::new().format(agg.count).as_bytes().to_vec());
                    record.extend(agg.sums.iter().map(|s| s.to_text().into_bytes()));
                    csv.write_record(&record).map_err(csv_error)?;
                    record.truncate(self.nfields);
                    self.cells = record;
                    return Ok(());
                }
                let mut row = Row::begin(&mut self.buf, onebox::record::Format::Ndjson);
                for (name, cell) in self.names.iter().zip(&self.cells) {
                    row.str(name, cell);
                }
                row.u64("count", agg.count);
                for (name, s) in self.names[self.nfields + 1..].iter().zip(&agg.sums) {
                    row.json(name, s.to_text().as_bytes());
                }
                row.end();
            }
        }
        if let Some(out) = self.plain.as_mut() {
            out.write_all(&self.buf)?;
        }
        Ok(())
    }

    /// A total past the range of a double would be written as `inf` (not a number in JSON or
    /// to `--merge`) or as digits most readers cannot hold, so it stops the run instead.
    fn check_sums(&mut self, key: &[u8], agg: &Agg) -> anyhow::Result<()> {
        let names = &self.names[self.nfields + 1..];
        let Some((name, _)) = names.iter().zip(&agg.sums).find(|(_, s)| !s.fits_double()) else {
            return Ok(());
        };
        let name = name.clone();
        self.split_key(key);
        let group: Vec<String> = self
            .cells
            .iter()
            .map(|c| format!("{:?}", String::from_utf8_lossy(c)))
            .collect();
        anyhow::bail!(
            "{name} of group {} passes the largest double (about 1.8e308)",
            group.join(",")
        )
    }

    /// Splits a key into its unescaped field values (in `self.cells`).
    fn split_key(&mut self, key: &[u8]) {
        self.cells.resize(self.nfields, Vec::new());
        let mut parts = key.split(|&b| b == b'\t');
        for cell in &mut self.cells {
            cell.clear();
            onebox::tsv::unescape_into(parts.next().unwrap_or(b""), cell);
        }
    }

    /// Flushes everything written.
    pub fn finish(self) -> anyhow::Result<()> {
        if let Some(mut csv) = self.csv {
            csv.flush()?;
        }
        if let Some(mut out) = self.plain {
            out.flush()?;
        }
        Ok(())
    }
}

/// Unwraps the I/O error inside a CSV error, so a broken pipe is recognised as one.
fn csv_error(err: csv::Error) -> anyhow::Error {
    match err.into_kind() {
        csv::ErrorKind::Io(io) => io.into(),
        other => anyhow::anyhow!("writing CSV: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sum::Sum;

    fn render(format: OutputFormat) -> String {
        let mut out = Vec::new();
        {
            let mut w = GroupWriter::new(
                &mut out,
                format,
                &["a".into(), "b".into()],
                &["sum_x".into()],
            );
            w.header().unwrap();
            let agg = Agg {
                count: 3,
                sums: vec![Sum::parse(b"1.5").unwrap()],
            };
            w.row(b"x,y\\tz\t", &agg).unwrap();
            w.finish().unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn output_column_names_must_differ() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            check_column_names(&names(&["a", "b"]), &names(&["a", "c"])),
            Ok(())
        );
        let err = |f: &[&str], s: &[&str]| check_column_names(&names(f), &names(s)).unwrap_err();
        assert_eq!(
            err(&["count"], &[]),
            "output column \"count\" would come from both -f count and the count column: \
             each output column needs its own name"
        );
        assert!(err(&["a", "sum_n"], &["n"]).contains("both -f sum_n and --sum n"));
        assert!(err(&["a", "a"], &[]).contains("both -f a and -f a"));
        assert!(err(&["a"], &["n", "n"]).contains("both --sum n and --sum n"));
    }

    #[test]
    fn formats() {
        assert_eq!(
            render(OutputFormat::Csv),
            "a,b,count,sum_x\n\"x,y\tz\",,3,1.5\n"
        );
        assert_eq!(
            render(OutputFormat::Tsv),
            "a\tb\tcount\tsum_x\nx,y\\tz\t\t3\t1.5\n"
        );
        assert_eq!(
            render(OutputFormat::Ndjson),
            "{\"a\":\"x,y\\tz\",\"b\":\"\",\"count\":3,\"sum_x\":1.5}\n"
        );
    }
}
