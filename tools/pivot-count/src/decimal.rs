//! Exact decimal numbers, for the sums the fast i128 path of [`crate::sum`] cannot hold:
//! numbers with more than 18 decimals, and totals past i128.
//!
//! Adding exactly makes a total independent of the order of its terms, so threads, block sizes
//! and split-then-merge all give the same digits (f64 partial sums did not). A number is a sign
//! and a magnitude in base-10^18 limbs placed around the decimal point, so aligning two numbers
//! is a matter of whole limbs and writing one is a matter of printing its limbs.

use std::cmp::Ordering;
use std::fmt::Write as _;

const BASE: u64 = 1_000_000_000_000_000_000;
const LIMB_DIGITS: i32 = 18;

/// Digits allowed either side of the point. Any double fits (the largest is about 1.8e308;
/// the smallest, 4.9e-324, ends 340 places after the point written in full), a total of 2^64
/// of them too, and no single number can make a sum take more than a few hundred bytes.
pub const MAX_DIGITS: i32 = 400;

/// An exact decimal number.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decimal {
    neg: bool,
    /// Limb `i` is worth `BASE^(low + i)`.
    low: i32,
    /// The magnitude, least significant limb first, each below BASE, with no zero limb at
    /// either end (zero has none), so equal values are equal structs.
    limbs: Vec<u64>,
}

impl Decimal {
    /// Parses `[+-]digits[.digits][(e|E)[+-]digits]` (either digit run may be empty, not both).
    /// `None` if the text is not such a number or has digits beyond [`MAX_DIGITS`] either side.
    pub fn parse(text: &[u8]) -> Option<Decimal> {
        let (neg, t) = match text.split_first() {
            Some((b'-', rest)) => (true, rest),
            Some((b'+', rest)) => (false, rest),
            _ => (false, text),
        };
        let mant_end = memchr::memchr2(b'e', b'E', t).unwrap_or(t.len());
        let exp = match t.get(mant_end + 1..) {
            Some(e) => parse_exponent(e)?,
            None => 0,
        };
        let mant = &t[..mant_end];
        let (int, frac) = match memchr::memchr(b'.', mant) {
            Some(dot) => (&mant[..dot], &mant[dot + 1..]),
            None => (mant, &[][..]),
        };
        let is_digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
        if int.is_empty() && frac.is_empty() || !is_digits(int) || !is_digits(frac) {
            return None;
        }
        let digits: Vec<u8> = int.iter().chain(frac).map(|d| d - b'0').collect();
        // The power of ten of the last digit.
        let last_pow = exp.checked_sub(i32::try_from(frac.len()).ok()?)?;
        let mut d = Decimal::from_digits(&digits, last_pow)?;
        d.neg = neg && !d.limbs.is_empty();
        Some(d)
    }

    /// The magnitude whose digits (most significant first) end at the power `last_pow`.
    fn from_digits(digits: &[u8], last_pow: i32) -> Option<Decimal> {
        let trailing_zeros = digits.iter().rev().take_while(|&&d| d == 0).count();
        let digits = &digits[..digits.len() - trailing_zeros];
        let leading_zeros = digits.iter().take_while(|&&d| d == 0).count();
        let digits = &digits[leading_zeros..];
        if digits.is_empty() {
            return Some(Decimal::default());
        }
        let last_pow = last_pow.checked_add(i32::try_from(trailing_zeros).ok()?)?;
        let top_pow = last_pow.checked_add(i32::try_from(digits.len()).ok()? - 1)?;
        if last_pow < -MAX_DIGITS || top_pow >= MAX_DIGITS {
            return None;
        }
        let low = last_pow.div_euclid(LIMB_DIGITS);
        let mut limbs = vec![0u64; (top_pow.div_euclid(LIMB_DIGITS) - low + 1) as usize];
        for (pow, &d) in (last_pow..).zip(digits.iter().rev()) {
            let limb = (pow.div_euclid(LIMB_DIGITS) - low) as usize;
            limbs[limb] += u64::from(d) * 10u64.pow(pow.rem_euclid(LIMB_DIGITS) as u32);
        }
        Some(Decimal {
            neg: false,
            low,
            limbs,
        })
    }

