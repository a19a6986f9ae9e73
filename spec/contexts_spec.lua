-- Contexts: one socket, many requests under way at once, each reply to the client that asked.
local helper = require "helper"

local CLIENTS = 50

-- A rep server with CLIENTS contexts and CLIENTS req clients on `transport`: every context
-- takes one request, then the server answers in the order `order` gives.
local function serve_all(transport, order)
  local server = helper.socket("rep")
  local url = helper.listen_fresh(server, transport)
  local clients = {}
  for i = 1, CLIENTS do
    clients[i] = helper.socket("req")
    assert(clients[i]:dial(url))
  end
  local contexts = {}
  for i = 1, CLIENTS do contexts[i] = assert(server:context()) end
  for i = 1, CLIENTS do assert(clients[i]:send({ client = i, question = "who am I?" })) end
  local asked = {}
  for i = 1, CLIENTS do
    local request = assert(contexts[i]:recv())
    asked[i] = request.client
  end
  for _, i in ipairs(order(CLIENTS)) do
    assert(contexts[i]:send({ answer = asked[i] }))
  end
  for i = 1, CLIENTS do
    local reply, err = clients[i]:recv()
    assert.is_table(reply, err)
    assert.equals(i, reply.answer)
    clients[i]:close()
  end
  server:close()
end

local function arrival(n)
  local t = {}
  for i = 1, n do t[i] = i end
  return t
end

local function reverse(n)
  local t = {}
  for i = 1, n do t[i] = n + 1 - i end
  return t
end

