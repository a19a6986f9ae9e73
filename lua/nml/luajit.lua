-- LuaJIT only: where the bytes are of an FFI cdata or a string.buffer that a buffer descriptor
-- holds under `buffer`. The packer asks this function (the chunk returns it) and copies that
-- many bytes once; it never sends a Lua object's internals.
--   span(v) -> address, size   an array (size from ffi.sizeof) or a string.buffer (its contents)
--   span(v) -> address, nil    a pointer: the descriptor's buffer_ud_size says how many bytes
--   span(v) -> nil, why        anything else
-- Without the FFI (an embedder may leave it out) no cdata exists: the chunk returns nothing.
local has_ffi, ffi = pcall(require, "ffi")
if not has_ffi then return nil end

local has_sbuf, sbuf = pcall(require, "string.buffer")
local sbuf_mt = has_sbuf and getmetatable(sbuf.new()) or nil
local uintptr_t = ffi.typeof("uintptr_t")

local function address(p)
  return tonumber(ffi.cast(uintptr_t, p)) -- exact: user-space addresses are under 2^53
end

return function(v)
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
