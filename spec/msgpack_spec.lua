local helper = require "helper"
local nml = helper.nml
local hex, unhex = helper.hex, helper.unhex

local function packs_to(value, bytes_hex)
  assert.are.equal(bytes_hex, hex(nml.pack(value)))
end

describe("nml.pack / nml.unpack: Lua to MessagePack", function()
  it("packs nil, booleans and nml.null", function()
    packs_to(nil, "c0")
    packs_to(true, "c3")
    packs_to(false, "c2")
    packs_to(nml.null, "c0")
  end)

  it("packs integers in the smallest format", function()
    local cases = {
      { 0, "00" }, { 1, "01" }, { 127, "7f" }, { 128, "cc80" }, { 255, "ccff" },
      { 256, "cd0100" }, { 65535, "cdffff" }, { 65536, "ce00010000" },
      { 4294967295, "ceffffffff" }, { 4294967296, "cf0000000100000000" },
      { -1, "ff" }, { -32, "e0" }, { -33, "d0df" }, { -128, "d080" }, { -129, "d1ff7f" },
      { -32768, "d18000" }, { -32769, "d2ffff7fff" }, { -2147483648, "d280000000" },
      { -2147483649, "d3ffffffff7fffffff" },
      { 2 ^ 53, "cf0020000000000000" }, { -(2 ^ 53), "d3ffe0000000000000" },
    }
    for _, case in ipairs(cases) do
      local v = case[1]
      if helper.has_int64 then v = math.tointeger(v) end
      packs_to(v, case[2])
    end
  end)

  if helper.has_int64 then
    it("packs the int64 extremes exactly", function()
      packs_to(math.maxinteger, "cf7fffffffffffffff")
      packs_to(math.mininteger, "d38000000000000000")
      assert.are.equal(math.maxinteger, helper.roundtrip(math.maxinteger))
      assert.are.equal(math.mininteger, helper.roundtrip(math.mininteger))
    end)

    it("packs floats as float 64 even when integral (Lua 5.3+ keeps the subtype)", function()
      packs_to(1.0, "cb3ff0000000000000")
      assert.are.equal("float", math.type(helper.roundtrip(1.0)))
      assert.are.equal("integer", math.type(helper.roundtrip(1)))
    end)
  else
    it("packs integral doubles within 2^53 as integers and beyond as float 64", function()
      packs_to(3.0, "03")
      packs_to(2 ^ 53 + 2, "cb4340000000000001")
      packs_to(-0.0, "cb8000000000000000")
    end)
  end

  it("packs other numbers as float 64", function()
    packs_to(1.5, "cb3ff8000000000000")
    packs_to(-0.25, "cbbfd0000000000000")
    packs_to(math.huge, "cb7ff0000000000000")
    packs_to(-math.huge, "cbfff0000000000000")
    local nan = helper.roundtrip(0 / 0)
    assert.is_true(nan ~= nan)
  end)

  it("packs float 32 on request", function()
    nml.config { float32 = true }
    local ok, packed = pcall(nml.pack, 1.5)
    nml.config { float32 = false }
    assert.is_true(ok)
    assert.are.equal("ca3fc00000", hex(packed))
    assert.are.equal(1.5, nml.unpack(packed))
  end)

  it("packs UTF-8 strings as str and others as bin (strings = \"str\": all as str), bytes as they are", function()
    packs_to("", "a0")
    packs_to("abc", "a3616263")
    packs_to("h\195\169", "a368c3a9")
    packs_to("\255\0\254", "c403ff00fe")
    nml.config { strings = "str" }
    local as_str = hex(nml.pack("\255\0\254"))
    nml.config { strings = "auto" }
    assert.are.equal("a3ff00fe", as_str)
    assert.are.equal("d920", hex(nml.pack(string.rep("x", 32))):sub(1, 4))
    assert.are.equal("da0100", hex(nml.pack(string.rep("x", 256))):sub(1, 6))
    assert.are.equal("db00010000", hex(nml.pack(string.rep("x", 65536))):sub(1, 10))
    for _, s in ipairs { "", "héllo", "\0\1\2\255", string.rep("z", 70000) } do
      assert.are.equal(s, helper.roundtrip(s))
    end
  end)

  it("packs tables with keys 1..n as arrays, others as maps", function()
    packs_to({ 1, 2, 3 }, "93010203")
    packs_to({ a = 1 }, "81a16101")
    packs_to({ [2] = "b", [1] = "a" }, "92a161a162")
    assert.are.equal("82", hex(nml.pack({ [1] = 1, [3] = 3 })):sub(1, 2))
    assert.are.equal("82", hex(nml.pack({ 1, x = 2 })):sub(1, 2))
    assert.are.equal("81", hex(nml.pack({ [0] = 1 })):sub(1, 2))
    assert.are.equal("81", hex(nml.pack({ [1.5] = 1 })):sub(1, 2))
    assert.are.equal("81", hex(nml.pack({ ["1"] = 1 })):sub(1, 2))
    -- an array whose elements were stored in reverse still has keys exactly 1..n
    local t = {}
    for i = 20, 1, -1 do t[i] = i end
    assert.are.equal("dc0014", hex(nml.pack(t)):sub(1, 6))
    helper.assert_same(t, helper.roundtrip(t))
  end)

  it("uses array16/array32 and map16/map32 headers", function()
    local arr, map, big = {}, {}, {}
    for i = 1, 16 do arr[i] = i; map["k" .. i] = i end
    for i = 1, 70000 do big["k" .. i] = i end
    assert.are.equal("dc0010", hex(nml.pack(arr)):sub(1, 6))
    assert.are.equal("de0010", hex(nml.pack(map)):sub(1, 6))
    assert.are.equal("df00011170", hex(nml.pack(big)):sub(1, 10))
    helper.assert_same(map, helper.roundtrip(map))
    helper.assert_same(big, helper.roundtrip(big))
    local long = {}
    for i = 1, 70000 do long[i] = i % 7 end
    assert.are.equal("dd00011170", hex(nml.pack(long)):sub(1, 10))
    helper.assert_same(long, helper.roundtrip(long))
  end)

  it("packs an empty table as an array and nml.map{} as a map", function()
    packs_to({}, "90")
    packs_to(nml.map {}, "80")
    packs_to(nml.array {}, "90")
    packs_to(nml.map { 1, 2 }, "820101" .. "0202")
  end)

  it("packs nml.array with holes as nil", function()
    packs_to(nml.array { 1, nml.null, 3 }, "9301c003")
    local t = nml.array {}
    t[1] = 1
    t[2] = 2
    packs_to(t, "920102")
  end)

  it("keeps an unpacked empty map a map", function()
    local m = nml.unpack(unhex "80")
    assert.are.equal(getmetatable(nml.map {}), getmetatable(m))
    assert.are.equal("80", hex(nml.pack(m)))
    assert.are.equal("90", hex(nml.pack(nml.unpack(unhex "90"))))
    assert.are.equal("81a1618090", hex(nml.pack(nml.unpack(unhex "81a1618090"))):sub(1, 10))
  end)

  it("packs nml.bin as bin and nml.ext as ext", function()
    packs_to(nml.bin "", "c400")
    packs_to(nml.bin "ab", "c4026162")
    assert.are.equal("c50100", hex(nml.pack(nml.bin(string.rep("x", 256)))):sub(1, 6))
    assert.are.equal("c6000100", hex(nml.pack(nml.bin(string.rep("x", 65536)))):sub(1, 8))
    packs_to(nml.ext(5, "a"), "d40561")
    packs_to(nml.ext(-1, "abcd"), "d6ff61626364")
    packs_to(nml.ext(7, "abc"), "c7030761626" .. "3")
    local e = nml.unpack(nml.pack(nml.ext(7, "xyz")))
    assert.are.equal(7, e.type)
    assert.are.equal("xyz", e.data)
    assert.are.equal(getmetatable(nml.ext(1, "")), getmetatable(e))
  end)

  it("packs several values one after the other, and unpacks them all", function()
    local packed = nml.pack(1, "two", { 3 })
    assert.are.equal("01a374776f9103", hex(packed))
    local a, b, c = nml.unpack(packed)
    assert.are.equal(1, a)
    assert.are.equal("two", b)
    assert.are.equal(3, c[1])
  end)

  it("unpacks one object at a time with 0-based offsets", function()
    local packed = nml.pack("a", { 1, 2 }, true)
    local v, off = nml.unpack_one(packed)
    assert.are.equal("a", v)
    assert.are.equal(2, off)
    v, off = nml.unpack_one(packed, off)
    helper.assert_same({ 1, 2 }, v)
    v, off = nml.unpack_one(packed, off)
    assert.are.equal(true, v)
    assert.are.equal(#packed, off)
    local none, err, code = nml.unpack_one(packed, off)
    assert.is_nil(none)
    assert.matches("no data", err)
    assert.are.equal("malformed", code)
    local rest = { nml.unpack(packed, 2) }
    assert.are.equal(2, #rest)
  end)

  it("measures the exact packed size without packing", function()
    local values = {
      { 1, "x", { a = { 1, 2, 3 }, b = nml.map {} } },
      { string.rep("s", 300), 1.5, -70000 },
    }
    local big = {}
    for i = 1, 40 do big["key" .. i] = { i, "v" .. i } end
    values[#values + 1] = { big }
    for _, args in ipairs(values) do
      assert.are.equal(#nml.pack((table.unpack or unpack)(args)), nml.packsize((table.unpack or unpack)(args)))
    end
  end)
end)

describe("nml.unpack: MessagePack to Lua", function()
  it("unpacks every integer format", function()
    local cases = {
      { "00", 0 }, { "7f", 127 }, { "ff", -1 }, { "e0", -32 }, { "cc80", 128 }, { "cdffff", 65535 },
      { "ceffffffff", 4294967295 }, { "d080", -128 }, { "d18000", -32768 }, { "d280000000", -2147483648 },
      { "cf0020000000000000", 2 ^ 53 }, { "d3ffe0000000000000", -(2 ^ 53) },
    }
    for _, case in ipairs(cases) do
      local v = nml.unpack(unhex(case[1]))
      if helper.has_int64 then
        assert.are.equal("integer", math.type(v))
        assert.are.equal(math.tointeger(case[2]), v)
      else
        assert.are.equal(case[2], v)
      end
    end
  end)

  it("unpacks uint64 beyond int64 to a float (on LuaJIT, a uint64_t cdata)", function()
    local v = nml.unpack(unhex "cfffffffffffffffff")
    if helper.int64 then
      helper.assert_same(helper.int64 "18446744073709551615ULL", v)
      return
    end
    assert.are.equal(18446744073709551615.0, v)
    if helper.has_int64 then assert.are.equal("float", math.type(v)) end
  end)

  it("unpacks float 32 and float 64", function()
    assert.are.equal(1.5, nml.unpack(unhex "ca3fc00000"))
    assert.are.equal(-0.25, nml.unpack(unhex "cbbfd0000000000000"))
  end)

  it("unpacks str and bin to strings", function()
    assert.are.equal("abc", nml.unpack(unhex "a3616263"))
    assert.are.equal("abc", nml.unpack(unhex "d903616263"))
    assert.are.equal("abc", nml.unpack(unhex "c403616263"))
    assert.are.equal("abc", nml.unpack(unhex "c50003616263"))
    assert.are.equal("abc", nml.unpack(unhex "c600000003616263"))
  end)

  it("unpacks nil to nil at the top and to nml.null inside tables", function()
    assert.is_nil(nml.unpack(unhex "c0"))
    local arr = nml.unpack(unhex "93c001c0")
    assert.are.equal(3, #arr)
    assert.are.equal(nml.null, arr[1])
    assert.are.equal(nml.null, arr[3])
    local map = nml.unpack(unhex "81a161c0")
    assert.are.equal(nml.null, map.a)
  end)

  it("unpacks every fixext and ext size", function()
    for _, n in ipairs { 1, 2, 4, 8, 16, 3, 300, 70000 } do
      local e = nml.unpack(nml.pack(nml.ext(42, string.rep("e", n))))
      assert.are.equal(42, e.type)
      assert.are.equal(n, #e.data)
    end
  end)

  it("unpacks nested structures of every kind", function()
    local v = {
      id = 12345, command = "predict",
      args = { signature = "question -> answer", inputs = { question = "What is DSPy?" } },
      list = { 1, 2.5, "three", { true, false }, nml.null }, empty = {},
    }
    helper.assert_same(v, helper.roundtrip(v))
  end)

  -- Short keys come from a cache of 256 slots (src/msgpack/keys.rs): many keys of every length
  -- share slots and evict each other, and each must still come back as itself.
  it("gives every key back as itself, with more keys than the key cache holds", function()
    local keys = {}
    for n = 0, 40 do
      for i = 1, 30 do
        local k = string.rep(string.char(96 + i % 26), n)
        keys[#keys + 1] = n > 0 and k:sub(1, -2) .. string.char(i) or ""
      end
    end
    local t = {}
    for i, k in ipairs(keys) do t[k] = i end
    local packed = nml.pack(t)
    for _ = 1, 3 do
      local back = nml.unpack(packed)
      collectgarbage()
      for k, v in pairs(t) do assert.are.equal(v, back[k]) end
      for k, v in pairs(back) do assert.are.equal(t[k], v) end
    end
  end)
end)

describe("bad values raise clear errors", function()
  it("names the function and where a value cannot be packed", function()
    local ok, err = pcall(nml.pack, { a = { 1, print } })
    assert.is_false(ok)
    assert.matches("nml.pack: cannot pack a function value %(at value.a%[2%]%)", err)
    ok, err = pcall(nml.pack, { coroutine.create(function() end) })
    assert.matches("cannot pack a thread", err)
  end)

  it("refuses a full userdata outside a buffer descriptor (not silence)", function()
    local ok, err = pcall(nml.pack, { out = io.stdout })
    assert.is_false(ok)
    assert.matches("cannot pack a userdata outside a buffer descriptor", err)
  end)

  it("detects cycles", function()
    local t = { a = {} }
    t.a.b = t
    local ok, err = pcall(nml.pack, t)
    assert.is_false(ok)
    assert.matches("contains itself", err)
    -- a table used twice, not in a cycle, is fine
    local shared = { 1 }
    helper.assert_same({ shared, shared }, helper.roundtrip({ shared, shared }))
  end)

  it("limits nesting depth (default 512, settable)", function()
    assert.are.equal(512, nml.config().max_depth)
    local function nest(n)
      local t = {}
      for _ = 2, n do t = { t } end
      return t
    end
    assert.is_true(pcall(nml.pack, nest(512)))
    local ok, err = pcall(nml.pack, nest(513))
    assert.is_false(ok)
    assert.matches("nested deeper than 512", err)
    nml.config { max_depth = 1000 }
    local packed = nml.pack(nest(1000))
    local v = nml.unpack(packed)
    assert.are.equal("table", type(v))
    nml.config { max_depth = 512 }
    local none, msg, code = nml.unpack(packed)
    assert.is_nil(none)
    assert.matches("nesting deeper than 512", msg)
    assert.are.equal("malformed", code)
  end)

  it("packs and unpacks nesting up to the highest max_depth, and refuses one level more", function()
    -- The ceiling (the manual's "The codec"): 10000, and 3000 on Lua 5.1 and LuaJIT, whose C
    -- functions have 8000 stack slots (LUAI_MAXCSTACK) and an unpacked map holds two a level.
    local ceiling = (jit or _VERSION == "Lua 5.1") and 3000 or 10000
    local before = nml.config().max_depth
    local refused, why = pcall(nml.config, { max_depth = ceiling + 1 })
    assert.is_false(refused)
    assert.matches("max_depth must be an integer from 1 to " .. ceiling, why)
    nml.config { max_depth = ceiling }
    -- A map, an array and the two by turns, n levels deep: as a table, and as bytes (n
    -- levels around an empty array, n even for the two by turns).
    local function nest(kind, n)
      local t = {}
      for i = 2, n do t = (kind == "map" or kind == "mixed" and i % 2 == 0) and { k = t } or { t } end
      return t
    end
    local function bytes(kind, n)
      local map, array = "\129\161k", "\145"
      if kind == "mixed" then return string.rep(array .. map, n / 2) .. "\144" end
      return string.rep(kind == "map" and map or array, n) .. "\144"
    end
    for _, kind in ipairs { "map", "array", "mixed" } do
      local packed = nml.pack(nest(kind, ceiling))
      if kind ~= "mixed" then assert.are.equal(bytes(kind, ceiling - 1), packed) end
      assert.are.equal("table", type(nml.unpack(packed)), kind)
      assert.are.equal("table", type(nml.unpack(bytes(kind, kind == "mixed" and ceiling - 2 or ceiling - 1))))
      local ok, err = pcall(nml.pack, nest(kind, ceiling + 1))
      assert.is_false(ok)
      assert.matches("nested deeper than " .. ceiling, err)
      local none, msg, code = nml.unpack(bytes(kind, ceiling + 2))
      assert.is_nil(none)
      assert.matches("nesting deeper than " .. ceiling, msg)
      assert.are.equal("malformed", code)
    end
    -- Where other values already fill the Lua stack, a deep map that no longer fits is
    -- nil, message, "too_large" (valid bytes past a limit), never a raised "stack overflow".
    local r = { pcall(nml.unpack, string.rep("\0", 2500) .. bytes("map", ceiling - 1)) }
    assert.is_true(r[1], r[2])
    if r[2] == nil then
      assert.matches("too deep for the Lua stack", r[3])
      assert.are.equal("too_large", r[4])
    else
      assert.are.equal(2501, #r - 1)
    end
    nml.config { max_depth = before }
  end)

  it("says what integers beyond 2^53 unpack as (int64), and takes back what it says", function()
    local now = nml.config()
    local expected = helper.has_int64 and "integer" or helper.int64 and "cdata" or "number"
    assert.are.equal(expected, now.int64)
    assert.are.equal(expected, nml.config(now).int64)
    assert.has_error(function() nml.config { int64 = "double" } end)
    if helper.int64 then
      assert.are.equal("number", nml.config({ int64 = "number" }).int64)
      assert.are.equal(2 ^ 60, nml.unpack(unhex "cf1000000000000000"))
      assert.are.equal("cdata", nml.config({ int64 = "cdata" }).int64)
      helper.assert_same(helper.int64 "1152921504606846976LL", nml.unpack(unhex "cf1000000000000000"))
    else
      assert.has_error(function() nml.config { int64 = "cdata" } end)
    end
  end)

  it("raises on misuse of its arguments", function()
    assert.has_error(function() nml.pack() end, "bad argument #1 to 'pack' (value expected)")
    assert.has_error(function() nml.unpack(42) end,
      "bad argument #1 to 'unpack' (string or nml message expected, got number)")
    assert.has_error(function() nml.unpack("\1", "5") end)
    assert.has_error(function() nml.unpack("\1", 0.5) end)
    assert.has_error(function() nml.config { max_depth = 0 } end)
    assert.has_error(function() nml.config { max_depth = 1e9 } end)
    assert.has_error(function() nml.ext(300, "") end)
    assert.has_error(function() nml.map(io.stdout) end)
    assert.has_error(function() nml.map(setmetatable({}, {})) end)
  end)
end)

describe("bad bytes give nil, message, 'malformed'", function()
  local function malformed(bytes, pattern)
    local v, err, code = nml.unpack(bytes)
    assert.is_nil(v)
    assert.are.equal("malformed", code)
    if pattern then assert.matches(pattern, err) end
  end

  it("rejects a truncated buffer", function()
    local packed = nml.pack({ a = { 1, 2, "three" }, b = 1.5 })
    for cut = 1, #packed - 1 do
      malformed(packed:sub(1, cut))
    end
    malformed("", "no data")
    malformed(unhex "cd01", "truncated: needs 2 bytes, only 1 left")
  end)

  it("rejects a length claiming more than the data holds, before allocating", function()
    malformed(unhex "dbffffffff61", "at byte 5: truncated: needs 4294967295 bytes, only 1 left")
    malformed(unhex "ddffffffff", "claims 4294967295 entries but only 0 bytes are left")
    malformed(unhex "dfffffffff01", "claims 4294967295 entries")
    malformed(unhex "c9ffffffff01", "truncated")
    malformed(unhex "c6fffffff0", "truncated")
  end)

  -- A map's entries are its keys' and values' bytes, at least 2 each; one key repeated makes a
  -- table of one entry. Sized for the entries it claims, it held 192 MiB for 16 MiB of input.
  it("does not size a map for more entries than it keeps, when one key repeats", function()
    local n = 4 * 1024 * 1024
    local bytes = "\223" .. string.char(0, 64, 0, 0) .. string.rep("\1\1", n) -- 0xdf, 2^22 entries
    collectgarbage()
    collectgarbage()
    local before = collectgarbage("count")
    local map = assert(nml.unpack(bytes))
    collectgarbage()
    local grew = collectgarbage("count") - before
    assert.are.equal(1, map[1])
    assert.is_nil(next(map, next(map)))
    assert.is_true(grew < 8 * 1024, string.format("a 1-entry map kept %.0f KiB", grew))
  end)

  it("rejects 0xC1 with its offset", function()
    malformed(unhex "c1", "at byte 0: invalid byte 0xc1")
    malformed(unhex "9201c1", "at byte 2: invalid byte 0xc1")
  end)

  it("rejects nesting past the limit", function()
    malformed(string.rep("\145", 600) .. "\192", "at byte 512: nesting deeper than 512")
  end)

  it("says valid values past the Lua stack's room are too many, not malformed", function()
    -- a C function has 8000 stack slots on 5.1 and LuaJIT, about a million on 5.2 and later
    local n = (_VERSION == "Lua 5.1") and 9000 or 1100000
    local v, err, code = nml.unpack(string.rep("\145\1", n)) -- n arrays [1], one after another
    assert.is_nil(v)
    assert.are.equal("too_large", code)
    assert.matches("too many values for the Lua stack: unpack them one at a time", err, 1, true)
  end)

  it("rejects a NaN map key", function()
    malformed(unhex "81cb7ff800000000000001", "NaN")
  end)

  it("rejects trailing garbage where one object is expected", function()
    local v, err, code = nml.decode(nml.pack({ 1 }) .. "\1", "msgpack")
    assert.is_nil(v)
    assert.are.equal("malformed", code)
    assert.matches("1 trailing bytes", err)
  end)

  it("survives random and mutated input without crashing or hanging", function()
    math.randomseed(42)
    local seed = nml.pack({ id = 1, name = "n", list = { 1, 2.5, "x", { y = true } }, bin = nml.bin "\0\1" })
    for _ = 1, 3000 do
      local bytes = {}
      for i = 1, math.random(1, 40) do bytes[i] = string.char(math.random(0, 255)) end
      pcall(nml.unpack, table.concat(bytes))
      local pos = math.random(1, #seed)
      local mutated = seed:sub(1, pos - 1) .. string.char(math.random(0, 255)) .. seed:sub(pos + 1)
      local ok, v, err, code = pcall(nml.decode, mutated, "msgpack")
      assert.is_true(ok) -- never raises on bad bytes
      if v == nil and err then assert.are.equal("malformed", code) end
    end
  end)
end)
