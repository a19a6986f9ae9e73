-- Sockets, every pattern over every transport, the seed functions' buffer cases, messages,
-- error codes, garbage collection and polling. Every receive has a timeout; every loop is
-- bounded.
local helper = require "helper"
local nml = helper.nml

local TIMEOUT = helper.TIMEOUT
local next_id, listen_fresh = helper.next_id, helper.listen_fresh
local socket, pair_of = helper.socket, helper.pair_of

-- Sends from `sender` until `receiver` gets something (for patterns that drop messages while
-- the connection is being set up: pub/sub, surveyor). Bounded.
local function send_until_received(sender, receiver, value, protocol, options)
  receiver:setopt("recv_timeout", 50)
  for _ = 1, 100 do
    assert(sender:send(value, protocol, options))
    local got, p, topic = receiver:recv()
    if got ~= nil then
      receiver:setopt("recv_timeout", TIMEOUT)
      return got, p, topic
    end
  end
  error("nothing received after 100 tries")
end

local value = { id = 7, name = "frame", data = { 1, 2.5, "three", nml.null }, nested = { ok = true } }


for _, transport in ipairs { "inproc", "ipc", "tcp" } do
  describe("patterns over " .. transport, function()
    it("pair and pair1 talk both ways", function()
      for _, kind in ipairs { "pair", "pair1" } do
        local a, b = pair_of(kind, kind, transport)
        assert.is_true(a:send(value))
        local got, protocol, topic = b:recv()
        helper.assert_same(value, got)
        assert.are.equal("MessagePack", protocol)
        assert.is_nil(topic)
        assert.is_true(b:send("back", "string"))
        assert.are.equal("back", (a:recv()))
        a:close()
        b:close()
      end
    end)

    it("req/rep makes a round trip", function()
      local rep, req = pair_of("rep", "req", transport)
      assert(req:send({ op = "add", args = { 2, 3 } }))
      local request = assert(rep:recv())
      assert(rep:send({ result = request.args[1] + request.args[2] }, "json"))
      local reply, protocol = req:recv()
      assert.are.equal(5, reply.result)
      assert.are.equal("JSON", protocol)
      rep:close()
      req:close()
    end)

    it("push/pull delivers in order", function()
      local pull, push = pair_of("pull", "push", transport)
      assert(push:setopt("send_buffer", 32))
      for i = 1, 20 do assert(push:send({ seq = i })) end
      for i = 1, 20 do assert.are.equal(i, pull:recv().seq) end
      pull:close()
      push:close()
    end)

    it("pub/sub filters by topic with NNG's own prefix matching", function()
      local pub, sub = pair_of("pub", "sub", transport)
      assert(sub:subscribe("weather"))
      local got, protocol, topic = send_until_received(pub, sub, { temp = 21.5 }, nil, { topic = "weather" })
      assert.are.equal(21.5, got.temp)
      assert.are.equal("MessagePack", protocol)
      assert.are.equal("weather", topic)
      assert(pub:send({ headline = "x" }, nil, { topic = "news" }))
      assert(pub:send({ temp = 19 }, "json", { topic = "weather.paris" }))
      got, protocol, topic = sub:recv()
      assert.are.equal(19, got.temp)
      assert.are.equal("JSON", protocol)
      assert.are.equal("weather.paris", topic)
      assert(sub:unsubscribe("weather"))
      assert(pub:send({ temp = 1 }, nil, { topic = "weather" }))
      sub:setopt("recv_timeout", 100)
      local none, _, code = sub:recv()
      assert.is_nil(none)
      assert.are.equal("timeout", code)
      pub:close()
      sub:close()
    end)

    it("bus reaches the other node", function()
      local a, b = pair_of("bus", "bus", transport)
      local got = send_until_received(a, b, { from = "a" })
      assert.are.equal("a", got.from)
      a:close()
      b:close()
    end)

    it("surveyor/respondent answers a survey", function()
      local surveyor, respondent = pair_of("surveyor", "respondent", transport)
      assert(surveyor:setopt("survey_time", 500))
      local question
      respondent:setopt("recv_timeout", 50)
      for _ = 1, 100 do
        assert(surveyor:send({ q = "status?" }))
        question = respondent:recv()
        if question then break end
      end
      assert.are.equal("status?", question.q)
      assert(respondent:send({ a = "ok" }))
      assert.are.equal("ok", surveyor:recv().a)
      surveyor:close()
      respondent:close()
    end)
  end)
end

