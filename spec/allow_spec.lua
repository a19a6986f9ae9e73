-- Who may connect over ipc: sock:allow lets in only the peers whose uid or gid it names, by
-- the credentials the kernel gives (SO_PEERCRED); the rest are refused and reported.
local helper = require "helper"
local nml = require "nml"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"

local function id_of(flag)
  local p = io.popen("id " .. flag)
  local n = tonumber(p:read("*l"))
  p:close()
  return n
end

-- User nobody may not be able to reach this checkout (a clone in a private directory), so
-- the peer script and nml.so are copied where anyone can read them.
local shared = helper.tmpname() .. "-allow"
local library = helper.cpath:match("^[^;]*"):gsub("%?", "nml")
os.execute(string.format("mkdir -p %s && cp %s %s/nml.so && cp %s/support/ipc_peer.lua %s/ && chmod -R a+rX %s",
  shared, library, shared, here, shared, shared))

-- Starts the peer against `url` as user nobody (root only); read its output.
local function start_as_nobody(url)
  return assert(io.popen(string.format(
    "LUA_CPATH='%s/?.so;;' setpriv --reuid=nobody --regid=nogroup --clear-groups %s %s/ipc_peer.lua %s 2>&1",
    shared, helper.lua_for_nobody(shared), shared, url)))
end

-- Serves one request on `server` in the background of this process: answers "hi" to anything,
-- for the given time.
local function serve(server, ms)
  local deadline = nml.clock() + ms / 1000
  while nml.clock() < deadline do
    local request = server:recv({ dontwait = true })
    if request then assert(server:send("hi")) end
    nml.sleep(5)
  end
end

local root = id_of("-u") == 0
local function nobody_can_load_nml()
  local ran = os.execute(string.format(
    "LUA_CPATH='%s/?.so;;' setpriv --reuid=nobody --regid=nogroup --clear-groups %s -e 'require \"nml\"' "
      .. ">/dev/null 2>&1",
    shared, helper.lua_for_nobody(shared)))
  return ran == true or ran == 0
end
local can_switch = root and nobody_can_load_nml()

describe("sock:allow", function()
  it("lets in this process's uid and reports the peer's credentials", function()
    local server = helper.socket("rep")
    local url = "abstract://nml-allow-" .. helper.next_id()
    assert(server:listen(url))
    assert(server:allow({ uid = id_of("-u") }))
    local client = helper.socket("req")
    assert(client:dial(url))
    assert(client:send("hello"))
    assert.equals("hello", server:recv())
    local events = helper.pipe_events_until(server, 1)
    assert.equals("connect", events[1].event)
    assert.equals(id_of("-u"), events[1].peer_uid)
    assert.equals(id_of("-g"), events[1].peer_gid)
    server:close()
    client:close()
  end)

  it("refuses peers over transports that carry no credentials, not peers in this process", function()
    local server = helper.socket("rep")
    local port = assert(server:listen("tcp://127.0.0.1:0")):port()
    assert(server:listen("inproc://nml-allow-inproc-" .. helper.next_id()))
    assert(server:allow({ uid = 12345 }))
    local tcp = helper.socket("req", { recv_timeout = 300 })
    assert(tcp:dial("tcp://127.0.0.1:" .. port, { block = false }))
    nml.sleep(200)
    local refused
    for _, e in ipairs(server:pipe_events()) do
      if e.event == "refused" then refused = e end
    end
    assert.is_table(refused)
    assert.matches("^127%.0%.0%.1:", refused.address)
    server:close()
    tcp:close()
  end)

  if can_switch then
    it("refuses a peer of another uid, and lets it in once its uid is listed", function()
      local server = helper.socket("rep")
      local url = "abstract://nml-allow-other-" .. helper.next_id()
      assert(server:listen(url))
      assert(server:allow({ uid = id_of("-u") })) -- root only
      local peer = start_as_nobody(url)
      serve(server, 2000)
      local out = peer:read("*a")
      peer:close()
      -- The kernel says who the peer is before NNG adds the connection; nml closes it then.
      assert.is_truthy(out:find("dial failed", 1, true) or out:find("no reply", 1, true), out)
      local refused
      for _, e in ipairs(server:pipe_events()) do
        if e.event == "refused" then refused = e end
      end
      assert.is_table(refused)
      assert.equals(65534, refused.peer_uid)
      -- nobody's gid admits it.
      assert(server:allow({ uid = 0, gid = 65534 }))
      peer = start_as_nobody(url)
      serve(server, 1500)
      assert.matches("reply: hi", peer:read("*a"))
      peer:close()
      assert(server:allow(nil))
      server:close()
    end)
  else
    pending("refuses a peer of another uid (needs root, setpriv, and a place nobody can load nml from)")
  end

  it("checks its argument", function()
    local s = helper.socket("rep")
    assert.has_error(function() s:allow({ uid = "root" }) end)
    assert.has_error(function() s:allow({ uid = -1 }) end)
    assert.has_error(function() s:allow({ user = 0 }) end)
    assert.has_error(function() s:allow(42) end)
    s:close()
  end)
end)

