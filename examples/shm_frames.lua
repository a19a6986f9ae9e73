-- 4K video frames between two processes without copying them: each frame (3840x2160 RGBA,
-- 33 MB) is a shared buffer (nml.shm_alloc) sent over a socket with share = true, so only a
-- reference of a few dozen bytes crosses and the receiver maps the sender's memory read-only.
-- This process is the camera: a pool of 3 frames (nml.shm_pool), one taken, filled and sent
-- 60 times a second; the pool lends a frame again only once the sink has let go of its view,
-- and a camera with no free frame drops one, as cameras do. A second process running this file
-- as the sink (`shm_frames.lua sink URL`) checks every frame's stamp.
local nml = require "nml"

local WIDTH, HEIGHT, FPS, SECONDS, RING = 3840, 2160, 60, 2, 3
local SIZE = WIDTH * HEIGHT * 4
local ROW = WIDTH * 4

-- What the camera writes into a frame: its number in the first and the last row (a real
-- camera's DMA would fill all of it; the pages are the same either way).
local function stamp(seq)
  return string.rep(string.format("frame %08d ", seq), ROW / 15):sub(1, ROW)
end

if arg[1] == "sink" then
  local pair = assert(nml.socket("pair", { share = true, recv_timeout = 10000, send_timeout = 10000 }))
  assert(pair:dial(arg[2]))
  local latencies, wrong = {}, 0
  while true do
    local t = assert(pair:recv())
    if t.done then break end
    latencies[#latencies + 1] = nml.time() - t.sent
    local frame = t.frame.buffer                 -- nml.msg (33177600 bytes, shared view)
    if frame:read(0, ROW) ~= stamp(t.seq) or frame:read(SIZE - ROW, ROW) ~= stamp(t.seq) then
      wrong = wrong + 1
    end
    frame:free()                                 -- done with it: back to the camera's pool
  end
  table.sort(latencies)
  print(string.format("sink: %d frames, %d wrong, latency median %.0f µs, p99 %.0f µs", #latencies, wrong,
    latencies[math.ceil(#latencies / 2)] * 1e6, latencies[math.ceil(#latencies * 0.99)] * 1e6))
  return
end

local lua = arg and arg[-1] or "lua"
local here = (arg and arg[0] or ""):match("^(.*)/") or "."
local url = "ipc://" .. os.tmpname() .. ".ipc"
local camera = assert(nml.socket("pair", { share = true, recv_timeout = 10000, send_timeout = 10000 }))
assert(camera:listen(url))
local sink = assert(io.popen(string.format("%s %s/shm_frames.lua sink %s", lua, here, url)))

local pool = assert(nml.shm_pool { size = SIZE, count = RING })
print(string.format("camera: %d shared frames of %dx%d RGBA (%d bytes each)", RING, WIDTH, HEIGHT, SIZE))

local frames, dropped = FPS * SECONDS, 0
local start = nml.clock()
for seq = 1, frames do
  local due = start + (seq - 1) / FPS
  local now = nml.clock()
  if due > now then nml.sleep(math.floor((due - now) * 1000)) end
  local frame = pool:take()                      -- nil, msg, "again" while the sink holds all
  if frame then
    frame:write(0, stamp(seq))
    frame:write(SIZE - ROW, stamp(seq))
    assert(camera:send({ seq = seq, sent = nml.time(), frame = { buffer = frame, buffer_ud_type = "rgba8",
      width = WIDTH, height = HEIGHT } }))
    frame:free()                                 -- ours no longer; the pool waits for the sink
  else
    dropped = dropped + 1
  end
end
while pool:available() < RING do nml.sleep(1) end -- the sink has let go of every frame
local elapsed = nml.clock() - start
local wire_bytes = camera:stats().sent_bytes
assert(camera:send({ done = true }))
local report = sink:read("*a")
sink:close()
io.write(report)
local sent = frames - dropped
print(string.format("camera: %d frames sent, %d dropped, in %.2f s (%.1f frames/s, %.1f GB/s of frames), "
  .. "%d bytes on the wire", sent, dropped, elapsed, sent / elapsed, sent * SIZE / elapsed / 1e9, wire_bytes))
print(report:match("sink: %d+ frames, 0 wrong") and "shm frames ok" or "shm frames FAILED")
