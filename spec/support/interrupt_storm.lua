-- The other process of spec/interrupt_spec.lua's storms: with a SIGINT handler of its own
-- (sigcount, as an embedder has), it receives or sends numbered messages while SIGINTs rain,
-- going on after each "interrupted", and says what it saw.
--   lua interrupt_storm.lua recv URL     pull: count what arrives until 1.5 s of quiet
--   lua interrupt_storm.lua send URL N   push 1..N, each sent again after "interrupted"
local nml = require "nml"
local sigcount = require "sigcount"
local mode, url, n = arg[1], arg[2], tonumber(arg[3])
sigcount.install()
local pid = io.open("/proc/self/stat"):read("*l"):match("^(%d+)")

if mode == "recv" then
  local pull = assert(nml.socket("pull", { recv_timeout = 1500 }))
  assert(pull:listen(url))
  print("ready " .. pid)
  io.stdout:flush()
  local seen, last, interrupted, other = {}, 0, 0, 0
  while true do
    local v, _, code = pull:recv()
    if v then
      seen[v] = (seen[v] or 0) + 1
      if v > last then last = v end
    elseif code == "interrupted" then
      interrupted = interrupted + 1
    elseif code == "timeout" then
      break
    else
      other = other + 1
    end
  end
  local gaps = 0
  for i = 1, last do if not seen[i] then gaps = gaps + 1 end end
  print(string.format("last %d gaps %d interrupted %d other %d signals %d handler %s",
    last, gaps, interrupted, other, sigcount.count(), tostring(sigcount.ours())))
else
  local push = assert(nml.socket("push", { send_timeout = 5000, send_buffer = 1 }))
  assert(push:dial(url))
  print("ready " .. pid)
  io.stdout:flush()
  local i, interrupted = 1, 0
  while i <= n do
    local ok, err, code = push:send(i)
    if ok then
      i = i + 1
    elseif code == "interrupted" then
      interrupted = interrupted + 1
    else
      print("failed " .. tostring(err))
      break
    end
  end
  nml.sleep(500)
  print(string.format("sent %d interrupted %d signals %d handler %s", i - 1, interrupted,
    sigcount.count(), tostring(sigcount.ours())))
end
