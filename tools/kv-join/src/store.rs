//! The rows of the look-up table, packed for fast probes of a large table.
//!
//! A row's key and its two pre-rendered suffixes (NDJSON, TSV) sit side by side in one arena
//! behind a small header; an open-addressing index of 8-byte words (a 16-bit hash tag and the
//! row's arena offset) finds them. With a million rows nearly every probe misses the caches
//! twice (the index word, then the row), so [`RowStore::get_batch`] looks up a block's keys
//! together: it hashes them all and prefetches their index words, then reads the words and
//! prefetches the rows, and only then compares keys. The misses of a batch overlap instead
//! of being waited for one after another. Loading works the same way: rows are written to the
//! arena as they come, and wait for the index until a batch is full; then the batch's index
//! words are prefetched together, and each row is checked for its key and indexed.

use std::hash::BuildHasher;
use std::mem::take;

use hashbrown::DefaultHashBuilder;
use onebox::bytescan::same_bytes;

/// Row header: key length, NDJSON suffix length, TSV suffix length (u32 each), line (u64).
const HEADER: usize = 20;

/// An index word: the hash's top 16 bits, then the row's arena offset plus one (0 is empty).
const TAG_SHIFT: u32 = 48;
const OFFSET_MASK: u64 = (1 << TAG_SHIFT) - 1;

/// Keys looked up together by [`RowStore::get_batch`]: enough misses in flight to cover the
/// memory latency, few enough that the prefetched lines are still cached when used.
const BATCH: usize = 32;

/// A key that two rows of the table have, reported by [`RowStore::insert`] and
/// [`RowStore::finish`].
#[derive(Debug, PartialEq, Eq)]
pub struct Duplicate {
    pub key: Vec<u8>,
    /// The line of the row already in the table, then of the row with the same key.
    pub lines: (u64, u64),
}

/// A row found by a look-up: where its suffixes are in the arena.
#[derive(Clone, Copy, Debug)]
pub struct RowRef {
    offset: usize,
}

/// Keys to (NDJSON suffix, TSV suffix).
pub struct RowStore {
    arena: Vec<u8>,
    /// Power-of-two sized, at most half full, linear probing.
    index: Vec<u64>,
    len: usize,
    hasher: DefaultHashBuilder,
    /// Of two rows with one key, the later one is kept (else the first).
    replace: bool,
    /// Rows waiting for their batch (already at the arena's end, not yet in the index): each
    /// one's hash and offset.
    pending: Vec<(u64, usize)>,
}

