//! What one Lua state's copy of nml remembers between calls.
//!
//! Every C function nml registers carries the same upvalues (set up in `lib.rs`):
//! 1. this [`Module`] as a full userdata,
//! 2. to 5. the marker metatables of `nml.map`, `nml.array`, `nml.bin` and `nml.ext`,
//! 6. the table of cached key strings (`msgpack::keys`),
//! 7. the trampoline of `Stack::protect`, a closure with these same upvalues.
//!
//! Fields are cells because nml functions can re-enter one another (a registered protocol's
//! encoder may call `nml.pack`), so nothing here is ever borrowed across a call into Lua.

use std::cell::{Cell, RefCell};
use std::ffi::{c_int, c_void};

use crate::lua::Stack;
use crate::msgpack::keys::KeyCache;
use crate::protocol::Registry;

pub const DEFAULT_MAX_DEPTH: usize = 512;
/// The ceiling for `max_depth`: nesting is followed by recursion on the C stack, which must not
/// overflow whatever a script sets.
pub const MAX_MAX_DEPTH: usize = 10_000;

/// Upvalue slots of every nml C function.
pub mod upvalue {
    pub const MODULE: i32 = 1;
    pub const MAP_MT: i32 = 2;
    pub const ARRAY_MT: i32 = 3;
    pub const BIN_MT: i32 = 4;
    pub const EXT_MT: i32 = 5;
    pub const KEYS: i32 = 6;
    pub const PROTECT: i32 = crate::lua::PROTECT_UPVALUE;
    pub const COUNT: i32 = 7;
}

/// Identities of the marker metatables, compared by pointer on the hot path.
#[derive(Clone, Copy)]
pub struct Marks {
    pub map: *const c_void,
    pub array: *const c_void,
    pub bin: *const c_void,
    pub ext: *const c_void,
}

/// The kind a metatable gives a table.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mark {
    None,
    Map,
    Array,
    Bin,
    Ext,
}

impl Marks {
    pub fn of(&self, metatable: *const c_void) -> Mark {
        if metatable == self.map {
            Mark::Map
        } else if metatable == self.array {
            Mark::Array
        } else if metatable == self.bin {
            Mark::Bin
        } else if metatable == self.ext {
            Mark::Ext
        } else {
            Mark::None
        }
    }
}

pub struct Module {
    pub marks: Marks,
    pub max_depth: Cell<usize>,
    pub float32: Cell<bool>,
    /// `nml.config{buffers = "string"}`: descriptors' buffers unpack as strings, not messages.
    pub buffers_as_strings: Cell<bool>,
    /// Output buffer reused by `pack`, taken out while in use.
    scratch: Cell<Vec<u8>>,
    /// How many calls in a row used little of a large scratch buffer (see `with_scratch`).
    scratch_idle: Cell<u32>,
    /// The packer's stack of open tables, kept between calls for its capacity.
    path: Cell<Vec<*const c_void>>,
    /// The counting pass's map counts (`msgpack::sink::Counter`), kept likewise.
    map_counts: Cell<Vec<usize>>,
    pub protocols: RefCell<Registry>,
    /// Map keys decoded lately, as Lua strings (their table is upvalue `KEYS`).
    pub keys: KeyCache,
    /// LuaJIT only: a registry reference to the function of `lua/nml/luajit.lua`, which says
    /// where an FFI cdata's or a string.buffer's bytes are (`None` elsewhere).
    pub buffer_span: Cell<Option<c_int>>,
}

impl Module {
    pub fn new(marks: Marks) -> Module {
        Module {
            marks,
            max_depth: Cell::new(DEFAULT_MAX_DEPTH),
            float32: Cell::new(false),
            buffers_as_strings: Cell::new(false),
            scratch: Cell::new(Vec::new()),
            scratch_idle: Cell::new(0),
            path: Cell::new(Vec::new()),
            map_counts: Cell::new(Vec::new()),
            protocols: RefCell::new(Registry::default()),
            keys: KeyCache::default(),
            buffer_span: Cell::new(None),
        }
    }

    /// The module of the running nml function.
    pub fn of(stack: &Stack) -> &Module {
        // SAFETY: upvalue 1 of every function nml registers is the Module userdata (lib.rs sets
        // them all up through one function), and the closure keeps it alive during the call.
        // Only shared references are handed out; mutation goes through cells.
        stack.module_upvalue::<Module>()
    }

    /// Runs `f` with the scratch buffer, emptied; a nested call gets a fresh one.
    ///
    /// The buffer keeps its capacity between calls, so packing large values again and again
    /// writes into warm memory instead of faulting in fresh pages every time. A large buffer
    /// that the last 16 calls used less than an eighth of is given back.
    pub fn with_scratch<R>(&self, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        const KEEP: usize = 1 << 20;
        const MAX_KEPT: usize = 256 << 20;
        let mut buf = self.scratch.take();
        buf.clear();
        let r = f(&mut buf);
        let (used, capacity) = (buf.len(), buf.capacity());
        if capacity > KEEP && used < capacity / 8 {
            self.scratch_idle.set(self.scratch_idle.get() + 1);
        } else {
            self.scratch_idle.set(0);
        }
        if capacity > MAX_KEPT || self.scratch_idle.get() > 16 {
            buf.clear();
            buf.shrink_to(KEEP);
            self.scratch_idle.set(0);
        }
        self.scratch.set(buf);
        r
    }
}

impl Module {
    pub fn take_path(&self) -> Vec<*const c_void> {
        self.path.take()
    }

    pub fn return_path(&self, mut path: Vec<*const c_void>) {
        path.clear();
        self.path.set(path);
    }

    pub fn take_map_counts(&self) -> Vec<usize> {
        self.map_counts.take()
    }

    /// Keeps `counts` for the next packer, unless the vector kept already has more room (a
    /// packer whose counts went on to a later pass returns an empty one).
    pub fn return_map_counts(&self, counts: Vec<usize>) {
        let kept = self.map_counts.take();
        self.map_counts
            .set(match kept.capacity() >= counts.capacity() {
                true => kept,
                false => counts,
            });
    }
}

/// Index of a marker metatable upvalue.
pub fn marker_upvalue(mark: Mark) -> c_int {
    Stack::upvalue(match mark {
        Mark::Map => upvalue::MAP_MT,
        Mark::Array => upvalue::ARRAY_MT,
        Mark::Bin => upvalue::BIN_MT,
        Mark::Ext | Mark::None => upvalue::EXT_MT,
    })
}
