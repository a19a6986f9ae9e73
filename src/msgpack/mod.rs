//! The MessagePack codec: Lua values to bytes and back, with no tree in between.

pub mod format;
pub mod pack;
pub mod sink;
pub mod unpack;

use std::ffi::c_int;

use crate::error::Result;
use crate::lua::Stack;
use crate::state::Module;
use pack::Packer;
use sink::{Counter, Growable};
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
    let mut packer = Packer::new(stack, module, Counter::default());
    for idx in first..=last {
        packer.pack(idx)?;
    }
    Ok(packer.out.0)
}

/// Pushes the one value `data` holds; trailing bytes are an error.
pub fn decode_one(stack: &Stack, module: &Module, data: &[u8]) -> Result<()> {
    let mut u = Unpacker::new(stack, module, data, 0);
    u.value()?;
    unpack::expect_end(&u)
}