impl RowStore {
    /// An empty store; of two rows with one key it keeps the later with `replace`, else the
    /// first.
    pub fn new(replace: bool) -> Self {
        RowStore {
            arena: Vec::new(),
            index: vec![0; 16],
            len: 0,
            hasher: DefaultHashBuilder::default(),
            replace,
            pending: Vec::with_capacity(BATCH),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a row. Its key is checked against the others when its batch is placed, so a
    /// duplicate key may be reported by a later call (or by [`RowStore::finish`]), naming
    /// the earliest pair in the batch.
    pub fn insert(&mut self, key: &[u8], json: &[u8], tsv: &[u8], line: u64) -> Option<Duplicate> {
        let hash = self.hasher.hash_one(key);
        self.pending.push((hash, self.arena.len()));
        write_row(&mut self.arena, key, json, tsv, line);
        if self.pending.len() < BATCH {
            return None;
        }
        self.place_pending()
    }

    /// Makes room in the index for `rows` rows in all, so a table of about that many loads
    /// without regrowing it (each regrowth re-places every row), but with an index of at most
    /// `max_bytes`: an estimate too high costs no more than that. The index takes memory as
    /// look-ups touch it, all of it for a big table.
    pub fn reserve(&mut self, rows: usize, max_bytes: usize) {
        let max_slots = (max_bytes / std::mem::size_of::<u64>()).max(1);
        let mut slots = rows.saturating_mul(2).min(max_slots).next_power_of_two();
        if slots > max_slots {
            slots /= 2;
        }
        if slots > self.index.len() {
            self.grow_to(slots / 2);
        }
    }

    /// Places the last rows and gives back the spare capacity of loading; the store is then
    /// ready for look-ups.
    pub fn finish(&mut self) -> Option<Duplicate> {
        let duplicate = self.place_pending();
        self.arena.shrink_to_fit();
        duplicate
    }

    /// Places the pending rows, their index slots prefetched together first. A row whose key
    /// is already there takes its place (`replace`; the old row's bytes stay in the arena,
    /// unused) or is left out: the kept rows of the batch move down over it, so rows left out
    /// take no room.
    fn place_pending(&mut self) -> Option<Duplicate> {
        if (self.len + self.pending.len()) * 2 > self.index.len() {
            self.grow();
        }
        for &(hash, _) in &self.pending {
            prefetch(&self.index[self.home(hash)]);
        }
        let mut first = None;
        let pending = take(&mut self.pending);
        // Where the next kept row goes.
        let mut kept_end = pending.first().map_or(self.arena.len(), |&(_, at)| at);
        for &(hash, offset) in &pending {
            let key = key_at(&self.arena, offset);
            let slot = match self.find_slot(key, hash) {
                Err(empty) => {
                    self.len += 1;
                    empty
                }
                Ok(slot) => {
                    if first.is_none() {
                        first = Some(Duplicate {
                            key: key.to_vec(),
                            lines: (
                                self.row_line(self.index[slot]),
                                line_at(&self.arena, offset),
                            ),
                        });
                    }
                    if !self.replace {
                        continue;
                    }
                    slot
                }
            };
            let len = row_len(&self.arena, offset);
            if offset != kept_end {
                self.arena.copy_within(offset..offset + len, kept_end);
            }
            self.index[slot] = index_word(hash, kept_end);
            kept_end += len;
        }
        self.arena.truncate(kept_end);
        self.pending = pending;
        self.pending.clear();
        first
    }

    /// The row of `key`: its NDJSON and TSV suffixes.
    pub fn get(&self, key: &[u8]) -> Option<(&[u8], &[u8])> {
        debug_assert!(
            self.pending.is_empty(),
            "look-ups only once finish has placed every row"
        );
        let slot = self.find_slot(key, self.hasher.hash_one(key)).ok()?;
        Some(self.suffixes(self.row_of(self.index[slot])))
    }

    /// Looks up `keys[i]` (None: no key) into `found[i]`, a batch at a time (see the module
    /// docs). `found` is cleared first.
    pub fn get_batch(&self, keys: &[Option<&[u8]>], found: &mut Vec<Option<RowRef>>) {
        debug_assert!(
            self.pending.is_empty(),
            "look-ups only once finish has placed every row"
        );
        found.clear();
        let mut hashes = [0u64; BATCH];
        for batch in keys.chunks(BATCH) {
            for (key, hash) in batch.iter().zip(&mut hashes) {
                if let Some(key) = key {
                    *hash = self.hasher.hash_one(key);
                    prefetch(&self.index[self.home(*hash)]);
                }
            }
            for (key, &hash) in batch.iter().zip(&hashes) {
                if key.is_some() {
                    if let Some(word) = self.first_candidate(hash) {
                        let row = &self.arena[self.row_of(word).offset..];
                        prefetch(&row[0]);
                        if let Some(next) = row.get(64) {
                            prefetch(next);
                        }
                    }
                }
            }
            found.extend(batch.iter().zip(&hashes).map(|(key, &hash)| {
                let slot = self.find_slot((*key)?, hash).ok()?;
                Some(self.row_of(self.index[slot]))
            }));
        }
    }

    /// The NDJSON and TSV suffixes of a found row.
    #[inline]
    pub fn suffixes(&self, row: RowRef) -> (&[u8], &[u8]) {
        let h = &self.arena[row.offset..row.offset + HEADER];
        let (key_len, json_len, tsv_len) = (u32_at(h, 0), u32_at(h, 4), u32_at(h, 8));
        let json = row.offset + HEADER + key_len;
        let tsv = json + json_len;
        (&self.arena[json..tsv], &self.arena[tsv..tsv + tsv_len])
    }

    /// The slot holding `key` (Ok), or the empty slot where it would go (Err).
    #[inline]
    fn find_slot(&self, key: &[u8], hash: u64) -> Result<usize, usize> {
        self.probe(hash, |word| same_bytes(self.row_key(word), key))
    }

    /// The first occupied word of `hash`'s probe sequence whose tag matches, for prefetching.
    #[inline]
    fn first_candidate(&self, hash: u64) -> Option<u64> {
        self.probe(hash, |_| true).ok().map(|slot| self.index[slot])
    }

    /// Walks `hash`'s probe sequence: the first slot whose word has the hash's tag and passes
    /// `is_match` (Ok), or the empty slot that ends the sequence (Err).
    #[inline(always)]
    fn probe(&self, hash: u64, is_match: impl Fn(u64) -> bool) -> Result<usize, usize> {
        let mask = self.index.len() - 1;
        let tag = hash >> TAG_SHIFT;
        let mut slot = self.home(hash);
        loop {
            let word = self.index[slot];
            if word == 0 {
                return Err(slot);
            }
            if word >> TAG_SHIFT == tag && is_match(word) {
                return Ok(slot);
            }
            slot = (slot + 1) & mask;
        }
    }

    #[inline]
    fn home(&self, hash: u64) -> usize {
        hash as usize & (self.index.len() - 1)
    }

    #[inline]
    fn row_of(&self, word: u64) -> RowRef {
        RowRef {
            offset: (word & OFFSET_MASK) as usize - 1,
        }
    }

    #[inline]
    fn row_key(&self, word: u64) -> &[u8] {
        key_at(&self.arena, self.row_of(word).offset)
    }

    fn row_line(&self, word: u64) -> u64 {
        line_at(&self.arena, self.row_of(word).offset)
    }

    /// Doubles the index (more if a batch needs it) and re-places every word.
    fn grow(&mut self) {
        self.grow_to(self.len + self.pending.len());
    }

    /// Makes room for `rows` rows in the index: at least doubles it, until `rows` fill at
    /// most half, and re-places every word; the rows of a batch of words are prefetched
    /// before their keys are hashed.
    fn grow_to(&mut self, rows: usize) {
        let mut size = self.index.len() * 2;
        while rows * 2 > size {
            size *= 2;
        }
        let old = std::mem::replace(&mut self.index, vec![0; size]);
        for batch in old.chunks(BATCH) {
            for &word in batch.iter().filter(|&&w| w != 0) {
                prefetch(&self.arena[self.row_of(word).offset]);
            }
            for &word in batch.iter().filter(|&&w| w != 0) {
                let hash = self.hasher.hash_one(self.row_key(word));
                let Err(empty) = self.probe(hash, |_| false) else {
                    unreachable!("a probe that matches nothing ends at an empty slot")
                };
                self.index[empty] = word;
            }
        }
    }
}

/// The index word of the row at arena `offset` with `hash`.
fn index_word(hash: u64, offset: usize) -> u64 {
    let offset = offset as u64;
    assert!(offset < OFFSET_MASK, "a table arena under 256 TiB");
    (hash >> TAG_SHIFT) << TAG_SHIFT | (offset + 1)
}

/// Lays out a row as the arena holds it: the header, then the key and the two suffixes.
fn write_row(out: &mut Vec<u8>, key: &[u8], json: &[u8], tsv: &[u8], line: u64) {
    for part in [key, json, tsv] {
        out.extend_from_slice(&len32(part).to_le_bytes());
    }
    out.extend_from_slice(&line.to_le_bytes());
    for part in [key, json, tsv] {
        out.extend_from_slice(part);
    }
}

/// The length of the row at `offset` in `bytes`, header included.
fn row_len(bytes: &[u8], offset: usize) -> usize {
    let h = &bytes[offset..];
    HEADER + u32_at(h, 0) + u32_at(h, 4) + u32_at(h, 8)
}

/// The key of the row at `offset` in `bytes`.
#[inline]
fn key_at(bytes: &[u8], offset: usize) -> &[u8] {
    let key_len = u32_at(&bytes[offset..], 0);
    &bytes[offset + HEADER..offset + HEADER + key_len]
}

/// The table line of the row at `offset` in `bytes`.
fn line_at(bytes: &[u8], offset: usize) -> u64 {
    let at = offset + 12;
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

#[inline]
fn u32_at(bytes: &[u8], at: usize) -> usize {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize
}

/// Lengths are stored as u32: one key or rendered row of 4 GiB is not a look-up table.
fn len32(bytes: &[u8]) -> u32 {
    u32::try_from(bytes.len()).expect("a table row under 4 GiB")
}

/// Asks the CPU to start loading the cache line of `at` (a hint: no effect on results).
#[inline(always)]
fn prefetch<T>(at: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint that never faults, and SSE is part of the x86-64 baseline.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch((at as *const T).cast::<i8>(), _MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_found_and_duplicates_follow_replace() {
        for replace in [false, true] {
            let mut s = RowStore::new(replace);
            assert!(s.insert(b"a", b",1", b"\t1", 2).is_none());
            assert!(s.insert(b"", b",e", b"\te", 3).is_none());
            assert!(
                s.insert(b"a", b",2", b"\t2", 4).is_none(),
                "found with its batch"
            );
            assert!(s.insert(b"a", b",3", b"\t3", 5).is_none());
            let first = Duplicate {
                key: b"a".to_vec(),
                lines: (2, 4),
            };
            assert_eq!(s.finish(), Some(first));
            let kept = if replace { ",3" } else { ",1" };
            assert_eq!(
                s.get(b"a"),
                Some((kept.as_bytes(), &kept.replace(',', "\t").into_bytes()[..]))
            );
            assert_eq!(s.get(b""), Some((&b",e"[..], &b"\te"[..])));
            assert!(s.get(b"b").is_none());
            assert_eq!(s.len(), 2);
        }
    }

    #[test]
    fn many_rows_across_batches_and_growth() {
        let mut s = RowStore::new(false);
        for i in 0..10_000u32 {
            let dup = s.insert(
                i.to_string().as_bytes(),
                &i.to_le_bytes(),
                b"",
                u64::from(i),
            );
            assert!(dup.is_none());
        }
        // A duplicate far from its first row, in a later batch.
        assert!(s.insert(b"17", b"x", b"", 10_000).is_none());
        let dup = s.finish().expect("17 twice");
        assert_eq!((dup.key, dup.lines), (b"17".to_vec(), (17, 10_000)));
        for i in 0..10_000u32 {
            assert_eq!(s.get(i.to_string().as_bytes()).unwrap().0, i.to_le_bytes());
        }
        assert_eq!(s.len(), 10_000);
    }

    #[test]
    fn reserving_midway_keeps_every_row_placed_and_pending() {
        for reserve_at in [0, 31, 32, 1000] {
            let mut s = RowStore::new(false);
            for i in 0..3_000u32 {
                if i == reserve_at {
                    // Rows already placed and rows still pending both survive the regrowth.
                    s.reserve(3_000, 100_000);
                }
                assert!(s.insert(i.to_string().as_bytes(), b"j", b"t", 0).is_none());
            }
            assert!(s.insert(b"5", b"x", b"", 3_000).is_none());
            assert!(s.finish().is_some(), "5 twice, reserve at {reserve_at}");
            assert_eq!(s.len(), 3_000);
            assert!((0..3_000u32).all(|i| s.get(i.to_string().as_bytes()).is_some()));
        }
        // An estimate too high is held to the bytes given; one too low never shrinks.
        let mut s = RowStore::new(false);
        s.reserve(1_000_000, 1 << 16);
        assert_eq!(s.index.len(), (1 << 16) / 8);
        s.reserve(10, 1 << 30);
        assert_eq!(s.index.len(), (1 << 16) / 8);
        s.reserve(5_000, 1 << 30);
        assert_eq!(s.index.len(), 16_384);
        s.reserve(usize::MAX, 1 << 17); // no overflow on the way to the cap
        assert_eq!(s.index.len(), 16_384);
    }

    #[test]
    fn rows_left_out_take_no_room() {
        let mut s = RowStore::new(false);
        let mut first = None;
        for line in 0..1_000 {
            first = first.or(s.insert(b"same", b",x", b"\tx", line));
        }
        assert_eq!(
            first.unwrap().lines,
            (0, 1),
            "reported with the first batch"
        );
        assert_eq!(
            s.finish().unwrap().lines,
            (0, 992),
            "and the last, with finish"
        );
        assert_eq!(
            s.arena.len(),
            HEADER + "same,x\tx".len(),
            "only the first row is kept"
        );
        assert_eq!(s.get(b"same").unwrap().0, b",x");
    }

    #[test]
    fn batches_find_what_single_look_ups_find() {
        let mut s = RowStore::new(false);
        for i in 0..5_000u32 {
            let key = format!("k{i}");
            s.insert(key.as_bytes(), key.as_bytes(), &i.to_le_bytes(), 1);
        }
        assert!(s.finish().is_none());
        // Every 11th key is not in the table; every 7th probe has no key.
        let keys: Vec<String> = (0..200u32)
            .map(|i| match i % 11 {
                5 => format!("x{i}"),
                _ => format!("k{}", i * 23),
            })
            .collect();
        let probes: Vec<Option<&[u8]>> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (i % 7 != 3).then_some(k.as_bytes()))
            .collect();
        let mut found = Vec::new();
        s.get_batch(&probes, &mut found);
        assert_eq!(found.len(), probes.len());
        for (probe, row) in probes.iter().zip(&found) {
            let want = probe.and_then(|k| s.get(k));
            assert_eq!(row.map(|r| s.suffixes(r)), want, "{probe:?}");
        }
        // 200 probes - 29 without a key - 18 not in the table + 3 counted twice.
        assert_eq!(found.iter().filter(|r| r.is_some()).count(), 156);
    }
}
