-- The event loops nml knows by name: luv (libuv), cqueues and copas. `nml.waiter(loop)` takes
-- one of them and nml.await waits through it; nml.serve runs its contexts in it (the manual's
-- "Event loops and coroutines").
--
-- An adapter is a table:
--   wait(fd, timeout_ms [, x]) -> ready
--                                  yields the running coroutine until `fd` is readable (true),
--                                  `timeout_ms` passes, or wake() is called for it (false);
--                                  `x`, the socket or context `fd` is of, if known
--   timers                         true if a wait can time out
--   wake(task)                     ends the wait of `task` (a coroutine the loop resumes)
--   spawn(fn)                      runs `fn` as a new coroutine of the loop (nil: cannot)
--
-- Loaded by `require "nml"` (the file is compiled into the module); it receives the module
-- table and the table the parts share, to which it adds `adapter_for` and `current_task`.
local _, shared = ...

-- On Lua 5.1 pcall cannot be yielded across, so nml.serve runs a handler in a coroutine of its
-- own and passes its yields on (lua/nml/serve.lua). A loop resumes the coroutine it knows, the
-- task: `tasks` maps each such inner coroutine to its task.
local tasks = setmetatable({}, { __mode = "k" })
shared.tasks = tasks

--- The coroutine the loop resumes for the code running now.
function shared.current_task()
  local co = coroutine.running()
  return tasks[co] or co
end

local function resume(task, ...)
  local ok, err = coroutine.resume(task, ...)
  if not ok then error(err, 0) end
end