describe("sockets", function()
  it("raises on an unknown kind or option, and checks argument types", function()
    assert.has_error(function() nml.socket("nope") end)
    assert.has_error(function() nml.socket("pair", { colour = "red" }) end)
    local s = socket("pair")
    assert.has_error(function() s:setopt("nope", 1) end)
    assert.has_error(function() s:setopt("recv_timeout", "soon") end)
    assert.has_error(function() s:listen(42) end)
    assert.has_error(function() s:subscribe("x") end) -- not a sub socket
    assert.has_error(function() nml.send("not a socket", "x") end)
    s:close()
  end)

  it("checks each option's value against its range, with one wording for setopt and socket{}", function()
    local s = socket("req")
    local ranges = {
      recv_timeout = { -2, 2 ^ 31, "milliseconds: %-1 for forever, or 0 to 2%^31 %- 1" },
      reconnect_max = { -1, 2 ^ 31, "milliseconds: 0 to keep reconnect_min, or up to 2%^31 %- 1" },
      recv_max_size = { -1, math.maxinteger or 2 ^ 60, "bytes: 0 for no limit, or up to 2%^60 %- 1" },
      send_buffer = { -1, 8193, "messages: 0 to 8192" },
    }
    for name, r in pairs(ranges) do
      for _, bad in ipairs { r[1], r[2], 1.5 } do
        -- The value as given, and the argument it came in: setopt's #3, socket's options #2.
        local shown = bad == 1.5 and "1%.5" or string.format("%d", bad):gsub("%-", "%%-")
        local ok, err = pcall(s.setopt, s, name, bad)
        assert.is_false(ok, name .. " = " .. tostring(bad))
        -- A whole number out of range says so; a fraction is not whole.
        local said = bad == 1.5 and " must be a whole number %(" or " is out of range %("
        assert.matches("bad argument #3 to 'setopt' %(" .. name .. said
          .. r[3] .. "%), got " .. shown .. "%)", err)
        ok, err = pcall(nml.socket, "req", { [name] = bad })
        assert.is_false(ok, name .. " = " .. tostring(bad))
        assert.matches("bad argument #2 to 'socket' %(" .. name .. said
          .. r[3] .. "%), got " .. shown .. "%)", err)
      end
    end
    -- Whole floats count as integers as far as they go (all numbers are on 5.1 and LuaJIT).
    assert.is_true(s:setopt("recv_max_size", 2 ^ 59))
    assert.are.equal(2 ^ 59, s:getopt("recv_max_size"))
    local _, err = pcall(s.getopt, s, "colour")
    for _, name in ipairs { "recv_timeout", "send_timeout", "recv_max_size", "recv_buffer", "send_buffer",
      "reconnect_min", "reconnect_max", "survey_time", "resend_time", "protocol", "tagged" } do
      assert.matches(name, err, 1, true)
    end
    s:close()
  end)

  it("has every option of the contract, with nml's 64 MiB receive limit", function()
    local s = socket("req")
    assert.are.equal(64 * 1024 * 1024, s:getopt("recv_max_size"))
    assert.are.equal("MessagePack", s:getopt("protocol"))
    assert.is_true(s:getopt("tagged"))
    for name, v in pairs { recv_timeout = 250, send_timeout = -1, recv_max_size = 1024,
      reconnect_min = 10, reconnect_max = 1000, resend_time = 5000 } do
      assert.is_true(s:setopt(name, v), name)
      assert.are.equal(v, s:getopt(name), name)
    end
    local p = socket("pair")
    for name, v in pairs { recv_buffer = 8, send_buffer = 4 } do
      assert.is_true(p:setopt(name, v), name)
      assert.are.equal(v, p:getopt(name), name)
    end
    p:close()
    assert(s:setopt("protocol", "lua-cjson"))
    assert.are.equal("JSON", s:getopt("protocol"))
    local none, _, code = s:setopt("protocol", "nope")
    assert.is_nil(none)
    assert.are.equal("unknown_protocol", code)
    local sv = socket("surveyor")
    assert(sv:setopt("survey_time", 300))
    assert.are.equal(300, sv:getopt("survey_time"))
    s:close()
    sv:close()
  end)

  it("answers bind/connect and nml.listen/nml.dial as the same calls", function()
    local a, b = socket("pair"), socket("pair")
    local url = "inproc://nml-spec-alias-" .. next_id()
    assert.matches("^nml.listener %(inproc://nml%-spec%-alias%-%d+%)$", tostring(a:bind(url)))
    assert.is_true(nml.connect(b, url))
    assert(nml.setopt(a, "recv_timeout", 500))
    assert(b:send(1))
    assert.are.equal(1, a:recv())
    a:close()
    b:close()
  end)

  it("sends with the socket's default protocol", function()
    local a, b = pair_of("pair", "pair", "inproc", { protocol = "json" })
    assert(a:send({ x = 1 }))
    local got, protocol = b:recv()
    assert.are.equal(1, got.x)
    assert.are.equal("JSON", protocol)
    a:close()
    b:close()
  end)

  it("carries a registered protocol by name", function()
    nml.register_protocol("reverse", {
      encode = function(v) return tostring(v):reverse() end,
      decode = function(s) return s:reverse() end,
    })
    local a, b = pair_of("pair", "pair", "inproc")
    assert(a:send("hello", "reverse"))
    local got, protocol = b:recv()
    assert.are.equal("hello", got)
    assert.are.equal("reverse", protocol)
    a:close()
    b:close()
  end)

  it("sends and receives bare payloads with tagged = false", function()
    local a, b = pair_of("pair", "pair", "inproc", { tagged = false })
    assert(a:send({ 1, 2 }))
    local got, protocol = b:recv()
    helper.assert_same({ 1, 2 }, got)
    assert.are.equal("MessagePack", protocol)
    assert(nml.send(a, "bare", 0))
    local raw, n, p = nml.recv(b, 0)
    assert.are.equal("bare", raw)
    assert.are.equal(4, n)
    assert.are.equal("MessagePack", p)
    a:close()
    b:close()
  end)

  it("returns an untagged message's bytes with protocol nil", function()
    local bare, tagged = pair_of("pair", "pair", "inproc")
    bare:setopt("tagged", false)
    assert(bare:send("plain", "string"))
    local got, protocol = tagged:recv()
    assert.are.equal("plain", got)
    assert.is_nil(protocol)
    bare:close()
    tagged:close()
  end)

  it("gives back the bytes and the name of a protocol unknown here", function()
    local bare, tagged = pair_of("pair", "pair", "inproc")
    bare:setopt("tagged", false)
    assert(bare:send("\193\0\4cbor\161a", "string"))
    local got, protocol = tagged:recv()
    assert.are.equal("\161a", got)
    assert.are.equal("cbor", protocol)
    assert(bare:send("\193\7xyz", "string"))
    got, protocol = tagged:recv()
    assert.are.equal("xyz", got)
    assert.are.equal("#7", protocol)
    bare:close()
    tagged:close()
  end)

  it("survives a hostile peer and serves the next good message", function()
    local bare, tagged = pair_of("pair", "pair", "ipc")
    bare:setopt("tagged", false)
    local hostile = { "\193", "\193\0", "\193\0\255abc", "\193\1\193", "\193\1\220\255\255", "\193\2{bad json" }
    for _, bytes in ipairs(hostile) do
      assert(bare:send(bytes, "string"))
      local v, err, code, raw = tagged:recv()
      assert.is_nil(v)
      assert.are.equal("malformed", code, helper.hex(bytes))
      assert.is_string(err)
      assert.is_string(raw) -- nothing is dropped
    end
    assert(bare:send("\193\1" .. nml.pack({ good = true }), "string"))
    assert.is_true(tagged:recv().good)
    bare:close()
    tagged:close()
  end)

  it("drops a message over recv_max_size at the receiver and goes on", function()
    local pull, push = pair_of("pull", "push", "ipc", { recv_max_size = 1000 })
    assert(push:send(string.rep("x", 5000), "string"))
    pull:setopt("recv_timeout", 300)
    local none, _, code = pull:recv()
    assert.is_nil(none)
    assert.are.equal("timeout", code)
    pull:setopt("recv_timeout", TIMEOUT)
    -- NNG reads it past and goes on with the next one on the same connection
    assert(push:send("small", "string"))
    local got = pull:recv()
    assert.are.equal("small", got)
    pull:close()
    push:close()
  end)

  it("returns nil, message, code for timeouts, would-block, closed sockets and refused dials", function()
    local s = socket("pull", { recv_timeout = 20 })
    local v, err, code = s:recv()
    assert.is_nil(v)
    assert.are.equal("timeout", code)
    assert.is_string(err)
    v, err, code = s:recv({ dontwait = true })
    assert.are.equal("again", code)
    v, err, code = nml.recv(s, nml.NN_DONTWAIT)
    assert.are.equal("again", code)
    s:close()
    v, err, code = s:recv()
    assert.are.equal("closed", code)
    v, err, code = s:send(1)
    assert.are.equal("closed", code)
    v, err, code = s:listen("inproc://closed")
    assert.are.equal("closed", code)
    assert.is_true(s:close()) -- closing again is fine
    local d = socket("push")
    v, err, code = d:dial("tcp://127.0.0.1:1")
    assert.is_nil(v)
    assert.are.equal("refused", code)
    assert.matches("tcp://127.0.0.1:1", err)
    assert.is_true(d:dial("tcp://127.0.0.1:1", { block = false })) -- keeps trying in the background
    v, err, code = d:send(1, "nope")
    assert.are.equal("unknown_protocol", code)
    local full = socket("push", { send_timeout = 20, send_buffer = 1 })
    local sent, last_code = 0, nil
    for _ = 1, 10 do
      local ok, _, c = full:send(1)
      if ok then sent = sent + 1 else last_code = c break end
    end
    assert.are.equal("timeout", last_code)
    d:close()
    full:close()
  end)

  it("sizes queues only where the pattern keeps one: NNG accepts the option and never reads it elsewhere", function()
    local queues = {
      recv_buffer = { bus = true, pair = true, pair1 = true, sub = true },
      send_buffer = { bus = true, pair = true, pair1 = true, push = true, pub = true },
    }
    for _, kind in ipairs({ "pair", "pair1", "req", "rep", "pub", "sub", "push", "pull", "bus",
      "surveyor", "respondent" }) do
      local s = socket(kind)
      for name, kinds in pairs(queues) do
        local ok, err, code = s:setopt(name, 16)
        local got = s:getopt(name)
        if kinds[kind] then
          assert.is_true(ok, kind .. " " .. name)
          assert.are.equal(16, got, kind .. " " .. name)
        else
          assert.is_nil(ok, kind .. " " .. name .. " was taken")
          assert.are.equal("not_supported", code)
          assert.matches("a " .. kind .. " socket keeps no queue that " .. name .. " sizes", err, 1, true)
          assert.is_nil(got)
          local none, _, socket_code = nml.socket(kind, { [name] = 16 })
          assert.is_nil(none)
          assert.are.equal("not_supported", socket_code)
        end
      end
      s:close()
    end
  end)

  it("says why a send or receive timed out when the peers that came were refused", function()
    local pub = socket("pub")
    local url = helper.listen_fresh(pub, "tcp")
    local req = socket("req", { send_timeout = 200 })
    assert(req:dial(url, { block = false }))
    helper.pipe_events_until(req, 1)
    local ok, why, code = req:send("hello")
    assert.is_nil(ok)
    assert.are.equal("timeout", code)
    assert.matches("no peer is connected: the last to connect, 127%.0%.0%.1:%d+, was refused: "
      .. "it is a pub socket, and a req talks to a rep; sock:pipe_events%(%) tells each", why)
    req:close()
    pub:close()

    local pull = socket("pull", { recv_timeout = 200 })
    url = helper.listen_fresh(pull, "ipc")
    assert(pull:allow({ uid = 12345 }))
    local push = socket("push")
    assert(push:dial(url, { block = false })) -- a blocking dial may see the closing: "reset"
    helper.pipe_events_until(pull, 1)
    ok, why, code = pull:recv()
    assert.are.equal("timeout", code)
    assert.matches("was refused: sock:allow does not list it", why, 1, true)
    -- Once a peer has joined since, a timeout is only a timeout.
    assert(pull:allow(nil))
    local deadline = nml.clock() + 5
    while pull:stats().pipes == 0 and nml.clock() < deadline do nml.sleep(5) end
    push:close()
    while pull:stats().pipes > 0 and nml.clock() < deadline do nml.sleep(5) end
    assert.are.equal(0, pull:stats().pipes)
    ok, why, code = pull:recv()
    assert.are.equal("timeout", code)
    assert.is_nil(why:find("refused"), why)
    pull:close()
  end)

  it("says what was wrong with an address NNG calls invalid", function()
    local d = socket("push")
    for url, says in pairs({
      ["tcp://127.0.0.1"] = "the URL needs a port, as in tcp://127.0.0.1:5555",
      ["tcp://127.0.0.1:5555/x"] = "a tcp URL has no path: tcp://host:port (/x is left over)",
      ["tcp://127.0.0.1:0"] = "port 0 means \"any\" only to listen",
      ["ws://127.0.0.1:0/x"] = "port 0 means \"any\" only to listen",
      ["tcp://[::1]"] = "the URL needs a port, as in tcp://[::1]:5555",
      ["tcp://nohost.invalid:5555"] = "the host nohost.invalid does not resolve",
      ["ws://nohost.invalid/x"] = "the host nohost.invalid does not resolve",
      ["tcp6://127.0.0.1:5555"] = "tcp6:// takes IPv6 addresses and names; 127.0.0.1 is IPv4: use tcp://",
      ["tcp4://[::1]:5555"] = "tcp4:// takes IPv4 addresses and names; [::1] is IPv6: use tcp://",
      ["tcp://127.0.0.1:000005555"] = "000005555 is no TCP port",
      ["tcp://*:5555"] = "the URL names no host: tcp://0.0.0.0:port listens on every address",
    }) do
      local ok, err, code = d:dial(url)
      assert.is_nil(ok, url)
      assert.are.equal("bad_address", code)
      assert.matches(says, err, 1, true)
    end
    local refused, why, refused_code = d:dial("ipc://" .. helper.tmpname() .. ".ipc")
    assert.is_nil(refused)
    assert.are.equal("refused", refused_code)
    assert.matches("listen first, or dial with {block = false}", why, 1, true)
    local ws = helper.socket("pull")
    local named = assert(ws:listen("ws://127.0.0.1:0/x"))
    local _, other_name = d:dial("ws://localhost:" .. named:port() .. "/x")
    assert.matches("a ws listener on a named address answers requests for that name only", other_name, 1, true)
    ws:close()
    for _, url in ipairs({ "http://example.com/x", "foo://bar" }) do
      local none, unknown, unknown_code = d:dial(url)
      assert.is_nil(none)
      assert.are.equal("not_supported", unknown_code)
      assert.matches("no transport " .. url:match("^[^:]+") .. "://", unknown, 1, true)
    end
    local ok, err, code = d:listen("tcp://192.0.2.1:5555") -- TEST-NET-1: no host has it
    assert.is_nil(ok)
    assert.are.equal("bad_address", code)
    assert.matches("192.0.2.1 is not an address of this machine", err, 1, true)
    d:close()
  end)

  it("returns the whole message, topic included, when a sub's payload cannot be decoded", function()
    local pub = socket("pub", { tagged = false })
    local sub = socket("sub")
    assert(sub:subscribe(""))
    local url = listen_fresh(pub, "inproc")
    assert(sub:dial(url))
    nml.sleep(50)
    local body = "weather\193\1\145\193" -- topic, MessagePack's tag, then [0xc1]
    assert(pub:send(body, "string"))
    local v, err, code, raw = sub:recv()
    assert.is_nil(v)
    assert.are.equal("malformed", code)
    assert.matches("malformed MessagePack at byte 1: invalid byte 0xc1 (never used by MessagePack) "
      .. "(bytes of the payload, after a 9-byte envelope)", err, 1, true)
    assert.are.equal(body, raw)
    pub:close()
    sub:close()
  end)

  it("refuses, before NNG misreads them, addresses that are no URL, no port or no path", function()
    local s = socket("pull")
    for url, says in pairs({
      -- NNG took a listen without a port as any port, which a dialer of the same URL missed
      ["tcp://127.0.0.1"] = "the URL needs a port, as in tcp://127.0.0.1:5555, or :0 for any free one",
      ["ipc:/tmp/x.ipc"] = "not a URL: a transport, ://, then an address, as in ipc:///tmp/x.ipc",
      ["tcp//127.0.0.1:5555"] = "not a URL: a transport, ://, then an address, as in tcp://127.0.0.1:5555",
      ["ipc://"] = "ipc:// needs a path after it, as in ipc:///tmp/nml.ipc",
      ["tcp://127.0.0.1:99999"] = "99999 is no TCP port: a port is 0 to 65535",
      ["tcp://nohost.invalid:5555"] = "the host nohost.invalid does not resolve to an address",
      -- NNG listened, and a dialer's HTTP request line would have carried the space raw
      ["ws://127.0.0.1:0/a b"] = "a ws:// path cannot hold spaces or control characters: write a space as %20",
      ["wss://127.0.0.1:0/a\tb"] = "a wss:// path cannot hold spaces or control characters",
    }) do
      local ok, err, code = s:listen(url)
      assert.is_nil(ok, url)
      assert.are.equal("bad_address", code, url)
      assert.matches(says, err, 1, true)
    end
    assert.is_true(assert(s:listen("tcp://127.0.0.1:0")):port() > 0)
    s:close()
  end)

  it("returns at once from a surveyor's recv with dontwait, during a survey", function()
    -- NNG 2.0.0 stretched a receive timeout of 0 to the survey's end (patch 0013).
    local surveyor = socket("surveyor", { survey_time = 2000 })
    assert(surveyor:send("anyone?")) -- no respondent: nothing will come
    for _, context in ipairs({ surveyor, surveyor:context() }) do
      if context ~= surveyor then assert(context:send("anyone?")) end
      local started = nml.clock()
      local ok, _, code = context:recv({ dontwait = true })
      local took = nml.clock() - started
      assert.is_nil(ok)
      assert.are.equal("again", code)
      assert.is_true(took < 0.5, string.format("dontwait took %.2f s", took))
    end
    surveyor:close()
  end)

  it("says why a sub socket that subscribes to nothing times out", function()
    local sub = socket("sub", { recv_timeout = 10 })
    local _, err, code = sub:recv()
    assert.are.equal("timeout", code)
    assert.matches("subscribes to nothing", err, 1, true)
    assert(sub:subscribe("a"))
    _, err = sub:recv()
    assert.is_nil(err:find("subscribes to nothing", 1, true))
    assert(sub:subscribe("a")) -- twice: NNG keeps one
    assert(sub:unsubscribe("a"))
    _, err = sub:recv()
    assert.matches("subscribes to nothing", err, 1, true)
    sub:close()
  end)

  it("says whose turn it is when req/rep or a survey is used out of turn", function()
    for _, case in ipairs({
      { "rep", "send", "a rep socket %(or context%) sends one reply per request" },
      { "req", "recv", "a req socket %(or context%) receives a reply only after it sent a request" },
      { "surveyor", "recv", "a surveyor receives answers only after it sent a survey" },
      { "respondent", "send", "a respondent sends one answer per survey" },
    }) do
      local s = socket(case[1])
      local ok, err, code
      if case[2] == "send" then ok, err, code = s:send("x") else ok, err, code = s:recv() end
      assert.is_nil(ok, case[1])
      assert.are.equal("state", code)
      assert.matches(case[3], err)
      s:close()
    end
  end)

  it("closes sockets the script forgot when they are collected", function()
    local path = os.tmpname()
    os.remove(path)
    local url = "ipc://" .. path .. ".gc"
    for _ = 1, 3 do
      local s = nml.socket("pull")
      assert(s:listen(url)) -- fails with address_in_use unless the last one was closed
      s = nil
      collectgarbage()
      collectgarbage()
    end
    for _ = 1, 200 do nml.socket("pair") end
    collectgarbage()
  end)

  it("tells which sockets are ready with nml.poll and recv_fd", function()
    local a, b = pair_of("pair", "pair", "inproc")
    local c, d = pair_of("pair", "pair", "inproc")
    assert.is_true(b:recv_fd() > 2)
    assert.are.same({}, nml.poll({ b, d }, 20))
    assert(c:send("to d"))
    local ready = nml.poll({ b, d }, 1000)
    assert.are.equal(1, #ready)
    assert.are.equal(d, ready[1])
    assert.are.equal("to d", d:recv())
    assert.has_error(function() nml.poll({ "x" }, 0) end)
    for _, s in ipairs { a, b, c, d } do s:close() end
  end)
end)

describe("nml.send and nml.recv (the seed functions)", function()
  local a, b
  before_each(function() a, b = pair_of("pair", "pair", "inproc") end)
  after_each(function()
    a:close()
    b:close()
  end)

  it("sends a Lua string as already encoded, tagged string by default", function()
    assert.are.equal(0, nml.send(a, "abc", 0))
    local buf, n, protocol = nml.recv(b, 0)
    assert.are.equal("abc", buf)
    assert.are.equal(3, n)
    assert.are.equal("string", protocol)
    assert.are.equal(0, nml.send(a, nml.pack({ 1 }), 0, nil, "msgpack"))
    local v, p = b:recv()
    helper.assert_same({ 1 }, v)
    assert.are.equal("MessagePack", p)
  end)

  it("hands an nml message to NNG without a copy with NN_MSG, and consumes it", function()
    local m = nml.allocmsg(4)
    m:write(0, "wxyz")
    assert.are.equal(0, nml.send(a, m, 0, nml.NN_MSG))
    local v, err, code = m:size()
    assert.is_nil(v)
    assert.are.equal("freed", code)
    v, err, code = nml.send(a, m, 0, nml.NN_MSG)
    assert.are.equal("freed", code)
    local got, n, protocol = nml.recv(b, 0, nil, nml.NN_MSG)
    assert.are.equal("wxyz", got:tostring())
    assert.are.equal(4, n)
    assert.are.equal("string", protocol)
    assert.are.equal(4, #got)
    assert.are.equal(0, nml.freemsg(got))
  end)

  it("leaves a message NNG did not take live and whole, to send again", function()
    local push = socket("push", { send_timeout = 20 }) -- no peer yet: nothing can take a message
    local m = nml.allocmsg(3)
    m:write(0, "abc")
    local v, _, code = nml.send(push, m, nml.NN_DONTWAIT, nml.NN_MSG)
    assert.is_nil(v)
    assert.are.equal("again", code)
    v, _, code = nml.send(push, m, 0, nml.NN_MSG)
    assert.is_nil(v)
    assert.are.equal("timeout", code)
    assert.are.equal("abc", m:tostring())
    -- the same sockets serve each direction after their failures
    local pull = socket("pull", { recv_timeout = 20 })
    v, _, code = nml.recv(pull, nml.NN_DONTWAIT)
    assert.are.equal("again", code)
    v, _, code = pull:recv()
    assert.are.equal("timeout", code)
    pull:setopt("recv_timeout", TIMEOUT)
    push:setopt("send_timeout", TIMEOUT)
    local url = listen_fresh(pull, "inproc")
    assert(push:dial(url))
    assert.are.equal(0, nml.send(push, m, 0, nml.NN_MSG))
    assert.are.equal("abc", nml.recv(pull, 0))
    for i = 1, 3 do
      assert(push:send(i))
      assert.are.equal(i, pull:recv())
    end
    push:close()
    pull:close()
  end)

  it("raises for nml.send without a buffer, as sock:send without a value", function()
    local push = socket("push", { send_timeout = 20 })
    assert.has_error(function() nml.send(push) end, "bad argument #2 to 'send' (buffer expected (nil to send nil))")
    push:close()
  end)

  it("says where send's options go when they come in the protocol's place", function()
    local push = socket("push", { send_timeout = 20 })
    local ok, err = pcall(push.send, push, 1, { dontwait = true })
    assert.is_false(ok)
    assert.matches("options come after the protocol: sock:send(value, nil, {dontwait = true})", err, 1, true)
    push:close()
  end)

  it("leaves a message whole when its socket is closed, and says why a send is out of turn", function()
    local push = socket("push")
    push:close()
    local m = nml.allocmsg(3)
    m:write(0, "abc")
    local v, _, code = nml.send(push, m, 0, nml.NN_MSG)
    assert.is_nil(v)
    assert.are.equal("closed", code)
    assert.are.equal("abc", m:tostring())
    local rep = socket("rep")
    local err
    v, err, code = nml.send(rep, m, 0, nml.NN_MSG)
    assert.is_nil(v)
    assert.are.equal("state", code)
    assert.matches("one reply per request, after recv took it", err, 1, true)
    assert.are.equal("abc", m:tostring())
    assert.are.equal(0, nml.freemsg(m))
    rep:close()
  end)

  it("copies `size` bytes of a message, a full userdata or a lightuserdata", function()
    local m = nml.allocmsg(6)
    m:write(0, "abcdef")
    assert.are.equal(0, nml.send(a, m, 0, 3))
    assert.are.equal("abc", (nml.recv(b, 0)))
    assert.are.equal(6, #m) -- still ours
    assert.are.equal(0, nml.send(a, m:ptr(), 0, 6))
    assert.are.equal("abcdef", (nml.recv(b, 0)))
    local v, _, code = nml.send(a, m, 0, 7)
    assert.is_nil(v)
    assert.are.equal("range", code)
    assert.has_error(function() nml.send(a, io.stdout, 0, 1e6) end) -- larger than the block
    assert.has_error(function() nml.send(a, m:ptr(), 0) end) -- a pointer needs a size
    nml.freemsg(m)
  end)

  it("encodes tables, numbers, booleans and nil with the protocol", function()
    for _, v in ipairs { { k = "v" }, 42, 1.5, true, false } do
      assert.are.equal(0, nml.send(a, v, 0, nil, "json"))
      local got, p = b:recv()
      helper.assert_same(v, got)
      assert.are.equal("JSON", p)
    end
    assert.are.equal(0, nml.send(a, nil, 0))
    local got, p = b:recv()
    assert.are.equal(nml.null, got) -- a received nil is nml.null (trust_spec.lua)
    assert.are.equal("MessagePack", p)
  end)

  it("copies into a caller's buffer and shows truncation", function()
    assert(a:send("0123456789", "string"))
    local m = nml.allocmsg(4)
    local buf, n, p = nml.recv(b, 0, m, 4)
    assert.are.equal(m, buf)
    assert.are.equal(10, n) -- the whole payload's length: the caller sees it was cut
    assert.are.equal("0123", m:tostring())
    assert.are.equal("string", p)
  end)

  it("raises on bad flags and sizes", function()
    assert.has_error(function() nml.send(a, "x", 7) end)
    assert.has_error(function() nml.recv(b, 0, nml.allocmsg(1)) end)
    assert.has_error(function() nml.send(a, print) end)
  end)

  -- A buffer nml.recv cannot write into is refused before anything is received: the message
  -- stays queued for the next call. A userdata with a metatable is its module's object (an
  -- io.open file written over crashed the interpreter at its next use).
  it("refuses a buffer it cannot write into before receiving, and loses nothing", function()
    assert(a:send("ABCDEFGH", "string"))
    local file = io.tmpfile()
    local bad = {
      { file, 8, "metatable" },
      { "xxxxxxxx", 8, "nml message or a userdata" },
      { nml.allocmsg(4), 100, "larger than the buffer" },
      { nil, 5, "size is for a buffer" },
    }
    for _, case in ipairs(bad) do
      local ok, err = pcall(nml.recv, b, 0, case[1], case[2])
      assert.is_false(ok, case[3])
      assert.matches(case[3], err)
    end
    assert.is_true(io.type(file) == "file" and file:write("still a file") ~= nil)
    file:close()
    local got, n = nml.recv(b, 0)
    assert.are.equal("ABCDEFGH", got)
    assert.are.equal(8, n)
  end)
end)

describe("messages", function()
  it("are full userdata with size, ptr, tostring, read and write", function()
    local m = assert(nml.allocmsg(8))
    assert.are.equal("userdata", type(m))
    assert.are.equal(8, #m)
    assert.are.equal(8, m:size())
    assert.are.equal("userdata", type(m:ptr()))
    assert.are.equal(m, m:write(2, "hey"))
    assert.are.equal("hey", m:read(2, 3))
    assert.are.equal("\0\0hey\0\0\0", m:tostring())
    assert.are.equal("hey", m:tostring(2, 3))
    assert.are.equal("y\0\0\0", m:tostring(4))
    local v, err, code = m:read(6, 3)
    assert.is_nil(v)
    assert.are.equal("range", code)
    v, err, code = m:write(7, "ab")
    assert.are.equal("range", code)
    assert.matches("nml.msg %(8 bytes%)", tostring(m))
  end)

  it("grow and shrink with reallocmsg, keeping their bytes", function()
    local m = nml.allocmsg(3)
    m:write(0, "abc")
    assert.are.equal(m, nml.reallocmsg(m, 6))
    assert.are.equal("abc\0\0\0", m:tostring())
    nml.reallocmsg(m, 2)
    assert.are.equal("ab", m:tostring())
  end)

  it("report 'freed' after a free, never crash", function()
    local m = nml.allocmsg(1)
    assert.are.equal(0, nml.freemsg(m))
    for _, call in ipairs {
      function() return nml.freemsg(m) end, function() return m:size() end,
      function() return m:read(0, 1) end, function() return m:write(0, "x") end,
      function() return nml.reallocmsg(m, 4) end, function() return m:ptr() end,
    } do
      local v, err, code = call()
      assert.is_nil(v)
      assert.matches("freed", err)
      assert.are.equal("freed", code)
    end
    assert.matches("freed", tostring(m))
  end)

  it("are freed by the GC, which counts their size", function()
    local before = helper.rss_kib()
    for _ = 1, 2000 do
      local m = nml.allocmsg(1024 * 1024)
      m:write(0, "touch")
    end
    collectgarbage()
    -- 2000 MiB were allocated and dropped; without the GC counting them RSS would hold most
    assert.is_true(helper.rss_kib() - before < 512 * 1024, "RSS grew by " .. (helper.rss_kib() - before) .. " KiB")
  end)

  it("raise on bad arguments", function()
    assert.has_error(function() nml.allocmsg() end)
    assert.has_error(function() nml.allocmsg("x") end)
    assert.has_error(function() nml.allocmsg(1.5) end)
    assert.has_error(function() nml.freemsg({}) end)
  end)
end)

describe("transports", function()
  it("carries a message over every transport the manual lists", function()
    local addresses = { "inproc://nml-spec-transport-" .. next_id(), "ipc://" .. os.tmpname() .. ".ipc",
      "abstract://nml-spec-" .. next_id(), "tcp://127.0.0.1:0", "tcp4://127.0.0.1:0", "tcp6://[::1]:0",
      "ws://127.0.0.1:0/nml" }
    for _, address in ipairs(addresses) do
      local a, b = socket("pair"), socket("pair")
      local listener = assert(a:listen(address))
      local url = address:find(":0") and assert(listener:url()) or address
      assert(b:dial(url), url)
      assert(b:send({ over = address }))
      assert.equals(address, assert(a:recv()).over)
      a:close()
      b:close()
    end
  end)
end)
