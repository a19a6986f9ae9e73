-- Every way a message can be lost has a counter someone will look at (the manual's "What NNG
-- delivers", the loss table). Each row of that table has a spec here or where it names.
local helper = require "helper"
local nml = helper.nml
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"

describe("messages lost by design are counted", function()
  it("pub: a send with no subscriber counts in send_drops", function()
    local pub = helper.socket("pub")
    helper.listen_fresh(pub, "inproc")
    for i = 1, 3 do assert(pub:send(i)) end
    assert.are.equal(3, pub:stats().send_drops)
    assert.are.equal(3, pub:stats().sent)
    pub:close()
  end)

  it("bus: a send with no peer counts in send_drops, as pub's does", function()
    local bus = helper.socket("bus")
    helper.listen_fresh(bus, "inproc")
    for i = 1, 3 do assert(bus:send(i)) end
    assert.are.equal(3, bus:stats().send_drops)
    bus:close()
  end)

  for _, transport in ipairs({ "inproc", "tcp" }) do
    it("bus: a send with dontwait is delivered, not lost (" .. transport .. ")", function()
      -- NNG 2.0.0 lost (and leaked) every bus message sent without waiting (patch 0019).
      local a = helper.socket("bus")
      local url = helper.listen_fresh(a, transport)
      local b = helper.socket("bus")
      assert(b:dial(url))
      while a:stats().pipes < 1 do nml.sleep(5) end
      for i = 1, 3 do assert(a:send(i, nil, { dontwait = true })) end
      for i = 1, 3 do assert.are.equal(i, b:recv()) end
      assert.are.equal(0, a:stats().send_drops)
      a:close()
      b:close()
    end)
  end

  it("a queue is never shrunk under the messages in it: NNG would free them uncounted", function()
    for _, case in ipairs({ { "pair", "recv_buffer" }, { "pair", "send_buffer" }, { "sub", "recv_buffer" },
      { "bus", "recv_buffer" }, { "push", "send_buffer" }, { "pub", "send_buffer" } }) do
      local s = helper.socket(case[1], { [case[2]] = 16 })
      helper.listen_fresh(s, "inproc")
      local ok, err, code = s:setopt(case[2], 2)
      assert.is_nil(ok, case[1] .. " " .. case[2] .. " shrank")
      assert.are.equal("invalid", code)
      assert.matches(case[2] .. " only grows once the socket has a listener or dialer", err, 1, true)
      assert.is_true(s:setopt(case[2], 32)) -- growing drops nothing
      s:close()
    end
    local fresh = helper.socket("pair", { recv_buffer = 16 })
    assert.is_true(fresh:setopt("recv_buffer", 2)) -- nothing can be queued yet
    fresh:close()
  end)

  it("pub: what a slow subscriber's full queue pushes out counts in send_drops", function()
    local pub = helper.socket("pub", { send_buffer = 1 })
    local url = helper.listen_fresh(pub, "ipc")
    local sub = helper.socket("sub", { recv_buffer = 1 })
    assert(sub:subscribe(""))
    assert(sub:dial(url))
    while pub:stats().pipes < 1 do nml.sleep(5) end
    nml.sleep(50)
    local big = string.rep("x", 256 * 1024) -- fills the connection, so the queue fills
    for _ = 1, 200 do assert(pub:send(big)) end
    nml.sleep(200)
    local got = 0
    while sub:recv({ dontwait = true }) do got = got + 1 end
    local drops = pub:stats().send_drops
    assert.is_true(drops > 0, "nothing counted")
    assert.is_true(got + drops <= 200, got .. " received and " .. drops .. " counted of 200")
    pub:close()
    sub:close()
  end)

  for _, transport in ipairs({ "inproc", "ipc" }) do
    it("sub: what its full queue loses counts in recv_drops, every message accounted (" .. transport .. ")", function()
      -- The pub queues all (so that they reach the sub), the sub holds one and reads none.
      local pub = helper.socket("pub", { send_buffer = 8192 })
      local url = helper.listen_fresh(pub, transport)
      local sub = helper.socket("sub", { recv_buffer = 1 })
      assert(sub:subscribe("t"))
      assert(sub:dial(url))
      while pub:stats().pipes < 1 do nml.sleep(5) end
      nml.sleep(50)
      local n = 300
      for i = 1, n do
        assert(pub:send(i, nil, { topic = "t" }))
        assert(pub:send(i, nil, { topic = "other" })) -- not subscribed: no loss
      end
      local deadline = nml.clock() + 5 -- until all have crossed: each is received or dropped
      while sub:stats().recv_drops + 1 < n and nml.clock() < deadline do nml.sleep(10) end
      local got = 0
      while sub:recv({ dontwait = true }) do got = got + 1 end
      local drops = sub:stats().recv_drops
      assert.is_true(drops > 0, "nothing counted")
      local lost_at_pub = pub:stats().send_drops
      assert.are.equal(n, got + drops + lost_at_pub,
        string.format("%d received, %d dropped by sub, %d by pub, of %d", got, drops, lost_at_pub, n))
      pub:close()
      sub:close()
    end)
  end

  it("raw sub (a forwarder's front): what its full queue loses counts in recv_drops", function()
    local front = assert(nml.socket("sub", { raw = true, recv_buffer = 1 }))
    local url = helper.listen_fresh(front, "inproc")
    local pub = helper.socket("pub")
    assert(pub:dial(url))
    while front:stats().pipes < 1 do nml.sleep(5) end
    nml.sleep(50)
    for i = 1, 50 do assert(pub:send(i)) end
    nml.sleep(200)
    assert.is_true(front:stats().recv_drops > 0, "nothing counted")
    pub:close()
    front:close()
  end)

  it("bus: what a full queue loses, either side, counts in send_drops and recv_drops", function()
    local a = helper.socket("bus")
    local url = helper.listen_fresh(a, "inproc")
    local b = helper.socket("bus", { recv_buffer = 1 })
    assert(b:dial(url))
    while a:stats().pipes < 1 do nml.sleep(5) end
    nml.sleep(50)
    local n = 300
    for i = 1, n do assert(a:send(i)) end
    local deadline = nml.clock() + 5
    local function counted() return a:stats().send_drops + b:stats().recv_drops end
    while counted() + 1 < n and nml.clock() < deadline do nml.sleep(10) end
    local got = 0
    while b:recv({ dontwait = true }) do got = got + 1 end
    assert.is_true(counted() > 0, "nothing counted")
    assert.are.equal(n, got + counted(), string.format("%d received, %d counted, of %d", got, counted(), n))
    a:close()
    b:close()
  end)

  -- Waits (bounded) until `done()`; survey specs poll counters that move on NNG's threads.
  local function wait_for(done)
    local deadline = nml.clock() + 5
    while not done() and nml.clock() < deadline do nml.sleep(5) end
  end

  -- Surveys "hello" until `respondent` (dialed) receives one (surveys sent before the connection
  -- is up go nowhere), then takes any other "hello" still on its way.
  local function hello(surveyor, respondent)
    respondent:setopt("recv_timeout", 50)
    for _ = 1, 100 do
      assert(surveyor:send("hello"))
      if respondent:recv() then break end
    end
    nml.sleep(50)
    while respondent:recv({ dontwait = true }) do end
    respondent:setopt("recv_timeout", helper.TIMEOUT)
  end

  -- A surveyor and a respondent that has received a survey.
  local function surveyed(survey_time)
    local surveyor = helper.socket("surveyor", { survey_time = survey_time })
    local url = helper.listen_fresh(surveyor, "inproc")
    local respondent = helper.socket("respondent")
    assert(respondent:dial(url))
    hello(surveyor, respondent)
    return surveyor, respondent, url
  end

  it("surveyor: each copy of a survey a respondent's full queue skips counts in send_drops", function()
    local surveyor, respondent = surveyed(5000)
    -- The respondent holds one survey and reads no more: the surveyor's queue for it fills.
    local n = 100
    for i = 1, n do assert(surveyor:send(i)) end
    local drops = surveyor:stats().send_drops
    local got = 0
    wait_for(function()
      while respondent:recv({ dontwait = true }) do got = got + 1 end
      return got + drops >= n
    end)
    assert.is_true(drops > 0, "nothing counted")
    assert.are.equal(n, got + drops, string.format("%d received, %d counted, of %d", got, drops, n))
    surveyor:close()
    respondent:close()
  end)

  it("surveyor: answers after survey_time count in recv_drops", function()
    local surveyor, respondent = surveyed(50)
    for i = 1, 3 do
      assert(surveyor:send(i))
      assert.are.equal(i, respondent:recv())
      local ok, _, code = surveyor:recv()
      assert.is_nil(ok)
      assert.are.equal("timeout", code)
      assert(respondent:send(i)) -- too late
      wait_for(function() return surveyor:stats().recv_drops >= i end)
      assert.are.equal(i, surveyor:stats().recv_drops)
    end
    surveyor:close()
    respondent:close()
  end)

  it("surveyor: an answer to a survey a newer one replaced counts in recv_drops", function()
    local surveyor, respondent = surveyed(5000)
    assert(surveyor:send("old"))
    assert.are.equal("old", respondent:recv())
    assert(surveyor:send("new"))
    assert(respondent:send("to old")) -- its survey is no longer current
    assert.are.equal("new", respondent:recv())
    assert(respondent:send("to new"))
    assert.are.equal("to new", surveyor:recv())
    assert.are.equal(1, surveyor:stats().recv_drops)
    surveyor:close()
    respondent:close()
  end)

  it("surveyor: answers not read before the next survey count in recv_drops", function()
    local surveyor, respondent, url = surveyed(5000)
    local others = {}
    for i = 1, 2 do
      others[i] = helper.socket("respondent")
      assert(others[i]:dial(url))
    end
    while surveyor:stats().pipes < 3 do nml.sleep(5) end
    nml.sleep(50)
    assert(surveyor:send("first"))
    for _, r in ipairs { respondent, others[1], others[2] } do
      assert.are.equal("first", r:recv())
      assert(r:send("answer"))
    end
    nml.sleep(50)
    assert(surveyor:send("second")) -- the three answers were never read
    wait_for(function() return surveyor:stats().recv_drops >= 3 end)
    assert.are.equal(3, surveyor:stats().recv_drops)
    for _, s in ipairs { surveyor, respondent, others[1], others[2] } do s:close() end
  end)

  it("surveyor: answers its full queue (128; recv_buffer does not size it) cannot take count in recv_drops", function()
    local surveyor = helper.socket("surveyor", { survey_time = 1000 })
    local url = helper.listen_fresh(surveyor, "inproc")
    local n = 130
    local respondents = {}
    for i = 1, n do
      respondents[i] = helper.socket("respondent")
      assert(respondents[i]:dial(url))
    end
    while surveyor:stats().pipes < n do nml.sleep(5) end
    nml.sleep(50)
    assert(surveyor:send("count off"))
    for _, r in ipairs(respondents) do
      assert.are.equal("count off", r:recv())
      assert(r:send("here"))
    end
    wait_for(function() return surveyor:stats().recv_drops >= n - 128 end)
    local got = 0
    while surveyor:recv() do got = got + 1 end -- until survey_time ends
    local drops = surveyor:stats().recv_drops
    assert.are.equal(n - 128, drops)
    assert.are.equal(n, got + drops, string.format("%d received, %d counted, of %d", got, drops, n))
    surveyor:close()
    for _, r in ipairs(respondents) do r:close() end
  end)

  it("respondent: an answer whose surveyor is gone counts in send_drops", function()
    local surveyor, respondent = surveyed(5000)
    surveyor:close()
    while respondent:stats().pipes > 0 do nml.sleep(5) end
    assert(respondent:send("nobody asks any more"))
    assert.are.equal(1, respondent:stats().send_drops)
    respondent:close()
  end)

  -- surveyor -> raw respondent (front) -> nml.forward -> raw surveyor (back) -> respondent
  local function forwarded_survey()
    local front = assert(nml.socket("respondent", { raw = true }))
    local back = assert(nml.socket("surveyor", { raw = true }))
    local front_url = helper.listen_fresh(front, "inproc")
    local back_url = helper.listen_fresh(back, "inproc")
    assert(nml.forward(front, back))
    local surveyor = helper.socket("surveyor", { survey_time = 5000 })
    local respondent = helper.socket("respondent")
    assert(surveyor:dial(front_url))
    assert(respondent:dial(back_url))
    hello(surveyor, respondent)
    return surveyor, front, back, respondent
  end

  it("raw surveyor (a forwarder's back): each copy a respondent's full queue skips counts in send_drops", function()
    local surveyor, front, back, respondent = forwarded_survey()
    local n = 100
    for i = 1, n do
      assert(surveyor:send(i))
      nml.sleep(2) -- the forwarder keeps up: the back's queue fills, not the surveyor's
    end
    local function counted() return surveyor:stats().send_drops + back:stats().send_drops end
    local got = 0
    wait_for(function()
      while respondent:recv({ dontwait = true }) do got = got + 1 end
      return got + counted() >= n
    end)
    assert.is_true(back:stats().send_drops > 0,
      string.format("nothing counted at the back (%d at the surveyor)", surveyor:stats().send_drops))
    assert.are.equal(n, got + counted(), string.format("%d received, %d counted, of %d", got, counted(), n))
    for _, s in ipairs { surveyor, front, back, respondent } do s:close() end
  end)

  it("raw respondent (a forwarder's front): an answer whose surveyor is gone counts in send_drops", function()
    local surveyor, front, back, respondent = forwarded_survey()
    surveyor:close()
    while front:stats().pipes > 0 do nml.sleep(5) end
    assert(respondent:send("nobody asks any more"))
    wait_for(function() return front:stats().send_drops >= 1 end)
    assert.are.equal(1, front:stats().send_drops)
    assert.are.equal(0, respondent:stats().send_drops) -- its surveyor (the back) is there
    for _, s in ipairs { front, back, respondent } do s:close() end
  end)

  it("rep: a reply whose requester is gone counts in send_drops", function()
    local rep = helper.socket("rep")
    local url = helper.listen_fresh(rep, "inproc")
    local req = helper.socket("req")
    assert(req:dial(url))
    assert(req:send("a job"))
    assert(rep:recv())
    req:close()
    while rep:stats().pipes > 0 do nml.sleep(5) end
    assert(rep:send("nobody asks any more"))
    assert.are.equal(1, rep:stats().send_drops)
    rep:close()
  end)

  it("raw rep (a forwarder's front): a reply whose requester is gone counts in send_drops", function()
    local front, back, front_url, back_url = helper.forwarder("rep", "req", "inproc")
    local req, rep = helper.socket("req"), helper.socket("rep")
    assert(req:dial(front_url))
    assert(rep:dial(back_url))
    assert(req:send("a job"))
    assert(rep:recv())
    req:close()
    while front:stats().pipes > 0 do nml.sleep(5) end
    assert(rep:send("nobody asks any more"))
    wait_for(function() return front:stats().send_drops >= 1 end)
    assert.are.equal(1, front:stats().send_drops)
    assert.are.equal(0, rep:stats().send_drops) -- its requester (the back) is there
    for _, s in ipairs { front, back, rep } do s:close() end
  end)

  it("raw rep (a forwarder's front): replies past the 64 queued for a late reader count in send_drops", function()
    local front, back, front_url, back_url = helper.forwarder("rep", "req", "tcp")
    local rep = helper.socket("rep")
    assert(rep:dial(back_url))
    local n, go = 100, helper.tmpname()
    os.remove(go)
    local client = assert(io.popen(string.format("%s %s/support/late_reader.py 127.0.0.1 %s %d %s",
      helper.python, here, front_url:match(":(%d+)$"), n, go)))
    assert.are.equal("sent", client:read("*l"))
    local reply = string.rep("r", 1024 * 1024) -- a few fill the connection; the front queues 64
    for _ = 1, n do
      assert(rep:recv())
      assert(rep:send(reply, "string"))
    end
    wait_for(function() return front:stats().send_drops > 0 end)
    nml.sleep(200) -- the forwarder hands on the last replies
    helper.write_file(go, "")
    local got = tonumber(client:read("*l"))
    client:close()
    os.remove(go)
    local counted = front:stats().send_drops
    assert.are.equal(n, got + counted, string.format("%d received, %d counted, of %d", got, counted, n))
    for _, s in ipairs { front, back, rep } do s:close() end
  end)

  -- A survey or request crossing 8 forwarders, NNG's hop limit: the last hop drops it.
  local hop_cases = {
    { "surveyor", "respondent", 3, { survey_time = 5000 } },
    { "req", "rep", 1, { resend_time = -1 } },
  }
  for _, case in ipairs(hop_cases) do
    local asker_kind, answerer_kind, n, options = case[1], case[2], case[3], case[4]
    it(answerer_kind .. ": a message past NNG's hop limit (8 forwarders) counts in recv_drops", function()
      local asker = helper.socket(asker_kind, options)
      local url = helper.listen_fresh(asker, "inproc")
      local sockets = { asker }
      for _ = 1, 8 do
        local front = assert(nml.socket(answerer_kind, { raw = true }))
        local back = assert(nml.socket(asker_kind, { raw = true }))
        assert(front:dial(url))
        url = helper.listen_fresh(back, "inproc")
        assert(nml.forward(front, back))
        sockets[#sockets + 1], sockets[#sockets + 2] = front, back
      end
      local answerer = helper.socket(answerer_kind)
      assert(answerer:dial(url))
      sockets[#sockets + 1] = answerer
      for _, s in ipairs(sockets) do
        while s:stats().pipes < 1 do nml.sleep(5) end
      end
      nml.sleep(50)
      for i = 1, n do assert(asker:send(i)) end
      wait_for(function() return answerer:stats().recv_drops >= n end)
      assert.are.equal(n, answerer:stats().recv_drops)
      local ok, _, code = answerer:recv({ dontwait = true })
      assert.is_nil(ok)
      assert.are.equal("again", code)
      for _, s in ipairs(sockets) do s:close() end
    end)
  end
end)

-- A connection that breaks with messages on their way: the one being written, and (pub, bus)
-- those queued for that peer, are counted at the sender. Bytes already in the kernel's buffers
-- when the peer went cannot be known. The receiver reads nothing, so the connection fills; then
-- it goes, and the sender's write in progress fails. A pull or pair pushes back, so it can be a
-- socket here that is closed; a sub or bus reads on into its own queue, dropping, so it is a
-- process that is stopped (SIGSTOP), then killed.
describe("messages a broken connection takes with it", function()
  local big = string.rep("x", 4 * 1024 * 1024)

  -- A receiver of `kind` on `url`, and how to break its connection.
  local function receiver_in_this_process(kind, url)
    local receiver = helper.socket(kind)
    assert(receiver:dial(url))
    return function() receiver:close() end
  end
  local function receiver_in_a_stopped_process(kind, url)
    local child = assert(io.popen(string.format("LUA_CPATH='%s;;' %s %s/support/stalled_peer.lua %s %s & echo $!",
      helper.cpath, helper.lua, here, kind, url)))
    local pid = child:read("*l")
    assert(child:read("*l") == "ready", "the peer did not start")
    return function()
      os.execute("kill -9 " .. pid)
      child:close()
    end, pid
  end

  local cases = {
    { "push", "pull", receiver_in_this_process }, { "pair", "pair", receiver_in_this_process },
    { "pair1", "pair1", receiver_in_this_process }, { "bus", "bus", receiver_in_a_stopped_process },
    { "pub", "sub", receiver_in_a_stopped_process },
  }
  it("push to pull over inproc: every message is received or counted when the pull's listener goes", function()
    -- Nothing sits in a kernel buffer over inproc, so the books must balance exactly: the
    -- push counts what it was handing over, the pull what it had read and not yet delivered
    -- (patch 0020), and the push's own queue goes to the next connection.
    local pull = helper.socket("pull", { recv_timeout = 300 })
    local url = "inproc://nml-loss-relisten-" .. tostring(pull):gsub("%W", "")
    local listener = assert(pull:listen(url))
    local push = helper.socket("push", { send_timeout = 100, send_buffer = 4, reconnect_min = 10 })
    assert(push:dial(url))
    local taken = 0
    for i = 1, 20 do
      if not push:send(i) then break end
      taken = taken + 1
    end
    listener:close()
    while push:stats().pipes > 0 do nml.sleep(5) end
    assert(pull:listen(url))
    local received = 0
    while pull:recv() do received = received + 1 end
    local counted = push:stats().send_drops + pull:stats().recv_drops
    assert.are.equal(taken, received + counted,
      string.format("%d taken, %d received, %d counted", taken, received, counted))
    push:close()
    pull:close()
  end)

  for _, transport in ipairs({ "ipc", "tcp" }) do
    for _, case in ipairs(cases) do
      local sender_kind, receiver_kind, receiver = case[1], case[2], case[3]
      it(sender_kind .. " counts them in send_drops (" .. transport .. ")", function()
        local sender = helper.socket(sender_kind, { send_timeout = 300 })
        local url = helper.listen_fresh(sender, transport)
        local break_it, pid = receiver(receiver_kind, url)
        while sender:stats().pipes < 1 do nml.sleep(5) end
        if pid then os.execute("kill -STOP " .. pid) end
        -- Until the connection is full (push and pair: a send times out, and another still
        -- does after a pause). A write the kernel was slow to take can end after one timeout;
        -- with nothing in progress when the receiver goes there would be nothing to count.
        local taken, refused = 0, 0
        while taken < 12 and refused < 2 do
          if sender:send(big, "string") then
            taken, refused = taken + 1, 0
          else
            refused = refused + 1
            nml.sleep(100)
          end
        end
        nml.sleep(100)
        local before = sender:stats().send_drops -- pub and bus: a full queue's, counted already
        break_it()
        local deadline = nml.clock() + 5
        while sender:stats().pipes > 0 and nml.clock() < deadline do nml.sleep(10) end
        nml.sleep(50)
        local drops = sender:stats().send_drops - before
        assert.is_true(drops >= 1, string.format("%d taken, none counted", taken))
        assert.is_true(drops + before <= taken, string.format("%d counted of %d taken", drops + before, taken))
        sender:close()
      end)
    end
  end
end)
