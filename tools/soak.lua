-- make soak: req/rep, push/pull and pair over ipc and tcp, each for a share of SOAK_SECONDS,
-- with small tables and tables holding a 1 MiB buffer, every payload checked. Two processes
-- per run: this driver, and a peer (this script again, "peer" mode) that echoes or counts.
--   lua5.4 tools/soak.lua [seconds]             the driver; exits 1 unless every run passes
--   lua5.4 tools/soak.lua peer PATTERN URL SECONDS   the peer (started by the driver)
-- Pass: nothing lost, nothing corrupted, and each process's RSS at the end within 10% of its
-- RSS after the warm-up (the first fifth of the run).
local nml = require "nml"

local MIB = 1048576
local TIMEOUT = 5000
-- Messages NNG may queue at each end: push outruns pull, and what waits in queues is memory.
local QUEUE = 8

local function rss_kib()
  local f = io.open("/proc/self/status")
  if not f then return 0 end
  local kib = tonumber(f:read("*a"):match("VmRSS:%s*(%d+)"))
  f:close()
  return kib
end

-- Eight 1 MiB buffers: rotations of one pseudo-random block, so every byte is checked.
local variants
local function buffer_variants()
  if variants then return variants end
  local bytes, x = {}, 12345
  for i = 1, 4096 do
    x = (x * 1103515245 + 12345) % 2147483648
    bytes[i] = string.char(x % 256)
  end
  local block = string.rep(table.concat(bytes), MIB / 4096)
  variants = {}
  for k = 0, 7 do
    local at = k * 4099 % MIB
    variants[k] = block:sub(at + 1) .. block:sub(1, at)
  end
  return variants
end

local messages = {} -- nml messages holding each variant, made once
local function payload(seq)
  if seq % 10 == 0 then
    local k = seq % 8
    if not messages[k] then
      messages[k] = nml.allocmsg(MIB)
      messages[k]:write(0, buffer_variants()[k])
    end
    return { seq = seq, k = k, frame = { buffer = messages[k], buffer_ud_type = "soak", buffer_ud_size = MIB } }
  end
  return { seq = seq, name = "message " .. seq, values = { seq, seq * 2, seq * 3 }, sum = seq * 6 }
end

-- True when `t` is the payload of `seq`, every byte of it.
local function intact(t, seq)
  if type(t) ~= "table" or t.seq ~= seq then return false end
  if t.frame then
    local view = t.frame.buffer
    return t.frame.buffer_ud_type == "soak" and #view == MIB and view:tostring() == buffer_variants()[t.k]
  end
  return t.name == "message " .. seq and t.values[1] + t.values[2] + t.values[3] == t.sum
end

-- The peer: echoes what it receives (rep, pair) or checks and counts it (pull), until "stop".
local function peer(pattern, url, seconds)
  local kind = ({ req = "rep", push = "pull", pair = "pair" })[pattern]
  local options = { recv_timeout = 30000, send_timeout = TIMEOUT }
  if kind == "pair" then options.recv_buffer = QUEUE end -- rep and pull keep no queue to size
  local sock = assert(nml.socket(kind, options))
  assert(sock:dial(url))
  local received, corrupted, expected = 0, 0, 1
  local warm_at, rss_warm = nml.clock() + seconds / 5, nil
  while true do
    if not rss_warm and nml.clock() > warm_at then
      collectgarbage()
      rss_warm = rss_kib()
    end
    local t, err = sock:recv()
    if t == nil then error("peer: " .. tostring(err)) end
    if t == "stop" then break end
    if kind == "pull" then
      received = received + 1
      if not intact(t, expected) then corrupted = corrupted + 1 end
      expected = t.seq + 1
    else
      assert(sock:send(t))
    end
  end
  if kind == "rep" or kind == "pair" then assert(sock:send("stopped")) end
  collectgarbage()
  print(string.format("peer received %d corrupted %d rss %d %d", received, corrupted, rss_warm or 0, rss_kib()))
  io.stdout:flush()
  -- Closing drops what is unsent: the driver closes first, once it has our answer and line.
  sock:recv { dontwait = true }
  local deadline = nml.clock() + 5
  while nml.clock() < deadline and sock:stats().pipes > 0 do end
  sock:close()
end

