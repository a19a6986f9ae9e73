//! What one Lua state's copy of nml remembers between calls: the codecs' settings and caches,
//! the scratch buffer, and the registered protocols.
//!
//! Fields are cells because nml functions can re-enter one another (a registered protocol's
//! encoder may call `nml.pack`), so nothing here is ever borrowed across a call into Lua.

use std::cell::{Cell, RefCell};

use crate::codec::{Marks, Settings};
use crate::error::{Error, Result};
use crate::lua::Stack;
use crate::msgpack;
use crate::protocol::Registry;

pub struct Module {
    settings: Cell<Settings>,
    msgpack: msgpack::Cache,
    /// Output buffer reused by `pack`, taken out while in use.
    scratch: Cell<Vec<u8>>,
    /// How many calls in a row used little of a large scratch buffer (see `with_scratch`).
    scratch_idle: Cell<u32>,
    pub protocols: RefCell<Registry>,
}

impl Module {
    pub fn new(marks: Marks) -> Module {
        Module {
            settings: Cell::new(Settings::new(marks)),
            msgpack: msgpack::Cache::default(),
            scratch: Cell::new(Vec::new()),
            scratch_idle: Cell::new(0),
            protocols: RefCell::new(Registry::default()),
        }
    }

    /// The module of the running nml function: its upvalue 1 (`codec::upvalue::MODULE`),
    /// which `lib.rs` sets for every function it registers.
    pub fn of(stack: &Stack) -> Result<&Module> {
        stack
            .module_upvalue::<Module>()
            .ok_or_else(|| Error::raise("nml: upvalue 1 of this function is not nml's state"))
    }

    pub fn settings(&self) -> Settings {
        self.settings.get()
    }

    /// Changes the settings every codec call after this one sees.
    pub fn update_settings(&self, change: impl FnOnce(&mut Settings)) {
        let mut settings = self.settings.get();
        change(&mut settings);
        self.settings.set(settings);
    }

    /// What the MessagePack codec needs for one call.
    pub fn codec(&self) -> msgpack::Codec<'_> {
        msgpack::Codec {
            settings: self.settings.get(),
            cache: &self.msgpack,
        }
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
