-- A fan-out tree across "hosts" with NNG's own forwarder, no broker: this process publishes;
-- workers/forwarder.lua forwards (nml.forward over raw sockets, on NNG's threads) to two
-- loopback addresses standing for two hosts; workers/subscribers.lua subscribes on each.
-- Three processes; every message reaches both subscribers with its protocol tag and topic.
local nml = require "nml"

local lua = arg and arg[-1] or "lua"
local here = (arg and arg[0] or ""):match("^(.*)/") or "."
local control_url = "ipc://" .. os.tmpname() .. ".ipc"

local forwarder = assert(io.popen(string.format("%s %s/workers/forwarder.lua %s", lua, here, control_url), "r"))
local announced = assert(forwarder:read("*l"), "the forwarder did not start")
print(announced)
local front_port, back_port = announced:match("front on 127%.0%.0%.1:(%d+), back on 127%.0%.0%.1:(%d+)")

local per_protocol = 3
local sync_url = "ipc://" .. os.tmpname() .. ".ipc"
local sync = assert(nml.socket("rep"))
assert(sync:listen(sync_url))
local subscribers = assert(io.popen(string.format("%s %s/workers/subscribers.lua %s %d %s",
  lua, here, back_port, 3 * per_protocol, sync_url), "r"))

-- Pub/sub drops what is sent before a subscriber is connected all the way through the
-- forwarder, so probes go out until both subscribers say they got one.
local publisher = assert(nml.socket("pub", { send_buffer = 1024 }))
assert(publisher:dial("tcp://127.0.0.1:" .. front_port))
local ready = 0
while ready < 2 do
  assert(publisher:send("probe", "string", { topic = "demo.probe" }))
  local word = sync:recv({ dontwait = true })
  if word then
    ready = ready + 1
    assert(sync:send("go"))
  else
    nml.sleep(20)
  end
end
-- Pub/sub never waits: a queue that fills on the way drops what comes next, so this publisher
-- paces itself (a real one sizes send_buffer and recv_buffer to its bursts).
for seq = 1, per_protocol do
  assert(publisher:send({ seq = seq, reading = seq * 1.5 }, "msgpack", { topic = "demo.MessagePack" }))
  assert(publisher:send({ seq = seq, ok = true }, "json", { topic = "demo.JSON" }))
  assert(publisher:send("reading " .. seq, "string", { topic = "demo.string" }))
  nml.sleep(10)
end
print(string.format("publisher: sent %d messages, %d per protocol", 3 * per_protocol, per_protocol))
io.write(subscribers:read("*a"))
assert(subscribers:close(), "the subscribers failed")

local control = assert(nml.socket("req", { recv_timeout = 20000 }))
assert(control:dial(control_url))
assert(control:send("stop"))
local stopped, why = control:recv()
assert(stopped == "stopped", "the forwarder did not answer stop: " .. tostring(why))
control:close()
forwarder:close()
publisher:close()
print("forwarder ok: every message crossed to both hosts")
