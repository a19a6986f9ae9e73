-- A ws dialer closed while it redials a port nobody listens on, again and again. NNG 2.0.0's
-- websocket dialer passed its connection in progress to the dial's cancel function; a refused
-- connection was freed while the closing dialer was about to cancel it, which then locked a
-- destroyed mutex and aborted (nni_panic in wstran_dialer_close; issue 24;
-- third_party/patches/0010-websocket-dial-cancel-through-dialer.patch). Run by
-- spec/ws_drop_spec.lua in child processes, so that an abort is a failed exit.
--   ws_redial_close.lua ROUNDS   ROUNDS x a push that redials every 1 ms, closed after 0-3 ms
local nml = require "nml"

local rounds = tonumber(arg[1]) or 1000
-- A port that refuses: listen, learn the port, close.
local probe = assert(nml.socket("pull"))
local url = assert(assert(probe:listen("ws://127.0.0.1:0/nml")):url())
probe:close()

math.randomseed(os.time())
for round = 1, rounds do
  local push = assert(nml.socket("push", { reconnect_min = 1, reconnect_max = 1 }))
  assert(push:dial(url, { block = false }))
  nml.sleep(math.random(0, 3))
  push:close()
  if round % 1000 == 0 then io.stderr:write(".") end
end
print(string.format("survived %d closes while redialing", rounds))
