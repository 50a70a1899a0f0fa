//! Exact sums of decimal numbers.
//!
//! `--sum` columns must add up the same whichever way the work was split (threads, blocks, N
//! `parallel` jobs and one `--merge` must all equal one run), so every sum is exact and so
//! independent of the order of its terms. The values logs hold (byte counts, seconds with
//! milliseconds, and the shortest text of most doubles) are integers scaled by 10^18 in an i128,
//! which is fast; a number with more than 18 decimals, or a total beyond i128 (about 1.7e20), is
//! an exact [`Decimal`].

use crate::decimal::Decimal;

const SCALE_DIGITS: u32 = 18;
const SCALE: i128 = 10i128.pow(SCALE_DIGITS);

/// A running sum. Every value has one form (an `Exact` one when it fits), so the same total
/// compares and prints the same however it was reached.
#[derive(Clone, Debug, PartialEq)]
pub enum Sum {
    /// Value x 10^18.
    Exact(i128),
    /// Any other value.
    Big(Box<Decimal>),
}

impl Default for Sum {
    fn default() -> Self {
        Sum::Exact(0)
    }
}

impl Sum {
    /// Parses a JSON/CSV number (surrounding spaces allowed); `None` if it is not one, has more
    /// than 400 decimals, or is beyond the range of a double (what the output can hold).
    pub fn parse(text: &[u8]) -> Option<Sum> {
        Sum::parse_any(text).filter(Sum::fits_double)
    }

    /// Like [`Sum::parse`] without the range check: partial totals in spill runs can pass the
    /// range of a double on the way to a total that does not.
    pub fn parse_any(text: &[u8]) -> Option<Sum> {
        let t = std::str::from_utf8(text).ok()?.trim();
        if let Some(exact) = parse_decimal(t) {
            return Some(Sum::Exact(exact));
        }
        Decimal::parse(t.as_bytes()).map(Sum::from_decimal)
    }

    fn from_decimal(d: Decimal) -> Sum {
        match d.to_fixed() {
            Some(v) => Sum::Exact(v),
            None => Sum::Big(Box::new(d)),
        }
    }

    #[inline]
    pub fn add(&mut self, other: &Sum) {
        if let (Sum::Exact(a), Sum::Exact(b)) = (&mut *self, other) {
            if let Some(s) = a.checked_add(*b) {
                *a = s;
                return;
            }
        }
        self.add_decimal(other);
    }

    #[cold]
    fn add_decimal(&mut self, other: &Sum) {
        let mut total = match std::mem::take(self) {
            Sum::Exact(v) => Decimal::from_fixed(v),
            Sum::Big(d) => *d,
        };
        match other {
            Sum::Exact(v) => total.add(&Decimal::from_fixed(*v)),
            Sum::Big(d) => total.add(d),
        }
        *self = Sum::from_decimal(total);
    }

    /// Whether the total can be written as a finite double (what readers of the output hold).
    pub fn fits_double(&self) -> bool {
        match self {
            Sum::Exact(_) => true,
            Sum::Big(d) => d.fits_double(),
        }
    }

    /// Writes the sum in full as a plain decimal (`1234`, `0.5`, `-2.125`, `0.0000000001`).
    pub fn write(&self, out: &mut String) {
        match self {
            Sum::Exact(v) => {
                let sign = if *v < 0 { "-" } else { "" };
                let abs = v.unsigned_abs();
                let (int, frac) = (abs / SCALE as u128, abs % SCALE as u128);
                out.push_str(sign);
                out.push_str(itoa::Buffer::new().format(int));
                if frac != 0 {
                    let digits = format!("{frac:0width$}", width = SCALE_DIGITS as usize);
                    out.push('.');
                    out.push_str(digits.trim_end_matches('0'));
                }
            }
            Sum::Big(d) => d.write(out),
        }
    }

    pub fn to_text(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }
}