-- luv refuses a second poll handle on a descriptor, and every context of a socket shares one:
-- one handle per descriptor serves every coroutine waiting on it. A stopped handle keeps no
-- loop alive, so uv.run ends once nothing waits.
local function luv(uv)
  local watches = {} -- fd -> {handle = poll handle, waiting = {task -> true}}
  local waits = {} -- task -> {watch =, timer =}
  local adapter = { name = "luv", timers = true }

  local function finish(task, ready)
    local w = waits[task]
    if not w then return end
    waits[task] = nil
    w.watch.waiting[task] = nil
    if next(w.watch.waiting) == nil then w.watch.handle:stop() end
    if w.timer then w.timer:close() end
    resume(task, ready)
  end

  local function watch_of(fd)
    local watch = watches[fd]
    if watch then return watch end
    local handle, err = uv.new_poll(fd)
    if not handle then error("nml.waiter (luv): cannot watch descriptor " .. fd .. ": " .. tostring(err), 0) end
    watch = { handle = handle, waiting = {} }
    watches[fd] = watch
    return watch
  end

  function adapter.wait(fd, timeout_ms)
    local task = shared.current_task()
    local watch = watch_of(fd)
    if next(watch.waiting) == nil then
      watch.handle:start("r", function()
        local ready = {}
        for t in pairs(watch.waiting) do ready[#ready + 1] = t end
        for _, t in ipairs(ready) do finish(t, true) end
      end)
    end
    watch.waiting[task] = true
    local w = { watch = watch }
    if timeout_ms then
      w.timer = uv.new_timer()
      w.timer:start(timeout_ms, 0, function() finish(task, false) end)
    end
    waits[task] = w
    return coroutine.yield()
  end

  function adapter.wake(task)
    if not waits[task] then return end
    local timer = uv.new_timer() -- resumed from the loop, not from inside the caller
    timer:start(0, 0, function()
      timer:close()
      finish(task, false)
    end)
  end

  function adapter.spawn(fn)
    resume(coroutine.create(fn))
  end

  return adapter
end

-- cqueues polls a descriptor with cqueues.poll; a condition variable polled beside it ends a
-- wait early. `loop` is a controller (cqueues.new()), or the module, which cannot spawn.
local function cqueues(loop)
  local cq = require "cqueues"
  local condition = require "cqueues.condition"
  local wakers = {} -- task -> the condition that ends its wait
  local adapter = { name = "cqueues", timers = true }

  function adapter.wait(fd, timeout_ms)
    local task = shared.current_task()
    local woken = condition.new()
    wakers[task] = woken
    local readable = { pollfd = fd, events = "r" }
    local ready = cq.poll(readable, woken, timeout_ms and timeout_ms / 1000)
    wakers[task] = nil
    return ready == readable
  end

  function adapter.wake(task)
    local woken = wakers[task]
    if woken then woken:signal() end
  end

  if loop ~= cq then
    function adapter.spawn(fn)
      loop:wrap(fn)
    end
  end
  return adapter
end

-- copas waits for LuaSocket objects: a coroutine yields one with copas.receive, and copas
-- resumes it when socket.select finds it readable. A watcher is such an object for an NNG
-- descriptor. To end a wait early, its descriptor becomes a UDP socket that always has a
-- datagram to read. Copas before 2.0 (Debian 12's is 1.1.7) has no timers, so a wait there
-- cannot time out.
local function copas(c)
  local socket = require "socket"
  local adapter = { name = "copas", timers = c.sleep ~= nil }
  local watchers = {} -- task -> its watcher
  local always_readable

  local function woken_fd()
    if not always_readable then
      always_readable = assert(socket.udp())
      assert(always_readable:setsockname("127.0.0.1", 0))
      assert(always_readable:setpeername(always_readable:getsockname()))
      assert(always_readable:send("."))
    end
    return always_readable:getfd()
  end

  local Watcher = {}
  Watcher.__index = Watcher
  -- A closed socket's descriptor is gone (its number may be reused): the wait ends instead.
  function Watcher:getfd()
    if not self.woken and self.x and not self.x:recv_fd() then
      self.woken, self.fd = true, woken_fd()
    end
    return self.fd
  end
  function Watcher.dirty() return false end
  function Watcher.settimeout() return 1 end
  function Watcher.close() end -- copas closes the object a coroutine last waited for when it ends
  function Watcher:receive()
    if self.woken then return nil, "woken" end
    local readable = socket.select({ self }, nil, 0)
    if readable[1] then return true end
    return nil, "timeout" -- copas.receive yields until socket.select finds it readable
  end

  function adapter.wait(fd, timeout_ms, x)
    if timeout_ms and not c.sleep then
      error("nml.await: " .. tostring(c._VERSION) .. " has no timers, so a wait under it cannot time out", 0)
    end
    local task = shared.current_task()
    local watcher = setmetatable({ fd = fd, x = x }, Watcher)
    watchers[task] = watcher
    local ready = c.receive(watcher)
    watchers[task] = nil
    return ready == true
  end

  function adapter.wake(task)
    local watcher = watchers[task]
    if watcher then
      watcher.woken = true
      watcher.fd = woken_fd()
    end
  end

  function adapter.spawn(fn)
    c.addthread(fn)
  end
  return adapter
end

-- x[name], or nil where indexing x raises (a userdata without fields).
local function field(x, name)
  local ok, v = pcall(function() return x[name] end)
  if ok then return v end
  return nil
end

local function kind_of(loop)
  if field(loop, "new_poll") and field(loop, "run") then return luv end
  if field(loop, "addthread") and field(loop, "step") then return copas end
  if field(loop, "wrap") and field(loop, "step") then return cqueues end -- a controller
  if field(loop, "poll") and field(loop, "running") and field(loop, "new") then return cqueues end -- the module
  return nil
end

-- One adapter per loop: luv's watches of a descriptor must be shared by everything waiting.
local adapters = setmetatable({}, { __mode = "k" })

--- The adapter of `loop` (the luv module, a cqueues controller or the cqueues module, the copas
-- module), or a raise naming what is known, from the caller's caller's caller.
function shared.adapter_for(loop, func)
  local t = type(loop)
  if t == "table" or t == "userdata" then
    local adapter = adapters[loop]
    if adapter then return adapter end
    local make = kind_of(loop)
    if make then
      adapter = make(loop)
      adapters[loop] = adapter
      return adapter
    end
  end
  error(string.format("bad argument to '%s' (a luv, cqueues or copas loop expected, got %s)", func, tostring(loop)), 3)
end
