//! Zipf-skewed choice among `n` ranked items: item k (1-based) has weight 1 / k^s.
//!
//! The vocabularies in the generators are listed most popular first, so a Zipf draw over
//! their indices gives the long-tailed value counts real logs show.

use crate::rng::Rng;

/// A precomputed cumulative table; sampling is one 64-bit draw and a binary search.
#[derive(Clone, Debug)]
pub struct Zipf {
    /// `cdf[i]` = upper bound (exclusive, scaled to 2^64) of item i's share.
    cdf: Vec<u64>,
}

impl Zipf {
    /// `s` must be a multiple of 0.25: k^s is then built from multiplications and square
    /// roots only, which IEEE 754 rounds exactly, so the table (and thus the output) is
    /// identical on every platform. `powf` comes from the system libm and may differ in
    /// the last bit between platforms.
    pub fn new(n: usize, s: f64) -> Self {
        assert!(n > 0, "Zipf over an empty set");
        let quarters = s * 4.0;
        assert!(
            quarters >= 0.0 && quarters.fract() == 0.0 && quarters <= 64.0,
            "Zipf exponent {s} must be a multiple of 0.25 in 0..=16"
        );
        let quarters = quarters as u32;
        let weights: Vec<f64> = (1..=n)
            .map(|k| 1.0 / pow_quarters(k as f64, quarters))
            .collect();
        Self::from_weights(&weights)
    }

    /// Arbitrary non-negative weights, for the few places where a hand-set mix reads
    /// better than a rank.
    pub fn from_weights(weights: &[f64]) -> Self {
        assert!(!weights.is_empty(), "no weights");
        let total: f64 = weights.iter().sum();
        assert!(total > 0.0, "weights sum to zero");
        let mut acc = 0.0;
        let mut cdf: Vec<u64> = weights
            .iter()
            .map(|w| {
                acc += w;
                // `as` saturates, and the last bucket is forced to the top below.
                (acc / total * 18_446_744_073_709_551_616.0) as u64
            })
            .collect();
        *cdf.last_mut().expect("non-empty") = u64::MAX;
        Zipf { cdf }
    }

    /// Probability of item `i`.
    pub fn weight(&self, i: usize) -> f64 {
        let below = if i == 0 { 0 } else { self.cdf[i - 1] };
        (self.cdf[i] - below) as f64 / 18_446_744_073_709_551_616.0
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.cdf.len()
    }

    /// Always false: a table has at least one item.
    pub fn is_empty(&self) -> bool {
        self.cdf.is_empty()
    }

    /// A 0-based index, 0 being the most likely.
    #[inline]
    pub fn sample(&self, rng: &mut Rng) -> usize {
        let r = rng.next_u64();
        self.cdf
            .partition_point(|&c| c <= r)
            .min(self.cdf.len() - 1)
    }

    /// Draw an element of `items` (which must have `self.len()` elements).
    #[inline]
    pub fn pick<T: Copy>(&self, rng: &mut Rng, items: &[T]) -> T {
        debug_assert_eq!(items.len(), self.len());
        items[self.sample(rng)]
    }
}

/// x^(q/4) from multiplications and square roots only.
fn pow_quarters(x: f64, q: u32) -> f64 {
    let root4 = x.sqrt().sqrt();
    let mut r = 1.0;
    for _ in 0..q / 4 {
        r *= x;
    }
    for _ in 0..q % 4 {
        r *= root4;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skewed_towards_first_items() {
        let z = Zipf::new(10, 1.0);
        let mut rng = Rng::new(5);
        let mut counts = [0u32; 10];
        for _ in 0..100_000 {
            counts[z.sample(&mut rng)] += 1;
        }
        // Weight of item 1 is 1/H(10) ~ 34%, item 2 half of that.
        assert!((32_000..36_500).contains(&counts[0]), "{counts:?}");
        assert!(counts[0] > counts[1] && counts[1] > counts[4] && counts[4] > counts[9]);
        assert!(counts[9] > 0);
    }

    #[test]
    fn fractional_exponents_are_exact_powers() {
        assert_eq!(pow_quarters(16.0, 2), 4.0);
        assert_eq!(pow_quarters(16.0, 5), 32.0);
        assert_eq!(pow_quarters(7.0, 0), 1.0);
    }

    #[test]
    fn single_item_and_weights() {
        let mut rng = Rng::new(1);
        assert_eq!(Zipf::new(1, 2.0).sample(&mut rng), 0);
        let z = Zipf::from_weights(&[0.0, 1.0, 0.0]);
        assert!((0..1000).all(|_| z.sample(&mut rng) == 1));
    }

    #[test]
    #[should_panic(expected = "multiple of 0.25")]
    fn rejects_libm_exponents() {
        let _ = Zipf::new(3, 1.1);
    }
}
