-- Closing sockets whose dials keep reconnecting: NNG 1.11 aborted here ("pthread_mutex_lock:
-- Invalid argument", nanomsg/nng#2110). Run by spec/teardown_spec.lua in a child process, so
-- that an abort is a failed exit rather than the end of busted.
--   reconnect_churn.lua URL ROUNDS close   ROUNDS x 20 sockets, each closed by sock:close()
--   reconnect_churn.lua URL ROUNDS gc      the same, each left to the garbage collector
--   reconnect_churn.lua URL 1 exit         20 sockets still dialing when the process exits
local nml = require "nml"

local url, rounds, how = arg[1], tonumber(arg[2]), arg[3]
local closed = 0

local function busy_wait(seconds)
  local stop = nml.clock() + seconds
  while nml.clock() < stop do end
end

for round = 1, rounds do
  local socks = {}
  for i = 1, 20 do
    local sock = assert(nml.socket("push", { reconnect_min = 1, reconnect_max = 1 }))
    assert(sock:dial(url, { block = false }))
    socks[i] = sock
  end
  busy_wait((round % 7) * 0.0003) -- close at varying points of the reconnect cycle
  if how == "exit" then
    print("exiting with 20 sockets dialing")
    os.exit(0, true) -- closes the Lua state: the sockets are closed by their __gc
  end
  for i = 1, 20 do
    if how == "close" then socks[i]:close() end
    socks[i] = nil
  end
  if how == "gc" then collectgarbage() end
  closed = closed + 20
end
print(string.format("closed %d sockets", closed))
