//! CSV rows per RFC 4180: fields quoted only where needed, quotes doubled, `\n` row ends.
//!
//! A field is quoted when it holds the delimiter, a quote, CR or LF, or when its text equals
//! the null marker (`--null`, empty by default). That last rule keeps null and the empty
//! string apart, as PostgreSQL's CSV COPY does: null is an unquoted empty field, the empty
//! string is `""`.

use onebox::bytescan::{copy_until, Stops};
use onebox::record::Value;

/// How fields are written.
#[derive(Clone, Debug)]
pub struct CsvStyle {
    pub delimiter: u8,
    /// Text written, unquoted, for a null or missing value.
    pub null: Vec<u8>,
}

impl CsvStyle {
    /// Whether `text` must be quoted.
    #[inline]
    fn needs_quotes(&self, text: &[u8]) -> bool {
        text == self.null.as_slice()
            || text
                .iter()
                .any(|&c| c == self.delimiter || c == b'"' || c == b'\n' || c == b'\r')
    }

    /// Appends `text` when it can go as it is: ASCII, no byte that needs quoting, no `\` (a
    /// TSV escape), not the null marker. It is copied while it is scanned, so the usual value
    /// costs one pass. Otherwise `out` is left as it was and the answer is false.
    #[inline]
    fn copy_plain(&self, text: &[u8], out: &mut Vec<u8>) -> bool {
        // Control bytes take in CR and LF (and TAB, which then takes the slower path).
        let stops = Stops::new(&[self.delimiter, b'"', b'\\'])
            .control()
            .non_ascii();
        let len = out.len();
        if copy_until(text, 0, &stops, out) == text.len() && text != self.null.as_slice() {
            return true;
        }
        out.truncate(len);
        false
    }

    /// Appends one non-null field. Returns false when `text` is not UTF-8 (possible in TSV
    /// input): its bad bytes are written as U+FFFD, so the CSV stays loadable as UTF-8.
    pub fn text(&self, text: &[u8], out: &mut Vec<u8>) -> bool {
        if self.copy_plain(text, out) {
            return true;
        }
        let repaired;
        let (text, valid) = if !text.is_ascii() && std::str::from_utf8(text).is_err() {
            repaired = String::from_utf8_lossy(text);
            (repaired.as_bytes(), false)
        } else {
            (text, true)
        };
        if !self.needs_quotes(text) {
            out.extend_from_slice(text);
            return valid;
        }
        out.push(b'"');
        let mut start = 0;
        for i in memchr::memchr_iter(b'"', text) {
            out.extend_from_slice(&text[start..=i]);
            out.push(b'"');
            start = i + 1;
        }
        out.extend_from_slice(&text[start..]);
        out.push(b'"');
        valid
    }

    /// Appends one field for a record value: null and missing become the null marker; strings
    /// decoded, numbers and booleans as written, objects and arrays as compact JSON. Returns
    /// false when the text was not UTF-8 (see [`CsvStyle::text`]).
    pub fn value(&self, value: &Value<'_>, scratch: &mut Vec<u8>, out: &mut Vec<u8>) -> bool {
        if value.is_null() {
            out.extend_from_slice(&self.null);
            return true;
        }
        // A plain TSV cell is copied in the same pass that finds it has no escape.
        if let Value::Tsv(cell) = value {
            if self.copy_plain(cell, out) {
                return true;
            }
        }
        match value.as_plain() {
            Some(text) => self.text(text, out),
            None => {
                scratch.clear();
                value.write_text(scratch);
                self.text(scratch, out)
            }
        }
    }

    /// The header row for `names`.
    pub fn header<S: AsRef<[u8]>>(&self, names: &[S]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                out.push(self.delimiter);
            }
            self.text(name.as_ref(), &mut out);
        }
        out.push(b'\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(style: &CsvStyle, text: &str) -> String {
        let mut out = Vec::new();
        style.text(text.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn quotes_only_where_needed() {
        let style = CsvStyle {
            delimiter: b',',
            null: Vec::new(),
        };
        assert_eq!(field(&style, "plain"), "plain");
        assert_eq!(field(&style, "a,b"), "\"a,b\"");
        assert_eq!(field(&style, "say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field(&style, "two\nlines"), "\"two\nlines\"");
        assert_eq!(field(&style, "cr\r"), "\"cr\r\"");
        assert_eq!(field(&style, "tab\there"), "tab\there");
        assert_eq!(field(&style, ""), "\"\"", "empty string differs from null");
        let tsvish = CsvStyle {
            delimiter: b'\t',
            null: b"\\N".to_vec(),
        };
        assert_eq!(field(&tsvish, "tab\there"), "\"tab\there\"");
        assert_eq!(field(&tsvish, "a,b"), "a,b");
        assert_eq!(field(&tsvish, ""), "");
        assert_eq!(field(&tsvish, "\\N"), "\"\\N\"");
    }

    #[test]
    fn text_that_is_not_utf8_is_repaired_and_reported() {
        let style = CsvStyle {
            delimiter: b',',
            null: Vec::new(),
        };
        let mut out = Vec::new();
        assert!(style.text("a long plain prefix, é€ and \"q\"".as_bytes(), &mut out));
        assert_eq!(out, "\"a long plain prefix, é€ and \"\"q\"\"\"".as_bytes());
        out.clear();
        assert!(!style.text(b"a long plain prefix then \xff and \xe2\x82", &mut out));
        assert_eq!(
            out,
            "a long plain prefix then \u{fffd} and \u{fffd}".as_bytes()
        );
        out.clear();
        assert!(!style.text(b"python\xffrequests,2", &mut out));
        assert_eq!(out, "\"python\u{fffd}requests,2\"".as_bytes());
    }

    #[test]
    fn header_row() {
        let style = CsvStyle {
            delimiter: b',',
            null: Vec::new(),
        };
        assert_eq!(style.header(&["a", "b,c"]), b"a,\"b,c\"\n");
    }
}
