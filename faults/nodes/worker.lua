-- A rep node: answers each request with its number and this worker's name, and logs it.
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local common = require "common"

local args = common.args(arg)
common.open_log(args.log)
local sock = common.socket(args, "rep", { recv_timeout = 200, send_timeout = 2000 })
common.log("ready")

local stats = common.every(1, function() common.log_stats("socket", sock) end)
while not common.stopping(args) do
  local request, why, code = sock:recv({ buffers = "string" })
  if request then
    local seq, from, verdict = common.verify(request)
    common.log("served", seq, from, verdict)
    local ok, err, err_code = sock:send({ seq = seq, worker = args.name })
    if not ok then common.log("replyerr", seq, err_code, (tostring(err):gsub("%s", "_"))) end
  elseif code ~= "timeout" then
    common.log("recverr", code, (tostring(why):gsub("%s", "_")))
  end
  stats()
end
common.log_stats("final", sock)
sock:close()
