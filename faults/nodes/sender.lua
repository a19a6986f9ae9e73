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
local send_options = args.topic and { topic = args.topic } or nil
local stats = common.every(1, function() common.log_stats("socket", sock) end)
local seq = common.load(args, function(n)
  return sock:send(common.message(args.name, n, size, args.descriptor == "true"), nil, send_options)
end, stats)
common.log("finished", seq)
while not common.stopping(args) do
  stats()
  nml.sleep(100)
end
common.log_stats("final", sock)
sock:close()
