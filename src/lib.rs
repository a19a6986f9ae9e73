//! nml: MessagePack-aware messaging over NNG for Lua.
//!
//! `require "nml"` calls [`luaopen_nml`], which builds the module table. What each function
//! does is written in `docs/manual.md`; the bytes on the wire in `docs/wire-format.md`.
//!
//! Layers, lowest first. A file uses only files on its own line and the lines above it
//! (`tools/layers.lua` checks every `crate::` path against this list, in `make test`):
//!
//! 1. `nng/mod.rs` `nng/endpoint.rs` `nng/address.rs` `nng/pipes.rs` `nng/tls.rs`
//!    `nng/interrupt.rs` `shm.rs`: NNG's C API, what addresses say, waits that Ctrl-C ends,
//!    and the OS's sealed memfds and mappings for shared buffers, behind safe types
//!    (unsafe code allowed).
//! 2. `msgpack/format.rs` `msgpack/sink.rs` `msgpack/scan.rs`: MessagePack's formats, where
//!    bytes go, where values end in a stream; pure.
//! 3. `error.rs`: what fails, as Lua is told (`nil, message, code` or a raise).
//! 4. `lua.rs` `builds.rs`: Lua's C API behind `Stack`; which build of nml fits the
//!    interpreter (unsafe code allowed).
//! 5. `args.rs`: argument checks and options tables, one rule for every function.
//! 6. `time.rs`: `nml.clock` and `nml.sleep`.
//! 7. `message.rs` `pool.rs`: `nml.msg`, NNG messages, views and shared buffers as Lua
//!    userdata; `nml.shm_pool`, shared buffers lent again once no one holds them.
//! 8. `codec.rs`: what the codecs share: settings, marker kinds, the upvalue layout.
//! 9. `msgpack/keys.rs`: the cache of decoded map keys.
//! 10. `msgpack/pack.rs` `msgpack/unpack.rs`: Lua values to MessagePack and back.
//! 11. `msgpack/mod.rs`: the MessagePack codec's entry points.
//! 12. `json.rs`: the JSON codec.
//! 13. `protocol.rs`: protocols by name and wire id, built in and registered.
//! 14. `envelope.rs`: the header that tags a message with its protocol and topic.
//! 15. `state.rs`: one Lua state's nml: settings, caches, protocols.
//! 16. `payload.rs`: what a message carries: protocol and topic arguments, decoding by tag.
//! 17. `options.rs`: socket options as data, one row each, and their values read from Lua.
//! 18. `listener.rs`: `nml.listener`, what `sock:listen` returns.
//! 19. `socket.rs`: `nml.socket`, its options and endpoints, and its messages' rules.
//! 20. `forward.rs`: `nml.forward`, NNG's device between two raw sockets.
//! 21. `context.rs`: `sock:context()`, many requests at once on one socket.
//! 22. `transfer.rs`: `sock:send` and `sock:recv`, through sockets and contexts.
//! 23. `compat.rs` `poll.rs`: the nanomsg-style `nml.send`/`nml.recv`; `nml.poll` and the
//!     descriptors event loops watch.
//! 24. `alloc.rs`: packing into memory the caller provides.
//! 25. `unpacker.rs`: `nml.unpacker`, MessagePack values from a stream in any pieces.
//! 26. `api.rs`: the codec's Lua functions.
//! 27. `lib.rs`: the module table, its classes and registration.

// Unsafe code lives in lua.rs, builds.rs, nng/ and shm.rs (and the C entry points of
// `lua_functions!`), each block with the reason it is sound beside it.
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![warn(clippy::too_many_lines)] // short functions: the limit is in clippy.toml

pub mod alloc;
pub mod api;
pub mod args;
#[cfg(any(feature = "lua51", feature = "luajit"))]
pub mod builds;
pub mod codec;
pub mod compat;
pub mod context;
pub mod envelope;
pub mod error;
pub mod forward;
pub mod json;
pub mod listener;
pub mod lua;
pub mod message;
pub mod msgpack;
pub mod nng;
pub mod options;
pub mod payload;
pub mod poll;
pub mod pool;
pub mod protocol;
pub mod shm;
pub mod socket;
pub mod state;
pub mod time;
pub mod transfer;
pub mod unpacker;

use std::ffi::c_int;

use codec::{upvalue, Marks};
use lua::{lua_State, Kind, LuaFn, Stack};
use state::Module;

const MODULE_METATABLE: &std::ffi::CStr = c"nml.module";

