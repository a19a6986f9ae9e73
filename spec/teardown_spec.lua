-- Closing sockets never aborts the process, whether by close(), by the garbage collector or at
-- exit, while their dials are reconnecting every millisecond.
local helper = require "helper"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"

local function churn(url, rounds, how)
  local cmd = string.format("LUA_CPATH='%s;;' %s %s/support/reconnect_churn.lua %s %d %s",
    helper.cpath, helper.lua, here, url, rounds, how)
  return helper.run(cmd)
end

local refused_tcp = "tcp://127.0.0.1:1"
local missing_ipc = "ipc:///tmp/nml-spec-nobody-listens-here.ipc"

describe("closing sockets whose dials reconnect", function()
  for _, url in ipairs { refused_tcp, missing_ipc } do
    it("survives 1000 closes by close() (" .. url:match("^%a+") .. ")", function()
      local out, ok = churn(url, 50, "close")
      assert(ok, out)
      assert.matches("closed 1000 sockets", out)
    end)
  end

  it("survives 1000 closes by the garbage collector", function()
    local out, ok = churn(refused_tcp, 50, "gc")
    assert(ok, out)
    assert.matches("closed 1000 sockets", out)
  end)

  it("survives exit with 20 sockets dialing, 20 times over", function()
    for run = 1, 20 do
      local out, ok = churn(refused_tcp, 1, "exit")
      assert(ok, "run " .. run .. ": " .. out)
      assert.matches("exiting with 20 sockets dialing", out)
    end
  end)
end)

