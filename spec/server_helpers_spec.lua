-- What a server needs besides sending and receiving: the port chosen for port 0, TCP options,
-- and notice of peers connecting and leaving.
local helper = require "helper"
local nml = require "nml"

local function own_pid()
  local f = assert(io.open("/proc/self/stat", "rb"))
  local pid = tonumber(f:read("*a"):match("^(%d+)"))
  f:close()
  return pid
end

describe("server helpers", function()
  it("listen returns a listener that knows the port chosen for port 0", function()
    local server = helper.socket("rep")
    local listener = assert(server:listen("tcp://127.0.0.1:0"))
    local port = assert(listener:port())
    assert.is_true(port > 0 and port < 65536)
    assert.equals("tcp://127.0.0.1:" .. port, listener:url())
    assert.matches("nml.listener %(tcp://127.0.0.1:%d+%)", tostring(listener))
    local client = helper.socket("req")
    assert(client:dial("tcp://127.0.0.1:" .. port))
    assert(client:send("ping"))
    assert.equals("ping", server:recv())
    assert(server:send("pong"))
    assert.equals("pong", client:recv())
    -- Closing the listener stops new connections (and ends those it accepted); the socket
    -- stays open and can listen again.
    assert(listener:close())
    local late = helper.socket("req")
    local ok, _, code = late:dial("tcp://127.0.0.1:" .. port)
    assert.is_nil(ok)
    assert.equals("refused", code)
    local ipc = assert(server:listen("ipc://" .. helper.tmpname() .. ".ipc"))
    local none, _, not_supported = ipc:port()
    assert.is_nil(none)
    assert.equals("not_supported", not_supported)
    for _, s in ipairs { server, client, late } do s:close() end
  end)

  it("sets TCP nodelay and keepalive on every endpoint, made before or after", function()
    local server = helper.socket("rep", { tcp_keepalive = true })
    assert.is_true(server:getopt("tcp_keepalive"))
    assert.is_true(server:getopt("tcp_nodelay")) -- NNG's default
    local listener = assert(server:listen("tcp://127.0.0.1:0"))
    assert(server:setopt("tcp_nodelay", false))
    assert.is_false(server:getopt("tcp_nodelay"))
    local client = helper.socket("req", { tcp_nodelay = false })
    assert(client:dial("tcp://127.0.0.1:" .. listener:port()))
    assert(client:send("over tcp"))
    assert.equals("over tcp", server:recv())
    assert.has_error(function() server:setopt("tcp_nodelay", 1) end)
    assert.has_error(function() nml.socket("req", { tcp_keepalive = "yes" }) end)
    -- Options of TCP on a socket that only uses ipc are harmless.
    local ipc = helper.socket("pair", { tcp_nodelay = true })
    assert(ipc:listen("ipc://" .. helper.tmpname() .. ".ipc"))
    server:close()
    client:close()
    ipc:close()
  end)

  it("reports peers connecting and leaving, with their address", function()
    local server = helper.socket("rep")
    local port = assert(server:listen("tcp://127.0.0.1:0")):port()
    local before, dropped = server:pipe_events()
    assert.same({}, before)
    assert.equals(0, dropped)
    local client = helper.socket("req")
    assert(client:dial("tcp://127.0.0.1:" .. port))
    local connected = helper.pipe_events_until(server, 1)
    assert.equals(1, #connected)
    assert.equals("connect", connected[1].event)
    assert.matches("^127%.0%.0%.1:%d+$", connected[1].address)
    client:close()
    local left = helper.pipe_events_until(server, 1)
    assert.equals("disconnect", left[1].event)
    assert.equals(connected[1].pipe, left[1].pipe)
    assert.equals(connected[1].address, left[1].address)
    server:close()
    local _, _, code = server:pipe_events()
    assert.equals("closed", code)
  end)

  -- `e` is a refusal, for `why`, of a peer of pattern `peer`.
  local function assert_refused(e, why, peer)
    assert.equals("refused", e.event)
    assert.equals(why, e.why)
    assert.equals(peer, e.peer)
  end

  -- NNG turns away a connection whose peer speaks another pattern (or a second peer of a pair)
  -- as soon as it is made; the dial itself succeeds and the dialer tries again and again.
  it("reports a peer of another pattern as refused, naming its pattern, at both ends", function()
    local server = helper.socket("rep")
    local url = helper.listen_fresh(server, "tcp")
    local client = helper.socket("pub")
    assert(client:dial(url))
    for _, side in ipairs({ { server, "pub" }, { client, "rep" } }) do
      local events = helper.pipe_events_until(side[1], 1)
      assert.is_true(#events >= 1, "no event")
      for _, e in ipairs(events) do
        assert_refused(e, "protocol", side[2])
        assert.matches("^127%.0%.0%.1:%d+$", e.address)
      end
    end
    client:close()
    nml.sleep(50)
    local stats = server:stats()
    assert.is_true(stats.refused >= 1, "refused " .. tostring(stats.refused))
    assert.equals(stats.connects, stats.refused)
    assert.equals(0, stats.disconnects) -- none was ever connected
    assert.equals(0, stats.pipes)
    server:close()
  end)

  -- connects = pipes + disconnects + refused, or why not.
  local function adds_up(stats)
    if stats.connects == stats.pipes + stats.disconnects + stats.refused then return true end
    return false, string.format("connects %d, pipes %d, disconnects %d, refused %d",
      stats.connects, stats.pipes, stats.disconnects, stats.refused)
  end

  it("keeps its connection counts when a listener closes, and they add up", function()
    local server = helper.socket("rep")
    local listener = assert(server:listen("tcp://127.0.0.1:0"))
    local url = "tcp://127.0.0.1:" .. listener:port()
    local wrong = helper.socket("pub")
    assert(wrong:dial(url))
    helper.pipe_events_until(server, 1)
    wrong:close()
    local right = helper.socket("req")
    assert(right:dial(url))
    right:close()
    local deadline = nml.clock() + 5
    while server:stats().disconnects < 1 and nml.clock() < deadline do nml.sleep(5) end
    assert(listener:close())
    nml.sleep(200) -- NNG reaps the listener, and its statistics, a moment later
    local stats = server:stats()
    assert(adds_up(stats))
    assert.equals(1, stats.disconnects)
    assert.is_true(stats.refused >= 1)
    server:close()
  end)

  it("counts connections that add up at every moment, while a pair turns peers away", function()
    local server = helper.socket("pair")
    local url = helper.listen_fresh(server, "tcp")
    local dialers = {}
    for i = 1, 8 do
      dialers[i] = helper.socket("pair", { reconnect_min = 10, reconnect_max = 20 })
      assert(dialers[i]:dial(url, { block = false }))
    end
    local most, events = 0, {}
    for _ = 1, 200 do
      local stats = server:stats()
      assert(adds_up(stats))
      most = math.max(most, stats.pipes)
      for _, e in ipairs(server:pipe_events()) do events[e.event] = (events[e.event] or 0) + 1 end
      nml.sleep(2)
    end
    assert.equals(1, most) -- a pair's one peer
    for _, d in ipairs(dialers) do d:close() end
    local deadline = nml.clock() + 5
    while server:stats().pipes > 0 and nml.clock() < deadline do nml.sleep(5) end
    nml.sleep(100)
    for _, e in ipairs(server:pipe_events()) do events[e.event] = (events[e.event] or 0) + 1 end
    local stats = server:stats()
    assert(adds_up(stats))
    -- Each connection made is one event: a connect (with its disconnect) or a refusal.
    assert.equals(stats.connects, (events.connect or 0) + (events.refused or 0))
    assert.equals(stats.refused, events.refused or 0)
    assert.equals(stats.disconnects, events.disconnect or 0)
    server:close()
  end)

  -- The first event on `server` once a new `pattern` socket dials `url`, and that socket. The
  -- dial does not block: a blocking dial that sees a refusal's close first fails with reset.
  local function event_when_dialed(server, url, pattern)
    local client = helper.socket(pattern)
    assert(client:dial(url, { block = false }))
    return helper.pipe_events_until(server, 1)[1], client
  end

  it("reports a second peer of a pair as refused: taken", function()
    local server = helper.socket("pair")
    local url = helper.listen_fresh(server, "ipc")
    local joined, first = event_when_dialed(server, url, "pair")
    assert.equals("connect", joined.event)
    local e, second = event_when_dialed(server, url, "pair")
    assert_refused(e, "taken", "pair")
    assert.is_number(e.peer_pid)
    second:close()
    first:close()
    server:close()
  end)

  it("says why the allow list refused a peer", function()
    local server = helper.socket("pair")
    local url = helper.listen_fresh(server, "tcp")
    assert(server:allow({ uid = 0 }))
    local e, client = event_when_dialed(server, url, "pair")
    assert_refused(e, "allow", "pair")
    client:close()
    server:close()
  end)

  it("tells the peer's pattern, and its process and user on ipc", function()
    local server = helper.socket("pair")
    local url = helper.listen_fresh(server, "ipc")
    local e, client = event_when_dialed(server, url, "pair1")
    assert_refused(e, "protocol", "pair1") -- pair0 and pair1 do not talk
    client:close()
    e, client = event_when_dialed(server, url, "pair")
    assert.equals("connect", e.event)
    assert.equals("pair", e.peer)
    assert.equals(own_pid(), e.peer_pid)
    assert.is_number(e.peer_uid)
    server:close()
    client:close()
  end)

  it("keeps the last 1024 events and counts the ones it dropped", function()
    -- A pull, not a pair: a pair may turn a peer away ("taken") while the one before is still
    -- leaving, and this case is about the count, not about who is let in.
    local server = helper.socket("pull")
    local url = helper.listen_fresh(server, "inproc")
    for _ = 1, 800 do
      local c = helper.socket("push")
      assert(c:dial(url))
      c:close()
    end
    -- Every connection has come and gone once 800 are counted made and none open; the events
    -- are recorded under the same lock as these counts.
    local stats
    for _ = 1, 1000 do
      stats = server:stats()
      if stats.connects >= 800 and stats.pipes == 0 then break end
      nml.sleep(5)
    end
    assert.same({ 800, 0, 800 }, { stats.connects, stats.pipes, stats.disconnects })
    local kept, dropped = server:pipe_events()
    assert.equals(1024, #kept)
    assert.equals(1600, #kept + dropped)
    assert.equals("disconnect", kept[#kept].event)
    local after, none = server:pipe_events()
    assert.same({}, after)
    assert.equals(0, none)
    server:close()
  end)
end)

-- tcp_dead_peer_time: a peer that answers nothing (here: a process stopped with its connection
-- full, so its kernel acknowledges nothing new) loses its connection after about that long;
-- without it the kernel waits for good.
describe("tcp_dead_peer_time", function()
  local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
  local pki = helper.pki()
  local server_tls = { cert_file = pki .. "server.crt", key_file = pki .. "server.key" }
  local big = string.rep("x", 1024 * 1024)

  it("refuses what is not 0 or milliseconds from 1000 to 2^31 - 1", function()
    for _, bad in ipairs({ -1, 2 ^ 31, 1.5, "1000", true, 3, 999 }) do
      assert.has_error(function() nml.socket("push", { tcp_dead_peer_time = bad }) end)
    end
    -- A whole number out of range is said to be out of range, not not whole.
    local _, err = pcall(nml.socket, "push", { tcp_dead_peer_time = 3 })
    assert.matches("tcp_dead_peer_time is out of range %(milliseconds: 0 for the kernel's timers, or 1000 to", err)
    assert(nml.socket("push", { tcp_dead_peer_time = 1000 })):close()
    local sock = helper.socket("push")
    assert.equals(0, sock:getopt("tcp_dead_peer_time"))
    assert.has_error(function() sock:setopt("tcp_dead_peer_time", -5) end)
    assert(sock:setopt("tcp_dead_peer_time", 2500))
    assert.equals(2500, sock:getopt("tcp_dead_peer_time"))
    sock:close()
  end)

  -- A push listening on `scheme` with `ms`, a stopped pull dialing it, the connection filled:
  -- seconds until the push's pipe went (nil if it stayed `wait` seconds).
  local function seconds_to_drop(scheme, ms, wait)
    local push = helper.socket("push", { tcp_dead_peer_time = ms, send_timeout = 50 })
    local listener = assert(push:listen(scheme .. "://127.0.0.1:0" .. (scheme == "ws" and "/p" or ""),
      scheme == "tls+tcp" and { tls = server_tls } or nil))
    local url = scheme .. "://127.0.0.1:" .. listener:port() .. (scheme == "ws" and "/p" or "")
    local child = assert(io.popen(string.format("LUA_CPATH='%s;;' %s %s/support/stalled_peer.lua pull %s %s & echo $!",
      helper.cpath, helper.lua, here, url, scheme == "tls+tcp" and pki .. "ca.crt" or "")))
    local pid = child:read("*l")
    assert(child:read("*l") == "ready", "the peer did not start")
    helper.pipe_events_until(push, 1)
    os.execute("kill -STOP " .. pid)
    local started, dropped = nml.clock(), nil
    while not dropped and nml.clock() - started < wait do
      push:send(big, "string")
      for _, e in ipairs(push:pipe_events()) do
        if e.event == "disconnect" then dropped = nml.clock() - started end
      end
    end
    os.execute("kill -9 " .. pid)
    child:close()
    push:close()
    return dropped
  end

  it("leaves the kernel's timers when 0: a stopped peer keeps its connection #once", function()
    assert.is_nil(seconds_to_drop("tcp", 0, 3))
  end)

  -- The far end of a ws connection that ended while nobody there was receiving (here: ended by
  -- the push's dead-peer time, its pull reading nothing) must notice when it receives again,
  -- and dial again. NNG's websocket kept the pipe, with no read, for good (patch 0027).
  it("over ws, the far end of a connection it ended notices, and dials again #once", function()
    local push = helper.socket("push", { tcp_dead_peer_time = 1000, send_timeout = 10 })
    local listener = assert(push:listen("ws://127.0.0.1:0/p"))
    local pull = helper.socket("pull", { recv_timeout = 100, reconnect_min = 100, reconnect_max = 200 })
    assert(pull:dial("ws://127.0.0.1:" .. listener:port() .. "/p"))
    helper.pipe_events_until(push, 1)
    helper.pipe_events_until(pull, 1)
    local pad = string.rep("x", 65536)
    local started, dropped = nml.clock(), false
    while not dropped and nml.clock() - started < 10 do -- the pull reads nothing meanwhile
      push:send(pad, "string", { dontwait = true })
      for _, e in ipairs(push:pipe_events()) do dropped = dropped or e.event == "disconnect" end
      nml.sleep(1)
    end
    assert.is_true(dropped, "the push kept its connection")
    local left, back, received_after = false, false, false
    local deadline = nml.clock() + 10
    while nml.clock() < deadline and not received_after do
      local v = pull:recv()
      if v == "after" then received_after = true end
      for _, e in ipairs(pull:pipe_events()) do
        if e.event == "disconnect" then left = true elseif e.event == "connect" then back = left end
      end
      push:send("after", "string", { dontwait = true })
    end
    assert.is_true(left, "the pull never saw its connection end")
    assert.is_true(back and received_after, "the pull did not dial again and receive")
    push:close()
    pull:close()
  end)

  for _, scheme in ipairs({ "tcp", "tls+tcp", "ws" }) do
    it("ends the connection of a peer that answers nothing for that long (" .. scheme .. ") #once", function()
      local took = seconds_to_drop(scheme, 1000, 8)
      assert.is_number(took, "the stopped peer's connection stayed 8 s")
      assert.is_true(took >= 0.9, string.format("dropped after %.2f s", took))
    end)
  end
end)
