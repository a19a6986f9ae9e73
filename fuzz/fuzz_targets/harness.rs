//! One Lua 5.4 state with nml loaded, shared by every run of a target. Each target gives a Lua
//! chunk that returns `check(data)`; a run calls it on the input, protected. A Lua error is an
//! answer (bad input must give one); a crash, a sanitizer report, a leak, a timeout or an error
//! that says nml caught a Rust panic or broke a round trip is a finding.

use std::ffi::{CStr, CString};
use std::sync::Mutex;

use mlua_sys as ffi;

/// Runs `check` (a Lua chunk returning `check(data)`) on `data`, in the one state of this
/// target, made on the first run.
pub fn run(check: &str, data: &[u8]) {
    static HARNESS: Mutex<Option<Harness>> = Mutex::new(None);
    let mut h = HARNESS.lock().unwrap_or_else(|e| e.into_inner());
    h.get_or_insert_with(|| Harness::new(check)).run(data);
}

struct Harness {
    l: *mut ffi::lua_State,
    runs: u64,
}

// SAFETY: libFuzzer runs one input at a time on one thread.
unsafe impl Send for Harness {}

impl Harness {
    fn new(chunk: &str) -> Harness {
        // SAFETY: a fresh state; every call below follows the C API's stack discipline.
        unsafe {
            let l = ffi::luaL_newstate();
            assert!(!l.is_null());
            ffi::luaL_openlibs(l);
            ffi::lua_pushcfunction(l, nml::luaopen_nml);
            assert_eq!(ffi::lua_pcall(l, 0, 1, 0), 0, "luaopen_nml failed");
            ffi::lua_setglobal(l, c"nml".as_ptr());
            let source = CString::new(format!("{PRELUDE}\n{chunk}")).unwrap();
            if ffi::luaL_loadstring(l, source.as_ptr()) != 0 || ffi::lua_pcall(l, 0, 1, 0) != 0 {
                panic!("target chunk: {}", message(l));
            }
            ffi::lua_setglobal(l, c"check".as_ptr());
            Harness { l, runs: 0 }
        }
    }

    fn run(&mut self, data: &[u8]) {
        // SAFETY: as in new(); the state is ours.
        unsafe {
            let l = self.l;
            ffi::lua_settop(l, 0);
            ffi::lua_getglobal(l, c"check".as_ptr());
            ffi::lua_pushlstring(l, data.as_ptr() as *const _, data.len());
            if ffi::lua_pcall(l, 1, 0, 0) != 0 {
                let why = message(l);
                if why.contains("internal error") || why.contains("FINDING") {
                    panic!("{why}");
                }
            }
            ffi::lua_settop(l, 0);
            self.runs += 1;
            if self.runs % 256 == 0 {
                // Finalizers of messages and views run here, away from the call that made them.
                ffi::lua_gc(l, ffi::LUA_GCCOLLECT, 0);
            }
        }
    }
}

unsafe fn message(l: *mut ffi::lua_State) -> String {
    // SAFETY: reads the value on the top of the stack as a string if it is one.
    unsafe {
        let p = ffi::lua_tolstring(l, -1, std::ptr::null_mut());
        if p.is_null() {
            return "(error object is not a string)".into();
        }
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

/// Lua helpers every target can use: `same(a, b)` compares decoded values (NaN equals NaN).
const PRELUDE: &str = r#"
local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) == "number" then
    return a == b or (a ~= a and b ~= b)
  end
  if type(a) ~= "table" then return a == b or tostring(a) == tostring(b) end
  if getmetatable(a) ~= getmetatable(b) then return false end
  -- Table keys (from maps keyed by maps or arrays) differ in identity: only count those.
  local table_keys = 0
  for k, v in pairs(a) do
    if type(k) == "table" then table_keys = table_keys + 1
    elseif not same(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if type(k) == "table" then table_keys = table_keys - 1
    elseif a[k] == nil then return false end
  end
  return table_keys == 0
end
_G.same = same
"#;
