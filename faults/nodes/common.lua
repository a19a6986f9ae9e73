-- What every node of the fault harness shares: its arguments, its log, the messages it sends
-- and checks, its sockets' TLS settings and its stop signal.
--
-- A node is started as `lua <role>.lua key=value ...`. It writes one line per event to its
-- log, unbuffered, so that a node killed with SIGKILL leaves every line it had written; the
-- harness reads the logs after the run (faults/accounting.py).
local nml = require "nml"

local common = {}

--- key=value arguments; a key given twice makes a list.
function common.args(argv)
  local args = {}
  for _, word in ipairs(argv) do
    local key, value = word:match("^([%w_]+)=(.*)$")
    assert(key, "faults node: an argument is key=value, not " .. word)
    if args[key] == nil then
      args[key] = value
    elseif type(args[key]) == "table" then
      table.insert(args[key], value)
    else
      args[key] = { args[key], value }
    end
  end
  return args
end

function common.list(value)
  if value == nil then return {} end
  return type(value) == "table" and value or { value }
end

--- Socket options given as opt_<name>=<value> (numbers and booleans).
function common.options(args, extra)
  local options = extra or {}
  for key, value in pairs(args) do
    local name = key:match("^opt_(.+)$")
    if name then
      if value == "true" or value == "false" then
        options[name] = value == "true"
      else
        options[name] = assert(tonumber(value), key .. " is a number or a boolean")
      end
    end
  end
  return options
end

local log_file
function common.open_log(path)
  log_file = assert(io.open(path, "a"))
  log_file:setvbuf("no")
end

--- One event: its name, its fields, and the wall clock (the hosts share it).
function common.log(event, ...)
  local fields = { event, string.format("%.6f", nml.time()) }
  for i = 1, select("#", ...) do
    fields[#fields + 1] = tostring(select(i, ...))
  end
  -- One write(2): a node killed between two would leave half a line for its restart to extend.
  log_file:write(table.concat(fields, " ") .. "\n")
end

--- The stats() of a socket, as one line the harness reads.
function common.log_stats(label, sock)
  local stats = sock:stats()
  if not stats then return end
  local fields = {}
  for _, name in ipairs({ "sent", "received", "send_drops", "recv_drops", "oversize_drops",
    "pipes", "connects", "disconnects" }) do
    fields[#fields + 1] = name .. "=" .. tostring(stats[name])
  end
  common.log("stats", label, table.concat(fields, ","))
end

--- The socket's peers that came and went since the last call, one line each: "connect" or
--- "disconnect" and the peer's address.
function common.log_pipes(sock)
  for _, e in ipairs(sock:pipe_events() or {}) do
    common.log(e.event, e.address)
  end
end

--- The body of message `seq` from `sender`, `size` bytes: a function of both, so that the
--- receiver rebuilds it and compares every byte.
function common.body(sender, seq, size)
  local unit = string.format("%s:%d;", sender, seq)
  local whole = string.rep(unit, math.floor(size / #unit) + 1)
  return whole:sub(1, size)
end

--- A short checksum of the fields around the body (the body is compared whole).
function common.checksum(sender, seq, size)
  local sum = 0
  for c in (sender .. ":" .. seq .. ":" .. size):gmatch(".") do
    sum = (sum * 31 + c:byte()) % 2147483647
  end
  return sum
end

--- Checks a received message; returns seq, sender, "ok" or what was wrong.
function common.verify(message)
  if type(message) ~= "table" or type(message.seq) ~= "number" then
    return nil, nil, "not-a-numbered-message"
  end
  local body = message.body
  if type(body) == "table" then body = body.buffer end -- a buffer descriptor, as a string
  if type(body) ~= "string" or #body ~= message.size then
    return message.seq, message.from, "size"
  end
  if message.sum ~= common.checksum(message.from, message.seq, message.size) then
    return message.seq, message.from, "checksum"
  end
  if body ~= common.body(message.from, message.seq, message.size) then
    return message.seq, message.from, "body"
  end
  return message.seq, message.from, "ok"
end

--- The message `seq`: {seq, from, size, sum, body}; the body as a buffer descriptor (an nml
--- message) when `descriptor` is set.
function common.message(sender, seq, size, descriptor)
  local body = common.body(sender, seq, size)
  if descriptor then
    local buffer = nml.allocmsg(size)
    buffer:write(0, body)
    body = { buffer = buffer, buffer_ud_type = "bytes" }
  end
  return { seq = seq, from = sender, size = size, sum = common.checksum(sender, seq, size), body = body }
end

--- `tcp://` or `tls+tcp://` with the harness's throwaway PKI: the URL, and the listen or dial
--- options.
function common.endpoint(args, address, side)
  if args.transport ~= "tls" then
    return "tcp://" .. address, nil
  end
  local pki = args.pki
  if side == "listen" then
    return "tls+tcp://" .. address, { tls = { cert_file = pki .. "/server.crt", key_file = pki .. "/server.key" } }
  end
  return "tls+tcp://" .. address, { block = false, tls = { ca_file = pki .. "/ca.crt" } }
end

function common.listen(sock, args, address)
  local url, options = common.endpoint(args, address, "listen")
  assert(sock:listen(url, options))
end

--- Dials in the background: NNG retries until the peer is there.
function common.dial(sock, args, address)
  local url, options = common.endpoint(args, address, "dial")
  options = options or { block = false }
  assert(sock:dial(url, options))
end

--- The node's socket of `kind`, with its options and defaults, listening and dialing where
--- the arguments say.
function common.socket(args, kind, defaults)
  local sock = assert(nml.socket(kind, common.options(args, defaults)))
  for _, address in ipairs(common.list(args.listen)) do common.listen(sock, args, address) end
  for _, address in ipairs(common.list(args.dial)) do common.dial(sock, args, address) end
  return sock
end

--- Waits (at most 20 s) until the socket has `args.peers` connections, then logs "start".
function common.await_peers(args, sock)
  local peers = tonumber(args.peers or 1)
  local waited = nml.clock()
  while (sock:stats().pipes or 0) < peers and nml.clock() - waited < 20 do
    nml.sleep(20)
  end
  common.log("start", sock:stats().pipes)
end

--- True once the harness asks the node to stop (a file it makes).
function common.stopping(args)
  local f = io.open(args.stop, "r")
  if f then f:close() return true end
  return false
end

--- Calls `each` every `period` seconds, from a loop that calls the returned function.
function common.every(period, each)
  local next_at = nml.clock() + period
  return function()
    local now = nml.clock()
    if now >= next_at then
      next_at = now + period
      each()
    end
  end
end

--- The load of a sender: `rate` numbered messages a second for `seconds`, each sent by
--- `send(seq)` (which returns as sock:send does) and its outcome logged; `each_round()` runs
--- between rounds. Returns the last number sent.
function common.load(args, send, each_round)
  local total = math.floor(tonumber(args.rate) * tonumber(args.seconds))
  local due, done = common.pacer(tonumber(args.rate))
  local seq = 0
  while seq < total do
    local n = math.min(due(), total - seq)
    for _ = 1, n do
      seq = seq + 1
      local ok, why, code = send(seq)
      if ok then
        common.log("sent", seq)
      else
        common.log("senderr", seq, code, (tostring(why):gsub("%s", "_")))
      end
    end
    done(n)
    each_round()
    if n == 0 then nml.sleep(2) end
  end
  return seq
end

--- Paces a loop at `rate` per second: returns how many are due now.
function common.pacer(rate)
  local start = nml.clock()
  local done = 0
  return function()
    local due = math.floor((nml.clock() - start) * rate) - done
    return due
  end, function(n) done = done + n end
end

return common
