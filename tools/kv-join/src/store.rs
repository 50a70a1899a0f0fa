//! The rows of the look-up table, packed for fast probes of a large table.
//!
//! A row's key and its two pre-rendered suffixes (NDJSON, TSV) sit side by side in one arena,
//! and the hash table holds only small slots pointing into it. A probe then touches the
//! table's control bytes, one slot and one spot of the arena (key and suffix are adjacent),
//! instead of chasing a boxed key and two boxed suffixes: with a million rows every one of
//! those is a cache miss. Loading makes no allocation per row either.

use std::hash::BuildHasher;

use hashbrown::hash_table::{Entry, HashTable};
use hashbrown::DefaultHashBuilder;

/// Where one row lives in the arena: key, then NDJSON suffix, then TSV suffix.
#[derive(Clone, Copy)]
struct Slot {
    start: usize,
    key_len: u32,
    json_len: u32,
    tsv_len: u32,
    /// The table line the row came from (for the duplicate-key message).
    line: u64,
}

impl Slot {
    fn key<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        &arena[self.start..self.start + self.key_len as usize]
    }

    fn json<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        let from = self.start + self.key_len as usize;
        &arena[from..from + self.json_len as usize]
    }

    fn tsv<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        let from = self.start + self.key_len as usize + self.json_len as usize;
        &arena[from..from + self.tsv_len as usize]
    }
}

/// A row already present, returned by [`RowStore::insert`].
pub struct Existing {
    pub line: u64,
}

/// Keys to (NDJSON suffix, TSV suffix).
#[derive(Default)]
pub struct RowStore {
    arena: Vec<u8>,
    slots: HashTable<Slot>,
    hasher: DefaultHashBuilder,
}

impl RowStore {
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
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
        let hash = self.hasher.hash_one(key);
        let arena = &self.arena;
        let hasher = &self.hasher;
        let entry = self.slots.entry(
            hash,
            |s| s.key(arena) == key,
            |s| hasher.hash_one(s.key(arena)),
        );
        let slot = Slot {
            start: self.arena.len(),
            key_len: len32(key),
            json_len: len32(json),
            tsv_len: len32(tsv),
            line,
        };
        let existing = match entry {
            Entry::Occupied(mut o) => {
                let old = Existing { line: o.get().line };
                if !replace {
                    return Some(old);
                }
                // The old row's bytes stay in the arena unused: replacements are rare.
                *o.get_mut() = slot;
                Some(old)
            }
            Entry::Vacant(v) => {
                v.insert(slot);
                None
            }
        };
        self.arena.extend_from_slice(key);
        self.arena.extend_from_slice(json);
        self.arena.extend_from_slice(tsv);
        existing
    }

    /// The row of `key`: its NDJSON and TSV suffixes.
    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<(&[u8], &[u8])> {
        let hash = self.hasher.hash_one(key);
        let arena = &self.arena[..];
        self.slots
            .find(hash, |s| s.key(arena) == key)
            .map(|s| (s.json(arena), s.tsv(arena)))
    }

    /// Gives back the spare capacity of loading.
    pub fn shrink(&mut self) {
        self.arena.shrink_to_fit();
        let (arena, hasher) = (&self.arena, &self.hasher);
        self.slots.shrink_to_fit(|s| hasher.hash_one(s.key(arena)));
    }
}

/// Lengths are stored as u32: one key or rendered row of 4 GiB is not a look-up table.
fn len32(bytes: &[u8]) -> u32 {
    u32::try_from(bytes.len()).expect("a table row under 4 GiB")
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
    }
}
