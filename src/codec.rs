//! What the codecs share: the settings of `nml.config`, the kinds a marker metatable gives a
//! table, and where every nml function keeps the Lua values the codecs need.
//!
//! Every C function nml registers carries the same upvalues (set up in `lib.rs`, numbered in
//! [`upvalue`]): the module's state (`state::Module`) as a full userdata; the trampoline of
//! `Stack::protect`, a closure with these same upvalues; the marker metatables, one per entry
//! of [`MARKERS`]; and the table of cached key strings (`msgpack::keys`).

use std::ffi::{c_int, c_void};

use crate::error::{bad_argument, Error, Result};
use crate::lua::{Kind, Number, Stack, Table};

pub const DEFAULT_MAX_DEPTH: usize = 512;
/// The ceiling for `max_depth`: nesting is followed by recursion on the C stack, which must not
/// overflow whatever a script sets. On Lua 5.1 and LuaJIT a C function also has at most
/// LUAI_MAXCSTACK (8000) Lua stack slots, and an unpacked map holds two a level (its table and
/// the key being read): 3000 levels leave room for other values on the stack.
pub const MAX_MAX_DEPTH: usize = if cfg!(any(feature = "lua51", feature = "luajit")) {
    3_000
} else {
    10_000
};

/// The MessagePack ext type of a shared buffer's reference under a descriptor's `buffer`
/// (docs/wire-format.md, "Shared buffers").
pub const SHARED_EXT_TYPE: i8 = 78;
/// The most shared-buffer references one message may carry: a receiver maps two pages' worth
/// of mappings per view, so a message is bounded in what it makes a receiver hold.
pub const MAX_SHARED_PER_MESSAGE: usize = 256;

/// The markers, in one list: a table whose metatable is one of these packs as that kind.
/// Their metatables, their upvalues, [`Marks`] and `nml._markers` (which LuaJIT's Lua codec
/// reads, to hand a table with a marker it does not pack itself to the Rust codec) follow
/// this list; what each kind packs as is the codecs' (`msgpack/pack.rs`, `json.rs`, and
/// `lua/nml/jit_codec.lua` for those it knows).
pub const MARKERS: [Mark; 4] = [Mark::Map, Mark::Array, Mark::Bin, Mark::Ext];

/// Upvalue slots of every nml C function.
pub mod upvalue {
    pub const MODULE: i32 = 1;
    /// The trampoline of `Stack::protect`, where `lua.rs` looks for it.
    pub const PROTECT: i32 = crate::lua::PROTECT_UPVALUE;
    /// The first marker metatable; the others follow in the order of `MARKERS`.
    pub const FIRST_MARKER: i32 = PROTECT + 1;
    pub const KEYS: i32 = FIRST_MARKER + super::MARKERS.len() as i32;
    pub const COUNT: i32 = KEYS;
    /// The upvalues after the trampoline, shared by every function: markers and keys.
    pub const SHARED: i32 = COUNT - PROTECT;
    const _: () = assert!(
        PROTECT == MODULE + 1,
        "lua.rs's PROTECT_UPVALUE follows the module"
    );
}

/// Identities of the marker metatables (in the order of [`MARKERS`]), compared by pointer on
/// the hot path.
#[derive(Clone, Copy)]
pub struct Marks(pub [*const c_void; MARKERS.len()]);

/// The kind a metatable gives a table.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mark {
    None,
    Map,
    Array,
    Bin,
    Ext,
}

impl Mark {
    /// Whether it marks a plain table as a MessagePack container, which `nml.map` and
    /// `nml.array` may mark as the other. (A match, so that a new marker must answer.)
    pub fn is_container(self) -> bool {
        match self {
            Mark::Map | Mark::Array => true,
            Mark::None | Mark::Bin | Mark::Ext => false,
        }
    }

