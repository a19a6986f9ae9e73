-- A req node: `contexts` requests in flight at once, one per req context, started at `rate` a
-- second for `seconds`. Each request waits `deadline` seconds for its reply, then counts as
-- failed (the error a caller sees) and its context takes the next one. A client that falls so
-- far behind that its load would take twice `seconds` starts no more, and logs how many it
-- never started.
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local nml = require "nml"
local common = require "common"

local args = common.args(arg)
common.open_log(args.log)
local sock = common.socket(args, "req")
common.await_peers(args, sock)

local size = tonumber(args.size or 256)
local deadline = tonumber(args.deadline or 15)
local total = math.floor(tonumber(args.rate) * tonumber(args.seconds))
local slots = {}
for i = 1, tonumber(args.contexts or 8) do
  slots[i] = { ctx = assert(sock:context()) }
end

local due, done = common.pacer(tonumber(args.rate))
local stop_starting = nml.clock() + 2 * tonumber(args.seconds)
local stats = common.every(1, function() common.log_stats("socket", sock) end)
local seq, busy = 0, 0

local function start(slot)
  seq = seq + 1
  slot.seq, slot.since = seq, nml.clock()
  local ok, why, code = slot.ctx:send(common.message(args.name, seq, size))
  if ok then
    common.log("sent", seq)
    busy = busy + 1
  else
    common.log("senderr", seq, code, (tostring(why):gsub("%s", "_")))
    slot.seq = nil
  end
end

local function finish(slot, event, ...)
  common.log(event, slot.seq, ...)
  slot.seq = nil
  busy = busy - 1
end

local function starting() return seq < total and nml.clock() < stop_starting end
while starting() or busy > 0 do
  -- Start what is due, on free contexts (what cannot start yet waits for one).
  local n = starting() and math.min(due(), total - seq) or 0
  local started = 0
  for _, slot in ipairs(slots) do
    if started == n then break end
    if not slot.seq then
      start(slot)
      started = started + 1
    end
  end
  done(started)
  for _, slot in ipairs(slots) do
    if slot.seq then
      local reply, why, code = slot.ctx:recv({ dontwait = true })
      if reply then
        if type(reply) == "table" and reply.seq == slot.seq then
          finish(slot, "reply", reply.worker)
        else
          finish(slot, "wrongreply", type(reply) == "table" and reply.seq or tostring(reply))
        end
      elseif code ~= "again" then
        finish(slot, "fail", code, (tostring(why):gsub("%s", "_")))
      elseif nml.clock() - slot.since > deadline then
        finish(slot, "fail", "deadline", "no_reply_in_" .. deadline .. "_s")
      end
    end
  end
  stats()
  common.log_pipes(sock)
  nml.sleep(2)
end
if seq < total then common.log("behind", total - seq) end
common.log("finished", seq)
common.log_stats("final", sock)
sock:close()
