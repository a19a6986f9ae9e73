//! The MessagePack codec: Lua values to bytes and back, with no tree in between.

pub mod format;
pub mod keys;
pub mod pack;
pub mod scan;
pub mod sink;
pub mod unpack;

use std::cell::{Cell, RefCell};
use std::ffi::{c_int, c_void};
use std::rc::Rc;

use crate::codec::Settings;
use crate::error::{out_of_memory, Result};
use crate::lua::Stack;
use crate::shm::Control;
use format::Sink;
use keys::KeyCache;
use pack::Packer;
use sink::{Counter, Fixed, Growable, Staged};
use unpack::Unpacker;

/// What the codec keeps between calls: decoded keys, and vectors kept for their capacity.
#[derive(Default)]
pub struct Cache {
    /// Map keys decoded lately, as Lua strings (their table is upvalue `KEYS`).
    keys: KeyCache,
    /// The packer's stack of open tables.
    path: Cell<Vec<*const c_void>>,
    /// The counting pass's map counts (`sink::Counter`).
    map_counts: Cell<Vec<usize>>,
    /// The control pages of the shared buffers the last packer referenced, so that a send can
    /// count a hold for each receiver (`share = true`).
    shared: RefCell<Vec<Rc<Control>>>,
}

impl Cache {
    fn take_path(&self) -> Vec<*const c_void> {
        self.path.take()
    }

    fn return_path(&self, mut path: Vec<*const c_void>) {
        path.clear();
        self.path.set(path);
    }

    /// The shared buffers the last packer referenced, one entry per reference.
    pub fn take_shared(&self) -> Vec<Rc<Control>> {
        self.shared.take()
    }

    fn take_map_counts(&self) -> Vec<usize> {
        self.map_counts.take()
    }

    /// Keeps `counts` for the next packer, unless the vector kept already has more room (a
    /// packer whose counts went on to a later pass returns an empty one).
    fn return_map_counts(&self, counts: Vec<usize>) {
        let kept = self.map_counts.take();
        self.map_counts
            .set(match kept.capacity() >= counts.capacity() {
                true => kept,
                false => counts,
            });
    }
}

/// What one call of the codec works with: the settings in force and the cache.
#[derive(Clone, Copy)]
pub struct Codec<'a> {
    pub settings: Settings,
    pub cache: &'a Cache,
}

/// Appends the MessagePack form of each value in `first..=last` to `out`.
pub fn pack_values(
    stack: &Stack,
    codec: Codec<'_>,
    first: c_int,
    last: c_int,
    out: &mut Vec<u8>,
) -> Result<()> {
    let mut packer = Packer::new(stack, codec, Growable::new(out));
    for idx in first..=last {
        packer.pack(idx)?;
        if packer.out.out_of_memory {
            return Err(out_of_memory("the packed values do not fit"));
        }
    }
    Ok(())
}

/// The exact number of bytes `pack_values` would write.
pub fn packed_size(stack: &Stack, codec: Codec<'_>, first: c_int, last: c_int) -> Result<usize> {
    let measured = measure(stack, codec, first, last)?;
    codec.cache.return_map_counts(measured.maps);
    Ok(measured.size)
}

/// What the counting pass learns of values: their packed size, and the entries of each map.
pub struct Measured {
    pub size: usize,
    maps: Vec<usize>,
}

/// Packs the value at `idx` for a message: a small value without buffers in one pass into
/// `scratch` (`Ok(None)`, the bytes there); a larger one, or one holding a descriptor, only
/// counted (`Ok(Some(measured))`, to be packed in place with [`pack_measured`]), so a buffer
/// is copied once, into the message.
pub fn stage(
    stack: &Stack,
    codec: Codec<'_>,
    idx: c_int,
    scratch: &mut Vec<u8>,
) -> Result<Option<Measured>> {
    /// Up to this size a copy from scratch costs less than a second pass over the value.
    const SMALL: usize = 64 << 10;
    let maps = codec.cache.take_map_counts();
    let mut packer = Packer::new(stack, codec, Staged::new(scratch, SMALL, maps));
    packer.pack(idx)?;
    if !packer.out.spilled() {
        return Ok(None);
    }
    Ok(Some(Measured {
        size: packer.out.pos(),
        maps: packer.out.take_map_counts(),
    }))
}

/// Runs the counting pass over the values in `first..=last`.
pub fn measure(stack: &Stack, codec: Codec<'_>, first: c_int, last: c_int) -> Result<Measured> {
    let counter = Counter::with_map_counts(codec.cache.take_map_counts());
    let mut packer = Packer::new(stack, codec, counter);
    for idx in first..=last {
        packer.pack(idx)?;
    }
    Ok(Measured {
        size: packer.out.pos(),
        maps: packer.out.take_map_counts(),
    })
}

/// Packs the values in `first..=last`, which `measured` describes, into `dst` of exactly
/// `measured.size` bytes. Every byte is written once, in place.
pub fn pack_measured(
    stack: &Stack,
    codec: Codec<'_>,
    first: c_int,
    last: c_int,
    measured: Measured,
    dst: &mut [u8],
) -> Result<()> {
    let mut packer = Packer::new(stack, codec, Fixed::with_maps(dst, measured.maps));
    for idx in first..=last {
        packer.pack(idx)?;
    }
    match packer.out.is_exact() {
        true => Ok(()),
        false => Err(crate::error::Error::raise(
            "the value changed while it was being packed",
        )),
    }
}

/// Pushes the one value `data` holds; trailing bytes are an error.
pub fn decode_one(stack: &Stack, codec: Codec<'_>, data: &[u8]) -> Result<()> {
    let mut u = Unpacker::new(stack, codec, data, 0);
    u.value()?;
    unpack::expect_end(&u)
}
