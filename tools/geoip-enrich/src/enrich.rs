//! The per-record work: find the address, look it up in every database, append the fields.
//!
//! Many addresses share a database record (every address of a network does), so the rendered
//! output of each field is memoised per worker, keyed by the records' data offsets in all the
//! databases (`--cache N` entries; the memo is cleared when full, which bounds memory).
//! In front of it, [`AddressMemo`] keeps where each recent address text led (invalid, or the
//! offsets): clients repeat, so most records skip the address parse and the tree walks too,
//! and cost two hash probes and a few copies.

use std::net::IpAddr;
use std::sync::Arc;

use hashbrown::HashMap;
use onebox::append::Appender;
use onebox::par::{BlockRef, Out, Worker};
use onebox::record::{self, FieldReader, Format};

use crate::addresses::{AddressMemo, INVALID, SLOTS};
use crate::db::Db;
use crate::fields::Field;
use crate::ip::{self, Pick};
use crate::value::Any;

/// What every worker shares: the databases and the settings.
pub struct Enricher {
    pub dbs: Vec<Db>,
    pub fields: Vec<Field>,
    pub ip_field: String,
    pub pick: Pick,
    pub reject_invalid: bool,
    pub cache: usize,
    pub input_format: Option<Format>,
    pub appender: Appender,
}

/// The new fields for one combination of database records, rendered once for each output
/// format as a suffix ([`Appender::suffix`]).
#[derive(Debug, Default)]
struct Rendered {
    json: Box<[u8]>,
    tsv: Box<[u8]>,
}

impl Enricher {
    /// Renders every field for `ip` (whose records are at `offsets`).
    fn render(&self, ip: IpAddr, offsets: &[usize]) -> anyhow::Result<Rendered> {
        let (mut json, mut tsv) = (Vec::new(), Vec::new());
        for field in &self.fields {
            let (mut j, mut t) = (Vec::new(), Vec::new());
            let ok = match self.field_value(ip, offsets, field)? {
                Some(v) => v.write_json(&mut j) && v.write_tsv(&mut t),
                None => false,
            };
            json.push(ok.then_some(j));
            tsv.push(ok.then_some(t));
        }
        fn refs(v: &[Option<Vec<u8>>]) -> Vec<Option<&[u8]>> {
            v.iter().map(|x| x.as_deref()).collect()
        }
        Ok(Rendered {
            json: self.appender.suffix(Format::Ndjson, &refs(&json)).into(),
            tsv: self.appender.suffix(Format::Tsv, &refs(&tsv)).into(),
        })
    }

    /// The field's value from the first database (in `--db` order) whose record holds it.
    fn field_value<'d>(
        &'d self,
        ip: IpAddr,
        offsets: &[usize],
        field: &Field,
    ) -> anyhow::Result<Option<Any<'d>>> {
        let paths = field.elements();
        for (db, &offset) in self.dbs.iter().zip(offsets) {
            if offset == NONE {
                continue;
            }
            let found = db.reader.lookup(ip).map_err(|e| corrupt(db, &e))?;
            for path in &paths {
                match found.decode_path::<Any<'d>>(path) {
                    Ok(Some(v)) => return Ok(Some(v)),
                    Ok(None) => {}
                    Err(e) if does_not_fit(&e) => {}
                    Err(e) => anyhow::bail!(
                        "--db {}: cannot read '{}' ({e})",
                        db.path.display(),
                        field.name
                    ),
                }
            }
        }
        Ok(None)
    }
}

/// Whether a path failed only because the record has another shape there (a key into an
/// array or a scalar, an index into a map): that is a missing value, like a missing key, not a
/// broken database. maxminddb reports such a mismatch as `Decoding`; structural damage is
/// `InvalidDatabase`, and runaway data a `ResourceLimit`, which stay errors.
fn does_not_fit(e: &maxminddb::MaxMindDbError) -> bool {
    matches!(e, maxminddb::MaxMindDbError::Decoding { .. })
}

fn corrupt(db: &Db, e: &maxminddb::MaxMindDbError) -> anyhow::Error {
    anyhow::anyhow!("--db {}: corrupt MaxMind DB ({e})", db.path.display())
}

/// Offset slot of a database without a record for the address.
const NONE: usize = usize::MAX;

