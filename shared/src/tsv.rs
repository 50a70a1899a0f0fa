//! TSV values: the PostgreSQL-text / ClickHouse-TabSeparated escaping.
//!
//! Inside a value, TAB, newline, carriage return and backslash are written as `\t`, `\n`, `\r`
//! and `\\`, so a value never breaks a row. Reading undoes exactly these (plus `\0`); any other
//! backslash sequence is kept as written.

use crate::bytescan::{find_stop, Stops};

/// Whether `line`, past the header of a table of `columns` columns, is one of its rows. Every
/// line is (one of empty cells, one starting with `#`), but for an empty line of a table of
/// several columns: it cannot be a row of it, only a stray blank line.
#[inline]
pub fn is_row(line: &[u8], columns: usize) -> bool {
    !line.is_empty() || columns == 1
}

/// Appends `value` escaped for a TSV cell.
#[inline]
pub fn escape_into(value: &[u8], out: &mut Vec<u8>) {
    // Most values need no escaping: check with one cheap pass, then copy in one go.
    const SPECIAL: Stops = Stops::new(b"\\\t\n\r");
    if find_stop(value, 0, &SPECIAL) == value.len() {
        out.extend_from_slice(value);
        return;
    }
    let mut start = 0;
    for (i, &c) in value.iter().enumerate() {
        let esc = match c {
            b'\t' => b't',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\\' => b'\\',
            _ => continue,
        };
        out.extend_from_slice(&value[start..i]);
        out.push(b'\\');
        out.push(esc);
        start = i + 1;
    }
    out.extend_from_slice(&value[start..]);
}

/// Appends the unescaped text of a TSV cell.
pub fn unescape_into(cell: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < cell.len() {
        let Some(k) = memchr::memchr(b'\\', &cell[i..]) else {
            out.extend_from_slice(&cell[i..]);
            return;
        };
        out.extend_from_slice(&cell[i..i + k]);
        i += k;
        let decoded = match cell.get(i + 1) {
            Some(b't') => b'\t',
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b'\\') => b'\\',
            Some(b'0') => 0,
            _ => {
                out.push(b'\\');
                i += 1;
                continue;
            }
        };
        out.push(decoded);
        i += 2;
    }
}

/// Whether a cell holds escapes (so its raw bytes are not its text).
#[inline]
pub fn needs_unescape(cell: &[u8]) -> bool {
    memchr::memchr(b'\\', cell).is_some()
}

/// Splits a row into its cells (no unescaping), like `row.split(|&b| b == b'\t')` but looking
/// for TABs 16 bytes at a time instead of one (a profile hot spot of every TSV-reading tool).
pub fn cells(row: &[u8]) -> Cells<'_> {
    Cells {
        row,
        start: 0,
        done: false,
    }
}

/// The iterator of [`cells`].
pub struct Cells<'a> {
    row: &'a [u8],
    start: usize,
    done: bool,
}

const TAB: Stops = Stops::new(b"\t");

impl<'a> Iterator for Cells<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.done {
            return None;
        }
        let end = find_stop(self.row, self.start, &TAB);
        let cell = &self.row[self.start..end];
        self.done = end == self.row.len();
        self.start = end + 1;
        Some(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_round_trip() {
        for v in [
            &b""[..],
            b"plain",
            b"a\tb\nc\rd\\e",
            b"\\t literal",
            b"\\",
            b"x\\",
        ] {
            let mut e = Vec::new();
            escape_into(v, &mut e);
            assert!(!e.contains(&b'\t') && !e.contains(&b'\n'));
            let mut d = Vec::new();
            unescape_into(&e, &mut d);
            assert_eq!(d, v);
        }
    }

    #[test]
    fn cells_split_like_slice_split() {
        for row in [
            &b""[..],
            b"a",
            b"\t",
            b"a\tb",
            b"a\t\tb\t",
            b"\t\t\t",
            b"x\ty\tz\t\t0",
        ] {
            let want: Vec<&[u8]> = row.split(|&b| b == b'\t').collect();
            assert_eq!(cells(row).collect::<Vec<_>>(), want, "{row:?}");
        }
        let long: Vec<u8> = (0..500u32)
            .flat_map(|i| [b'a' + (i % 7) as u8, b'\t'])
            .collect();
        assert_eq!(cells(&long).count(), 501);
    }

    #[test]
    fn unknown_escapes_stay() {
        let mut d = Vec::new();
        unescape_into(b"a\\qb\\", &mut d);
        assert_eq!(d, b"a\\qb\\");
    }
}
