//! The Lua C API, wrapped once.
//!
//! Every call into the Lua C API that nml makes goes through this file. The codec needs the raw
//! stack (mlua's safe values cost a registry reference per table and per string, which is more
//! than a whole small message takes to pack), so this file gives the rest of the crate a small
//! safe surface over it: [`Stack`] for one C function call, [`entry`] to run a Rust function as a
//! Lua C function, and typed userdata helpers.
//!
//! The rules that make the safe surface sound:
//! - A [`Stack`] exists only inside a C function that Lua called (built by [`entry`]), so its
//!   `lua_State` is valid for the whole call.
//! - No metamethod runs (`raw*` access only), and no `lua_call` outside [`Stack::protect`].
//!   nml's own errors are Rust values, raised by [`entry`] after every Rust frame of the call
//!   has returned.
//! - The table methods (`raw_get*`, `raw_set*`, `next`, `set_metatable`) take a [`Table`],
//!   which only [`Stack::table`] (a type check) and [`Stack::new_table`] make, so no caller
//!   can hand them something else. (Checking the type inside each method instead measured +5%
//!   instructions for `nml.pack` of a small table and +9% for `nml.unpack` of a 50-key map,
//!   callgrind, Lua 5.4; a `Table` is checked once per table.)
//! - Two obligations stay with the calling code, as Lua's C API leaves them with every C
//!   function, because checking them on each call would cost more than the work: pushes stay
//!   within the room `check_stack` made (`entry` makes `LUA_MINSTACK`; recursion in the codecs
//!   asks for more at each level), and what was read from a slot (a string's bytes, a
//!   [`Table`]) is used only while the slot still holds that value (no function here pops
//!   below a value it still reads).
//! - The values a caller cannot set up wrongly by the shape of its code are checked: upvalue 1
//!   (the module state, which `debug.setupvalue` could replace) by its size and type, userdata
//!   by their metatables, sizes of foreign buffers against their blocks. Everything Lua would
//!   refuse by raising (a nil or NaN table key, a key `lua_next` does not know, memory) is not
//!   a precondition: it falls under the longjmp rule below.
//!
//! The longjmp rule. Lua itself can still raise from inside a call nml makes: any call that
//! allocates (a string, a table, a userdata, a table that grows) can fail for memory, and
//! can run a garbage-collection step whose finalizer raises (Lua 5.1 to 5.3 pass a finalizer's
//! error on; 5.4 only warns); LuaJIT refuses a string longer than it allows. Such calls are
//! marked "may raise" below. PUC Lua raises by `longjmp`, which skips Rust frames without
//! running their destructors; LuaJIT raises by unwinding, which runs them but aborts the process
//! if it meets `catch_unwind`. So:
//! - a Rust frame may call a "may raise" method only while it owns nothing that only a
//!   destructor releases (a message, a `Vec`, a `RefCell` borrow, a `String`); where it does own
//!   such a thing, it makes the call inside [`Stack::protect`], which runs a closure under
//!   `lua_pcall` and hands a Lua error back as an `Err`, after which the frame's values drop as
//!   usual;
//! - on LuaJIT no `catch_unwind` stands between a Lua error and the `lua_pcall` that takes it:
//!   [`entry`] and the trampoline of [`Stack::protect`] catch panics only on PUC Lua. A Rust
//!   panic is a bug in nml; on LuaJIT it ends the process, which cannot take a Rust panic.

#![allow(unsafe_code)] // Lua's C API (lib.rs lists the files where unsafe code is allowed)

use std::ffi::{c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use mlua_sys as ffi;
pub use mlua_sys::lua_State;
/// A Lua C function, as `luaopen_nml` is.
pub type CFunction = ffi::lua_CFunction;

use crate::error::{Error, Result};

/// A 64-bit integer as LuaJIT's FFI holds it: an `int64_t` or a `uint64_t` cdata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Int64 {
    Signed(i64),
    Unsigned(u64),
}

/// Lua's value types, as `lua_type` reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    None,
    Nil,
    Boolean,
    LightUserdata,
    Number,
    String,
    Table,
    Function,
    Userdata,
    Thread,
    /// LuaJIT's cdata and anything a future Lua adds.
    Other,
}

impl Kind {
    /// The kind of a `LUA_T*` type code.
    fn of_type(t: c_int) -> Kind {
        match t {
            ffi::LUA_TNONE => Kind::None,
            ffi::LUA_TNIL => Kind::Nil,
            ffi::LUA_TBOOLEAN => Kind::Boolean,
            ffi::LUA_TLIGHTUSERDATA => Kind::LightUserdata,
            ffi::LUA_TNUMBER => Kind::Number,
            ffi::LUA_TSTRING => Kind::String,
            ffi::LUA_TTABLE => Kind::Table,
            ffi::LUA_TFUNCTION => Kind::Function,
            ffi::LUA_TUSERDATA => Kind::Userdata,
            ffi::LUA_TTHREAD => Kind::Thread,
            _ => Kind::Other,
        }
    }
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::None => "no value",
            Kind::Nil => "nil",
            Kind::Boolean => "boolean",
            Kind::LightUserdata => "lightuserdata",
            Kind::Number => "number",
            Kind::String => "string",
            Kind::Table => "table",
            Kind::Function => "function",
            Kind::Userdata => "userdata",
            Kind::Thread => "thread",
            Kind::Other => "cdata",
        }
    }
}

/// A Lua number, split the way MessagePack splits it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

/// Largest integer a double holds exactly: integral floats within it pack as integers on
/// interpreters that have no integer subtype (5.1, 5.2, LuaJIT).
#[cfg(not(any(feature = "lua53", feature = "lua54")))]
const EXACT_INT_LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53

/// The stack of one C function call.
pub struct Stack {
    l: *mut lua_State,
}

impl Stack {
    /// # Safety
    /// `l` must be the state of a C function call that is running now.
    unsafe fn new(l: *mut lua_State) -> Stack {
        Stack { l }
    }

    /// The raw state, for the few modules (NNG pointers, callbacks) that need to hand it on.
    pub fn state(&self) -> *mut lua_State {
        self.l
    }

    // --- stack shape -------------------------------------------------------------------------

    pub fn top(&self) -> c_int {
        // SAFETY: valid state (type invariant).
        unsafe { ffi::lua_gettop(self.l) }
    }

    pub fn set_top(&self, idx: c_int) {
        // SAFETY: shrinking or growing within checked space; callers only shrink or pad a few
        // slots after `check_stack`.
        unsafe { ffi::lua_settop(self.l, idx) }
    }

