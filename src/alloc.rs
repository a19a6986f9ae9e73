//! Packing into memory the caller provides: the original design's allocator hand-off
//! `nml.pack(..., {malloc = f, realloc = f, free = f}) -> block, bytes`, and
//! `nml.pack_into(msg, ...) -> msg, bytes`.
//!
//! Both size the values with the counting pass first, get memory of exactly that size once,
//! and pack straight into it: the bytes land there and nowhere else.

use std::ffi::c_int;

use crate::error::{bad_argument, Error, Result};
use crate::lua::{Kind, LuaFn, Returns, Stack};
use crate::message::{self, MsgBox};
use crate::msgpack::{measure, pack_measured, Measured};
use crate::state::Module;

crate::lua_functions! {
    pack_into => pack_into_impl;
}

/// The functions of this file, as `nml.<name>`.
pub const FUNCTIONS: &[(&str, LuaFn)] = &[("pack_into", pack_into)];

const ALLOCATOR_FIELDS: [&str; 3] = ["malloc", "realloc", "free"];

/// True when the value at `idx` is an allocator table: a plain table whose `malloc`, `realloc`
/// and `free` are functions. (Functions cannot be packed, so no packable value looks like one.)
pub fn is_allocator(s: &Stack, idx: c_int) -> bool {
    let Some(table) = s.table(idx) else {
        return false;
    };
    if s.get_metatable(idx) {
        s.pop(1);
        return false;
    }
    ALLOCATOR_FIELDS.iter().all(|f| {
        let kind = s.raw_get_field(table, f);
        s.pop(1);
        kind == Kind::Function
    })
}

/// `nml.pack(v1, ..., vn, allocator) -> block, bytes | nil, err, code`, the allocator at `alloc`
/// (the last argument), the values below it.
pub fn pack_with_allocator(s: &Stack, alloc: c_int) -> Returns {
    if alloc < 2 {
        return Err(bad_argument(
            "pack",
            1,
            "value expected before the allocator",
        ));
    }
    let table = s
        .table(alloc)
        .ok_or_else(|| bad_argument("pack", alloc as usize, "allocator table expected"))?;
    // The three functions go on the stack first, while this frame owns nothing: looking them
    // up may raise (making the key strings), calling them is protected.
    let functions = Allocator {
        malloc: s.top() + 1,
    };
    for name in ALLOCATOR_FIELDS {
        s.raw_get_field(table, name);
    }
    let module = Module::of(s)?;
    let measured = measure(s, module.codec(), 1, alloc - 1).map_err(|e| e.context("nml.pack: "))?;
    let size = measured.size;
    let block = call_allocator(s, functions.malloc, "malloc", None, size)?;
    let block = match block_size(s, block) {
        Some(have) if have < size => {
            match call_allocator(s, functions.realloc(), "realloc", Some(block), size) {
                Ok(b) => b,
                Err(e) => return Err(free_after(s, functions.free(), block, e)),
            }
        }
        _ => block,
    };
    if let Err(e) = write_block(s, module, block, measured, 1, alloc - 1) {
        return Err(free_after(s, functions.free(), block, e));
    }
    s.push_value(block);
    s.push_int(size as i64);
    Ok(2)
}

/// Where the allocator's `malloc`, `realloc` and `free` sit on the stack, one after another.
struct Allocator {
    malloc: c_int,
}

impl Allocator {
    fn realloc(&self) -> c_int {
        self.malloc + 1
    }
    fn free(&self) -> c_int {
        self.malloc + 2
    }
}

/// Calls the allocator function at `function` with `(block?, size)` and leaves the block it
/// returns on the stack, giving its index. A `nil, err` result or an error raised becomes a
/// returned error.
fn call_allocator(
    s: &Stack,
    function: c_int,
    name: &str,
    block: Option<c_int>,
    size: usize,
) -> Result<c_int> {
    s.push_value(function);
    let nargs = match block {
        Some(b) => {
            s.push_value(b);
            2
        }
        None => 1,
    };
    s.push_int(size as i64);
    if let Err(e) = s.pcall(nargs, 3) {
        return Err(Error::returned(
            "nomem",
            format!("nml.pack: {name} failed: {e}"),
        ));
    }
    let results = s.top() - 2;
    match s.kind(results) {
        Kind::Userdata | Kind::LightUserdata => {
            s.pop(2);
            Ok(s.top())
        }
        Kind::Nil | Kind::Boolean => {
            let why = match s.opt_bytes(results + 1) {
                Some(w) => String::from_utf8_lossy(w).into_owned(),
                None => "no memory".to_string(),
            };
            Err(Error::returned(
                "nomem",
                format!("nml.pack: {name}({size}) failed: {why}"),
            ))
        }
        k => Err(Error::raise(format!(
            "nml.pack: {name} returned a {} value, not a buffer",
            k.name()
        ))),
    }
}

/// Gives the block back with `free` once something after `malloc` failed; the first error is
/// the one reported, with `free`'s own failure added.
fn free_after(s: &Stack, free: c_int, block: c_int, e: Error) -> Error {
    s.push_value(free);
    s.push_value(block);
    match s.pcall(1, 0) {
        Ok(()) => e,
        Err(free_error) => e.context(&format!("(free failed too: {free_error}) ")),
    }
}

/// The size of a block whose size is known: an nml message or a full userdata.
fn block_size(s: &Stack, block: c_int) -> Option<usize> {
    if message::is_message(s, block) {
        return message::check(s, block, "pack").ok()?.size().ok();
    }
    (s.kind(block) == Kind::Userdata).then(|| s.raw_len(block))
}

/// Packs the values `first..=last`, which `measured` describes, into the block at `block`.
fn write_block(
    s: &Stack,
    module: &Module,
    block: c_int,
    measured: Measured,
    first: c_int,
    last: c_int,
) -> Result<()> {
    let size = measured.size;
    let pack = |dst: &mut [u8]| {
        pack_measured(s, module.codec(), first, last, measured, dst)
            .map_err(|e| e.context("nml.pack: "))
    };
    if message::is_message(s, block) {
        let mb = message::check(s, block, "pack")?;
        return mb.bytes_mut(|bytes| {
            let have = bytes.len();
            bytes
                .get_mut(..size)
                .map_or(Err(too_small(have, size)), pack)
        });
    }
    let dst = s
        .userdata_bytes_mut(block, size)
        .ok_or_else(|| too_small(s.raw_len(block), size))?;
    pack(dst)
}

fn too_small(have: usize, size: usize) -> Error {
    Error::returned(
        "nomem",
        format!("nml.pack: the allocator gave {have} bytes for {size}"),
    )
}

/// `nml.pack_into(msg, ...) -> msg, bytes`: the message then holds exactly the packed values,
/// grown (or shrunk) to their size.
fn pack_into_impl(s: &Stack) -> Returns {
    let mb: &MsgBox = message::check(s, 1, "pack_into")?;
    let last = s.top();
    if last < 2 {
        return Err(bad_argument("pack_into", 2, "value expected"));
    }
    let module = Module::of(s)?;
    let measured = measure(s, module.codec(), 2, last).map_err(|e| e.context("nml.pack_into: "))?;
    let size = measured.size;
    mb.resize(size)?;
    mb.bytes_mut(|bytes| pack_measured(s, module.codec(), 2, last, measured, bytes))
        .map_err(|e| e.context("nml.pack_into: "))?;
    s.push_value(1);
    s.push_int(size as i64);
    Ok(2)
}
