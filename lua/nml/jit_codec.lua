-- LuaJIT only: MessagePack in Lua through the FFI, which the JIT compiles into the caller's
-- traces (the manual's "LuaJIT"). A call into a C module leaves compiled code, and inside the
-- Rust codec every lua_next, lua_type and lua_tolstring runs at interpreter speed; here the
-- same work is a loop the JIT turns into machine code.
--
-- The Rust codec stays the reference. This one writes the same bytes and reads the same
-- values, and takes only what it fully understands: on anything else (a buffer descriptor,
-- an error of any kind) it raises inside its own protected call and the
-- Rust codec does the whole call again, so every error message, code and edge case is the
-- Rust codec's own. It has no side effects to undo: it writes only its own buffer and tables
-- nobody has seen.
--
-- Called by `require "nml"` with the module table, the address of the Rust side's UTF-8
-- check and luajit.lua's `builtin` (how LuaJIT's own libraries are found); replaces nml.pack, nml.unpack,
-- nml.unpack_one and nml.config (keeping the Rust codec's for what it leaves), and returns the
-- two functions the Rust side calls for sends and receives (`pack_message`, `unpack_message`).
-- Without the FFI (an embedder may leave it out) it changes nothing and returns nothing: nml
-- runs on the Rust codec alone.
local nml, utf8_check_at, builtin = ...

local ffi = builtin "ffi"
if not ffi then return nil end
local rust = {
  pack = nml.pack, unpack = nml.unpack, unpack_one = nml.unpack_one, config = nml.config,
  map = nml.map, array = nml.array, bin = nml.bin, ext = nml.ext, _markers = nml._markers,
}

local bit = builtin "bit"
local new_table = builtin "table.new"
if not (bit and new_table) then return nil end -- (LuaJIT 2.0, an embedder's subset) the Rust codec alone

local band, rshift, bswap = bit.band, bit.rshift, bit.bswap
local floor = math.floor
local type, next, rawget, getmetatable, setmetatable = type, next, rawget, getmetatable, setmetatable
-- Tables are walked with calls of next, never `for k, v in next, t` or pairs: those compile to
-- ITERN, which LuaJIT before its fix of issue 827 (April 2022; Debian 12 ships an older one)
-- may enter with a key in the slot where it keeps its index, and read a node far past the
-- table (a crash inside compiled code). The packer walks tables inside tables with the same
-- loop, which is how the JIT, forced hot, reached that state (make soak-jit).
local select, pcall, error, unpack, tonumber = select, pcall, error, unpack, tonumber
-- OpenResty's LuaJIT (luajit2, the one nginx's Lua module runs on) counts a table's entries
-- without walking them, compiled. With it an array is known by its count and read by index,
-- no next at all, and a map's header is written first. nil on other LuaJITs.
local nkeys = builtin "table.nkeys"
local ffi_copy, ffi_string, ffi_cast = ffi.copy, ffi.string, ffi.cast

ffi.cdef [[
void *malloc(size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);
void *memmove(void *dest, const void *src, size_t n);
]]
local C = ffi.C

-- A copy of the function f that the JIT compiles apart from f: its own prototype (so its own
-- traces), sharing f's upvalues. LuaJIT compiles a loop for the kind of value it meets first,
-- and another kind then leaves the loop's trace on every iteration (through a side trace that
-- re-enters it from the top: integers and doubles packed 2.4 times slower after the other
-- kind trained the loop). Arrays go to a copy chosen by the kind of their first element.
-- (f itself where an embedder removed string.dump or the debug library: slower, still right.)
local dump, debug_lib = string and string.dump, debug
local function compiled_apart(f)
  if not (dump and debug_lib and debug_lib.getupvalue and debug_lib.upvaluejoin) then return f end
  local copy = load(dump(f), "=nml.jit_codec", "b")
  local i = 1
  while debug_lib.getupvalue(f, i) do
    debug_lib.upvaluejoin(copy, i, f, i)
    i = i + 1
  end
  return copy
end

local u8p = ffi.typeof("uint8_t *")
local cu8p = ffi.typeof("const uint8_t *")
local u32p = ffi.typeof("uint32_t *")
local u64p = ffi.typeof("uint64_t *")
local uintptr_t = ffi.typeof("uintptr_t")
local int64_t, uint64_t = ffi.typeof("int64_t"), ffi.typeof("uint64_t")
local istype = ffi.istype
-- One number seen as its bits, both ways.
local bits = ffi.new("union { double d; uint64_t u64; float f; uint32_t u32; }")

