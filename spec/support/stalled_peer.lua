-- A receiver that connects and then never reads, for spec/loss_spec.lua: dials URL as KIND
-- (subscribed to everything if a sub), prints "ready", and sleeps until killed. The spec
-- stops it (SIGSTOP) so that the connection fills, then kills it (SIGKILL) to break it.
-- CA_FILE, for a tls+tcp:// or wss:// URL, is the certificate authority to trust.
--   stalled_peer.lua KIND URL [CA_FILE]
local nml = require "nml"
local sock = assert(nml.socket(arg[1]))
if arg[1] == "sub" then assert(sock:subscribe("")) end
assert(sock:dial(arg[2], arg[3] and { tls = { ca_file = arg[3], server_name = "localhost" } } or nil))
io.stdout:setvbuf("no")
print("ready")
while true do nml.sleep(1000) end
