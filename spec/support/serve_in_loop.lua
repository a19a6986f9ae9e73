-- nml.serve under one event loop: `serve_in_loop.lua luv|cqueues|copas url`. A rep socket
-- served through 8 contexts; a client process (serve_client.lua) sends 8 requests at once.
-- Each handler waits (through the loop) until all 8 are being handled, so the server only
-- answers if 8 contexts really run at once. Then a request whose handler raises, one that
-- stops the server. Prints what it saw; the loop must end by itself once the server stops.
local loop_name, url = arg[1], arg[2]
local nml = require "nml"

local loop, run
if loop_name == "luv" then
  loop = require "luv"
  run = function() loop.run() end
elseif loop_name == "cqueues" then
  loop = require("cqueues").new()
  run = function() assert(loop:loop()) end
elseif loop_name == "copas" then
  loop = require "copas"
  run = function(server) while server:result() == false do loop.step(0.05) end end
end

local rep = assert(nml.socket("rep"))
local listener = assert(rep:listen(url))
if url:match("^tcp:.*:0$") then url = url:gsub(":0$", ":" .. listener:port()) end -- the port the system chose
-- The gate: once 8 handlers are busy, 8 tokens come through it, one for each.
local gate_in, gate_out = assert(nml.socket("pull")), assert(nml.socket("push", { send_buffer = 16 }))
assert(gate_in:listen("inproc://gate"))
assert(gate_out:dial("inproc://gate"))

local busy, most, errors = 0, 0, {}
local server = assert(nml.serve(rep, {
  loop = loop,
  contexts = 8,
  on_error = function(message) errors[#errors + 1] = message end,
}, function(request, protocol, server)
  if request.op == "raise" then error("no such thing", 0) end
  if request.op == "stop" then
    server:stop()
    return "stopping"
  end
  busy = busy + 1
  most = math.max(most, busy)
  if busy == 8 then
    for _ = 1, 8 do assert(gate_out:send("go")) end
  end
  assert(nml.await_recv(gate_in)) -- yields to the loop: the other contexts go on
  busy = busy - 1
  return { n = request.n * 2 }, protocol
end))

local here = arg[0]:match("^(.*)/") or "."
local client = assert(io.popen(string.format("%s %s/serve_client.lua %s", arg[-1], here, url)))
run(server)
io.write(client:read("*a"))
client:close()
print("most at once", most)
print("errors", table.concat(errors, "|"))
print("result", server:result())
print(tostring(server))
