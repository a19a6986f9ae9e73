//! MessagePack's formats, written in their smallest form, to a [`Sink`]: what takes the
//! bytes (the sinks themselves are in `sink.rs`).

pub trait Sink: Sized {
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

    /// Writes the bytes of a descriptor's buffer, which must be copied once.
    fn put_buffer(&mut self, bytes: &[u8]) {
        self.put(bytes);
    }

    /// Gives up the vector of map counts this sink holds (empty if none): the entries of every
    /// map in the order the maps begin, what [`Fixed::with_maps`] needs, or a vector to reuse.
    fn take_map_counts(&mut self) -> Vec<usize> {
        Vec::new()
    }

    /// Starts a map whose number of entries is told at its end.
    fn begin_map(&mut self) -> MapStart {
        let at = self.pos();
        self.put_u8(0);
        MapStart { at, known: None }
    }

    /// Ends the map `start` began, with `n` entries.
    fn end_map(&mut self, start: MapStart, n: usize) -> Result<(), TooLong> {
        patch_map_header(self, start.at, n)
    }
}

/// Where a map began, and the count its header was written for (when it was known).
pub struct MapStart {
    pub(super) at: usize,
    pub(super) known: Option<usize>,
}

/// Format bytes, named as in the MessagePack spec. (rmp's `Marker` names them too, but its
/// `to_u8` is a function call per byte on this hot path; these are constants.)
mod m {
    pub const NIL: u8 = 0xc0;
    pub const FALSE: u8 = 0xc2;
    pub const TRUE: u8 = 0xc3;
    pub const BIN8: u8 = 0xc4;
    pub const BIN16: u8 = 0xc5;
    pub const BIN32: u8 = 0xc6;
    pub const EXT8: u8 = 0xc7;
    pub const EXT16: u8 = 0xc8;
    pub const EXT32: u8 = 0xc9;
    pub const F32: u8 = 0xca;
    pub const F64: u8 = 0xcb;
    pub const U8: u8 = 0xcc;
    pub const U16: u8 = 0xcd;
    pub const U32: u8 = 0xce;
    pub const U64: u8 = 0xcf;
    pub const I8: u8 = 0xd0;
    pub const I16: u8 = 0xd1;
    pub const I32: u8 = 0xd2;
    pub const I64: u8 = 0xd3;
    pub const FIXEXT1: u8 = 0xd4;
    pub const STR8: u8 = 0xd9;
    pub const STR16: u8 = 0xda;
    pub const STR32: u8 = 0xdb;
    pub const ARRAY16: u8 = 0xdc;
    pub const ARRAY32: u8 = 0xdd;
    pub const MAP16: u8 = 0xde;
    pub const MAP32: u8 = 0xdf;
    pub const FIXMAP: u8 = 0x80;
    pub const FIXARRAY: u8 = 0x90;
    pub const FIXSTR: u8 = 0xa0;
}

#[inline]
pub fn nil(out: &mut impl Sink) {
    out.put_u8(m::NIL);
}

#[inline]
pub fn bool(out: &mut impl Sink, b: bool) {
    out.put_u8(if b { m::TRUE } else { m::FALSE });
}

#[inline]
pub fn uint(out: &mut impl Sink, u: u64) {
    if u < 128 {
        out.put_u8(u as u8);
    } else if u <= u8::MAX as u64 {
        out.put(&[m::U8, u as u8]);
    } else if u <= u16::MAX as u64 {
        tagged(out, m::U16, (u as u16).to_be_bytes());
    } else if u <= u32::MAX as u64 {
        tagged(out, m::U32, (u as u32).to_be_bytes());
    } else {
        tagged(out, m::U64, u.to_be_bytes());
    }
}

