-- Every program in examples/ runs, under the interpreter these specs run on, and prints what
-- it is expected to print.
local helper = require "helper"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local examples = here .. "/../examples"

local expected = {
  ["codec_tour.lua"] = { "packed a table of every kind into %d+ bytes %(packsize said %d+%)", "round trip ok" },
  ["demo.lua"] = { "client %-> worker  MessagePack%s+10487%d%d bytes", "<rgb_frame: 1048576 bytes>",
    "worker got job 1 %(MessagePack%): rgb_frame frame of 1048576 bytes", "worker %-> client  JSON",
    "checksum=%d+", "demo ok: 5 messages crossed" },
  ["buffers.lua"] = { "sent frame 1: 640x480 gray8, 307200 bytes, adler32=%x+",
    "got frame 3: 640x480 gray8, nml.msg %(307200 bytes, view%), adler32=%x+",
    "buffers ok: 3 frames crossed, checksums match" },
  ["python_peer.lua"] = { "sum of 3 numbers = 6 %(reply in MessagePack from python%)",
    "sum of 2 numbers = 8.5", "sum of 0 numbers = 0", "python worker: done" },
  ["reqrep.lua"] = { "2 %+ 3 = 5 %(reply as JSON%)", "40 %+ 2 = 42" },
  ["pubsub.lua"] = { "weather.lyon: Lyon 21.5 %(as MessagePack%)", "news filtered out: true" },
  ["pipeline.lua"] = { "frame 1: 4096 bytes %(string%), no copy", "frame 3: 4096 bytes" },
  ["survey.lua"] = { "3 answers: node 1: 0.25, node 2: 0.50, node 3: 0.75" },
  ["event_loop_luv.lua"] = { "server: answered 80 requests through 8 contexts, up to [2-8] at once",
    "server: pulled 100 items %(sum 5050%)", "client: 80 requests answered, each by its own reply",
    "client: pushed 100 items, pulled 100 items %(sum 5050%)", "client ok", "luv event loop ok" },
  ["event_loop_cqueues.lua"] = { "server: answered 80 requests through 8 contexts, up to [2-8] at once",
    "server: pulled 100 items %(sum 5050%)", "client: 80 requests answered, each by its own reply",
    "client: pushed 100 items, pulled 100 items %(sum 5050%)", "client ok", "cqueues event loop ok" },
  ["forwarder.lua"] = { "forwarder: front on 127%.0%.0%.1:%d+, back on 127%.0%.0%.1:%d+ and 127%.0%.0%.2:%d+",
    "subscriber on 127%.0%.0%.1: 9 messages %(MessagePack 3, JSON 3, string 3%), tags intact",
    "subscriber on 127%.0%.0%.2: 9 messages %(MessagePack 3, JSON 3, string 3%), tags intact",
    "forwarder ok: every message crossed to both hosts" },
  ["protocols.lua"] = { "lua%-cjson%s+%-> JSON", "kv%s+%-> kv", "bad JSON  %-> nil, malformed" },
  ["python_worker/main.lua"] = { "python worker %(MessagePack%): 2 %+ 3 = 5",
    "a 1 MiB buffer in, size 1048576 and byte sum 133693440 back %(match%)",
    "1 / 0 answered with an error: ZeroDivisionError: division by zero %(result nil%)",
    "MessagePack: 1000 requests in %d+%.%d+ s, %d+ bytes out, %d+ bytes back",
    "JSON:        1000 requests in %d+%.%d+ s, %d+ bytes out, %d+ bytes back",
    "MessagePack requests are %d+%% of JSON's size", "python worker ok" },
  ["shm_frames.lua"] = { "camera: 3 shared frames of 3840x2160 RGBA %(33177600 bytes each%)",
    "sink: %d+ frames, 0 wrong, latency median %d+ µs, p99 %d+ µs",
    "camera: %d+ frames sent, %d+ dropped, in %d+%.%d+ s %([%d.]+ frames/s, [%d.]+ GB/s of frames%), "
      .. "%d+ bytes on the wire",
    "shm frames ok" },
  ["rust_peer/main.lua"] = { "lua %-> rust: add 2 3 = 5", "divide 1 0 answered with an error: cannot divide 1 by 0",
    "a 1 MiB buffer as bin, size 1048576 and byte sum 2621440 back %(match%)",
    "a 80 MiB frame header refused: a frame of 83886080 bytes, more than 67108864",
    "rust peer: answered 3 requests", "rust peer: every answer from nml checked",
    "rust %-> lua: answered 3 requests", "rust peer ok" },
}

-- Examples with a spec of their own, which runs them with the options it checks.
local covered_elsewhere = {
  ["video/main.lua"] = "video_spec.lua",
}

-- Runs examples/<name> from its own directory (an example in a directory of its own is
-- `<dir>/main.lua`).
local function run_example(name)
  local dir, file = name:match("^(.-)/?([^/]+)$")
  local cmd = string.format("cd %s/%s && LUA_CPATH='%s;;' %s %s", examples, dir, helper.cpath, helper.lua, file)
  return helper.run(cmd)
end

describe("examples", function()
  local listing = io.popen("cd " .. examples .. " && ls *.lua */main.lua")
  local found = {}
  for path in listing:lines() do found[#found + 1] = path end
  listing:close()

  it("has an expectation for every example", function()
    for _, name in ipairs(found) do
      assert.is_not_nil(expected[name] or covered_elsewhere[name],
        name .. " has no expected output in examples_spec.lua")
    end
  end)

  for _, name in ipairs(found) do
    if not covered_elsewhere[name] then
      it(name .. " runs and prints what it should", function()
        local out, ok = run_example(name)
        assert(ok, name .. " failed:\n" .. out)
        for _, pattern in ipairs(expected[name] or {}) do
          assert(out:find(pattern), name .. " did not print " .. pattern .. ":\n" .. out)
        end
      end)
    end
  end
end)