    pub fn pop(&self, n: c_int) {
        self.set_top(-n - 1)
    }

    pub fn abs(&self, idx: c_int) -> c_int {
        if idx < 0 && idx > ffi::LUA_REGISTRYINDEX {
            self.top() + idx + 1
        } else {
            idx
        }
    }

    /// Room for `n` more values; false when Lua cannot grow the stack (too deep).
    pub fn check_stack(&self, n: c_int) -> bool {
        // SAFETY: lua_checkstack never raises; it reports failure.
        unsafe { ffi::lua_checkstack(self.l, n) != 0 }
    }

    pub fn upvalue(n: c_int) -> c_int {
        ffi::lua_upvalueindex(n)
    }

    pub fn registry() -> c_int {
        ffi::LUA_REGISTRYINDEX
    }

    pub fn push_value(&self, idx: c_int) {
        // SAFETY: copies an existing slot; callers reserve space with check_stack.
        unsafe { ffi::lua_pushvalue(self.l, idx) }
    }

    pub fn insert(&self, idx: c_int) {
        // SAFETY: moves the top value into a valid slot.
        unsafe { ffi::lua_insert(self.l, idx) }
    }

    pub fn replace(&self, idx: c_int) {
        // SAFETY: pops the top value into a valid slot.
        unsafe { ffi::lua_replace(self.l, idx) }
    }

    // --- reading values ----------------------------------------------------------------------

    pub fn kind(&self, idx: c_int) -> Kind {
        // SAFETY: lua_type accepts any acceptable index.
        Kind::of_type(unsafe { ffi::lua_type(self.l, idx) })
    }

    pub fn is_none_or_nil(&self, idx: c_int) -> bool {
        matches!(self.kind(idx), Kind::None | Kind::Nil)
    }

    pub fn to_bool(&self, idx: c_int) -> bool {
        // SAFETY: any index.
        unsafe { ffi::lua_toboolean(self.l, idx) != 0 }
    }

    /// The number at `idx` (which must be a number), as MessagePack would write it.
    #[cfg(any(feature = "lua53", feature = "lua54"))]
    pub fn to_number(&self, idx: c_int) -> Number {
        // SAFETY: plain reads of a number slot; no conversion of strings happens because the
        // caller checked the type.
        unsafe {
            if ffi::lua_isinteger(self.l, idx) != 0 {
                Number::Int(ffi::lua_tointegerx(self.l, idx, std::ptr::null_mut()))
            } else {
                Number::Float(ffi::lua_tonumberx(self.l, idx, std::ptr::null_mut()))
            }
        }
    }

    /// The number at `idx` (which must be a number), as MessagePack would write it: an integral
    /// double within 2^53 is an integer, as the API contract says for interpreters without an
    /// integer subtype.
    #[cfg(not(any(feature = "lua53", feature = "lua54")))]
    pub fn to_number(&self, idx: c_int) -> Number {
        // SAFETY: plain read of a number slot.
        let n = unsafe { ffi::lua_tonumber(self.l, idx) };
        if n.fract() == 0.0 && n.abs() <= EXACT_INT_LIMIT && !(n == 0.0 && n.is_sign_negative()) {
            Number::Int(n as i64)
        } else {
            Number::Float(n)
        }
    }

    /// Any number at `idx` as a float (for sizes and options).
    pub fn to_f64(&self, idx: c_int) -> Option<f64> {
        let mut ok = 0;
        if self.kind(idx) != Kind::Number {
            return None;
        }
        // SAFETY: lua_tonumberx reports failure through `ok`; we only call it on numbers so no
        // string is converted in place.
        let n = unsafe { ffi::lua_tonumberx(self.l, idx, &mut ok) };
        (ok != 0).then_some(n)
    }

    /// The bytes of the string at `idx`, which must be a string (never a number: converting a
    /// number in place would corrupt a `lua_next` traversal). The slice stays valid while the
    /// string stays on the stack, which every caller guarantees by reading it before popping.
    pub fn to_bytes(&self, idx: c_int) -> &[u8] {
        debug_assert_eq!(self.kind(idx), Kind::String);
        let mut len = 0usize;
        // SAFETY: the value is a string, so lua_tolstring returns its interned bytes, which the
        // Lua GC keeps alive as long as the slot holds it.
        unsafe {
            let p = ffi::lua_tolstring(self.l, idx, &mut len);
            if p.is_null() {
                return &[];
            }
            std::slice::from_raw_parts(p as *const u8, len)
        }
    }

    /// The string at `idx` if it is one.
    pub fn opt_bytes(&self, idx: c_int) -> Option<&[u8]> {
        (self.kind(idx) == Kind::String).then(|| self.to_bytes(idx))
    }

    /// The identity of a table, userdata or function at `idx`, for cycle checks and
    /// metatable comparisons.
    pub fn to_pointer(&self, idx: c_int) -> *const c_void {
        // SAFETY: any index.
        unsafe { ffi::lua_topointer(self.l, idx) }
    }

    /// The block of a full userdata or the address of a lightuserdata.
    pub fn to_userdata(&self, idx: c_int) -> *mut c_void {
        // SAFETY: any index; null for other types.
        unsafe { ffi::lua_touserdata(self.l, idx) }
    }

    /// `#t` without metamethods, or the block size of a full userdata.
    pub fn raw_len(&self, idx: c_int) -> usize {
        // SAFETY: any index.
        unsafe { ffi::lua_rawlen(self.l, idx) }
    }

    /// `size` bytes of a buffer a script hands over: the block of a full userdata (the size is
    /// checked against it) or the memory a lightuserdata points to (the size is trusted: the
    /// caller vouches for it, the one unverifiable case of the contract). None when the size
    /// exceeds the block or the pointer is null.
    pub fn userdata_bytes(&self, idx: c_int, size: usize) -> Option<&[u8]> {
        let p = self.userdata_span(idx, size)?;
        // SAFETY: checked against the block for full userdata; vouched for by the caller for
        // lightuserdata. Valid while the value is on the stack.
        Some(unsafe { std::slice::from_raw_parts(p as *const u8, size) })
    }

    /// As [`Stack::userdata_bytes`], for writing into the buffer.
    #[allow(clippy::mut_from_ref)]
    pub fn userdata_bytes_mut(&self, idx: c_int, size: usize) -> Option<&mut [u8]> {
        let p = self.userdata_span(idx, size)?;
        // SAFETY: as userdata_bytes; the Lua value owns the memory, no Rust reference aliases it.
        Some(unsafe { std::slice::from_raw_parts_mut(p as *mut u8, size) })
    }

