-- The middle of examples/forwarder.lua: a raw sub socket in front (the publisher dials it) and
-- a raw pub socket behind, listening on two loopback addresses that stand for two hosts, joined
-- by nml.forward. NNG forwards on its own threads; this script only waits for "stop" on a
-- control socket, then closes, which ends the forwarder.
local nml = require "nml"

local control_url = assert(arg[1], "usage: forwarder.lua <control url>")
-- A raw sub drops what arrives while its queue is full (the default holds one message), so a
-- forwarder's front gets a deep queue, and its back as deep a send queue per subscriber.
local front = assert(nml.socket("sub", { raw = true, recv_buffer = 8192 }))
local back = assert(nml.socket("pub", { raw = true, send_buffer = 8192 }))
local front_port = assert(front:listen("tcp://127.0.0.1:0")):port()
local back_port = assert(back:listen("tcp://127.0.0.1:0")):port()
assert(back:listen("tcp://127.0.0.2:" .. back_port))
assert(nml.forward(front, back))
print(string.format("forwarder: front on 127.0.0.1:%d, back on 127.0.0.1:%d and 127.0.0.2:%d",
  front_port, back_port, back_port))
io.stdout:flush()

-- Never waits for ever: a parent that failed before saying "stop" must not leave this behind.
local control = assert(nml.socket("rep", { recv_timeout = 60000 }))
assert(control:listen(control_url))
if control:recv() == "stop" then
  assert(control:send("stopped"))
  -- NNG keeps no linger: closing now could drop the reply. The parent hangs up once it has it.
  local deadline = nml.clock() + 5
  while control:stats().pipes > 0 and nml.clock() < deadline do nml.sleep(10) end
end
front:close()
back:close()
