//! Finding the first byte of a small set, 16 bytes at a time.
//!
//! Writers and parsers spend their time asking "how far can this run of bytes be copied as it
//! is?": up to the next quote or backslash of a JSON string, the next delimiter or quote of a
//! CSV field. [`find_stop`] answers with SSE2 compares (part of every x86-64 CPU), falling
//! back to a byte loop elsewhere and for the last few bytes.

/// The bytes a scan stops at: up to four given bytes, and optionally every control byte
/// (below 0x20) and every non-ASCII byte (0x80 and above).
#[derive(Clone, Copy, Debug)]
pub struct Stops {
    bytes: [u8; 4],
    control: bool,
    non_ascii: bool,
}

impl Stops {
    /// Stops at any of `bytes` (one to four of them).
    pub const fn new(bytes: &[u8]) -> Stops {
        assert!(!bytes.is_empty() && bytes.len() <= 4);
        // Unused slots repeat the first byte, so every slot can be compared.
        let mut all = [bytes[0]; 4];
        let mut i = 0;
        while i < bytes.len() {
            all[i] = bytes[i];
            i += 1;
        }
        Stops {
            bytes: all,
            control: false,
            non_ascii: false,
        }
    }

    /// Also stops at bytes below 0x20.
    pub const fn control(mut self) -> Stops {
        self.control = true;
        self
    }

    /// Also stops at bytes 0x80 and above.
    pub const fn non_ascii(mut self) -> Stops {
        self.non_ascii = true;
        self
    }

    #[inline(always)]
    fn stops_at(&self, c: u8) -> bool {
        self.bytes.contains(&c) || (self.control && c < 0x20) || (self.non_ascii && c >= 0x80)
    }

    /// Bit k set when `window[k]` is a stop.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    pub fn mask16(&self, window: &[u8; 16]) -> u32 {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8,
            _mm_or_si128, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of the x86-64 baseline; the load reads the 16 bytes of
        // `window` and loadu takes any alignment.
        unsafe {
            let [a, b, c, d] = self.bytes.map(|x| _mm_set1_epi8(x as i8));
            let v = _mm_loadu_si128(window.as_ptr().cast::<__m128i>());
            let mut hit = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, a), _mm_cmpeq_epi8(v, b)),
                _mm_or_si128(_mm_cmpeq_epi8(v, c), _mm_cmpeq_epi8(v, d)),
            );
            if self.control {
                // min(v, 0x1f) == v exactly when v <= 0x1f (unsigned).
                let below_space = _mm_set1_epi8(0x1f);
                hit = _mm_or_si128(hit, _mm_cmpeq_epi8(_mm_min_epu8(v, below_space), v));
            }
            let mut mask = _mm_movemask_epi8(hit) as u32;
            if self.non_ascii {
                // The movemask of the bytes themselves is their top bits.
                mask |= _mm_movemask_epi8(v) as u32;
            }
            mask
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    #[inline(always)]
    pub fn mask16(&self, window: &[u8; 16]) -> u32 {
        let mut mask = 0;
        for (k, &c) in window.iter().enumerate() {
            mask |= u32::from(self.stops_at(c)) << k;
        }
        mask
    }
}

/// The 16 bytes of `s` at `at`, if there are that many.
#[inline(always)]
fn window(s: &[u8], at: usize) -> Option<&[u8; 16]> {
    s.get(at..at.checked_add(16)?)?.try_into().ok()
}

/// The 16 bytes of `s` from `at`, zero-padded past its end, and how many are from `s`
/// (`at` must not be past the end).
#[inline(always)]
pub fn padded_window(s: &[u8], at: usize) -> ([u8; 16], usize) {
    match window(s, at) {
        Some(w) => (*w, 16),
        None => {
            let mut padded = [0u8; 16];
            let n = s.len() - at;
            padded[..n].copy_from_slice(&s[at..]);
            (padded, n)
        }
    }
}

/// The first position at or after `from` whose byte is in `stops`, or `s.len()`.
#[inline(always)]
pub fn find_stop(s: &[u8], from: usize, stops: &Stops) -> usize {
    let mut i = from;
    while let Some(w) = window(s, i) {
        let mask = stops.mask16(w);
        if mask != 0 {
            return i + mask.trailing_zeros() as usize;
        }
        i += 16;
    }
    // The last few bytes: the window of the last 16, less the bytes before `i` that were
    // checked already (a byte loop here cost a quarter of cflog-parse's writing).
    if i < s.len() && s.len() >= 16 {
        let at = s.len() - 16;
        let mask = window(s, at).map_or(0, |w| stops.mask16(w)) >> (i - at);
        return if mask != 0 {
            i + mask.trailing_zeros() as usize
        } else {
            s.len()
        };
    }
    while i < s.len() && !stops.stops_at(s[i]) {
        i += 1;
    }
    i
}

