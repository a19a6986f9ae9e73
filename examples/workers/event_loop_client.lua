-- The other process of examples/event_loop_*.lua: plain blocking nml, no event loop. It keeps
-- 8 requests in flight at once against the server's rep socket (so the server must hold 8
-- through its contexts), pushes 100 items to the server's pull socket, and takes 100 items
-- from the server's push socket. Prints what it checked, then "client ok".
local nml = require "nml"

local rep_url, pull_url, push_url = arg[1], arg[2], arg[3]
local options = { recv_timeout = 10000, send_timeout = 10000 }

local clients = {}
for i = 1, 8 do
  clients[i] = assert(nml.socket("req", options))
  assert(clients[i]:dial(rep_url))
end
local to_server = assert(nml.socket("push", options))
assert(to_server:dial(pull_url))
local from_server = assert(nml.socket("pull", options))
assert(from_server:dial(push_url))

local answered = 0
for round = 1, 10 do
  for i, c in ipairs(clients) do assert(c:send({ client = i, n = round * 100 + i })) end
  for i, c in ipairs(clients) do
    local reply = assert(c:recv())
    assert(reply.client == i and reply.double == 2 * (round * 100 + i), "a reply reached the wrong client")
    answered = answered + 1
  end
end
print(string.format("client: %d requests answered, each by its own reply", answered))

for i = 1, 100 do assert(to_server:send({ item = i })) end
local sum = 0
for _ = 1, 100 do sum = sum + assert(from_server:recv()).item end
print(string.format("client: pushed 100 items, pulled 100 items (sum %d)", sum))
-- The server reads our last pushes before it ends; wait for its word that it has.
assert(from_server:recv({}) == "done")
print("client ok")
