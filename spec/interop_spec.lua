-- Cross-check against an implementation no one here wrote: Python's msgpack package.
-- spec/peers/msgpack_corpus.py defines the same named values in Python.
local helper = require "helper"
local nml = helper.nml

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local peer = helper.python .. " " .. here .. "/peers/msgpack_corpus.py"

local function range(first, last, f)
  local t = {}
  for i = first, last do t[#t + 1] = f(i) end
  return t
end

local function map_of(n)
  local t = {}
  for i = 0, n - 1 do t["k" .. i] = i end
  return t
end

local int = math.tointeger or function(x) return x end

-- name -> value as nml packs it; `from_python` overrides what nml gives back where the Lua
-- value differs (bin comes back as a string, uint64 beyond int64 as a float).
local corpus = {
  { "nil", nil }, { "true", true }, { "false", false },
  { "int_0", 0 }, { "int_127", 127 }, { "int_128", 128 }, { "int_255", 255 }, { "int_256", 256 },
  { "int_65535", 65535 }, { "int_65536", 65536 }, { "int_2p32m1", int(2 ^ 32 - 1) },
  { "int_2p32", int(2 ^ 32) }, { "int_2p53", int(2 ^ 53) }, { "int_m1", -1 }, { "int_m32", -32 },
  { "int_m33", -33 }, { "int_m128", -128 }, { "int_m129", -129 }, { "int_m32768", -32768 },
  { "int_m32769", -32769 }, { "int_m2p31", int(-(2 ^ 31)) }, { "int_m2p31m1", int(-(2 ^ 31) - 1) },
  { "int_m2p53", int(-(2 ^ 53)) },
  { "float_1_5", 1.5 }, { "float_m0_25", -0.25 }, { "float_0_1", 0.1 },
  { "float_pi", 3.141592653589793 }, { "float_1e300", 1e300 }, { "float_m1em300", -1e-300 },
  { "float_inf", math.huge }, { "float_minf", -math.huge },
  { "str_empty", "" }, { "str_ascii", "ascii" }, { "str_unicode", "héllo wörld 日本語 🎉" },
  { "str_1000", string.rep("x", 1000) }, { "str_70000", string.rep("y", 70000) },
  { "bin", nml.bin "\0\1\254\255", from_python = "\0\1\254\255" },
  { "bin_300", nml.bin(table.concat(range(0, 255, string.char)) .. string.rep("\0", 44)),
    from_python = table.concat(range(0, 255, string.char)) .. string.rep("\0", 44) },
  { "array_empty", {} }, { "map_empty", nml.map {} },
  { "array_nil", { 1, nml.null, 3 } }, { "map_nil", { a = nml.null, b = 2 } },
  { "map_int_keys", { [1] = "a", [10] = "b" } },
  { "array_1000", range(0, 999, function(i) return i end) },
  { "map_100", map_of(100) }, { "map_70000", map_of(70000) },
  { "request", { id = 12345, command = "predict",
    args = { signature = "question -> answer", inputs = { question = "What is DSPy?" } },
    timestamp = "2024-01-15T10:30:00Z" } },
  { "records", range(1, 100, function(i)
    return { id = i, name = "user" .. i, score = i * 1.5, tags = { "a", "b" }, active = (i % 2 == 0) }
  end) },
  { "nested", { { { { { deep = { 1, { 2, { 3, { x = {} } } } } } } } } } },
  { "ext_5", nml.ext(5, "abc") }, { "ext_99_16", nml.ext(99, "0123456789abcdef") },
}
if helper.has_int64 then
  corpus[#corpus + 1] = { "int64_max", math.maxinteger }
  corpus[#corpus + 1] = { "int64_min", math.mininteger }
elseif helper.int64 then
  corpus[#corpus + 1] = { "int64_max", helper.int64 "9223372036854775807LL" }
  corpus[#corpus + 1] = { "int64_min", helper.int64 "-9223372036854775807LL - 1" }
end
-- Python only: Lua has no integer beyond int64 (LuaJIT's FFI has), so nml cannot pack this one.
local python_only = { { "uint64_max", nil, from_python = helper.int64 and helper.int64 "18446744073709551615ULL"
  or 18446744073709551615.0 } }

local function names_of(cases)
  local names = {}
  for i, case in ipairs(cases) do names[i] = case[1] end
  return table.concat(names, " ")
end

local write = helper.write_file

local read = helper.read_file

-- Every case, nml's and Python's only, as Python's msgpack packs them one after another.
local function packed_by_python()
  local cases = {}
  for _, c in ipairs(corpus) do cases[#cases + 1] = c end
  for _, c in ipairs(python_only) do cases[#cases + 1] = c end
  local path = os.tmpname()
  local out, ok = helper.run(peer .. " pack " .. path .. " " .. names_of(cases))
  assert(ok, out)
  local data = read(path)
  os.remove(path)
  return cases, data
end

describe("MessagePack interop with Python's msgpack", function()
  it("nml's bytes decode in Python to the same values", function()
    local parts = {}
    for i, case in ipairs(corpus) do parts[i] = nml.pack(case[2]) end
    local path = os.tmpname()
    write(path, table.concat(parts))
    local loose = helper.has_int64 and "" or " --loose-numbers"
    local out, ok = helper.run(peer .. loose .. " check " .. path .. " " .. names_of(corpus))
    os.remove(path)
    assert(ok, out)
    assert.matches("checked " .. #corpus .. " values, 0 mismatches", out)
  end)

  it("Python's bytes unpack in nml to the same values", function()
    local cases, data = packed_by_python()
    local offset = 0
    for _, case in ipairs(cases) do
      local value, next_offset = nml.unpack_one(data, offset)
      assert(next_offset, value)
      local expected = case[2]
      if case.from_python ~= nil then expected = case.from_python end
      local same_ok, why = pcall(helper.assert_same, expected, value)
      assert(same_ok, case[1] .. ": " .. tostring(why))
      offset = next_offset
    end
    assert.are.equal(#data, offset)
  end)

  it("Python's bytes, cut at random, come out of nml.unpacker value by value", function()
    local cases, data = packed_by_python()
    math.randomseed(16)
    for _, largest in ipairs({ 1, 7, 64, 4096, 100000 }) do
      local u, got, at = nml.unpacker(), {}, 1
      while at <= #data do
        local n = math.random(1, largest)
        assert(u:feed(data:sub(at, at + n - 1)))
        at = at + n
        for value in u:values() do got[#got + 1] = value end
      end
      assert.are.equal(#cases, #got, "pieces up to " .. largest)
      assert.are.equal(0, u:pending())
      for i, case in ipairs(cases) do
        local expected = case[2]
        if case.from_python ~= nil then expected = case.from_python end
        if expected == nil then expected = nml.null end -- a value on its own: never nil
        local same_ok, why = pcall(helper.assert_same, expected, got[i])
        assert(same_ok, case[1] .. " (pieces up to " .. largest .. "): " .. tostring(why))
      end
    end
  end)
end)