    fn userdata_span(&self, idx: c_int, size: usize) -> Option<*mut c_void> {
        let p = self.to_userdata(idx);
        let fits = match self.kind(idx) {
            Kind::Userdata => size <= self.raw_len(idx),
            Kind::LightUserdata => true,
            _ => false,
        };
        (fits && (!p.is_null() || size == 0)).then_some(if p.is_null() {
            std::ptr::NonNull::dangling().as_ptr()
        } else {
            p
        })
    }

    /// Calls the function at registry reference `f` on the value at `idx`, protected, leaving
    /// its `nres` results on the stack (nothing when it raised: the message is the `Err`).
    fn call_ref(&self, f: c_int, idx: c_int, nres: c_int) -> std::result::Result<(), String> {
        let idx = self.abs(idx);
        if !self.check_stack(nres + 1) {
            return Err("Lua stack exhausted".into());
        }
        self.push_ref(f);
        self.push_value(idx);
        self.pcall(1, nres)
    }

    /// LuaJIT: the bytes of the FFI cdata or string.buffer at `idx`, as the function at
    /// registry reference `span` (from `lua/nml/luajit.lua`) places them: `size` bytes (all of
    /// them when `size` is `None`, which a pointer does not allow). `Ok(None)` when the value is
    /// neither; `Err` (the reason) when it cannot be used. Slow (a protected call into Lua), for
    /// buffers only.
    pub fn luajit_buffer(
        &self,
        idx: c_int,
        span: c_int,
        size: Option<usize>,
    ) -> std::result::Result<Option<&[u8]>, String> {
        self.call_ref(span, idx, 2)?;
        let found = match (self.to_f64(-2), self.kind(-1)) {
            (Some(address), Kind::Number) => Ok(Some((address, self.to_f64(-1)))),
            (Some(address), Kind::Nil) => Ok(Some((address, None))),
            (None, Kind::String) => Err(String::from_utf8_lossy(self.to_bytes(-1)).into_owned()),
            _ => Ok(None),
        };
        self.pop(2);
        let Some((address, known)) = found? else {
            return Ok(None);
        };
        let len = match (size, known) {
            (Some(n), Some(k)) if n as f64 > k => {
                return Err(format!(
                    "buffer_ud_size {n} is larger than the buffer ({k} bytes)"
                ))
            }
            (Some(n), _) => n,
            (None, Some(k)) => k as usize,
            (None, None) => return Err("an FFI pointer needs buffer_ud_size".into()),
        };
        if len == 0 {
            return Ok(Some(&[]));
        }
        // SAFETY: the address is LuaJIT's own, of an FFI array (its ffi.sizeof is `known`), a
        // string.buffer's contents (`known` bytes from its ref()), or an FFI pointer whose
        // length the caller vouches for, as for a lightuserdata. The value stays on the stack
        // (in the table being packed) while the slice is used.
        Ok(Some(unsafe {
            std::slice::from_raw_parts(address as usize as *const u8, len)
        }))
    }

    /// LuaJIT: the value at `idx` as an integer, when it is an `int64_t` or `uint64_t` cdata,
    /// which the function at registry reference `parts` (from `lua/nml/luajit.lua`) splits into
    /// its sign and two 32-bit halves. `Ok(None)` for any other value. Slow (a protected call
    /// into Lua), for cdata only.
    pub fn luajit_int64(
        &self,
        idx: c_int,
        parts: c_int,
    ) -> std::result::Result<Option<Int64>, String> {
        self.call_ref(parts, idx, 3)?;
        let halves = (self.to_f64(-2), self.to_f64(-1));
        let value = match (self.kind(-3), halves) {
            (Kind::Boolean, (Some(high), Some(low))) => {
                let bits = (high as u64) << 32 | low as u64;
                Some(match self.to_bool(-3) {
                    true => Int64::Signed(bits as i64),
                    false => Int64::Unsigned(bits),
                })
            }
            _ => None,
        };
        self.pop(3);
        Ok(value)
    }

    /// Pushes a 64-bit integer the way every codec unpacks one: a Lua integer on 5.3+ (a float
    /// above the int64 range); where `cdata` (LuaJIT's `int64 = "cdata"`, see
    /// `Settings::int64_maker`) and beyond ±2^53, an FFI cdata (an `int64_t` up to the int64
    /// maximum, whichever format the value came in); else the nearest number.
    pub fn push_int64(
        &self,
        value: Int64,
        cdata: Option<c_int>,
    ) -> std::result::Result<(), String> {
        const EXACT: u64 = 1 << 53;
        let value = match value {
            Int64::Unsigned(u) if u <= i64::MAX as u64 => Int64::Signed(u as i64),
            v => v,
        };
        match (value, cdata) {
            (Int64::Signed(i), Some(make)) if i.unsigned_abs() > EXACT => {
                self.push_luajit_int64(make, value)?
            }
            (Int64::Unsigned(_), Some(make)) => self.push_luajit_int64(make, value)?,
            (Int64::Signed(i), _) => self.push_int(i),
            (Int64::Unsigned(u), _) => self.push_float(u as f64),
        }
        Ok(())
    }

    /// LuaJIT: pushes `value` as an `int64_t` or `uint64_t` cdata, made by the function at
    /// registry reference `make` (from `lua/nml/luajit.lua`). Protected: `Err` when Lua raised
    /// (memory), with nothing pushed.
    fn push_luajit_int64(&self, make: c_int, value: Int64) -> std::result::Result<(), String> {
        if !self.check_stack(4) {
            return Err("Lua stack exhausted".into());
        }
        let (bits, signed) = match value {
            Int64::Signed(i) => (i as u64, true),
            Int64::Unsigned(u) => (u, false),
        };
        self.push_ref(make);
        self.push_float((bits >> 32) as f64);
        self.push_float((bits & 0xffff_ffff) as f64);
        self.push_bool(signed);
        self.pcall(3, 1)
    }

