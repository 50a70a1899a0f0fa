//! Building blocks for the deliberately malformed lines of `--bad-rate`: each one breaks a
//! different assumption a parser might make (complete syntax, UTF-8, non-empty lines).

use crate::rng::Rng;

/// Lines a misbehaving producer or a half-written upload leaves behind.
const GARBAGE: &[&str] = &[
    "ERROR connection reset by peer while reading response header",
    "Traceback (most recent call last):",
    "<html><head><title>502 Bad Gateway</title></head></html>",
    "null",
    "-- MARK --",
    "\u{feff}BOM at the start of a line",
    "\t\t\t",
    "panic: runtime error: index out of range [3] with length 3",
];

/// Replace the line starting at `start` in `out` (ending with `\n`) by its first part:
/// a cut at a random byte, possibly inside a multi-byte character or an escape.
pub fn truncate(rng: &mut Rng, out: &mut Vec<u8>, start: usize) {
    let len = out.len() - 1 - start; // without the newline
    if len > 1 {
        let keep = 1 + rng.index(len - 1);
        out.truncate(start + keep);
        out.push(b'\n');
    }
}

/// Overwrite one byte of the line at `start..` (at a position in `lo..hi` relative to
/// `start`, clamped to the line) with bytes that are not valid UTF-8.
pub fn invalid_utf8(rng: &mut Rng, out: &mut Vec<u8>, start: usize, lo: usize, hi: usize) {
    // Each sequence is invalid wherever it lands (no lone continuation bytes, which
    // could complete a neighbouring character into something valid).
    const BAD: &[&[u8]] = &[
        b"\xff",
        b"\xc3\x28",
        b"\xe2\x82\x28",
        b"\xed\xa0\x80",
        b"\xfe",
    ];
    let len = out.len() - 1 - start;
    let hi = hi.min(len);
    let lo = lo.min(hi.saturating_sub(1));
    let at = start + lo + rng.index((hi - lo).max(1));
    let bad = rng.pick(BAD);
    out.splice(at..(at + 1).min(out.len() - 1), bad.iter().copied());
}

/// Append a line of plain garbage text.
pub fn garbage(rng: &mut Rng, out: &mut Vec<u8>) {
    out.extend_from_slice(rng.pick(GARBAGE).as_bytes());
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corruptions_keep_one_line() {
        let mut rng = Rng::new(9);
        for _ in 0..200 {
            let mut out = b"prev\n".to_vec();
            out.extend_from_slice(b"{\"a\":\"hello\"}\n");
            truncate(&mut rng, &mut out, 5);
            assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 2);
            assert!(out.len() < 5 + 14);

            let mut out = b"{\"a\":\"hello\"}\n".to_vec();
            invalid_utf8(&mut rng, &mut out, 0, 6, 11);
            assert!(std::str::from_utf8(&out).is_err());
            assert!(out.ends_with(b"\n") && out.starts_with(b"{\"a\":\""));

            let mut out = Vec::new();
            garbage(&mut rng, &mut out);
            assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        }
    }
}
