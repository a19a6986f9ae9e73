//! nml: MessagePack-aware messaging over NNG for Lua.
//!
//! `require "nml"` calls [`luaopen_nml`], which builds the module table. The contract is
//! `shared/design/API.md`; the README says what was decided where it is silent.

// Unsafe code lives in lua.rs and nng.rs (and the C entry points of `lua_functions!`), each
// block with the reason it is sound beside it.
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod alloc;
pub mod api;
pub mod args;
pub mod envelope;
pub mod error;
pub mod json;
pub mod lua;
pub mod message;
pub mod msgpack;
pub mod nng;
pub mod protocol;
pub mod socket;
pub mod state;
pub mod transfer;

use std::ffi::c_int;

use lua::{lua_State, Stack};
use state::{upvalue, Marks, Module};

const MODULE_METATABLE: &std::ffi::CStr = c"nml.module";

/// A Lua C function as nml registers it.
pub type LuaFn = unsafe extern "C-unwind" fn(*mut lua_State) -> c_int;

/// The Lua functions of the module, by name.
const FUNCTIONS: &[(&str, LuaFn)] = &[
    ("socket", socket::socket),
    ("poll", transfer::poll),
    ("send", transfer::send),
    ("recv", transfer::recv),
    ("allocmsg", message::allocmsg),
    ("reallocmsg", message::reallocmsg),
    ("freemsg", message::freemsg),
    ("pack", api::pack),
    ("pack_into", alloc::pack_into),
    ("unpack", api::unpack),
    ("unpack_one", api::unpack_one),
    ("packsize", api::packsize),
    ("encode", api::encode),
    ("decode", api::decode),
    ("protocol", api::protocol),
    ("register_protocol", api::register_protocol),
    ("config", api::config),
    ("map", api::map),
    ("array", api::array),
    ("bin", api::bin),
    ("ext", api::ext),
    ("clock", api::clock),
];

/// The pure-Lua part of the module (`lua/nml/`), compiled in: each chunk is called with the
/// module table and adds its functions to it.
const LUA_PARTS: &[(&std::ffi::CStr, &str)] = &[(
    c"@lua/nml/framer.lua",
    include_str!("../lua/nml/framer.lua"),
)];

/// LuaJIT only: the function that says where an FFI cdata's or a string.buffer's bytes are.
const LUAJIT_PART: &str = include_str!("../lua/nml/luajit.lua");

// The entry point Lua's `require "nml"` looks for.
lua_functions! {
    #[no_mangle]
    luaopen_nml => open;
}

fn open(s: &Stack) -> lua::Returns {
    nng::pin_library();
    // The values every nml function holds as upvalues 2 to 6 (state::upvalue), at base + 1..:
    // the marker metatables (a table with one of these packs as that kind), then the key cache.
    let base = s.top();
    for kind in ["map", "array", "bin", "ext"] {
        s.new_table(0, 2);
        s.push_str(kind);
        s.raw_set_field(-2, "__nml");
        s.push_str(&format!("nml.{kind}"));
        s.raw_set_field(-2, "__name");
    }
    msgpack::keys::push_table(s);
    let marks = Marks {
        map: s.to_pointer(base + 1),
        array: s.to_pointer(base + 2),
        bin: s.to_pointer(base + 3),
        ext: s.to_pointer(base + 4),
    };
    s.new_udata_metatable::<Module>(MODULE_METATABLE);
    s.pop(1);
    s.new_udata(&mut Some(Module::new(marks)), MODULE_METATABLE);
    let module_at = s.top();
    // The trampoline of Stack::protect: the same upvalues as every nml function, the last
    // being itself (for protected calls made inside protected calls).
    s.push_value(module_at);
    for i in 1..upvalue::PROTECT - 1 {
        s.push_value(base + i);
    }
    s.push_nil();
    s.push_closure(lua::protected_trampoline, upvalue::COUNT);
    s.set_self_upvalue(-1, upvalue::PROTECT);
    let trampoline_at = s.top();
    debug_assert_eq!(trampoline_at, module_at + 1);

    s.new_table(0, FUNCTIONS.len() + 8);
    let table = s.top();
    for (name, f) in FUNCTIONS {
        push_nml_function(s, module_at, base, *f);
        s.raw_set_field(table, name);
    }
    s.push_light(std::ptr::null_mut());
    s.raw_set_field(table, "null");
    for (name, value) in [
        ("NN_MSG", transfer::NN_MSG),
        ("NN_DONTWAIT", transfer::NN_DONTWAIT),
        ("DONTWAIT", transfer::NN_DONTWAIT),
    ] {
        s.push_int(value);
        s.raw_set_field(table, name);
    }
    // Socket methods are also module functions (nml.listen(sock, url)), except send and
    // recv, whose module forms are the seed functions of API.md section 4.
    for (name, f) in socket::METHODS {
        if !matches!(*name, "send" | "recv") {
            push_nml_function(s, module_at, base, *f);
            s.raw_set_field(table, name);
        }
    }
    register_class::<message::MsgBox>(
        s,
        module_at,
        base,
        message::METATABLE,
        message::METHODS,
        message::METAMETHODS,
    );
    register_class::<socket::SocketBox>(
        s,
        module_at,
        base,
        socket::METATABLE,
        socket::METHODS,
        socket::METAMETHODS,
    );
    s.push_str(concat!("nml ", env!("CARGO_PKG_VERSION")));
    s.raw_set_field(table, "_VERSION");
    for (name, source) in LUA_PARTS {
        s.load(source.as_bytes(), name)
            .map_err(error::Error::raise)?;
        s.push_value(table);
        s.pcall(1, 0).map_err(error::Error::raise)?;
    }
    if cfg!(feature = "luajit") {
        s.load(LUAJIT_PART.as_bytes(), c"@lua/nml/luajit.lua")
            .map_err(error::Error::raise)?;
        s.pcall(0, 1).map_err(error::Error::raise)?;
        let module = s
            .test_udata::<Module>(module_at, MODULE_METATABLE)
            .expect("the module userdata made above");
        module.buffer_span.set(Some(s.make_ref()));
    }
    Ok(1)
}

/// Sets up the registry metatable of a userdata class: `__gc` drops the Rust value, `__index`
/// holds the methods, and the metamethods are set.
fn register_class<T: 'static>(
    s: &Stack,
    module_at: c_int,
    shared_base: c_int,
    name: &std::ffi::CStr,
    methods: &[(&str, LuaFn)],
    metamethods: &[(&str, LuaFn)],
) {
    s.new_udata_metatable::<T>(name);
    let mt = s.top();
    s.new_table(0, methods.len());
    for (method, f) in methods {
        push_nml_function(s, module_at, shared_base, *f);
        s.raw_set_field(-2, method);
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

/// Pushes `f` as a closure over the upvalues every nml function has (see `state::upvalue`):
/// the module at `module_at`, the shared values after `shared_base`, and the trampoline of
/// `Stack::protect`, which sits just above the module.
fn push_nml_function(
    s: &Stack,
    module_at: c_int,
    shared_base: c_int,
    f: unsafe extern "C-unwind" fn(*mut lua_State) -> c_int,
) {
    s.push_value(module_at);
    for i in 1..upvalue::PROTECT - 1 {
        s.push_value(shared_base + i);
    }
    s.push_value(module_at + 1);
    s.push_closure(f, upvalue::COUNT);
}
