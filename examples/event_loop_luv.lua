-- A server inside a luv (libuv) event loop, in one Lua state: a rep socket served through 8
-- contexts, a pull socket and a push socket, none of them ever blocking the loop (the server
-- is workers/event_loop_server.lua; the clients are another process).
local uv = require "luv"
local nml = require "nml"

-- How a coroutine waits for a socket: through luv (one poll handle per descriptor, shared by
-- every coroutine waiting on it).
nml.waiter(uv)

local function spawn(f)
  assert(coroutine.resume(coroutine.create(f)))
end

local function pause(ms)
  local me, timer = coroutine.running(), uv.new_timer()
  timer:start(ms, 0, function()
    timer:close()
    assert(coroutine.resume(me))
  end)
  coroutine.yield()
end

local here = (arg and arg[0] or ""):match("^(.*)/") or "."
local server = dofile(here .. "/workers/event_loop_server.lua")
local s = server.open(here)
server.serve(s, spawn, pause)

-- Runs the loop until everything crossed (contexts left waiting for more are dropped).
local check, deadline = uv.new_timer(), nml.clock() + 20
check:start(10, 10, function()
  if server.done(s) or nml.clock() > deadline then
    check:close()
    uv.stop()
  end
end)
uv.run()
server.finish(s, "luv")