describe("contexts", function()
  for _, transport in ipairs { "inproc", "ipc", "tcp" } do
    it("answer 50 concurrent req clients each with its own reply, in arrival order, over " .. transport, function()
      serve_all(transport, arrival)
    end)
    it("answer 50 concurrent req clients each with its own reply, in reverse order, over " .. transport, function()
      serve_all(transport, reverse)
    end)
  end

  it("let a req client keep several requests in flight on one socket", function()
    local server, client = helper.pair_of("rep", "req", "inproc")
    local a, b = assert(client:context()), assert(client:context())
    assert(a:send("first"))
    assert(b:send("second"))
    local s1, s2 = assert(server:context()), assert(server:context())
    local q1, q2 = assert(s1:recv()), assert(s2:recv())
    assert(s2:send(q2 .. " answered"))
    assert(s1:send(q1 .. " answered"))
    assert.equals("second answered", b:recv())
    assert.equals("first answered", a:recv())
    server:close()
    client:close()
  end)

  it("keep their own timeouts and read the socket's other options", function()
    local server = helper.socket("rep", { recv_timeout = 1234 })
    local ctx = assert(server:context())
    assert.equals(1234, ctx:getopt("recv_timeout"))
    assert(ctx:setopt("recv_timeout", 10))
    assert.equals(10, ctx:getopt("recv_timeout"))
    assert.equals(1234, server:getopt("recv_timeout"))
    assert.equals("MessagePack", ctx:getopt("protocol"))
    local _, _, code = ctx:recv()
    assert.equals("timeout", code)
    local ok, err = pcall(ctx.setopt, ctx, "protocol", "json")
    assert.is_false(ok)
    assert.matches("the socket's option", err)
    assert.has_error(function() ctx:setopt("recv_timeout", "soon") end)
    local _, _, again = ctx:recv({ dontwait = true })
    assert.equals("again", again)
    server:close()
  end)

  -- The manual: a context's own options are its timeouts; reconnection is the socket's, for
  -- all its contexts, as every other option.
  it("take only their timeouts: reconnect_min and reconnect_max are the socket's", function()
    local client = helper.socket("req", { reconnect_min = 250, reconnect_max = 4000 })
    local ctx = assert(client:context())
    for name, value in pairs({ reconnect_min = 250, reconnect_max = 4000 }) do
      assert.equals(value, ctx:getopt(name))
      local ok, err = pcall(ctx.setopt, ctx, name, 100)
      assert.is_false(ok, name)
      assert.matches("the socket's option", err)
      assert.equals(value, client:getopt(name))
    end
    for _, name in ipairs({ "recv_timeout", "send_timeout", "resend_time" }) do
      assert(ctx:setopt(name, 1500), name)
      assert.equals(1500, ctx:getopt(name))
    end
    client:close()
  end)

  -- NNG ends a survey at the clock plus survey_time: -1 ("forever" for the other timeouts)
  -- and 0 ended every survey at once, its answers dropped.
  it("refuse a survey_time that would end every survey at once", function()
    local ok, err = pcall(helper.nml.socket, "surveyor", { survey_time = -1 })
    assert.is_false(ok)
    assert.matches("survey_time is out of range %(milliseconds: 1 to", err)
    local surveyor = helper.socket("surveyor")
    assert.has_error(function() surveyor:setopt("survey_time", 0) end)
    local ctx = assert(surveyor:context())
    assert.has_error(function() ctx:setopt("survey_time", -1) end)
    assert(ctx:setopt("survey_time", 250))
    assert.equals(250, ctx:getopt("survey_time"))
    surveyor:close()
  end)

  -- reconnect_min 0 redialed in a loop that took a core, and -1 never redialed at all.
  it("refuse a reconnect_min that would redial in a loop or never", function()
    for _, ms in ipairs { 0, -1 } do
      local ok, err = pcall(helper.nml.socket, "req", { reconnect_min = ms })
      assert.is_false(ok)
      assert.matches("reconnect_min is out of range (milliseconds: 1 to 2^31 - 1 (under 10, redials "
        .. "take most of a core)), got " .. ms, err, 1, true)
    end
    local s = helper.socket("req", { reconnect_min = 1, reconnect_max = 0 })
    assert.equals(1, s:getopt("reconnect_min"))
    assert.has_error(function() s:setopt("reconnect_max", -1) end)
    s:close()
  end)

  it("exist where NNG has them, and say not_supported elsewhere", function()
    for _, kind in ipairs { "req", "rep", "surveyor", "respondent", "sub" } do
      local s = helper.socket(kind)
      assert.is_truthy(s:context(), kind)
      s:close()
    end
    for _, kind in ipairs { "pair", "push", "pull", "pub", "bus" } do
      local s = helper.socket(kind)
      local ctx, _, code = s:context()
      assert.is_nil(ctx, kind)
      assert.equals("not_supported", code)
      s:close()
    end
  end)

  it("on a sub socket, subscribe each for itself", function()
    local pub = helper.socket("pub")
    local url = helper.listen_fresh(pub, "inproc")
    local sub = helper.socket("sub", { recv_timeout = 1000 }) -- a busy machine needs the time
    assert(sub:dial(url))
    local news, all = sub:context(), sub:context()
    assert(news:subscribe("news"))
    assert(all:subscribe(""))
    -- Both ends' pipes started: a pipe the publisher sees first can miss what it sends at once.
    while pub:stats().pipes < 1 or sub:stats().pipes < 1 do helper.nml.sleep(5) end
    assert(pub:send("weather", nil, { topic = "weather" }))
    assert(pub:send("headline", nil, { topic = "news" }))
    assert.are.equal("weather", all:recv())
    assert.are.equal("headline", all:recv())
    local value, _, topic = news:recv()
    assert.are.equal("headline", value)
    assert.are.equal("news", topic)
    local _, _, code = news:recv()
    assert.are.equal("timeout", code) -- the weather never reached it
    assert(news:unsubscribe("news"))
    assert.has_error(function() helper.socket("req"):context():subscribe("x") end)
    pub:close()
    sub:close()
  end)

  it("close with their socket, and alone without closing it", function()
    local server, client = helper.pair_of("rep", "req", "inproc")
    local ctx = assert(server:context())
    assert(ctx:close())
    assert(ctx:close())
    local _, _, code = ctx:recv()
    assert.equals("closed", code)
    local other = assert(server:context())
    assert(client:send("still open?"))
    assert.equals("still open?", other:recv())
    server:close()
    local _, _, closed = other:send("late")
    assert.equals("closed", closed)
    assert.matches("closed", tostring(other))
    client:close()
  end)

  it("keep the socket open while they live, and are collected safely", function()
    local client = helper.socket("req")
    local url
    do
      local server = helper.socket("rep")
      url = helper.listen_fresh(server, "inproc")
      local contexts = {}
      for i = 1, 20 do contexts[i] = server:context() end
      assert(client:dial(url))
      -- The socket's own reference goes; the contexts still serve on it.
      local kept = contexts[7]
      contexts, server = nil, nil
      collectgarbage()
      collectgarbage()
      assert(client:send("anyone there?"))
      assert.equals("anyone there?", kept:recv())
      assert(kept:send("yes"))
      assert.equals("yes", client:recv())
      kept = nil -- luacheck: ignore 311
    end
    collectgarbage()
    collectgarbage()
    for _ = 1, 200 do
      local s = helper.socket("rep")
      for _ = 1, 5 do s:context() end
      if math.random() < 0.5 then s:close() end
    end
    collectgarbage()
    collectgarbage()
    client:close()
  end)
end)

describe("a reply that cannot go at once", function()
  -- NNG forgets a request's return route on the first attempt to reply, so a reply that
  -- failed with "again" could never be sent again: nml waits for the pipe instead.
  for _, kinds in ipairs { { "rep", "req" }, { "respondent", "surveyor" } } do
    it("is not lost with dontwait while the pipe still writes the last one (" .. kinds[1] .. ")", function()
      local server, client = helper.pair_of(kinds[1], kinds[2], "ipc", { recv_max_size = 0 })
      -- A survey ends after survey_time (1 s); a slow run (valgrind) takes longer than that.
      if kinds[2] == "surveyor" then assert(client:setopt("survey_time", 30000)) end
      local asks = { assert(client:context()), assert(client:context()) }
      local answers = { assert(server:context()), assert(server:context()) }
      for i, ctx in ipairs(asks) do assert(ctx:send(i)) end
      local got = { assert(answers[1]:recv()), assert(answers[2]:recv()) }
      local big = string.rep("x", 16 * 1024 * 1024)
      assert(answers[1]:send(big, "string", { dontwait = true }))
      assert(answers[2]:send("small " .. got[2], "string", { dontwait = true }))
      local replies = {}
      for i, ctx in ipairs(asks) do replies[i] = assert(ctx:recv()) end
      assert.equals(#big, #replies[got[1]] + #replies[got[2]] - #("small " .. got[2]))
      server:close()
      client:close()
    end)
  end
end)