    /// The value `v` x 10^-18 (what [`crate::sum::Sum::Exact`] holds): its fraction is the
    /// one limb below the point.
    pub fn from_fixed(v: i128) -> Decimal {
        let abs = v.unsigned_abs();
        let mut limbs = vec![(abs % u128::from(BASE)) as u64];
        let mut int = abs / u128::from(BASE);
        while int > 0 {
            limbs.push((int % u128::from(BASE)) as u64);
            int /= u128::from(BASE);
        }
        let mut d = Decimal {
            neg: v < 0,
            low: -1,
            limbs,
        };
        d.normalise();
        d
    }

    /// The value x 10^18 as an i128, if it has at most 18 decimals and is within range.
    pub fn to_fixed(&self) -> Option<i128> {
        if self.low < -1 {
            return None;
        }
        let mut v: i128 = 0;
        for (pow, &limb) in (self.low..).zip(&self.limbs) {
            // Limb `pow` is worth BASE^pow, so BASE^(pow + 1) in units of 10^-18.
            let term =
                (0..=pow).try_fold(i128::from(limb), |t, _| t.checked_mul(i128::from(BASE)))?;
            v = v.checked_add(term)?;
        }
        Some(if self.neg { -v } else { v })
    }

    /// Adds `other` exactly.
    pub fn add(&mut self, other: &Decimal) {
        if other.limbs.is_empty() {
            return;
        }
        if self.limbs.is_empty() {
            self.clone_from(other);
            return;
        }
        self.cover(other);
        let off = (other.low - self.low) as usize;
        if self.neg == other.neg {
            add_magnitude(&mut self.limbs, off, &other.limbs);
        } else if compare_magnitude(&self.limbs, off, &other.limbs) == Ordering::Less {
            subtract_magnitude(&mut self.limbs, off, &other.limbs, true);
            self.neg = other.neg;
        } else {
            subtract_magnitude(&mut self.limbs, off, &other.limbs, false);
        }
        self.normalise();
    }

    /// Widens the limbs to span `other`'s, plus one on top for a carry.
    fn cover(&mut self, other: &Decimal) {
        if other.low < self.low {
            let grow = (self.low - other.low) as usize;
            self.limbs.splice(0..0, std::iter::repeat_n(0, grow));
            self.low = other.low;
        }
        let top = other.low + other.limbs.len() as i32;
        let len = (top.max(self.low + self.limbs.len() as i32) - self.low + 1) as usize;
        self.limbs.resize(len, 0);
    }

    /// Drops zero limbs at both ends.
    fn normalise(&mut self) {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
        let zeros = self.limbs.iter().take_while(|&&l| l == 0).count();
        self.limbs.drain(..zeros);
        self.low += zeros as i32;
        if self.limbs.is_empty() {
            *self = Decimal::default();
        }
    }

    /// The limb worth `BASE^pow` (zero outside the stored ones).
    fn limb(&self, pow: i32) -> u64 {
        usize::try_from(pow - self.low)
            .ok()
            .and_then(|i| self.limbs.get(i).copied())
            .unwrap_or(0)
    }

    /// Writes the number in full as a plain decimal: no exponent, no trailing zeros after the
    /// point, `0` for zero (the same text the i128 path writes for the same value).
    pub fn write(&self, out: &mut String) {
        if self.neg {
            out.push('-');
        }
        let top = self.low + self.limbs.len() as i32 - 1;
        let _ = write!(out, "{}", self.limb(top.max(0)));
        for pow in (0..top).rev() {
            let _ = write!(out, "{:018}", self.limb(pow));
        }
        if self.low < 0 {
            out.push('.');
            for pow in (self.low..0).rev() {
                let _ = write!(out, "{:018}", self.limb(pow));
            }
            out.truncate(out.trim_end_matches('0').len());
        }
    }

    /// Whether the number is within the range of a double (rounds to a finite one).
    pub fn fits_double(&self) -> bool {
        // Anything below 10^306 does; nearer the top, the f64 parser decides (it rounds to
        // the nearest double and gives inf exactly where a reader of the output would).
        if self.low + (self.limbs.len() as i32) <= 17 {
            return true;
        }
        let mut text = String::new();
        self.write(&mut text);
        text.parse::<f64>().is_ok_and(f64::is_finite)
    }
}

/// An exponent's digits with an optional sign; large ones saturate (they are out of range).
fn parse_exponent(e: &[u8]) -> Option<i32> {
    let (neg, digits) = match e.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, e),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits
        .iter()
        .fold(0i32, |v, d| (v * 10 + i32::from(d - b'0')).min(1_000_000));
    Some(if neg { -v } else { v })
}

