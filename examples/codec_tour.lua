-- make demo: a table holding every kind of value, packed to MessagePack, its bytes shown, and
-- unpacked again. (Run from examples/ with nml.so on package.cpath.)
local nml = require "nml"

local function hex(s, limit)
  local shown = s:sub(1, limit or #s):gsub(".", function(c) return string.format("%02x ", c:byte()) end)
  return shown .. (#s > (limit or #s) and string.format("... (%d bytes)", #s) or "")
end

local function show(v, indent)
  indent = indent or ""
  if type(v) ~= "table" or getmetatable(v) then
    if v == nml.null then return "nml.null" end
    if type(v) == "string" then return string.format("%q", #v > 40 and v:sub(1, 40) .. "..." or v) end
    if type(v) == "table" and v.type then return string.format("nml.ext(%d, %q)", v.type, v.data) end
    if type(v) == "table" and next(v) == nil then return "nml.map{}" end
    return (math.type and math.type(v) or type(v)) .. " " .. tostring(v)
  end
  if next(v) == nil then return "{}" end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local lines = {}
  for _, k in ipairs(keys) do
    lines[#lines + 1] = string.format("%s  [%s] = %s", indent, tostring(k), show(v[k], indent .. "  "))
  end
  return "{\n" .. table.concat(lines, "\n") .. "\n" .. indent .. "}"
end

local value = {
  id = 12345,
  command = "predict",
  args = { signature = "question -> answer", inputs = { question = "What is DSPy?" } },
  ratio = 0.75,
  big = 2 ^ 40,
  negative = -129,
  flags = { true, false, nml.null },
  empty_list = {},
  empty_map = nml.map {},
  raw = nml.bin "\0\1\2\255",
  stamp = nml.ext(7, "v1"),
  unicode = "héllo 日本語",
}

local packed = nml.pack(value)
print(string.format("%s: packed a table of every kind into %d bytes (packsize said %d)",
  nml._VERSION, #packed, nml.packsize(value)))
print("bytes: " .. hex(packed, 48))
local back = nml.unpack(packed)
print("unpacked: " .. show(back))
print("as JSON: " .. nml.encode({ id = back.id, flags = back.flags, empty_map = back.empty_map }, "json"))
assert(back.args.inputs.question == "What is DSPy?" and back.raw == "\0\1\2\255")
print("round trip ok")
