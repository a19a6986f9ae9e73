-- Real video through a Lua pipeline. ffmpeg makes a clip (testsrc2; or --input, a video file)
-- and decodes it into raw frames; this process (the source) takes each frame into a pool of
-- shared buffers and sends it to three consumers, each in a process of its own:
--   luma.lua   (Lua)     a thumbnail and a luma histogram of each frame
--   motion.py  (Python)  a motion score between frames, with numpy on the frame's memory
--   sink.lua   (Lua)     every frame to ffmpeg, which encodes a file; the stages' results; a
--                        contact sheet of thumbnails (PNG) and the run's report (JSON)
-- With --mode shared (the default) a frame crosses as a reference and no consumer copies it;
-- --mode copy sends its bytes over ipc; --mode json is the old way, base64 in JSON on pipes.
--
--   lua main.lua [--mode shared|copy|json] [--size 1920x1080] [--fps 30] [--seconds 1]
--                [--input FILE] [--pool 4] [--out DIR] [--pace] [--check]
-- --input decodes a video file instead (its size and rate; --seconds, if given, cuts it);
-- --pace sends frames at the clip's rate instead of as fast as they come; --check has the sink
-- and the Python stage write each frame's MD5 instead of encoding (spec/video_spec.lua
-- compares them with ffmpeg's own, source.framemd5).
local here = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local nml = require "nml"
local frames = require "frames"

local USAGE = "options: --mode shared|copy|json, --size WxH, --fps N, --seconds S, --input FILE, "
  .. "--pool N, --out DIR, --pace, --check"
local FLAGS, VALUES = { pace = true, check = true },
  { mode = true, size = true, fps = true, seconds = true, input = true, pool = true, out = true }

local function parse(args)
  local options = { mode = "shared", size = "1920x1080", fps = "30", pool = "4" }
  local i = 1
  while args[i] do
    local name = args[i]:match("^%-%-(.+)$")
    if FLAGS[name] then
      options[name] = true
    elseif VALUES[name] and args[i + 1] and not args[i + 1]:match("^%-%-") then
      options[name] = args[i + 1]
      i = i + 1
    else
      error((VALUES[name] and "--" .. name .. " needs a value" or "unknown argument " .. args[i]) .. "; " .. USAGE, 0)
    end
    i = i + 1
  end
  return options
end

local options = parse(arg)
assert(frames.MODES[options.mode], "--mode is shared, copy or json")

local function quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function run(cmd)
  local ok = os.execute(cmd)
  return ok == true or ok == 0
end

local function output_of(cmd)
  local pipe = assert(io.popen(cmd))
  local text = pipe:read("*a")
  pipe:close()
  return text
end

-- The clip's size and rate: --input's, as ffprobe tells them, or the options'.
local width, height, fps
if options.input then
  local probe = output_of("ffprobe -v error -select_streams v:0 -show_entries stream=width,height,r_frame_rate "
    .. "-of csv=p=0 " .. quote(options.input) .. " 2>&1")
  local w, h, num, den = probe:match("^(%d+),(%d+),(%d+)/(%d+)")
  assert(w, "ffprobe found no video in " .. options.input .. ": " .. probe)
  width, height, fps = tonumber(w), tonumber(h), tonumber(num) / tonumber(den)
else
  local w, h = options.size:match("^(%d+)x(%d+)$")
  width, height, fps = tonumber(w), tonumber(h), tonumber(options.fps)
  assert(width and width >= 64 and height >= 64, "--size is WxH, each 64 or more")
  assert(fps and fps > 0, "--fps is frames per second, above 0")
end
assert(width % 2 == 0 and height % 2 == 0, "yuv420p needs an even width and height, not "
  .. width .. "x" .. height)
local seconds = options.seconds or (not options.input and "1")
assert(not seconds or tonumber(seconds) and tonumber(seconds) > 0, "--seconds is above 0")
local FRAME = frames.size(width, height)
local me = frames.pid()
local out = options.out or (os.getenv("TMPDIR") or "/tmp") .. "/nml-video-" .. me

