//! Finding a line's end and its TABs in one pass.
//!
//! Most lines are dropped after a look at one early field, so the per-line cost that matters
//! is finding where the line ends and where its fields are. Both come from one scan of 64-byte
//! windows that yields a bitmask of TABs and one of newlines per window (AVX-512BW or AVX2
//! where the CPU has it, else SSE2, which every x86-64 CPU has; plain byte compares
//! elsewhere; AVX-512 saved 0.6% of a run over AVX2). The scan only
//! keeps each window's TAB mask and counts the TABs (the field count is checked on every
//! line). TAB positions are read off the masks later, as far as the parser asks
//! ([`Tabs::positions`]): the filters' few early fields for a line that is dropped, more for a
//! kept one. They are read eight at a time without a branch per TAB ([`push_bits`]), instead
//! of one `memchr` call per field.

/// The TABs of one line: a mask per 64-byte window, and the positions read off them so far.
#[derive(Debug, Default)]
pub struct Tabs {
    /// Bit i of mask w: byte 64 * w + i of the line is a TAB (none past the line's end).
    masks: Vec<u64>,
    /// How many of `masks` belong to the current line.
    windows: usize,
    /// Positions relative to the line's start, then slack: [`push_bits`] writes whole groups
    /// of eight, so there are always at least 64 slots past `stored` before a mask is read.
    slots: Vec<usize>,
    /// How many of `slots` hold positions: the TABs of the first `read` windows.
    stored: usize,
    /// How many windows' TABs are in `slots`.
    read: usize,
    /// How many TABs the line has.
    total: usize,
}

impl Tabs {
    /// The positions of at least the first `n` TABs (all of them when the line has fewer),
    /// relative to the line's start.
    #[inline]
    pub fn positions(&mut self, n: usize) -> &[usize] {
        if self.stored < n && self.read < self.windows {
            self.extract_fastest(n);
        }
        &self.slots[..self.stored]
    }