    /// LuaJIT: calls the Lua codec's packer (registry reference `pack`, from
    /// `lua/nml/jit_codec.lua`) on the value at `idx`, strings packed as `"auto"` or not. It
    /// answers the address and size of the bytes it packed into its own buffer, which stay
    /// there until its next call (no Lua code runs before the caller copies them), or nothing
    /// when it leaves the value to the Rust codec: `None`.
    pub fn lua_packed(&self, pack: c_int, idx: c_int, auto_strings: bool) -> Option<&[u8]> {
        let idx = self.abs(idx);
        if !self.check_stack(4) {
            return None;
        }
        self.push_ref(pack);
        self.push_value(idx);
        self.push_bool(auto_strings);
        self.pcall(2, 2).ok()?;
        let found = self.to_f64(-2).zip(self.to_f64(-1));
        self.pop(2);
        let (address, len) = found?;
        if len == 0.0 {
            return Some(&[]);
        }
        // SAFETY: the packer answers the address of its FFI buffer (malloc'd, held by the
        // chunk) and how many bytes it wrote there; nothing touches the buffer until the
        // packer's next call, which only the caller can make.
        Some(unsafe { std::slice::from_raw_parts(address as usize as *const u8, len as usize) })
    }

    /// LuaJIT: calls the Lua codec's unpacker (registry reference `unpack`) on `data`: true with
    /// the one value `data` holds pushed, or false (nothing pushed) when it leaves `data` to the
    /// Rust codec.
    pub fn lua_unpacked(&self, unpack: c_int, data: &[u8]) -> bool {
        if !self.check_stack(4) {
            return false;
        }
        self.push_ref(unpack);
        self.push_light(data.as_ptr() as *mut c_void);
        self.push_int(data.len() as i64);
        if self.pcall(2, 2).is_err() {
            return false;
        }
        if !self.to_bool(-2) {
            self.pop(2);
            return false;
        }
        self.replace(-2);
        true
    }

    // --- tables ------------------------------------------------------------------------------

    /// The table at `idx`, as the proof the table methods take; `None` if it holds anything
    /// else.
    pub fn table(&self, idx: c_int) -> Option<Table> {
        (self.kind(idx) == Kind::Table).then(|| Table(self.abs(idx)))
    }

    /// Pushes a new table and returns it. May raise (memory).
    pub fn new_table(&self, narr: usize, nrec: usize) -> Table {
        let clamp = |n: usize| n.min(c_int::MAX as usize) as c_int;
        // SAFETY: sizes are hints; callers bound them by the input length before calling.
        unsafe { ffi::lua_createtable(self.l, clamp(narr), clamp(nrec)) };
        Table(self.top())
    }

    /// `lua_next` over `t`. Every caller starts with nil or passes the key the previous call
    /// left; any other key makes Lua raise "invalid key to 'next'", under the longjmp rule.
    pub fn next(&self, t: Table) -> bool {
        // SAFETY: `t` holds a table (see Table).
        unsafe { ffi::lua_next(self.l, t.0) != 0 }
    }

    /// Pushes `t[n]` without metamethods and returns its kind.
    pub fn raw_get_index(&self, t: Table, n: i64) -> Kind {
        // SAFETY: `t` holds a table; raw access never raises. Indexes stay far below the 5.1
        // limit of c_int because they count elements of a table that exists. The call returns
        // the value's type (on 5.1 and LuaJIT mlua-sys reads it with lua_type, so reading it
        // again here would cost a second call).
        Kind::of_type(unsafe { ffi::lua_rawgeti(self.l, t.0, n as ffi::lua_Integer) })
    }

    /// Pushes `t[key]` (key a string) without metamethods and returns its kind. May raise
    /// (making the key string); see [`Stack::raw_get`] for a key already on the stack.
    pub fn raw_get_field(&self, t: Table, key: &str) -> Kind {
        self.push_bytes(key.as_bytes());
        self.raw_get(t)
    }

    /// Replaces the key on the top with `t[key]` without metamethods; returns the value's kind.
    /// Never raises.
    pub fn raw_get(&self, t: Table) -> Kind {
        // SAFETY: `t` holds a table; raw access never raises. The call returns the value's type,
        // as in `raw_get_index`.
        Kind::of_type(unsafe { ffi::lua_rawget(self.l, t.0) })
    }

    /// Pops a value and stores it as `t[n]` without metamethods. May raise (memory).
    pub fn raw_set_index(&self, t: Table, n: i64) {
        // SAFETY: `t` holds a table; integer keys are never nil or NaN.
        unsafe { ffi::lua_rawseti(self.l, t.0, n as ffi::lua_Integer) }
    }

    /// Pops a key and a value and stores them without metamethods. May raise: for memory, as
    /// every call that grows a table, and for a nil or NaN key, which `lua_rawset` refuses with
    /// an error. Either way the longjmp rule holds the caller, so the key is not a precondition
    /// (the unpacker checks NaN keys first only to say where in the data they are).
    pub fn raw_set(&self, t: Table) {
        // SAFETY: `t` holds a table; what it can raise is covered by the longjmp rule at the
        // top of this file.
        unsafe { ffi::lua_rawset(self.l, t.0) }
    }

    /// `t[key] = value at top` for a string key, popping the value. May raise (memory).
    pub fn raw_set_field(&self, t: Table, key: &str) {
        self.push_bytes(key.as_bytes());
        self.insert(-2);
        self.raw_set(t);
    }

    /// Pushes the metatable of the value at `idx`; false (and nothing pushed) if it has none.
    pub fn get_metatable(&self, idx: c_int) -> bool {
        // SAFETY: any index.
        unsafe { ffi::lua_getmetatable(self.l, idx) != 0 }
    }

    /// Makes `mt` the metatable of the value at `idx`.
    pub fn set_metatable(&self, idx: c_int, mt: Table) {
        let idx = self.abs(idx);
        self.push_value(mt.0);
        // SAFETY: the top is a table (`mt`), popped by lua_setmetatable.
        unsafe { ffi::lua_setmetatable(self.l, idx) };
    }

    // --- pushing values ----------------------------------------------------------------------

    pub fn push_nil(&self) {
        // SAFETY: callers reserve stack space (entry reserves LUA_MINSTACK).
        unsafe { ffi::lua_pushnil(self.l) }
    }

    pub fn push_bool(&self, b: bool) {
        // SAFETY: as push_nil.
        unsafe { ffi::lua_pushboolean(self.l, b as c_int) }
    }

    /// An integer: the integer subtype where the interpreter has one, else the nearest double.
    pub fn push_int(&self, i: i64) {
        // SAFETY: as push_nil.
        #[cfg(any(feature = "lua53", feature = "lua54"))]
        unsafe {
            ffi::lua_pushinteger(self.l, i)
        }
        #[cfg(not(any(feature = "lua53", feature = "lua54")))]
        // SAFETY: as push_nil.
        unsafe {
            ffi::lua_pushnumber(self.l, i as f64)
        }
    }

    pub fn push_float(&self, f: f64) {
        // SAFETY: as push_nil.
        unsafe { ffi::lua_pushnumber(self.l, f) }
    }

