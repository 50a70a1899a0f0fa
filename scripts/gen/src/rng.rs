//! A tiny deterministic PRNG (xoshiro256** seeded through splitmix64).
//!
//! Written here instead of using `rand` so that a given `--seed` yields byte-identical
//! output on every platform and every version of this tool: the algorithms are fixed,
//! use only integer arithmetic and never change under us.

/// One splitmix64 step: advances `state` and returns a well-mixed 64-bit value.
/// Used for seeding and for hashing small ids into independent streams.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256** generator.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator for `seed`; the four state words come from splitmix64 so that
    /// even seeds like 0 and 1 give unrelated, never all-zero states.
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let s = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        Rng { s }
    }

    /// An independent stream `stream` of `seed`: each output file (or client, model, ...)
    /// gets its own generator, so its content does not depend on thread scheduling or on
    /// how many other items were generated before it.
    pub fn derive(seed: u64, stream: u64) -> Self {
        let mut a = seed;
        let mut b = stream ^ 0x6A09_E667_F3BC_C909;
        Rng::new(splitmix64(&mut a) ^ splitmix64(&mut b).rotate_left(17))
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform integer in `0..n` (n > 0) by multiply-shift; the bias is below 2^-40 for
    /// the small ranges used here, and it needs no rejection loop.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform integer in `lo..=hi`.
    #[inline]
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform index into a slice of length `len`.
    #[inline]
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// True with probability `p`.
    #[inline]
    pub fn chance(&mut self, p: Prob) -> bool {
        self.next_u64() < p.0
    }

    /// Pick a uniformly random element.
    #[inline]
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }
}

/// A probability stored as a 64-bit threshold, so that drawing compares integers only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prob(u64);

impl Prob {
    /// `p` is clamped to 0..=1. Multiplying by 2^64 is exact in binary floating point, so
    /// the threshold is the same everywhere.
    pub fn new(p: f64) -> Self {
        let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        Prob((p * 18_446_744_073_709_551_616.0) as u64)
    }

    /// Probability `num / den`, for constants in the generators.
    pub const fn ratio(num: u64, den: u64) -> Self {
        if num >= den {
            Prob(u64::MAX)
        } else {
            Prob((((num as u128) << 64) / den as u128) as u64)
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Append `n` random lowercase hex digits (n <= 16) taken from one 64-bit draw.
#[inline]
pub fn push_hex(rng: &mut Rng, n: usize, out: &mut Vec<u8>) {
    debug_assert!(n <= 16);
    push_hex_of(rng.next_u64(), n, out);
}

/// Append the low `n` nibbles of `v` as lowercase hex, most significant first.
#[inline]
pub fn push_hex_of(v: u64, n: usize, out: &mut Vec<u8>) {
    for i in (0..n).rev() {
        out.push(HEX[((v >> (4 * i)) & 0xF) as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_sequence_never_changes() {
        // Pin the first outputs: if these change, every generated data set changes.
        let mut r = Rng::new(42);
        let first: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        let mut again = Rng::new(42);
        assert_eq!(first, (0..3).map(|_| again.next_u64()).collect::<Vec<_>>());
        assert_ne!(first, {
            let mut other = Rng::new(43);
            (0..3).map(|_| other.next_u64()).collect::<Vec<_>>()
        });
        // splitmix64 reference value for state 0.
        let mut s = 0;
        assert_eq!(splitmix64(&mut s), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn derived_streams_differ() {
        let a = Rng::derive(7, 1).next_u64();
        let b = Rng::derive(7, 2).next_u64();
        let c = Rng::derive(8, 1).next_u64();
        assert!(a != b && a != c && b != c);
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut r = Rng::new(1);
        let mut seen = [false; 7];
        for _ in 0..1000 {
            let v = r.below(7) as usize;
            seen[v] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn probabilities() {
        let mut r = Rng::new(3);
        assert!(!(0..1000).any(|_| r.chance(Prob::new(0.0))));
        assert!((0..1000).all(|_| r.chance(Prob::new(1.0))));
        let hits = (0..100_000)
            .filter(|_| r.chance(Prob::ratio(1, 10)))
            .count();
        assert!((9_000..11_000).contains(&hits), "{hits}");
    }

    #[test]
    fn hex() {
        let mut out = Vec::new();
        push_hex_of(0xDEAD_BEEF, 8, &mut out);
        assert_eq!(out, b"deadbeef");
    }
}
