-- What the Lua processes of the video pipeline share: how a frame travels in each mode, and
-- what each process says of its own cost. The modes are what the pipeline compares:
--   shared  nml with shared buffers: a reference crosses, each consumer maps the frame
--   copy    nml without them: the frame's bytes cross ipc to each consumer
--   json    the old way: the frame base64-encoded in a line of JSON on each consumer's stdin
-- (lua-cjson and luasocket's mime encode it, as a script would without nml).
local nml = require "nml"

local frames = {}

frames.MODES = { shared = true, copy = true, json = true }

-- yuv420p: a luma byte per pixel, then two chroma planes of a quarter each.
function frames.size(width, height)
  return math.floor(width * height * 3 / 2)
end

-- The endpoint a consumer takes its frames from (and the sink its results).
function frames.url(dir, name)
  return "ipc://" .. dir .. "/" .. name .. ".ipc"
end

local function json_codec()
  local ok_json, cjson = pcall(require, "cjson")
  local ok_mime, mime = pcall(require, "mime")
  assert(ok_json and ok_mime, "the json mode needs lua-cjson and luasocket (mime) for base64")
  return cjson, mime
end

-- This process's pid (Lua has no word for it).
function frames.pid()
  local stat = assert(io.open("/proc/self/stat"))
  local pid = tonumber(stat:read("*l"):match("^(%d+)"))
  stat:close()
  return pid
end

-- Whether the source that started this consumer still runs (NML_VIDEO_SOURCE, its pid) and
-- has not asked it to stop (NML_VIDEO_STOP, a file it makes when the run fails): a consumer
-- whose source is gone ends, instead of waiting for frames that will not come.
function frames.source_alive()
  local stop = os.getenv("NML_VIDEO_STOP")
  local stopping = stop and io.open(stop)
  if stopping then
    stopping:close()
    return false
  end
  local pid = os.getenv("NML_VIDEO_SOURCE")
  local stat = pid and io.open("/proc/" .. pid .. "/stat")
  if stat then stat:close() end
  return pid == nil or stat ~= nil
end

-- The source's side, for one consumer: send(t, buffer, encoded) sends t with t.frame set to
-- the buffer (an nml message) or, in the json mode, to `encoded` (frames.encode(bytes));
-- false if the consumer took nothing in a second (the source then checks it still runs).
function frames.sender(mode, url, pipe)
  if mode == "json" then
    local cjson = json_codec()
    return function(t, _, encoded)
      t.frame = encoded
      pipe:write(cjson.encode(t), "\n")
      pipe:flush()
      return true
    end
  end
  local push = assert(nml.socket("push", { share = mode == "shared", send_timeout = 1000 }))
  assert(push:listen(url))
  return function(t, buffer)
    if buffer then t.frame = { buffer = buffer, buffer_ud_type = "yuv420p" } end
    local sent, err, code = push:send(t)
    assert(sent or code == "timeout", err)
    return sent
  end, push
end

-- The base64 text of a frame's bytes, for the json mode.
function frames.encode(bytes)
  local _, mime = json_codec()
  return (mime.b64(bytes))
end

-- A consumer's side: an iterator of the frames' tables, each with `frame` the frame's bytes
-- as an nml message (a view) or, in the json mode, a string; the last one has done = true.
function frames.receiver(mode, url, frame_bytes)
  if mode == "json" then
    local cjson, mime = json_codec()
    return function()
      local line = assert(io.read("*l"), "the source's pipe ended before its last frame")
      local t = cjson.decode(line)
      if t.frame then t.frame = (mime.unb64(t.frame)) end
      return t
    end
  end
  local pull = assert(nml.socket("pull", { share = mode == "shared", recv_timeout = 1000,
    recv_max_size = frame_bytes + 1024 * 1024 }))
  assert(pull:dial(url, { block = false }))
  return function()
    local t, err, code = pull:recv()
    while code == "timeout" do
      assert(frames.source_alive(), "the source is gone")
      t, err, code = pull:recv()
    end
    assert(t, err)
    if t.frame then t.frame = t.frame.buffer or t.frame end
    return t
  end
end

-- Reads n bytes at offset of a frame, whichever form it came in.
function frames.read(frame, offset, n)
  if type(frame) == "string" then return frame:sub(offset + 1, offset + n) end
  return frame:read(offset, n)
end

function frames.length(frame)
  return #frame
end

-- The results socket every stage pushes to and the sink pulls from.
function frames.results(url)
  local push = assert(nml.socket("push", { send_timeout = 60000 }))
  assert(push:dial(url, { block = false }))
  return push
end

-- A consumer's loop: tells the source it is ready, then runs handle(t, received) on each
-- frame as it comes, checking what every consumer checks: the order, and that the frame did
-- not change while it was handled (as it would if the source's pool lent its buffer again too
-- early). Each frame is freed after (back to the pool). Returns what it counted, with the CPU
-- the frames took (from the first) and the peak RSS.
function frames.consume(mode, url, ready_url, name, frame_bytes, handle)
  local next_frame = frames.receiver(mode, url, frame_bytes)
  frames.ready(ready_url, name)
  local counts, expected, cpu_start = { frames = 0, out_of_order = 0, changed = 0 }, 1, nil
  while true do
    local t = next_frame()
    if t.done then break end
    cpu_start = cpu_start or os.clock()
    local received = nml.time()
    if t.seq ~= expected then counts.out_of_order = counts.out_of_order + 1 end
    expected = t.seq + 1
    local before = frames.probe(t.frame)
    handle(t, received)
    if frames.probe(t.frame) ~= before then counts.changed = counts.changed + 1 end
    if type(t.frame) ~= "string" then t.frame:free() end
    counts.frames = counts.frames + 1
  end
  local cost = frames.cost()
  counts.cpu, counts.rss_kib = cost.cpu - (cpu_start or cost.cpu), cost.rss_kib
  return counts
end

-- Tells the source this consumer is ready for frames, and its pid.
function frames.ready(url, name)
  local push = assert(nml.socket("push", { send_timeout = 60000 }))
  assert(push:dial(url, { block = false }))
  assert(push:send({ name = name, pid = frames.pid() }))
  nml.sleep(50) -- NNG writes it before the socket goes
  push:close()
end

-- This process's own cost: CPU seconds (every thread) and its peak resident size in KiB.
function frames.cost()
  local rss = 0
  local status = io.open("/proc/self/status")
  if status then
    rss = tonumber(status:read("*a"):match("VmHWM:%s*(%d+)")) or 0
    status:close()
  end
  return { cpu = os.clock(), rss_kib = rss }
end

-- A few bytes from three places of a frame, to tell whether it changed while it was read.
function frames.probe(frame)
  local n = frames.length(frame)
  return frames.read(frame, 0, 64) .. frames.read(frame, math.floor(n / 2), 64) .. frames.read(frame, n - 64, 64)
end

return frames
