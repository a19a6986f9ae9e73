-- Nothing disappears without a trace, and every argument follows one rule: each case here is a
-- fault that once passed silently (or inconsistently) and now either works or says why.
local helper = require "helper"
local nml = helper.nml

-- Calls f and returns the message it raised ("" when it raised nothing).
local function raised(f)
  local ok, err = pcall(f)
  return ok and "" or tostring(err)
end

-- Receives until a message arrives or `seconds` pass, as `recv` answers.
local function wait_stats(sock, field, seconds)
  local stop = nml.clock() + seconds
  repeat
    local stats = sock:stats()
    if stats[field] > 0 then return stats end
    local poll_until = nml.clock() + 0.01
    while nml.clock() < poll_until do end
  until nml.clock() > stop
  return sock:stats()
end

describe("recv_max_size", function()
  it("is enforced over inproc, as an error that says so", function()
    local pull, push = helper.pair_of("pull", "push", "inproc")
    assert(pull:setopt("recv_max_size", 1000))
    assert(push:send(string.rep("x", 2000), "string"))
    local v, err, code = pull:recv()
    assert.is_nil(v)
    assert.are.equal("too_large", code)
    assert.matches("2002 bytes", err) -- the envelope counts: it is part of the message
    assert.matches("recv_max_size", err)
    assert(push:send("small", "string"))
    assert.are.equal("small", (pull:recv()))
    local stats = pull:stats()
    assert.are.equal(1, stats.oversize_drops)
    assert.are.equal(1, stats.received)
    push:close()
    pull:close()
  end)

  for _, transport in ipairs { "ipc", "tcp" } do
    it("is enforced over " .. transport .. " after the connection is made", function()
      local pull, push = helper.pair_of("pull", "push", transport)
      assert(pull:setopt("recv_max_size", 1000))
      assert(push:send(string.rep("x", 2000), "string"))
      local v, _, code = pull:recv()
      assert.is_nil(v)
      assert.are.equal("too_large", code)
      assert.are.equal(1, pull:stats().oversize_drops)
      push:close()
      pull:close()
    end)

    it("shows a message NNG dropped on the wire over " .. transport .. " in the receiver's stats", function()
      local pull, push = helper.pair_of("pull", "push", transport, { recv_timeout = 200, recv_max_size = 1000 })
      assert(push:send(string.rep("x", 2000), "string")) -- NNG takes it: the sender cannot know
      local v, _, code = pull:recv()
      assert.is_nil(v)
      assert.are.equal("timeout", code)
      local stats = wait_stats(pull, "oversize_drops", 5)
      assert.are.equal(1, stats.oversize_drops)
      assert.are.equal(0, stats.received)
      assert.are.equal(0, stats.disconnects) -- read past, not hung up on (patch 0003)
      assert(push:send("next", "string"))
      assert.are.equal("next", (pull:recv()))
      push:close()
      pull:close()
    end)
  end
end)

describe("sock:stats()", function()
  it("counts messages and bytes each way, and pipes", function()
    local a, b = helper.pair_of("pair", "pair", "ipc")
    assert(a:send("12345", "string"))
    assert(a:send({ 1, 2, 3 }))
    assert(b:recv())
    assert(b:recv())
    local sa, sb = a:stats(), b:stats()
    assert.are.equal(2, sa.sent)
    assert.are.equal(0, sa.received)
    assert.are.equal(2, sb.received)
    assert.are.equal(7 + 6, sa.sent_bytes) -- 2-byte envelopes included
    assert.are.equal(sa.sent_bytes, sb.received_bytes)
    assert.are.equal(1, sa.pipes)
    assert.are.equal(1, sb.pipes)
    assert.are.equal(1, sa.connects) -- a listened: one accepted pipe
    assert.are.equal(1, sb.connects) -- b dialed: one connection
    assert.are.equal(0, sa.oversize_drops)
    b:close()
    local after = wait_stats(a, "disconnects", 5)
    assert.are.equal(1, after.disconnects)
    assert.are.equal(0, after.pipes)
    a:close()
    local v, _, code = a:stats()
    assert.is_nil(v)
    assert.are.equal("closed", code)
  end)
end)

describe("options tables", function()
  local a, b
  before_each(function() a, b = helper.pair_of("pair", "pair", "inproc") end)
  after_each(function() a:close(); b:close() end)

  it("raise on an unknown key, naming it", function()
    assert.matches('unknown option "topc"', raised(function() a:send(1, nil, { topc = "x" }) end))
    assert.matches('unknown option "dontwiat"', raised(function() b:recv { dontwiat = true } end))
    assert.matches('unknown option "blok"', raised(function() a:dial("inproc://x", { blok = false }) end))
    assert.matches('unknown option "buffer"', raised(function() nml.unpack(nml.pack(1), 0, { buffer = "string" }) end))
    assert.matches('unknown option "maxdepth"', raised(function() nml.config { maxdepth = 3 } end))
    assert.matches('unknown option "recv_timout"', raised(function() nml.socket("pair", { recv_timout = 1 }) end))
    assert.matches('unknown option "maxsize"', raised(function() nml.framer { maxsize = 10 } end))
    assert.matches('unknown option "alias"',
      raised(function() nml.register_protocol("p", { encode = tostring, decode = tostring, alias = {} }) end))
  end)

  it("raise on a value of the wrong type, naming the key", function()
    assert.matches("dontwait must be a boolean", raised(function() a:send(1, nil, { dontwait = "yes" }) end))
    assert.matches("dontwait must be a boolean", raised(function() b:recv { dontwait = 1 } end))
    assert.matches("block must be a boolean", raised(function() a:dial("inproc://x", { block = "x" }) end))
    assert.matches("option names must be strings", raised(function() b:recv { true } end))
  end)
end)

