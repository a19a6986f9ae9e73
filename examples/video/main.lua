-- Real video through a Lua pipeline. ffmpeg makes a clip (testsrc2) and decodes it into raw
-- frames; this process (the source) takes each frame into a pool of shared buffers and sends
-- it to three consumers, each in a process of its own:
--   luma.lua   (Lua)     a thumbnail and a luma histogram of each frame
--   motion.py  (Python)  a motion score between frames, with numpy on the frame's memory
--   sink.lua   (Lua)     every frame to ffmpeg, which encodes a file; the stages' results; a
--                        contact sheet of thumbnails (PNG) and the run's report (JSON)
-- With --mode shared (the default) a frame crosses as a reference and no consumer copies it;
-- --mode copy sends its bytes over ipc; --mode json is the old way, base64 in JSON on pipes.
--
--   lua main.lua [--mode shared|copy|json] [--size 1920x1080] [--fps 30] [--seconds 1]
--                [--pool 4] [--out DIR] [--pace] [--check]
-- --pace sends frames at the clip's rate instead of as fast as they come; --check has the sink
-- and the Python stage write each frame's MD5 (the spec compares them with ffmpeg's own).
local here = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local nml = require "nml"
local frames = require "frames"

local options = { mode = "shared", size = "1920x1080", fps = "30", seconds = "1", pool = "4" }
do
  local i = 1
  while arg[i] do
    local name = arg[i]:match("^%-%-(.+)$")
    assert(name, "unexpected argument " .. arg[i])
    if name == "pace" or name == "check" then
      options[name] = true
    else
      options[name] = assert(arg[i + 1], "--" .. name .. " needs a value")
      i = i + 1
    end
    i = i + 1
  end
end
assert(frames.MODES[options.mode], "--mode is shared, copy or json")
local width, height = options.size:match("^(%d+)x(%d+)$")
width, height = tonumber(width), tonumber(height)
assert(width and width % 16 == 0 and height % 8 == 0, "--size is WxH, W a multiple of 16, H of 8")
local fps = tonumber(options.fps)
local out = options.out or (os.getenv("TMPDIR") or "/tmp") .. "/nml-video-" .. os.time()
local FRAME = frames.size(width, height)

local function quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function run(cmd)
  local ok = os.execute(cmd)
  assert(ok == true or ok == 0, "failed: " .. cmd)
end

run("mkdir -p " .. quote(out))
local clip = out .. "/clip.mkv"
run(string.format("ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=%dx%d:rate=%d -t %s "
  .. "-c:v libx264 -preset ultrafast -crf 20 -pix_fmt yuv420p %s", width, height, fps, options.seconds, quote(clip)))
if options.check then -- what the frames are, by ffmpeg alone
  run(string.format("ffmpeg -hide_banner -loglevel error -y -i %s -f framemd5 %s", quote(clip),
    quote(out .. "/source.framemd5")))
end

local pool = assert(nml.shm_pool { size = FRAME, count = tonumber(options.pool) })