-- One run at a time in a directory: another would write over its clip and its reports.
assert(run("mkdir -p " .. quote(out)), "cannot make " .. out)
assert(run("mkdir " .. quote(out .. "/running") .. " 2>/dev/null"), "another pipeline runs in " .. out
  .. " (if none does, a stopped one left " .. out .. "/running: remove it)")

local clip = options.input or out .. "/clip.mkv"
local cut = seconds and ("-t " .. seconds) or ""
if not options.input then
  assert(run(string.format("ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=%dx%d:rate=%s %s "
    .. "-c:v libx264 -preset ultrafast -crf 20 -pix_fmt yuv420p %s", width, height, fps, cut, quote(clip))),
    "ffmpeg could not make the clip")
end
if options.check then -- what the frames are, by ffmpeg alone
  assert(run(string.format("ffmpeg -hide_banner -loglevel error -y -i %s %s -pix_fmt yuv420p -f framemd5 %s",
    quote(clip), cut, quote(out .. "/source.framemd5"))))
end

local pool = assert(nml.shm_pool { size = FRAME, count = tonumber(options.pool) })

-- The consumers. Each is told this process's pid (it ends when this process is gone) and the
-- frame's size; the shell that starts it writes its exit status to <out>/<name>.exit, so that
-- a consumer that fails is named at once instead of stalling the others.
local lua = arg[-1]
local python = os.getenv("NML_PYTHON") or "python3"
local check = options.check and "1" or "0"
local results_url, ready_url = frames.url(out, "results"), frames.url(out, "ready")
local ready = assert(nml.socket("pull", { recv_timeout = 1000 }))
assert(ready:listen(ready_url))
local urls = { "MODE", "URL", results_url, ready_url }
local consumers = {
  { name = "sink", cmd = { lua, here .. "/sink.lua", urls, width, height, fps, out, check } },
  { name = "luma", cmd = { lua, here .. "/luma.lua", urls, width, height } },
  { name = "motion", cmd = { python, here .. "/motion.py", urls, width, height, check } },
}

-- A consumer's exit status ("0" when it ended well), or nil while it runs.
local function exit_status(c)
  local f = io.open(out .. "/" .. c.name .. ".exit")
  local status = f and f:read("*l")
  if f then f:close() end
  return status ~= "" and status or nil
end

-- The first consumer that has ended (only those that failed, with `failed`), and how.
local function exited(failed)
  for _, c in ipairs(consumers) do
    local status = exit_status(c)
    if status and (status ~= "0" or not failed) then return c.name, status end
  end
end

-- Fails, naming the consumer, if one has ended (or failed, with `failed`).
local function check_consumers(doing, failed)
  local name, status = exited(failed)
  if name then
    error(string.format("the %s stage ended (exit status %s) %s: its own error is above", name, status, doing), 0)
  end
end

local function start(c)
  c.url = frames.url(out, "frames-" .. c.name)
  os.remove(out .. "/" .. c.name .. ".exit")
  os.remove(out .. "/stop")
  local words = { "NML_VIDEO_SOURCE=" .. me, "NML_VIDEO_STOP=" .. quote(out .. "/stop") }
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
  local status_file = quote(out .. "/" .. c.name .. ".exit")
  c.pipe = assert(io.popen(table.concat(words, " ") .. "; echo $? > " .. status_file, "w"))
  if options.mode == "json" then c.send = frames.sender("json", c.url, c.pipe) end
end

-- Sends t (and the frame) to every consumer, waiting while one is busy, as long as all live.
local function send_all(t, buffer, encoded)
  for _, c in ipairs(consumers) do
    while not c.send(t, buffer, encoded) do check_consumers("while frames were sent") end
  end
end

local stats = { frames = 0, waits = 0, waited = 0, cpu_start = nil }

