-- The client of serve_in_loop.lua: 8 requests at once on 8 req sockets, then one whose
-- handler raises, then one that stops the server. Prints each answer.
local nml = require "nml"
local url = arg[1]
local sockets = {}
for i = 1, 8 do
  local req = assert(nml.socket("req", { recv_timeout = 5000 }))
  assert(req:dial(url))
  assert(req:send({ n = i }))
  sockets[i] = req
end
local sum = 0
for i = 1, 8 do
  local reply = assert(sockets[i]:recv())
  sum = sum + reply.n
end
print("sum", sum)
local req = sockets[1]
assert(req:send({ op = "raise" }))
print("raise", req:recv())
assert(req:send({ op = "stop" }))
print("stop", req:recv())
