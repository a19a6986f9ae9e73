-- Codec throughput, side by side in one process: nml against the MessagePack and JSON codecs
-- Debian ships for this interpreter. Prints one row per payload and direction.
--   lua codec.lua [seconds-per-sample] [samples]
-- Each figure is the median of `samples` timed runs (CPU time, os.clock), each long enough to
-- fill `seconds-per-sample`. Large payloads get fresh input strings for every run.
local nml = require "nml"

local sample_seconds = tonumber(arg[1]) or 0.1
local samples = tonumber(arg[2]) or 5

package.path = package.path .. ";/usr/share/lua/5.3/?.lua" -- the pure-Lua MessagePack, on 5.4
local function optional(name)
  local ok, mod = pcall(require, name)
  return ok and mod or nil
end
-- lua-cmsgpack, the anchor: benches/run compiles it from the copy beside the project.
local cmsgpack = optional "cmsgpack"
local cjson, mpack, purelua = optional "cjson", optional "mpack", optional "MessagePack"

-- name -> { pack = fn(value) -> string, unpack = fn(string) -> value, bin = fn(string) -> value }
local codecs = {
  { name = "nml", pack = nml.pack, unpack = nml.unpack, bin = nml.bin },
}
-- LuaJIT: each of nml's two MessagePack codecs (the manual's "LuaJIT"), chosen for the row
-- with nml.config{codec = ...}, and LuaJIT's own serializer (not MessagePack) as the ceiling.
if jit then
  local function path(name)
    return {
      name = "nml:" .. name, bin = nml.bin,
      before = function() nml.config { codec = name } end,
      pack = nml.pack, unpack = nml.unpack,
    }
  end
  codecs = { path "lua", path "rust" }
end
-- The cost of strings = "auto" (a UTF-8 check of every string, the default): nml.pack with
-- each setting, on the payloads that hold strings, packing only (unpacking does not change).
-- On LuaJIT that is its default codec ("auto"), whose Lua codec checks ASCII itself.
local string_codecs = {
  { name = "nml:strings=str", strings = "str" },
  { name = "nml:strings=auto", strings = "auto" },
}
if cmsgpack then
  codecs[#codecs + 1] = { name = "lua-cmsgpack", pack = cmsgpack.pack, unpack = cmsgpack.unpack }
end
if mpack then
  codecs[#codecs + 1] = { name = "lua-mpack", pack = mpack.encode or mpack.pack, unpack = mpack.decode or mpack.unpack }
end
if purelua then
  codecs[#codecs + 1] = { name = "MessagePack.lua", pack = purelua.pack, unpack = purelua.unpack }
end
local has_sbuf, sbuf = pcall(require, "string.buffer")
if has_sbuf then
  codecs[#codecs + 1] = { name = "string.buffer", pack = sbuf.encode, unpack = sbuf.decode }
end
if cjson then
  local c = cjson.new()
  c.encode_max_depth(1000)
  codecs[#codecs + 1] = { name = "lua-cjson", pack = c.encode, unpack = c.decode }
end

local function payloads()
  local ints, doubles, records, strings = {}, {}, {}, {}
  for i = 1, 1000 do
    ints[i] = i % 100
    doubles[i] = i * 1.1 + 0.123456789
    records[i] = { id = i, name = "user" .. i, score = i * 1.5, tags = { "a", "b" }, active = (i % 2 == 0) }
  end
  for i = 1, 100 do strings[i] = string.rep(string.char(97 + i % 26), 1024) end
  local function blob(n)
    return function(run)
      -- fresh bytes for each run: a different prefix makes a different string object
      local head = string.format("%08d", run)
      return head .. string.rep("\7", n - #head)
    end
  end
  return {
    { name = "small request map", strings = true, value = {
      id = 12345, command = "predict",
      args = { signature = "question -> answer", inputs = { question = "What is DSPy?" } },
      timestamp = "2024-01-15T10:30:00Z" } },
    { name = "1000 small ints", value = ints },
    { name = "1000 doubles", value = doubles },
    { name = "1000 records", strings = true, value = records },
    { name = "100 x 1 KiB strings", strings = true, value = strings },
    { name = "1 MiB binary", fresh = blob(1024 * 1024), binary = true },
    { name = "16 MiB binary", fresh = blob(16 * 1024 * 1024), binary = true },
  }
end

local function median(t)
  table.sort(t)
  return t[math.ceil(#t / 2)]
end

-- The timing loop, compiled anew for each row: on LuaJIT one loop shared by every codec
-- would call many functions from one place, and the JIT, which specializes a loop to what it
-- calls, would measure how it copes with that rather than the codec.
local BATCH = [[
  local f, input, n = ...
  local sink = {} -- kept, so that the JIT cannot drop a result no one uses (and its work)
  local start = os.clock()
  for _ = 1, n do sink[1] = f(input) end
  return os.clock() - start
]]
local function new_batch()
  return (loadstring or load)(BATCH)
end

-- Median seconds per operation of f(input), with input made fresh per sample by make(). The
-- batch size is calibrated once so that the clock is read twice per batch, not per call.
local function time_per_op(make, f)
  local batch = new_batch()
  local n, probe = 1, make(1)
  local elapsed = batch(f, probe, n)
  while elapsed < sample_seconds / 8 do
    n = n * 2
    elapsed = batch(f, probe, n)
  end
  n = math.max(1, math.ceil(n * sample_seconds / elapsed))
  local results = {}
  for run = 1, samples do
    results[run] = batch(f, make(run), n) / n
  end
  return median(results)
end

local rows = {}
local function row(payload, direction, codec, per_op, bytes)
  rows[#rows + 1] = { payload, direction, codec, per_op, bytes }
  io.write(string.format("  %-20s %-7s %-16s %12.0f ops/s %9.1f MB/s\n",
    payload, direction, codec, 1 / per_op, bytes / per_op / 1e6))
  io.flush()
end

-- Debian's luajit and OpenResty's (luajit2) give the same jit.version; only the latter has
-- table.nkeys.
local interpreter = jit and (jit.version .. (pcall(require, "table.nkeys") and " (OpenResty's luajit2)"
  or " (Debian's luajit)")) or _VERSION
io.write(string.format("codec throughput on %s (median of %d x %.2fs, MB/s of MessagePack bytes)\n",
  interpreter, samples, sample_seconds))
for _, p in ipairs(payloads()) do
  local make = p.fresh or function() return p.value end
  local msgpack_bytes = #nml.pack(p.binary and nml.bin(make(1)) or make(1))
  for _, c in ipairs(codecs) do
    local wrap = (p.binary and c.bin) or function(v) return v end
    if c.before then c.before() end
    local ok, encoded = pcall(c.pack, wrap(make(1)))
    if ok then
      row(p.name, "pack", c.name, time_per_op(function(run) return wrap(make(run)) end, c.pack), msgpack_bytes)
      row(p.name, "unpack", c.name, time_per_op(function(run)
        return run == 1 and encoded or c.pack(wrap(make(run)))
      end, c.unpack), msgpack_bytes)
    else
      io.write(string.format("  %-20s %-7s %-16s cannot: %s\n", p.name, "pack", c.name, tostring(encoded):sub(1, 60)))
    end
  end
  if p.strings then
    if jit then nml.config { codec = "auto" } end
    for _, c in ipairs(string_codecs) do
      nml.config { strings = c.strings }
      row(p.name, "pack", c.name, time_per_op(make, nml.pack), msgpack_bytes)
    end
    nml.config { strings = "auto" }
  end
end
