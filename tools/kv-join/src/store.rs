//! The rows of the look-up table, packed for fast probes of a large table.
//!
//! A row's key and its two pre-rendered suffixes (NDJSON, TSV) sit side by side in one arena
//! behind a small header; an open-addressing index of 8-byte words (a 16-bit hash tag and the
//! row's arena offset) finds them. With a million rows nearly every probe misses the caches
//! twice (the index word, then the row), so [`RowStore::get_batch`] looks up a block's keys
//! together: it hashes them all and prefetches their index words, then reads the words and
//! prefetches the rows, and only then compares keys. The misses of a batch overlap instead
//! of being waited for one after another.

use std::hash::BuildHasher;

use hashbrown::DefaultHashBuilder;

/// Row header: key length, NDJSON suffix length, TSV suffix length (u32 each), line (u64).
const HEADER: usize = 20;

/// An index word: the hash's top 16 bits, then the row's arena offset plus one (0 is empty).
const TAG_SHIFT: u32 = 48;
const OFFSET_MASK: u64 = (1 << TAG_SHIFT) - 1;

/// Keys looked up together by [`RowStore::get_batch`]: enough misses in flight to cover the
/// memory latency, few enough that the prefetched lines are still cached when used.
const BATCH: usize = 32;

/// A row already present, returned by [`RowStore::insert`].
pub struct Existing {
    pub line: u64,
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
}

impl Default for RowStore {
    fn default() -> Self {
        RowStore {
            arena: Vec::new(),
            index: vec![0; 16],
            len: 0,
            hasher: DefaultHashBuilder::default(),
        }
    }
}

impl RowStore {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a row. For a key already present: with `replace` the new row takes its place,
    /// otherwise the old one stays; either way the old row's line is returned.
    pub fn insert(
        &mut self,
        key: &[u8],
        json: &[u8],
        tsv: &[u8],
        line: u64,
        replace: bool,
    ) -> Option<Existing> {
        if (self.len + 1) * 2 > self.index.len() {
            self.grow();
        }
        let hash = self.hasher.hash_one(key);
        let slot = match self.find_slot(key, hash) {
            Ok(slot) => {
                let old = Existing {
                    line: self.row_line(self.index[slot]),
                };
                if !replace {
                    return Some(old);
                }
                // The old row's bytes stay in the arena unused: replacements are rare.
                self.index[slot] = self.push_row(hash, key, json, tsv, line);
                return Some(old);
            }
            Err(empty) => empty,
        };
        self.index[slot] = self.push_row(hash, key, json, tsv, line);
        self.len += 1;
        None
    }

    /// The row of `key`: its NDJSON and TSV suffixes.
    pub fn get(&self, key: &[u8]) -> Option<(&[u8], &[u8])> {
        let slot = self.find_slot(key, self.hasher.hash_one(key)).ok()?;
        Some(self.suffixes(self.row_of(self.index[slot])))
    }

    /// Looks up `keys[i]` (None: no key) into `found[i]`, a batch at a time (see the module
    /// docs). `found` is cleared first.
    pub fn get_batch(&self, keys: &[Option<&[u8]>], found: &mut Vec<Option<RowRef>>) {
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

    /// Gives back the spare capacity of loading.
    pub fn shrink(&mut self) {
        self.arena.shrink_to_fit();
    }

    /// The slot holding `key` (Ok), or the empty slot where it would go (Err).
    #[inline]
    fn find_slot(&self, key: &[u8], hash: u64) -> Result<usize, usize> {
        self.probe(hash, |word| self.row_key(word) == key)
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
        let offset = self.row_of(word).offset;
        let key_len = u32_at(&self.arena[offset..], 0);
        &self.arena[offset + HEADER..offset + HEADER + key_len]
    }

    fn row_line(&self, word: u64) -> u64 {
        let offset = self.row_of(word).offset + 12;
        u64::from_le_bytes(self.arena[offset..offset + 8].try_into().expect("8 bytes"))
    }

    /// Appends a row to the arena; returns its index word.
    fn push_row(&mut self, hash: u64, key: &[u8], json: &[u8], tsv: &[u8], line: u64) -> u64 {
        let offset = self.arena.len() as u64;
        assert!(offset < OFFSET_MASK, "a table arena under 256 TiB");
        for part in [key, json, tsv] {
            self.arena.extend_from_slice(&len32(part).to_le_bytes());
        }
        self.arena.extend_from_slice(&line.to_le_bytes());
        for part in [key, json, tsv] {
            self.arena.extend_from_slice(part);
        }
        (hash >> TAG_SHIFT) << TAG_SHIFT | (offset + 1)
    }

    /// Doubles the index and re-places every word.
    fn grow(&mut self) {
        let bigger = vec![0; self.index.len() * 2];
        let old = std::mem::replace(&mut self.index, bigger);
        let mask = self.index.len() - 1;
        for word in old.into_iter().filter(|&w| w != 0) {
            let hash = self.hasher.hash_one(self.row_key(word));
            let mut slot = self.home(hash);
            while self.index[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            self.index[slot] = word;
        }
    }
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
        let mut s = RowStore::default();
        assert!(s.insert(b"a", b",1", b"\t1", 2, false).is_none());
        assert!(s.insert(b"", b",e", b"\te", 3, false).is_none());
        assert_eq!(s.get(b"a"), Some((&b",1"[..], &b"\t1"[..])));
        assert_eq!(s.get(b""), Some((&b",e"[..], &b"\te"[..])));
        assert_eq!(s.insert(b"a", b",2", b"\t2", 4, false).unwrap().line, 2);
        assert_eq!(s.get(b"a").unwrap().0, b",1");
        assert_eq!(s.insert(b"a", b",3", b"\t3", 5, true).unwrap().line, 2);
        assert_eq!(s.get(b"a").unwrap().0, b",3");
        assert_eq!(s.insert(b"a", b",4", b"\t4", 6, true).unwrap().line, 5);
        assert!(s.get(b"b").is_none());
        assert_eq!(s.len(), 2);
        for i in 0..10_000u32 {
            s.insert(i.to_string().as_bytes(), &i.to_le_bytes(), b"", 7, false);
        }
        s.shrink();
        for i in 0..10_000u32 {
            assert_eq!(s.get(i.to_string().as_bytes()).unwrap().0, i.to_le_bytes());
        }
        assert_eq!(s.len(), 10_002);
    }

    #[test]
    fn batches_find_what_single_look_ups_find() {
        let mut s = RowStore::default();
        for i in 0..5_000u32 {
            let key = format!("k{i}");
            s.insert(key.as_bytes(), key.as_bytes(), &i.to_le_bytes(), 1, false);
        }
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
