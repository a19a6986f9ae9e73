-- The video pipeline (examples/video) on a short 1080p clip: every frame ffmpeg decoded reaches
-- each consumer once, in order, unchanged while it is read, and with the bytes ffmpeg made (its
-- own MD5 of each frame against the sink's, through the encoder's input, and the Python
-- stage's, on the frame's memory), with a pool of two frames so that buffers are lent again
-- all the time.
local helper = require "helper"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local video = here .. "/../examples/video"

local function nml_sleep(ms)
  require("nml").sleep(ms)
end

local function md5s(path)
  local list = {}
  for line in io.lines(path) do
    if not line:match("^#") then list[#list + 1] = line:match("(%x+)%s*$") end
  end
  return list
end

local function run_pipeline(out, ...)
  local cmd = string.format("cd %s && LUA_CPATH='%s;;' %s main.lua --out %s --size 1920x1080 --fps 24 "
    .. "--seconds 1 --pool 2 %s", video, helper.cpath, helper.lua, out, table.concat({ ... }, " "))
  local text, ok = helper.run(cmd)
  assert(ok, "the pipeline failed:\n" .. text)
  local nml = require "nml"
  return nml.decode(helper.read_file(out .. "/report.json"), "JSON"), text
end

describe("the video pipeline", function()
  local out

  before_each(function()
    out = os.tmpname()
    os.remove(out)
  end)

  after_each(function()
    os.execute("rm -rf '" .. out .. "'")
  end)

  it("stops at once, naming it, when a consumer fails, and leaves none running", function()
    local started = os.time()
    local text, ok = helper.run(string.format("cd %s && NML_PYTHON=false LUA_CPATH='%s;;' %s main.lua --out %s "
      .. "--size 320x240", video, helper.cpath, helper.lua, out))
    assert.is_false(ok)
    assert.matches("the motion stage ended %(exit status 1%) before it was ready", text)
    assert.is_true(os.time() - started < 20, "it failed at once, not after a timeout")
    nml_sleep(300)
    local ps = helper.run("ps -eo args")
    for line in ps:gmatch("[^\n]+") do
      local consumer = line:find("sink.lua", 1, true) or line:find("luma.lua", 1, true)
      assert.is_falsy(consumer and line:find(out, 1, true), "a consumer of that run is left: " .. line)
    end
    local again = helper.run(string.format("cd %s && LUA_CPATH='%s;;' %s main.lua --out %s --size 320x240 "
      .. "--seconds 0.2", video, helper.cpath, helper.lua, out))
    assert.matches("video: 6 frames", again, "the next run in the same directory goes")
  end)

  it("refuses a second run in the same directory, and options it does not know", function()
    assert(os.execute("mkdir -p '" .. out .. "/running'"))
    local text, ok = helper.run(string.format("cd %s && LUA_CPATH='%s;;' %s main.lua --out %s", video, helper.cpath,
      helper.lua, out))
    assert.is_false(ok)
    assert.matches("another pipeline runs in", text)
    text, ok = helper.run(string.format("cd %s && LUA_CPATH='%s;;' %s main.lua --chek", video, helper.cpath,
      helper.lua))
    assert.is_false(ok)
    assert.matches("unknown argument %-%-chek; options: %-%-mode", text)
  end)

  for _, mode in ipairs({ "shared", "copy" }) do
    it("delivers every frame once, in order and intact, to each consumer (" .. mode .. ")", function()
      local report = run_pipeline(out, "--check", "--mode", mode)
      local source = md5s(out .. "/source.framemd5")
      assert.are.equal(24, #source)
      assert.are.equal(24, report.frames)
      assert.are.equal(24, report.complete, "every frame has the results of both stages and the sink")
      assert.are.same(source, md5s(out .. "/sink.framemd5"), "the sink's frames are ffmpeg's")
      assert.are.same(source, report.md5, "the Python stage's frames are ffmpeg's")
      for _, stage in ipairs({ "luma", "motion", "sink" }) do
        assert.are.equal(0, report.stages[stage].out_of_order, stage .. " got frames out of order")
        assert.are.equal(0, report.stages[stage].changed, stage .. " saw a frame change while reading it")
      end
      assert.are.equal(24, report.stages.source.frames)
      local png = helper.read_file(report.contact_sheet)
      assert.are.equal("\137PNG", png:sub(1, 4))
    end)
  end

  it("encodes the frames into a file and prints its figures", function()
    local report, text = run_pipeline(out)
    assert.matches("video: 24 frames of 1920x1080 %(shared mode%) in [%d.]+ s", text)
    assert.matches("end_to_end +p50 [%d.]+ ms, p99 [%d.]+ ms", text)
    local probe, ok = helper.run("ffprobe -v error -count_frames -select_streams v:0 -show_entries "
      .. "stream=nb_read_frames,width,height -of csv=p=0 " .. out .. "/out.mp4")
    assert(ok, probe)
    assert.are.equal("1920,1080,24", probe:match("[%d,]+"))
    assert.are.equal(24, #report.motion)
  end)
end)