    /// Its name: `nml.<name>` marks a table, and `__nml` in the metatable says it.
    pub fn name(self) -> &'static str {
        match self {
            Mark::None => "none",
            Mark::Map => "map",
            Mark::Array => "array",
            Mark::Bin => "bin",
            Mark::Ext => "ext",
        }
    }

    /// Its upvalue slot (none for a table without a marker).
    fn upvalue(self) -> Option<c_int> {
        let i = MARKERS.iter().position(|m| *m == self)?;
        Some(upvalue::FIRST_MARKER + i as c_int)
    }
}

impl Marks {
    pub fn of(&self, metatable: *const c_void) -> Mark {
        match self.0.iter().position(|m| *m == metatable) {
            Some(i) => MARKERS[i],
            None => Mark::None,
        }
    }
}

/// The marker metatable of `mark`, from the running function's upvalues.
pub fn marker(s: &Stack, mark: Mark) -> Result<Table> {
    let slot = mark
        .upvalue()
        .ok_or_else(|| Error::raise("nml: no marker metatable for a plain table"))?;
    s.table(Stack::upvalue(slot))
        .ok_or_else(|| Error::raise("nml: a marker metatable upvalue is not a table"))
}

/// How the MessagePack packer writes Lua strings (`nml.config{strings = ...}`, per socket and
/// per call).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Strings {
    /// Every string as str, its bytes as they are: what every Lua MessagePack library does.
    Str,
    /// A string that is valid UTF-8 as str, any other as bin, so that peers that decode str
    /// as text (Python's msgpack with `raw=False`) read a digest or a PNG as bytes.
    Auto,
}

impl Strings {
    pub fn name(self) -> &'static str {
        match self {
            Strings::Str => "str",
            Strings::Auto => "auto",
        }
    }

    /// The setting the string at `idx` names (argument `arg` of `func`).
    pub fn from_arg(s: &Stack, idx: c_int, arg: usize, func: &str) -> Result<Strings> {
        match s.opt_bytes(idx) {
            Some(b"str") => Ok(Strings::Str),
            Some(b"auto") => Ok(Strings::Auto),
            _ => Err(bad_argument(
                func,
                arg,
                "strings must be \"str\" or \"auto\"",
            )),
        }
    }

    /// The `strings` field of the options table `opts`, or `default` when it has none.
    pub fn field(s: &Stack, opts: Table, func: &str, default: Strings) -> Result<Strings> {
        Ok(Strings::opt_field(s, opts, func)?.unwrap_or(default))
    }

    /// The `strings` field of the options table `opts`, if it has one.
    pub fn opt_field(s: &Stack, opts: Table, func: &str) -> Result<Option<Strings>> {
        let strings = match s.raw_get_field(opts, "strings") {
            Kind::Nil => Ok(None),
            _ => Strings::from_arg(s, -1, opts.index() as usize, func).map(Some),
        };
        s.pop(1);
        strings
    }
}

/// What a codec call needs to know, copied in at its start: `nml.config`'s settings and the
/// identities of this Lua state's values.
#[derive(Clone, Copy)]
pub struct Settings {
    pub marks: Marks,
    /// Nesting limit for every codec.
    pub max_depth: usize,
    /// Pack non-integral numbers as float 32.
    pub float32: bool,
    /// How strings pack.
    pub strings: Strings,
    /// Shared buffers (`nml.shm_alloc`) in descriptors pack as references to their memory,
    /// for nml peers on this host (a socket's `share` option), not as their bytes.
    pub share: bool,
    /// Descriptors' buffers unpack as strings, not messages.
    pub buffers_as_strings: bool,
    /// LuaJIT only: a registry reference to the function of `lua/nml/luajit.lua`, which says
    /// where an FFI cdata's or a string.buffer's bytes are (`None` elsewhere).
    pub buffer_span: Option<c_int>,
    /// Which MessagePack codec packs and unpacks (`nml.config{codec = ...}`).
    pub path: CodecPath,
    /// LuaJIT only: the Lua codec of `lua/nml/jit_codec.lua` (`None` elsewhere).
    pub lua_codec: Option<LuaCodec>,
    /// LuaJIT only: the FFI's 64-bit integers, which pack as integers (`None` elsewhere).
    pub int64_cdata: Option<Int64Cdata>,
    /// Integers beyond ±2^53 unpack as int64_t/uint64_t cdata (`nml.config{int64 = "cdata"}`,
    /// the default where `int64_cdata` is set), not as the nearest number.
    pub exact_int64: bool,
}