/// The module's functions, each file's list: `nml.<name>`. Socket methods are also module
/// functions (`nml.listen(sock, url)`), except send and recv, whose module forms are the
/// nanomsg-style ones with their buffer cases (`compat.rs`).
const FUNCTIONS: &[&[(&str, LuaFn)]] = &[
    api::FUNCTIONS,
    alloc::FUNCTIONS,
    message::FUNCTIONS,
    socket::FUNCTIONS,
    socket::METHODS,
    context::SOCKET_METHODS,
    compat::FUNCTIONS,
    poll::FUNCTIONS,
    time::FUNCTIONS,
    forward::FUNCTIONS,
    unpacker::FUNCTIONS,
    pool::FUNCTIONS,
];

/// The pure-Lua part of the module (`lua/nml/`), compiled in: each chunk is called with the
/// module table, to which it adds its functions, and a table the chunks share (in this order:
/// a chunk may use what an earlier one put there).
const LUA_PARTS: &[(&std::ffi::CStr, &str)] = &[
    (
        c"@lua/nml/framer.lua",
        include_str!("../lua/nml/framer.lua"),
    ),
    (c"@lua/nml/loops.lua", include_str!("../lua/nml/loops.lua")),
    (c"@lua/nml/await.lua", include_str!("../lua/nml/await.lua")),
    (
        c"@lua/nml/stream.lua",
        include_str!("../lua/nml/stream.lua"),
    ),
    (
        c"@lua/nml/chunks.lua",
        include_str!("../lua/nml/chunks.lua"),
    ),
    (c"@lua/nml/serve.lua", include_str!("../lua/nml/serve.lua")),
    (
        c"@lua/nml/deliver.lua",
        include_str!("../lua/nml/deliver.lua"),
    ),
];

/// LuaJIT only: the functions that say where an FFI cdata's or a string.buffer's bytes are, and
/// read and make the FFI's 64-bit integers.
const LUAJIT_PART: &str = include_str!("../lua/nml/luajit.lua");

/// LuaJIT only: the MessagePack codec in Lua, which the JIT compiles.
const LUA_CODEC: &str = include_str!("../lua/nml/jit_codec.lua");

// The entry point Lua's `require "nml"` looks for.
lua_functions! {
    #[no_mangle]
    luaopen_nml => open;
}

// The LuaJIT build goes into the Lua 5.1 rock as nml/luajit.so (builds.rs), which luarocks
// lists as the module "nml.luajit": this name makes `require "nml.luajit"` open it too.
lua_functions! {
    #[cfg(feature = "luajit")]
    #[no_mangle]
    luaopen_nml_luajit => open;
}

fn open(s: &Stack) -> lua::Returns {
    #[cfg(any(feature = "lua51", feature = "luajit"))]
    if let Some(opened) = builds::fit(s)? {
        return Ok(opened); // the LuaJIT build beside this 5.1 one opened the module
    }
    refuse_a_second_copy(s)?;
    nng::pin_library();
    nng::watch_forks();
    let (module, base, module_at) = push_upvalues(s);
    let table = s.new_table(0, FUNCTIONS.iter().map(|f| f.len()).sum::<usize>() + 8);
    fill_module_table(s, table, module_at, base);
    register_classes(s, (module_at, base));
    let builtin = match cfg!(feature = "luajit") {
        true => open_ffi_part(s, module)?,
        false => None,
    };
    run_lua_parts(s, table, builtin)?;
    if let Some(builtin) = builtin {
        let opened = open_lua_codec(s, module, table, builtin);
        s.drop_ref(builtin);
        opened?;
    }
    Ok(1)
}

/// Each copy of nml.so has its own NNG and its own sockets, and two copies in one Lua state
/// would share their classes' registry metatables, so that one copy's methods met the other's
/// sockets (a message sent on the wrong socket, a recv that lost its timeout). A state opens
/// one copy; requiring the same one again is fine. (luarocks `install --keep` leaves the old
/// version beside the new, and any script can load a file under two names.)
fn refuse_a_second_copy(s: &Stack) -> Result<(), error::Error> {
    static THIS_COPY: u8 = 0;
    match s.claim_registry_field(c"nml.library", &THIS_COPY as *const u8 as *const std::ffi::c_void) {
        true => Ok(()),
        false => Err(error::Error::raise(
            "another copy of nml.so is already open in this Lua state: require \"nml\" once, from one file",
        )),
    }
}