/// Appends `s[from..k]` to `out` and returns k, the [`find_stop`] position. Copies a whole
/// 16-byte window at a time and cuts off what lies past k, so the short runs between escapes
/// (`%20` in a user agent) cost no call to `memcpy` each.
#[inline(always)]
pub fn copy_until(s: &[u8], from: usize, stops: &Stops, out: &mut Vec<u8>) -> usize {
    let mut i = from;
    while let Some(w) = window(s, i) {
        let mask = stops.mask16(w);
        let len = out.len();
        out.extend_from_slice(w);
        if mask != 0 {
            let n = mask.trailing_zeros() as usize;
            out.truncate(len + n);
            return i + n;
        }
        i += 16;
    }
    let end = find_stop(s, i, stops);
    out.extend_from_slice(&s[i..end]);
    end
}

/// Whether `a` and `b` hold the same bytes. For the short keys of the tools' memos (paths,
/// addresses): words compared inline, the last one overlapping, where a call to `memcmp`
/// costs more than the compare.
#[inline(always)]
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().expect("4 bytes"));
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=64 => {
            let mut at = 0;
            while at + 8 < n {
                if word(a, at) != word(b, at) {
                    return false;
                }
                at += 8;
            }
            word(a, n - 8) == word(b, n - 8)
        }
        _ => a == b,
    }
}

/// Appends `s[start..end]`. A span of up to `N` bytes, with `N` bytes of `s` from `start`,
/// goes as one copy of a fixed `N` bytes cut back to size: inlined moves instead of a call
/// to `memcpy`, which costs more than the copy for the short values records are made of.
#[inline(always)]
pub fn append_span<const N: usize>(out: &mut Vec<u8>, s: &[u8], start: usize, end: usize) {
    match s.get(start..start + N) {
        Some(window) if end - start <= N => {
            let len = out.len();
            out.extend_from_slice(<&[u8; N]>::try_from(window).expect("N bytes"));
            out.truncate(len + end - start);
        }
        _ => out.extend_from_slice(&s[start..end]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_agrees_with_slice_equality() {
        let base: Vec<u8> = (0..80u8).map(|i| i.wrapping_mul(37)).collect();
        for n in 0..80 {
            let a = &base[..n];
            assert!(same_bytes(a, a));
            assert!(!same_bytes(a, &base[..n + 1]));
            for k in 0..n {
                let mut b = a.to_vec();
                b[k] ^= 0x20;
                assert!(!same_bytes(a, &b), "length {n}, byte {k}");
            }
        }
    }

    fn naive(s: &[u8], from: usize, stops: &Stops) -> usize {
        (from..s.len())
            .find(|&i| stops.stops_at(s[i]))
            .unwrap_or(s.len())
    }

    #[test]
    fn every_byte_at_every_offset() {
        let sets = [
            Stops::new(b"\""),
            Stops::new(b"\"\\").control(),
            Stops::new(b",\"\r\n").non_ascii(),
            Stops::new(b"\"\\").control().non_ascii(),
        ];
        for stops in &sets {
            for byte in 0..=255u8 {
                // Lengths around the 16-byte windows, so the last window overlaps by every
                // amount and short slices take the byte loop.
                for len in [1, 2, 15, 16, 17, 20, 31, 32, 33, 40] {
                    for at in [0, 1, 14, 15, 16, 17, 19, 30, 31, 32, 33, 39] {
                        if at >= len {
                            continue;
                        }
                        let mut s = vec![b'x'; len];
                        s[at] = byte;
                        for from in [0, 1, 2, 15, 16, 17, 20, 24, 39, 40] {
                            if from > len {
                                continue;
                            }
                            assert_eq!(
                                find_stop(&s, from, stops),
                                naive(&s, from, stops),
                                "{stops:?} byte {byte:#x} at {at} from {from} in {len}"
                            );
                        }
                    }
                }
            }
            assert_eq!(find_stop(b"", 0, stops), 0);
        }
    }

    #[test]
    fn copy_until_copies_up_to_the_stop() {
        let stops = Stops::new(b"%");
        let mut out = b"prefix".to_vec();
        for len in [0, 1, 15, 16, 17, 31, 32, 33, 50] {
            for at in 0..=len {
                let mut s = vec![b'y'; len];
                if at < len {
                    s[at] = b'%';
                }
                for from in [0, 1, 15, 16, 17] {
                    if from > len {
                        continue;
                    }
                    out.truncate(6);
                    let end = copy_until(&s, from, &stops, &mut out);
                    assert_eq!(end, naive(&s, from, &stops), "{at} from {from} in {len}");
                    assert_eq!(&out[6..], &s[from..end]);
                    assert_eq!(&out[..6], b"prefix");
                }
            }
        }
    }

    #[test]
    fn append_span_appends_exactly_the_span() {
        let s: Vec<u8> = (0..40).collect();
        for start in 0..=s.len() {
            for end in start..=s.len() {
                let mut out = b"ab".to_vec();
                append_span::<16>(&mut out, &s, start, end);
                assert_eq!(&out[2..], &s[start..end], "{start}..{end}");
                assert_eq!(&out[..2], b"ab");
            }
        }
    }
}