#[inline]
pub fn int(out: &mut impl Sink, i: i64) {
    if i >= 0 {
        uint(out, i as u64);
    } else if i >= -32 {
        out.put_u8(i as u8);
    } else if i >= i8::MIN as i64 {
        out.put(&[m::I8, i as u8]);
    } else if i >= i16::MIN as i64 {
        tagged(out, m::I16, (i as i16).to_be_bytes());
    } else if i >= i32::MIN as i64 {
        tagged(out, m::I32, (i as i32).to_be_bytes());
    } else {
        tagged(out, m::I64, i.to_be_bytes());
    }
}

#[inline]
pub fn float(out: &mut impl Sink, f: f64, as_f32: bool) {
    if as_f32 {
        tagged(out, m::F32, (f as f32).to_be_bytes());
    } else {
        tagged(out, m::F64, f.to_be_bytes());
    }
}

/// A str: the bytes as they are (Lua strings are bytes; no UTF-8 check, as the contract says).
#[inline]
pub fn str(out: &mut impl Sink, s: &[u8]) -> Result<(), TooLong> {
    let n = s.len();
    if n < 32 {
        out.put_u8(m::FIXSTR | n as u8);
    } else {
        length(out, n, [m::STR8, m::STR16, m::STR32])?;
    }
    out.put(s);
    Ok(())
}

/// A bin holding `b`.
#[inline]
pub fn bin(out: &mut impl Sink, b: &[u8]) -> Result<(), TooLong> {
    bin_header(out, b.len())?;
    out.put(b);
    Ok(())
}

/// The header of a bin of `n` bytes; the caller writes the bytes.
#[inline]
pub fn bin_header(out: &mut impl Sink, n: usize) -> Result<(), TooLong> {
    length(out, n, [m::BIN8, m::BIN16, m::BIN32])
}

pub fn ext(out: &mut impl Sink, ty: i8, data: &[u8]) -> Result<(), TooLong> {
    match data.len() {
        // fixext 1, 2, 4, 8, 16 are 0xd4 to 0xd8
        n @ (1 | 2 | 4 | 8 | 16) => out.put_u8(m::FIXEXT1 + n.trailing_zeros() as u8),
        n => length(out, n, [m::EXT8, m::EXT16, m::EXT32])?,
    }
    out.put_u8(ty as u8);
    out.put(data);
    Ok(())
}

#[inline]
pub fn array_header(out: &mut impl Sink, n: usize) -> Result<(), TooLong> {
    container_header(out, n, [m::FIXARRAY, m::ARRAY16, m::ARRAY32])
}

/// A map's header, when the number of entries is known before them.
#[inline]
pub fn map_header(out: &mut impl Sink, n: usize) -> Result<(), TooLong> {
    container_header(out, n, [m::FIXMAP, m::MAP16, m::MAP32])
}

#[inline]
fn container_header(
    out: &mut impl Sink,
    n: usize,
    [fix, m16, m32]: [u8; 3],
) -> Result<(), TooLong> {
    if n < 16 {
        out.put_u8(fix | n as u8);
    } else if n <= u16::MAX as usize {
        tagged(out, m16, (n as u16).to_be_bytes());
    } else if n <= u32::MAX as usize {
        tagged(out, m32, (n as u32).to_be_bytes());
    } else {
        return Err(TooLong(n));
    }
    Ok(())
}

/// A map's header, written once its entries are: `at` is where a one-byte placeholder was
/// left, which grows into a map16 or map32 header when there are 16 entries or more.
#[inline]
pub fn patch_map_header(out: &mut impl Sink, at: usize, n: usize) -> Result<(), TooLong> {
    if n < 16 {
        out.patch(at, &[m::FIXMAP | n as u8]);
    } else if n <= u16::MAX as usize {
        out.open_gap(at + 1, 2);
        let [a, b] = (n as u16).to_be_bytes();
        out.patch(at, &[m::MAP16, a, b]);
    } else if n <= u32::MAX as usize {
        out.open_gap(at + 1, 4);
        let [a, b, c, d] = (n as u32).to_be_bytes();
        out.patch(at, &[m::MAP32, a, b, c, d]);
    } else {
        return Err(TooLong(n));
    }
    Ok(())
}