-- The consumers, each started with its frames' endpoint listening (or its pipe, in json).
local lua = arg[-1]
local python = os.getenv("NML_PYTHON") or "python3"
local check = options.check and "1" or "0"
local results_url, ready_url = frames.url(out, "results"), frames.url(out, "ready")
local ready = assert(nml.socket("pull", { recv_timeout = 60000 }))
assert(ready:listen(ready_url))
local urls = { "MODE", "URL", results_url, ready_url }
local consumers = {
  { name = "sink", cmd = { lua, here .. "/sink.lua", urls, width, height, fps, out, check } },
  { name = "luma", cmd = { lua, here .. "/luma.lua", urls, width, height } },
  { name = "motion", cmd = { python, here .. "/motion.py", urls, width, height, check } },
}
for _, c in ipairs(consumers) do
  c.url = frames.url(out, "frames-" .. c.name)
  local words = {}
  local function add(w)
    words[#words + 1] = quote(tostring(w == "MODE" and options.mode or w == "URL" and c.url or w))
  end
  for _, w in ipairs(c.cmd) do
    if type(w) == "table" then
      for _, u in ipairs(w) do add(u) end
    else
      add(w)
    end
  end
  if options.mode ~= "json" then c.send = frames.sender(options.mode, c.url) end
  c.pipe = assert(io.popen(table.concat(words, " "), "w"))
  if options.mode == "json" then c.send = frames.sender("json", c.url, c.pipe) end
end

-- Frames go once every consumer has started (Python's imports take a while), so that none is
-- timed waiting for a process to start.
for _ = 1, #consumers do assert(ready:recv()) end
ready:close()

local decoder = assert(io.popen(string.format(
  "ffmpeg -hide_banner -nostats -loglevel info -benchmark -i %s -f rawvideo -pix_fmt yuv420p - 2> %s",
  quote(clip), quote(out .. "/decode.log"))))
local started, seq, waits, cpu_start = nml.time(), 0, 0, nil
while true do
  local bytes = decoder:read(FRAME)
  if not bytes or #bytes < FRAME then break end
  seq = seq + 1
  cpu_start = cpu_start or os.clock()
  if options.pace then
    local due = started + (seq - 1) / fps
    if due > nml.time() then nml.sleep(math.floor((due - nml.time()) * 1000)) end
  end
  local t0 = nml.time()
  if options.mode == "json" then
    local encoded = frames.encode(bytes)
    for _, c in ipairs(consumers) do c.send({ seq = seq, t0 = t0 }, nil, encoded) end
  else
    local buffer = pool:take()
    while not buffer do -- every buffer is still read somewhere: wait for one
      waits = waits + 1
      nml.sleep(1)
      buffer = pool:take()
    end
    buffer:write(0, bytes)
    for _, c in ipairs(consumers) do c.send({ seq = seq, t0 = t0 }, buffer) end
    buffer:free() -- the pool keeps it until every consumer lets go
  end
end
decoder:close()
for _, c in ipairs(consumers) do c.send({ done = true }) end

-- The source's own word to the sink, then the wait for every consumer to finish.
local function ffmpeg_cost(log)
  local text = io.open(log):read("*a")
  local user, sys = text:match("utime=([%d.]+)s stime=([%d.]+)s")
  return { cpu = (tonumber(user) or 0) + (tonumber(sys) or 0), rss_kib = tonumber(text:match("maxrss=(%d+)kB")) }
end
local cost = frames.cost()
local results = frames.results(results_url)
assert(results:send({ stage = "source", finished = true, cpu = cost.cpu - (cpu_start or cost.cpu),
  rss_kib = cost.rss_kib, pool_waits = waits, frames = seq }))
for _, c in ipairs(consumers) do c.pipe:close() end
results:close()

local report = nml.decode(assert(io.open(out .. "/report.json")):read("*a"), "JSON")
report.stages.decoder = ffmpeg_cost(out .. "/decode.log")
report.stages.encoder = ffmpeg_cost(out .. "/encode.log")
local file = assert(io.open(out .. "/report.json", "w"))
file:write(nml.encode(report, "JSON"))
file:close()

local function ms(l) return string.format("p50 %.1f ms, p99 %.1f ms", l.p50 or 0, l.p99 or 0) end
print(string.format("video: %d frames of %dx%d (%s mode) in %.2f s, %.1f frames/s", report.frames, width, height,
  options.mode, report.seconds, report.fps))
for _, stage in ipairs({ "luma", "motion", "sink", "end_to_end" }) do
  print(string.format("  %-10s %s", stage, ms(report.latency_ms[stage])))
end
local cpu = 0
for _, s in pairs(report.stages) do cpu = cpu + (s.cpu or 0) end
print(string.format("  cpu %.1f ms per frame (every process, ffmpeg's included)", cpu / report.frames * 1000))
if report.contact_sheet then print("  contact sheet: " .. report.contact_sheet) end
print("  report: " .. out .. "/report.json")
