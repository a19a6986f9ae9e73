-- Writes the seed corpora of the fuzz targets: values like the specs' (every MessagePack
-- type and size class, descriptors, JSON documents, envelopes, framed streams).
--   lua5.4 fuzz/seeds.lua DIR      DIR/unpack, DIR/json, DIR/envelope, DIR/framer, DIR/unpacker
local nml = require "nml"

local dir = assert(arg[1], "usage: seeds.lua DIR")

local values = {
  0, 1, -1, 127, 128, 255, 256, -32, -33, 65535, 65536, -2147483648, 4294967296,
  math.maxinteger, math.mininteger, 0.5, -1.5e300, 1 / 0, -1 / 0, 0 / 0,
  true, false, "", "a", string.rep("s", 31), string.rep("s", 32), string.rep("m", 300),
  string.rep("l", 70000), nml.bin "\0\1\2\255", nml.bin(string.rep("b", 300)),
  nml.ext(5, "xyz"), nml.ext(-1, string.rep("e", 16)), nml.ext(7, string.rep("e", 300)),
  {}, { 1, 2, 3 }, { a = 1, b = { c = { d = "deep" } } }, nml.map {}, nml.array { 1, nil, 3 },
  { nested = { { 1 }, { 2, { 3, { 4 } } } } }, { [1] = "one", [3] = "three" }, { [1.5] = "x" },
  { buffer = nml.bin "frame bytes", buffer_ud_type = "frame" },
  { frame = { buffer = nml.bin(string.rep("p", 1000)), buffer_ud_type = "img", buffer_ud_size = 1000 } },
  { id = 42, op = "add", args = { 1, 2, 3 }, name = "frame" },
}
local big = {}
for i = 1, 100 do big[i] = { id = i, name = "item " .. i, ok = i % 2 == 0 } end
values[#values + 1] = big

local function write(target, name, bytes)
  os.execute(string.format("mkdir -p %s/%s", dir, target))
  local f = assert(io.open(string.format("%s/%s/%s", dir, target, name), "wb"))
  f:write(bytes)
  f:close()
end

for i, v in ipairs(values) do
  local packed = nml.pack(v)
  write("unpack", "value" .. i, packed)
  write("envelope", "msgpack" .. i, "\193\1" .. packed)
  write("envelope", "topic" .. i, "weather.lyon\193\1" .. packed)
  write("framer", "stream" .. i, string.char(i % 17) .. nml.frame(packed) .. nml.frame(packed))
  write("unpacker", "stream" .. i, string.char(i % 13) .. packed .. nml.pack(i) .. packed)
  local ok, json = pcall(nml.encode, v, "json")
  if ok then
    write("json", "value" .. i, json)
    write("envelope", "json" .. i, "\193\2" .. json)
  end
end
write("unpack", "many", nml.pack(1, "two", { 3 }, nil, true))
write("envelope", "string", "\193\3plain text")
write("envelope", "custom", "\193\0\4cbor\161\97\97\1")
write("envelope", "bare", "no envelope at all")
write("json", "document", '{"a": [1, 2.5, "x", null, true], "b": {"c": "\\u00e9\\n"}}')
write("framer", "partial", "\3" .. nml.frame("abc") .. "\0\0\1")
print("seeds written to " .. dir)