/// `[+-]digits[.digits][(e|E)[+-]digits]` scaled by 10^18, when that is a whole number within
/// i128; `None` sends the text to the exact [`Decimal`] parser.
fn parse_decimal(t: &str) -> Option<i128> {
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (mant, exp) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], parse_small_exponent(&body[at + 1..])?),
        None => (body, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() && frac.is_empty() || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    // The digits as one integer (38 digits always fit an i128), then the power of ten that
    // takes it to units of 10^-18.
    if int.len() + frac.len() > 38 {
        return None;
    }
    let mut digits: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        digits = digits * 10 + i128::from(b - b'0');
    }
    let shift = i64::from(SCALE_DIGITS) + exp - frac.len() as i64;
    let v = if shift >= 0 {
        digits.checked_mul(10i128.checked_pow(u32::try_from(shift).ok()?)?)?
    } else {
        let div = 10i128.checked_pow(u32::try_from(-shift).ok()?)?;
        if digits % div != 0 {
            return None;
        }
        digits / div
    };
    Some(if neg { -v } else { v })
}

/// An exponent of at most a few digits (larger ones are for the exact parser).
fn parse_small_exponent(e: &str) -> Option<i64> {
    let (neg, digits) = match e.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, e.strip_prefix('+').unwrap_or(e)),
    };
    if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i64 = digits.parse().ok()?;
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(values: &[&str]) -> String {
        let mut s = Sum::default();
        for v in values {
            s.add(&Sum::parse(v.as_bytes()).unwrap());
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
    fn other_numbers_add_exactly_and_print_one_way() {
        assert_eq!(total(&["1e2", "1"]), "101");
        assert_eq!(total(&["1e3", "1.5"]), "1001.5");
        assert_eq!(total(&["0.1000000001", "1e-10", "-2e-10"]), "0.1");
        assert_eq!(Sum::parse(b"1e2"), Sum::parse(b"100"));
        assert_eq!(Sum::parse(b"1e-10"), Sum::parse(b"0.0000000001"));
        let past_i128 = vec!["1e28"; 20];
        assert_eq!(total(&past_i128), format!("2{}", "0".repeat(29)));
        assert!(Sum::parse(b"abc").is_none());
        assert!(Sum::parse(b"").is_none());
        assert!(Sum::parse(b"-").is_none());
        assert!(Sum::parse(b"NaN").is_none());
        assert!(Sum::parse(b"inf").is_none());
        assert!(Sum::parse(b"1e309").is_none());
        assert!(Sum::parse_any(b"2e308").is_some());
    }

    #[test]
    fn the_fast_parser_agrees_with_the_exact_one() {
        for t in [
            "0",
            "-0",
            "+7",
            "1.5e3",
            "2.5E+3",
            "-3.25e-7",
            "0.30000000000000004",
            "1e-18",
            "1e-19",
            "1.0e-18",
            "1000e-21",
            "12.345678901234567891",
            "1e20",
            "1e21",
            "5e999",
            "123456789012345678901234567890",
            ".5",
            "5.",
            "1e",
            "e5",
            "1.2.3",
            "--1",
            "0x10",
        ] {
            let exact = Decimal::parse(t.as_bytes()).and_then(|d| d.to_fixed());
            assert_eq!(parse_decimal(t), exact, "{t}");
        }
        assert_eq!(
            parse_decimal("0.30000000000000004"),
            Some(300_000_000_000_000_040)
        );
        assert_eq!(Sum::parse(b"1.5e3"), Some(Sum::Exact(1_500 * SCALE)));
    }

    #[test]
    fn the_total_does_not_depend_on_order_or_split() {
        let values = [
            "0.1000000001",
            "1e-10",
            "123456.0000000007",
            "2.5e3",
            "-3.25e-7",
        ];
        let terms: Vec<&str> = (0..1000).map(|i| values[i * 7 % values.len()]).collect();
        let one_run = total(&terms);
        let mut reversed = terms.clone();
        reversed.reverse();
        assert_eq!(total(&reversed), one_run);
        // Partial totals written out and read back, as --merge and spill runs do.
        for parts in [2, 3, 7] {
            let partials: Vec<String> = terms.chunks(terms.len() / parts + 1).map(total).collect();
            let partials: Vec<&str> = partials.iter().map(String::as_str).collect();
            assert_eq!(total(&partials), one_run, "{parts} parts");
        }
        assert_eq!(one_run, "25191219.99993518");
    }
}