-- A listener closed while connections arrive: NNG finished an accept that completed as its
-- listener stopped with an error and the connection, which nobody freed (an outsider's storm
-- left 10 descriptors in CLOSE-WAIT over 200 closes; patch 0031).
describe("closing listeners and dialers while connections are made", function()
  local nml = helper.nml

  local function sockets_open()
    local n = 0
    local pid = io.open("/proc/self/stat"):read("*n")
    for line in io.popen("ls -l /proc/" .. pid .. "/fd 2>/dev/null"):lines() do
      if line:find("socket:", 1, true) then n = n + 1 end
    end
    return n
  end

  -- TLS's and WebSocket's listeners and dialers sit on tcp's, and have their own accept and
  -- dial callbacks (and the http server and client between them).
  local pki = helper.pki()
  local server_tls = { cert_file = pki .. "server.crt", key_file = pki .. "server.key" }
  local client_tls = { ca_file = pki .. "ca.crt", server_name = "localhost" }
  local secure = { ["tls+tcp"] = true, wss = true }

  -- Listens on a fresh address of `transport`; returns its URL.
  local function listen(sock, transport)
    if transport == "tcp" or transport == "ipc" or transport == "ws" then
      return helper.listen_fresh(sock, transport)
    end
    local path = transport == "wss" and "/nml" or ""
    local listener = assert(sock:listen(transport .. "://127.0.0.1:0" .. path, { tls = server_tls }))
    return transport .. "://127.0.0.1:" .. listener:port() .. path
  end

  for _, transport in ipairs { "tcp", "ipc", "ws", "tls+tcp", "wss" } do
    it("leaves none of them open (" .. transport .. ") #once", function()
      local address = helper.tmpname()
      local storm = io.popen(string.format("%s %s/support/connect_storm.py %s 60 2>&1",
        helper.python, here, address))
      local before = sockets_open()
      for _ = 1, 150 do
        local sock = helper.socket("pair")
        local url = listen(sock, transport)
        helper.write_file(address, url)
        nml.sleep(math.random(5, 30))
        sock:close()
      end
      helper.write_file(address, "tcp://127.0.0.1:1") -- the storm goes nowhere now
      nml.sleep(1000)
      local left = sockets_open() - before
      os.execute("pkill -f " .. address .. " 2>/dev/null")
      storm:close()
      os.remove(address)
      assert.are.equal(0, left, left .. " accepted connections still open")
    end)
  end

  -- The dialing side: a socket closed as its dial completes (a pub dialing a rep is turned away
  -- at once and dials again within milliseconds, so a dial is nearly always under way). The
  -- outsider's count before 0031 covered these: 16 left over 300 closes on tcp, 27 over 200 on ws.
  for _, transport in ipairs { "tcp", "ws", "tls+tcp", "wss" } do
    it("leaves no dialed connection open when the dialer closes (" .. transport .. ") #once", function()
      local rep = helper.socket("rep")
      local url = listen(rep, transport)
      local before = sockets_open()
      for _ = 1, 200 do
        local pub = helper.socket("pub", { reconnect_min = 1, reconnect_max = 2 })
        assert(pub:dial(url, { block = false, tls = secure[transport] and client_tls or nil }))
        nml.sleep(math.random(0, 2))
        pub:close()
      end
      nml.sleep(1000)
      local left = sockets_open() - before
      rep:close()
      assert.are.equal(0, left, left .. " dialed connections still open")
    end)
  end

  -- Both at once, as an outsider stormed them: one socket's listener closed and opened again on
  -- its port while nml's own dialers, some closed at once and some kept, connect through TLS and
  -- WebSocket handshakes (a raw storm meets only the tcp accept beneath them). Before patch 0033
  -- the ws and TLS layers left connections open at both ends: 11 (ws) and 66 (wss) over 200
  -- rounds (100 here keep make test shorter: about 5 and 30 expected).
  for _, transport in ipairs { "ws", "tls+tcp", "wss" } do
    it("leaves none open when a listener closes under its dialers (" .. transport .. ") #once", function()
      local rep = helper.socket("rep")
      local before = sockets_open()
      local url = listen(rep, transport) -- the port is kept: the kept dialers redial it
      rep:close()
      rep = helper.socket("rep")
      local kept = {}
      for _ = 1, 100 do
        local listener = rep:listen(url, { tls = secure[transport] and server_tls or nil })
        for i = 1, 4 do
          local dialer = helper.socket(i == 4 and "pub" or "req", { reconnect_min = 1, reconnect_max = 3 })
          assert(dialer:dial(url, { block = false, tls = secure[transport] and client_tls or nil }))
          if math.random() < 0.4 then
            nml.sleep(math.random(0, 2))
            dialer:close()
          else
            kept[#kept + 1] = dialer
          end
        end
        nml.sleep(math.random(0, 25))
        if listener then listener:close() end -- nil: the port was briefly in use (a redial's own)
        while #kept > 8 do table.remove(kept, math.random(#kept)):close() end
      end
      for _, dialer in ipairs(kept) do dialer:close() end
      rep:close()
      nml.sleep(1500)
      local left = sockets_open() - before
      assert.are.equal(0, left, left .. " connections still open")
    end)
  end

  -- A ws pipe's end waits up to 100 ms for the peer's close frame, on NNG's one reaper thread,
  -- one pipe after another; a peer that had left already (its connection ended) was waited
  -- for all the same. An outsider's storm of upgrades held by clients that leave when the
  -- server's close frame comes, under a ws listener closed and opened again, kept thousands of
  -- pipes (15 to 20 KB each) queued behind that wait (patch 0039).
  -- An outsider then found the wait kept when the peer answers with a frame that breaks the
  -- protocol before it leaves: reading stopped there, and its end went unseen.
  for _, mode in ipairs { "leave", "broken" } do
    it("lets ws pipes go at once when their peers leave without a close frame (" .. mode .. ") #once", function()
      local rep = helper.socket("rep")
      local listener = assert(rep:listen("ws://127.0.0.1:0/nml"))
      local child = assert(io.popen(string.format("%s %s/support/ws_held.py %d 100 %s",
        helper.python, here, listener:port(), mode)))
      assert.equals("ready", child:read("*l"))
      local deadline = nml.clock() + 5
      while rep:stats().pipes < 100 and nml.clock() < deadline do nml.sleep(10) end
      assert.equals(100, rep:stats().pipes)
      listener:close() -- ends its pipes: a close frame to each peer, which leaves
      -- 100 pipes waited for 100 ms each took 10 s; without the wait, a few milliseconds.
      deadline = nml.clock() + 3
      while rep:stats().pipes > 0 and nml.clock() < deadline do nml.sleep(10) end
      local held = rep:stats().pipes
      rep:close()
      local ended = child:read("*l")
      child:close()
      assert.equals("ended 100", ended)
      assert.equals(0, held, held .. " of 100 pipes still held 3 s after their peers left")
    end)
  end
end)
