-- A peer for spec/allow_spec.lua, run under another uid by setpriv: dials the url, sends
-- "hello", and prints what came back (or why nothing did).
local nml = require "nml"
local sock = assert(nml.socket("req", { recv_timeout = 1500, send_timeout = 1500 }))
local ok, err = sock:dial(arg[1])
if not ok then
  print("dial failed: " .. tostring(err))
  return
end
-- A refused peer may see its dial succeed (the pipe is closed just after): then its send
-- finds no pipe and times out, which is "no reply" too.
local sent, send_err = sock:send("hello")
if not sent then
  print("no reply: the send failed: " .. tostring(send_err))
  return
end
local reply, why = sock:recv()
print(reply and ("reply: " .. reply) or ("no reply: " .. tostring(why)))