    pub fn push_bytes(&self, b: &[u8]) {
        // SAFETY: Lua copies `b` into a new string; a memory error is the only way it raises.
        // On 5.1 and LuaJIT, the C function itself: mlua-sys's wrapper of the same name also
        // calls lua_tolstring on the result, to return a pointer nml never uses. (`b.as_ptr()`
        // of an empty slice is non-null and dangling; Lua reads none of it.)
        #[cfg(any(feature = "lua51", feature = "luajit"))]
        unsafe {
            ffi::lua_pushlstring_(self.l, b.as_ptr() as *const _, b.len());
        }
        // SAFETY: as above; 5.2 to 5.4 have no wrapper here.
        #[cfg(not(any(feature = "lua51", feature = "luajit")))]
        unsafe {
            ffi::lua_pushlstring(self.l, b.as_ptr() as *const _, b.len());
        }
    }

    pub fn push_str(&self, s: &str) {
        self.push_bytes(s.as_bytes())
    }

    /// As [`Stack::push_bytes`], protected: for bytes in (or borrowed from) something the
    /// caller owns, which must still drop if Lua raises while making the string.
    pub fn push_bytes_protected(&self, b: &[u8]) -> Result<()> {
        self.protect(0, 0, |p| {
            p.push_bytes(b);
            Ok(1)
        })?;
        Ok(())
    }

    /// Bytes in (or borrowed from) something the caller owns, on their way to Lua as a string.
    /// The string may only be made where a Lua error cannot lose the owner: short bytes are
    /// copied out ([`Inline`]), to be pushed ([`Handed::push`]) once the caller has let the
    /// owner go and its frame owns nothing; longer ones are pushed at once, protected.
    pub fn hand_out(&self, b: &[u8]) -> Result<Handed> {
        if let Some(inline) = Inline::copy(b) {
            return Ok(Handed::Inline(inline));
        }
        self.push_bytes_protected(b)?;
        Ok(Handed::Pushed)
    }

    // Pushing a pointer as a value never dereferences it.
    #[allow(clippy::not_unsafe_ptr_arg_deref)]
    pub fn push_light(&self, p: *mut c_void) {
        // SAFETY: a lightuserdata is just a pointer value.
        unsafe { ffi::lua_pushlightuserdata(self.l, p) }
    }

    /// Makes the closure at `idx` its own upvalue number `n`.
    pub fn set_self_upvalue(&self, idx: c_int, n: c_int) {
        let idx = self.abs(idx);
        self.push_value(idx);
        // SAFETY: idx holds a closure with at least n upvalues; setting one never raises.
        unsafe { ffi::lua_setupvalue(self.l, idx, n) };
    }

    /// Pushes a C closure over the `nup` values on the top of the stack.
    pub fn push_closure(&self, f: ffi::lua_CFunction, nup: c_int) {
        // SAFETY: the upvalues are on the stack (callers push them first).
        unsafe { ffi::lua_pushcclosure(self.l, f, nup) }
    }

    // --- calling Lua -------------------------------------------------------------------------

    /// Calls the function below its `nargs` arguments in protected mode, leaving `nres` results.
    /// A Lua error becomes `Err` with its message, so it never unwinds through Rust frames.
    pub fn pcall(&self, nargs: c_int, nres: c_int) -> std::result::Result<(), String> {
        // SAFETY: lua_pcall catches every error raised by the callee.
        let status = unsafe { ffi::lua_pcall(self.l, nargs, nres, 0) };
        if status == 0 {
            return Ok(());
        }
        let msg = self.error_text();
        self.pop(1);
        Err(msg)
    }

    /// The error object on the top of the stack as text (it stays there).
    fn error_text(&self) -> String {
        match self.kind(-1) {
            Kind::String => String::from_utf8_lossy(self.to_bytes(-1)).into_owned(),
            k => format!("(error object is a {} value)", k.name()),
        }
    }

    /// Runs `f` in protected mode, so that a Lua error raised inside it (memory, a finalizer, a
    /// string too long) comes back as `Err` instead of skipping the caller's frames. `f` gets the
    /// `nargs` values from index `first` of this stack as its arguments 1 to `nargs` (copies:
    /// these stay), and what it pushes (its `Ok(n)` values) lands on this stack. The caller keeps
    /// whatever needs a destructor and lends it to `f` by reference; `f`'s own frames follow
    /// the longjmp rule.
    pub fn protect(
        &self,
        first: c_int,
        nargs: c_int,
        f: impl FnOnce(&Stack) -> Returns,
    ) -> Returns {
        let first = self.abs(first);
        let last = first + nargs - 1;
        if !self.check_stack(nargs + 3) {
            return Err(Error::raise("stack overflow"));
        }
        // LuaJIT raises by unwinding, which runs the destructors of the frames it leaves: no
        // lua_pcall is needed where the closure sees the same arguments in place.
        if cfg!(feature = "luajit") && (nargs == 0 || first == 1) {
            return f(self);
        }
        if self.kind(Stack::upvalue(PROTECT_UPVALUE)) != Kind::Function {
            // Only luaopen_nml runs without the trampoline; nothing it owns outlives a raise.
            for i in first..=last {
                self.push_value(i);
            }
            return f(self);
        }
        let mut call = Protected {
            f: Some(f),
            result: None,
        };
        let base = self.top();
        self.push_value(Stack::upvalue(PROTECT_UPVALUE));
        for i in first..=last {
            self.push_value(i);
        }
        let run = runner_of(&call);
        self.push_light(&mut call as *mut Protected<_> as *mut c_void);
        self.push_light(run as *mut c_void);
        // SAFETY: the trampoline and its arguments are on the stack; lua_pcall catches whatever
        // is raised inside and leaves this frame's values as they were.
        let status = unsafe { ffi::lua_pcall(self.l, nargs + 2, ffi::LUA_MULTRET, 0) };
        if status != 0 {
            let message = self.error_text();
            self.set_top(base);
            return Err(Error::raise(message));
        }
        match call.result.take() {
            Some(Ok(_)) => Ok(self.top() - base),
            Some(Err(e)) => {
                self.set_top(base);
                Err(e)
            }
            None => {
                self.set_top(base);
                Err(Error::raise(
                    "internal error (a Rust panic was caught; please report it)",
                ))
            }
        }
    }

