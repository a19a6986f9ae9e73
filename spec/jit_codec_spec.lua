-- LuaJIT's two MessagePack codecs (the manual's "LuaJIT"): the Lua one must write the bytes
-- the Rust one writes and read what it reads, and leave to it what it does not take.
local helper = require "helper"
local nml = helper.nml

local on_luajit = jit ~= nil

local unpack = unpack or table.unpack
local function pack_n(...) return { n = select("#", ...), ... } end

-- The values given, as text (NaN included, which no two values equal).
local function show(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
  return table.concat(parts, ", ")
end

-- Runs f with nml.config{codec = path}, then puts the setting back.
local function with_codec(path, f, ...)
  local before = nml.config().codec
  nml.config { codec = path }
  local results = pack_n(pcall(f, ...))
  nml.config { codec = before }
  assert(results[1], results[2])
  return unpack(results, 2, results.n)
end

-- The two codecs side by side on random values and bytes (also `make soak-jit`).
local differential = require "support.differential"

describe("LuaJIT's Lua codec", function()
  if not on_luajit then
    it("is LuaJIT's only (this interpreter has the Rust codec alone)", function()
      assert.are.equal("rust", nml.config().codec)
      local ok, err = pcall(nml.config, { codec = "lua" })
      assert.is_false(ok)
      assert.matches("needs LuaJIT", err)
    end)
    return
  end

  it("packs strings as the Rust codec does with strings = \"auto\": str for UTF-8, bin for others", function()
    math.randomseed(27)
    local pieces = { "a", "\195\169", "\226\130\172", "\240\159\152\128", "\255", "\192\128", "\237\160\128" }
    for _ = 1, 2000 do
      local parts = {}
      for i = 1, math.random(0, 40) do parts[i] = pieces[math.random(#pieces)] end
      local s = table.concat(parts)
      if math.random() < 0.1 then s = string.rep(s, 200) end -- past 4 KiB: a string alone
      local value = { [s] = s, list = { s } }
      nml.config { codec = "lua" }
      local lua_bytes, alone = nml.pack(value), nml.pack(s)
      nml.config { codec = "rust" }
      assert.are.equal(nml.pack(value), lua_bytes, helper.hex(s))
      assert.are.equal(nml.pack(s), alone, helper.hex(s))
    end
    nml.config { codec = os.getenv("NML_CODEC") or "auto" }
  end)

  it("is the default (auto), and nml.pack a Lua function the JIT can trace", function()
    assert.are.equal(os.getenv("NML_CODEC") or "auto", nml.config().codec)
    assert.are.equal("Lua", debug.getinfo(nml.pack, "S").what)
    assert.are.equal("Lua", debug.getinfo(nml.unpack, "S").what)
  end)

  -- Runs script in a fresh LuaJIT with nml on its path; it must print "ok".
  local function runs_ok(script)
    local out, ok = helper.run(("LUA_CPATH='%s;;' %s -e \"%s\""):format(helper.cpath, helper.lua, script))
    assert(ok, out)
    assert.matches("^ok", out)
  end

  it("loads where an embedder removed string.dump and the debug library", function()
    local script = "debug = nil; string.dump = nil; local nml = require 'nml'; "
      .. "nml.config { codec = 'lua' }; local t = nml.unpack(nml.pack { 1.5, 2, 'x' }); "
      .. "assert(t[1] == 1.5 and t[2] == 2 and t[3] == 'x'); print('ok')"
    runs_ok(script)
  end)

  it("leaves the Rust codec alone where an embedder left the FFI out", function()
    local script = "package.loaded.ffi = nil; package.preload.ffi = function() error('no FFI') end; "
      .. "local nml = require 'nml'; assert(nml.config().codec == 'rust'); "
      .. "local ok, err = pcall(nml.config, { codec = 'lua' }); "
      .. "assert(not ok and err:find('needs LuaJIT.s FFI'), err); "
      .. "assert(debug.getinfo(nml.pack, 'S').what == 'C'); "
      .. "assert(nml.unpack(nml.pack { 1.5, 'x' })[2] == 'x'); print('ok')"
    runs_ok(script)
  end)

  it("leaves the Rust codec alone on a LuaJIT without table.new or bit (2.0, an embedder's subset)", function()
    for _, library in ipairs { "table.new", "bit" } do
      local script = ("package.loaded['%s'] = nil; package.preload['%s'] = nil; "):format(library, library)
        .. "local nml = require 'nml'; assert(nml.config().codec == 'rust', nml.config().codec); "
        .. "assert(nml.unpack(nml.pack { 1.5, 'x' })[2] == 'x'); print('ok')"
      runs_ok(script)
    end
  end)

  it("unpacks every NaN as Lua's own, whatever its sign and payload", function()
    -- LuaJIT keeps its type tags in the bits of NaNs: a negative NaN with a payload, made a
    -- Lua number as it is, reads as some other object and crashes the process. In a child
    -- process, so that a crash fails the spec instead of ending busted.
    local script = "local nml = require 'nml'; nml.config { codec = 'lua' }; "
      .. "for _, hex in ipairs { 'cbfffbe00000000000', 'cbfff0000000000001', 'cbffffffffffffffff', "
      .. "'cb7ff0000000000001', 'caffdf0000', 'caff800001', 'caffffffff', 'ca7fc00001' } do "
      .. "local data = hex:gsub('..', function(b) return string.char(tonumber(b, 16)) end); "
      .. "local v = nml.unpack(data); local t = nml.unpack(string.char(0x91) .. data); "
      .. "assert(type(v) == 'number' and v ~= v and t[1] ~= t[1], hex); "
      .. "assert(nml.pack(v) == nml.pack(0 / 0), hex) end; print('ok')"
    runs_ok(script)
  end)

  it("packs with the Lua codec from the start, before any nml.config call", function()
    -- (In a fresh process: read from the codec's own flag, as both codecs write alike.)
    runs_ok("local nml = require 'nml'; local i = 1; while true do "
      .. "local name, value = debug.getupvalue(nml.pack, i); assert(name, 'no lua_pack'); "
      .. "if name == 'lua_pack' then assert(value == true, 'lua_pack is ' .. tostring(value)) break end; "
      .. "i = i + 1 end; print('ok')")
  end)

  it("rejects a codec it does not know", function()
    local ok, err = pcall(nml.config, { codec = "fast" })
    assert.is_false(ok)
    assert.matches("codec must be", err)
  end)

  it("packs a random corpus as the Rust codec does: the same bytes or errors, the same values", function()
    -- Metatables of every shape and cdata included, and values neither codec packs.
    local seed = tonumber(os.getenv("NML_SEED")) or os.time()
    local failure = differential.values(nml, seed, 400)
    assert(failure == nil, failure)
  end)

  it("walks tables without ITERN, which Debian's LuaJIT may enter with a key as its index", function()
    -- LuaJIT issue 827 (fixed upstream in April 2022, after Debian 12's snapshot): compiled
    -- ITERN (`for k, v in next, t`, pairs) reads its index slot unchecked, and the packer runs
    -- that loop inside itself: with the JIT forced hot, a crash in compiled code. Every Lua
    -- function the codec reaches from nml.pack and nml.unpack must be free of it.
    local funcinfo, funcbc = require("jit.util").funcinfo, require("jit.util").funcbc
    local bcnames = require("jit.vmdef").bcnames
    local seen, found = {}, {}
    local function scan(f)
      if type(f) ~= "function" or seen[f] or not funcinfo(f).loc then return end
      seen[f] = true
      local pc = 1
      while true do
        local ins = funcbc(f, pc)
        if not ins then break end
        local name = bcnames:sub(ins % 256 * 6 + 1, ins % 256 * 6 + 6):gsub(" ", "")
        if name:find("ITERN") then found[#found + 1] = funcinfo(f).loc end
        pc = pc + 1
      end
      local i = 1
      while debug.getupvalue(f, i) do
        local _, up = debug.getupvalue(f, i)
        if type(up) == "table" then for _, g in pairs(up) do scan(g) end else scan(up) end
        i = i + 1
      end
    end
    scan(nml.pack)
    scan(nml.unpack)
    assert.are.same({}, found)
  end)

  it("packs a table by its own metatable, whatever __metatable says, as the Rust codec does", function()
    local map_mt, array_mt = getmetatable(nml.map()), getmetatable(nml.array())
    local cases = {
      { setmetatable({ [2] = 1 }, { __metatable = array_mt }), "810201" },
      { setmetatable({ 1, 2 }, { __metatable = map_mt }), "920102" },
      { setmetatable({ 1, 2 }, { __metatable = "locked", __index = print, __len = print }), "920102" },
      { setmetatable({ 1, 2 }, { __pairs = function() return next, { k = 1 } end }), "920102" },
    }
    for i, case in ipairs(cases) do
      assert.are.equal(case[2], helper.hex(with_codec("rust", nml.pack, case[1])), "rust, case " .. i)
      assert.are.equal(case[2], helper.hex(with_codec("lua", nml.pack, case[1])), "lua, case " .. i)
    end
    -- A marker hidden behind a __metatable of its own (put back after).
    map_mt.__metatable = "locked"
    local rust_bytes = { with_codec("rust", pcall, nml.pack, nml.map { 1 }) }
    local lua_bytes = { with_codec("lua", pcall, nml.pack, nml.map { 1 }) }
    map_mt.__metatable = nil
    assert.are.same({ true, helper.unhex "810101" }, rust_bytes)
    assert.are.same(rust_bytes, lua_bytes)
    -- Where an embedder removed the debug library: the same bytes (the Rust codec's).
    runs_ok("local nml = require 'nml'; debug = nil; nml.config { codec = 'lua' }; "
      .. "local t = setmetatable({ [2] = 1 }, { __metatable = getmetatable(nml.array()) }); "
      .. "assert(nml.pack(t) == '\\129\\2\\1'); assert(nml.pack(nml.bin 'ab') == '\\196\\2ab'); print('ok')")
  end)

  -- The markers are listed once, in Rust (nml._markers); one this codec does not pack itself
  -- must go to the Rust codec, not pack as a plain table.
  it("packs a table under every marker nml lists as the Rust codec does", function()
    local names = 0
    -- Arguments a marker's constructor may take; each marker takes at least one of them.
    local probes = { { { 1, 2, "x" } }, { { a = 1 } }, { "abc" }, { 7, "xy" }, { 12345 } }
    local name, mt = next(nml._markers)
    while name do
      names = names + 1
      assert.is_function(nml[name], "nml." .. name .. " makes the " .. name .. " marker")
      local compared = 0
      for _, probe in ipairs(probes) do
        local made, marked = pcall(nml[name], unpack(probe))
        if made then
          assert.are.equal(mt, getmetatable(marked), name)
          local function pack() return pcall(nml.pack, marked) end
          local lua_ok, lua_bytes = with_codec("lua", pack)
          local rust_ok, rust_bytes = with_codec("rust", pack)
          assert.are.same({ rust_ok, rust_bytes }, { lua_ok, lua_bytes }, name)
          if rust_ok then compared = compared + 1 end
        end
      end
      assert.is_true(compared > 0, "no probe makes a packable nml." .. name .. ": add one above")
      -- a table under the marker that its constructor would not make: raises alike, or packs alike
      local odd = setmetatable({ "abc", type = 7, data = "xy" }, mt)
      local lua_ok, lua_bytes = with_codec("lua", pcall, nml.pack, odd)
      local rust_ok, rust_bytes = with_codec("rust", pcall, nml.pack, odd)
      assert.are.equal(rust_ok, lua_ok, name)
      if rust_ok then assert.are.equal(rust_bytes, lua_bytes, name) end
      name, mt = next(nml._markers, name)
    end
    assert.is_true(names >= 4, "nml._markers lists only " .. names .. " markers")
    assert.are.equal(nml._markers.map, getmetatable(nml.map()))
  end)

  it("raises as the Rust codec does on a cdata under buffer without buffer_ud_type", function()
    local v = { buffer = helper.int64 "5LL" }
    local _, rust_err = with_codec("rust", pcall, nml.pack, v)
    local ok, lua_err = with_codec("lua", pcall, nml.pack, v)
    assert.is_false(ok)
    assert.matches("cdata under buffer needs buffer_ud_type", lua_err)
    assert.are.equal(rust_err, lua_err)
  end)

  it("packs and unpacks arrays by the kind of their first element, the rest mixed", function()
    -- The Lua codec runs a copy of its array loop per kind of first element: each copy must
    -- take every kind after it, and tables that only look like sequences.
    local rest = { 7, -3, 2.5, "s", { 1 }, { k = 1 }, true, nml.null, 2 ^ 40, -0.0 }
    local arrays = {}
    for _, first in ipairs { 1, 0.5, "first", { 2 }, false, nml.null } do
      arrays[#arrays + 1] = { first, unpack(rest) }
      local holed = { first, unpack(rest) }
      holed[3] = nil
      arrays[#arrays + 1] = holed
      arrays[#arrays + 1] = { first, first, [4] = first, x = 1 }
      -- As many entries as its border (3), one of them not in 1..3: a map. (With table.nkeys,
      -- OpenResty's LuaJIT, the count alone would call it an array.)
      arrays[#arrays + 1] = { first, nil, first, x = 1 }
    end
    -- Maps around each header size: the count is written first where table.nkeys gives it.
    for _, n in ipairs { 15, 16, 65535, 65536 } do
      local map = {}
      for i = 1, n do map["k" .. i] = i end
      arrays[#arrays + 1] = map
    end
    for i, v in ipairs(arrays) do
      local bytes = with_codec("rust", nml.pack, v)
      assert(with_codec("lua", nml.pack, v) == bytes, "array " .. i .. " packs differently")
      -- (Compared packed again by one codec: a map's key order is its table's.)
      local from_lua = with_codec("lua", nml.unpack, bytes)
      local from_rust = with_codec("rust", nml.unpack, bytes)
      assert(with_codec("rust", nml.pack, from_lua) == with_codec("rust", nml.pack, from_rust),
        "array " .. i .. " unpacks differently")
    end
  end)

  it("packs int64_t and uint64_t cdata exactly, and unpacks integers beyond ±2^53 as them", function()
    -- { the value, its bytes, what they unpack to }: within 2^53 a number, beyond a cdata,
    -- int64_t up to the int64 maximum, uint64_t above it.
    local cases = {
      { "5LL", "05", "5" }, { "-5LL", "fb", "-5" }, { "5ULL", "05", "5" },
      { "9007199254740992LL", "cf0020000000000000", "9.007199254741e+15" },
      { "9007199254740993LL", "cf0020000000000001", "9007199254740993LL" },
      { "-9007199254740993LL", "d3ffdfffffffffffff", "-9007199254740993LL" },
      { "9223372036854775807LL", "cf7fffffffffffffff", "9223372036854775807LL" },
      { "-9223372036854775807LL - 1", "d38000000000000000", "-9223372036854775808LL" },
      { "9007199254740993ULL", "cf0020000000000001", "9007199254740993LL" },
      { "18446744073709551615ULL", "cfffffffffffffffff", "18446744073709551615ULL" },
    }
    local int32 = require("ffi").new("int32_t", 3)
    for _, codec in ipairs { "lua", "rust" } do
      for _, case in ipairs(cases) do
        local bytes = with_codec(codec, nml.pack, helper.int64(case[1]))
        assert.are.equal(case[2], helper.hex(bytes), codec .. " packs " .. case[1])
        local v = with_codec(codec, nml.unpack, bytes)
        assert.are.equal(case[3], tostring(v), codec .. " unpacks " .. case[2])
        assert.are.equal(case[3]:find("LL") and "cdata" or "number", type(v))
      end
      -- A key too: kept, where rounding could merge two keys into one.
      local keys = with_codec(codec, nml.unpack, helper.unhex "82cf0020000000000001a161cf0020000000000002a162")
      local n = 0
      for k in pairs(keys) do n = n + 1; assert.are.equal("cdata", type(k)) end
      assert.are.equal(2, n)
      assert.are.equal("nml.pack: cannot pack a cdata value", select(2, with_codec(codec, pcall, nml.pack, int32)))
    end
    -- JSON keeps the same rule.
    local json = nml.encode({ helper.int64 "-9007199254740993LL", helper.int64 "18446744073709551615ULL" }, "json")
    assert.are.equal("[-9007199254740993,18446744073709551615]", json)
    local back = nml.decode(json, "json")
    assert.are.equal("-9007199254740993LL 18446744073709551615ULL", tostring(back[1]) .. " " .. tostring(back[2]))
    assert.is_false((pcall(nml.encode, int32, "json")))
  end)

  it("unpacks bytes mutated at random as the Rust codec does: the same values or errors", function()
    local seed = tonumber(os.getenv("NML_SEED")) or os.time()
    local failure = differential.bytes(nml, seed, 4000)
    assert(failure == nil, failure)
  end)

  it("unpacks every integer and float format as the Rust codec does", function()
    local cases = {
      "cc80", "cdffff", "ceffffffff", "cf0020000000000001", "cfffffffffffffffff", "d0df", "d18000",
      "d280000000", "d3ffe0000000000001", "d38000000000000000", "ca3fc00000", "ca7fc00000",
      "cb3ff8000000000000", "cbfff0000000000000", "e0", "7f",
    }
    for _, h in ipairs(cases) do
      local bytes = helper.unhex(h)
      local a = with_codec("lua", nml.unpack, bytes)
      local b = with_codec("rust", nml.unpack, bytes)
      assert(a == b or (a ~= a and b ~= b), h .. ": " .. tostring(a) .. " vs " .. tostring(b))
    end
  end)

  it("gives the Rust codec's errors, messages and codes on bad values and bad bytes", function()
    local t = {}
    t.self = t
    local bad_values = { function() end, t, { 1, coroutine.create(function() end) },
      setmetatable({ type = 300, data = "x" }, getmetatable(nml.ext(0, ""))),
      setmetatable({ type = -0.0, data = "x" }, getmetatable(nml.ext(0, ""))),
      setmetatable({}, getmetatable(nml.bin(""))), io.stdout, { [0 / 0 > 0 and 1 or "k"] = print } }
    for _, v in ipairs(bad_values) do
      local _, rust_err = with_codec("rust", pcall, nml.pack, v)
      local ok, lua_err = with_codec("lua", pcall, nml.pack, v)
      assert.is_false(ok)
      assert.are.equal(rust_err, lua_err)
    end
    local bad_bytes = { "c1", "92", "dc0002c0", "a5616263", "cb0000", "81ca7fc00000c0",
      "81cb7ff8000000000000c0", "c0c0c0" }
    for _, h in ipairs(bad_bytes) do
      local bytes = helper.unhex(h)
      assert.are.equal(show(with_codec("rust", nml.unpack_one, bytes)),
        show(with_codec("lua", nml.unpack_one, bytes)))
      assert.are.equal(show(with_codec("rust", nml.unpack, bytes, 1)), show(with_codec("lua", nml.unpack, bytes, 1)))
    end
  end)

  it("refuses a NaN map key once the JIT has compiled the map loop (LuaJIT issue 1069)", function()
    -- Compiled code before LuaJIT's fix stores a NaN key where the interpreter raises.
    local trained = nml.map()
    for i = 1, 40 do trained[i + 0.5] = i end
    local bytes = with_codec("rust", nml.pack, trained)
    for _ = 1, 200 do with_codec("lua", nml.unpack, bytes) end
    local nan_key = helper.unhex("82cb3ff800000000000001cb7ff800000000000002")
    assert.are.equal(show(with_codec("rust", nml.unpack_one, nan_key)),
      show(with_codec("lua", nml.unpack_one, nan_key)))
  end)

  it("honours max_depth, float32 and offsets as the Rust codec does", function()
    local deep = {}
    local at = deep
    for _ = 1, 20 do at[1] = {}; at = at[1] end
    local before = nml.config()
    nml.config { max_depth = 10, float32 = true }
    local ok1, e1 = with_codec("rust", pcall, nml.pack, deep)
    local ok2, e2 = with_codec("lua", pcall, nml.pack, deep)
    assert.are.same({ ok1, e1 }, { ok2, e2 })
    assert.are.equal(with_codec("rust", nml.pack, { 1.5, 0.1 }), with_codec("lua", nml.pack, { 1.5, 0.1 }))
    local packed_deep = string.rep("\145", 20) .. "\192"
    assert.are.same({ with_codec("rust", nml.unpack, packed_deep) }, { with_codec("lua", nml.unpack, packed_deep) })
    nml.config { max_depth = before.max_depth, float32 = before.float32 }
    local three = nml.pack(1, "two", { 3 })
    assert.are.same({ with_codec("rust", nml.unpack_one, three, 1) }, { with_codec("lua", nml.unpack_one, three, 1) })
    assert.are.same({ with_codec("rust", nml.unpack, three, 5) }, { with_codec("lua", nml.unpack, three, 5) })
  end)

  it("leaves buffer descriptors to the Rust codec, which copies their bytes once", function()
    local ffi = require "ffi"
    local frame = ffi.new("uint8_t[4]", { 1, 2, 3, 4 })
    local d = { buffer = frame, buffer_ud_type = "u8", buffer_ud_size = 4 }
    local bytes = with_codec("lua", nml.pack, d)
    assert.are.equal(with_codec("rust", nml.pack, d), bytes)
    local back = with_codec("lua", nml.unpack, bytes)
    assert.are.equal("\1\2\3\4", back.buffer:tostring())
  end)

  it("carries values through sockets both ways, each side on either codec", function()
    local url = helper.ipc_url()
    local a, b = nml.socket("pair"), nml.socket("pair")
    assert(a:listen(url))
    assert(b:dial(url))
    local value = { id = 7, name = "frame", scores = { 1.5, -2, 3 }, empty = nml.map {}, none = nml.null }
    for _, send_path in ipairs { "lua", "rust" } do
      for _, recv_path in ipairs { "lua", "rust" } do
        with_codec(send_path, a.send, a, value)
        local got, protocol = with_codec(recv_path, b.recv, b)
        assert.are.equal("MessagePack", protocol)
        helper.assert_same(value, got)
      end
    end
    a:close()
    b:close()
  end)
end)
