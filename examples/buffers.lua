-- Buffers in tables: image frames held in C-style buffers travel inside ordinary tables, with
-- one copy on the way out and none on the way in. This process fills 640x480 gray frames in
-- NNG-owned buffers (nml.allocmsg; any C module's userdata works the same way) and pushes them;
-- a second process running this same file as the sink (`buffers.lua sink URL N`) pulls them,
-- each frame's buffer arriving as a view into the received message, and checks them by checksum.
local nml = require "nml"

local lua = arg and arg[-1] or "lua"
local here = (arg and arg[0] or ""):match("^(.*)/") or "."
local url = "ipc://" .. os.tmpname() .. ".ipc"
local WIDTH, HEIGHT, FRAMES = 640, 480, 3

-- Adler-32 of a buffer's bytes (plain arithmetic, so it runs on every Lua).
local function adler32(bytes)
  local a, b = 1, 0
  for i = 1, #bytes, 4096 do
    local chunk = { bytes:byte(i, math.min(i + 4095, #bytes)) }
    for j = 1, #chunk do
      a = (a + chunk[j]) % 65521
      b = (b + a) % 65521
    end
  end
  return b * 65536 + a
end

-- A gradient that moves with the frame number, written row by row as a camera driver would.
local function fill(frame, seq)
  local row = {}
  for x = 0, WIDTH - 1 do row[x + 1] = string.char((x + seq * 40) % 256) end
  row = table.concat(row)
  for y = 0, HEIGHT - 1 do
    assert(frame:write(y * WIDTH, row:sub(y % 7 + 1) .. row:sub(1, y % 7)))
  end
end

-- The sink: receives frames without copying them (the message is taken as it arrived, and
-- each frame's buffer is a view into it) and prints their checksums.
local function run_sink(sink_url, count)
  local pull = assert(nml.socket("pull", { recv_timeout = 10000 }))
  assert(pull:dial(sink_url))
  for _ = 1, count do
    local msg = assert(nml.recv(pull, 0, nil, nml.NN_MSG)) -- the received message itself
    local t = assert(nml.unpack(msg))                        -- decoded in place
    local buffer = t.frame.buffer                            -- a view; buffer:ptr() is for C
    print(string.format("got frame %d: %dx%d %s, %s, adler32=%08x",
      t.seq, t.width, t.height, t.frame.buffer_ud_type, tostring(buffer), adler32(buffer:tostring())))
    io.stdout:flush()
  end
  pull:close()
end

if arg and arg[1] == "sink" then
  run_sink(arg[2], tonumber(arg[3]))
  return
end

local push = assert(nml.socket("push", { send_timeout = 10000 }))
assert(push:listen(url))
local sink = assert(io.popen(string.format("%s %s/buffers.lua sink %s %d", lua, here, url, FRAMES), "r"))

local sent = {}
for seq = 1, FRAMES do
  local frame = assert(nml.allocmsg(WIDTH * HEIGHT))
  fill(frame, seq)
  sent[seq] = adler32(frame:tostring())
  assert(push:send({
    seq = seq, width = WIDTH, height = HEIGHT, format = "gray8",
    frame = { buffer = frame, buffer_ud_type = "gray8" },
  }))
  print(string.format("sent frame %d: %dx%d gray8, %d bytes, adler32=%08x", seq, WIDTH, HEIGHT, #frame, sent[seq]))
  nml.freemsg(frame) -- sending copied it once, into the message; ours can go
end

local matched = 0
for line in sink:lines() do
  print("  " .. line)
  local seq, sum = line:match("^got frame (%d+):.*adler32=(%x+)")
  if seq and tonumber(sum, 16) == sent[tonumber(seq)] then matched = matched + 1 end
end
sink:close()
push:close()
os.remove(url:sub(7))
assert(matched == FRAMES, "checksums matched for " .. matched .. " of " .. FRAMES .. " frames")
print(string.format("buffers ok: %d frames crossed, checksums match", matched))
