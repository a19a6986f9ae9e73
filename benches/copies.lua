-- Copies of a large buffer sent inside a table: peak memory of sender and receiver, and rate.
--   lua copies.lua <MiB> <transport> [default|mmap|thp]  prints "copies <transport> <way> <MiB> ..."
--   lua copies.lua send|recv|both <way> <url> <MiB> <count>    one side (a process of its own)
--
-- Two ways, each in fresh processes:
--   nml   the buffer is an nml message (NNG memory, as any C buffer) in a descriptor; sock:send
--         packs it straight into the NNG message; sock:recv unpacks it as a view.
--   json  today's way: the buffer is a Lua string, lua-cjson encodes the table, the string is
--         sent (copied into a message), received as a string and decoded by lua-cjson.
-- Peak memory is VmHWM from /proc/self/status minus the resident size before the buffer was
-- made (the interpreter and libraries), as a multiple of the buffer size. The buffer holds
-- letters, which JSON carries unescaped: the kindest case for the json way. The rate is the
-- median over the messages of buffer bytes per second from send to the receiver's
-- acknowledgment, unpacking included; one message is in flight at a time, so that the memory
-- figures count copies, not queued messages. inproc cannot cross processes, so one process
-- plays both sides there.
local nml = require "nml"

local MIB = 1024 * 1024

local function status(field)
  local f = assert(io.open("/proc/self/status"))
  local kib = f:read("*a"):match(field .. ":%s*(%d+)")
  f:close()
  return tonumber(kib) * 1024
end

local function socket(url, listen)
  local s = assert(nml.socket("pair", { recv_timeout = 60000, send_timeout = 60000, recv_max_size = 0 }))
  if listen then assert(s:listen(url)) else assert(s:dial(url)) end
  return s
end

-- `size` bytes of letters, in memory the way each side holds a buffer.
local chunk = string.rep("abcdefghijklmnopqrstuvwxyzABCDEF", MIB / 32)
local function make_buffer(way, size)
  if way == "json" then return string.rep(chunk, size / MIB) end
  local frame = assert(nml.allocmsg(size))
  for offset = 0, size - 1, MIB do assert(frame:write(offset, chunk)) end
  return frame
end

-- Sends one table holding the buffer.
local function send(way, sock, buffer, seq)
  local value = { seq = seq, frame = { buffer = buffer, buffer_ud_type = "raw" } }
  if way == "json" then
    local cjson = require "cjson"
    assert(nml.send(sock, cjson.encode(value), 0))
  else
    assert(sock:send(value))
  end
end

-- Receives one table and checks the buffer's size; then lets it go.
local function receive(way, sock, size)
  local value, len
  if way == "json" then
    local cjson = require "cjson"
    value = cjson.decode((assert(nml.recv(sock, 0))))
    len = #value.frame.buffer
  else
    value = assert(sock:recv())
    len = #value.frame.buffer
    nml.freemsg(value.frame.buffer) -- done with the view: the received message can go now
  end
  assert(len == size, "received " .. tostring(len) .. " bytes")
  return value.seq
end

local function report(role, base, size)
  print(string.format("%s peak %.2f", role, (status("VmHWM") - base) / size))
end

local role, way, url, mib, count = arg[1], arg[2], arg[3], tonumber(arg[4]), tonumber(arg[5])
if role == "send" or role == "both" then
  local size = mib * MIB
  local sock = socket(url, true)
  local peer
  if role == "both" then peer = socket(url, false) end
  local base = status("VmRSS")
  local buffer = make_buffer(way, size)
  if not peer then assert(nml.recv(sock, 0) == "ready") end -- the clock starts once connected
  local rates = {}
  for seq = 1, count do
    local start = nml.clock()
    send(way, sock, buffer, seq)
    if peer then
      receive(way, peer, size)
      assert(nml.send(peer, "ack", 0))
    end
    assert(nml.recv(sock, 0) == "ack")
    rates[seq] = size / (nml.clock() - start) / 1e9
  end
  report(role == "both" and "both" or "sender", base, size)
  table.sort(rates)
  print(string.format("rate %.2f GB/s", rates[math.floor(count / 2) + 1]))
  sock:close()
  if peer then peer:close() end
elseif role == "recv" then
  local size = mib * MIB
  local sock = socket(url, false)
  local base = status("VmRSS")
  assert(nml.send(sock, "ready", 0))
  for _ = 1, count do
    receive(way, sock, size)
    assert(nml.send(sock, "ack", 0))
  end
  report("receiver", base, size)
  -- No linger in NNG: closing at once could drop the last ack, and the sender would wait for
  -- it until its timeout (seen once in four smoke runs).
  nml.sleep(200)
  sock:close()
else
  -- The driver: both ways, in fresh processes, for one size, transport and malloc setting.
  -- "default" is glibc as it comes: it keeps freed blocks under 32 MiB for reuse (in one arena
  -- per thread, and NNG receives on its own threads), and VmHWM counts them too. "mmap" maps
  -- every block of 1 MiB or more on its own and unmaps it when freed, so the figures count
  -- copies only, but every message's pages are new and faulted in one by one. "thp" does the
  -- same with transparent huge pages (glibc 2.35+), so those faults come 2 MiB at a time.
  local lua, script = arg[-1] or "lua", arg[0]
  mib = tonumber(arg[1])
  local transport = arg[2]
  local malloc = arg[3] or "default"
  local tunables = {
    default = "",
    mmap = "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576 ",
    thp = "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576:glibc.malloc.hugetlb=1 ",
  }
  lua = assert(tunables[malloc], "malloc setting: default, mmap or thp") .. lua
  count = os.getenv("BENCH_QUICK") and 2 or mib >= 256 and 3 or 20
  local function run(cmd)
    local f = assert(io.popen(cmd .. " 2>&1", "r"))
    local out = f:read("*a")
    f:close()
    return out
  end
  for _, w in ipairs { "nml", "json" } do
    local figures
    if transport == "inproc" then
      local out = run(string.format("%s %s both %s inproc://copies %d %d", lua, script, w, mib, count))
      figures = { both = out:match("both peak (%S+)"), rate = out:match("rate (%S+)") }
      assert(figures.both, out)
      print(string.format("copies %s %s %d %s both %s rate %s", transport, w, mib, malloc,
        figures.both, figures.rate))
    else
      local u = transport == "ipc" and ("ipc:///tmp/nml-copies-" .. os.time())
        or ("tcp://127.0.0.1:" .. math.random(30000, 40000))
      local sender = assert(io.popen(string.format("%s %s send %s %s %d %d 2>&1", lua, script, w, u, mib, count), "r"))
      local receiver_out = run(string.format("sleep 0.3; %s %s recv %s %s %d %d", lua, script, w, u, mib, count))
      local sender_out = sender:read("*a")
      sender:close()
      figures = {
        sender = sender_out:match("sender peak (%S+)"),
        receiver = receiver_out:match("receiver peak (%S+)"),
        rate = sender_out:match("rate (%S+)"),
      }
      assert(figures.sender and figures.receiver, sender_out .. receiver_out)
      print(string.format("copies %s %s %d %s sender %s receiver %s rate %s", transport, w, mib,
        malloc, figures.sender, figures.receiver, figures.rate))
    end
  end
end
