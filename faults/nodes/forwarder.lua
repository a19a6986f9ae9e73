-- A forwarder node: nml.forward between a raw `front` socket and a raw `back` socket, each
-- listening; logs both sockets' stats every second until told to stop.
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local nml = require "nml"
local common = require "common"

local args = common.args(arg)
common.open_log(args.log)
local front = assert(nml.socket(args.front_kind or "pull", { raw = true }))
local back = assert(nml.socket(args.back_kind or "push", { raw = true, send_buffer = 8192 }))
common.listen(front, args, args.front)
common.listen(back, args, args.back)
assert(nml.forward(front, back))
common.log("ready")
while not common.stopping(args) do
  common.log_stats("front", front)
  common.log_stats("back", back)
  nml.sleep(1000)
end
common.log_stats("front-final", front)
common.log_stats("back-final", back)
