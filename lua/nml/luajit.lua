-- LuaJIT only: what the Rust codec asks of FFI values. The chunk returns four functions.
--
-- Where the bytes are of an FFI cdata or a string.buffer that a buffer descriptor holds under
-- `buffer`. The packer copies that many bytes once; it never sends a Lua object's internals.
--   span(v) -> address, size   an array (size from ffi.sizeof) or a string.buffer (its contents)
--   span(v) -> address, nil    a pointer: the descriptor's buffer_ud_size says how many bytes
--   span(v) -> nil, why        anything else
-- The FFI's 64-bit integers, as their sign and the two 32-bit halves of their bits:
--   int64_parts(v) -> signed, high, low   an int64_t or uint64_t cdata (nil for anything else)
--   int64_make(high, low, signed) -> v    the cdata again
-- And how LuaJIT's own libraries are found, which the Lua codec (jit_codec.lua) is given too:
--   builtin(name) -> library | nil
-- Without the FFI (an embedder may leave it out) no cdata exists: the chunk returns nothing.
--
-- LuaJIT's own library `name` as LuaJIT provides it (package.loaded or package.preload), or
-- nil: never searched for on package.path, where a file in the current directory could stand
-- in for it (Debian's LuaJIT has no string.buffer: a ./string/buffer.lua was run).
local function builtin(name)
  local library = package.loaded[name]
  -- (a require that failed leaves a placeholder in package.loaded: LuaJIT's is a number)
  if type(library) == "table" or type(library) == "function" then return library end
  if not package.preload[name] then return nil end
  local ok, loaded = pcall(require, name)
  return ok and loaded or nil
end

local ffi = builtin "ffi"
if not ffi then return nil end

local sbuf = builtin "string.buffer"
local sbuf_mt = sbuf and getmetatable(sbuf.new()) or nil
local uintptr_t = ffi.typeof("uintptr_t")

local function address(p)
  return tonumber(ffi.cast(uintptr_t, p)) -- exact: user-space addresses are under 2^53
end

local int64_t, uint64_t = ffi.typeof("int64_t"), ffi.typeof("uint64_t")
local istype = ffi.istype
local HALF = ffi.cast(uint64_t, 4294967296) -- (no ULL literal: a LuaJIT without the FFI cannot parse one)

local function int64_parts(v)
  local signed = istype(int64_t, v)
  if not signed and not istype(uint64_t, v) then return nil end
  local bits = ffi.cast(uint64_t, v)
  return signed, tonumber(bits / HALF), tonumber(bits % HALF)
end

local function int64_make(high, low, signed)
  local bits = ffi.cast(uint64_t, high) * HALF + low
  if signed then return ffi.cast(int64_t, bits) end
  return bits
end

local function span(v)
  if type(v) == "cdata" then
    local ctype = tostring(ffi.typeof(v)) -- "ctype<uint8_t *>", "ctype<uint8_t [5]>"
    if ctype:find("%*>$") then return address(v), nil end
    if ctype:find("%]>$") then return address(v), ffi.sizeof(v) end
    return nil, "an FFI cdata buffer must be an array or a pointer, not " .. ctype
  end
  if sbuf_mt and getmetatable(v) == sbuf_mt then
    local p, len = v:ref()
    return address(p), len
  end
  return nil
end

return span, int64_parts, int64_make, builtin
