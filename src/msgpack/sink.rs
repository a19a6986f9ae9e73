//! Where packed bytes go.
//!
//! The packer is generic over its sink, so the one packing routine serves every destination and
//! the sizing pass cannot disagree with the writing pass: [`Counter`] only counts (that is
//! `nml.packsize`, and the first pass before packing into a message of exact size), [`Growable`]
//! appends to a `Vec`. Both support the two edits the packer needs: undoing what it wrote for a
//! table that turned out not to be an array, and opening room for a map header once the number
//! of entries is known.

pub trait Sink {
    fn put(&mut self, bytes: &[u8]);
    fn put_u8(&mut self, byte: u8);
    /// Bytes written so far.
    fn pos(&self) -> usize;
    /// Forgets everything written after `pos`.
    fn truncate(&mut self, pos: usize);
    /// Moves everything after `at` by `n` bytes, leaving a gap to `patch`.
    fn open_gap(&mut self, at: usize, n: usize);
    /// Overwrites bytes already written (or made room for) at `at`.
    fn patch(&mut self, at: usize, bytes: &[u8]);
}

/// Counts what would be written.
#[derive(Default)]
pub struct Counter(pub usize);

impl Sink for Counter {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
    #[inline]
    fn put_u8(&mut self, _: u8) {
        self.0 += 1;
    }
    #[inline]
    fn pos(&self) -> usize {
        self.0
    }
    fn truncate(&mut self, pos: usize) {
        self.0 = pos;
    }
    fn open_gap(&mut self, _: usize, n: usize) {
        self.0 += n;
    }
    fn patch(&mut self, _: usize, _: &[u8]) {}
}

/// Appends to a vector (reused between calls, so it keeps its capacity).
pub struct Growable<'a>(pub &'a mut Vec<u8>);

impl Sink for Growable<'_> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
    #[inline]
    fn put_u8(&mut self, byte: u8) {
        self.0.push(byte);
    }
    #[inline]
    fn pos(&self) -> usize {
        self.0.len()
    }
    fn truncate(&mut self, pos: usize) {
        self.0.truncate(pos);
    }
    fn open_gap(&mut self, at: usize, n: usize) {
        let end = self.0.len();
        self.0.resize(end + n, 0);
        self.0.copy_within(at..end, at + n);
    }
    fn patch(&mut self, at: usize, bytes: &[u8]) {
        self.0[at..at + bytes.len()].copy_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growable_gap_moves_the_tail() {
        let mut v = vec![1, 2, 3];
        let mut s = Growable(&mut v);
        s.open_gap(1, 2);
        s.patch(1, &[8, 9]);
        assert_eq!(v, [1, 8, 9, 2, 3]);
    }

    #[test]
    fn counter_follows_the_same_edits() {
        let mut c = Counter::default();
        c.put(&[1, 2, 3]);
        c.open_gap(1, 2);
        assert_eq!(c.pos(), 5);
        c.truncate(1);
        assert_eq!(c.pos(), 1);
    }
}
