//! Where packed bytes go.
//!
//! The packer is generic over its sink, so the one packing routine serves every destination and
//! the sizing pass cannot disagree with the writing pass: [`Counter`] only counts (that is
//! `nml.packsize`, and the first pass before packing into a message of exact size), [`Growable`]
//! appends to a `Vec`. Both support the two edits the packer needs: undoing what it wrote for a
//! table that turned out not to be an array, and opening room for a map header once the number
//! of entries is known.
//!
//! A map's entries are counted while they are written (a Lua table does not know how many it
//! has), so its header is a placeholder that grows, moving what follows, when the map has 16
//! entries or more. The counting pass records every map's count so that [`Fixed`], writing
//! into memory it sized, puts each header right the first time and never moves a buffer.

use super::format::{self, MapStart, Sink, TooLong};

/// Counts what would be written, and the entries of every map in the order they begin.
#[derive(Default)]
pub struct Counter {
    pub size: usize,
    /// The entries of each map begun, in order, including maps in writes later undone: the
    /// writing pass makes the same calls in the same order.
    maps: Vec<usize>,
}

impl Counter {
    /// A counter recording map counts into `maps` (emptied first), reused for its capacity.
    pub fn with_map_counts(mut maps: Vec<usize>) -> Self {
        maps.clear();
        Counter { size: 0, maps }
    }
}

impl Sink for Counter {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.size += bytes.len();
    }
    #[inline]
    fn put_u8(&mut self, _: u8) {
        self.size += 1;
    }
    #[inline]
    fn pos(&self) -> usize {
        self.size
    }
    fn truncate(&mut self, pos: usize) {
        self.size = pos;
    }
    fn open_gap(&mut self, _: usize, n: usize) {
        self.size += n;
    }
    fn patch(&mut self, _: usize, _: &[u8]) {}
    fn take_map_counts(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.maps)
    }

    fn begin_map(&mut self) -> MapStart {
        let at = self.size;
        self.maps.push(0);
        self.size += 1;
        MapStart {
            at,
            known: Some(self.maps.len() - 1),
        }
    }

    fn end_map(&mut self, start: MapStart, n: usize) -> Result<(), TooLong> {
        if let Some(i) = start.known {
            self.maps[i] = n;
        }
        format::patch_map_header(self, start.at, n)
    }
}

/// Appends to a vector (reused between calls, so it keeps its capacity). It grows fallibly:
/// when memory runs out, writing stops and `out_of_memory` says so, where growing the vector
/// the usual way would abort the process.
pub struct Growable<'a> {
    out: &'a mut Vec<u8>,
    pub out_of_memory: bool,
}

impl<'a> Growable<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        Growable {
            out,
            out_of_memory: false,
        }
    }

    /// Whether `n` more bytes fit, growing the vector if need be.
    #[inline]
    fn room(&mut self, n: usize) -> bool {
        if !self.out_of_memory && self.out.try_reserve(n).is_err() {
            self.out_of_memory = true;
        }
        !self.out_of_memory
    }
}

impl Sink for Growable<'_> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        if self.room(bytes.len()) {
            self.out.extend_from_slice(bytes);
        }
    }
    #[inline]
    fn put_u8(&mut self, byte: u8) {
        if self.room(1) {
            self.out.push(byte);
        }
    }
    #[inline]
    fn pos(&self) -> usize {
        self.out.len()
    }
    fn truncate(&mut self, pos: usize) {
        self.out.truncate(pos);
    }
    fn open_gap(&mut self, at: usize, n: usize) {
        if self.room(n) {
            let end = self.out.len();
            self.out.resize(end + n, 0);
            self.out.copy_within(at..end, at + n);
        }
    }
    fn patch(&mut self, at: usize, bytes: &[u8]) {
        // after a failed gap the bytes are not where they were counted: nothing is patched
        if !self.out_of_memory {
            self.out[at..at + bytes.len()].copy_from_slice(bytes);
        }
    }
}