    /// Compiles a chunk of Lua source and pushes it as a function; a syntax error is `Err`.
    pub fn load(&self, source: &[u8], chunk_name: &CStr) -> std::result::Result<(), String> {
        // SAFETY: luaL_loadbuffer reports errors through its status; it never raises.
        let status = unsafe {
            ffi::luaL_loadbuffer(
                self.l,
                source.as_ptr() as *const _,
                source.len(),
                chunk_name.as_ptr(),
            )
        };
        if status == 0 {
            return Ok(());
        }
        let msg = String::from_utf8_lossy(self.opt_bytes(-1).unwrap_or(b"?")).into_owned();
        self.pop(1);
        Err(msg)
    }

    /// Runs a full garbage collection, in protected mode: a finalizer that raises cannot
    /// unwind through Rust.
    pub fn collect_garbage(&self) {
        if !self.check_stack(1) {
            return;
        }
        self.push_closure(gc_collect, 0);
        let _ = self.pcall(0, 0);
    }

    // --- registry references -----------------------------------------------------------------

    /// Pops the top value into the registry and returns a reference to it.
    pub fn make_ref(&self) -> c_int {
        // SAFETY: luaL_ref on the registry only raises on memory errors.
        unsafe { ffi::luaL_ref(self.l, ffi::LUA_REGISTRYINDEX) }
    }

    pub fn push_ref(&self, r: c_int) {
        // SAFETY: raw read of the registry.
        unsafe { ffi::lua_rawgeti(self.l, ffi::LUA_REGISTRYINDEX, r as ffi::lua_Integer) };
    }

    pub fn drop_ref(&self, r: c_int) {
        // SAFETY: r came from make_ref on this state.
        unsafe { ffi::luaL_unref(self.l, ffi::LUA_REGISTRYINDEX, r) }
    }

    /// Sets registry field `key` to `mark` unless it holds another value already; returns
    /// whether it now holds `mark`. May raise (memory, making the key), under the longjmp rule.
    pub fn claim_registry_field(&self, key: &CStr, mark: *const c_void) -> bool {
        // SAFETY: raw access to the registry, a table at a pseudo-index; pushing the key may
        // raise only for memory.
        unsafe {
            ffi::lua_pushstring(self.l, key.as_ptr());
            ffi::lua_rawget(self.l, ffi::LUA_REGISTRYINDEX);
            let held = ffi::lua_touserdata(self.l, -1);
            let kind = ffi::lua_type(self.l, -1);
            ffi::lua_settop(self.l, -2);
            if kind != ffi::LUA_TNIL {
                return kind == ffi::LUA_TLIGHTUSERDATA && std::ptr::eq(held, mark);
            }
            ffi::lua_pushstring(self.l, key.as_ptr());
            ffi::lua_pushlightuserdata(self.l, mark as *mut c_void);
            ffi::lua_rawset(self.l, ffi::LUA_REGISTRYINDEX);
        }
        true
    }

    // --- typed userdata ----------------------------------------------------------------------

    /// Pushes a full userdata holding `value`, with the metatable registered under `mt_name`.
    /// The metatable's `__gc` (see [`gc_udata`]) drops the value. Protected: if Lua cannot
    /// make the block, `value` is dropped here and the error returned, so nothing it owns
    /// leaks.
    pub fn push_udata<T: 'static>(&self, value: T, mt_name: &CStr) -> Result<*mut T> {
        let mut value = Some(value);
        let mut block = std::ptr::null_mut();
        self.protect(0, 0, |p| {
            block = p.new_udata(&mut value, mt_name);
            Ok(1)
        })?;
        Ok(block)
    }

    /// Pushes a full userdata and moves the value out of `slot` into it. May raise: a caller
    /// outside [`Stack::protect`] keeps `slot` alive in its own frame (only `luaopen_nml` does,
    /// where a failure leaves nothing else behind).
    pub fn new_udata<T: 'static>(&self, slot: &mut Option<T>, mt_name: &CStr) -> *mut T {
        // Lua aligns userdata blocks for any C type, which covers every T nml stores.
        assert!(std::mem::align_of::<T>() <= 8);
        // SAFETY: a fresh block of the right size, written once before anyone can see it (the
        // value leaves `slot` only once the block exists); the registry holds the metatable.
        unsafe {
            let at = ffi::lua_newuserdata(self.l, std::mem::size_of::<T>()) as *mut T;
            if let Some(v) = slot.take() {
                std::ptr::write(at, v);
            }
            ffi::lua_getfield(self.l, ffi::LUA_REGISTRYINDEX, mt_name.as_ptr());
            ffi::lua_setmetatable(self.l, -2);
            at
        }
    }

    /// Pushes the full userdata every nml C function holds as upvalue 1 (`state::Module`),
    /// with a metatable registered as `mt_name` that drops it. The block carries `T`'s type
    /// id, so that [`Stack::module_upvalue`] can prove its type without a registry lookup. May
    /// raise (only `luaopen_nml` calls it).
    pub fn push_module_udata<T: 'static>(&self, value: T, mt_name: &CStr) -> &T {
        self.new_udata_metatable::<Tagged<T>>(mt_name);
        self.pop(1);
        let tagged = Tagged {
            type_id: std::any::TypeId::of::<T>(),
            value,
        };
        let block = self.new_udata(&mut Some(tagged), mt_name);
        // SAFETY: new_udata wrote the value into the block, which is on the stack (the caller
        // keeps it there, then in upvalues, for as long as the state lives).
        unsafe { &(*block).value }
    }

    /// The `T` made by [`Stack::push_module_udata`] that every nml C function holds as
    /// upvalue 1, or `None` if upvalue 1 is something else (the debug library can change a C
    /// function's upvalues).
    ///
    /// On the hot path of every call, so the proof is the block's size and type tag, not a
    /// metatable lookup (which measured 250 instructions per `nml.pack`).
    pub(crate) fn module_upvalue<T: 'static>(&self) -> Option<&T> {
        let at = ffi::lua_upvalueindex(1);
        // SAFETY: reads of the running C function's upvalue. A pointer from lua_touserdata
        // is a full userdata's block when lua_rawlen gives its size (a light userdata's length
        // is 0); the size check comes before the block is read, and the closure keeps the
        // block alive during the call.
        unsafe {
            let block = ffi::lua_touserdata(self.l, at) as *const Tagged<T>;
            if block.is_null()
                || ffi::lua_rawlen(self.l, at) != std::mem::size_of::<Tagged<T>>()
                || (*block).type_id != std::any::TypeId::of::<T>()
            {
                return None;
            }
            Some(&(*block).value)
        }
    }

    /// The `T` in the userdata at `idx` if its metatable is the one registered as `mt_name`.
    /// The value is shared: types stored this way mutate through cells.
    pub fn test_udata<T: 'static>(&self, idx: c_int, mt_name: &CStr) -> Option<&T> {
        if self.kind(idx) != Kind::Userdata || !self.get_metatable(idx) {
            return None;
        }
        // SAFETY: raw registry read; compare the two metatables by identity.
        let same = unsafe {
            ffi::lua_getfield(self.l, ffi::LUA_REGISTRYINDEX, mt_name.as_ptr());
            let same = ffi::lua_rawequal(self.l, -1, -2) != 0;
            ffi::lua_settop(self.l, -3);
            same
        };
        if !same {
            return None;
        }
        // SAFETY: the metatable proves the block was made by push_udata::<T> with this name
        // (each name is used for one T only), and Lua keeps it alive while it is on the stack.
        unsafe { (ffi::lua_touserdata(self.l, idx) as *const T).as_ref() }
    }

    /// Creates (or fetches) the registry metatable `mt_name` with a `__gc` that drops `T`, and
    /// leaves it on the stack.
    pub fn new_udata_metatable<T: 'static>(&self, mt_name: &CStr) -> Table {
        // SAFETY: luaL_newmetatable creates or returns the named registry table.
        unsafe {
            if ffi::luaL_newmetatable(self.l, mt_name.as_ptr()) != 0 {
                ffi::lua_pushcfunction(self.l, gc_udata::<T>);
                ffi::lua_setfield(self.l, -2, c"__gc".as_ptr());
            }
        }
        Table(self.top())
    }
}

