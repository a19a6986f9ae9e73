-- nml.deliver: at-least-once delivery of jobs over a req socket (the manual's "Delivering at
-- least once"). Push/pull cannot tell a sender that a connection which broke took messages
-- with it (what the kernel had accepted is gone without a trace: faults/ measures it), so a
-- job that must arrive goes as a request, and the worker's reply is its acknowledgement:
--
-- * each job has a req context of its own, `window` of them in flight at once;
-- * NNG sends a job again after `resend_time` without a reply, and at once when the worker's
--   connection breaks (so a job may run twice: workers make jobs idempotent);
-- * a job without a reply after `give_up` ms is handed back through `failed()`, never dropped.
--
-- The workers are any rep servers: nml.serve, a recv/send loop, pynng. A reply of protocol
-- "nml.error" (a handler that raised) hands the job back too, with the error.
--
-- A req context does not signal its socket's descriptor when its reply comes, so waiting
-- polls the contexts in flight, sleeping 1 ms and then up to 8 ms between rounds while
-- nothing comes. In an event loop call `step()` from a timer and send with {dontwait = true}.
--
-- Loaded by `require "nml"` (compiled into the module), with the module table.
local nml = ...

local ERROR_PROTOCOL = "nml.error"
local DONTWAIT = { dontwait = true }
local IDLE_SLEEP_MS = { 1, 2, 4, 8 }

local Deliverer = {}
Deliverer.__index = Deliverer

function Deliverer:__tostring()
  return string.format("nml.deliverer (%d in flight, %d delivered, %d handed back)",
    #self.busy, self.delivered, self.handed_back)
end

local function check_ms(options, name, default, allow_forever)
  local v = options[name]
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or v % 1 ~= 0 or (v < 1 and not (allow_forever and v == -1)) or v > 2 ^ 31 - 1 then
    error(string.format("bad argument #2 to 'deliver' (%s: milliseconds, 1 to 2^31 - 1%s, got %s)",
      name, allow_forever and ", or -1 for never" or "", tostring(v)), 3)
  end
  return v
end

local function check_options(sock, options)
  if options == nil then return {} end
  if type(options) ~= "table" then
    error("bad argument #2 to 'deliver' (an options table expected, got " .. type(options) .. ")", 3)
  end
  local known = { window = true, resend_time = true, give_up = true, on_reply = true }
  for k in pairs(options) do
    if not known[k] then
      -- The socket's options (send_timeout, ...) are a likely mistake: say where they go.
      local socket_option = type(k) == "string" and pcall(function() return sock:getopt(k) end)
      error(string.format("bad argument #2 to 'deliver' (unknown option %q; known: %s%s)", tostring(k),
        "give_up, on_reply, resend_time, window",
        socket_option and "; " .. k .. " is the socket's: nml.socket's options or sock:setopt" or ""), 3)
    end
  end
  if options.on_reply ~= nil and type(options.on_reply) ~= "function" then
    error("bad argument #2 to 'deliver' (on_reply: a function expected, got " .. type(options.on_reply) .. ")", 3)
  end
  return options
end

-- A new context of the deliverer's socket, with its resend_time; nil, message, code if the
-- socket can make none (closed).
local function new_context(self)
  local ctx, why, code = nml.context(self.sock)
  if not ctx then return nil, why, code end
  assert(ctx:setopt("resend_time", self.resend_time))
  return ctx
end

-- A deliverer collected with jobs in flight takes them with it (its contexts are collected,
-- and NNG forgets their requests): the one loss nml.deliver cannot prevent, so it is told on
-- stderr, at the latest when the interpreter closes. A sentinel's finalizer does it, since
-- Lua 5.1 and LuaJIT call none for tables.
local function sentinel(self)
  local function tell()
    local n = #self.busy
    if n > 0 and not self.closed then
      io.stderr:write(string.format("nml.deliver: a deliverer was collected with %d jobs in flight: "
        .. "they may not have run (call deliverer:wait() before letting it go)\n", n))
    end
  end
  local newproxy = rawget(_G, "newproxy")
  if newproxy then
    local proxy = newproxy(true)
    getmetatable(proxy).__gc = tell
    return proxy
  end
  return setmetatable({}, { __gc = tell })
end

--- nml.deliver(sock [, options]) -> deliverer: jobs sent through `sock`, a req socket, each kept
--- until a reply acknowledges it. Options: window (jobs in flight, 1 to 1024, default 64),
--- resend_time (ms; default the socket's), give_up (ms, or -1 for never; default 60000),
--- on_reply(reply, protocol, job) (each acknowledgement's reply).
function nml.deliver(sock, options)
  options = check_options(sock, options)
  local window = options.window or 64
  if type(window) ~= "number" or window % 1 ~= 0 or window < 1 or window > 1024 then
    error("bad argument #2 to 'deliver' (window: jobs in flight, 1 to 1024, got " .. tostring(window) .. ")", 2)
  end
  local ok, first, why, code = pcall(nml.context, sock)
  if not ok or code == "not_supported" then
    error("bad argument #1 to 'deliver' (a req socket expected, got " .. tostring(ok and sock or first) .. ")", 2)
  end
  if not first then return nil, why, code end
  -- Only a req context has resend_time: that tells a req socket from the others with contexts.
  local resend_ok, resend_why, resend_code = first:setopt("resend_time", 1000)
  first:close()
  if not resend_ok then
    if resend_code ~= "not_supported" then return nil, resend_why, resend_code end
    error("bad argument #1 to 'deliver' (a req socket expected, got " .. tostring(sock) .. ")", 2)
  end
  local self = setmetatable({
    sock = sock,
    resend_time = check_ms(options, "resend_time", sock:getopt("resend_time"), true),
    give_up = check_ms(options, "give_up", 60000, true),
    on_reply = options.on_reply,
    free = {},
    busy = {},
    failures = {},
    replies = {},
    delivered = 0,
    handed_back = 0,
  }, Deliverer)
  for i = 1, window do
    local ctx, err, err_code = new_context(self)
    if not ctx then
      self:close()
      return nil, err, err_code
    end
    self.free[i] = ctx
  end
  self.sentinel = sentinel(self)
  return self
end

-- A job leaves the window without an acknowledgement. Its context is closed, not reused: NNG
-- would otherwise go on sending the request again every resend_time until the context's next
-- send, and the job the caller was told had failed would run again and again.
local function hand_back(self, i, error_text, code)
  local slot = table.remove(self.busy, i)
  self.failures[#self.failures + 1] = { job = slot.job, protocol = slot.protocol, error = error_text, code = code }
  self.handed_back = self.handed_back + 1
  slot.ctx:close()
  if self.closed then return end
  self.free[#self.free + 1] = new_context(self) -- none (nil) once the socket is closed
end

-- Hands each reply not yet given to on_reply, oldest first, taking it off the queue before the
-- call: a callback that raises loses none of the others, which the next call gives.
local function give_replies(self)
  local replies = self.replies
  while replies[1] do
    local r = table.remove(replies, 1)
    if self.on_reply then self.on_reply(r[1], r[2], r[3]) end
  end
end

-- One look at every job in flight: acknowledged ones free their context and their replies go
-- to on_reply once the deliverer's state is settled; those past give_up are handed back.
-- Returns how many ended.
local function harvest(self)
  local ended, now, replies = 0, nml.clock(), self.replies
  local i = 1
  while i <= #self.busy do
    local slot = self.busy[i]
    local reply, protocol, code = slot.ctx:recv(DONTWAIT)
    if reply ~= nil and protocol ~= ERROR_PROTOCOL then
      table.remove(self.busy, i)
      self.free[#self.free + 1] = slot.ctx
      self.delivered = self.delivered + 1
      if self.on_reply then replies[#replies + 1] = { reply, protocol, slot.job } end
      ended = ended + 1
    elseif reply ~= nil then
      hand_back(self, i, "the worker failed: " .. tostring(reply), "remote")
      ended = ended + 1
    elseif code ~= "again" then
      -- "closed", or a reply that could not be decoded ("malformed"): the job is handed back,
      -- with what recv said. (A malformed reply did reach a worker; the caller decides.)
      hand_back(self, i, protocol, code)
      ended = ended + 1
    elseif self.give_up ~= -1 and (now - slot.since) * 1000 >= self.give_up then
      -- Sending on this context again abandons the request: a late reply is dropped by NNG.
      hand_back(self, i, string.format("no reply in %d ms", self.give_up), "timeout")
      ended = ended + 1
    else
      i = i + 1
    end
  end
  give_replies(self)
  return ended
end

-- Harvests until `done()` holds or `timeout_ms` passes (-1: forever); true if it held.
local function wait_until(self, done, timeout_ms)
  local deadline = timeout_ms >= 0 and nml.clock() + timeout_ms / 1000 or math.huge
  local idle = 0
  while true do
    if harvest(self) > 0 then idle = 0 end
    if done() then return true end
    if nml.clock() >= deadline then return false end
    idle = math.min(idle + 1, #IDLE_SLEEP_MS)
    local slept, why, code = nml.sleep(IDLE_SLEEP_MS[idle])
    if slept == nil and why then return nil, why, code end
  end
end

--- deliverer:send(job [, protocol [, {dontwait = true}]]) -> true | nil, message, code: takes
--- the job once a context is free (waiting at most the socket's send_timeout; "again" at once
--- with dontwait). A job not taken stays the caller's.
function Deliverer:send(job, protocol, options)
  if job == nil then error("bad argument #1 to 'send' (a job expected, got nil)", 2) end
  if self.closed then return nil, "deliver: closed", "closed" end
  local dontwait = type(options) == "table" and options.dontwait
  harvest(self)
  if self.closed then return nil, "deliver: closed", "closed" end -- by on_reply, just now
  if #self.free == 0 and #self.busy == 0 then
    -- Every context was handed back and none could be made again: the socket says why.
    local ctx, why, code = new_context(self)
    if not ctx then return nil, why, code end
    self.free[1] = ctx
  end
  if #self.free == 0 then
    if dontwait then
      return nil, string.format("deliver: all %d contexts have a job in flight", #self.busy), "again"
    end
    local timeout = self.sock:getopt("send_timeout") or -1
    local free, why, code = wait_until(self, function() return #self.free > 0 or self.closed end, timeout)
    if free == nil then return nil, why, code end
    if self.closed then return nil, "deliver: closed", "closed" end
    if not free then
      return nil, string.format("deliver: no job of the %d in flight was acknowledged in %d ms",
        #self.busy, timeout), "timeout"
    end
  end
  local ctx = table.remove(self.free)
  local sent, ok, why, code = pcall(ctx.send, ctx, job, protocol, dontwait and DONTWAIT or nil)
  if not sent or not ok then
    self.free[#self.free + 1] = ctx -- the job was not taken: its context is free again
    if not sent then error(ok, 2) end -- a job that cannot be packed raises, as sock:send does
    if code == "timeout" then
      why = string.format("deliver: no worker took the job in %d ms (is one connected?)",
        self.sock:getopt("send_timeout"))
    end
    return nil, why, code
  end
  self.busy[#self.busy + 1] = { ctx = ctx, job = job, protocol = protocol, since = nml.clock() }
  return true
end

--- deliverer:wait([timeout_ms]) -> true once no job is in flight (each acknowledged or handed
--- back); nil, message, "timeout" (-1 or nil: forever).
function Deliverer:wait(timeout_ms)
  timeout_ms = timeout_ms or -1
  if type(timeout_ms) ~= "number" then error("bad argument #1 to 'wait' (milliseconds expected)", 2) end
  local done, why, code = wait_until(self, function() return #self.busy == 0 end, timeout_ms)
  if done == nil then return nil, why, code end
  if not done then return nil, string.format("deliver: %d jobs still in flight", #self.busy), "timeout" end
  return true
end

--- deliverer:step() -> jobs in flight: one look at them, without waiting (for event loops).
function Deliverer:step()
  harvest(self)
  return #self.busy
end

--- deliverer:pending() -> jobs in flight.
function Deliverer:pending()
  return #self.busy
end

--- deliverer:failed() -> the jobs handed back since the last call, oldest first: each
--- {job = ..., protocol = ..., error = message, code = "timeout" | "remote" | "closed" | ...}.
function Deliverer:failed()
  local out = self.failures
  self.failures = {}
  return out
end

--- deliverer:close() -> true: hands back every job still in flight ("closed") and closes its
--- contexts; the socket stays open.
function Deliverer:close()
  if self.closed then return true end
  self.closed = true
  while #self.busy > 0 do hand_back(self, 1, "deliver: closed with the job in flight", "closed") end
  for _, ctx in ipairs(self.free) do ctx:close() end
  give_replies(self)
  self.free = {}
  return true
end
