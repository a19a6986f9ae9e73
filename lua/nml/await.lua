-- Waiting for sockets from coroutines, with any scheduler (the manual's "Event loops and
-- coroutines").
--
-- nml.await(x, "recv") returns once the socket or context x can receive. Inside a coroutine
-- it waits through the waiter the program set with nml.waiter(fn), which yields to the
-- program's scheduler (luv, cqueues, a game loop) until a descriptor is readable; elsewhere,
-- or with no waiter set, it blocks in nml.poll. nml.await_recv and nml.await_send are recv
-- and send that wait this way instead of blocking the thread.
--
-- Loaded by `require "nml"` (the file is compiled into the module); it receives the module
-- table and adds these functions to it.
local nml, shared = ...

local waiter -- function(fd, timeout_ms) -> true when fd is readable, false on timeout
local waiter_times_out = true -- false under a loop without timers (copas 1.x)

local function in_coroutine()
  local co, main = coroutine.running()
  return co ~= nil and not main
end

--- nml.waiter(fn | loop) -> previous: how a coroutine waits for a readable descriptor.
-- `fn(fd, timeout_ms)` must return true once `fd` is readable or false when `timeout_ms`
-- (nil: forever) has passed, yielding to the scheduler meanwhile. A loop nml knows (the luv
-- module, a cqueues controller or module, the copas module) gives its own. nil goes back to
-- nml.poll.
function nml.waiter(fn)
  local times_out = true
  if fn ~= nil and type(fn) ~= "function" then
    local adapter = shared.adapter_for(fn, "waiter")
    fn, times_out = adapter.wait, adapter.timers
  end
  local previous = waiter
  waiter, waiter_times_out = fn, times_out
  return previous
end

--- What `x` is, from its description ("nml.socket (rep)", "nml.context (req socket, open)"):
-- "socket" or "context", and its pattern; nil for anything else (an nml.stream, a table).
function shared.pattern_of(x)
  local kind, pattern = tostring(x):match("^nml%.(%a+) %((%a+)")
  if kind == "socket" or kind == "context" then return kind, pattern end
  return nil
end

--- The waiter set now (nil: none); nml.serve sets its loop's when there is none.
function shared.waiter()
  return waiter
end

-- A req or surveyor context gets its replies without its socket's descriptor being signalled:
-- waiting on it would never end.
local UNSIGNALLED = { req = true, surveyor = true }

local function descriptor(x, direction)
  local kind, pattern = shared.pattern_of(x)
  if direction == "recv" and kind == "context" and UNSIGNALLED[pattern] then
    error("bad argument #1 to 'await' (a " .. pattern .. " context's replies do not"
      .. " signal its socket's descriptor, so nothing could wake this wait: give each request in"
      .. " flight a req socket of its own, or call ctx:recv(), which waits up to recv_timeout)", 3)
  end
  if direction == "recv" then return x:recv_fd() end
  if direction == "send" then return x:send_fd() end
  error("bad argument #2 to 'await' (\"recv\" or \"send\" expected, got " .. tostring(direction) .. ")", 3)
end

--- nml.await(x, direction [, timeout_ms]) -> true | nil, err, code: waits until the socket or
-- context `x` can receive ("recv") or send ("send"), or `timeout_ms` passes ("timeout").
-- Readiness is level-triggered: ready stays ready until a call takes the message (or fills
-- the queue); the descriptor is never read.
function nml.await(x, direction, timeout_ms)
  local fd, err, code = descriptor(x, direction)
  if not fd then return nil, err, code end
  if timeout_ms ~= nil and (type(timeout_ms) ~= "number" or timeout_ms < 0) then
    error("bad argument #3 to 'await' (milliseconds expected)", 2)
  end
  local ready
  if waiter and in_coroutine() then
    ready = waiter(fd, timeout_ms)
  else
    local readable, writable
    if direction == "recv" then
      readable, writable = nml.poll({ x }, timeout_ms or -1)
    else
      readable, writable = nml.poll({}, timeout_ms or -1, { x })
    end
    ready = #readable + #writable > 0
  end
  if ready then return true end
  return nil, "the socket was not ready in " .. tostring(timeout_ms) .. " ms", "timeout"
end

local DONTWAIT = { dontwait = true }

-- `options` with dontwait set: a copy when there are options, else one shared table.
local function with_dontwait(options)
  if options == nil then return DONTWAIT end
  if type(options) ~= "table" then
    error("bad argument (options table expected, got " .. type(options) .. ")", 3)
  end
  local copy = { dontwait = true }
  for k, v in pairs(options) do
    if k ~= "dontwait" then copy[k] = v end
  end
  return copy
end

-- The socket's (or context's) own timeout for `option`, as nml.await takes it: nil for
-- forever, and under a loop that cannot time out (copas 1.x), where it is not kept.
local function own_timeout(x, option)
  local ok, ms = pcall(x.getopt, x, option)
  if not ok or type(ms) ~= "number" or ms < 0 then return nil end
  if waiter and in_coroutine() and not waiter_times_out then return nil end
  return ms
end

--- nml.await_recv(x [, options]) -> value, protocol, topic | nil, err, code [, raw]: x:recv
-- that waits with nml.await instead of blocking the thread, at most x's recv_timeout.
function nml.await_recv(x, options)
  local opts = with_dontwait(options)
  local timeout = own_timeout(x, "recv_timeout")
  while true do
    local value, a, b, raw = x:recv(opts)
    if value ~= nil or b ~= "again" then return value, a, b, raw end
    local ok, err, code = nml.await(x, "recv", timeout)
    if not ok then return nil, err, code end
  end
end

--- nml.await_send(x, value [, protocol [, options]]) -> true | nil, err, code: x:send that
-- waits with nml.await instead of blocking the thread.
function nml.await_send(x, value, protocol, options)
  local opts = with_dontwait(options)
  local timeout = own_timeout(x, "send_timeout")
  while true do
    local ok, err, code = x:send(value, protocol, opts)
    if ok or code ~= "again" then return ok, err, code end
    ok, err, code = nml.await(x, "send", timeout)
    if not ok then return nil, err, code end
  end
end