/// Registry references to the functions of `lua/nml/luajit.lua` that read an FFI 64-bit
/// integer (`parts`) and make one (`make`).
#[derive(Clone, Copy)]
pub struct Int64Cdata {
    pub parts: c_int,
    pub make: c_int,
}

/// The MessagePack codec in use: on LuaJIT the Lua one (`lua/nml/jit_codec.lua`, compiled by
/// the JIT) takes what it can and leaves the rest to the Rust one; elsewhere only Rust's runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CodecPath {
    /// The measured choice: the Lua codec on LuaJIT (the manual's "LuaJIT").
    Auto,
    /// The Lua codec wherever it can (LuaJIT only).
    Lua,
    /// The Rust codec always.
    Rust,
}

impl CodecPath {
    pub fn name(self) -> &'static str {
        match self {
            CodecPath::Auto => "auto",
            CodecPath::Lua => "lua",
            CodecPath::Rust => "rust",
        }
    }
}

/// Registry references to the Lua codec's entry points for sends and receives.
#[derive(Clone, Copy)]
pub struct LuaCodec {
    pub pack: c_int,
    pub unpack: c_int,
}

impl Settings {
    /// The Lua codec, when it is the one to pack with, and whether strings pack as `"auto"`
    /// (it checks UTF-8 itself, through `lua::utf8_check`).
    pub fn lua_packer(&self) -> Option<(c_int, bool)> {
        let codec = self.lua_codec?;
        (self.path != CodecPath::Rust).then_some((codec.pack, self.strings == Strings::Auto))
    }

    /// LuaJIT with its FFI, so with the Lua codec too. (Known before the Lua codec's chunk
    /// runs, which reads these settings as it loads.)
    pub fn has_ffi(&self) -> bool {
        self.int64_cdata.is_some()
    }

    /// Whether LuaJIT's codec in Lua is there: it needs the FFI, `bit` and `table.new`.
    pub fn has_lua_codec(&self) -> bool {
        self.lua_codec.is_some()
    }

    /// Where integers beyond ±2^53 unpack as FFI cdata: the function that makes them.
    pub fn int64_maker(&self) -> Option<c_int> {
        self.int64_cdata
            .filter(|_| self.exact_int64)
            .map(|c| c.make)
    }

    /// The Lua codec, when it is the one to unpack with.
    pub fn lua_unpacker(&self) -> Option<c_int> {
        let codec = self.lua_codec?;
        (self.path != CodecPath::Rust).then_some(codec.unpack)
    }
}

impl Settings {
    pub fn new(marks: Marks) -> Settings {
        Settings {
            marks,
            max_depth: DEFAULT_MAX_DEPTH,
            float32: false,
            strings: Strings::Auto,
            share: false,
            buffers_as_strings: false,
            buffer_span: None,
            path: CodecPath::Auto,
            lua_codec: None,
            int64_cdata: None,
            exact_int64: true,
        }
    }
}

/// The one rule by which every codec tells an unmarked table's kind: `Some(n)`, an array,
/// when its keys are exactly 1..n (an empty table is an empty array), else `None`, a map.
/// (The MessagePack packer first tries the common case, keys met in order 1..n while it
/// packs, and comes here when the traversal says otherwise.)
pub fn sequence_length(s: &Stack, t: Table) -> Option<usize> {
    let (mut count, mut max) = (0usize, 0i64);
    let mut sequence = true;
    s.push_nil();
    while s.next(t) {
        count += 1;
        if sequence {
            sequence =
                s.kind(-2) == Kind::Number && matches!(s.to_number(-2), Number::Int(k) if k >= 1);
            if let (true, Number::Int(k)) = (sequence, s.to_number(-2)) {
                max = max.max(k);
            }
        }
        s.pop(1);
    }
    (sequence && max as usize == count).then_some(count)
}
