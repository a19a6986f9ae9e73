-- The other process of spec/interrupt_spec.lua: blocks in one nml call with no timeout, inside
-- a coroutine, and prints what the call returned. Lua's SIGINT handler hooks the main thread
-- (PUC Lua: that thread only), so on 5.1 to 5.4 the coroutine can still say what nml returned
-- before "interrupted!" is raised in the main thread; LuaJIT's hooks are global, so there the
-- error comes first.
--   lua interrupt_child.lua recv|send|sleep|poll|context
local nml = require "nml"
local what = arg[1]

local pull = assert(nml.socket("pull"))
assert(pull:listen("inproc://interrupt-child"))
local push = assert(nml.socket("push"))
local rep = assert(nml.socket("rep"))

local calls = {
  recv = function() return pull:recv() end,
  send = function() return push:send("nobody receives this") end, -- no peer: send waits
  sleep = function() return nml.sleep(20000) end,
  poll = function() return nml.poll({ pull }, -1) end,
  context = function() return rep:context():recv() end,
}

local run = coroutine.wrap(function()
  local r = { calls[what]() }
  print("returned", tostring(r[1]), tostring(r[2]), tostring(r[3]))
  io.stdout:flush()
end)
local pid = io.open("/proc/self/stat"):read("*l"):match("^(%d+)")
print("ready " .. pid)
io.stdout:flush()
run()
print("the interpreter's own handling did not run")