/// Pushes the values every nml function holds as upvalues (`codec::upvalue`): the marker
/// metatables (a table with one of these packs as that kind) and the key cache, at base + 1..,
/// then the module's state and the trampoline of `Stack::protect`. Returns the state, `base`,
/// and where the state is.
fn push_upvalues(s: &Stack) -> (&Module, c_int, c_int) {
    let base = s.top();
    for kind in codec::MARKERS {
        let marker = s.new_table(0, 2);
        s.push_str(kind.name());
        s.raw_set_field(marker, "__nml");
        s.push_str(&format!("nml.{}", kind.name()));
        s.raw_set_field(marker, "__name");
    }
    msgpack::keys::push_table(s);
    let marks = Marks(std::array::from_fn(|i| s.to_pointer(base + 1 + i as c_int)));
    let module = s.push_module_udata(Module::new(marks), MODULE_METATABLE);
    let module_at = s.top();
    // The trampoline: the same upvalues as every nml function, the second being itself (for
    // protected calls made inside protected calls).
    s.push_value(module_at);
    s.push_nil();
    for i in 1..=upvalue::SHARED {
        s.push_value(base + i);
    }
    s.push_closure(lua::protected_trampoline, upvalue::COUNT);
    s.set_self_upvalue(-1, upvalue::PROTECT);
    debug_assert_eq!(s.top(), module_at + 1);
    (module, base, module_at)
}

/// The module table's functions and values.
fn fill_module_table(s: &Stack, table: lua::Table, module_at: c_int, base: c_int) {
    for (name, f) in FUNCTIONS.iter().copied().flatten() {
        push_nml_function(s, module_at, base, *f);
        s.raw_set_field(table, name);
    }
    s.push_light(std::ptr::null_mut());
    s.raw_set_field(table, "null");
    // The marker metatables by name, for LuaJIT's Lua codec (lua/nml/jit_codec.lua).
    let markers = s.new_table(0, codec::MARKERS.len());
    for (i, kind) in codec::MARKERS.iter().enumerate() {
        s.push_value(base + 1 + i as c_int);
        s.raw_set_field(markers, kind.name());
    }
    s.raw_set_field(table, "_markers");
    for (name, value) in [
        ("NN_MSG", compat::NN_MSG),
        ("NN_DONTWAIT", compat::NN_DONTWAIT),
        ("DONTWAIT", compat::NN_DONTWAIT),
    ] {
        s.push_int(value);
        s.raw_set_field(table, name);
    }
    s.push_str(concat!("nml ", env!("CARGO_PKG_VERSION")));
    s.raw_set_field(table, "_VERSION");
}

/// The registry metatables of nml's userdata classes, with their methods; `at` is where the
/// module's state is and the base of the shared upvalues.
fn register_classes(s: &Stack, at: (c_int, c_int)) {
    use message::MsgBox;
    register_class::<MsgBox>(
        s,
        at,
        message::METATABLE,
        &[message::METHODS],
        message::METAMETHODS,
    );
    let socket_methods = &[
        socket::METHODS,
        context::SOCKET_METHODS,
        transfer::SOCKET_METHODS,
        poll::SOCKET_METHODS,
    ];
    let (mt, meta) = (socket::METATABLE, socket::METAMETHODS);
    register_class::<socket::SocketBox>(s, at, mt, socket_methods, meta);
    let (mt, meta) = (listener::METATABLE, listener::METAMETHODS);
    register_class::<listener::ListenerBox>(s, at, mt, &[listener::METHODS], meta);
    register_class::<pool::PoolBox>(s, at, pool::METATABLE, &[pool::METHODS], pool::METAMETHODS);
    let (mt, meta) = (unpacker::METATABLE, unpacker::METAMETHODS);
    register_class::<unpacker::UnpackerBox>(s, at, mt, &[unpacker::METHODS], meta);
    let context_methods = &[
        context::METHODS,
        transfer::CONTEXT_METHODS,
        poll::CONTEXT_METHODS,
    ];
    let (mt, meta) = (context::METATABLE, context::METAMETHODS);
    register_class::<context::ContextBox>(s, at, mt, context_methods, meta);
}

/// Runs the pure-Lua parts. Each gets the module table, and a table of its own for what the
/// parts share and the module does not show (framer.lua's merging of small pieces, which
/// stream.lua uses; on LuaJIT, luajit.lua's `builtin` as `shared.builtin`).
fn run_lua_parts(s: &Stack, table: lua::Table, builtin: Option<c_int>) -> Result<(), error::Error> {
    let shared = s.new_table(0, 4);
    if let Some(builtin) = builtin {
        s.push_ref(builtin);
        s.raw_set_field(shared, "builtin");
    }
    for (name, source) in LUA_PARTS {
        s.load(source.as_bytes(), name)
            .map_err(error::Error::raise)?;
        s.push_value(table.index());
        s.push_value(shared.index());
        s.pcall(2, 0).map_err(error::Error::raise)?;
    }
    s.pop(1);
    Ok(())
}

