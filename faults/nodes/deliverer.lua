-- A node that sends jobs with nml.deliver over a req socket: `rate` a second for `seconds`,
-- each kept until a worker's reply acknowledges it; logs each job taken, each reply and each
-- job handed back.
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local nml = require "nml"
local common = require "common"

local args = common.args(arg)
common.open_log(args.log)
local sock = common.socket(args, "req", { send_timeout = 5000 })
common.await_peers(args, sock)

local out = assert(nml.deliver(sock, {
  window = tonumber(args.window or 64),
  give_up = tonumber(args.give_up or 60000),
  on_reply = function(reply, _, job)
    if type(reply) == "table" and reply.seq == job.seq then
      common.log("reply", job.seq, reply.worker)
    else
      common.log("wrongreply", job.seq, type(reply) == "table" and reply.seq or tostring(reply))
    end
  end,
}))
local size = tonumber(args.size or 256)
local stats = common.every(1, function() common.log_stats("socket", sock) end)

local function report_failures()
  for _, f in ipairs(out:failed()) do
    common.log("fail", f.job.seq, f.code, (tostring(f.error):gsub("%s", "_")))
  end
end

local seq = common.load(args, function(n)
  return out:send(common.message(args.name, n, size))
end, function()
  out:step()
  report_failures()
  stats()
end)
while not out:wait(1000) do
  report_failures()
  stats()
end
report_failures()
common.log("finished", seq)
common.log_stats("final", sock)
sock:close()
