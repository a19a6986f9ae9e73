-- The manual covers the module as it is: every function, method and socket option nml has is
-- named in docs/manual.md, and every error code the manual's table lists is one nml returns.
local helper = require "helper"
local nml = require "nml"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local read = helper.read_file
local manual = read(here .. "/../docs/manual.md")

local function mentions(text)
  return manual:find(text, 1, true) ~= nil
end

describe("docs/manual.md", function()
  it("names every module function and value", function()
    local sock = nml.socket("pair")
    local methods = getmetatable(sock).__index
    for name, value in pairs(nml) do
      if name:sub(1, 1) ~= "_" then -- _VERSION, and nml's own (_markers, for the Lua codec)
        local as_method = type(value) == "function" and methods[name] ~= nil
        assert.is_true(mentions("nml." .. name) or (as_method and mentions("sock:" .. name)),
          "nml." .. name .. " is not in the manual")
      end
    end
    sock:close()
  end)

  it("names every socket, context, listener, message and unpacker method", function()
    local sock, msg = nml.socket("rep"), nml.allocmsg(1)
    for name in pairs(getmetatable(sock).__index) do
      assert.is_true(mentions("sock:" .. name), "sock:" .. name .. " is not in the manual")
    end
    for name in pairs(getmetatable(sock:context()).__index) do
      assert.is_true(mentions("ctx:" .. name), "ctx:" .. name .. " is not in the manual")
    end
    local listener = sock:listen("tcp://127.0.0.1:0")
    for name in pairs(getmetatable(listener).__index) do
      assert.is_true(mentions("listener:" .. name), "listener:" .. name .. " is not in the manual")
    end
    for name in pairs(getmetatable(msg).__index) do
      assert.is_true(mentions("msg:" .. name), "msg:" .. name .. " is not in the manual")
    end
    for name in pairs(getmetatable(nml.unpacker()).__index) do
      assert.is_true(mentions("u:" .. name), "u:" .. name .. " is not in the manual")
    end
    for name in pairs(getmetatable(nml.shm_pool { size = 1, count = 1 }).__index) do
      assert.is_true(mentions("pool:" .. name), "pool:" .. name .. " is not in the manual")
    end
    sock:close()
    nml.freemsg(msg)
  end)

  it("lists every socket option nml knows, in its options table", function()
    local sock = nml.socket("pair")
    local _, err = pcall(sock.getopt, sock, "no such option")
    local known = assert(err:match("known: ([^)]*)"), err)
    local count = 0
    for name in known:gmatch("[%a_]+") do
      count = count + 1
      assert.is_true(mentions("| `" .. name .. "`") or mentions(", `" .. name .. "`"),
        name .. " is not in the manual's options table")
    end
    assert.is_true(count >= 10, "the unknown-option error should list the options: " .. err)
    sock:close()
  end)

  it("lists only error codes nml can return, each in the table", function()
    local codes = {}
    for first_cell in manual:match("## Error codes(.*)$"):gmatch("\n| ([^|]*) |") do
      for code in first_cell:gmatch("`([%a_]+)`") do codes[#codes + 1] = code end
    end
    assert.is_true(#codes >= 10)
    local source = ""
    local files = { "error.rs", "nng/mod.rs", "args.rs", "message.rs", "socket.rs", "context.rs", "transfer.rs",
      "alloc.rs" }
    for _, file in ipairs(files) do
      source = source .. read(here .. "/../src/" .. file)
    end
    for _, file in ipairs({ "framer.lua", "stream.lua", "chunks.lua" }) do
      source = source .. read(here .. "/../lua/nml/" .. file)
    end
    for _, code in ipairs(codes) do
      assert.is_truthy(source:find('"' .. code .. '"', 1, true), code .. " appears nowhere in the source")
    end
  end)
end)
