-- The Lua stage of the video pipeline: for each frame, a thumbnail (some 240 pixels wide,
-- yuv420p) and a histogram of its luma, sent to the sink. It reads only the bytes it samples
-- (a row of luma at a time, straight from the frame's memory), so a 4K frame costs it what a
-- thumbnail costs, not what the frame weighs.
--   lua luma.lua MODE FRAMES_URL RESULTS_URL READY_URL WIDTH HEIGHT
local here = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local nml = require "nml"
local frames = require "frames"

local mode, frames_url, results_url, ready_url = arg[1], arg[2], arg[3], arg[4]
local width, height = tonumber(arg[5]), tonumber(arg[6])
-- A thumbnail pixel for each STEP x STEP block: thumbnails some 240 pixels wide at any size.
local STEP = math.max(1, math.floor(width / 240))

-- Every STEP-th byte of `row` (a string), from the first: one gsub, in C.
local EVERY_STEP = "(.)" .. string.rep(".", STEP - 1)
local function sample(row)
  return (row:gsub(EVERY_STEP, "%1"))
end

-- The thumbnail's three planes (yuv420p, even sides) and the histogram of its luma.
local function thumbnail(frame)
  local tw, th = 2 * math.floor(width / STEP / 2), 2 * math.floor(height / STEP / 2)
  local planes, hist = {}, {}
  for i = 1, 256 do hist[i] = 0 end
  for j = 0, th - 1 do
    local row = sample(frames.read(frame, j * STEP * width, width)):sub(1, tw)
    planes[#planes + 1] = row
    for i = 1, tw do
      local v = row:byte(i) + 1
      hist[v] = hist[v] + 1
    end
  end
  local cw, ch = width / 2, height / 2
  for plane = 0, 1 do -- a chroma row of the thumbnail for each two of its luma rows
    local at = width * height + plane * cw * ch
    for j = 0, th / 2 - 1 do
      planes[#planes + 1] = sample(frames.read(frame, at + j * STEP * cw, cw)):sub(1, tw / 2)
    end
  end
  return table.concat(planes), hist, tw, th
end

local results = frames.results(results_url)
local frame_bytes = frames.size(width, height)
local counts = frames.consume(mode, frames_url, ready_url, "luma", frame_bytes, function(t, received)
  local thumb, hist, tw, th = thumbnail(t.frame)
  assert(results:send({ stage = "luma", seq = t.seq, t0 = t.t0, received = received, done = nml.time(),
    thumb = thumb, thumb_width = tw, thumb_height = th, hist = hist }))
end)
counts.stage, counts.finished = "luma", true
assert(results:send(counts))
nml.sleep(100) -- NNG writes what it holds before the process goes
