-- A fixed number of codec calls, for counting instructions (callgrind) rather than timing:
--   lua codec_calls.lua [n]
-- packs the "small request map" of benches/codec.lua n times (20,000), then unpacks it n times.
local nml = require "nml"
local n = tonumber(arg[1]) or 20000
local small_map = {
  id = 12345, command = "predict",
  args = { signature = "question -> answer", inputs = { question = "What is DSPy?" } },
  timestamp = "2024-01-15T10:30:00Z",
}
local packed = nml.pack(small_map)
for _ = 1, n do nml.pack(small_map) end
for _ = 1, n do nml.unpack(packed) end
