-- nml.stream over LuaSocket (the stand-in for OpenResty's cosockets and other stream-only
-- hosts) against a peer in plain Python: framed, tagged values both ways.
local helper = require "helper"
local nml = require "nml"
local socket = require "socket"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"

-- Starts the Python peer and connects to it; returns the stream, the connection and the peer.
local function connect(options)
  local peer = assert(io.popen(helper.python .. " " .. here .. "/support/stream_peer.py", "r"))
  local port = assert(tonumber(peer:read("*l")), "the Python peer did not start")
  local conn = assert(socket.tcp())
  conn:settimeout(5)
  assert(conn:connect("127.0.0.1", port))
  return nml.stream(conn, options), conn, peer
end

describe("nml.stream", function()
  it("carries tables, JSON, strings and buffers to a Python peer and back", function()
    local stream, conn, peer = connect()
    assert(stream:send({ id = 7, tags = { "a", "b" }, ratio = 0.5 }))
    local reply, protocol = assert(stream:recv())
    assert.equals("MessagePack", protocol)
    assert.equals("MessagePack", reply.protocol)
    assert.equals(7, reply.echo.id)
    assert.same({ "a", "b" }, reply.echo.tags)
    assert(stream:send({ ok = true }, "json"))
    reply = assert(stream:recv())
    assert.equals("JSON", reply.protocol)
    assert.is_true(reply.echo.ok)
    local frame = nml.allocmsg(300000)
    for i = 0, 299999, 1000 do frame:write(i, string.rep("\7", 1000)) end
    assert(stream:send({ buffer = frame, buffer_ud_type = "raw" }))
    reply = assert(stream:recv())
    assert.equals(300000, reply.echo.buffer_bytes)
    assert.equals((300000 * 7) % 65536, reply.echo.sum)
    assert(stream:send("bye", "string"))
    assert.equals("bye", stream:recv())
    local value, _, code = stream:recv()
    assert.is_nil(value)
    assert.equals("closed", code)
    conn:close()
    peer:close()
  end)

  it("refuses a frame larger than max_size before reading it, and stays failed", function()
    local stream, conn, peer = connect({ max_size = 1024 * 1024 })
    assert(stream:send({ cmd = "oversize" }))
    local value, err, code = stream:recv()
    assert.is_nil(value)
    assert.equals("too_large", code)
    assert.matches("larger than max_size", err)
    local _, _, again = stream:recv()
    assert.equals("too_large", again)
    conn:close()
    peer:close()
  end)

  it("joins frames that arrive in pieces", function()
    -- A connection that hands over at most 3 bytes a call, and keeps what it was sent.
    local sent = {}
    local fake = { data = "", at = 1 }
    function fake.send(_, s)
      sent[#sent + 1] = s
      return #s
    end
    function fake.receive(self, n)
      if self.at > #self.data then return nil, "timeout", "" end
      local take = math.min(n, 3)
      local piece = self.data:sub(self.at, self.at + take - 1)
      self.at = self.at + #piece
      if #piece < n then return nil, "timeout", piece end
      return piece
    end
    local stream = nml.stream(fake)
    assert(stream:send({ hello = "world" }))
    assert(stream:send("second", "string"))
    fake.data = table.concat(sent)
    local results = {}
    for _ = 1, 100 do
      local v, p, code = stream:recv()
      if v ~= nil then results[#results + 1] = { v, p } elseif code ~= "timeout" then error(p) end
      if #results == 2 then break end
    end
    assert.equals("world", results[1][1].hello)
    assert.same({ "second", "string" }, results[2])
  end)

  it("holds about twice the frame it reads, even one byte a call", function()
    -- A connection that hands over one byte a call, as LuaSocket does with a partial read
    -- (nil, "timeout", the byte), unless one byte is all that was asked for.
    local frame = nml.frame(nml.wrap(string.rep("x", 256 * 1024), "string"))
    local fake = { at = 0 }
    local sub = string.sub
    function fake.send() return true end
    function fake.receive(self, n)
      if self.at >= #frame then return nil, "timeout", "" end
      self.at = self.at + 1
      local piece = sub(frame, self.at, self.at)
      if n == 1 then return piece end
      return nil, "timeout", piece
    end
    local stream = nml.stream(fake)
    local value
    local peak = helper.peak_held(#frame, 16384, function()
      local v, _, code = stream:recv()
      value = v
      if value ~= nil then return true end
      assert.equals("timeout", code)
    end)
    local ratio = peak / #frame
    assert.is_true(ratio < 4, string.format("held %.1f times the frame", ratio))
    assert.equals(256 * 1024, #value)
  end)

  it("checks its arguments", function()
    assert.has_error(function() nml.stream(42) end)
    assert.has_error(function() nml.stream({}) end)
    local fake = { send = function() end, receive = function() end }
    assert.has_error(function() nml.stream(fake, { max_size = -1 }) end)
    assert.has_error(function() nml.stream(fake, { colour = "red" }) end)
  end)
end)
