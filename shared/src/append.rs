//! Writing a record again with extra fields at its end: the output side of enrichment tools
//! (geoip-enrich, kv-join), which pass every record through and add a few fields.
//!
//! * NDJSON in, NDJSON out: the record's bytes are copied as they are and the new members are
//!   spliced in before its closing `}` (no re-serialisation; `{}` gets no leading comma).
//! * TSV in, TSV out: the new cells are appended to the row, and the header line becomes the
//!   input header plus the new column names.
//! * TSV in, NDJSON out (`-o ndjson`): each cell becomes a string member (an empty cell null).
//! * NDJSON in, TSV out is refused: a JSON record has no fixed set of columns.
//!
//! **TSV headers with several sources.** Each TSV source starts with its own header line, but
//! the output must carry one header at the top. A worker cannot know what earlier sources
//! wrote, so it puts the extended header at the start of its block's output behind a marker
//! ([`Appender::header`]); the [`HeaderOnce`] sink, which sees the output in order, drops a
//! header equal to the one already written and strips the marker.

use std::io::{self, Write};

use crate::chunk::Header;
use crate::json;
use crate::par::BlockRef;
use crate::record::{FieldReader, Format, Layout, Record, Value};
use crate::tsv;

/// Marks the start of a header line in a worker's output (see the module docs): NUL, 0xFF,
/// 16 hex digits drawn at random once per process, NUL. A TSV row is passed through as it is
/// and may hold any bytes, but not, short of a one in 2^64 chance, the ones of this run.
fn header_mark() -> &'static [u8] {
    static MARK: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    MARK.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        // std seeds every RandomState from the operating system's random source.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        let mut mark = vec![0x00, 0xFF];
        mark.extend_from_slice(format!("{:016x}", h.finish()).as_bytes());
        mark.push(0x00);
        mark
    })
}

/// Writes records with appended fields; one per run, shared by the workers.
#[derive(Debug, Clone)]
pub struct Appender {
    names: Vec<String>,
    /// `"name":` for each new field, JSON-escaped.
    json_keys: Vec<Vec<u8>>,
    forced: Option<Format>,
}

