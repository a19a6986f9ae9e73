-- The sink of the video pipeline: it writes every frame to ffmpeg, which encodes a file (or,
-- with CHECK = 1, writes each frame's MD5 for the spec), gathers what the two stages found,
-- makes a contact sheet of their thumbnails (a PNG) and writes the run's report (JSON).
--   lua sink.lua MODE FRAMES_URL RESULTS_URL READY_URL WIDTH HEIGHT FPS OUT CHECK
local here = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local nml = require "nml"
local frames = require "frames"

local mode, frames_url, results_url, ready_url = arg[1], arg[2], arg[3], arg[4]
local width, height, fps, out, check = tonumber(arg[5]), tonumber(arg[6]), tonumber(arg[7]), arg[8], arg[9] == "1"
local SHEET = 4 -- a contact sheet of 4 x 4 thumbnails

local function quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local target = check and ("-f framemd5 " .. quote(out .. "/sink.framemd5"))
  or ("-c:v libx264 -preset ultrafast -y " .. quote(out .. "/out.mp4"))
local encoder = assert(io.popen(string.format("ffmpeg -hide_banner -nostats -loglevel info -benchmark "
  .. "-f rawvideo -pix_fmt yuv420p -s %dx%d -r %d -i - %s > %s 2>&1",
  width, height, fps, target, quote(out .. "/encode.log")), "w"))

local results = assert(nml.socket("pull", { recv_timeout = 1000 }))
assert(results:listen(results_url))
local by_seq, stages = {}, {}

local function take_result(r)
  if r.finished then
    stages[r.stage] = r
    return
  end
  local entry = by_seq[r.seq] or {}
  entry[r.stage] = r
  by_seq[r.seq] = entry
end

local function drain_results()
  while true do
    local r = results:recv({ dontwait = true })
    if not r then return end
    take_result(r)
  end
end

-- Frames, in order, each written to the encoder as it comes.
local count = 0
stages.sink = frames.consume(mode, frames_url, ready_url, "sink", frames.size(width, height), function(t, received)
  encoder:write(frames.read(t.frame, 0, frames.length(t.frame)))
  count = count + 1
  local entry = by_seq[t.seq] or {}
  entry.sink = { t0 = t.t0, received = received, done = nml.time() }
  by_seq[t.seq] = entry
  drain_results()
end)
encoder:close()

-- Every stage's results, and the source's last word.
while not (stages.luma and stages.motion and stages.source) do
  local r, err, code = results:recv()
  if r then
    take_result(r)
  else
    assert(code == "timeout", err)
    assert(frames.source_alive(), "the source is gone")
  end
end

-- The contact sheet: SHEET x SHEET thumbnails spread over the clip, each with a dark gutter
-- of GAP pixels before it (and one after the last), in yuv420p, then a PNG.
local GAP = 4
local function contact_sheet()
  local first = by_seq[1] and by_seq[1].luma
  if not first then return nil end
  local tw, th = first.thumb_width, first.thumb_height
  local picks = {}
  for i = 0, SHEET * SHEET - 1 do
    picks[#picks + 1] = by_seq[1 + math.floor(i * (count - 1) / (SHEET * SHEET - 1))].luma.thumb
  end
  local planes = {}
  -- Each row of one plane of the sheet, cell by cell; `dark` is the gutter's value there.
  local function plane(offset, w, h, gap, dark)
    local gutter_row = string.rep(dark, SHEET * (w + gap) + gap)
    for grid_row = 0, SHEET - 1 do
      for _ = 1, gap do planes[#planes + 1] = gutter_row end
      for r = 0, h - 1 do
        for grid_col = 0, SHEET - 1 do
          local thumb = picks[grid_row * SHEET + grid_col + 1]
          planes[#planes + 1] = string.rep(dark, gap) .. thumb:sub(offset + r * w + 1, offset + (r + 1) * w)
        end
        planes[#planes + 1] = string.rep(dark, gap)
      end
    end
    for _ = 1, gap do planes[#planes + 1] = gutter_row end
  end
  plane(0, tw, th, GAP, "\16")                                -- luma: black
  plane(tw * th, tw / 2, th / 2, GAP / 2, "\128")             -- chroma: no colour
  plane(tw * th + tw * th / 4, tw / 2, th / 2, GAP / 2, "\128")
  local png = out .. "/contact.png"
  local writer = assert(io.popen(string.format(
    "ffmpeg -hide_banner -loglevel error -y -f rawvideo -pix_fmt yuv420p -s %dx%d -i - -frames:v 1 %s",
    SHEET * (tw + GAP) + GAP, SHEET * (th + GAP) + GAP, quote(png)), "w"))
  writer:write(table.concat(planes))
  writer:close()
  return png
end

local function percentiles(values)
  if #values == 0 then return { n = 0 } end
  table.sort(values)
  local function at(q) return values[math.max(1, math.ceil(#values * q))] end
  return { p50 = at(0.5) * 1000, p99 = at(0.99) * 1000, n = #values }
end

local latency = { luma = {}, motion = {}, sink = {}, end_to_end = {} }
local processing = { luma = {}, motion = {}, sink = {} }
local first_t0, last_done, md5, motion, complete = math.huge, 0, {}, {}, 0
for seq = 1, count do
  local e = by_seq[seq]
  if e and e.luma and e.motion and e.sink then
    complete = complete + 1
    local t0 = e.sink.t0
    local done = math.max(e.luma.done, e.motion.done, e.sink.done)
    for _, stage in ipairs({ "luma", "motion", "sink" }) do
      latency[stage][#latency[stage] + 1] = e[stage].done - t0
      processing[stage][#processing[stage] + 1] = e[stage].done - e[stage].received
    end
    latency.end_to_end[#latency.end_to_end + 1] = done - t0
    first_t0, last_done = math.min(first_t0, t0), math.max(last_done, done)
    md5[seq] = e.motion.md5
    motion[seq] = e.motion.motion
  end
end
local report = {
  mode = mode, width = width, height = height, frames = count, complete = complete,
  seconds = complete > 0 and last_done - first_t0 or 0,
  fps = complete > 0 and count / (last_done - first_t0) or 0,
  latency_ms = {}, processing_ms = {}, stages = stages, md5 = check and md5 or nil, motion = motion,
  contact_sheet = contact_sheet(),
}
for k, v in pairs(latency) do report.latency_ms[k] = percentiles(v) end
for k, v in pairs(processing) do report.processing_ms[k] = percentiles(v) end
local file = assert(io.open(out .. "/report.json", "w"))
file:write(nml.encode(report, "JSON"))
file:close()
