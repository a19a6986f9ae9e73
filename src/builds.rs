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
//! `nml/luajit.so`. Loaded on LuaJIT, the 5.1 build hands over to that one, once it has said
//! it is the LuaJIT build of the same version. A build that finds itself on the other
//! interpreter otherwise refuses, saying what to install.
//!
//! Built for Lua 5.1 and LuaJIT only: Lua 5.2 to 5.4 each have a C API of their own, and
//! another's build does not even load (a symbol is missing).

#![allow(unsafe_code)] // dladdr, dlopen, dlsym (lib.rs lists the files where it is allowed)

use std::ffi::{c_char, c_int, c_void, CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::lua::{CFunction, Stack};

/// What a LuaJIT build of this version says it is (`nml_build`).
const LUAJIT_BUILD: &str = concat!("nml ", env!("CARGO_PKG_VERSION"), " for LuaJIT");

/// What this build says it is, NUL-terminated.
#[cfg(feature = "luajit")]
const THIS_BUILD: &str = concat!("nml ", env!("CARGO_PKG_VERSION"), " for LuaJIT\0");
#[cfg(feature = "lua51")]
const THIS_BUILD: &str = concat!("nml ", env!("CARGO_PKG_VERSION"), " for Lua 5.1\0");

/// What this build is, for a 5.1 build about to hand over to it to check: another version
/// (luarocks `install --keep` leaves two side by side), or another 5.1 build (which would hand
/// over again, without end), is refused.
#[no_mangle]
pub extern "C" fn nml_build() -> *const c_char {
    THIS_BUILD.as_ptr().cast()
}

/// Whether this interpreter is LuaJIT: its parser takes `goto`, which PUC Lua 5.1's never had
/// (LuaJIT's has since 2.0). Asked of the interpreter itself, the answer holds whatever a script
/// sets (a `jit` global, or none), whatever else the process has loaded, and whatever the host
/// exports.
fn on_luajit(s: &Stack) -> Result<bool, Error> {
    match s.load(b"goto x ::x::", c"=nml") {
        Ok(()) => {
            s.pop(1);
            Ok(true)
        }
        Err(message) if message.contains("memory") => Err(Error::raise(message)),
        Err(_) => Ok(false),
    }
}

/// Called first by `luaopen_nml`. `Ok(None)`: this build fits, go on. `Ok(Some(n))`: the build
/// beside it has opened the module, whose `n` values are on the stack. `Err`: neither fits.
pub fn fit(s: &Stack) -> Result<Option<c_int>, Error> {
    let luajit = on_luajit(s)?;
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
    let here = own_file().ok_or_else(|| refuse("it cannot tell which file it is".into()))?;
    let path = luajit_build_beside(&here);
    let shown = path.display();
    let library =
        Library::open(&path).map_err(|e| refuse(format!("no LuaJIT build is beside it ({e})")))?;
    let build = library
        .build()
        .ok_or_else(|| refuse(format!("{shown} is not an nml build")))?;
    if build != LUAJIT_BUILD {
        return Err(refuse(format!("{shown} is {build}, not {LUAJIT_BUILD}")));
    }
    let open = library
        .luaopen()
        .ok_or_else(|| refuse(format!("{shown} has no luaopen_nml")))?;
    s.push_closure(open, 0);
    s.pcall(0, 1).map_err(Error::raise)?;
    Ok(1)
}

/// `dir/nml.so` -> `dir/nml/luajit.so`, after the file's own name: luarocks renames a version
/// it keeps (`install --keep`) to `nml_0_1_0_1-nml.so`, and its LuaJIT build to
/// `nml_0_1_0_1-nml/luajit.so`, so each version finds its own.
fn luajit_build_beside(file: &Path) -> PathBuf {
    let stem = file.file_stem().unwrap_or(OsStr::new("nml"));
    file.with_file_name(stem).join("luajit.so")
}

/// The file this library was loaded from, as an absolute path (bytes as they are: a name need
/// not be UTF-8). The loader's name for it is relative when the module path was (`./?.so`),
/// and relative to the directory current then, which may have changed since; the mapping
/// that holds this code in /proc/self/maps names the file itself.
fn own_file() -> Option<PathBuf> {
    let here = own_file as *const c_void;
    match loaded_name(here) {
        Some(name) if name.is_absolute() => Some(name),
        _ => mapped_file(here as usize),
    }
}

/// The name the loader has for the object holding `address`.
fn loaded_name(address: *const c_void) -> Option<PathBuf> {
    // SAFETY: Dl_info is plain C data (pointers and integers), for which all zeros is valid.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr only reads the loader's tables and fills `info`; the name it gives stays
    // valid while the object is loaded, and is copied at once.
    unsafe {
        if libc::dladdr(address, &mut info) == 0 || info.dli_fname.is_null() {
            return None;
        }
        let name = CStr::from_ptr(info.dli_fname).to_bytes();
        Some(PathBuf::from(OsStr::from_bytes(name)))
    }
}

/// The file mapped at `address`, from /proc/self/maps: `start-end perms offset dev inode path`.
fn mapped_file(address: usize) -> Option<PathBuf> {
    let maps = std::fs::read("/proc/self/maps").ok()?;
    maps.split(|&b| b == b'\n').find_map(|line| {
        let mut fields = line.splitn(6, |&b| b == b' ');
        let (start, end) = std::str::from_utf8(fields.next()?).ok()?.split_once('-')?;
        let start = usize::from_str_radix(start, 16).ok()?;
        let end = usize::from_str_radix(end, 16).ok()?;
        let path = fields.nth(4)?.trim_ascii_start();
        (start <= address && address < end && path.starts_with(b"/"))
            .then(|| PathBuf::from(OsStr::from_bytes(path)))
    })
}

/// A library opened for good: the module it opens lives as long as the process.
struct Library(*mut c_void);

impl Library {
    fn open(path: &Path) -> Result<Library, String> {
        let c_path =
            CString::new(path.as_os_str().as_bytes()).map_err(|_| "a NUL byte in its path")?;
        // SAFETY: dlopen runs the library's initialisers; an nml build has none that touch
        // this state. The handle is never closed.
        let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if handle.is_null() {
            return Err(last_dl_error());
        }
        Ok(Library(handle))
    }

    fn symbol(&self, name: &CStr) -> Option<*mut c_void> {
        // SAFETY: looks a name up in a library this holds open.
        let found = unsafe { libc::dlsym(self.0, name.as_ptr()) };
        (!found.is_null()).then_some(found)
    }

    /// What the library says it is (its `nml_build`), if it is an nml build.
    fn build(&self) -> Option<String> {
        let function = self.symbol(c"nml_build")?;
        // SAFETY: nml_build is a function of no arguments returning a static C string, in
        // every nml build that defines it.
        let text = unsafe {
            let nml_build =
                std::mem::transmute::<*mut c_void, extern "C" fn() -> *const c_char>(function);
            CStr::from_ptr(nml_build())
        };
        Some(text.to_string_lossy().into_owned())
    }

    fn luaopen(&self) -> Option<CFunction> {
        let function = self.symbol(c"luaopen_nml")?;
        // SAFETY: luaopen_nml is a Lua C function, whatever nml build defines it.
        Some(unsafe { std::mem::transmute::<*mut c_void, CFunction>(function) })
    }
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