-- A table's own metatable, as the Rust codec reads it (lua_getmetatable): getmetatable gives
-- the `__metatable` field instead where the metatable has one, which may be one of nml's
-- markers, or hide one. getmetatable is nil only for a table without a metatable, which the
-- JIT compiles; for the others debug.getmetatable tells. Where an embedder removed the debug
-- library it is UNKNOWN, and the table goes to the Rust codec.
local debug_getmetatable = debug_lib and debug_lib.getmetatable
local UNKNOWN = {}
local function raw_metatable(t)
  if getmetatable(t) == nil then return nil end
  if debug_getmetatable then return debug_getmetatable(t) end
  return UNKNOWN
end
-- A LuaJIT built with LUAJIT_ENABLE_LUA52COMPAT has rawlen, and its # calls __len: a table
-- whose metatable has one goes to the Rust codec, which takes the raw length.
local len_metamethods = rawget(_G, "rawlen") ~= nil -- (raw: a strict _G raises on unknown names)

local null = nml.null
-- The markers the Rust codec knows (src/codec.rs, MARKERS), by name. A table with one this
-- codec does not pack itself goes to the Rust codec, so that a marker added there packs the
-- same on LuaJIT before this codec learns it.
local markers = rust._markers
local MAP_MT, ARRAY_MT, BIN_MT, EXT_MT = markers.map, markers.array, markers.bin, markers.ext
local PACKED_HERE = { [MAP_MT] = true, [ARRAY_MT] = true, [BIN_MT] = true, [EXT_MT] = true }
local OTHER_MARKER = {}
do
  local name, mt = next(markers)
  while name do
    if not PACKED_HERE[mt] then OTHER_MARKER[mt] = true end
    name, mt = next(markers, name)
  end
end