describe("tagged = false", function()
  it("refuses a topic, which only the envelope can carry", function()
    local pub = helper.socket("pub", { tagged = false })
    local err = raised(function() pub:send("x", "string", { topic = "weather" }) end)
    assert.matches("topic", err)
    assert.matches("tagged", err)
    pub:close()
  end)
end)

describe("a received nil", function()
  it("arrives as nml.null, so that a successful recv is never nil", function()
    local a, b = helper.pair_of("pair", "pair", "inproc")
    assert(a:send(nil))
    local v, protocol = assert(b:recv())
    assert.are.equal(nml.null, v)
    assert.are.equal("MessagePack", protocol)
    assert.are.equal(0, nml.send(a, nil, 0, nil, "json"))
    assert.are.equal(nml.null, (assert(b:recv())))
    a:close()
    b:close()
  end)
end)

describe("offsets and sizes", function()
  local m
  before_each(function()
    m = nml.allocmsg(8)
    m:write(0, "01234567")
  end)

  it("are 0-based byte offsets everywhere", function()
    assert.are.equal("234", m:read(2, 3))
    assert.are.equal("234", m:tostring(2, 3))
    assert.are.equal("234567", m:tostring(2))
    assert.are.equal("01234567", m:tostring())
    assert.are.equal("", m:tostring(8))
    local packed = nml.pack("a", "b")
    assert.are.equal("b", nml.unpack(packed, 2))
    assert.are.equal("b", (nml.unpack_one(packed, 2)))
  end)

  it("out of range is nil, message, \"range\"", function()
    local cases = {
      read_negative = function() return m:read(-1, 2) end,
      read_past_end = function() return m:read(7, 2) end,
      read_negative_count = function() return m:read(0, -1) end,
      write_negative = function() return m:write(-1, "x") end,
      write_past_end = function() return m:write(8, "x") end,
      tostring_negative = function() return m:tostring(-1) end,
      tostring_past_end = function() return m:tostring(9) end,
      tostring_too_many = function() return m:tostring(4, 5) end,
      unpack_negative = function() return nml.unpack(nml.pack(1), -1) end,
      unpack_past_end = function() return nml.unpack(nml.pack(1), 2) end,
      unpack_one_negative = function() return nml.unpack_one(nml.pack(1), -1) end,
      send_negative_size = function()
        local a = helper.socket("pair")
        local r = { nml.send(a, "x", 0, -5) }
        a:close()
        return (table.unpack or unpack)(r, 1, 3)
      end,
    }
    for name, f in pairs(cases) do
      local v, err, code = f()
      assert(v == nil, name .. " returned a value")
      assert(code == "range", name .. ": " .. tostring(code) .. " " .. tostring(err))
      assert(type(err) == "string", name)
    end
  end)

  it("of the wrong type raise, naming the argument", function()
    assert.matches("bad argument #1 to 'read' %(offset must be an integer", raised(function() m:read("x", 1) end))
    assert.matches("bad argument #2 to 'read' %(count must be an integer", raised(function() m:read(0, 1.5) end))
    assert.matches("bad argument #1 to 'write' %(offset must be an integer", raised(function() m:write(nil, "x") end))
    assert.matches("bad argument #1 to 'tostring' %(offset must be an integer", raised(function() m:tostring(0.5) end))
    assert.matches("bad argument #2 to 'unpack' %(offset must be an integer",
      raised(function() nml.unpack(nml.pack(1), "0") end))
  end)

  it("beyond 2^53 and 2^62 are out of range, printed exactly, never raised", function()
    local big = { 2 ^ 53, 2 ^ 53 + 2, 2 ^ 63, 2 ^ 70 }
    if math.type then big[#big + 1] = math.tointeger(2 ^ 62) end
    for _, n in ipairs(big) do
      local exact = string.format("%.0f", n)
      for name, f in pairs({
        read = function() return m:read(n, 1) end,
        read_count = function() return m:read(0, n) end,
        write = function() return m:write(n, "x") end,
        tostring = function() return m:tostring(n) end,
        unpack = function() return nml.unpack(nml.pack(1), n) end,
      }) do
        local ok, v, err, code = pcall(f)
        assert(ok, name .. " raised for " .. exact .. ": " .. tostring(v))
        assert.is_nil(v, name)
        assert.are.equal("range", code, name .. " " .. exact)
        assert.is_truthy(err:find(exact, 1, true), name .. ": " .. err .. " does not say " .. exact)
      end
    end
  end)

  it("name the method even when it is called without one (pcall(m.read, m, ...))", function()
    local ok, err = pcall(m.read, m, 0.5, 1)
    assert.is_false(ok)
    assert.matches("bad argument #2 to 'read' %(offset must be an integer", err)
  end)

  it("name a missing value instead of packing it", function()
    local a = helper.socket("pair")
    assert.matches("bad argument #1 to 'send' %(value expected%)", raised(function() a:send() end))
    a:close()
  end)
end)