/// `b`'s limb aligned with `a`'s limb `i` (`b` starts `off` limbs above `a`).
fn aligned(b: &[u64], off: usize, i: usize) -> u64 {
    i.checked_sub(off)
        .and_then(|j| b.get(j).copied())
        .unwrap_or(0)
}

/// `a += b`; `a` spans `b` with a limb to spare, so the carry always lands.
fn add_magnitude(a: &mut [u64], off: usize, b: &[u64]) {
    let mut carry = 0;
    for (i, ai) in a.iter_mut().enumerate() {
        let s = *ai + aligned(b, off, i) + carry;
        (*ai, carry) = if s >= BASE { (s - BASE, 1) } else { (s, 0) };
    }
}

/// `a = a - b`, or `a = b - a` when `b_minus_a`: always the larger magnitude minus the smaller.
fn subtract_magnitude(a: &mut [u64], off: usize, b: &[u64], b_minus_a: bool) {
    let mut borrow = 0;
    for (i, ai) in a.iter_mut().enumerate() {
        let bi = aligned(b, off, i);
        let (x, y) = if b_minus_a { (bi, *ai) } else { (*ai, bi) };
        let y = y + borrow;
        (*ai, borrow) = if x >= y {
            (x - y, 0)
        } else {
            (x + BASE - y, 1)
        };
    }
}

fn compare_magnitude(a: &[u64], off: usize, b: &[u64]) -> Ordering {
    (0..a.len())
        .rev()
        .map(|i| a[i].cmp(&aligned(b, off, i)))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(d: &Decimal) -> String {
        let mut s = String::new();
        d.write(&mut s);
        s
    }

    fn parse(t: &str) -> Decimal {
        Decimal::parse(t.as_bytes()).unwrap()
    }

    #[test]
    fn parses_and_writes_in_full() {
        for (input, written) in [
            ("0", "0"),
            ("-0.000", "0"),
            ("1e2", "100"),
            ("1.5E-3", "0.0015"),
            ("-.25", "-0.25"),
            ("7.", "7"),
            ("+12345678901234567890.5", "12345678901234567890.5"),
            ("1e-20", "0.00000000000000000001"),
            ("123456.0000000007", "123456.0000000007"),
        ] {
            assert_eq!(text(&parse(input)), written, "{input}");
        }
        assert_eq!(text(&parse("1e18")), format!("1{}", "0".repeat(18)));
        assert_eq!(text(&parse("1e-400")), format!("0.{}1", "0".repeat(399)));
        for bad in [
            "", "-", ".", "e5", "1e", "1e+", "1.2.3", "0x10", "1e-401", "1e400", "inf",
        ] {
            assert_eq!(Decimal::parse(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn adds_exactly_across_signs_and_limbs() {
        let sum = |terms: &[&str]| {
            let mut d = Decimal::default();
            for t in terms {
                d.add(&parse(t));
            }
            text(&d)
        };
        assert_eq!(sum(&["0.1000000001", "1e-10"]), "0.1000000002");
        assert_eq!(sum(&["999999999999999999.9", "0.1"]), "1000000000000000000");
        assert_eq!(sum(&["1e-10", "-1e-10"]), "0");
        assert_eq!(sum(&["1", "-1e-30"]), format!("0.{}", "9".repeat(30)));
        assert_eq!(sum(&["-1e-30", "1"]), format!("0.{}", "9".repeat(30)));
        assert_eq!(sum(&["-5", "2.5e-1", "1e20"]), "99999999999999999995.25");
        assert_eq!(sum(&["1e308", "1e308", "-1e308"]), text(&parse("1e308")));
    }

    #[test]
    fn fixed_point_round_trip_and_range() {
        for v in [
            0,
            1,
            -1,
            1_500_000_000,
            10i128.pow(18),
            i128::MAX,
            i128::MIN + 1,
        ] {
            assert_eq!(Decimal::from_fixed(v).to_fixed(), Some(v), "{v}");
        }
        assert_eq!(parse("2.5e3").to_fixed(), Some(2_500 * 10i128.pow(18)));
        assert_eq!(parse("1e-18").to_fixed(), Some(1));
        assert_eq!(parse("-1.5e-17").to_fixed(), Some(-15));
        assert_eq!(parse("1e-19").to_fixed(), None);
        assert_eq!(parse("1e21").to_fixed(), None);
        assert!(parse("1.7976931348623157e308").fits_double());
        assert!(!parse("1.8e308").fits_double());
        assert!(!parse("-2e308").fits_double());
    }
}