impl Enricher {
    /// Parses `text` as an address and sets `offsets` to its record's offset in each database,
    /// or to [`INVALID`] when it is not an address.
    fn locate(&self, text: &[u8], offsets: &mut Vec<usize>) -> anyhow::Result<()> {
        offsets.clear();
        let Some(ip) = ip::parse(text, self.pick) else {
            offsets.resize(self.dbs.len(), INVALID);
            return Ok(());
        };
        for db in &self.dbs {
            offsets.push(db.offset(ip)?.unwrap_or(NONE));
        }
        Ok(())
    }
}

/// A worker: the shared settings plus its own memo.
pub struct EnrichWorker {
    e: Arc<Enricher>,
    reader: FieldReader,
    text: Vec<u8>,
    /// The current record's offset in each database.
    offsets: Vec<usize>,
    addresses: AddressMemo,
    /// Database offsets -> the rendered fields.
    memo: HashMap<Box<[usize]>, Rendered>,
}

impl EnrichWorker {
    pub fn new(e: Arc<Enricher>) -> anyhow::Result<Self> {
        let reader = e
            .appender
            .reader(std::slice::from_ref(&e.ip_field))
            .map_err(|msg| onebox::cli::usage(format!("--ip-field: {msg}")))?;
        Ok(EnrichWorker {
            offsets: Vec::with_capacity(e.dbs.len()),
            addresses: AddressMemo::new(e.cache.min(SLOTS), e.dbs.len()),
            e,
            reader,
            text: Vec::new(),
            memo: HashMap::new(),
        })
    }
}

/// Per-block counts, published once per block.
#[derive(Default)]
struct Tally {
    out: u64,
    found: u64,
    not_found: u64,
    invalid: u64,
}

impl Worker for EnrichWorker {
    fn process(&mut self, block: &BlockRef<'_>, out: &mut Out) -> anyhow::Result<()> {
        let e = Arc::clone(&self.e);
        let layout = block.header.map(|h| record::layout(e.input_format, h));
        if let Some(l) = layout {
            e.appender.check(l)?;
        }
        e.appender.header(block, layout, &mut out.data);
        let mut t = Tally::default();
        // Borrows from this block: one small allocation per block.
        let mut values = Vec::with_capacity(1);
        let result = record::records(block, e.input_format, out, |rec, out| {
            if let Err(reason) = self.reader.read(&rec, &mut values) {
                return out.reject(block, rec.line_no, reason, rec.text);
            }
            if e.appender.holds_new_field(&values, 1) {
                return out.reject(block, rec.line_no, "field_exists", rec.text);
            }
            let v = values[0];
            let text = match v.as_plain() {
                Some(plain) => plain,
                None => {
                    self.text.clear();
                    v.write_text(&mut self.text);
                    &self.text
                }
            };
            if !self.addresses.recall(text, &mut self.offsets) {
                e.locate(text, &mut self.offsets)?;
                self.addresses.remember(text, &self.offsets);
            }
            let offsets = &self.offsets;
            if offsets.first() == Some(&INVALID) {
                if e.reject_invalid {
                    return out.reject(block, rec.line_no, "invalid_ip", rec.text);
                }
                t.invalid += 1;
                t.out += 1;
                e.appender.begin(&rec, &mut out.data).end();
                return Ok(());
            }
            t.out += 1;
            let a = e.appender.begin(&rec, &mut out.data);
            if offsets.iter().all(|&o| o == NONE) {
                t.not_found += 1;
                a.end();
                return Ok(());
            }
            t.found += 1;
            let fresh;
            let rendered = match self.memo.get(&offsets[..]) {
                Some(r) => r,
                None => {
                    let ip = ip::parse(text, e.pick).expect("an address that was located");
                    let r = e.render(ip, offsets)?;
                    if e.cache == 0 {
                        fresh = r;
                        &fresh
                    } else {
                        if self.memo.len() >= e.cache {
                            self.memo.clear();
                        }
                        self.memo.entry(offsets.as_slice().into()).or_insert(r)
                    }
                }
            };
            let suffix = match a.format() {
                Format::Ndjson => &rendered.json,
                Format::Tsv => &rendered.tsv,
            };
            a.end_with(suffix);
            Ok(())
        });
        out.tally("records_out", t.out);
        out.tally("ip_found", t.found);
        out.tally("not_found", t.not_found);
        out.tally("invalid_ip", t.invalid);
        result
    }
}
