-- The forwarder of benches/run's forward part: nml.forward between a raw rep listening on
-- FRONT and a raw req dialing BACK (the contexts bench's server). Prints "ready" and runs
-- until killed, printing each second how many replies its back refused (patch 0026).
--   lua forwarder.lua <front url> <back url>
local nml = require "nml"

local front_url, back_url = arg[1], arg[2]
assert(front_url and back_url, "usage: forwarder.lua <front url> <back url>")
local front = assert(nml.socket("rep", { raw = true }))
local back = assert(nml.socket("req", { raw = true }))
assert(front:listen(front_url))
assert(back:dial(back_url))
assert(nml.forward(front, back))
io.write("ready\n")
io.flush()
while true do
  nml.sleep(1000)
  io.write(string.format("refused %d\n", back:stats().recv_drops))
  io.flush()
end
