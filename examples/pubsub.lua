-- Publish/subscribe with topics: the subscriber gets only what matches its prefix, and recv
-- returns the topic with the value.
local nml = require "nml"

local pub = assert(nml.socket("pub"))
local sub = assert(nml.socket("sub", { recv_timeout = 50 }))
assert(pub:listen("inproc://pubsub-example"))
assert(sub:dial("inproc://pubsub-example"))
assert(sub:subscribe("weather"))

-- A subscriber that has just connected may miss the first messages: publish until one lands.
local value, protocol, topic
for _ = 1, 100 do
  pub:send({ city = "Lyon", temp = 21.5 }, nil, { topic = "weather.lyon" })
  pub:send({ headline = "not for us" }, nil, { topic = "news" })
  value, protocol, topic = sub:recv()
  if value then break end
end
print(string.format("%s: %s %.1f (as %s)", topic, value.city, value.temp, protocol))
local other = sub:recv()
print("news filtered out: " .. tostring(other == nil or other.city ~= nil))
pub:close()
sub:close()
