//! Exact sums of decimal numbers.
//!
//! `--sum` columns must add up the same whichever way the work was split (N `parallel` jobs and
//! one `--merge` must equal one run), so sums of decimals are kept as integers scaled by 10^9,
//! which is exact for the values logs hold (byte counts, seconds with milliseconds). Only a
//! number with more than 9 decimals, an exponent, or a sum beyond i128 falls back to f64.

use std::fmt::Write as _;

const SCALE: i128 = 1_000_000_000;
const SCALE_DIGITS: usize = 9;

/// A running sum.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sum {
    /// Value x 10^9, exact.
    Exact(i128),
    Float(f64),
}

impl Default for Sum {
    fn default() -> Self {
        Sum::Exact(0)
    }
}

impl Sum {
    /// Parses a JSON/CSV number (surrounding spaces allowed); `None` if it is not one.
    pub fn parse(text: &[u8]) -> Option<Sum> {
        let t = std::str::from_utf8(text).ok()?.trim();
        if let Some(exact) = parse_decimal(t) {
            return Some(Sum::Exact(exact));
        }
        let f: f64 = t.parse().ok()?;
        f.is_finite().then_some(Sum::Float(f))
    }

    pub fn add(&mut self, other: Sum) {
        *self = match (*self, other) {
            (Sum::Exact(a), Sum::Exact(b)) => match a.checked_add(b) {
                Some(s) => Sum::Exact(s),
                None => Sum::Float(a as f64 / SCALE as f64 + b as f64 / SCALE as f64),
            },
            (a, b) => Sum::Float(a.as_f64() + b.as_f64()),
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Sum::Exact(v) => v as f64 / SCALE as f64,
            Sum::Float(f) => f,
        }
    }

    /// Writes the sum as a plain decimal (`1234`, `0.5`, `-2.125`).
    pub fn write(&self, out: &mut String) {
        match *self {
            Sum::Exact(v) => {
                let sign = if v < 0 { "-" } else { "" };
                let abs = v.unsigned_abs();
                let (int, frac) = (abs / SCALE as u128, abs % SCALE as u128);
                let _ = write!(out, "{sign}{int}");
                if frac != 0 {
                    let digits = format!("{frac:0width$}", width = SCALE_DIGITS);
                    out.push('.');
                    out.push_str(digits.trim_end_matches('0'));
                }
            }
            Sum::Float(f) => out.push_str(ryu::Buffer::new().format(f)),
        }
    }

    pub fn to_text(self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }
}

/// `-?digits(.digits)?` with at most 9 decimals, scaled by 10^9.
fn parse_decimal(t: &str) -> Option<i128> {
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() && frac.is_empty() || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    if frac.len() > SCALE_DIGITS || int.len() > 28 {
        return None;
    }
    let int_v: i128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut frac_v: i128 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    for _ in frac.len()..SCALE_DIGITS {
        frac_v *= 10;
    }
    let v = int_v.checked_mul(SCALE)?.checked_add(frac_v)?;
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(values: &[&str]) -> String {
        let mut s = Sum::default();
        for v in values {
            s.add(Sum::parse(v.as_bytes()).unwrap());
        }
        s.to_text()
    }

    #[test]
    fn decimals_add_exactly() {
        assert_eq!(total(&["0.1", "0.2"]), "0.3");
        assert_eq!(total(&["1234", "-34"]), "1200");
        assert_eq!(total(&["-0.5", "0.25"]), "-0.25");
        assert_eq!(
            total(&["18446744073709551615", "1"]),
            "18446744073709551616"
        );
    }

    #[test]
    fn exponents_fall_back_to_floats() {
        assert_eq!(total(&["1e3", "1"]), "1001.0");
        assert!(Sum::parse(b"abc").is_none());
        assert!(Sum::parse(b"").is_none());
        assert!(Sum::parse(b"-").is_none());
        assert!(Sum::parse(b"NaN").is_none());
    }
}