/// LuaJIT only: int64 cdata and buffer spans through `lua/nml/luajit.lua`. Returns a registry
/// reference to its `builtin` (how LuaJIT's own libraries are found, which the other Lua parts
/// take too), or None on a LuaJIT without its FFI.
fn open_ffi_part(s: &Stack, module: &Module) -> Result<Option<c_int>, error::Error> {
    s.load(LUAJIT_PART.as_bytes(), c"@lua/nml/luajit.lua")
        .map_err(error::Error::raise)?;
    s.pcall(0, 4).map_err(error::Error::raise)?;
    if s.kind(-4) == Kind::Nil {
        s.pop(4); // a LuaJIT without its FFI: no cdata to send, no Lua codec
        return Ok(None);
    }
    let builtin = s.make_ref();
    let make = s.make_ref();
    let parts = s.make_ref();
    let span = s.make_ref();
    module.update_settings(|settings| {
        settings.buffer_span = Some(span);
        settings.int64_cdata = Some(codec::Int64Cdata { parts, make });
    });
    Ok(Some(builtin))
}

/// LuaJIT only: the MessagePack codec in Lua (`lua/nml/jit_codec.lua`). The chunk takes the
/// module table, the address of `lua::utf8_check` (which it calls through the FFI) and
/// luajit.lua's `builtin` (registry reference `builtin`, how LuaJIT's libraries are found), puts
/// its own nml.pack, nml.unpack, nml.unpack_one and nml.config in the table, and returns the
/// entry points sends and receives call, and `start`, called once they are installed (it
/// reads the settings, which name the Lua codec only then).
fn open_lua_codec(
    s: &Stack,
    module: &Module,
    table: lua::Table,
    builtin: c_int,
) -> Result<(), error::Error> {
    s.load(LUA_CODEC.as_bytes(), c"@lua/nml/jit_codec.lua")
        .map_err(error::Error::raise)?;
    s.push_value(table.index());
    s.push_light(lua::utf8_check as *mut std::ffi::c_void);
    s.push_ref(builtin);
    s.pcall(3, 1).map_err(error::Error::raise)?;
    let Some(entries) = s.table(-1) else {
        s.pop(1); // a LuaJIT without bit or table.new (2.0, an embedder's subset): Rust alone
        return Ok(());
    };
    s.raw_get_field(entries, "pack_message");
    let pack = s.make_ref();
    s.raw_get_field(entries, "unpack_message");
    let unpack = s.make_ref();
    s.raw_get_field(entries, "start");
    s.replace(-2); // start, where the entries were
    module.update_settings(|settings| settings.lua_codec = Some(codec::LuaCodec { pack, unpack }));
    s.pcall(0, 0).map_err(error::Error::raise)
}

/// Sets up the registry metatable of a userdata class: `__gc` drops the Rust value, `__index`
/// holds the methods, and the metamethods are set.
fn register_class<T: 'static>(
    s: &Stack,
    (module_at, shared_base): (c_int, c_int),
    name: &std::ffi::CStr,
    methods: &[&[(&str, LuaFn)]],
    metamethods: &[(&str, LuaFn)],
) {
    let mt = s.new_udata_metatable::<T>(name);
    let index = s.new_table(0, methods.iter().map(|m| m.len()).sum());
    for (method, f) in methods.iter().copied().flatten() {
        push_nml_function(s, module_at, shared_base, *f);
        s.raw_set_field(index, method);
    }
    s.raw_set_field(mt, "__index");
    for (method, f) in metamethods {
        push_nml_function(s, module_at, shared_base, *f);
        s.raw_set_field(mt, method);
    }
    s.push_str(&name.to_string_lossy());
    s.raw_set_field(mt, "__name");
    s.pop(1);
}

/// Pushes `f` as a closure over the upvalues every nml function has (see `codec::upvalue`):
/// the module at `module_at`, the shared values after `shared_base`, and the trampoline of
/// `Stack::protect`, which sits just above the module.
fn push_nml_function(
    s: &Stack,
    module_at: c_int,
    shared_base: c_int,
    f: unsafe extern "C-unwind" fn(*mut lua_State) -> c_int,
) {
    s.push_value(module_at);
    s.push_value(module_at + 1);
    for i in 1..=upvalue::SHARED {
        s.push_value(shared_base + i);
    }
    s.push_closure(f, upvalue::COUNT);
}
