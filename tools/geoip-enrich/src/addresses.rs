//! Where recent address texts led, per worker: nowhere (not an address) or the offset of the
//! record in each database. Clients come back, so most records find their address here and
//! skip the parse and the tree walks. Direct-mapped over flat arrays: a miss costs a hash and
//! a few copies, never an allocation, so input where addresses never repeat pays little.

use std::hash::BuildHasher;

use hashbrown::DefaultHashBuilder;
use onebox::bytescan::same_bytes;

/// Slots per worker: about 1 MiB with two databases. More slots would catch more of a long
/// tail of clients, but a table past the L2 cache makes every miss slower (measured: 65,536
/// slots cost input without repeated addresses 17%, this many 5%).
pub const SLOTS: usize = 16384;

/// Longer texts (an `x_forwarded_for` list, say) are not remembered. The longest address,
/// IPv4-mapped IPv6 in full with a dotted quad, is 45 bytes.
pub const MAX_TEXT: usize = 48;

/// The offsets recorded for a text that is not an address.
pub const INVALID: usize = usize::MAX - 1;

/// A slot's length byte when the slot holds nothing.
const EMPTY: u8 = u8::MAX;

pub struct AddressMemo {
    /// Slot count minus one (slots are a power of two); no slots when the memo is off.
    mask: usize,
    /// Offsets per slot: one per database.
    width: usize,
    lens: Vec<u8>,
    texts: Vec<u8>,
    offsets: Vec<usize>,
    hasher: DefaultHashBuilder,
}

impl AddressMemo {
    /// A memo of at least `slots` slots (0: off) for `width` databases; about
    /// 49 + 8 x width bytes a slot.
    pub fn new(slots: usize, width: usize) -> AddressMemo {
        let slots = if slots == 0 {
            0
        } else {
            slots.next_power_of_two()
        };
        AddressMemo {
            mask: slots.wrapping_sub(1),
            width,
            lens: vec![EMPTY; slots],
            texts: vec![0; slots * MAX_TEXT],
            offsets: vec![0; slots * width],
            hasher: DefaultHashBuilder::default(),
        }
    }

    /// Copies the offsets remembered for `text` into `offsets`; false when there are none.
    #[inline]
    pub fn recall(&self, text: &[u8], offsets: &mut Vec<usize>) -> bool {
        let Some(slot) = self.slot_of(text) else {
            return false;
        };
        let at = slot * MAX_TEXT;
        if usize::from(self.lens[slot]) != text.len()
            || !same_bytes(&self.texts[at..at + text.len()], text)
        {
            return false;
        }
        offsets.clear();
        offsets.extend_from_slice(&self.offsets[slot * self.width..(slot + 1) * self.width]);
        true
    }

    /// Remembers `offsets` (one per database) for `text`, in place of what shared its slot.
    pub fn remember(&mut self, text: &[u8], offsets: &[usize]) {
        let Some(slot) = self.slot_of(text) else {
            return;
        };
        debug_assert_eq!(offsets.len(), self.width);
        self.lens[slot] = text.len() as u8;
        self.texts[slot * MAX_TEXT..][..text.len()].copy_from_slice(text);
        self.offsets[slot * self.width..(slot + 1) * self.width].copy_from_slice(offsets);
    }

    #[inline]
    fn slot_of(&self, text: &[u8]) -> Option<usize> {
        (!self.lens.is_empty() && text.len() <= MAX_TEXT)
            .then(|| self.hasher.hash_one(text) as usize & self.mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_by_text_replaces_by_slot_and_can_be_off() {
        let mut memo = AddressMemo::new(100, 2);
        assert_eq!(memo.lens.len(), 128);
        let mut got = Vec::new();
        assert!(!memo.recall(b"192.0.2.1", &mut got));
        memo.remember(b"192.0.2.1", &[7, 9]);
        memo.remember(b"", &[INVALID, INVALID]);
        assert!(memo.recall(b"192.0.2.1", &mut got));
        assert_eq!(got, [7, 9]);
        assert!(memo.recall(b"", &mut got), "an empty text is a text too");
        assert_eq!(got, [INVALID, INVALID]);
        assert!(!memo.recall(b"192.0.2.10", &mut got));
        for i in 0..128 * 16 {
            memo.remember(format!("10.0.{}.{}", i / 256, i % 256).as_bytes(), &[i, i]);
        }
        assert!(!memo.recall(b"192.0.2.1", &mut got), "replaced");
        let long = [b'1'; MAX_TEXT + 1];
        memo.remember(&long, &[1, 1]);
        assert!(!memo.recall(&long, &mut got), "long texts are not kept");

        let mut off = AddressMemo::new(0, 2);
        off.remember(b"192.0.2.1", &[7, 9]);
        assert!(!off.recall(b"192.0.2.1", &mut got));
    }
}
