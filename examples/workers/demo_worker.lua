-- The worker of examples/demo.lua: answers jobs on a rep socket until told to shut down.
local nml = require "nml"

local url = assert(arg[1], "usage: demo_worker.lua URL")
io.stdout:setvbuf("line") -- the client reads our lines as they come
local worker = assert(nml.socket("rep", { recv_timeout = 10000, send_timeout = 10000 }))
assert(worker:dial(url))

local function checksum(s)
  local sum = 0
  for i = 1, #s, 4096 do
    local chunk = { s:byte(i, i + 4095) }
    for j = 1, #chunk do sum = (sum * 31 + chunk[j]) % 4294967296 end
  end
  return sum
end

while true do
  local msg, protocol = assert(worker:recv())
  if msg == "shutdown" then
    assert(worker:send("bye", "string"))
    -- The client read "bye" once it sends again; then nothing of ours is left to write.
    assert(assert(worker:recv()) == "close")
    break
  end
  local view = msg.frame.buffer -- an nml message: a view into the received message, no copy
  local frame = view:tostring()  -- a Lua string of its bytes, made here for the checksum
  io.write(string.format("  worker got job %d (%s): %s frame of %d bytes, %dx%d, as %s\n",
    msg.id, protocol, msg.frame.buffer_ud_type, #frame, msg.params.width, msg.params.height,
    tostring(view)))
  assert(worker:send({ id = msg.id, ok = true, bytes = #frame, checksum = checksum(frame),
    thumbnail = { width = 160, height = 120 } }, "json"))
end
worker:close()
