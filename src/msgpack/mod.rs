//! The MessagePack codec: Lua values to bytes and back, with no tree in between.

pub mod format;
pub mod keys;
pub mod pack;
pub mod sink;
pub mod unpack;

use std::ffi::c_int;

use crate::error::Result;
use crate::lua::Stack;
use crate::state::Module;
use pack::Packer;
use sink::{Counter, Fixed, Growable, Sink, Staged};
use unpack::Unpacker;

/// Appends the MessagePack form of each value in `first..=last` to `out`.
pub fn pack_values(
    stack: &Stack,
    module: &Module,
    first: c_int,
    last: c_int,
    out: &mut Vec<u8>,
) -> Result<()> {
    let mut packer = Packer::new(stack, module, Growable(out));
    for idx in first..=last {
        packer.pack(idx)?;
    }
    Ok(())
}

/// The exact number of bytes `pack_values` would write.
pub fn packed_size(stack: &Stack, module: &Module, first: c_int, last: c_int) -> Result<usize> {
    let measured = measure(stack, module, first, last)?;
    module.return_map_counts(measured.maps);
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
    module: &Module,
    idx: c_int,
    scratch: &mut Vec<u8>,
) -> Result<Option<Measured>> {
    /// Up to this size a copy from scratch costs less than a second pass over the value.
    const SMALL: usize = 64 << 10;
    let maps = module.take_map_counts();
    let mut packer = Packer::new(stack, module, Staged::new(scratch, SMALL, maps));
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
pub fn measure(stack: &Stack, module: &Module, first: c_int, last: c_int) -> Result<Measured> {
    let counter = Counter::with_map_counts(module.take_map_counts());
    let mut packer = Packer::new(stack, module, counter);
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
    module: &Module,
    first: c_int,
    last: c_int,
    measured: Measured,
    dst: &mut [u8],
) -> Result<()> {
    let mut packer = Packer::new(stack, module, Fixed::with_maps(dst, measured.maps));
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
pub fn decode_one(stack: &Stack, module: &Module, data: &[u8]) -> Result<()> {
    let mut u = Unpacker::new(stack, module, data, 0);
    u.value()?;
    unpack::expect_end(&u)
}
