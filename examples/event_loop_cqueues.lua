-- A server inside a cqueues event loop, in one Lua state: a rep socket served through 8
-- contexts, a pull socket and a push socket, none of them ever blocking the loop (the server
-- is workers/event_loop_server.lua; the clients are another process).
local cqueues = require "cqueues"
local nml = require "nml"

local loop = cqueues.new()
nml.waiter(loop) -- how a coroutine waits for a socket: cqueues.poll
local here = (arg and arg[0] or ""):match("^(.*)/") or "."
local server = dofile(here .. "/workers/event_loop_server.lua")
local s = server.open(here)
server.serve(s, function(f) loop:wrap(f) end, function(ms) cqueues.sleep(ms / 1000) end)

-- Runs the loop until everything crossed (contexts left waiting for more are dropped).
local deadline = nml.clock() + 20
while not server.done(s) and nml.clock() < deadline do
  assert(loop:step(0.05))
end
server.finish(s, "cqueues")
