-- A Lua program and a Python worker (pynng + msgpack) exchange tables over NNG. The Python side
-- is examples/workers/python_worker.py: it strips nml's two-byte envelope, unpacks with
-- msgpack, and answers with the envelope in front.
local nml = require "nml"

local here = (arg and arg[0] or ""):match("^(.*)/") or "."
local path = os.tmpname()
os.remove(path)
local url = "ipc://" .. path .. ".ipc"

local sock = assert(nml.socket("req", { recv_timeout = 10000, send_timeout = 10000 }))
assert(sock:listen(url))
local worker = assert(io.popen("python3 " .. here .. "/workers/python_worker.py " .. url, "r"))

for _, numbers in ipairs { { 1, 2, 3 }, { 10.5, -2 }, {} } do
  assert(sock:send({ op = "sum", numbers = numbers }))
  local reply, protocol = assert(sock:recv())
  print(string.format("sum of %d numbers = %s (reply in %s from %s)", #numbers, tostring(reply.result),
    protocol, reply.worker))
end
assert(sock:send({ op = "stop" }))
assert(sock:recv())
sock:close() -- the worker waits for this before it exits
io.write(worker:read("*a"))
worker:close()
