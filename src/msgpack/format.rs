//! MessagePack's formats, written in their smallest form.

use rmp::Marker;

use super::sink::Sink;

#[inline]
pub fn nil(out: &mut impl Sink) {
    out.put_u8(Marker::Null.to_u8());
}

#[inline]
pub fn bool(out: &mut impl Sink, b: bool) {
    out.put_u8(if b { Marker::True } else { Marker::False }.to_u8());
}

#[inline]
pub fn uint(out: &mut impl Sink, u: u64) {
    if u < 128 {
        out.put_u8(u as u8);
    } else if u <= u8::MAX as u64 {
        out.put(&[Marker::U8.to_u8(), u as u8]);
    } else if u <= u16::MAX as u64 {
        tagged(out, Marker::U16, &(u as u16).to_be_bytes());
    } else if u <= u32::MAX as u64 {
        tagged(out, Marker::U32, &(u as u32).to_be_bytes());
    } else {
        tagged(out, Marker::U64, &u.to_be_bytes());
    }
}

#[inline]
pub fn int(out: &mut impl Sink, i: i64) {
    if i >= 0 {
        uint(out, i as u64);
    } else if i >= -32 {
        out.put_u8(i as u8);
    } else if i >= i8::MIN as i64 {
        out.put(&[Marker::I8.to_u8(), i as u8]);
    } else if i >= i16::MIN as i64 {
        tagged(out, Marker::I16, &(i as i16).to_be_bytes());
    } else if i >= i32::MIN as i64 {
        tagged(out, Marker::I32, &(i as i32).to_be_bytes());
    } else {
        tagged(out, Marker::I64, &i.to_be_bytes());
    }
}

#[inline]
pub fn float(out: &mut impl Sink, f: f64, as_f32: bool) {
    if as_f32 {
        tagged(out, Marker::F32, &(f as f32).to_be_bytes());
    } else {
        tagged(out, Marker::F64, &f.to_be_bytes());
    }
}

/// A str: the bytes as they are (Lua strings are bytes; no UTF-8 check, as the contract says).
#[inline]
pub fn str(out: &mut impl Sink, s: &[u8]) -> Result<(), TooLong> {
    let n = s.len();
    if n < 32 {
        out.put_u8(Marker::FixStr(n as u8).to_u8());
    } else {
        length(
            out,
            n,
            [
                None,
                Some(Marker::Str8),
                Some(Marker::Str16),
                Some(Marker::Str32),
            ],
        )?;
    }
    out.put(s);
    Ok(())
}

/// The header of a bin of `n` bytes; the caller writes the bytes.
#[inline]
pub fn bin_header(out: &mut impl Sink, n: usize) -> Result<(), TooLong> {
    length(
        out,
        n,
        [
            None,
            Some(Marker::Bin8),
            Some(Marker::Bin16),
            Some(Marker::Bin32),
        ],
    )
}

pub fn ext(out: &mut impl Sink, ty: i8, data: &[u8]) -> Result<(), TooLong> {
    let fixed = match data.len() {
        1 => Some(Marker::FixExt1),
        2 => Some(Marker::FixExt2),
        4 => Some(Marker::FixExt4),
        8 => Some(Marker::FixExt8),
        16 => Some(Marker::FixExt16),
        _ => None,
    };
    match fixed {
        Some(m) => out.put_u8(m.to_u8()),
        None => length(
            out,
            data.len(),
            [
                None,
                Some(Marker::Ext8),
                Some(Marker::Ext16),
                Some(Marker::Ext32),
            ],
        )?,
    }
    out.put_u8(ty as u8);
    out.put(data);
    Ok(())
}

#[inline]
pub fn array_header(out: &mut impl Sink, n: usize) -> Result<(), TooLong> {
    if n < 16 {
        out.put_u8(Marker::FixArray(n as u8).to_u8());
        Ok(())
    } else {
        length(
            out,
            n,
            [None, None, Some(Marker::Array16), Some(Marker::Array32)],
        )
    }
}

/// A map's header, written once its entries are: `at` is where a one-byte placeholder was
/// left, which grows into a map16 or map32 header when there are 16 entries or more.
pub fn patch_map_header(out: &mut impl Sink, at: usize, n: usize) -> Result<(), TooLong> {
    if n < 16 {
        out.patch(at, &[Marker::FixMap(n as u8).to_u8()]);
    } else if n <= u16::MAX as usize {
        out.open_gap(at + 1, 2);
        let [a, b] = (n as u16).to_be_bytes();
        out.patch(at, &[Marker::Map16.to_u8(), a, b]);
    } else if n <= u32::MAX as usize {
        out.open_gap(at + 1, 4);
        let [a, b, c, d] = (n as u32).to_be_bytes();
        out.patch(at, &[Marker::Map32.to_u8(), a, b, c, d]);
    } else {
        return Err(TooLong(n));
    }
    Ok(())
}

/// A length that MessagePack cannot express (over 2^32 - 1).
#[derive(Debug)]
pub struct TooLong(pub usize);

/// Writes `n` with the first marker of `markers` (for 8, 16, 32-bit lengths) that holds it.
#[inline]
fn length(out: &mut impl Sink, n: usize, markers: [Option<Marker>; 4]) -> Result<(), TooLong> {
    let [_, m8, m16, m32] = markers;
    match (m8, m16, m32) {
        (Some(m), _, _) if n <= u8::MAX as usize => out.put(&[m.to_u8(), n as u8]),
        (_, Some(m), _) if n <= u16::MAX as usize => tagged(out, m, &(n as u16).to_be_bytes()),
        (_, _, Some(m)) if n <= u32::MAX as usize => tagged(out, m, &(n as u32).to_be_bytes()),
        _ => return Err(TooLong(n)),
    }
    Ok(())
}

#[inline]
fn tagged<const N: usize>(out: &mut impl Sink, m: Marker, bytes: &[u8; N]) {
    out.put_u8(m.to_u8());
    out.put(bytes);
}

#[cfg(test)]
mod tests {
    use super::super::sink::Growable;
    use super::*;

    fn packed(f: impl FnOnce(&mut Growable)) -> Vec<u8> {
        let mut v = Vec::new();
        f(&mut Growable(&mut v));
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