/// A length that MessagePack cannot express (over 2^32 - 1).
#[derive(Debug)]
pub struct TooLong(pub usize);

/// Writes `n` after the marker for 8, 16 or 32-bit lengths that holds it.
#[inline]
fn length(out: &mut impl Sink, n: usize, [m8, m16, m32]: [u8; 3]) -> Result<(), TooLong> {
    if n <= u8::MAX as usize {
        out.put(&[m8, n as u8]);
    } else if n <= u16::MAX as usize {
        tagged(out, m16, (n as u16).to_be_bytes());
    } else if n <= u32::MAX as usize {
        tagged(out, m32, (n as u32).to_be_bytes());
    } else {
        return Err(TooLong(n));
    }
    Ok(())
}

/// A marker and its big-endian payload, written at once.
#[inline]
fn tagged<const N: usize>(out: &mut impl Sink, marker: u8, bytes: [u8; N]) {
    let mut buf = [0u8; 9];
    buf[0] = marker;
    buf[1..=N].copy_from_slice(&bytes);
    out.put(&buf[..=N]);
}

#[cfg(test)]
mod tests {
    use super::super::sink::Growable;
    use super::*;

    fn packed(f: impl FnOnce(&mut Growable)) -> Vec<u8> {
        let mut v = Vec::new();
        f(&mut Growable::new(&mut v));
        v
    }

    #[test]
    fn integers_take_the_smallest_format() {
        assert_eq!(packed(|o| int(o, 0)), [0x00]);
        assert_eq!(packed(|o| int(o, 127)), [0x7f]);
        assert_eq!(packed(|o| int(o, 128)), [0xcc, 0x80]);
        assert_eq!(packed(|o| int(o, 256)), [0xcd, 0x01, 0x00]);
        assert_eq!(packed(|o| int(o, 65536)), [0xce, 0, 1, 0, 0]);
        assert_eq!(packed(|o| int(o, 1 << 32)), [0xcf, 0, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(packed(|o| int(o, -1)), [0xff]);
        assert_eq!(packed(|o| int(o, -32)), [0xe0]);
        assert_eq!(packed(|o| int(o, -33)), [0xd0, 0xdf]);
        assert_eq!(packed(|o| int(o, -129)), [0xd1, 0xff, 0x7f]);
        assert_eq!(packed(|o| int(o, i64::MIN))[0], 0xd3);
        assert_eq!(
            packed(|o| uint(o, u64::MAX)),
            [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
    }

    #[test]
    fn lengths_pick_their_marker() {
        assert_eq!(
            packed(|o| str(o, b"abc").unwrap()),
            [0xa3, b'a', b'b', b'c']
        );
        assert_eq!(packed(|o| str(o, &[b'x'; 32]).unwrap())[..2], [0xd9, 32]);
        assert_eq!(packed(|o| str(o, &[b'x'; 256]).unwrap())[..3], [0xda, 1, 0]);
        assert_eq!(packed(|o| bin_header(o, 3).unwrap()), [0xc4, 3]);
        assert_eq!(packed(|o| array_header(o, 16).unwrap()), [0xdc, 0, 16]);
        assert_eq!(packed(|o| ext(o, 5, &[1, 2]).unwrap()), [0xd5, 5, 1, 2]);
        assert_eq!(
            packed(|o| ext(o, -1, &[1, 2, 3]).unwrap()),
            [0xc7, 3, 0xff, 1, 2, 3]
        );
    }

    #[test]
    fn map_header_grows_in_place() {
        let v = packed(|o| {
            o.put_u8(0);
            o.put(&[7; 32]);
            patch_map_header(o, 0, 16).unwrap();
        });
        assert_eq!(&v[..3], [0xde, 0, 16]);
        assert_eq!(v.len(), 35);
    }
}
