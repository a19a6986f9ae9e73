-- The leaves of examples/forwarder.lua: two subscribers, one on each "host" behind the
-- forwarder (127.0.0.1 and 127.0.0.2), each taking `n` messages and checking that every one
-- kept its protocol and topic.
local nml = require "nml"

local port, n, sync_url = assert(tonumber(arg[1])), assert(tonumber(arg[2])), assert(arg[3])
local subs = {}
for _, host in ipairs { "127.0.0.1", "127.0.0.2" } do
  local sub = assert(nml.socket("sub", { recv_timeout = 10000, recv_buffer = 1024 }))
  assert(sub:subscribe("demo."))
  assert(sub:dial(string.format("tcp://%s:%d", host, port)))
  subs[#subs + 1] = { host = host, socket = sub }
end

-- Pub/sub delivers only to subscribers already connected all the way, so each one waits for
-- the publisher's first probe, then says so on a req socket (the publisher stops probing once
-- every subscriber has).
local sync = assert(nml.socket("req", { recv_timeout = 10000 }))
assert(sync:dial(sync_url))
for _, s in ipairs(subs) do
  local _, _, topic = assert(s.socket:recv())
  assert(topic == "demo.probe", "the first message is a probe")
  assert(sync:send("ready " .. s.host))
  assert(sync:recv() == "go")
end

for _, s in ipairs(subs) do
  local count, protocols = 0, {}
  while count < n do
    local value, protocol, topic = assert(s.socket:recv())
    if topic ~= "demo.probe" then -- probes still in flight when the last subscriber got one
      assert(topic == "demo." .. protocol, "topic " .. tostring(topic) .. " for " .. protocol)
      local seq = type(value) == "table" and value.seq or tonumber(value:match("%d+"))
      assert(seq, "no sequence number")
      protocols[protocol] = (protocols[protocol] or 0) + 1
      count = count + 1
    end
  end
  print(string.format("subscriber on %s: %d messages (MessagePack %d, JSON %d, string %d), tags intact",
    s.host, count, protocols.MessagePack or 0, protocols.JSON or 0, protocols.string or 0))
end
