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

/// Writes into a slice that a counting pass sized. Should the two passes disagree (the value
/// changed in between), writes past the end are dropped and `overflowed` says so; nothing
/// panics and nothing outside the slice is touched.
pub struct Fixed<'a> {
    buf: &'a mut [u8],
    pos: usize,
    pub overflowed: bool,
}

impl<'a> Fixed<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Fixed {
            buf,
            pos: 0,
            overflowed: false,
        }
    }

    /// True when exactly the whole slice was written.
    pub fn is_exact(&self) -> bool {
        !self.overflowed && self.pos == self.buf.len()
    }
}

impl Sink for Fixed<'_> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        match self.buf.get_mut(self.pos..self.pos + bytes.len()) {
            Some(dst) => dst.copy_from_slice(bytes),
            None => self.overflowed = true,
        }
        self.pos += bytes.len();
    }
    #[inline]
    fn put_u8(&mut self, byte: u8) {
        self.put(&[byte]);
    }
    #[inline]
    fn pos(&self) -> usize {
        self.pos
    }
    fn truncate(&mut self, pos: usize) {
        self.pos = pos.min(self.pos);
    }
    fn open_gap(&mut self, at: usize, n: usize) {
        if self.pos + n > self.buf.len() || at > self.pos {
            self.overflowed = true;
        } else {
            self.buf.copy_within(at..self.pos, at + n);
        }
        self.pos += n;
    }
    fn patch(&mut self, at: usize, bytes: &[u8]) {
        match self.buf.get_mut(at..at + bytes.len()) {
            Some(dst) => dst.copy_from_slice(bytes),
            None => self.overflowed = true,
        }
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
    fn fixed_refuses_to_write_past_its_end() {
        let mut buf = [0u8; 4];
        let mut f = Fixed::new(&mut buf);
        f.put(&[1, 2, 3]);
        f.open_gap(1, 1);
        assert!(f.is_exact());
        f.put(&[9]);
        assert!(f.overflowed);
        assert_eq!(buf, [1, 2, 2, 3]);
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
