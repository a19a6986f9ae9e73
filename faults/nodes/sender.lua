-- A push or pub node: sends `rate` numbered messages a second for `seconds`, logs each send
-- and its outcome, then keeps its socket open until told to stop (closing drops what NNG has
-- not written yet).
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local nml = require "nml"
local common = require "common"

local args = common.args(arg)
common.open_log(args.log)
local sock = common.socket(args, assert(args.kind, "kind=push or kind=pub"), { send_timeout = 2000 })
-- The peers the scenario expects first, so that no message is lost to a pub that nobody hears
-- yet (a loss by design, and not what is measured here).
common.await_peers(args, sock)

local size = tonumber(args.size or 1024)
local total = math.floor(tonumber(args.rate) * tonumber(args.seconds))
local due, done = common.pacer(tonumber(args.rate))
local stats = common.every(1, function() common.log_stats("socket", sock) end)
local seq = 0
while seq < total do
  local n = math.min(due(), total - seq)
  for _ = 1, n do
    seq = seq + 1
    local message = common.message(args.name, seq, size, args.descriptor == "true")
    local ok, why, code = sock:send(message, nil, args.topic and { topic = args.topic } or nil)
    if ok then
      common.log("sent", seq)
    else
      common.log("senderr", seq, code, (tostring(why):gsub("%s", "_")))
    end
  end
  done(n)
  stats()
  if n == 0 then nml.sleep(2) end
end
common.log("finished", seq)
while not common.stopping(args) do
  stats()
  nml.sleep(100)
end
common.log_stats("final", sock)
sock:close()
