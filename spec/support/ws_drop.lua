-- A push over ws:// whose pull hangs up on it, again and again: the pull's recv_max_size is
-- 1000, each 5 KB message makes NNG close the connection, and the push sends again while that
-- close is under way. NNG 2.0.0 could put the closing pipe back on push's ready list and free
-- it there, and a later send used it: SIGSEGV or SIGABRT (issue 24, item 3a;
-- third_party/patches/0001-push0-closed-pipe-ready-list.patch). Run by spec/ws_drop_spec.lua
-- and by a soak, in a child process, so that a crash is a failed exit. Since patch 0004 the pull
-- keeps the connection and counts the drop, so on this build nothing is closed any more.
--   ws_drop.lua ROUNDS [SENDS [MODE]]   ROUNDS x a fresh push/pull pair, SENDS (30) big+small
--                                       sends each. MODE "oversize" (the default): the pull
--                                       drops 5 KB messages. MODE "hangup": the pull closes after
--                                       a few messages while the push sends on (a graceful ws
--                                       close with frames still going out: the race of 0001 and
--                                       0002 since 0004 keeps oversize connections open).
local nml = require "nml"

local rounds, sends, mode = tonumber(arg[1]) or 10, tonumber(arg[2]) or 30, arg[3] or "oversize"
-- Hang-ups need frames still going out when the pull closes: 300 KB messages (5 KB ones did
-- not reach the race in 30 runs of the build without 0001 and 0002; 300 KB ones did).
local big = string.rep("x", mode == "hangup" and 300000 or 5000)
local sent, received = 0, 0

for _ = 1, rounds do
  local pull = assert(nml.socket("pull", { recv_max_size = mode == "oversize" and 1000 or 0 }))
  -- send_timeout: a send waits for the dialer to reconnect (every 1 ms), or gives up.
  local push = assert(nml.socket("push", { send_timeout = 50, reconnect_min = 1, reconnect_max = 1 }))
  local listener = assert(pull:listen("ws://127.0.0.1:0/nml"))
  assert(push:dial(assert(listener:url())))
  for i = 1, sends do
    if push:send(big, "string") then sent = sent + 1 end
    if push:send("small", "string") then sent = sent + 1 end
    if pull then
      while pull:recv({ dontwait = true }) do received = received + 1 end
      if mode == "hangup" and i == sends - 2 then
        pull:close() -- hangs up while the push's next frames are on their way
        pull = nil
      end
    end
  end
  push:close()
  if pull then pull:close() end
end
print(string.format("survived %d rounds: %d sends taken, %d small ones received", rounds, sent, received))