impl Appender {
    /// `names` are the new fields in order; `output` forces the output format (`-o`).
    pub fn new<S: AsRef<str>>(names: &[S], output: Option<Format>) -> Appender {
        let names: Vec<String> = names.iter().map(|s| s.as_ref().to_string()).collect();
        let json_keys = names
            .iter()
            .map(|n| {
                let mut k = Vec::new();
                json::write_string(n.as_bytes(), &mut k);
                k.push(b':');
                k
            })
            .collect();
        Appender {
            names,
            json_keys,
            forced: output,
        }
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The output format for records laid out as `layout`.
    pub fn format(&self, layout: Layout<'_>) -> Format {
        self.forced.unwrap_or(layout.format())
    }

    /// Checks that records laid out as `layout` can be written; the error is a one-line
    /// message for the user. A TSV header that already has a column of a new field's name is
    /// refused: the output would name it twice.
    pub fn check(&self, layout: Layout<'_>) -> anyhow::Result<()> {
        if layout.format() == Format::Ndjson && self.format(layout) == Format::Tsv {
            anyhow::bail!(
                "cannot write NDJSON records as TSV (-o tsv): a JSON record has no fixed columns"
            );
        }
        if let Layout::Tsv(header) = layout {
            let mut cell = Vec::new();
            for column in tsv::cells(&header.text) {
                cell.clear();
                tsv::unescape_into(column, &mut cell);
                if let Some(name) = self.names.iter().find(|n| n.as_bytes() == cell) {
                    anyhow::bail!(
                        "the input's TSV header already has a column '{name}', a field this run \
                         adds; give the new fields other names (--prefix)"
                    );
                }
            }
        }
        Ok(())
    }

    /// The paths a worker's [`FieldReader`] reads: `wanted`, then each new field as a
    /// top-level member, so that [`Appender::holds_new_field`] can tell a record that already
    /// has one (writing it again would give the record a key twice).
    pub fn reader(&self, wanted: &[String]) -> Result<FieldReader, String> {
        let mut paths = wanted.to_vec();
        // A quoted path segment is a top-level member even when the name holds dots. A name
        // with a quote cannot be quoted; it goes unchecked.
        paths.extend(
            self.names
                .iter()
                .filter(|n| !n.contains('"'))
                .map(|n| format!("\"{n}\"")),
        );
        FieldReader::new(&paths)
    }

    /// The new field named like the top-level member that `path` (a field the tool reads)
    /// starts in, if any: every record holding that field would be refused, so tools make it a
    /// usage error.
    pub fn name_over(&self, path: &str) -> Option<&str> {
        let first = crate::json::split_path(path).ok()?.into_iter().next()?;
        self.names.iter().find(|n| **n == first).map(String::as_str)
    }

    /// Whether a record read by [`Appender::reader`] (`values`, of which the first `wanted`
    /// are the worker's own) already has a member named like a new field.
    pub fn holds_new_field(&self, values: &[Value<'_>], wanted: usize) -> bool {
        values[wanted..]
            .iter()
            .any(|v| !matches!(v, Value::Missing))
    }

    /// When `block` holds its source's TSV header line and the output is TSV, writes the
    /// extended header (marked for [`HeaderOnce`]). Call it first, on the empty `out`: only
    /// blank and comment lines, which write nothing, come before a header.
    pub fn header(&self, block: &BlockRef<'_>, layout: Option<Layout<'_>>, out: &mut Vec<u8>) {
        let (Some(Layout::Tsv(h)), Some(header)) = (layout, block.header) else {
            return;
        };
        if self.format(Layout::Tsv(h)) != Format::Tsv || !holds_line(block, header) {
            return;
        }
        out.extend_from_slice(header_mark());
        out.extend_from_slice(&header.text);
        for name in &self.names {
            out.push(b'\t');
            tsv::escape_into(name.as_bytes(), out);
        }
        out.push(b'\n');
    }

    /// Renders all new fields (values already encoded for `format`, `None` for null) as one
    /// suffix for [`Appending::end_with`]: for values reused by many records.
    pub fn suffix(&self, format: Format, values: &[Option<&[u8]>]) -> Vec<u8> {
        let mut out = Vec::new();
        self.suffix_into(format, values.iter().copied(), &mut out);
        out
    }

    /// [`Appender::suffix`], appended to `out` (no allocation when `out` has room).
    pub fn suffix_into<'v>(
        &self,
        format: Format,
        values: impl IntoIterator<Item = Option<&'v [u8]>>,
        out: &mut Vec<u8>,
    ) {
        for (key, value) in self.json_keys.iter().zip(values) {
            match format {
                Format::Ndjson => {
                    out.push(b',');
                    out.extend_from_slice(key);
                    out.extend_from_slice(value.unwrap_or(b"null"));
                }
                Format::Tsv => {
                    out.push(b'\t');
                    out.extend_from_slice(value.unwrap_or(b""));
                }
            }
        }
    }

    /// Starts writing `record` into `out`: its own fields now, the new ones through the
    /// returned [`Appending`]. `record` must be valid for its format (read it with a
    /// [`crate::record::FieldReader`] first), and [`Appender::check`] must have passed.
    pub fn begin<'o>(&'o self, record: &Record<'_>, out: &'o mut Vec<u8>) -> Appending<'o> {
        let format = self.format(record.layout);
        let mut empty_object = false;
        match (record.layout, format) {
            (Layout::Ndjson, _) => {
                let body = json_body(record.text);
                empty_object = body.last() == Some(&b'{');
                out.extend_from_slice(body);
            }
            (Layout::Tsv(_), Format::Tsv) => out.extend_from_slice(record.text),
            (Layout::Tsv(header), Format::Ndjson) => {
                empty_object = !tsv_as_json(&header.text, record.text, out);
            }
        }
        Appending {
            appender: self,
            out,
            format,
            next: 0,
            first: empty_object,
        }
    }
}

/// The new fields of one record, written in order; [`Appending::end`] finishes the line.
pub struct Appending<'o> {
    appender: &'o Appender,
    out: &'o mut Vec<u8>,
    format: Format,
    next: usize,
    /// No member written yet (the record was `{}`): no comma before the next one.
    first: bool,
}