/// Short bytes copied onto the C stack, out of something that must be let go before they
/// become a Lua string: pushed unprotected then, they need no `lua_pcall` (about 500
/// instructions), for the short values that are most calls.
pub struct Inline {
    bytes: [u8; Inline::MAX],
    len: usize,
}

impl Inline {
    pub const MAX: usize = 256;

    /// A copy of `b`, if it is no longer than [`Inline::MAX`].
    pub fn copy(b: &[u8]) -> Option<Inline> {
        let mut bytes = [0; Inline::MAX];
        bytes.get_mut(..b.len())?.copy_from_slice(b);
        Some(Inline {
            bytes,
            len: b.len(),
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// What [`Stack::hand_out`] did with the bytes.
#[allow(clippy::large_enum_variant)] // on the C stack on purpose: the point is no heap
pub enum Handed {
    Inline(Inline),
    Pushed,
}

impl Handed {
    /// Pushes the string if it is not on the stack yet; call once the frame owns nothing that
    /// a Lua error would lose.
    pub fn push(self, s: &Stack) {
        if let Handed::Inline(inline) = self {
            s.push_bytes(inline.as_bytes());
        }
    }
}

/// `__gc` for userdata made by [`Stack::push_udata`]: drops the Rust value once.
unsafe extern "C-unwind" fn gc_udata<T: 'static>(l: *mut lua_State) -> c_int {
    // SAFETY: Lua calls __gc once per block, with the block as argument 1; the metatable that
    // holds this function is only given to blocks made by push_udata::<T>.
    let p = unsafe { ffi::lua_touserdata(l, 1) } as *mut T;
    if !p.is_null() {
        // SAFETY: see above; the block is dropped once and never used again.
        let _ = catch_unwind(AssertUnwindSafe(|| unsafe { std::ptr::drop_in_place(p) }));
    }
    0
}

/// `lua_gc(L, LUA_GCCOLLECT, 0)` as a C function, so that `collect_garbage` can call it
/// protected.
unsafe extern "C-unwind" fn gc_collect(l: *mut lua_State) -> c_int {
    // SAFETY: called through lua_pcall; owns no Rust values, so an error raised by a finalizer
    // may unwind it.
    unsafe { ffi::lua_gc(l, ffi::LUA_GCCOLLECT, 0) };
    0
}

/// The upvalue of every nml C function that holds [`protected_trampoline`] (as a closure with
/// the same upvalues, so that code run protected sees the module and markers as its caller
/// does): the second, after the module's state (`codec::upvalue` numbers the rest).
pub const PROTECT_UPVALUE: c_int = 2;

/// A closure handed to [`protected_trampoline`], and what it returned.
struct Protected<F> {
    f: Option<F>,
    result: Option<Returns>,
}

/// Runs the closure of a [`Protected`] on the trampoline's stack: stores its result and returns
/// how many values it leaves.
///
/// # Safety
/// `call` points to a live `Protected<F>` whose closure has not run.
unsafe fn run_protected<P: RunProtected>(call: *mut c_void, s: &Stack) -> c_int {
    // SAFETY: see above; protect() keeps the value alive for the whole lua_pcall.
    unsafe { (*(call as *mut P)).run(s) }
}

fn runner_of<P: RunProtected>(_: &P) -> unsafe fn(*mut c_void, &Stack) -> c_int {
    run_protected::<P>
}

trait RunProtected {
    fn run(&mut self, s: &Stack) -> c_int;
}

impl<F: FnOnce(&Stack) -> Returns> RunProtected for Protected<F> {
    fn run(&mut self, s: &Stack) -> c_int {
        let Some(f) = self.f.take() else { return 0 };
        let result = f(s);
        let n = *result.as_ref().unwrap_or(&0);
        self.result = Some(result);
        n
    }
}

/// The C function behind [`Stack::protect`], called by `lua_pcall` with the closure's
/// arguments, then the `Protected` and its runner as two lightuserdata.
///
/// # Safety
/// Only `Stack::protect` calls it, through `lua_pcall`.
pub unsafe extern "C-unwind" fn protected_trampoline(l: *mut lua_State) -> c_int {
    // SAFETY: protect() pushed the runner and the call last, as lightuserdata.
    let (run, call) = unsafe {
        let run = ffi::lua_touserdata(l, -1);
        let call = ffi::lua_touserdata(l, -2);
        ffi::lua_settop(l, -3);
        (
            std::mem::transmute::<*mut c_void, unsafe fn(*mut c_void, &Stack) -> c_int>(run),
            call,
        )
    };
    // SAFETY: l is the state of this call.
    let stack = unsafe { Stack::new(l) };
    #[cfg(not(feature = "luajit"))]
    {
        // SAFETY: the pointers come from protect(), which outlives this call.
        // A panic leaves no result, which protect() reports as an internal error.
        catch_unwind(AssertUnwindSafe(|| unsafe { run(call, &stack) })).unwrap_or_default()
    }
    #[cfg(feature = "luajit")]
    {
        // SAFETY: the pointers come from protect(), which outlives this call.
        unsafe { run(call, &stack) }
    }
}

/// A table on the stack (at an absolute index) or in an upvalue, as [`Stack::table`] and
/// [`Stack::new_table`] found or made it: the table methods take this, not an index, so that
/// none of them can be given something else. It stays true while the slot keeps its table,
/// which every function here ensures by never popping below a table it still uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Table(c_int);

impl Table {
    /// Its stack index, for the methods that take any value.
    pub fn index(self) -> c_int {
        self.0
    }
}

/// The block of [`Stack::push_module_udata`]: a value with its type.
#[repr(C)]
struct Tagged<T> {
    type_id: std::any::TypeId,
    value: T,
}

/// A Lua C function as nml registers it.
pub type LuaFn = unsafe extern "C-unwind" fn(*mut lua_State) -> c_int;

/// What a Rust implementation of a Lua function returns: how many results it pushed.
pub type Returns = Result<c_int>;

/// Runs `f` as the body of a Lua C function: catches panics, and delivers errors as Lua
/// expects them (see [`crate::error`]): a raised error after all Rust frames are gone, or
/// `nil, message, code` as return values.
///
/// # Safety
/// `l` must be the state Lua passed to the C function that calls this.
pub unsafe fn entry(l: *mut lua_State, f: fn(&Stack) -> Returns) -> c_int {
    // SAFETY: Lua passes the state of this call.
    let stack = unsafe { Stack::new(l) };
    match run(&stack, f) {
        Ok(n) => n,
        Err(error) if error.code().is_some() => return_error(&stack, error),
        // SAFETY: `l` is this call's state, as entry's caller promises.
        Err(error) => unsafe { raise_error(l, &stack, error) },
    }
}

/// Runs the body, a panic made into an error.
#[inline(always)]
fn run(stack: &Stack, f: fn(&Stack) -> Returns) -> Returns {
    let body = || {
        if !stack.check_stack(ffi::LUA_MINSTACK) {
            return Err(Error::raise("stack overflow"));
        }
        f(stack)
    };
    // PUC Lua: catch panics here (a longjmp passes catch_unwind by). LuaJIT: never, see the
    // longjmp rule at the top of this file.
    #[cfg(not(feature = "luajit"))]
    return catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| {
        Err(Error::raise(
            "internal error (a Rust panic was caught; please report it)",
        ))
    });
    #[cfg(feature = "luajit")]
    body()
}

/// Returns `nil, message, code` (and the raw bytes an error may carry).
#[cold]
fn return_error(stack: &Stack, error: Error) -> c_int {
    // Protected: the error is still ours. What the body left on the stack goes first: a value
    // half unpacked may fill it to the last slot a C function has (LUAI_MAXCSTACK on Lua 5.1
    // and LuaJIT), with no room left for these.
    stack.set_top(0);
    let pushed = stack.protect(0, 0, |p| {
        p.push_nil();
        p.push_str(error.message());
        p.push_str(error.code().unwrap_or("error"));
        Ok(match error.raw() {
            Some(raw) => {
                p.push_bytes(raw);
                4
            }
            None => 3,
        })
    });
    match pushed {
        Ok(n) => n,
        // Lua could not even make the message: raise what it said instead.
        Err(e) => {
            drop(error);
            // SAFETY: the state of the running C function, which `stack` wraps.
            unsafe { raise_error(stack.state(), stack, e) }
        }
    }
}

/// Raises `error` as a Lua error: this C function's frame, and every Rust frame up to
/// [`entry`], are left by a longjmp (PUC Lua) or an unwind (LuaJIT).
#[cold]
unsafe fn raise_error(l: *mut lua_State, stack: &Stack, error: Error) -> c_int {
    // luaL_argerror names the function as its caller called it, or '?' when the call has no
    // name (`pcall(msg.read, msg, ...)`): then nml's own words, which name it.
    let argument = error
        .argument()
        .filter(|_| caller_named_it(l))
        .map(|(n, what)| {
            stack.push_str(what);
            n as c_int
        });
    if argument.is_none() {
        stack.push_str(error.message());
    }
    drop(error);
    // SAFETY: every Rust value of this call has been dropped, and the message is a Lua string
    // on the stack; lua_error and luaL_argerror unwind only the frames of this call, which own
    // nothing.
    unsafe {
        match argument {
            Some(n) => ffi::luaL_argerror(l, n, ffi::lua_tostring(l, -1)),
            None => ffi::lua_error(l),
        }
    }
}

/// Whether Lua knows a name for the running C function (a global, a field, a method).
fn caller_named_it(l: *mut lua_State) -> bool {
    // SAFETY: lua_Debug is plain data that lua_getstack and lua_getinfo fill; level 0 is the
    // running function, which exists while it runs.
    unsafe {
        let mut ar: ffi::lua_Debug = std::mem::zeroed();
        ffi::lua_getstack(l, 0, &mut ar) != 0
            && ffi::lua_getinfo(l, c"n".as_ptr(), &mut ar) != 0
            && !ar.name.is_null()
    }
}

/// Declares `extern "C-unwind"` Lua C functions that run Rust bodies through [`entry`].
#[macro_export]
macro_rules! lua_functions {
    ($($(#[$attr:meta])* $name:ident => $body:path;)*) => {
        $(
            /// A Lua C function.
            ///
            /// # Safety
            /// Only Lua calls it, with a live state and the upvalues `lib.rs` gives it.
            // The one unsafe code outside lua.rs and nng/: the C entry points themselves.
            #[allow(unsafe_code)]
            $(#[$attr])*
            pub unsafe extern "C-unwind" fn $name(l: *mut $crate::lua::lua_State) -> std::ffi::c_int {
                // SAFETY: Lua calls this with a live state.
                unsafe { $crate::lua::entry(l, $body) }
            }
        )*
    };
}

/// LuaJIT's Lua codec calls this through the FFI for `strings = "auto"`
/// (`lua/nml/jit_codec.lua`): 1 if the `len` bytes at `ptr` are UTF-8, else 0. SIMD-checked,
/// several times as fast as the codec's own loop could read them.
///
/// # Safety
/// `ptr` must point at `len` readable bytes for the call: the codec passes a Lua string's
/// bytes (never null) and its length, the string held by the caller's frame.
pub unsafe extern "C" fn utf8_check(ptr: *const u8, len: usize) -> c_int {
    // SAFETY: as the caller promises above.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
    c_int::from(simdutf8::basic::from_utf8(bytes).is_ok())
}
