-- How `require "nml"` behaves where it is loaded: twice, and under a strict `_G`.
local helper = require "helper"


-- luarocks can leave a second copy of the library in a tree (`install --keep` keeps the old
-- version beside the new, as nml_0_1_0_1-nml.so), and any script can load a file twice under
-- two names. Two copies in one state would share the classes' metatables while each has its
-- own NNG: sockets of one were found in the other (a message went to another socket, a
-- timeout was lost and a recv hung). The second copy refuses to open.
describe("loading nml", function()
  it("a second copy of nml.so in one Lua state refuses to open, and the first goes on working", function()
    local copy = helper.tmpname() .. "-copy.so"
    assert(os.execute("cp '" .. helper.library() .. "' '" .. copy .. "'"))
    local script = helper.tmpname() .. "-two.lua"
    helper.write_file(script, string.format([[
      package.cpath = %q
      local nml = require "nml"
      local open = assert(package.loadlib(%q, "luaopen_nml"))
      print(pcall(open))
      local pull = nml.socket("pull", { recv_timeout = 100 })
      print(pull:recv())
    ]], helper.cpath, copy))
    local out, ok = helper.run("timeout 20 " .. helper.lua .. " " .. script)
    os.remove(copy)
    os.remove(script)
    assert.is_true(ok, out)
    assert.matches("^false\tanother copy of nml.so is already open in this Lua state", out)
    assert.matches("\nnil\t[^\n]*\ttimeout\n", out)
  end)

  -- strict.lua (Lua's etc/strict.lua) raises on reading or setting an undeclared global: nml's
  -- Lua parts read `jit` and `rawlen`, which some interpreters do not have.
  it("loads and works under a strict _G that raises on undeclared globals", function()
    local script = helper.tmpname() .. "-strict.lua"
    helper.write_file(script, string.format([[
      package.cpath = %q
      setmetatable(_G, {
        __index = function(_, name) error("variable '" .. tostring(name) .. "' is not declared", 2) end,
        __newindex = function(_, name) error("assign to undeclared variable '" .. tostring(name) .. "'", 2) end,
      })
      local nml = require "nml"
      assert(nml.unpack(nml.pack({ 1, { a = "b" } }))[2].a == "b")
      local a, b = nml.socket("pair", { send_buffer = 8 }), nml.socket("pair", { recv_buffer = 8 })
      local url = "inproc://strict-" .. tostring(os.time())
      assert(a:listen(url)); assert(b:dial(url))
      assert(nml.send_chunks(a, { "x", "y" }))
      local parts = {}
      for part in nml.chunks(b) do parts[#parts + 1] = part end
      assert(#parts == 2, #parts)
      local framer = nml.framer()
      assert(type(nml.serve) == "function" and type(nml.stream) == "function" and framer)
      print("strict ok")
    ]], helper.cpath))
    local out, ok = helper.run("timeout 20 " .. helper.lua .. " " .. script)
    os.remove(script)
    assert.is_true(ok, out)
    assert.matches("strict ok", out, 1, true)
  end)
  -- LuaJIT's own libraries (ffi, string.buffer, table.new, table.nkeys) are optional where
  -- nml uses them; searched for on package.path, a file in the current directory stood in
  -- for one that Debian's LuaJIT lacks: it ran, and a fake table.nkeys made maps pack wrong.
  it("never runs a file of the current directory standing in for one of LuaJIT's libraries", function()
    local dir = helper.tmpname() .. "-cwd"
    assert(os.execute("mkdir -p '" .. dir .. "/string' '" .. dir .. "/table'"))
    for _, name in ipairs { "ffi", "bit", "string/buffer", "table/new", "table/nkeys" } do
      helper.write_file(dir .. "/" .. name .. ".lua", "io.stdout:write('ran ./" .. name .. ".lua\\n')\n"
        .. "return function(t) return 0 end")
    end
    local out, ok = helper.run(string.format("cd '%s' && LUA_CPATH='%s' LUA_PATH='./?.lua' timeout 20 %s -e %q",
      dir, helper.cpath, helper.lua, "local nml = require 'nml'; local t = nml.unpack(nml.pack({ a = 1, b = 2 }))"
      .. "; print(t.a + t.b)"))
    os.execute("rm -rf '" .. dir .. "'")
    assert.is_true(ok, out)
    assert.equal("3\n", out)
  end)
end)