local function stream_frames()
  for _, c in ipairs(consumers) do start(c) end
  -- Frames go once every consumer has started (Python's imports take a while), so that none
  -- is timed waiting for a process to start.
  local started = nml.clock()
  for _ = 1, #consumers do
    local said = ready:recv()
    while not said do
      check_consumers("before it was ready")
      assert(nml.clock() - started < 60, "a consumer did not start in 60 s")
      said = ready:recv()
    end
    for _, c in ipairs(consumers) do
      if c.name == said.name then c.pid = said.pid end
    end
  end
  local decoder = assert(io.popen(string.format(
    "ffmpeg -hide_banner -nostats -loglevel info -benchmark -i %s %s -f rawvideo -pix_fmt yuv420p - 2> %s",
    quote(clip), cut, quote(out .. "/decode.log"))))
  local first
  while true do
    local bytes = decoder:read(FRAME)
    if not bytes or #bytes < FRAME then break end
    stats.frames = stats.frames + 1
    local seq = stats.frames
    first = first or nml.clock()
    stats.cpu_start = stats.cpu_start or os.clock()
    if options.pace then
      local due = first + (seq - 1) / fps
      if due > nml.clock() then nml.sleep(math.floor((due - nml.clock()) * 1000)) end
    end
    if options.mode == "json" then
      send_all({ seq = seq, t0 = nml.time() }, nil, frames.encode(bytes))
    else
      local buffer, why = pool:take()
      local waiting, told = nml.clock(), false
      while not buffer do -- every buffer is still read somewhere: wait for one
        stats.waits = stats.waits + 1
        check_consumers("while the pool waited for a buffer")
        if not told and nml.clock() - waiting > 3 then
          io.stderr:write("source: waiting for a free buffer: ", why, "\n")
          told = true
        end
        nml.sleep(1)
        buffer, why = pool:take()
      end
      stats.waited = stats.waited + (nml.clock() - waiting)
      buffer:write(0, bytes)
      send_all({ seq = seq, t0 = nml.time() }, buffer)
      buffer:free() -- the pool keeps it until every consumer lets go
    end
  end
  decoder:close()
  send_all({ done = true })
end

-- The source's own word to the sink, then the wait for every consumer to end well.
local function finish()
  local cost = frames.cost()
  local results = frames.results(results_url)
  assert(results:send({ stage = "source", finished = true, cpu = cost.cpu - (stats.cpu_start or cost.cpu),
    rss_kib = cost.rss_kib, pool_waits = stats.waits, pool_wait_ms = stats.waited * 1000, frames = stats.frames }))
  local ended = 0
  while ended < #consumers do
    check_consumers("before the end", true)
    ended = 0
    for _, c in ipairs(consumers) do
      if exit_status(c) then ended = ended + 1 end
    end
    nml.sleep(20)
  end
  for _, c in ipairs(consumers) do c.pipe:close() end
  results:close()
end

-- A consumer that fails stops the run, and the others with it (they also end on their own
-- once this process is gone).
local ok, err = pcall(function()
  stream_frames()
  finish()
end)
if not ok then
  -- Every consumer told to stop (those not yet ready too), and waited for, so that none
  -- outlives the run.
  io.open(out .. "/stop", "w"):close()
  for _, c in ipairs(consumers) do
    if c.pid then os.execute("kill " .. c.pid .. " 2>/dev/null") end
  end
  local waited = nml.clock()
  for _, c in ipairs(consumers) do
    while c.pipe and not exit_status(c) and nml.clock() - waited < 5 do nml.sleep(20) end
  end
  os.execute("rmdir " .. quote(out .. "/running"))
  io.stderr:write("video: ", tostring(err), "\n")
  os.exit(1)
end
os.execute("rmdir " .. quote(out .. "/running"))

local function ffmpeg_cost(log)
  local text = io.open(log):read("*a")
  local user, sys = text:match("utime=([%d.]+)s stime=([%d.]+)s")
  return { cpu = (tonumber(user) or 0) + (tonumber(sys) or 0), rss_kib = tonumber(text:match("maxrss=(%d+)kB")) }
end
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
print(string.format("  cpu %.1f ms per frame (every process, ffmpeg's included); waited %.0f ms for free buffers",
  cpu / math.max(report.frames, 1) * 1000, stats.waited * 1000))
if report.contact_sheet then print("  contact sheet: " .. report.contact_sheet) end
print("  report: " .. out .. "/report.json")
