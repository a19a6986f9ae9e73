-- Ctrl-C ends a blocking wait (the manual's "Interrupts"): the call returns
-- nil, msg, "interrupted", then the interpreter's own SIGINT handling runs (the standalone lua
-- raises "interrupted!"). Each case is a child process sent SIGINT while it blocks.
local helper = require "helper"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"

-- Runs the child blocked in `what`, sends it SIGINT once it waits, and gives what it printed
-- and whether it ended by itself within 5 s.
local function interrupt(what)
  local out = os.tmpname()
  local script = string.format([[
    env LUA_CPATH='%s;;' %s %s/support/interrupt_child.lua %s > %s 2>&1 &
    pid=$!
    for i in $(seq 100); do grep -q ready %s && break; sleep 0.05; done
    sleep 0.3
    kill -INT $pid
    for i in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done
    if kill -0 $pid 2>/dev/null; then echo "still waiting after SIGINT" >> %s; kill -9 $pid; fi
    wait $pid
  ]], helper.cpath, helper.lua, here, what, out, out, out)
  local shell = assert(io.popen(script))
  shell:read("*a")
  shell:close()
  local said = helper.read_file(out)
  os.remove(out)
  return said
end

describe("Ctrl-C", function()
  for _, what in ipairs({ "recv", "send", "sleep", "poll", "context" }) do
    it("ends a blocking " .. what .. ": nil, msg, \"interrupted\", then the interpreter's handling", function()
      local said = interrupt(what)
      assert.is_nil(said:find("still waiting", 1, true), said)
      assert.matches("interrupted!", said)
      assert.is_nil(said:find("did not run", 1, true), said)
      if not jit then
        assert.matches("returned%s+nil%s+[^\n]+%s+interrupted\n", said)
      end
    end)
  end
end)
