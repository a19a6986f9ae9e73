//! A cache of the short strings that map keys decode to.
//!
//! The same keys arrive in message after message. Making a Lua string from bytes means Lua
//! hashes them and looks them up in its string table, about 200 instructions for a short key
//! (callgrind, Lua 5.4): a tenth of the cost of decoding a small map of strings. Here a key's
//! bytes pick one of [`SLOTS`] slots by a hash of a few words of them; the slot remembers the
//! last key it held, both as bytes (here, to compare) and as the Lua string itself (in a table
//! that every nml function holds as an upvalue). A hit pushes the string already made; a miss
//! makes it as before and takes the slot.
//!
//! Only keys are cached: values repeat less, and a miss costs a little more than no cache. The
//! bytes are always compared, so keys whose hashes collide (even on purpose) only miss.

use std::cell::Cell;

use crate::codec::upvalue;
use crate::lua::{Stack, Table};

/// Keys longer than this are made as usual (Lua 5.4 does not hash strings over 40 bytes).
pub const MAX_KEY: usize = 31;
/// A power of two: 256 slots of 40 bytes, 10 KiB per Lua state.
pub const SLOTS: usize = 256;

/// A key as four words and its length, which together tell keys apart: the words are read at
/// fixed places (overlapping when the key is short), so comparing two keys is comparing 40
/// bytes, with no loop and no call.
#[derive(Clone, Copy, PartialEq)]
struct Slot {
    /// `EMPTY` until a key takes the slot.
    len: u64,
    words: [u64; 4],
}

const EMPTY: u64 = u64::MAX;

pub struct KeyCache {
    slots: Box<[Cell<Slot>]>,
}

impl Default for KeyCache {
    fn default() -> Self {
        let empty = Slot {
            len: EMPTY,
            words: [0; 4],
        };
        KeyCache {
            slots: (0..SLOTS).map(|_| Cell::new(empty)).collect(),
        }
    }
}

impl KeyCache {
    /// The table of cached strings (upvalue `KEYS`) of the running function, to hand to
    /// [`KeyCache::push`]; `None` if the upvalue is not a table (the debug library can change
    /// it), and then keys are made without the cache.
    pub fn table(s: &Stack) -> Option<Table> {
        s.table(Stack::upvalue(upvalue::KEYS))
    }

    /// Pushes the Lua string of `key`, from the cache when the slot holds it.
    pub fn push(&self, s: &Stack, table: Option<Table>, key: &[u8]) {
        let Some(table) = table.filter(|_| key.len() <= MAX_KEY) else {
            return s.push_bytes(key);
        };
        let this = Slot::of(key);
        let i = this.index();
        let n = (i + 1) as i64;
        if self.slots[i].get() == this {
            s.raw_get_index(table, n);
            return;
        }
        // Lua first (making the string may run the collector, and with it any code), then the
        // slot, so that a slot always describes the string at its index in the table.
        s.push_bytes(key);
        s.push_value(-1);
        s.raw_set_index(table, n);
        self.slots[i].set(this);
    }
}

/// Field names the codec looks up in tables it packs. They sit in the key table after the
/// slots, made once, so that looking one up pushes a string that exists: no allocation, and so
/// no garbage-collection step, which could run a finalizer that raises (Lua 5.1 to 5.3).
#[derive(Clone, Copy)]
pub enum Name {
    Type,
    Data,
    BufferUdSize,
    BufferUdType,
}

const NAMES: [&str; 4] = ["type", "data", "buffer_ud_size", "buffer_ud_type"];

/// Pushes the string of `name`. Never raises, unless the debug library has replaced the key
/// table; then the string is made anew.
pub fn push_name(s: &Stack, name: Name) {
    match KeyCache::table(s) {
        Some(table) => {
            s.raw_get_index(table, (SLOTS + 1 + name as usize) as i64);
        }
        None => s.push_str(NAMES[name as usize]),
    }
}

/// Pushes the table of cached strings, for the `KEYS` upvalue: its array part holds a slot for
/// each index, so storing into it never allocates, then the field names.
pub fn push_table(s: &Stack) {
    let table = s.new_table(SLOTS + NAMES.len(), 0);
    for n in 1..=SLOTS as i64 {
        s.push_bool(false);
        s.raw_set_index(table, n);
    }
    for (i, name) in NAMES.iter().enumerate() {
        s.push_str(name);
        s.raw_set_index(table, (SLOTS + 1 + i) as i64);
    }
}

impl Slot {
    /// `key` (at most `MAX_KEY` bytes) as words. From 8 bytes on, words at 0, 8, 16 and
    /// `len - 8`, each moved back to fit, cover every byte (`len - 8` is under 24); from 4 to 7
    /// bytes, the first and last four; under 4, the bytes one by one.
    fn of(key: &[u8]) -> Slot {
        let n = key.len();
        let u64_at = |at: usize| u64::from_le_bytes(key[at..at + 8].try_into().unwrap());
        let u32_at = |at: usize| u32::from_le_bytes(key[at..at + 4].try_into().unwrap()) as u64;
        let words = match n {
            8.. => [
                u64_at(0),
                u64_at(8.min(n - 8)),
                u64_at(16.min(n - 8)),
                u64_at(n - 8),
            ],
            4..=7 => [u32_at(0) | u32_at(n - 4) << 32, 0, 0, 0],
            _ => [key.iter().fold(0, |w, &b| w << 8 | b as u64), 0, 0, 0],
        };
        Slot {
            len: n as u64,
            words,
        }
    }

    /// The slot this key goes in: its first and last words and length, mixed by a multiply.
    fn index(&self) -> usize {
        let [first, _, _, last] = self.words;
        let h = (first ^ last.rotate_left(29) ^ self.len).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> (64 - SLOTS.trailing_zeros())) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_in_range_and_spread() {
        let keys: Vec<String> = (0..200).map(|i| format!("key_{i}")).collect();
        let mut used = std::collections::HashSet::new();
        for k in &keys {
            let i = Slot::of(k.as_bytes()).index();
            assert!(i < SLOTS);
            used.insert(i);
        }
        // 200 keys over 256 slots: a fair hash leaves about 140 distinct slots.
        assert!(used.len() > 110, "only {} slots for 200 keys", used.len());
        assert!(Slot::of(b"").index() < SLOTS);
        assert!(Slot::of(&[7; MAX_KEY]).index() < SLOTS);
    }

    /// Equal slots for equal keys only, at every length, whichever byte differs.
    #[test]
    fn slots_tell_keys_apart() {
        for n in 0..=MAX_KEY {
            let key: Vec<u8> = (0..n as u8).map(|b| b.wrapping_mul(37)).collect();
            assert!(Slot::of(&key) == Slot::of(&key.clone()));
            for at in 0..n {
                let mut other = key.clone();
                other[at] ^= 1;
                assert!(Slot::of(&key) != Slot::of(&other), "length {n}, byte {at}");
            }
            let mut longer = key.clone();
            longer.push(0);
            if longer.len() <= MAX_KEY {
                assert!(
                    Slot::of(&key) != Slot::of(&longer),
                    "length {n} and one more"
                );
            }
        }
    }
}
