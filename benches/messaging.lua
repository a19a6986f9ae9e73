-- Messaging throughput and latency through nml, for benches/run beside benches/raw_nng.rs.
--   lua messaging.lua <transport> [<part of a test's name>]
--                                            prints "nml <transport> <test> <value> <unit>"
--   lua messaging.lua peer <test> <url> <n> <warmup>  the other process (ipc and tcp)
-- Over ipc and tcp it also prints "cpu <transport> <test> <value> ms/MiB|us/msg": both
-- processes' CPU time for the timed messages.
-- A Lua state runs one thread, so over ipc and tcp the sender (or the echo server) is a second
-- Lua process, and over inproc, which cannot cross processes, one Lua thread does both sides
-- in turn (sending a batch into the socket buffers, then receiving it). The raw bench measures
-- the same layouts, and also two threads of one process. Sockets keep NNG's default queue
-- depths, as the raw bench's do, except over inproc, where the queues must hold a batch.
local nml = require "nml"
-- On LuaJIT, which MessagePack codec (benches/run's jit part runs each): inherited by the peer.
if os.getenv("NML_CODEC") then nml.config { codec = os.getenv("NML_CODEC") } end

local MIB = 1024 * 1024
local small_map = {
  id = 12345, command = "predict",
  args = { signature = "question -> answer", inputs = { question = "What is DSPy?" } },
  timestamp = "2024-01-15T10:30:00Z",
}
local payload64 = string.rep("x", 64)
local payload1m = string.rep("y", MIB)

-- NNG's default queue depths, as the raw bench uses, except over inproc, where one thread
-- sends a whole batch before receiving it and the queues must hold the batch. (Deep queues
-- elsewhere let a sender run far ahead into fresh memory: 1 MiB messages then measured at
-- half their rate.)
local function socket(kind, transport)
  local options = { recv_timeout = 10000, send_timeout = 10000 }
  if transport == "inproc" and kind == "push" then
    options.send_buffer = 8192 -- pull, req and rep keep no queue of their own to size
  end
  return assert(nml.socket(kind, options))
end

-- How each test sends one message and receives one, and how many messages are timed. The
-- receiver starts the clock after the first count/20, as the raw bench does.
-- BENCH_QUICK (benches/run's smoke, in make test): a hundredth of every count, to show the
-- bench runs, not to measure.
local quick = os.getenv("BENCH_QUICK") and 100 or 1
local tests = {
  one_way_64B = {
    count = math.floor(60000 / quick),
    send = function(s) assert(nml.send(s, payload64, 0)) end,
    recv = function(s) assert(nml.recv(s, 0)) end,
  },
  one_way_map = {
    count = math.floor(60000 / quick),
    send = function(s) assert(s:send(small_map)) end,
    recv = function(s) assert(s:recv()) end,
  },
  one_way_1MiB_copy = {
    count = math.floor(2000 / quick), bytes = MIB,
    send = function(s) assert(nml.send(s, payload1m, 0)) end,
    recv = function(s) nml.freemsg(assert(nml.recv(s, 0, nil, nml.NN_MSG))) end,
  },
  one_way_1MiB_nn_msg = {
    count = math.floor(2000 / quick), bytes = MIB,
    send = function(s) assert(nml.send(s, nml.allocmsg(MIB), 0, nml.NN_MSG)) end,
    recv = function(s) nml.freemsg(assert(nml.recv(s, 0, nil, nml.NN_MSG))) end,
  },
}
local order = { "one_way_64B", "one_way_map", "one_way_1MiB_copy", "one_way_1MiB_nn_msg" }

-- tls+tcp:// endpoints take the certificates in NML_BENCH_PKI (spec/support/make_certs.sh
-- makes them; benches/run does, for its tls part).
local pki = os.getenv("NML_BENCH_PKI")
local function endpoint_options(url, listening)
  if not url:find("^tls%+tcp://") then return nil end
  assert(pki, "tls+tcp:// needs NML_BENCH_PKI")
  if listening then
    return { tls = { cert_file = pki .. "/server.crt", key_file = pki .. "/server.key" } }
  end
  return { tls = { ca_file = pki .. "/ca.crt", server_name = "localhost" } }
end
local function listen(sock, url) return assert(sock:listen(url, endpoint_options(url, true))) end
local function dial(sock, url) return assert(sock:dial(url, endpoint_options(url, false))) end

local function done_url(url)
  local port = url:match(":(%d+)$")
  if port then return url:sub(1, -#port - 1) .. (tonumber(port) + 50) end
  return url .. "-done"
end

local function peer(test, url, n, warmup)
  if test == "echo" then
    local rep = socket("rep")
    dial(rep, url)
    for _ = 1, n do
      local buf = assert(nml.recv(rep, 0))
      assert(nml.send(rep, buf, 0))
    end
    nml.sleep(200) -- no linger in NNG: let the last reply go before the process ends
    return
  end
  local push = socket("push")
  dial(push, url)
  local done = socket("pair")
  dial(done, done_url(url))
  local cpu_start = os.clock()
  for i = 1, n do
    if i == warmup + 1 then cpu_start = os.clock() end
    tests[test].send(push)
  end
  assert(done:recv()) -- closing before the receiver has everything would drop what is queued
  -- The CPU time (every thread: NNG's encrypt and write after send returned) of the timed
  -- messages, for the receiver to report beside its own.
  print(os.clock() - cpu_start)
  push:close()
end

local function url_for(transport, n)
  if transport == "inproc" then return "inproc://nml-bench-" .. n end
  if transport == "ipc" then return "ipc:///tmp/nml-bench-" .. n .. "-" .. os.time() end
  if transport == "tls" then return "tls+tcp://127.0.0.1:" .. (25900 + n) end
  return "tcp://127.0.0.1:" .. (25800 + n)
end

local lua = arg[-1] or "lua"
local script = arg[0]

local function spawn(test, url, n, warmup)
  return assert(io.popen(string.format("%s %s peer %s %s %d %d", lua, script, test, url, n, warmup), "r"))
end

local function one_way(transport, name, n_url)
  local t = tests[name]
  local warmup = math.floor(t.count / 20)
  local url = url_for(transport, n_url)
  local pull = socket("pull", transport)
  listen(pull, url)
  local elapsed, cpu
  if transport == "inproc" then
    local push = socket("push", transport)
    dial(push, url)
    -- Small messages in batches, as a sender runs ahead of its receiver; 1 MiB messages one at
    -- a time, since a batch of them freed together is memory glibc gives back to the kernel
    -- and faults in again for the next batch (2.3 GB/s for copy with batches of 4).
    local batch = t.bytes and 1 or 4000
    local function run(n)
      local left = n
      while left > 0 do
        local k = math.min(batch, left)
        for _ = 1, k do t.send(push) end
        for _ = 1, k do t.recv(pull) end
        left = left - k
      end
    end
    run(warmup)
    local start = nml.clock()
    run(t.count)
    elapsed = nml.clock() - start
    push:close()
  else
    local done = socket("pair")
    listen(done, done_url(url))
    local child = spawn(name, url, warmup + t.count, warmup)
    for _ = 1, warmup do t.recv(pull) end
    local start, cpu_start = nml.clock(), os.clock()
    for _ = 1, t.count do t.recv(pull) end
    elapsed = nml.clock() - start
    cpu = os.clock() - cpu_start
    assert(done:send("done", "string"))
    cpu = cpu + assert(tonumber(child:read("a")), "the sender reports its CPU time")
    child:close()
    done:close()
  end
  pull:close()
  local rate = t.count / elapsed
  if t.bytes then
    print(string.format("nml %s %s %.2f GB/s", transport, name, rate * t.bytes / 1e9))
  else
    print(string.format("nml %s %s %.0f msg/s", transport, name, rate))
  end
  -- Both processes' CPU time (all threads) for the timed messages: per MiB, or per message.
  if cpu and t.bytes then
    print(string.format("cpu %s %s %.2f ms/MiB", transport, name, cpu * 1e3 / (t.count * t.bytes / MIB)))
  elseif cpu then
    print(string.format("cpu %s %s %.2f us/msg", transport, name, cpu * 1e6 / t.count))
  end
end

local function round_trips(transport)
  local count, warmup = math.floor(5000 / quick), 10
  local url = url_for(transport, 9)
  local req = socket("req")
  listen(req, url)
  local rep, child
  if transport == "inproc" then
    rep = socket("rep")
    dial(rep, url)
  else
    child = spawn("echo", url, count + warmup, 0)
  end
  local times = {}
  for i = 1, count + warmup do
    local start = nml.clock()
    assert(nml.send(req, payload64, 0))
    if rep then
      local buf = assert(nml.recv(rep, 0))
      assert(nml.send(rep, buf, 0))
    end
    assert(nml.recv(req, 0))
    if i > warmup then times[#times + 1] = (nml.clock() - start) * 1e6 end
  end
  if child then child:close() end
  if rep then rep:close() end
  req:close()
  table.sort(times)
  print(string.format("nml %s rtt_median %.1f us", transport, times[math.floor(#times / 2) + 1]))
  print(string.format("nml %s rtt_p99 %.1f us", transport, times[math.floor(#times * 0.99)]))
end

if arg[1] == "peer" then
  peer(arg[2], arg[3], tonumber(arg[4]), tonumber(arg[5]) or 0)
else
  local transport = arg[1] or "inproc"
  local only = arg[2] or ""
  for i, name in ipairs(order) do
    if name:find(only, 1, true) then one_way(transport, name, i) end
  end
  if ("rtt"):find(only, 1, true) then round_trips(transport) end
end
