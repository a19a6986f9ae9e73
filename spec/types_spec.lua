-- library/nml.lua, the LuaLS definitions, matches the module: every public function and method
-- has an annotated definition there, and every definition there names something that exists.
local helper = require "helper"
local nml = require "nml"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local library = helper.read_file(here .. "/../library/nml.lua")

-- The definitions: "nml.<name>" and "<Class>:<name>", each with an annotation line before it.
local defined, unannotated = {}, {}
do
  local previous = ""
  for line in (library .. "\n"):gmatch("([^\n]*)\n") do
    local name = line:match("^function ([%w_]+[.:][%w_]+)%(")
    if name then
      defined[name] = true
      if not previous:match("^%-%-%-@") then unannotated[#unannotated + 1] = name end
    end
    previous = line
  end
end

-- The classes of library/nml.lua, and a live object of each.
local function live_objects()
  local sock = nml.socket("rep")
  local ctx = sock:context()
  local listener = sock:listen("inproc://nml-types-" .. helper.next_id())
  local objects = {
    Socket = sock, Context = ctx, Listener = listener, Message = nml.allocmsg(1),
    Framer = nml.framer(), Stream = nml.stream({ send = function() end, receive = function() end }),
    Unpacker = nml.unpacker(), ShmPool = nml.shm_pool { size = 1, count = 1 },
    Reply = nml.chunks(sock), -- iterates lazily: nothing is received until it is called
  }
  return objects, function() sock:close() end
end

-- The public methods of an object: its metatable's __index, without the private "_" ones.
local function methods_of(object)
  local index = getmetatable(object).__index
  local names = {}
  for name, value in pairs(index) do
    if type(value) == "function" and not name:match("^_") then names[#names + 1] = name end
  end
  return names
end

describe("library/nml.lua", function()
  it("defines every module function, and every definition is annotated", function()
    for name, value in pairs(nml) do
      if type(value) == "function" then
        assert.is_true(defined["nml." .. name] == true, "nml." .. name .. " has no definition in library/nml.lua")
      end
    end
    assert.same({}, unannotated)
  end)

  it("defines every method of every class", function()
    local objects, done = live_objects()
    for class, object in pairs(objects) do
      for _, name in ipairs(methods_of(object)) do
        assert.is_true(defined[class .. ":" .. name] == true,
          class .. ":" .. name .. " has no definition in library/nml.lua")
      end
    end
    done()
  end)

  it("defines nothing that does not exist", function()
    local objects, done = live_objects()
    for name in pairs(defined) do
      local owner, member = name:match("^([%w_]+)[.:]([%w_]+)$")
      if owner == "nml" then
        assert.is_function(nml[member], name .. " is defined but nml has no such function")
      else
        local object = assert(objects[owner], "unknown class " .. owner .. " in library/nml.lua")
        assert.is_function(object[member], name .. " is defined but " .. owner .. " has no such method")
      end
    end
    done()
  end)

  -- The TLS settings are listed once, in Rust; what names them elsewhere must keep up.
  it("names every TLS setting nml takes in library/nml.lua, nml-cat and the manual", function()
    local sock = nml.socket("pair")
    local ok, err = pcall(sock.dial, sock, "tls+tcp://127.0.0.1:1", { tls = { no_such_setting = 1 } })
    sock:close()
    assert.is_false(ok)
    local known = assert(tostring(err):match("known: ([%w_, ]+)"), err)
    local cat = helper.read_file(here .. "/../bin/nml-cat")
    local manual = helper.read_file(here .. "/../docs/manual.md")
    local fields = 0
    for field in known:gmatch("[%w_]+") do
      fields = fields + 1
      assert.truthy(library:find("---@field " .. field .. "?", 1, true),
        field .. " has no ---@field in library/nml.lua's TlsOptions")
      assert.truthy(cat:find('"' .. field .. '"', 1, true), field .. " has no flag in bin/nml-cat")
      assert.truthy(manual:find("`" .. field .. "`", 1, true), field .. " is not in the manual")
    end
    assert.is_true(fields >= 6, known)
  end)
end)
