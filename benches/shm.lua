-- One-way latency of a table holding a large buffer between two processes on one host, and
-- the peak memory each side adds: `copy` (today's descriptors over ipc: one copy into the
-- message, none out) or `shared` (nml.shm_alloc over a socket with share = true: a reference).
--   lua shm.lua run <copy|shared> <bytes> <rounds>    the receiver; starts the sender itself
--   lua shm.lua send <copy|shared> <bytes> <rounds> <url>
-- Each round: the sender stamps the table with nml.time() and sends it; the receiver notes the
-- time it has the table (a view of the buffer, not its bytes read), lets the view go and
-- answers, and only then does the sender send again (so a shared buffer is reused only after
-- its view is released). Prints `shm <way> <bytes> <median µs> <p99 µs> <GB/s> sender <x>
-- receiver <y>`, x and y being peak RSS growth as a share of the buffer (the sender's own
-- buffer not counted).
local nml = require "nml"

local mode, way, size, rounds, url = arg[1], arg[2], tonumber(arg[3]), tonumber(arg[4]), arg[5]

local function hwm_kib()
  local f = io.open("/proc/self/status")
  local kib = f:read("*a"):match("VmHWM:%s*(%d+)")
  f:close()
  return tonumber(kib)
end

local options = { recv_timeout = 60000, send_timeout = 60000, recv_max_size = 0, share = way == "shared" }

if mode == "send" then
  local pair = assert(nml.socket("pair", options))
  assert(pair:dial(url))
  local before = hwm_kib()
  local buf = way == "shared" and assert(nml.shm_alloc(size)) or assert(nml.allocmsg(size))
  buf:write(0, string.rep("\7", 4096)) -- its first page written; the rest as allocated
  local frame = { buffer = buf, buffer_ud_type = "rgba8", buffer_ud_size = size }
  for _ = 1, rounds do
    assert(pair:send({ sent = nml.time(), frame = frame }))
    assert(pair:recv() == "next")
  end
  local grown = (hwm_kib() - before) * 1024 - size -- its own buffer not counted
  assert(pair:send({ sender_growth = math.max(0, grown) / size }))
  assert(pair:recv() == "bye")
  return
end

local path = os.tmpname()
os.remove(path)
url = "ipc://" .. path .. ".ipc"
local pair = assert(nml.socket("pair", options))
assert(pair:listen(url))
local sender = io.popen(string.format("%s shm.lua send %s %d %d %s", arg[-1], way, size, rounds, url))
local before = hwm_kib()
local latencies = {}
for i = 1, rounds do
  local t = assert(pair:recv())
  latencies[i] = nml.time() - t.sent
  assert(#t.frame.buffer == size)
  t = nil -- luacheck: ignore (the view goes with the table)
  collectgarbage()
  assert(pair:send("next"))
end
local receiver_growth = (hwm_kib() - before) * 1024 / size
local report = assert(pair:recv())
assert(pair:send("bye"))
sender:close()
table.sort(latencies)
local median = latencies[math.ceil(#latencies / 2)]
local p99 = latencies[math.ceil(#latencies * 0.99)]
print(string.format("shm %s %d %.0f %.0f %.2f sender %.3f receiver %.3f", way, size, median * 1e6, p99 * 1e6,
  size / median / 1e9, report.sender_growth, receiver_growth))
