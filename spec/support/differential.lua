-- LuaJIT's two MessagePack codecs side by side, on values and bytes drawn from a seed: every
-- call must give the same outcome with either codec, the same bytes or values, or the same
-- error. Used by spec/jit_codec_spec.lua, and by tools/jit-soak.lua (`make soak-jit`), which
-- runs it with the JIT forced hot in child processes, so that a crash is counted, not fatal.
--
--   local differential = require "support.differential"
--   local failure = differential.run(nml, seed, cases)  -- nil, or what differed (text)
local differential = {}

local unpack = unpack or table.unpack
local function pack_n(...) return { n = select("#", ...), ... } end

local ffi = jit and require "ffi"
local int64 = jit and loadstring("return 0LL")()

-- Metatables of every shape a table may have: nml's markers hidden behind __metatable or
-- hiding them, metamethods nml must not call, a locked one. Each value gets a fresh one.
local function metatable_of(nml, rand)
  local markers = { getmetatable(nml.map()), getmetatable(nml.array()), getmetatable(nml.bin("")),
    getmetatable(nml.ext(0, "")) }
  local shape = rand(7)
  if shape == 1 then return { __metatable = markers[rand(#markers)] } end
  if shape == 2 then return { __metatable = "locked" } end
  if shape == 3 then return { __index = function() return 1 end } end
  if shape == 4 then return { __pairs = function() return next, { 1, 2 }, nil end } end
  if shape == 5 then return { __len = function() return 3 end } end
  if shape == 6 then return { __newindex = error, __metatable = false } end
  return {}
end

-- A value from the generator rand (math.random's signature): every MessagePack type the codecs
-- write, nested, with (when `odd` is set) tables with metatables of their own, cdata, and
-- values neither codec packs.
function differential.random_value(nml, rand, depth, odd)
  local kind = rand(depth > 3 and 9 or (odd and 14 or 12))
  if kind == 1 then return nil end
  if kind == 2 then return rand(2) == 1 end
  if kind == 3 then return rand(0, 300) - 150 end
  if kind == 4 and int64 and rand(3) == 1 then -- an int64_t, within 2^53 or beyond
    return int64 + (rand(2) == 1 and 1 or -1) * rand(0, 2 ^ 31 - 1) * 2 ^ 32 + rand(0, 2 ^ 31)
  end
  if kind == 4 then
    local scales = { 1, 2 ^ 8, 2 ^ 16, 2 ^ 31, 2 ^ 32, 2 ^ 53 }
    return (rand(2) == 1 and 1 or -1) * math.floor(rand() * scales[rand(#scales)])
  end
  if kind == 5 then
    local special = { 0.5, -0.0, 1 / 0, -1 / 0, 1e300, -2.5e-310, 3.14159, 2 ^ 53 + 2 }
    return special[rand(#special)]
  end
  if kind == 6 then return nml.null end
  if kind == 7 then
    local n = ({ 0, 5, 31, 32, 255, 256, 70000 })[rand(7)]
    return string.rep(string.char(rand(0, 255)), n)
  end
  if kind == 8 then return nml.bin(string.rep("\0\1", rand(0, 40))) end
  if kind == 9 then return nml.ext(rand(0, 255) - 128, string.rep("x", ({ 0, 1, 2, 3, 4, 8, 16, 17 })[rand(8)])) end
  if kind == 10 then
    local t = {}
    for i = 1, ({ 0, 3, 15, 16, 40 })[rand(5)] do
      t[i] = differential.random_value(nml, rand, depth + 1, odd) or false
    end
    return t
  end
  if kind == 11 then
    local t = {}
    for _ = 1, ({ 0, 1, 15, 16, 17, 40 })[rand(6)] do
      local key = rand(3) == 1 and rand(-5, 100) or ("k" .. rand(1000))
      t[key] = differential.random_value(nml, rand, depth + 1, odd) or nml.null
    end
    return rand(4) == 1 and nml.map(t) or t
  end
  if kind == 12 then
    local t = nml.array { differential.random_value(nml, rand, depth + 1, odd), nil,
      differential.random_value(nml, rand, depth + 1, odd) }
    t[5] = 1
    return t
  end
  if kind == 13 then -- a table with a metatable of its own: an array, a map or one entry
    local t = ({ { 1, 2 }, { [2] = 1 }, { k = "v" }, {}, { "s", type = 1, data = "x" } })[rand(5)]
    return setmetatable(t, metatable_of(nml, rand))
  end
  -- Values around cdata and what neither codec packs: under `buffer` or not.
  local odd_values = { print, coroutine.create(print), io.stdout }
  if ffi then
    odd_values[#odd_values + 1] = ffi.new("int32_t", 3)
    odd_values[#odd_values + 1] = ffi.new("uint8_t[2]", 1, 2)
    odd_values[#odd_values + 1] = int64 + rand(0, 9)
    odd_values[#odd_values + 1] = ffi.cast("uint64_t", rand(0, 9))
  end
  local v = odd_values[rand(#odd_values)]
  local shape = rand(3)
  if shape == 1 then return { buffer = v } end
  if shape == 2 then return { buffer = v, buffer_ud_type = "x" } end
  return v
end

-- A value as text, map order aside, for comparing what each codec gives back.
local function canon(nml, v)
  local t = type(v)
  if t == "number" then return v ~= v and "nan" or ("%.17g"):format(v) end
  if t == "string" then return ("%q"):format(v) end
  if t == "table" then
    local parts = {}
    -- (next, not pairs: see "ITERN" in lua/nml/jit_codec.lua; this harness runs forced hot)
    local k, x = next(v)
    while k ~= nil do
      parts[#parts + 1] = canon(nml, k) .. "=" .. canon(nml, x)
      k, x = next(v, k)
    end
    table.sort(parts)
    return tostring(getmetatable(v) ~= nil) .. "{" .. table.concat(parts, ",") .. "}"
  end
  if t == "cdata" then return tostring(v) end -- 5LL, 5ULL
  if t == "userdata" then -- an nml message: its bytes
    local ok, bytes = pcall(function() return v:tostring() end)
    return "userdata:" .. (ok and ("%q"):format(bytes) or "?")
  end
  return t .. ":" .. tostring(v == nml.null and "null" or v)
end
differential.canon = canon

-- f(...) with nml.config{codec = codec}, the setting put back: its results as text, a raised
-- error as its message.
local function outcome(nml, codec, f, ...)
  local before = nml.config().codec
  nml.config { codec = codec }
  local r = pack_n(pcall(f, ...))
  nml.config { codec = before }
  local parts = {}
  for i = 1, math.max(r.n, 4) do parts[i] = canon(nml, r[i]) end
  return table.concat(parts, "|")
end
differential.outcome = outcome

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- An outcome to show: its first 160 bytes, those outside printable ASCII as \xNN.
local function shown(s)
  return (s:sub(1, 160):gsub("[^ -~]", function(c) return string.format("\\x%02x", c:byte()) end))
end

-- Packs `cases` random values with each codec, then unpacks the bytes with each.
function differential.values(nml, seed, cases)
  math.randomseed(seed)
  local rand = math.random
  for i = 1, cases do
    local v = differential.random_value(nml, rand, 0, true)
    local lua, rust = outcome(nml, "lua", nml.pack, v), outcome(nml, "rust", nml.pack, v)
    if lua ~= rust then
      return ("value %d of seed %d packs differently: lua %s, rust %s"):format(i, seed, shown(lua), shown(rust))
    end
    local ok, bytes = pcall(nml.pack, v)
    if ok then
      lua, rust = outcome(nml, "lua", nml.unpack, bytes), outcome(nml, "rust", nml.unpack, bytes)
      if lua ~= rust then
        return ("value %d of seed %d unpacks differently: lua %s, rust %s"):format(i, seed, shown(lua), shown(rust))
      end
    end
  end
end

-- Unpacks `cases` packed values mutated at random with each codec, nml.unpack and unpack_one.
function differential.bytes(nml, seed, cases)
  local sources = {
    nml.pack { id = 12345, command = "predict", args = { 1, 2.5, "x", true, nml.null } },
    nml.pack { 1, 2, 3, { a = { b = { c = 1 } } }, nml.ext(5, "abc"), nml.bin "\0\1" },
    nml.pack { [1.5] = 2, [-3] = "y", k = -2 ^ 40, f = 0.1 },
    "\146\207\128\0\0\0\0\0\0\1\211\255\223\0\0\0\0\0\1", nml.pack { string.rep("s", 40) },
  }
  math.randomseed(seed)
  local rand = math.random
  for i = 1, cases do
    local bytes = { sources[rand(#sources)]:byte(1, -1) }
    for _ = 1, rand(3) do
      local op = rand(3)
      if op == 1 then bytes[rand(#bytes)] = rand(0, 255)
      elseif op == 2 and #bytes > 1 then for _ = 1, rand(#bytes - 1) do table.remove(bytes) end
      else table.insert(bytes, rand(#bytes + 1), rand(0, 255)) end
    end
    local data = string.char(unpack(bytes))
    local offset = rand(3) == 1 and rand(0, #data) or 0
    for _, f in ipairs { nml.unpack_one, nml.unpack } do
      local lua, rust = outcome(nml, "lua", f, data, offset), outcome(nml, "rust", f, data, offset)
      if lua ~= rust then
        return ("case %d of seed %d (%s at %d): lua %s, rust %s"):format(i, seed, hex(data), offset,
          shown(lua), shown(rust))
      end
    end
  end
end

-- Both: nil when every case agreed, else the first difference.
function differential.run(nml, seed, cases)
  return differential.values(nml, seed, cases) or differential.bytes(nml, seed, cases)
end

return differential
