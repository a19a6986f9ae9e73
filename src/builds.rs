//! Which build of nml fits the interpreter that loaded it.
//!
//! Lua 5.1 and LuaJIT share a C API, so either build's `nml.so` loads into the other, and
//! neither may run there:
//! - the LuaJIT build counts on LuaJIT raising by unwinding (lua.rs, the longjmp rule); on PUC
//!   Lua 5.1 a raise would `longjmp` over its Rust frames;
//! - the Lua 5.1 build on LuaJIT would pack no FFI cdata and run without the LuaJIT codec.
//!
//! luarocks installs both interpreters' modules into one tree (its "5.1" tree), so nml's Lua
//! 5.1 rock carries both builds: the 5.1 build as `nml.so`, the LuaJIT build beside it as
//! `nml/luajit.so`. Loaded on LuaJIT, the 5.1 build hands over to that one. A build that finds
//! itself on the other interpreter otherwise refuses, saying what to install.
//!
//! Built for Lua 5.1 and LuaJIT only: Lua 5.2 to 5.4 each have a C API of their own, and
//! another's build does not even load (a symbol is missing).

#![allow(unsafe_code)] // dladdr, dlopen, dlsym (lib.rs lists the files where it is allowed)

use std::ffi::{c_int, c_void, CStr, CString};

use crate::error::Error;
use crate::lua::{self, CFunction, Stack};

/// Where the LuaJIT build sits, relative to the directory of the 5.1 build.
const LUAJIT_BUILD: &str = "nml/luajit.so";

/// Whether the Lua this library calls is LuaJIT: the object that defines its C API (found
/// from the address `lua_gettop` was bound to) also defines `luaJIT_setmode`. Nothing a script
/// sets (a `jit` global, or none) changes the answer, and a process holding both a PUC Lua
/// and a LuaJIT library is told apart by which one nml is bound to.
fn on_luajit() -> bool {
    // SAFETY: dlsym with RTLD_DEFAULT only looks a name up among the loaded objects.
    let setmode = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"luaJIT_setmode".as_ptr()) };
    if setmode.is_null() {
        return false;
    }
    match (object_of(lua::api_address()), object_of(setmode)) {
        (Some(api), Some(jit)) => api.0 == jit.0,
        _ => false,
    }
}

/// Called first by `luaopen_nml`. `Ok(None)`: this build fits, go on. `Ok(Some(n))`: the build
/// beside it has opened the module, whose `n` values are on the stack. `Err`: neither fits.
pub fn fit(s: &Stack) -> Result<Option<c_int>, Error> {
    let luajit = on_luajit();
    if cfg!(feature = "luajit") && !luajit {
        return Err(Error::raise(
            "nml.so is built for LuaJIT and this is Lua 5.1: install nml's Lua 5.1 rock, \
             or build for Lua 5.1 (make build LUA=5.1)",
        ));
    }
    if cfg!(feature = "lua51") && luajit {
        return open_luajit_build(s).map(Some);
    }
    Ok(None)
}

/// Opens the module from the LuaJIT build beside this one, in protected mode (a Lua error
/// raised there must not unwind through this build's frames, which catch panics).
fn open_luajit_build(s: &Stack) -> Result<c_int, Error> {
    let refuse = |why: String| {
        Error::raise(format!(
            "nml.so is built for Lua 5.1 and this is LuaJIT, and {why}: install nml's Lua 5.1 \
             rock (make rock), which carries both builds, or build for LuaJIT (make build LUA=luajit)"
        ))
    };
    let here = object_of(fit as *const c_void)
        .ok_or_else(|| refuse("it cannot tell where it is".into()))?;
    let dir = here.1.rsplit_once('/').map_or(".", |(dir, _)| dir);
    let path = format!("{dir}/{LUAJIT_BUILD}");
    let open =
        load_luaopen(&path).map_err(|e| refuse(format!("no LuaJIT build is beside it ({e})")))?;
    if object_of(open as *const c_void).map(|o| o.0) == Some(here.0) {
        return Err(refuse(format!("{path} is this same library")));
    }
    s.push_closure(open, 0);
    s.pcall(0, 1).map_err(Error::raise)?;
    Ok(1)
}

/// The base address and file name of the loaded object holding `address`.
fn object_of(address: *const c_void) -> Option<(usize, String)> {
    // SAFETY: Dl_info is plain C data (pointers and integers), for which all zeros is valid.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr only reads the loader's tables and fills `info`; the name it gives stays
    // valid while the object is loaded, and is copied at once.
    unsafe {
        if libc::dladdr(address, &mut info) == 0 || info.dli_fname.is_null() {
            return None;
        }
        let name = CStr::from_ptr(info.dli_fname)
            .to_string_lossy()
            .into_owned();
        Some((info.dli_fbase as usize, name))
    }
}

/// Loads the library at `path` for good and finds its `luaopen_nml`.
fn load_luaopen(path: &str) -> Result<CFunction, String> {
    let c_path = CString::new(path).map_err(|_| "a NUL byte in its path".to_string())?;
    // SAFETY: dlopen runs the library's initialisers; an nml build has none that touch this
    // state. The handle is never closed: the module it opens lives as long as the process.
    let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err(last_dl_error());
    }
    // SAFETY: looks a name up in the library just opened.
    let open = unsafe { libc::dlsym(handle, c"luaopen_nml".as_ptr()) };
    if open.is_null() {
        return Err(format!("{path} has no luaopen_nml"));
    }
    // SAFETY: luaopen_nml is a Lua C function, whatever nml build defines it.
    Ok(unsafe { std::mem::transmute::<*mut c_void, CFunction>(open) })
}

fn last_dl_error() -> String {
    // SAFETY: dlerror returns null or a message that stays valid until the next dl call.
    let message = unsafe { libc::dlerror() };
    if message.is_null() {
        return "dlopen failed".into();
    }
    // SAFETY: not null, so a C string of the loader's (copied at once).
    unsafe { CStr::from_ptr(message) }
        .to_string_lossy()
        .into_owned()
}
