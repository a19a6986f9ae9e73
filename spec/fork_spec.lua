-- A process that forks, as a pre-forking server does (nginx's master before its workers).
-- NNG cannot run in a child forked after it started (its threads stay in the parent, and its
-- own pthread_atfork handler makes the first lock in the child abort the process): nml raises a
-- clear error there instead, and the child's garbage collection leaves the parent's sockets to
-- the parent. Each case is a fresh interpreter running spec/support/fork_child.lua.
local helper = require "helper"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"

local function run(mode)
  return helper.run(string.format("LUA_CPATH='%s;;' %s %s/support/fork_child.lua %s",
    helper.cpath, helper.lua, here, mode))
end

describe("a process forked after nml started NNG", function()
  it("raises in the child, which ends cleanly, and the parent goes on", function()
    local out, ok = run("after-socket")
    assert(ok, out)
    assert.matches("parent sees the child end:%s+exit%s+0", out)
    for _, call in ipairs({ "send", "socket", "stats" }) do
      assert.matches("child " .. call .. ":%s+false%s+" .. call
        .. ": this process was forked after nml started NNG in it", out)
    end
    assert.matches("child codec:%s+3", out) -- what needs no NNG still works
    -- A pool's free list stays with the process that made it: the child would lend its buffers.
    assert.matches("child pool:%s+false%s+[^\n]*take: this pool was made by the process this one was forked from", out)
    assert.matches("parent pool:%s+true", out)
    assert.matches("child collected", out)
    assert.matches("parent round trip:%s+after the fork%s+world", out)
  end)
end)

describe("a view of a shared buffer held across a fork", function()
  it("keeps the buffer from its pool until the parent and the child have both let go", function()
    local out, ok = run("shared-view")
    assert(ok, out)
    assert.matches("parent pool after the child let go of its copy:%s+0", out)
    assert.matches("parent pool while the child holds its copy:%s+0", out)
    assert.matches("child read after the parent let go:%s+data", out)
    assert.matches("parent pool once both let go:%s+1", out)
  end)
end)

describe("a process forked before nml started NNG", function()
  it("lets the child start NNG of its own", function()
    local out, ok = run("before-socket")
    assert(ok, out)
    assert.matches("child round trip:%s+world", out)
    assert.matches("parent sees the child end:%s+exit%s+0", out)
    assert.matches("parent round trip:%s+world", out)
  end)
end)

describe("Ctrl-C after a fork", function()
  it("ends the child's wait, not the parent's", function()
    local out, ok = run("sleep-interrupt")
    assert(ok, out)
    local slept = tonumber(out:match("child slept (%d+) ms: nil interrupted"))
    assert(slept and slept < 2500, out)
    assert.matches("parent waited %d+ ms: nil timeout", out)
  end)
end)
