-- The nml side of test_shared.py: shared buffers between nml and Python, over ipc.
--   lua nml_shared.lua lend URL N SIZE COUNT [exit]
--       push with share = true, dialing URL: N frames of SIZE bytes from a pool of COUNT,
--       frame k filled with the byte k % 256; prints "took k" once the pool lent frame k's
--       buffer (it waits while every buffer is held), then, after the last send, "back" once
--       every buffer is back in the pool (or "held: <why>" after 10 s), and exits; with
--       "exit", prints "sent" and exits 0.2 s after the last send instead
--   lua nml_shared.lua take URL
--       pull with share = true, listening on URL; prints "listening", then for each line on
--       stdin: "recv" receives a message and prints "ok <seq> <size>" when its frame holds
--       only the byte seq % 256, "bad <seq>" when not, "error <code>" when recv failed;
--       "hold" is recv keeping the view; "check" reads the view kept again ("ok"/"bad");
--       "drop" lets it go and collects; "quit" exits
local nml = require "nml"
local mode, url = arg[1], arg[2]

local function say(...)
  print(...)
  io.stdout:flush()
end

local function filled_with(buffer, seq)
  return buffer:read(0, #buffer) == string.rep(string.char(seq % 256), #buffer)
end

if mode == "lend" then
  local n, size, count = tonumber(arg[3]), tonumber(arg[4]), tonumber(arg[5])
  local pool = assert(nml.shm_pool { size = size, count = count })
  local push = assert(nml.socket("push", { share = true, send_timeout = 10000 }))
  assert(push:dial(url, { block = false }))
  for seq = 1, n do
    local buf = pool:take()
    while not buf do
      nml.sleep(5)
      buf = pool:take()
    end
    say("took " .. seq)
    buf:write(0, string.rep(string.char(seq % 256), size))
    assert(push:send({ seq = seq, frame = { buffer = buf, buffer_ud_type = "u8" } }))
    buf:free()
  end
  if arg[6] == "exit" then
    nml.sleep(200) -- NNG writes what it holds; the buffers go with this process
    say("sent")
    os.exit(0)
  end
  for _ = 1, 2000 do
    if pool:available() == count then
      say("back")
      os.exit(0)
    end
    nml.sleep(5)
  end
  local _, why = pool:take()
  say("held: " .. tostring(why))
elseif mode == "take" then
  local pull = assert(nml.socket("pull", { share = true, recv_timeout = 10000 }))
  assert(pull:listen(url))
  say("listening")
  local kept
  local function receive()
    local t, err, code = pull:recv()
    if not t then
      say("error " .. tostring(code) .. " " .. tostring(err))
      return nil
    end
    local frame = t.frame.buffer
    say((filled_with(frame, t.seq) and "ok " or "bad ") .. t.seq .. " " .. #frame)
    return t
  end
  for line in io.lines() do
    if line == "recv" then
      receive()
    elseif line == "hold" then
      kept = receive()
    elseif line == "check" then
      say(filled_with(kept.frame.buffer, kept.seq) and "ok" or "bad")
    elseif line == "drop" then
      kept = nil
      collectgarbage()
      say("dropped")
    elseif line == "quit" then
      break
    end
  end
  pull:close()
end
