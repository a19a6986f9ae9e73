-- A pipeline: push hands work to pull, in order, over ipc. The frames travel as nml messages
-- handed to NNG without a copy (nml.NN_MSG).
local nml = require "nml"

local path = os.tmpname()
os.remove(path)
local url = "ipc://" .. path .. ".ipc"
local pull = assert(nml.socket("pull", { recv_timeout = 2000 }))
local push = assert(nml.socket("push", { send_timeout = 2000 }))
assert(pull:listen(url))
assert(push:dial(url))

for i = 1, 3 do
  local frame = nml.allocmsg(4096)
  frame:write(0, string.format("frame %d", i))
  assert(nml.send(push, frame, 0, nml.NN_MSG)) -- frame is consumed
end
for _ = 1, 3 do
  local msg, bytes, protocol = assert(nml.recv(pull, 0, nil, nml.NN_MSG))
  print(string.format("%s: %d bytes (%s), no copy", msg:tostring(0, 7), bytes, protocol))
  nml.freemsg(msg)
end
push:close()
pull:close()