local EXACT = 2 ^ 53 -- integral numbers within this pack as integers (the manual's type mapping)
local MAX_LEN = 2 ^ 32 - 1

-- nml.config's settings, read again after every nml.config call.
local max_depth, float32, lua_pack, lua_unpack, exact_int64, config_auto

-- The packer's output: one buffer for the Lua state (freed with it), grown by doubling and
-- given back at the next call when a large value left it over KEEP bytes (a send's bytes are
-- copied out after the packer returns). malloc, not ffi.new: no zeroing.
local INITIAL, KEEP = 4096, 1024 * 1024
local buf, cap = nil, 0

local function reserve(cap_wanted)
  local size = cap > 0 and cap or INITIAL
  while size < cap_wanted do size = size * 2 end
  local grown = C.realloc(buf and ffi.gc(buf, nil), size)
  if grown == nil then
    buf = buf and ffi.gc(buf, C.free) -- realloc left it as it was
    error("out of memory", 0)
  end
  buf, cap = ffi.gc(ffi_cast(u8p, grown), C.free), size
end
reserve(INITIAL)

local function shrink()
  if cap > KEEP then
    C.free(ffi.gc(buf, nil))
    buf, cap = nil, 0
    reserve(INITIAL)
  end
end

-- Room for n more bytes at pos.
local function ensure(pos, n)
  if pos + n > cap then reserve(pos + n) end
end

-- Big-endian stores, on a buffer with room for them.
local function put16(pos, v)
  buf[pos], buf[pos + 1] = rshift(v, 8), band(v, 0xff)
end

local function put32(pos, v)
  ffi_cast(u32p, buf + pos)[0] = bswap(v)
end

-- A 64-bit integer (within 2^53, as every number that packs as one) after its marker.
local function put64(marker, v, pos)
  local hi = floor(v / 4294967296)
  buf[pos] = marker
  put32(pos + 1, hi)
  put32(pos + 5, v - hi * 4294967296)
  return pos + 9
end

local function put_int(v, pos)
  ensure(pos, 9)
  if v >= 0 then
    if v < 128 then
      buf[pos] = v
      return pos + 1
    elseif v < 256 then
      buf[pos], buf[pos + 1] = 0xcc, v
      return pos + 2
    elseif v < 65536 then
      buf[pos] = 0xcd
      put16(pos + 1, v)
      return pos + 3
    elseif v <= MAX_LEN then
      buf[pos] = 0xce
      put32(pos + 1, v)
      return pos + 5
    end
    return put64(0xcf, v, pos)
  elseif v >= -32 then
    buf[pos] = band(v, 0xff)
    return pos + 1
  elseif v >= -128 then
    buf[pos], buf[pos + 1] = 0xd0, band(v, 0xff)
    return pos + 2
  elseif v >= -32768 then
    buf[pos] = 0xd1
    put16(pos + 1, band(v, 0xffff))
    return pos + 3
  elseif v >= -2147483648 then
    buf[pos] = 0xd2
    put32(pos + 1, v)
    return pos + 5
  end
  return put64(0xd3, v, pos)
end

-- An int64_t or uint64_t cdata, exact (any other cdata is the Rust codec's error): within
-- 2^53 as the number it equals, beyond in 8 bytes, as the Rust codec writes them.
local function put_int64(v, pos)
  local signed = istype(int64_t, v)
  if not signed and not istype(uint64_t, v) then error("cannot pack", 0) end
  if v <= EXACT and (not signed or v >= -EXACT) then return put_int(tonumber(v), pos) end
  ensure(pos, 9)
  buf[pos] = (signed and v < 0) and 0xd3 or 0xcf
  ffi_cast(u64p, buf + pos + 1)[0] = bswap(ffi_cast(uint64_t, v))
  return pos + 9
end

local function put_float(v, pos)
  ensure(pos, 9)
  if float32 then
    bits.f = v
    buf[pos] = 0xca
    ffi_cast(u32p, buf + pos + 1)[0] = bswap(bits.u32)
    return pos + 5
  end
  bits.d = v
  buf[pos] = 0xcb
  ffi_cast(u64p, buf + pos + 1)[0] = bswap(bits.u64)
  return pos + 9
end

-- Whether the number v packs as an integer. The loops below test this themselves rather than
-- call one function that packs either: a side trace that starts inside a called function ends
-- when it returns (LuaJIT cannot continue it into the caller), and the rest of that iteration
-- would run in the interpreter each time the other kind comes.
local function integral(v)
  return floor(v) == v and v <= EXACT and v >= -EXACT and (v ~= 0 or 1 / v > 0)
end

-- A length after one of the 8, 16 or 32-bit markers m8, m8 + 1, m8 + 2.
local function put_length(n, m8, pos)
  if n < 256 then
    buf[pos], buf[pos + 1] = m8, n
    return pos + 2
  elseif n < 65536 then
    buf[pos] = m8 + 1
    put16(pos + 1, n)
    return pos + 3
  elseif n <= MAX_LEN then
    buf[pos] = m8 + 2
    put32(pos + 1, n)
    return pos + 5
  end
  error("too long", 0)
end

-- strings = "auto" packs a string that is valid UTF-8 as str, any other as bin. A short
-- string is read byte by byte here, and its answer kept (map keys come again and again, at
-- most KNOWN_MAX kept); a long one, or one with a byte past ASCII, is checked by the Rust
-- side's SIMD check (`utf8_check`), called through the FFI: reading 8 bytes at a time in
-- Lua took 2.5 times as long as packing a 1 KiB string.
local auto_strings = false -- set for each call
local utf8_check = ffi_cast("int (*)(const char *, size_t)", utf8_check_at)
local byte = string.byte
local KNOWN_MAX = 4096
local known_utf8, known_count = {}, 0

-- A long string: called apart, so that the FFI call is compiled in a trace of its own.
local function check_long(s, n)
  return utf8_check(s, n) ~= 0
end

local function is_utf8(s, n)
  if n >= 32 then return check_long(s, n) end
  local known = known_utf8[s]
  if known ~= nil then return known end
  known = true
  for i = 1, n do
    if byte(s, i) >= 0x80 then
      known = check_long(s, n)
      break
    end
  end
  if known_count >= KNOWN_MAX then known_utf8, known_count = {}, 0 end
  known_utf8[s], known_count = known, known_count + 1
  return known
end

local function put_bin(s, pos)
  local n = #s
  ensure(pos, n + 5)
  pos = put_length(n, 0xc4, pos)
  ffi_copy(buf + pos, s, n)
  return pos + n
end

local function put_string(s, pos)
  local n = #s
  if auto_strings and not is_utf8(s, n) then return put_bin(s, pos) end
  ensure(pos, n + 5)
  if n < 32 then
    buf[pos] = 0xa0 + n
    pos = pos + 1
  else
    pos = put_length(n, 0xd9, pos)
  end
  ffi_copy(buf + pos, s, n)
  return pos + n
end


-- An array's or a map's header: fix, then 16 and 32-bit markers m16, m16 + 1.
local function put_header(n, fix, m16, pos)
  ensure(pos, 5)
  if n < 16 then
    buf[pos] = fix + n
    return pos + 1
  elseif n < 65536 then
    buf[pos] = m16
    put16(pos + 1, n)
    return pos + 3
  end
  buf[pos] = m16 + 1
  put32(pos + 1, n)
  return pos + 5
end

local pack_value, pack_counted_map

local function pack_ext(t, pos)
  local ty, data = rawget(t, "type"), rawget(t, "data")
  if type(ty) ~= "number" or floor(ty) ~= ty or ty < -128 or ty > 127 or (ty == 0 and 1 / ty < 0)
    or type(data) ~= "string" then
    error("bad ext", 0)
  end
  local n = #data
  ensure(pos, n + 6)
  if n == 1 or n == 2 or n == 4 or n == 8 or n == 16 then
    buf[pos] = n == 1 and 0xd4 or n == 2 and 0xd5 or n == 4 and 0xd6 or n == 8 and 0xd7 or 0xd8
    pos = pos + 1
  else
    pos = put_length(n, 0xc7, pos)
  end
  buf[pos] = band(ty, 0xff)
  ffi_copy(buf + pos + 1, data, n)
  return pos + 1 + n
end

-- The entries of t, keys and values, from pos; returns where they end and how many there were.
local function pack_entries(t, pos, depth)
  local count = 0
  local k, v = next(t)
  while k ~= nil do
    if type(k) == "string" then
      pos = put_string(k, pos)
      -- A buffer descriptor: the Rust codec copies its buffer once, into the message. A
      -- cdata there without buffer_ud_type is the Rust codec's error.
      if k == "buffer" and (rawget(t, "buffer_ud_type") ~= nil or type(v) == "cdata") then
        error("descriptor", 0)
      end
    else
      pos = pack_value(k, pos, depth)
    end
    -- Strings and numbers written here, not through the recursive pack_value nor a function
    -- of their own: a side trace that starts inside a called function ends when it returns
    -- (LuaJIT cannot continue it into the caller), and the rest of the iteration would run in
    -- the interpreter each time the other kind comes. So the three loops repeat these lines.
    local tv = type(v)
    if tv == "number" then
      if integral(v) then pos = put_int(v, pos) else pos = put_float(v, pos) end
    elseif tv == "string" then
      pos = put_string(v, pos)
    else
      pos = pack_value(v, pos, depth)
    end
    count = count + 1
    k, v = next(t, k)
  end
  return pos, count
end

-- t as a map of `count` entries (table.nkeys counted them): the header, then the entries.
function pack_counted_map(t, count, pos, depth)
  return (pack_entries(t, put_header(count, 0x80, 0xde, pos), depth))
end

-- t as a map. Where the count is not known first, the header is a one-byte placeholder that
-- grows once the entries are counted, as in the Rust packer.
local function pack_map(t, pos, depth)
  if nkeys then return pack_counted_map(t, nkeys(t), pos, depth) end
  ensure(pos, 1)
  local head = pos
  local count
  pos, count = pack_entries(t, pos + 1, depth)
  if count < 16 then
    buf[head] = 0x80 + count
    return pos
  end
  local grow = count < 65536 and 2 or 4
  ensure(pos, grow)
  C.memmove(buf + head + 1 + grow, buf + head + 1, pos - head - 1)
  put_header(count, 0x80, 0xde, head)
  return pos + grow
end

local function pack_array(t, n, pos, depth)
  pos = put_header(n, 0x90, 0xdc, pos)
  for i = 1, n do
    local v = rawget(t, i)
    if v == nil then
      ensure(pos, 1)
      buf[pos] = 0xc0
      pos = pos + 1
    else
      pos = pack_value(v, pos, depth)
    end
  end
  return pos
end

-- A table whose traversal did not meet 1..n in order: an array if its keys are exactly 1..n
-- all the same (n entries, all of 1..n there), else a map. `start` is where it begins.
local function pack_unordered(t, n, start, depth)
  local count = 0
  local k = next(t)
  while k ~= nil do
    count = count + 1
    k = next(t, k)
  end
  if count == n then
    for i = 1, n do
      if rawget(t, i) == nil then return pack_map(t, start, depth) end
    end
    return pack_array(t, n, start, depth)
  end
  return pack_map(t, start, depth)
end

-- A table of border n > 0 as an array. As in the Rust packer, the common array is checked
-- while it is written: the traversal must meet the keys 1..n in order (a sequence in the
-- array part does), else what was written is undone and pack_unordered decides.
local function sequence(t, n, pos, depth)
  local start = pos
  pos = put_header(n, 0x90, 0xdc, pos)
  local i = 0
  local k, v = next(t)
  while k ~= nil do
    i = i + 1
    if k ~= i or i > n then return pack_unordered(t, n, start, depth) end
    -- Numbers and strings written here, as in pack_entries.
    local tv = type(v)
    if tv == "number" then
      if integral(v) then pos = put_int(v, pos) else pos = put_float(v, pos) end
    elseif tv == "string" then
      pos = put_string(v, pos)
    else
      pos = pack_value(v, pos, depth)
    end
    k, v = next(t, k)
  end
  return pos
end

-- `sequence` where table.nkeys told that t has n entries: they are 1..n if none of t[1..n]
-- is nil, so the elements are read by index; a hole found undoes what was written, and t is
-- a map.
local function indexed_sequence(t, n, pos, depth)
  local start = pos
  pos = put_header(n, 0x90, 0xdc, pos)
  for i = 1, n do
    local v = rawget(t, i)
    if v == nil then return pack_counted_map(t, n, start, depth) end
    -- Numbers and strings written here, as in pack_entries.
    local tv = type(v)
    if tv == "number" then
      if integral(v) then pos = put_int(v, pos) else pos = put_float(v, pos) end
    elseif tv == "string" then
      pos = put_string(v, pos)
    else
      pos = pack_value(v, pos, depth)
    end
  end
  return pos
end

-- One copy of the sequence writer per kind of first element ("number" for integral ones).
local write_sequence = { number = nkeys and indexed_sequence or sequence }
for _, kind in ipairs { "float", "string", "table", "other" } do
  write_sequence[kind] = compiled_apart(write_sequence.number)
end

-- A table without a marker: an array when its keys are exactly 1..n, else a map.
local function pack_plain(t, pos, depth)
  local n = #t
  if n == 0 then
    if next(t) == nil then
      ensure(pos, 1)
      buf[pos] = 0x90
      return pos + 1
    end
    return pack_map(t, pos, depth)
  end
  if nkeys then
    local count = nkeys(t)
    if count ~= n then return pack_counted_map(t, count, pos, depth) end
  end
  local first = rawget(t, 1)
  local kind = type(first)
  if kind == "number" and not integral(first) then kind = "float" end
  return (write_sequence[kind] or write_sequence.other)(t, n, pos, depth)
end

local function pack_table(t, pos, depth)
  if depth >= max_depth then error("too deep", 0) end
  depth = depth + 1
  local mt = raw_metatable(t)
  if mt == nil then return pack_plain(t, pos, depth) end
  if mt == MAP_MT then return pack_map(t, pos, depth) end
  if mt == ARRAY_MT then return pack_array(t, #t, pos, depth) end
  if mt == BIN_MT then
    local s = rawget(t, 1)
    if type(s) ~= "string" then error("bad bin", 0) end
    return put_bin(s, pos)
  end
  if mt == EXT_MT then return pack_ext(t, pos) end
  if mt == UNKNOWN or OTHER_MARKER[mt] or len_metamethods and rawget(mt, "__len") ~= nil then
    error("metatable", 0)
  end
  return pack_plain(t, pos, depth)
end

function pack_value(v, pos, depth)
  local tv = type(v)
  if tv == "string" then return put_string(v, pos) end
  if tv == "number" then
    if integral(v) then return put_int(v, pos) end
    return put_float(v, pos)
  end
  if tv == "table" then return pack_table(v, pos, depth) end
  if tv == "cdata" then return put_int64(v, pos) end
  ensure(pos, 1)
  if tv == "boolean" then
    buf[pos] = v and 0xc3 or 0xc2
  elseif v == nil or v == null then
    buf[pos] = 0xc0
  else
    error("cannot pack", 0)
  end
  return pos + 1
end

-- Packs the arguments into buf; returns the packed size.
local function pack_all(n, ...)
  local pos = 0
  for i = 1, n do
    pos = pack_value((select(i, ...)), pos, 0)
  end
  return pos
end

local function packed_string(n, ...)
  shrink()
  local ok, size = pcall(pack_all, n, ...)
  if not ok then return nil end
  return ffi_string(buf, size)
end

local rust_pack = rust.pack
function nml.pack(...)
  local n = select("#", ...)
  if lua_pack and n > 0 then
    auto_strings = config_auto
    -- A large string or nml.bin alone: its header joined to it, one copy into the result
    -- rather than two (into the buffer, then out of it).
    local v = ...
    if n == 1 and type(v) == "table" and raw_metatable(v) == BIN_MT then
      local bytes = rawget(v, 1)
      if type(bytes) == "string" and #bytes > 4096 and #bytes <= MAX_LEN then
        return ffi_string(buf, put_length(#bytes, 0xc4, 0)) .. bytes
      end
    elseif n == 1 and type(v) == "string" and #v > 4096 and #v <= MAX_LEN then
      local as_str = not auto_strings or is_utf8(v, #v)
      return ffi_string(buf, put_length(#v, as_str and 0xd9 or 0xc4, 0)) .. v
    end
    local s = packed_string(n, ...)
    if s then return s end
  end
  return rust_pack(...)
end

-- For a send (the Rust side calls it, on sockets whose protocol is MessagePack): the value
-- packed into buf; returns its address and size, or nothing for the Rust codec to pack it.
local function pack_message(v, auto)
  auto_strings = auto
  shrink()
  local ok, size = pcall(pack_value, v, 0, 0)
  if not ok then return nil end
  return tonumber(ffi_cast(uintptr_t, buf)), size
end

---------------------------------------------------------------------------------------------
-- Unpacking

local function be16(p, pos)
  return p[pos] * 256 + p[pos + 1]
end

local function be32(p, pos)
  return p[pos] * 16777216 + p[pos + 1] * 65536 + p[pos + 2] * 256 + p[pos + 3]
end

-- Floats. Every NaN becomes Lua's own: LuaJIT keeps its type tags in NaN bits, and a
-- negative NaN with a payload, made a number as it is, reads as another object (a crash).
-- The Rust codec's lua_pushnumber does the same.
local NAN = 0 / 0

local function be_double(p, pos)
  local high = bswap(ffi_cast(u32p, p + pos)[0])
  if band(high, 0x7ff00000) == 0x7ff00000
    and (band(high, 0xfffff) ~= 0 or ffi_cast(u32p, p + pos + 4)[0] ~= 0) then
    return NAN
  end
  bits.u64 = bswap(ffi_cast(u64p, p + pos)[0])
  return bits.d
end

local function be_float(p, pos)
  local u = bswap(ffi_cast(u32p, p + pos)[0])
  if band(u, 0x7f800000) == 0x7f800000 and band(u, 0x7fffff) ~= 0 then return NAN end
  bits.u32 = u
  return bits.f
end

local function truncated() error("truncated", 0) end

-- The 8 big-endian bytes at pos as an int64_t (signed) or uint64_t cdata.
local function int64_at(p, pos, signed)
  local u = bswap(ffi_cast(u64p, p + pos)[0])
  if signed then return ffi_cast(int64_t, u) end
  return u
end

-- A length of 1, 2 or 4 bytes at pos, checked against the data.
local function len8(p, pos, len)
  if pos >= len then truncated() end
  return p[pos]
end

local function len16(p, pos, len)
  if pos + 2 > len then truncated() end
  return be16(p, pos)
end

local function len32(p, pos, len)
  if pos + 4 > len then truncated() end
  return be32(p, pos)
end

local unpack_value

local function read_sequence(p, pos, len, n, depth)
  local t = new_table(n, 0)
  for i = 1, n do
    local v
    v, pos = unpack_value(p, pos, len, depth)
    if v == nil then v = null end
    t[i] = v
  end
  return t, pos
end

-- One copy of `read_sequence` per kind of first element, by its marker (as for packing:
-- see compiled_apart). 0xcc to 0xd3 are integers, 0xca and 0xcb floats.
local read_int_sequence, read_float_sequence = read_sequence, compiled_apart(read_sequence)
local read_other_sequence = compiled_apart(read_sequence)

local function unpack_array(p, pos, len, n, depth)
  if depth >= max_depth or n > len - pos then error("bad array", 0) end
  if n == 0 then return {}, pos end
  local b = p[pos]
  if b < 0x80 or b >= 0xe0 or (b >= 0xcc and b <= 0xd3) then
    return read_int_sequence(p, pos, len, n, depth + 1)
  elseif b == 0xcb or b == 0xca then
    return read_float_sequence(p, pos, len, n, depth + 1)
  end
  return read_other_sequence(p, pos, len, n, depth + 1)
end

-- The most entries a map's table is made room for before they come: one key repeated keeps
-- one entry, however many the map claims (src/msgpack/unpack.rs has the same limit).
local MAP_PRESIZE_MAX = 65536

local function unpack_map(p, pos, len, n, depth)
  if depth >= max_depth or 2 * n > len - pos then error("bad map", 0) end
  depth = depth + 1
  if n == 0 then return setmetatable({}, MAP_MT), pos end
  local t = new_table(0, n < MAP_PRESIZE_MAX and n or MAP_PRESIZE_MAX)
  for _ = 1, n do
    local k, v
    k, pos = unpack_value(p, pos, len, depth)
    if k == nil then k = null end
    -- The interpreter refuses a NaN key, but compiled code before LuaJIT's fix of its issue
    -- 1069 (2023) would store it: refused here, and the Rust codec reports it.
    if k ~= k then error("NaN key", 0) end
    -- Maybe a buffer descriptor: the Rust codec makes its buffer a message (or a view).
    if k == "buffer" and pos < len and p[pos] >= 0xc4 and p[pos] <= 0xc7 then
      error("descriptor", 0)
    end
    v, pos = unpack_value(p, pos, len, depth)
    if v == nil then v = null end
    t[k] = v
  end
  return t, pos
end

local function unpack_string(p, pos, len, n)
  if n > len - pos then truncated() end
  return ffi_string(p + pos, n), pos + n
end

local function unpack_ext(p, pos, len, n)
  if n + 1 > len - pos then truncated() end
  local ty = p[pos]
  if ty >= 128 then ty = ty - 256 end
  return setmetatable({ type = ty, data = ffi_string(p + pos + 1, n) }, EXT_MT), pos + 1 + n
end

-- The value at pos in the len bytes at p, and where the next one starts; nil is nil here
-- (the callers make it nml.null inside tables).
function unpack_value(p, pos, len, depth)
  if pos >= len then truncated() end
  local b = p[pos]
  pos = pos + 1
  if b < 0x80 then return b, pos end
  if b >= 0xe0 then return b - 256, pos end
  if b >= 0xa0 and b < 0xc0 then return unpack_string(p, pos, len, b - 0xa0) end
  if b < 0x90 then return unpack_map(p, pos, len, b - 0x80, depth) end
  if b < 0xa0 then return unpack_array(p, pos, len, b - 0x90, depth) end
  if b == 0xc0 then return nil, pos end
  if b == 0xc2 then return false, pos end
  if b == 0xc3 then return true, pos end
  if b == 0xcb then
    if pos + 8 > len then truncated() end
    return be_double(p, pos), pos + 8
  end
  if b == 0xcc then
    if pos >= len then truncated() end
    return p[pos], pos + 1
  end
  if b == 0xcd then
    if pos + 2 > len then truncated() end
    return be16(p, pos), pos + 2
  end
  if b == 0xce then
    if pos + 4 > len then truncated() end
    return be32(p, pos), pos + 4
  end
  if b == 0xcf then
    if pos + 8 > len then truncated() end
    local hi, lo = be32(p, pos), be32(p, pos + 4)
    if exact_int64 and (hi > 0x200000 or hi == 0x200000 and lo > 0) then
      return int64_at(p, pos, hi < 0x80000000), pos + 8
    end
    return hi * 4294967296 + lo, pos + 8
  end
  if b == 0xd0 then
    if pos >= len then truncated() end
    local v = p[pos]
    return v >= 128 and v - 256 or v, pos + 1
  end
  if b == 0xd1 then
    if pos + 2 > len then truncated() end
    local v = be16(p, pos)
    return v >= 32768 and v - 65536 or v, pos + 2
  end
  if b == 0xd2 then
    if pos + 4 > len then truncated() end
    local v = be32(p, pos)
    return v >= 2147483648 and v - 4294967296 or v, pos + 4
  end
  if b == 0xd3 then
    if pos + 8 > len then truncated() end
    local hi, lo = be32(p, pos), be32(p, pos + 4)
    if hi >= 2147483648 then hi = hi - 4294967296 end
    if exact_int64 and (hi > 0x200000 or hi == 0x200000 and lo > 0 or hi < -0x200000) then
      return int64_at(p, pos, true), pos + 8
    end
    return hi * 4294967296 + lo, pos + 8
  end
  if b == 0xca then
    if pos + 4 > len then truncated() end
    return be_float(p, pos), pos + 4
  end
  if b == 0xd9 or b == 0xc4 then return unpack_string(p, pos + 1, len, len8(p, pos, len)) end
  if b == 0xda or b == 0xc5 then return unpack_string(p, pos + 2, len, len16(p, pos, len)) end
  if b == 0xdb or b == 0xc6 then return unpack_string(p, pos + 4, len, len32(p, pos, len)) end
  if b == 0xdc then return unpack_array(p, pos + 2, len, len16(p, pos, len), depth) end
  if b == 0xdd then return unpack_array(p, pos + 4, len, len32(p, pos, len), depth) end
  if b == 0xde then return unpack_map(p, pos + 2, len, len16(p, pos, len), depth) end
  if b == 0xdf then return unpack_map(p, pos + 4, len, len32(p, pos, len), depth) end
  if b >= 0xd4 and b <= 0xd8 then return unpack_ext(p, pos, len, 2 ^ (b - 0xd4)) end
  if b == 0xc7 then return unpack_ext(p, pos + 1, len, len8(p, pos, len)) end
  if b == 0xc8 then return unpack_ext(p, pos + 2, len, len16(p, pos, len)) end
  if b == 0xc9 then return unpack_ext(p, pos + 4, len, len32(p, pos, len)) end
  error("invalid byte", 0) -- 0xc1
end

-- Up to this many values from one nml.unpack call come back through a Lua table (more go
-- to the Rust codec, which pushes them on the stack).
local MANY = 200

local function unpack_all(p, pos, len)
  local v, at = unpack_value(p, pos, len, 0)
  if at == len then return 1, v end
  local values, n = { v }, 1
  while at < len do
    if n == MANY then error("many", 0) end
    n = n + 1
    values[n], at = unpack_value(p, at, len, 0)
  end
  return n, values
end

-- The offset argument when it is plain (an integral number inside the data), else nil.
local function plain_offset(offset, len)
  if offset == nil then return 0 end
  if type(offset) == "number" and floor(offset) == offset and offset >= 0 and offset < len then
    return offset
  end
end

local rust_unpack, rust_unpack_one = rust.unpack, rust.unpack_one

-- Whether to unpack the data at p (pos of len) here. With codec = "auto", only an array whose
-- first element is a number: measured (docs/performance.md, LuaJIT), the Lua codec reads
-- numbers 1.3x to 4x as fast, and the Rust one maps and strings up to 1.4x as fast (its cache
-- of decoded keys saves hashing each key again).
local function unpack_here(p, pos, len)
  if lua_unpack ~= "auto" then return lua_unpack end
  local b = p[pos]
  local first = pos + (b >= 0x90 and b <= 0x9f and 1 or b == 0xdc and 3 or b == 0xdd and 5 or len)
  if first >= len then return false end
  local e = p[first]
  return e < 0x80 or e >= 0xe0 or (e >= 0xca and e <= 0xd3)
end

-- The bytes and start of an nml.unpack or nml.unpack_one call this codec takes (a string, no
-- options, a plain offset, data the rule gives it), else nil.
local function taken(data, offset, options)
  if not lua_unpack or type(data) ~= "string" or options ~= nil then return nil end
  local len = #data
  local pos = plain_offset(offset, len)
  local p = ffi_cast(cu8p, data)
  if pos and unpack_here(p, pos, len) then return p, pos, len end
end

function nml.unpack(data, offset, options)
  local p, pos, len = taken(data, offset, options)
  if p then
    local ok, n, v = pcall(unpack_all, p, pos, len)
    if ok then
      if n == 1 then return v end
      return unpack(v, 1, n)
    end
  end
  return rust_unpack(data, offset, options)
end

function nml.unpack_one(data, offset, options)
  local p, pos, len = taken(data, offset, options)
  if p then
    local ok, v, at = pcall(unpack_value, p, pos, len, 0)
    if ok then return v, at end
  end
  return rust_unpack_one(data, offset, options)
end

-- For a receive (the Rust side calls it): the one value in the len bytes at address p, or
-- nothing for the Rust codec to unpack them.
local function unpack_message(address, len)
  local p = ffi_cast(cu8p, address)
  if len == 0 or not unpack_here(p, 0, len) then return nil end
  local ok, v, at = pcall(unpack_value, p, 0, len, 0)
  if ok and at == len then return true, v end
  return nil
end

---------------------------------------------------------------------------------------------
-- Settings

-- Named `config`, so that the Rust function's argument errors name nml.config as users call it.
local config = rust.config
local function settings_changed(now)
  max_depth, float32, exact_int64 = now.max_depth, now.float32, now.int64 == "cdata"
  lua_pack = now.codec ~= "rust"
  config_auto = now.strings == "auto"
  lua_unpack = now.codec == "auto" and "auto" or now.codec == "lua"
  return now
end

function nml.config(options)
  return settings_changed(config(options))
end

-- start() reads the settings once the Rust side has installed this codec (before, nml.config
-- reports the Rust codec alone).
return {
  pack_message = pack_message,
  unpack_message = unpack_message,
  start = function() settings_changed(config()) end,
}