local function url_for(transport)
  if transport == "ipc" then return "ipc://" .. os.tmpname() .. ".soak" end
  return "tcp://127.0.0.1:" .. math.random(20000, 60000)
end

-- One run: sends for `seconds`, checks every answer, and returns its report.
local function run(pattern, transport, seconds)
  local lua = arg[-1]
  local url = url_for(transport)
  local options = { recv_timeout = TIMEOUT, send_timeout = TIMEOUT }
  if pattern ~= "req" then options.send_buffer = QUEUE end -- req keeps no queue to size
  local sock = assert(nml.socket(pattern, options))
  assert(sock:listen(url))
  local peer_out = assert(io.popen(string.format("%s %s peer %s %s %f", lua, arg[0], pattern, url, seconds), "r"))
  local r = { pattern = pattern, transport = transport, sent = 0, received = 0, lost = 0, corrupted = 0 }
  local start = nml.clock()
  local warm_until, rss_warm = start + seconds / 5, nil
  local seq = 0
  while nml.clock() - start < seconds do
    seq = seq + 1
    local ok, err = sock:send(payload(seq))
    if not ok then error(string.format("%s/%s: send %d: %s", pattern, transport, seq, err)) end
    r.sent = r.sent + 1
    if pattern ~= "push" then
      local back = sock:recv()
      if back == nil then
        r.lost = r.lost + 1
      else
        r.received = r.received + 1
        if not intact(back, seq) then r.corrupted = r.corrupted + 1 end
      end
    end
    if not rss_warm and nml.clock() > warm_until then
      collectgarbage()
      rss_warm = rss_kib()
    end
  end
  assert(sock:send("stop", "string"))
  if pattern ~= "push" then assert(sock:recv() == "stopped") end
  local line = peer_out:read("*l") or ""
  sock:close()
  peer_out:close()
  local peer_received, peer_corrupted, peer_warm, peer_end =
    line:match("received (%d+) corrupted (%d+) rss (%d+) (%d+)")
  assert(peer_received, string.format("%s/%s: the peer said %q", pattern, transport, line))
  if pattern == "push" then
    r.received = tonumber(peer_received)
    r.lost = r.sent - r.received
    r.corrupted = tonumber(peer_corrupted)
  end
  collectgarbage()
  r.rss_warm, r.rss_end = rss_warm or rss_kib(), rss_kib()
  r.peer_warm, r.peer_end = tonumber(peer_warm), tonumber(peer_end)
  r.growth = (r.rss_end - r.rss_warm) / r.rss_warm
  r.peer_growth = (r.peer_end - r.peer_warm) / r.peer_warm
  return r
end

if arg[1] == "peer" then
  peer(arg[2], arg[3], tonumber(arg[4]))
  return
end

math.randomseed(os.time())
local total = tonumber(arg[1] or os.getenv("SOAK_SECONDS") or "60")
local runs = {}
for _, pattern in ipairs { "req", "push", "pair" } do
  for _, transport in ipairs { "ipc", "tcp" } do runs[#runs + 1] = { pattern, transport } end
end
print(string.format("soak: %d runs of %.0f s, 1 message in 10 holding a 1 MiB buffer", #runs, total / #runs))
print(string.format("%-7s %-4s %7s %8s %5s %9s  %-25s %-25s", "pattern", "over", "sent", "received",
  "lost", "corrupted", "driver RSS warm > end", "peer RSS warm > end"))
local failed = 0
for _, which in ipairs(runs) do
  local r = run(which[1], which[2], total / #runs)
  local pass = r.lost == 0 and r.corrupted == 0 and r.growth <= 0.10 and r.peer_growth <= 0.10
  if not pass then failed = failed + 1 end
  print(string.format("%-7s %-4s %7d %8d %5d %9d  %6d > %6d KiB %+5.1f%%  %6d > %6d KiB %+5.1f%%  %s",
    r.pattern, r.transport, r.sent, r.received, r.lost, r.corrupted, r.rss_warm, r.rss_end, 100 * r.growth,
    r.peer_warm, r.peer_end, 100 * r.peer_growth, pass and "ok" or "FAIL"))
end
print(string.format("soak: %d of %d runs passed", #runs - failed, #runs))
os.exit(failed == 0 and 0 or 1)
