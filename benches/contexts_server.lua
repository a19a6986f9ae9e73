-- The nml side of the contexts bench: a rep server in one Lua state, under cqueues, with 64
-- contexts, each decoding a request and sending it back encoded (nml.await_recv and
-- nml.await_send). Runs until killed.
--   lua contexts_server.lua <url>
local cqueues = require "cqueues"
local nml = require "nml"

nml.waiter(function(fd, timeout_ms)
  local readable = { pollfd = fd, events = "r" }
  return cqueues.poll(readable, timeout_ms and timeout_ms / 1000) == readable
end)

local server = assert(nml.socket("rep"))
local url = assert(arg[1], "usage: contexts_server.lua <url>")
assert(server:listen(url)) -- (assert returns its message too, which listen took as options)
local loop = cqueues.new()
for _ = 1, 64 do
  local ctx = assert(server:context())
  loop:wrap(function()
    while true do
      local request = assert(nml.await_recv(ctx))
      assert(nml.await_send(ctx, request))
    end
  end)
end
io.write("ready\n")
io.flush()
assert(loop:loop())