    #[cfg(target_arch = "x86_64")]
    fn extract_fastest(&mut self, n: usize) {
        if std::arch::is_x86_feature_detected!("popcnt")
            && std::arch::is_x86_feature_detected!("bmi1")
        {
            // SAFETY: the CPU has POPCNT and BMI1, just checked.
            unsafe { self.extract_bmi(n) }
        } else {
            self.extract(n)
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn extract_fastest(&mut self, n: usize) {
        self.extract(n)
    }

    /// [`Tabs::extract`] with the one-instruction bit count, lowest-bit clear and trailing-zero
    /// count (the baseline's take several instructions each: a third of the time).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt,bmi1")]
    fn extract_bmi(&mut self, n: usize) {
        self.extract(n)
    }

    /// Reads positions off the masks until there are at least `n` or none are left.
    #[inline(always)]
    fn extract(&mut self, n: usize) {
        while self.stored < n && self.read < self.windows {
            if self.slots.len() < self.stored + 64 {
                self.slots.resize(self.stored + 64 + self.slots.len(), 0);
            }
            let mask = self.masks[self.read];
            push_bits(
                mask,
                64 * self.read,
                &mut self.slots[self.stored..self.stored + 64],
            );
            self.stored += mask.count_ones() as usize;
            self.read += 1;
        }
    }

    /// The number of TABs in the line (fields = TABs + 1).
    pub fn total(&self) -> usize {
        self.total
    }
}

/// Finds the end of the line that starts at `start` in `data` (the index of its `\n`, or
/// `data.len()` for a last line without one) and its TABs, which `tabs` then holds (replacing
/// what it held).
#[inline]
pub fn split_line(data: &[u8], start: usize, tabs: &mut Tabs) -> usize {
    find_tabs_fastest(data, start, tabs)
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn find_tabs_fastest(data: &[u8], start: usize, tabs: &mut Tabs) -> usize {
    if std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("popcnt")
    {
        // SAFETY: the CPU has AVX-512BW and POPCNT, just checked.
        unsafe { find_tabs_avx512(data, start, tabs) }
    } else if std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("popcnt")
    {
        // SAFETY: the CPU has AVX2 and POPCNT, just checked.
        unsafe { find_tabs_avx2(data, start, tabs) }
    } else {
        find_tabs(data, start, tabs, masks)
    }
}

/// [`find_tabs`] with one 64-byte compare per byte class, straight into a bitmask.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512bw,popcnt")]
fn find_tabs_avx512(data: &[u8], start: usize, tabs: &mut Tabs) -> usize {
    find_tabs(data, start, tabs, |window| masks_avx512(window))
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn find_tabs_fastest(data: &[u8], start: usize, tabs: &mut Tabs) -> usize {
    find_tabs(data, start, tabs, masks)
}

/// [`find_tabs`] compiled for AVX2 (so its mask function inlines), with the one-instruction
/// bit count.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
fn find_tabs_avx2(data: &[u8], start: usize, tabs: &mut Tabs) -> usize {
    find_tabs(data, start, tabs, |window| masks_avx2(window))
}

#[inline(always)]
fn find_tabs(
    data: &[u8],
    start: usize,
    tabs: &mut Tabs,
    masks: impl Fn(&[u8; 64]) -> (u64, u64),
) -> usize {
    // Counts kept in locals: stores into the masks could otherwise alias them.
    let (mut windows, mut total) = (0, 0);
    let mut base = start;
    let end = loop {
        if base >= data.len() {
            break data.len();
        }
        let (mut tab, newline) = match data.get(base..base + 64) {
            Some(window) => masks(window.try_into().expect("64 bytes")),
            None => {
                // The end of the data: zero padding holds neither TAB nor newline.
                let mut padded = [0u8; 64];
                padded[..data.len() - base].copy_from_slice(&data[base..]);
                masks(&padded)
            }
        };
        if newline != 0 {
            tab &= (1u64 << newline.trailing_zeros()) - 1;
        }
        total += tab.count_ones() as usize;
        if windows == tabs.masks.len() {
            tabs.masks.resize(2 * windows + 16, 0);
        }
        tabs.masks[windows] = tab;
        windows += 1;
        if newline != 0 {
            break base + newline.trailing_zeros() as usize;
        }
        base += 64;
    };
    tabs.windows = windows;
    tabs.total = total;
    tabs.stored = 0;
    tabs.read = 0;
    end
}

/// Writes `offset + i` for every set bit i of `bits`, lowest first, to the start of `slots`.
/// Writes eight slots per step whatever the count (the slots past the count are slack), so
/// the usual window of a few TABs costs no branch per TAB.
#[inline(always)]
fn push_bits(mut bits: u64, offset: usize, slots: &mut [usize]) {
    let n = bits.count_ones() as usize;
    let mut at = 0;
    loop {
        let group: &mut [usize; 8] = (&mut slots[at..at + 8]).try_into().expect("eight slots");
        for slot in group {
            // An empty `bits` writes offset + 64: slack, never read.
            *slot = offset + bits.trailing_zeros() as usize;
            bits &= bits.wrapping_sub(1);
        }
        at += 8;
        if at >= n {
            break;
        }
    }
}

/// The TAB and newline bitmasks of a 64-byte window (bit i is byte i).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn masks(window: &[u8; 64]) -> (u64, u64) {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of the x86-64 baseline, so these intrinsics are always available;
    // each 16-byte load lies inside `window` (i < 4) and loadu takes any alignment.
    unsafe {
        let (tab_byte, newline_byte) = (_mm_set1_epi8(b'\t' as i8), _mm_set1_epi8(b'\n' as i8));
        let (mut tab, mut newline) = (0u64, 0u64);
        for i in 0..4 {
            let v = _mm_loadu_si128(window.as_ptr().add(16 * i).cast::<__m128i>());
            let t = _mm_movemask_epi8(_mm_cmpeq_epi8(v, tab_byte)) as u32 as u64;
            let n = _mm_movemask_epi8(_mm_cmpeq_epi8(v, newline_byte)) as u32 as u64;
            tab |= t << (16 * i);
            newline |= n << (16 * i);
        }
        (tab, newline)
    }
}

/// [`masks`] with two 32-byte compares per byte class.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn masks_avx2(window: &[u8; 64]) -> (u64, u64) {
    use std::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_set1_epi8,
    };
    let (tab_byte, newline_byte) = (_mm256_set1_epi8(b'\t' as i8), _mm256_set1_epi8(b'\n' as i8));
    // SAFETY: both 32-byte loads lie inside `window`; loadu takes any alignment.
    let (lo, hi) = unsafe {
        let p = window.as_ptr().cast::<__m256i>();
        (_mm256_loadu_si256(p), _mm256_loadu_si256(p.add(1)))
    };
    let bits = |v, byte| _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, byte)) as u32 as u64;
    (
        bits(lo, tab_byte) | bits(hi, tab_byte) << 32,
        bits(lo, newline_byte) | bits(hi, newline_byte) << 32,
    )
}

