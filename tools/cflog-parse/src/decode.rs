//! Percent-decoding the way CloudFront encodes its log values (FIELDS.md beside the samples).
//!
//! CloudFront percent-encodes control bytes, space, bytes >= 127 and `< > " # % { } | \ ^ ~ [ ]
//! ` '` in every value, so decoding once gives back what the client sent. Free text (user agent,
//! referer, cookie) was logged *double*-encoded before 2020 for space, `"` and `\` (`%2520`,
//! `%2522`, `%255C`); [`decode_free_text`] undoes that first. `+` is a literal plus, and an
//! invalid escape (`%`, `%4`, `%zz`) stays as logged. Nothing here can fail, and a value
//! without `%` is returned as it is, without a copy.

use onebox::bytescan::{copy_until, find_stop, Stops};

/// Decodes `%XX` escapes once. Returns `src` itself when it holds no `%`, else the decoded
/// bytes written into `scratch` (cleared first).
#[inline]
pub fn decode_once<'a>(src: &'a [u8], scratch: &'a mut Vec<u8>) -> &'a [u8] {
    decode(src, scratch, false)
}

/// Undoes the pre-2020 double encoding of space, `"` and `\`, then decodes once (see module
/// docs). Zero-copy as [`decode_once`].
#[inline]
pub fn decode_free_text<'a>(src: &'a [u8], scratch: &'a mut Vec<u8>) -> &'a [u8] {
    decode(src, scratch, true)
}

const PERCENT: Stops = Stops::new(b"%");

fn decode<'a>(src: &'a [u8], scratch: &'a mut Vec<u8>, undo_double: bool) -> &'a [u8] {
    // Inline SIMD, not a call: most values (a path, a short query) hold no `%`.
    let first = find_stop(src, 0, &PERCENT);
    if first == src.len() {
        return src;
    }
    scratch.clear();
    scratch.extend_from_slice(&src[..first]);
    let mut i = first;
    while i < src.len() {
        let c = src[i];
        if c != b'%' {
            // Copy the run up to the next `%` in one go.
            i = copy_until(src, i, &PERCENT, scratch);
            continue;
        }
        if undo_double {
            if let Some(b) = double_encoded(&src[i..]) {
                scratch.push(b);
                i += 5;
                continue;
            }
        }
        match (
            src.get(i + 1).and_then(|&h| hex(h)),
            src.get(i + 2).and_then(|&l| hex(l)),
        ) {
            (Some(h), Some(l)) => {
                scratch.push(h << 4 | l);
                i += 3;
            }
            _ => {
                scratch.push(b'%');
                i += 1;
            }
        }
    }
    scratch
}

/// The byte meant by a double-encoded `%2520` / `%2522` / `%255C` at the start of `s`.
#[inline]
fn double_encoded(s: &[u8]) -> Option<u8> {
    if s.len() < 5 || &s[1..3] != b"25" {
        return None;
    }
    match (s[3], s[4]) {
        (b'2', b'0') => Some(b' '),
        (b'2', b'2') => Some(b'"'),
        (b'5', b'C' | b'c') => Some(b'\\'),
        _ => None,
    }
}

#[inline]
fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn once(s: &str) -> Vec<u8> {
        let mut scratch = Vec::new();
        decode_once(s.as_bytes(), &mut scratch).to_vec()
    }

    fn free(s: &str) -> Vec<u8> {
        let mut scratch = Vec::new();
        decode_free_text(s.as_bytes(), &mut scratch).to_vec()
    }

    #[test]
    fn plain_values_are_borrowed() {
        let mut scratch = Vec::new();
        let src = b"/index.html";
        let got = decode_once(src, &mut scratch);
        assert!(std::ptr::eq(got, &src[..]));
    }

    #[test]
    fn decodes_once_only() {
        assert_eq!(
            once("text/html;%20charset=utf-8"),
            b"text/html; charset=utf-8"
        );
        // The client really sent `%20`: CloudFront logged its `%` as `%25`.
        assert_eq!(once("a=b%2520c"), b"a=b%20c");
        assert_eq!(once("bytes%253D0-57"), b"bytes%3D0-57");
        assert_eq!(once("%E2%82%AC%e2%82%ac"), "€€".as_bytes());
    }

    #[test]
    fn plus_is_literal() {
        assert_eq!(once("a+b"), b"a+b");
        assert_eq!(free("PetalBot;+https://x"), b"PetalBot;+https://x");
    }

    #[test]
    fn bad_escapes_stay_as_logged() {
        assert_eq!(once("100%"), b"100%");
        assert_eq!(once("%4"), b"%4");
        assert_eq!(once("%zz%20"), b"%zz ");
        assert_eq!(once("%%41"), b"%A");
        assert_eq!(free("%25"), b"%");
        assert_eq!(free("%252"), b"%2");
    }

    #[test]
    fn free_text_undoes_old_double_encoding() {
        assert_eq!(
            free("Mozilla/5.0%2520(iPhone;%2520CPU%2520OS%252010_2_1)"),
            b"Mozilla/5.0 (iPhone; CPU OS 10_2_1)"
        );
        assert_eq!(free("%2522q%2522%255C%255c"), b"\"q\"\\\\");
        // Current single encoding decodes the same way.
        assert_eq!(free("Mozilla/5.0%20(Linux)"), b"Mozilla/5.0 (Linux)");
        // Other `%25XX` stay a literal percent sign followed by XX.
        assert_eq!(free("50%2541"), b"50%41");
    }

    #[test]
    fn invalid_utf8_stays_bytes() {
        assert_eq!(once("%FF%FEa"), b"\xff\xfea");
    }
}
