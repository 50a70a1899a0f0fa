//! CSV rows per RFC 4180: fields quoted only where needed, quotes doubled, `\n` row ends.
//!
//! A field is quoted when it holds the delimiter, a quote, CR or LF, or when its text equals
//! the null marker (`--null`, empty by default). That last rule keeps null and the empty
//! string apart, as PostgreSQL's CSV COPY does: null is an unquoted empty field, the empty
//! string is `""`.

use std::ops::Range;

use onebox::bytescan::{copy_until, find_stop, padded_window, Stops};
use onebox::record::Value;

/// What [`CsvStyle::tsv_row`] learnt about a line.
#[derive(Debug, PartialEq, Eq)]
pub struct TsvRow {
    /// The line's cell count.
    pub cells: usize,
    /// Where the cell asked for lies in the line (empty if none was asked for, or the line
    /// has fewer cells).
    pub picked: Range<usize>,
    /// How many cells had bytes that are not UTF-8 (written as U+FFFD).
    pub repaired: u64,
}

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
        let quoted = Stops::new(&[self.delimiter, b'"', b'\n', b'\r']);
        text == self.null.as_slice() || find_stop(text, 0, &quoted) < text.len()
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
        self.copy_plain(text, out) || self.text_not_plain(text, out)
    }

    /// [`CsvStyle::text`] for text that [`CsvStyle::copy_plain`] turned down.
    fn text_not_plain(&self, text: &[u8], out: &mut Vec<u8>) -> bool {
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

    /// Whether [`CsvStyle::tsv_row`] may be used: a TSV null (an empty cell) is then written
    /// as it stands, an empty field, and the TAB is not the delimiter.
    pub fn converts_tsv_rows(&self) -> bool {
        self.null.is_empty() && self.delimiter != b'\t'
    }

    /// Appends the CSV row (without its `\n`) for a TSV line whose cells are the columns in
    /// order, and finds cell `pick` if asked (for `--by`). What [`CsvStyle::value`] would write cell by
    /// cell, in one pass: runs of plain bytes are copied 16 at a time with their TABs turned
    /// into the delimiter, and only a cell holding something else (an escape, a quote, the
    /// delimiter, a control or non-ASCII byte) goes through [`CsvStyle::value`]. Needs
    /// [`CsvStyle::converts_tsv_rows`].
    pub fn tsv_row(
        &self,
        line: &[u8],
        pick: Option<usize>,
        scratch: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> TsvRow {
        const TAB: Stops = Stops::new(b"\t");
        // Control bytes take in TAB, which is then told apart with its own mask.
        let special = Stops::new(&[self.delimiter, b'"', b'\\'])
            .control()
            .non_ascii();
        let mut row = TsvRow {
            cells: 1,
            picked: if pick == Some(0) { 0..line.len() } else { 0..0 },
            repaired: 0,
        };
        // A TAB at line position `at` ends cell `row.cells - 1`.
        let note_tab = |row: &mut TsvRow, at: usize| {
            if Some(row.cells) == pick {
                row.picked = at + 1..line.len();
            } else if Some(row.cells - 1) == pick {
                row.picked.end = at;
            }
            row.cells += 1;
        };
        // The current cell's start, in the line and in `out`.
        let (mut cell_start, mut cell_out) = (0, out.len());
        let mut pos = 0;
        while pos < line.len() {
            let (window, n) = padded_window(line, pos);
            let valid = if n == 16 { u32::MAX } else { (1 << n) - 1 };
            let tabs = TAB.mask16(&window) & valid;
            let stops = special.mask16(&window) & !tabs & valid;
            let plain = if stops == 0 {
                n
            } else {
                stops.trailing_zeros() as usize
            };
            let at = out.len();
            out.extend_from_slice(&window);
            out.truncate(at + plain);
            let mut t = tabs & ((1u32 << plain) - 1);
            while t != 0 {
                let k = t.trailing_zeros() as usize;
                t &= t - 1;
                out[at + k] = self.delimiter;
                note_tab(&mut row, pos + k);
                (cell_start, cell_out) = (pos + k + 1, at + k + 1);
            }
            if stops == 0 {
                pos += n;
                continue;
            }
            // The cell holding the stop is written anew, as a whole, the careful way.
            let stop = pos + plain;
            let end = memchr::memchr(b'\t', &line[stop..]).map_or(line.len(), |k| stop + k);
            out.truncate(cell_out);
            let cell = &line[cell_start..end];
            // Without a TSV escape the cell is its text; it has a stop, so it is not plain.
            let utf8 = if memchr::memchr(b'\\', cell).is_none() {
                self.text_not_plain(cell, out)
            } else {
                self.value(&Value::Tsv(cell), scratch, out)
            };
            if !utf8 {
                row.repaired += 1;
            }
            if end == line.len() {
                break;
            }
            out.push(self.delimiter);
            note_tab(&mut row, end);
            (cell_start, cell_out) = (end + 1, out.len());
            pos = end + 1;
        }
        if pick.is_some_and(|p| row.cells <= p) {
            row.picked = 0..0;
        }
        row
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

    /// The row `tsv_row` should write: every cell through `value`, as the general path does.
    fn cell_by_cell(style: &CsvStyle, line: &[u8]) -> (Vec<u8>, u64) {
        let (mut out, mut scratch, mut repaired) = (Vec::new(), Vec::new(), 0);
        for (i, cell) in line.split(|&c| c == b'\t').enumerate() {
            if i > 0 {
                out.push(style.delimiter);
            }
            if !style.value(&Value::Tsv(cell), &mut scratch, &mut out) {
                repaired += 1;
            }
        }
        (out, repaired)
    }

    #[test]
    fn whole_tsv_rows_match_cell_by_cell_values() {
        let style = CsvStyle {
            delimiter: b',',
            null: Vec::new(),
        };
        assert!(style.converts_tsv_rows());
        // Cells of every kind, at every offset across the 16-byte windows.
        let pieces: [&[u8]; 12] = [
            b"plain",
            b"",
            b"a,b",
            b"say \"hi\"",
            b"esc\\tape\\n",
            "caf\u{e9}".as_bytes(),
            b"bad\xff",
            b"cr\r",
            b"a much longer plain cell that spans windows",
            b"x",
            b"-",
            b"\\N",
        ];
        let mut seed = 7u64;
        let (mut scratch, mut out) = (Vec::new(), Vec::new());
        for round in 0..3000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let cells = 1 + (seed >> 33) as usize % 9;
            let mut line = Vec::new();
            for c in 0..cells {
                if c > 0 {
                    line.push(b'\t');
                }
                let k = (seed >> (3 * c + 5)) as usize % pieces.len();
                line.extend_from_slice(pieces[(k + round) % pieces.len()]);
            }
            let pick = (round % 13 != 0).then_some(round % 11);
            out.clear();
            out.extend_from_slice(b"kept");
            let got = style.tsv_row(&line, pick, &mut scratch, &mut out);
            let (want, repaired) = cell_by_cell(&style, &line);
            assert_eq!(&out[4..], &want[..], "{:?}", String::from_utf8_lossy(&line));
            assert_eq!((got.cells, got.repaired), (cells, repaired));
            let picked = pick
                .and_then(|p| line.split(|&c| c == b'\t').nth(p))
                .unwrap_or(b"");
            assert_eq!(&line[got.picked], picked);
        }
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