/// [`masks`] with AVX-512BW.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512bw")]
#[inline]
fn masks_avx512(window: &[u8; 64]) -> (u64, u64) {
    use std::arch::x86_64::{
        __m512i, _mm512_cmpeq_epi8_mask, _mm512_loadu_si512, _mm512_set1_epi8,
    };
    // SAFETY: the 64-byte load is `window`; loadu takes any alignment.
    let v = unsafe { _mm512_loadu_si512(window.as_ptr().cast::<__m512i>()) };
    (
        _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\t' as i8)),
        _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\n' as i8)),
    )
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn masks(window: &[u8; 64]) -> (u64, u64) {
    let (mut tab, mut newline) = (0u64, 0u64);
    for (i, &c) in window.iter().enumerate() {
        tab |= u64::from(c == b'\t') << i;
        newline |= u64::from(c == b'\n') << i;
    }
    (tab, newline)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(data: &[u8], start: usize) -> (usize, Vec<usize>) {
        let end = data[start..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(data.len(), |i| start + i);
        let tabs = data[start..end]
            .iter()
            .enumerate()
            .filter(|(_, &c)| c == b'\t')
            .map(|(i, _)| i)
            .collect();
        (end, tabs)
    }

    #[cfg(target_arch = "x86_64")]
    type Find = unsafe fn(&[u8], usize, &mut Tabs) -> usize;

    #[test]
    fn finds_every_line_end_and_tab_at_every_offset() {
        let mut data: Vec<u8> = Vec::new();
        for i in 0..400u32 {
            data.push(match i % 11 {
                0 | 3 | 4 => b'\t',
                1 => 0x08,
                2 => 0x0b,
                5 => 0x89,
                7 if i % 37 < 9 => b'\n',
                _ => (i % 256) as u8,
            });
        }
        let mut tabs = Tabs::default();
        for end in [data.len(), 333, 130, 64, 63, 1, 0] {
            let data = &data[..end];
            for start in 0..=data.len() {
                let (want_end, want_tabs) = naive(data, start);
                // At least the first `limit` positions, asked for in one or two steps, and
                // every TAB counted.
                let check = |got: usize, tabs: &mut Tabs, limits: &[usize]| {
                    assert_eq!((got, tabs.total()), (want_end, want_tabs.len()));
                    for &limit in limits {
                        let kept = tabs.positions(limit);
                        assert!(kept.len() >= limit.min(want_tabs.len()));
                        assert_eq!(
                            kept,
                            &want_tabs[..kept.len()],
                            "{start} of {end}, limit {limit}"
                        );
                    }
                };
                for limits in [
                    &[usize::MAX][..],
                    &[0],
                    &[1, 7],
                    &[9, 30],
                    &[7, 200],
                    &[30, 0],
                ] {
                    let got = split_line(data, start, &mut tabs);
                    check(got, &mut tabs, limits);
                    // Every other way this CPU has too, whichever split_line picked.
                    let got = find_tabs(data, start, &mut tabs, masks);
                    check(got, &mut tabs, limits);
                    #[cfg(target_arch = "x86_64")]
                    for (has, find) in [
                        (is_x86_feature_detected!("avx2"), find_tabs_avx2 as Find),
                        (is_x86_feature_detected!("avx512bw"), find_tabs_avx512),
                    ] {
                        if has && is_x86_feature_detected!("popcnt") {
                            // SAFETY: the CPU has the features `find` is compiled for.
                            let got = unsafe { find(data, start, &mut tabs) };
                            check(got, &mut tabs, limits);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn long_lines_and_edges() {
        let mut tabs = Tabs::default();
        let many = vec![b'\t'; 8 * 600 + 3];
        assert_eq!(split_line(&many, 0, &mut tabs), many.len());
        assert_eq!(tabs.total(), many.len());
        // A limit reads the first ones (a window's worth at least).
        assert_eq!(tabs.positions(10), (0..64).collect::<Vec<_>>());
        assert_eq!(
            tabs.positions(usize::MAX),
            (0..many.len()).collect::<Vec<_>>()
        );
        assert_eq!(split_line(b"a\tb\t\nc", 0, &mut tabs), 4);
        assert_eq!(tabs.positions(usize::MAX), [1, 3]);
        assert_eq!(split_line(b"a\tb\t\nc", 5, &mut tabs), 6);
        assert!(tabs.positions(usize::MAX).is_empty());
        assert_eq!(split_line(b"\n", 0, &mut tabs), 0);
        assert_eq!(split_line(b"", 0, &mut tabs), 0);
        assert_eq!(tabs.total(), 0);
    }
}
