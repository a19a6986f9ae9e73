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

-- A server that answered one request and stopped.
local function served_once(rep)
  local url = "inproc://nml-types-serve-" .. helper.next_id()
  assert(rep:listen(url))
  local req = nml.socket("req")
  assert(req:dial(url))
  assert(req:send("once"))
  return nml.serve(rep, {}, function(_, _, server) server:stop() end)
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
    Reply = nml.chunks(nml.socket("pair")), -- iterates lazily: nothing is received until it is called
    Server = served_once(sock),
    Deliverer = nml.deliver(nml.socket("req")),
  }
  return objects, function()
    objects.Deliverer:close()
    sock:close()
  end
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

  -- The fields of the class `name` in library/nml.lua, as a set.
  local function class_fields(name)
    local body = assert(library:match("%-%-%-@class " .. name:gsub("%.", "%%.") .. "\n(.-)\n\n"), name)
    local fields = {}
    for field in body:gmatch("%-%-%-@field ([%w_]+)%?") do fields[field] = true end
    return fields
  end

  -- The names an unknown key's error lists ("...; known: a, b, c").
  local function known_names(err)
    local known = assert(tostring(err):match("known: ([%w_, ]+)"), err)
    local names = {}
    for name in known:gmatch("[%w_]+") do names[#names + 1] = name end
    return names
  end

  -- The TLS settings are listed once, in Rust; what names them elsewhere must keep up.
  it("names every TLS setting nml takes in library/nml.lua, nml-cat and the manual", function()
    local sock = nml.socket("pair")
    local ok, err = pcall(sock.dial, sock, "tls+tcp://127.0.0.1:1", { tls = { no_such_setting = 1 } })
    sock:close()
    assert.is_false(ok)
    local cat = helper.read_file(here .. "/../bin/nml-cat")
    local cat_help = helper.run(("LUA_CPATH='%s;;' %s %s/../bin/nml-cat --help"):format(helper.cpath, helper.lua, here))
    local manual = helper.read_file(here .. "/../docs/manual.md")
    local fields = class_fields("nml.tls")
    local names = known_names(err)
    for _, name in ipairs(names) do
      assert.truthy(fields[name], name .. " has no ---@field in library/nml.lua's nml.tls")
      local flag = cat:match('{ flag = "([%w-]+)", key = "' .. name .. '"')
      assert.truthy(flag, name .. " has no row in bin/nml-cat's TLS table")
      assert.truthy(cat_help:find("--" .. flag, 1, true), "nml-cat --help does not show --" .. flag)
      assert.truthy(manual:find("`" .. name .. "`", 1, true), name .. " is not in the manual")
    end
    assert.is_true(#names >= 6, table.concat(names, ", "))
  end)

  -- The socket options are rows of one table in Rust; the LuaLS class must keep up (the
  -- manual's table is docs_spec's).
  it("names every socket option in library/nml.lua's nml.socket_options", function()
    local sock = nml.socket("pair")
    local ok, err = pcall(sock.getopt, sock, "no_such_option")
    sock:close()
    assert.is_false(ok)
    local fields = class_fields("nml.socket_options")
    local names = known_names(err)
    for _, name in ipairs(names) do
      assert.truthy(fields[name], name .. " has no ---@field in library/nml.lua's nml.socket_options")
    end
    assert.is_true(#names >= 10, table.concat(names, ", "))
  end)
end)
