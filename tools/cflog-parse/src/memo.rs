//! What the path rules (`--event`, and `--extract` over cs_uri_stem) said about recent paths,
//! one memo per thread. Logs ask about the same popular paths over and over; a path found here
//! costs a hash and a compare instead of a regex search per rule (the searches were a tenth of
//! the day job's parsing). Direct-mapped and bounded: [`SLOTS`] paths of up to [`MAX_PATH`]
//! bytes each with its answer (1-2 MiB per thread); longer paths are not remembered.

use std::hash::BuildHasher;

use hashbrown::DefaultHashBuilder;
use onebox::bytescan::same_bytes;

/// Paths remembered per thread (a power of two). A fuzzer builds fresh parsers for every
/// input, and should see slots replaced: a few do there.
#[cfg(not(fuzzing))]
pub const SLOTS: usize = 4096;
#[cfg(fuzzing)]
pub const SLOTS: usize = 16;
/// Longer paths are searched every time (they are rarely the popular ones).
pub const MAX_PATH: usize = 192;

/// The rules' answers for one path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// The index of the first matching `--event` rule.
    pub event: Option<usize>,
    /// The group spans of each path extract in turn, `len` entries each (group 0 first);
    /// an extract that did not match has none.
    pub spans: Vec<Option<(usize, usize)>>,
    /// Per path extract, how many entries of `spans` it has.
    pub lens: Vec<usize>,
}

impl Answer {
    pub fn clear(&mut self) {
        self.event = None;
        self.spans.clear();
        self.lens.clear();
    }

    /// The spans of path extract number `k` (counting only extracts over the path).
    pub fn extract(&self, k: usize) -> &[Option<(usize, usize)>] {
        let start: usize = self.lens[..k].iter().sum();
        &self.spans[start..start + self.lens[k]]
    }
}

#[derive(Default)]
struct Slot {
    path: Vec<u8>,
    filled: bool,
    answer: Answer,
}

#[derive(Default)]
pub struct PathMemo {
    /// Allocated on first use (a run without path rules never uses it).
    slots: Vec<Slot>,
    hasher: DefaultHashBuilder,
}

impl PathMemo {
    /// The answer remembered for `path`, if any.
    #[inline]
    pub fn recall(&self, path: &[u8]) -> Option<&Answer> {
        let slot = self.slots.get(self.slot_of(path)?)?;
        (slot.filled && same_bytes(&slot.path, path)).then_some(&slot.answer)
    }

    /// Remembers `answer` for `path` (in place of whatever shared its slot).
    pub fn remember(&mut self, path: &[u8], answer: &Answer) {
        let Some(i) = self.slot_of(path) else {
            return;
        };
        if self.slots.is_empty() {
            self.slots = (0..SLOTS).map(|_| Slot::default()).collect();
        }
        let slot = &mut self.slots[i];
        slot.path.clear();
        slot.path.extend_from_slice(path);
        slot.answer.clone_from(answer);
        slot.filled = true;
    }

    #[inline]
    fn slot_of(&self, path: &[u8]) -> Option<usize> {
        (path.len() <= MAX_PATH).then(|| self.hasher.hash_one(path) as usize & (SLOTS - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(event: Option<usize>, spans: &[Option<(usize, usize)>]) -> Answer {
        Answer {
            event,
            spans: spans.to_vec(),
            lens: vec![spans.len()],
        }
    }

    #[test]
    fn remembers_answers_per_path_and_forgets_what_is_replaced() {
        let mut memo = PathMemo::default();
        assert_eq!(memo.recall(b"/models/a"), None);
        let a = answer(Some(1), &[Some((0, 9)), Some((8, 9))]);
        memo.remember(b"/models/a", &a);
        assert_eq!(memo.recall(b"/models/a"), Some(&a));
        assert_eq!(a.extract(0), &a.spans[..]);
        assert_eq!(memo.recall(b"/models/b"), None);
        // Enough other paths overwrite every slot, /models/a's included.
        for i in 0..SLOTS * 16 {
            memo.remember(format!("/p/{i}").as_bytes(), &answer(None, &[]));
        }
        assert_eq!(memo.recall(b"/models/a"), None);
        let long = vec![b'x'; MAX_PATH + 1];
        memo.remember(&long, &a);
        assert_eq!(memo.recall(&long), None, "long paths are not kept");
    }

    #[test]
    fn spans_of_several_extracts_are_kept_apart() {
        let a = Answer {
            event: None,
            spans: vec![Some((0, 3)), None, Some((1, 2)), Some((1, 2))],
            lens: vec![1, 0, 3],
        };
        assert_eq!(a.extract(0), &[Some((0, 3))]);
        assert!(a.extract(1).is_empty());
        assert_eq!(a.extract(2), &[None, Some((1, 2)), Some((1, 2))]);
    }
}
