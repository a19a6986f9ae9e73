-- A pull or sub node: receives until told to stop, checks every message whole and logs it.
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local common = require "common"

local args = common.args(arg)
common.open_log(args.log)
local sock = common.socket(args, assert(args.kind, "kind=pull or kind=sub"), { recv_timeout = 200 })
if args.kind == "sub" then assert(sock:subscribe("")) end
common.log("ready")

local stats = common.every(1, function() common.log_stats("socket", sock) end)
while true do
  local message, why, code = sock:recv({ buffers = "string" })
  if message then
    local seq, from, verdict = common.verify(message)
    common.log("got", seq, from, verdict)
  elseif code ~= "timeout" then
    common.log("recverr", code, (tostring(why):gsub("%s", "_")))
  elseif common.stopping(args) then
    break
  end
  stats()
end
common.log_stats("final", sock)
sock:close()