/// Writes small values into a vector and counts every value: the first pass of packing into a
/// message. A value that stays within `cap` bytes and holds no descriptor is then in the
/// vector, packed in one pass, ready to copy; any other stops being written (so no buffer is
/// copied twice) but is counted whole, maps included, for [`Fixed`] to write in place.
pub struct Staged<'a> {
    pub counter: Counter,
    bytes: &'a mut Vec<u8>,
    cap: usize,
    spilled: bool,
}

impl<'a> Staged<'a> {
    /// Stages into `bytes` up to `cap` bytes, counting maps into `maps` (both emptied first).
    pub fn new(bytes: &'a mut Vec<u8>, cap: usize, maps: Vec<usize>) -> Self {
        bytes.clear();
        Staged {
            counter: Counter::with_map_counts(maps),
            bytes,
            cap,
            spilled: false,
        }
    }

    /// True when the value outgrew `cap`: only the counts are kept.
    pub fn spilled(&self) -> bool {
        self.spilled
    }

    fn fits(&mut self, more: usize) -> bool {
        if !self.spilled && self.bytes.len() + more > self.cap {
            self.spilled = true;
            self.bytes.clear();
        }
        !self.spilled
    }
}

impl Sink for Staged<'_> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.counter.put(bytes);
        if self.fits(bytes.len()) {
            self.bytes.extend_from_slice(bytes);
        }
    }
    #[inline]
    fn put_u8(&mut self, byte: u8) {
        self.counter.put_u8(byte);
        if self.fits(1) {
            self.bytes.push(byte);
        }
    }
    /// A buffer is never staged: it is written once, into the message itself.
    fn put_buffer(&mut self, bytes: &[u8]) {
        self.counter.put(bytes);
        self.spilled = true;
        self.bytes.clear();
    }
    #[inline]
    fn pos(&self) -> usize {
        self.counter.size
    }
    fn truncate(&mut self, pos: usize) {
        self.counter.truncate(pos);
        if !self.spilled {
            self.bytes.truncate(pos);
        }
    }
    fn open_gap(&mut self, at: usize, n: usize) {
        self.counter.open_gap(at, n);
        if self.fits(n) {
            Growable::new(self.bytes).open_gap(at, n);
        }
    }
    fn patch(&mut self, at: usize, bytes: &[u8]) {
        if !self.spilled {
            Growable::new(self.bytes).patch(at, bytes);
        }
    }
    fn take_map_counts(&mut self) -> Vec<usize> {
        self.counter.take_map_counts()
    }

    fn begin_map(&mut self) -> MapStart {
        let start = self.counter.begin_map();
        self.counter.size -= 1; // put_u8 below counts the placeholder
        self.put_u8(0);
        start
    }

    fn end_map(&mut self, start: MapStart, n: usize) -> Result<(), TooLong> {
        if let Some(i) = start.known {
            self.counter.maps[i] = n;
        }
        format::patch_map_header(self, start.at, n)
    }
}

/// Writes into a slice that a counting pass sized, each map header written for the count that
/// pass recorded. Should the two passes disagree (the value changed in between), writes past
/// the end are dropped and `overflowed` says so; nothing panics and nothing outside the slice
/// is touched.
pub struct Fixed<'a> {
    buf: &'a mut [u8],
    pos: usize,
    pub overflowed: bool,
    /// The counting pass's map counts, and how many of them have been used.
    maps: Vec<usize>,
    next_map: usize,
}

