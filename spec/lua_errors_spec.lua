-- A Lua error raised inside an nml call (a finalizer, a string too long, memory running out)
-- reaches the caller as a Lua error: the process lives, nothing leaks, and nml still works.
local helper = require "helper"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local luajit = helper.lua:find("luajit", 1, true) ~= nil

local function run(case, codec)
  local cmd = string.format("NML_CODEC=%s LUA_CPATH='%s;;' %s %s/support/lua_errors.lua %s",
    codec or os.getenv("NML_CODEC") or "auto", helper.cpath, helper.lua, here, case)
  local out, ok = helper.run(cmd)
  assert(ok, case .. " failed:\n" .. out)
  assert.matches("ok ", out)
  return out
end

describe("a Lua error inside an nml call", function()
  -- On LuaJIT the Lua codec runs as compiled code, and LuaJIT 2.1 before the fix of its pull
  -- request #946 crashes when a finalizer raises during a garbage collection step taken by
  -- compiled code, whoever's the code (a pure Lua loop building tables crashes alike). There
  -- these cases run with the Rust codec.
  local codec = luajit and "rust" or nil
  it("from a finalizer during unpack of a string", function() run("gc_unpack", codec) end)
  it("from a finalizer during unpack of a message", function() run("gc_unpack_message", codec) end)
  it("from a finalizer during pack", function() run("gc_pack", codec) end)
  it("from a finalizer during recv, leaking no message", function() run("gc_recv", codec) end)
  if luajit then
    pending("from a finalizer with LuaJIT's Lua codec (a raising finalizer in compiled code "
      .. "crashes LuaJIT before its PR #946)")
  end

  if luajit then
    it("for a string longer than LuaJIT allows", function() run "too_long" end)
  else
    pending("for a string longer than the interpreter allows (LuaJIT only: the others hold 2 GiB strings)")
  end

  if luajit then
    pending("when memory runs out part way (not on LuaJIT: its 64-bit build cannot change allocator)")
  else
    it("when memory runs out part way", function() run "memory" end)
  end
end)

describe("memory nml's Rust side asks for", function()
  if luajit then
    pending("runs out as an error, not an abort (not on LuaJIT: with all but a few MiB taken, its own "
      .. "allocator fails first, outside the calls under test)")
    return
  end
  it("runs out as an error to return, not an abort (an address-space limit)", function()
    local cmd = string.format("ulimit -v 600000; LUA_CPATH='%s;;' %s %s/support/lua_errors.lua rust_memory",
      helper.cpath, helper.lua, here)
    local out, ok = helper.run(cmd)
    assert(ok, out)
    assert.matches("ok feed, json, pack ran out of memory", out, 1, true)
  end)
end)

describe("an nml function whose module upvalue the debug library replaced", function()
  local g = require("nml").packsize
  if _VERSION == "Lua 5.1" and not luajit then
    it("cannot happen on Lua 5.1, whose debug library leaves C functions' upvalues alone", function()
      assert.is_nil(debug.getupvalue(g, 1))
    end)
    return
  end

  it("raises instead of reading the wrong value as its state", function()
    local name, saved = debug.getupvalue(g, 1)
    assert.equals("", name)
    debug.setupvalue(g, 1, setmetatable({}, {}))
    local ok, err = pcall(g, { 1, 2, 3 })
    debug.setupvalue(g, 1, saved)
    assert.is_false(ok)
    assert.matches("upvalue 1 of this function is not nml's state", err)
    debug.setupvalue(g, 1, io.stdout)
    ok, err = pcall(g, { 1 })
    debug.setupvalue(g, 1, saved)
    assert.is_false(ok)
    assert.matches("not nml's state", err)
    assert.equals(4, g({ 1, 2, 3 }))
  end)

  it("works on, or raises, when the marker or key tables are replaced, and never reads them as tables", function()
    local nml = require "nml"
    -- C functions (LuaJIT's nml.unpack is Lua there, so nml.decode, the Rust codec's, stands in)
  local unpack = debug.getinfo(nml.unpack, "S").what == "C" and nml.unpack or nml.decode
  local map = nml.map
    local packed = nml.pack({ name = "x", list = {}, empty = nml.map() })
    -- where an upvalue sits: the key cache is the last, the map marker is named nml.map
    local function find(f, is)
      local i = 1
      while debug.getupvalue(f, i) do
        local _, v = debug.getupvalue(f, i)
        if is(v, i, debug.getupvalue(f, i + 1) == nil) then return i, v end
        i = i + 1
      end
      error("no such upvalue")
    end
    local function is_map(v) return type(v) == "table" and v.__name == "nml.map" end
    local KEYS, keys = find(unpack, function(_, _, last) return last end)
    local MAP, marker = find(unpack, is_map)
    assert.are.equal(MAP, (find(map, is_map)))
    debug.setupvalue(unpack, KEYS, 42)              -- the key cache's table
    local t = unpack(packed)
    assert.equals("x", t.name)
    debug.setupvalue(unpack, MAP, "not a table")    -- the map marker, for the empty map
    local ok, v, err = pcall(unpack, packed) -- decode returns nil, message where unpack raises
    assert.is_nil(ok and v or nil)
    assert.matches("marker metatable upvalue is not a table", ok and err or v)
    debug.setupvalue(map, MAP, io.stdout)
    ok, err = pcall(map, {})
    assert.is_false(ok)
    assert.matches("marker metatable upvalue is not a table", err)
    debug.setupvalue(unpack, KEYS, keys)
    debug.setupvalue(unpack, MAP, marker)
    debug.setupvalue(map, MAP, marker)
    assert.same({}, map {})
    assert.equals("x", unpack(packed).name)
  end)
end)
