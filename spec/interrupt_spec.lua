-- Ctrl-C ends a blocking wait (the manual's "Interrupts"): the call returns
-- nil, msg, "interrupted", then the interpreter's own SIGINT handling runs (the standalone lua
-- raises "interrupted!"). Each case is a child process sent SIGINT while it blocks.
local helper = require "helper"
local nml = helper.nml

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

  -- nml's handler stands in front of a host's only while a wait blocks. A library that chains
  -- to the handler it finds, installed between waits, found nml's there when it stayed, and
  -- the two called each other until the stack ran out (the outsider's attack).
  it("stands in front of a host's handler only while it waits, and chains with a chaining one", function()
    local said = helper.run(string.format("env LUA_CPATH='%s;;' %s %s/support/interrupt_host.lua",
      helper.cpath, helper.lua, here))
    assert.matches("host's after a wait true\n", said)
    assert.matches("recv interrupted\n", said)
    assert.matches("host 1 chain 1\n", said)
    assert.matches("state true", said)
  end)

  it("ends the wait it came in, never the next one", function()
    local said = helper.run(string.format("env LUA_CPATH='%s;;' %s %s/support/interrupt_phantom.lua",
      helper.cpath, helper.lua, here))
    assert.matches("polls interrupted 20 phantoms 0 signals 20", said)
  end)

  -- A script with a SIGINT handler of its own goes on after "interrupted": nothing may be
  -- lost (a message taken, then reported interrupted) or sent twice (sent, then reported
  -- interrupted, then sent again).
  local function storm(pid)
    os.execute(string.format(
      "(for i in $(seq 250); do kill -INT %s 2>/dev/null || exit 0; sleep 0.003; done) >/dev/null 2>&1 &", pid))
  end
  local storm_child = string.format("env LUA_CPATH='%s;;' %s %s/support/interrupt_storm.lua",
    helper.cpath, helper.lua, here)
  local N = 8000

  it("storms lose no message a blocking recv took", function()
    local url = helper.ipc_url()
    local child = assert(io.popen(storm_child .. " recv " .. url))
    local pid = child:read("*l"):match("^ready (%d+)")
    local push = helper.socket("push", { send_buffer = 8192, send_timeout = 5000 })
    assert(push:dial(url))
    storm(pid)
    for i = 1, N do
      assert(push:send(i))
      if i % 20 == 0 then nml.sleep(1) end
    end
    local said = child:read("*a")
    child:close()
    push:close()
    assert.matches("last " .. N .. " gaps 0 ", said)
    assert.matches("signals [1-9]", said) -- the host's handler had them
  end)

  it("storms send nothing twice", function()
    local url = helper.ipc_url()
    local pull = helper.socket("pull", { recv_timeout = 5000 })
    assert(pull:listen(url))
    local child = assert(io.popen(storm_child .. " send " .. url .. " " .. N))
    local pid = child:read("*l"):match("^ready (%d+)")
    storm(pid)
    local seen, dups, last = {}, 0, 0
    while last < N do
      local v = pull:recv()
      if not v then break end
      if seen[v] then dups = dups + 1 end
      seen[v], last = true, math.max(last, v)
      if last % 10 == 0 then nml.sleep(1) end
    end
    local said = child:read("*a")
    child:close()
    pull:close()
    assert.are.equal(N, last, said)
    assert.are.equal(0, dups, "sent twice: " .. dups .. "; " .. said)
    assert.matches("signals [1-9]", said) -- the host's handler had them
  end)
end)
