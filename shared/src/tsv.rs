//! TSV values: the PostgreSQL-text / ClickHouse-TabSeparated escaping.
//!
//! Inside a value, TAB, newline, carriage return and backslash are written as `\t`, `\n`, `\r`
//! and `\\`, so a value never breaks a row. Reading undoes exactly these (plus `\0`); any other
//! backslash sequence is kept as written.

use crate::bytescan::{find_stop, Stops};

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

/// Splits a row into its cells (no unescaping).
pub fn cells(row: &[u8]) -> impl Iterator<Item = &[u8]> {
    row.split(|&b| b == b'\t')
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
    fn unknown_escapes_stay() {
        let mut d = Vec::new();
        unescape_into(b"a\\qb\\", &mut d);
        assert_eq!(d, b"a\\qb\\");
    }
}