impl<'a> Fixed<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Fixed::with_maps(buf, Vec::new())
    }

    /// A sink whose map headers are written for `maps`, the counts from [`Counter`].
    pub fn with_maps(buf: &'a mut [u8], maps: Vec<usize>) -> Self {
        Fixed {
            buf,
            pos: 0,
            overflowed: false,
            maps,
            next_map: 0,
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
    fn take_map_counts(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.maps)
    }

    fn begin_map(&mut self) -> MapStart {
        let at = self.pos;
        let Some(&n) = self.maps.get(self.next_map) else {
            self.put_u8(0);
            return MapStart { at, known: None };
        };
        self.next_map += 1;
        // n was counted in a map, so it fits a map header.
        format::map_header(self, n).expect("a counted map fits a header");
        MapStart { at, known: Some(n) }
    }

    fn end_map(&mut self, start: MapStart, n: usize) -> Result<(), TooLong> {
        match start.known {
            Some(counted) => {
                self.overflowed |= counted != n;
                Ok(())
            }
            None => format::patch_map_header(self, start.at, n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growable_gap_moves_the_tail() {
        let mut v = vec![1, 2, 3];
        let mut s = Growable::new(&mut v);
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

    /// The counting pass's map counts let Fixed write a 16-entry map's header in place: what
    /// follows is never moved, and the bytes equal the growable sink's.
    #[test]
    fn fixed_writes_counted_map_headers_in_place() {
        fn pack(out: &mut impl Sink) {
            let outer = out.begin_map();
            for i in 0..16u8 {
                out.put_u8(i);
                let inner = out.begin_map();
                out.end_map(inner, 0).unwrap();
            }
            out.end_map(outer, 16).unwrap();
        }
        let mut counter = Counter::default();
        pack(&mut counter);
        let mut grown = Vec::new();
        pack(&mut Growable::new(&mut grown));
        assert_eq!(counter.size, grown.len());
        let mut buf = vec![0u8; counter.size];
        let mut fixed = Fixed::with_maps(&mut buf, counter.take_map_counts());
        pack(&mut fixed);
        assert!(fixed.is_exact());
        assert_eq!(buf, grown);
    }

    /// Small values come out of Staged packed, as Growable packs them; large ones spill and
    /// come out counted, as Counter counts them.
    #[test]
    fn staged_packs_small_values_and_counts_large_ones() {
        fn pack(out: &mut impl Sink, entries: u8) {
            let map = out.begin_map();
            for i in 0..entries {
                out.put(&[i, i]);
            }
            out.end_map(map, entries as usize).unwrap();
        }
        for (entries, cap, spills) in [(20u8, 100, false), (20, 10, true)] {
            let mut grown = Vec::new();
            pack(&mut Growable::new(&mut grown), entries);
            let mut counter = Counter::default();
            pack(&mut counter, entries);
            let mut bytes = Vec::new();
            let mut staged = Staged::new(&mut bytes, cap, Vec::new());
            pack(&mut staged, entries);
            assert_eq!(staged.spilled(), spills);
            assert_eq!(staged.counter.size, counter.size);
            assert_eq!(staged.counter.maps, counter.maps);
            if !spills {
                assert_eq!(bytes, grown);
            }
        }
    }

    /// A descriptor's buffer is never staged, however small: it must be copied only once.
    #[test]
    fn staged_spills_on_a_buffer() {
        let mut bytes = Vec::new();
        let mut staged = Staged::new(&mut bytes, 1000, Vec::new());
        staged.put(&[1, 2]);
        staged.put_buffer(&[3]);
        assert!(staged.spilled());
        assert_eq!(staged.counter.size, 3);
    }

    /// A map in a write later undone still takes its turn: both passes make the same calls.
    #[test]
    fn maps_in_undone_writes_keep_their_turn() {
        fn pack(out: &mut impl Sink) {
            let undone = out.begin_map();
            out.end_map(undone, 3).unwrap();
            out.truncate(0);
            let kept = out.begin_map();
            for i in 0..20 {
                out.put_u8(i);
            }
            out.end_map(kept, 20).unwrap();
        }
        let mut counter = Counter::default();
        pack(&mut counter);
        let size = counter.size;
        assert_eq!(counter.maps, [3, 20]);
        let mut buf = vec![0u8; size];
        let mut fixed = Fixed::with_maps(&mut buf, counter.take_map_counts());
        pack(&mut fixed);
        assert!(fixed.is_exact());
        assert_eq!(buf[..3], [0xde, 0, 20]);
    }
}
