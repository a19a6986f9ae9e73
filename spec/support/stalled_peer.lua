-- A receiver that connects and then never reads, for spec/loss_spec.lua: dials URL as KIND
-- (subscribed to everything if a sub), prints "ready", and sleeps until killed. The spec
-- stops it (SIGSTOP) so that the connection fills, then kills it (SIGKILL) to break it.
--   stalled_peer.lua KIND URL
local nml = require "nml"
local sock = assert(nml.socket(arg[1]))
if arg[1] == "sub" then assert(sock:subscribe("")) end
assert(sock:dial(arg[2]))
io.stdout:setvbuf("no")
print("ready")
while true do nml.sleep(1000) end
