-- Request/reply: a rep service and a req client in one process, over inproc. Each request is a
-- table; each reply says which protocol carried it.
local nml = require "nml"

local service = assert(nml.socket("rep", { recv_timeout = 2000 }))
local client = assert(nml.socket("req", { recv_timeout = 2000 }))
assert(service:listen("inproc://reqrep-example"))
assert(client:dial("inproc://reqrep-example"))

for _, pair in ipairs { { 2, 3 }, { 40, 2 } } do
  assert(client:send({ op = "add", args = pair }))
  local request = assert(service:recv())
  assert(service:send({ result = request.args[1] + request.args[2] }, "json"))
  local reply, protocol = assert(client:recv())
  print(string.format("%d + %d = %d (reply as %s)", pair[1], pair[2], reply.result, protocol))
end
client:close()
service:close()
