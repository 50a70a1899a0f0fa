//! Percent-encoded values remembered with what was written for them, per thread and output
//! column. User agents repeat: a few hundred of them stand behind most lines of a day, and
//! each needs decoding (often of double encoding) and then escaping for the output, a third
//! of what a kept line costs to write. A value found here costs a cheap hash, a compare and a
//! copy instead. Direct-mapped and bounded ([`SLOTS`] values of up to [`MAX_VALUE`] bytes per
//! column, at most about 1.5 MiB per column and thread); a column whose values do not repeat
//! (query strings with ids, referers) stops being looked up after a short trial, and is tried
//! again later.

use onebox::bytescan::same_bytes;

/// Values remembered per column (a power of two; a few under a fuzzer, as in
/// [`crate::memo::SLOTS`]).
#[cfg(not(fuzzing))]
pub const SLOTS: usize = 1024;
#[cfg(fuzzing)]
pub const SLOTS: usize = 16;
/// Longer values are decoded every time (and outputs longer than twice this, as escaping
/// control bytes makes them, are not kept).
pub const MAX_VALUE: usize = 512;
/// Look-ups per trial, and the hits a trial needs for the memo to stay on.
const TRIAL: u32 = 1024;
const TRIAL_HITS: u32 = TRIAL / 4;
/// Values a column goes without its memo after a failed trial.
const REST: u32 = 64 * TRIAL;

#[derive(Default)]
struct Slot {
    logged: Vec<u8>,
    written: Vec<u8>,
}

#[derive(Default)]
struct ColumnMemo {
    /// Allocated on first use (most runs write few encoded columns).
    slots: Vec<Slot>,
    tries: u32,
    hits: u32,
    /// Values left to go by without the memo.
    resting: u32,
}

impl ColumnMemo {
    /// Whether this value should be looked up, counting it toward the trial.
    #[inline]
    fn in_use(&mut self) -> bool {
        if self.resting > 0 {
            self.resting -= 1;
            return false;
        }
        self.tries += 1;
        if self.tries == TRIAL {
            if self.hits < TRIAL_HITS {
                self.resting = REST;
            }
            (self.tries, self.hits) = (0, 0);
        }
        true
    }
}

/// The memos of a thread's output columns.
#[derive(Default)]
pub struct TextMemo {
    columns: Vec<ColumnMemo>,
}

impl TextMemo {
    /// What was written for `logged` in column `column`, if remembered. A miss that returns
    /// true should be followed by [`TextMemo::remember`] once the value is written.
    #[inline]
    pub fn recall(&mut self, column: usize, logged: &[u8]) -> Result<&[u8], bool> {
        if logged.len() > MAX_VALUE {
            return Err(false);
        }
        if self.columns.len() <= column {
            self.columns.resize_with(column + 1, ColumnMemo::default);
        }
        let memo = &mut self.columns[column];
        if !memo.in_use() {
            return Err(false);
        }
        if memo.slots.is_empty() {
            memo.slots.resize_with(SLOTS, Slot::default);
        }
        let i = slot_of(logged);
        let slot = &memo.slots[i];
        if slot.logged.is_empty() || !same_bytes(&slot.logged, logged) {
            return Err(true);
        }
        memo.hits += 1;
        Ok(&memo.slots[i].written)
    }

    /// Remembers `written` as the output for `logged` in column `column` (replacing whatever
    /// shared its slot).
    pub fn remember(&mut self, column: usize, logged: &[u8], written: &[u8]) {
        let Some(memo) = self.columns.get_mut(column) else {
            return;
        };
        if memo.slots.is_empty()
            || logged.is_empty()
            || logged.len() > MAX_VALUE
            || written.len() > 2 * MAX_VALUE
        {
            return;
        }
        let slot = &mut memo.slots[slot_of(logged)];
        slot.logged.clear();
        slot.logged.extend_from_slice(logged);
        slot.written.clear();
        slot.written.extend_from_slice(written);
    }
}

/// The slot of a value: a hash of its length and three of its 8-byte words. Values that
/// share a slot only cost a miss; the full compare decides.
#[inline]
fn slot_of(value: &[u8]) -> usize {
    const MIX: u64 = 0x9E37_79B9_7F4A_7C15;
    let n = value.len();
    let mut h = (n as u64).wrapping_mul(MIX);
    let mut add = |word: u64| {
        h = (h ^ word).wrapping_mul(MIX);
        h ^= h >> 29;
    };
    if n >= 8 {
        let word = |at: usize| u64::from_le_bytes(value[at..at + 8].try_into().expect("8 bytes"));
        add(word((n / 4).min(n - 8)));
        add(word(n / 2 - 4));
        add(word(n - 8));
    } else {
        let mut padded = [0u8; 8];
        padded[..n].copy_from_slice(value);
        add(u64::from_le_bytes(padded));
    }
    (h >> (64 - SLOTS.trailing_zeros())) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_per_column_and_forgets_what_is_replaced() {
        let mut memo = TextMemo::default();
        assert_eq!(memo.recall(2, b"Mozilla/5.0%20(X11)"), Err(true));
        memo.remember(2, b"Mozilla/5.0%20(X11)", b"\"Mozilla/5.0 (X11)\"");
        assert_eq!(
            memo.recall(2, b"Mozilla/5.0%20(X11)"),
            Ok(&b"\"Mozilla/5.0 (X11)\""[..])
        );
        assert_eq!(memo.recall(1, b"Mozilla/5.0%20(X11)"), Err(true));
        assert_eq!(memo.recall(2, b"Mozilla/5.0%20(X12)"), Err(true));
        for i in 0..SLOTS * 16 {
            let v = format!("v%20{i}");
            memo.remember(2, v.as_bytes(), v.as_bytes());
        }
        assert!(memo.recall(2, b"Mozilla/5.0%20(X11)").is_err());
        let long = vec![b'%'; MAX_VALUE + 1];
        assert_eq!(
            memo.recall(2, &long),
            Err(false),
            "long values are not kept"
        );
    }

    #[test]
    fn a_column_whose_values_do_not_repeat_rests_then_is_tried_again() {
        let mut memo = TextMemo::default();
        for i in 0..TRIAL {
            let v = format!("id%3D{i}");
            assert_eq!(memo.recall(0, v.as_bytes()), Err(true));
            memo.remember(0, v.as_bytes(), b"x");
        }
        memo.remember(0, b"a%20b", b"\"a b\"");
        for _ in 0..REST {
            assert_eq!(memo.recall(0, b"a%20b"), Err(false));
        }
        assert_eq!(memo.recall(0, b"a%20b"), Ok(&b"\"a b\""[..]));
    }

    #[test]
    fn short_and_long_values_hash_within_the_slots() {
        for n in 0..100 {
            let v = vec![b'a'; n];
            assert!(slot_of(&v) < SLOTS);
        }
    }
}