impl Appending<'_> {
    /// The output format, which tells how values must be encoded for [`Appending::encoded`].
    pub fn format(&self) -> Format {
        self.format
    }

    fn start(&mut self) {
        match self.format {
            Format::Ndjson => {
                if !self.first {
                    self.out.push(b',');
                }
                self.out
                    .extend_from_slice(&self.appender.json_keys[self.next]);
            }
            Format::Tsv => self.out.push(b'\t'),
        }
        self.first = false;
        self.next += 1;
    }

    /// The next field, already encoded for the output format (JSON text, or an escaped TSV
    /// cell).
    pub fn encoded(&mut self, value: &[u8]) -> &mut Self {
        self.start();
        self.out.extend_from_slice(value);
        self
    }

    /// The next field as null (an empty TSV cell).
    pub fn null(&mut self) -> &mut Self {
        self.start();
        if self.format == Format::Ndjson {
            self.out.extend_from_slice(b"null");
        }
        self
    }

    /// The next field as a string.
    pub fn str(&mut self, value: &[u8]) -> &mut Self {
        self.start();
        match self.format {
            Format::Ndjson => json::write_string(value, self.out),
            Format::Tsv => tsv::escape_into(value, self.out),
        }
        self
    }

    /// Writes every new field at once from a suffix made by [`Appender::suffix`] for this
    /// output format, and ends the record. Call it before any other field.
    pub fn end_with(self, suffix: &[u8]) {
        debug_assert_eq!(self.next, 0);
        let skip = usize::from(self.first && self.format == Format::Ndjson && !suffix.is_empty());
        self.out.extend_from_slice(&suffix[skip..]);
        if self.format == Format::Ndjson {
            self.out.push(b'}');
        }
        self.out.push(b'\n');
    }

    /// Ends the record; fields not given are written as null.
    pub fn end(mut self) {
        while self.next < self.appender.names.len() {
            self.null();
        }
        if self.format == Format::Ndjson {
            self.out.push(b'}');
        }
        self.out.push(b'\n');
    }
}

/// Encodes a string for the output format (for values rendered once and reused).
pub fn encode_str(value: &[u8], format: Format, out: &mut Vec<u8>) {
    match format {
        Format::Ndjson => json::write_string(value, out),
        Format::Tsv => tsv::escape_into(value, out),
    }
}

/// An NDJSON record without its closing `}` and any whitespace around it.
fn json_body(text: &[u8]) -> &[u8] {
    let mut end = text.len();
    while end > 0 && matches!(text[end - 1], b' ' | b'\t' | b'\r' | b'\n') {
        end -= 1;
    }
    // A validated record ends with `}`.
    if end > 0 && text[end - 1] == b'}' {
        end -= 1;
    }
    while end > 0 && matches!(text[end - 1], b' ' | b'\t' | b'\r' | b'\n') {
        end -= 1;
    }
    &text[..end]
}

/// Writes a TSV row as the start of a JSON object (no closing `}`); returns whether any member
/// was written.
fn tsv_as_json(header: &[u8], row: &[u8], out: &mut Vec<u8>) -> bool {
    out.push(b'{');
    let mut text = Vec::new();
    let mut any = false;
    for (name, cell) in tsv::cells(header).zip(tsv::cells(row)) {
        if any {
            out.push(b',');
        }
        any = true;
        text.clear();
        tsv::unescape_into(name, &mut text);
        json::write_string(&text, out);
        out.push(b':');
        if cell.is_empty() {
            out.extend_from_slice(b"null");
        } else {
            text.clear();
            tsv::unescape_into(cell, &mut text);
            json::write_string(&text, out);
        }
    }
    any
}

/// Whether `header`'s line lies inside `block`.
fn holds_line(block: &BlockRef<'_>, header: &Header) -> bool {
    if header.line < block.first_line {
        return false;
    }
    // Counting lines is cheap next to processing them, and only the first block of a
    // source can hold its header.
    let lines = memchr::memchr_iter(b'\n', block.data).count() as u64
        + u64::from(block.data.last().is_some_and(|&c| c != b'\n'));
    header.line < block.first_line + lines
}

/// An output sink that writes each distinct TSV header once: a marked header equal to the
/// last one written is dropped, a different one is written where it occurs (and noted on
/// stderr, since the output then holds two tables).
pub struct HeaderOnce<W: Write> {
    inner: W,
    last: Option<Vec<u8>>,
}

impl<W: Write> HeaderOnce<W> {
    pub fn new(inner: W) -> Self {
        HeaderOnce { inner, last: None }
    }

    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for HeaderOnce<W> {
    /// Takes the whole buffer: the pipeline writes each block's output in one call, so a
    /// marker is always at the start of a call.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let Some(rest) = buf.strip_prefix(header_mark()) else {
            return self.inner.write_all(buf);
        };
        let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
        let (header, body) = rest.split_at(end);
        if self.last.as_deref() != Some(header) {
            if self.last.is_some() {
                crate::cli::note("warning: TSV inputs have different headers; writing the new header where it starts");
            }
            self.inner.write_all(header)?;
            self.last = Some(header.to_vec());
        }
        self.inner.write_all(body)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::layout;

    fn hdr(text: &str) -> Header {
        Header {
            line: 1,
            text: text.as_bytes().to_vec(),
        }
    }

    fn write(appender: &Appender, header: &Header, line: &str, values: &[Option<&str>]) -> String {
        let rec = Record {
            line_no: 2,
            text: line.as_bytes(),
            layout: layout(None, header),
        };
        let mut out = Vec::new();
        let mut a = appender.begin(&rec, &mut out);
        for v in values {
            match v {
                Some(s) => a.str(s.as_bytes()),
                None => a.null(),
            };
        }
        a.end();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn records_and_headers_that_already_have_a_new_field_are_found() {
        let a = Appender::new(&["g.x", "y"], None);
        let mut reader = a.reader(&["ip".to_string()]).unwrap();
        let h = hdr("{}");
        let mut values = Vec::new();
        for (line, holds) in [
            (r#"{"ip":"1","g":{"x":1}}"#, false),
            (r#"{"ip":"1","g.x":1}"#, true),
            (r#"{"y":null}"#, true),
            (r#"{"ip":{"y":1}}"#, false),
        ] {
            let rec = Record {
                line_no: 1,
                text: line.as_bytes(),
                layout: layout(None, &h),
            };
            reader.read(&rec, &mut values).unwrap();
            assert_eq!(a.holds_new_field(&values, 1), holds, "{line}");
        }
        assert!(a.check(layout(None, &hdr("ip\\ty\tz"))).is_ok());
        assert!(a.check(layout(None, &hdr("ip\ty\tz"))).is_err());
        assert_eq!(a.name_over("y.z"), Some("y"));
        assert_eq!(a.name_over("\"g.x\""), Some("g.x"));
        assert_eq!(a.name_over("g.x"), None);
    }

    #[test]
    fn ndjson_members_are_spliced_before_the_closing_brace() {
        let a = Appender::new(&["g_x", "g_y"], None);
        let h = hdr("{}");
        assert_eq!(
            write(&a, &h, r#"{"a":1} "#, &[Some("v"), None]),
            "{\"a\":1,\"g_x\":\"v\",\"g_y\":null}\n"
        );
        assert_eq!(
            write(&a, &h, "{ }", &[Some("v")]),
            "{\"g_x\":\"v\",\"g_y\":null}\n"
        );
        assert_eq!(
            write(&a, &h, r#"{"a":{"b":[]} }"#, &[None, None]),
            "{\"a\":{\"b\":[]},\"g_x\":null,\"g_y\":null}\n"
        );
    }

    #[test]
    fn suffixes_fit_empty_and_full_objects() {
        let a = Appender::new(&["k", "v"], None);
        let suffix = a.suffix(Format::Ndjson, &[Some(b"1"), None]);
        let h = hdr("{}");
        for (line, want) in [
            ("{}", "{\"k\":1,\"v\":null}\n"),
            ("{\"a\":0}", "{\"a\":0,\"k\":1,\"v\":null}\n"),
        ] {
            let rec = Record {
                line_no: 1,
                text: line.as_bytes(),
                layout: layout(None, &h),
            };
            let mut out = Vec::new();
            a.begin(&rec, &mut out).end_with(&suffix);
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
        assert_eq!(a.suffix(Format::Tsv, &[Some(b"x"), None]), b"\tx\t");
    }

    #[test]
    fn tsv_cells_are_appended_and_can_become_json() {
        let h = hdr("a\tb");
        let a = Appender::new(&["n"], None);
        assert_eq!(write(&a, &h, "1\t", &[Some("x\ty")]), "1\t\tx\\ty\n");
        let a = Appender::new(&["n"], Some(Format::Ndjson));
        assert_eq!(
            write(&a, &h, "1\\t2\t", &[None]),
            "{\"a\":\"1\\t2\",\"b\":null,\"n\":null}\n"
        );
        assert!(Appender::new(&["n"], Some(Format::Tsv))
            .check(Layout::Ndjson)
            .is_err());
    }

    #[test]
    fn header_once_keeps_the_first_of_equal_headers() {
        let mut sink = HeaderOnce::new(Vec::new());
        for part in [&b"x\ty\n1\t2\n"[..], b"x\ty\n3\t4\n"] {
            let mut buf = header_mark().to_vec();
            buf.extend_from_slice(part);
            sink.write_all(&buf).unwrap();
        }
        sink.write_all(b"5\t6\n").unwrap();
        // A row holding the bytes of the mark of another run is a row like any other.
        sink.write_all(b"\x00\xffonebox-header\x00x\t1\n").unwrap();
        assert_eq!(
            sink.into_inner(),
            b"x\ty\n1\t2\n3\t4\n5\t6\n\x00\xffonebox-header\x00x\t1\n"
        );
    }
}
