-- nml.serve: a rep (or respondent) socket answered by a handler, through contexts in an event
-- loop or one request at a time in this thread (the manual's "Serving requests").
--
-- A handler that raises does not end the server: the client gets an error reply, a message
-- of protocol "nml.error" holding the error's text, which it tells from a result by its
-- protocol; the error is reported through `on_error`.
--
-- Loaded by `require "nml"` (the file is compiled into the module); it receives the module
-- table and the table the parts share (lua/nml/loops.lua's adapters).
local nml, shared = ...

local ERROR_PROTOCOL = "nml.error"
nml.register_protocol(ERROR_PROTOCOL, { encode = nml.pack, decode = nml.unpack })

-- "nml.error" is nml's own, as the built-in names are: registering it (or a name that matches
-- it loosely, "NML_ERROR") would change what error replies are on the wire or how they read.
local register_protocol = nml.register_protocol
local function loose(name)
  return (name:lower():gsub("[^%w]", ""):gsub("^lua", ""))
end
function nml.register_protocol(name, spec)
  local names = { name }
  if type(spec) == "table" and type(spec.aliases) == "table" then
    for _, alias in ipairs(spec.aliases) do names[#names + 1] = alias end
  end
  for _, n in ipairs(names) do
    local key = type(n) == "string" and loose(n)
    if key == "nmlerror" or key == "cnmlerror" then
      error("bad argument #1 to 'register_protocol' (" .. n
        .. " means nml.error, the protocol of nml.serve's error replies)", 2)
    end
  end
  return register_protocol(name, spec)
end

local DONTWAIT = { dontwait = true }
local unpack = table.unpack or unpack -- luacheck: ignore (5.1's global)

local function pack(...)
  return { n = select("#", ...), ... }
end

-- pcall that a handler may yield across. Lua 5.1's pcall cannot be: there the handler runs in
-- a coroutine of its own, whose yields (waits) are passed on to the loop and whose resumptions
-- are passed back; shared.tasks tells the loop's adapter which coroutine to resume.
local pcall_yields = _VERSION ~= "Lua 5.1" or rawget(_G, "jit") ~= nil -- (raw: a strict _G raises)

local function protected_call(f, ...)
  if pcall_yields or not coroutine.running() then return pcall(f, ...) end
  local co = coroutine.create(f)
  shared.tasks[co] = shared.current_task()
  local results = pack(coroutine.resume(co, ...))
  while coroutine.status(co) == "suspended" do
    results = pack(coroutine.resume(co, coroutine.yield(unpack(results, 2, results.n))))
  end
  shared.tasks[co] = nil
  return unpack(results, 1, results.n)
end

local Server = {}
Server.__index = Server

function Server:__tostring()
  local state = self.live > 0 and (self.stopping and "stopping" or "running") or "stopped"
  return string.format("nml.server (%s, %d served, %d failed)", state, self.served, self.failed)
end

--- server:stop() -> true: takes no more requests. Idle contexts end now; a busy one sends its
-- reply first. Stopping again does nothing.
function Server:stop()
  self.stopping = true
  if self.adapter then
    for task in pairs(self.idle) do self.adapter.wake(task) end
  end
  return true
end

--- server:result() -> true once stopped; nil, message, code when a context ended on a failure
-- (the socket closed, Ctrl-C); false, "running" before.
function Server:result()
  if self.live > 0 then return false, "running" end
  if self.error then return nil, self.error, self.code end
  return true
end

local function report_to_stderr(message)
  io.stderr:write("nml.serve: ", message, "\n")
end

-- How often a context waiting in a loop looks whether its socket was closed under it: a
-- closed socket's descriptor signals nothing, and a loop without timers (copas 1.x) asks
-- instead whether the context is still open each time it polls.
local RECHECK_MS = 1000

-- The next request on `ctx`, waiting through the loop's adapter: value, protocol, code, raw as
-- ctx:recv returns them; nil, "stopped", "stopped" once the server stops.
local function receive_in_loop(server, ctx)
  local task = shared.current_task()
  while true do
    local value, protocol, code, raw = ctx:recv(DONTWAIT)
    if value ~= nil or code ~= "again" then return value, protocol, code, raw end
    if server.stopping then return nil, "stopped", "stopped" end
    local fd, err, fd_code = ctx:recv_fd()
    if not fd then return nil, err, fd_code end
    server.idle[task] = true
    server.adapter.wait(fd, server.adapter.timers and RECHECK_MS or nil, ctx)
    server.idle[task] = nil
    if server.stopping then return nil, "stopped", "stopped" end
  end
end

-- The next request on `ctx`, blocking this thread (a recv_timeout only checks for a stop).
local function receive_here(server, ctx)
  while true do
    local value, protocol, code, raw = ctx:recv()
    if value ~= nil or code ~= "timeout" then return value, protocol, code, raw end
    if server.stopping then return nil, "stopped", "stopped" end
  end
end

-- What a raised error says, never raising itself: a string or number as it is, an object
-- with __tostring as that gives it; `shown` is false for anything else (a plain table), whose
-- tostring (an address) is for on_error, not for the client.
local function error_text(err)
  local t = type(err)
  if t == "string" or t == "number" then return tostring(err), true end
  local mt = (t == "table" or t == "userdata") and getmetatable(err)
  local ok, text = pcall(tostring, err)
  if not ok or type(text) ~= "string" then
    return "(an error whose __tostring raised: " .. (type(text) == "string" and text or t) .. ")", false
  end
  return text, type(mt) == "table" and mt.__tostring ~= nil
end

-- Tells `on_error`; one that raises is reported on stderr, and the server goes on.
local function report(server, message, request)
  local ok, err = pcall(server.on_error, message, request, server)
  if not ok then report_to_stderr("on_error raised: " .. error_text(err) .. " (reporting: " .. message .. ")") end
end

-- A request that gets no result: the client gets an error reply holding `message` (or, for
-- an error that is no message, `for_client`).
local function fail(server, ctx, message, request, for_client)
  server.failed = server.failed + 1
  report(server, message, request)
  local ok, err = ctx:send(for_client or message, ERROR_PROTOCOL)
  if not ok then report(server, "the error reply could not be sent: " .. tostring(err), request) end
end

-- Answers one request: the handler's reply, or an error reply when it raises or its reply
-- cannot be sent (a value that cannot be packed, an unknown protocol: nothing was sent then,
-- so the context can still answer).
local function answer(server, ctx, request, protocol)
  local results = pack(protected_call(server.handler, request, protocol, server))
  if not results[1] then
    local text, shown = error_text(results[2])
    return fail(server, ctx, text, request, not shown and "the handler raised a " .. type(results[2]) or nil)
  end
  local packed, ok, err = pcall(ctx.send, ctx, results[2], results[3])
  if packed and ok then
    server.served = server.served + 1
    return
  end
  fail(server, ctx, "the handler's reply cannot be sent: " .. error_text(packed and err or ok), request)
end

-- Why recv failed, as what the context does next: "end" (the socket is closed, Ctrl-C) or
-- "answer" (a request came and was dropped: too large, or bytes that cannot be decoded).
local ENDS = { closed = true, interrupted = true, stopped = true }

-- A context's life: requests answered until the server stops or the socket fails.
local function run(server, ctx, receive)
  while not server.stopping do
    local request, protocol, code, raw = receive(server, ctx)
    if request ~= nil then
      answer(server, ctx, request, protocol)
    elseif ENDS[code] then
      if code ~= "stopped" and not server.error then
        server.error, server.code = protocol, code
      end
      server:stop()
    else
      -- A request came and cannot be used: the client still gets an answer.
      fail(server, ctx, "the request could not be read: " .. tostring(protocol), raw)
    end
  end
  ctx:close()
  server.live = server.live - 1
end

local KNOWN = { contexts = true, loop = true, on_error = true }

local function check_options(options)
  if type(options) ~= "table" then
    error("bad argument #2 to 'serve' (options table expected, got " .. type(options) .. ")", 3)
  end
  for key in pairs(options) do
    if not KNOWN[key] then error(string.format("bad argument #2 to 'serve' (unknown option %q)", tostring(key)), 3) end
  end
  local n = options.contexts
  if n ~= nil and (type(n) ~= "number" or n < 1 or n % 1 ~= 0) then
    error("bad argument #2 to 'serve' (contexts: a whole number of 1 or more expected)", 3)
  end
  if n and n > 1 and options.loop == nil then
    error("bad argument #2 to 'serve' (contexts = " .. n
      .. " needs a loop: without one, requests are answered one at a time)", 3)
  end
  if options.on_error ~= nil and type(options.on_error) ~= "function" then
    error("bad argument #2 to 'serve' (on_error: a function expected)", 3)
  end
end

--- nml.serve(sock, options, handler) -> server | nil, message, code: answers each request on
-- the rep or respondent socket `sock` with `handler(request, protocol, server) -> reply
-- [, protocol]`. With `options.loop`, `options.contexts` (default 8) contexts run in the loop
-- and the server is returned at once; without, requests are answered here, one at a time,
-- until server:stop() (from the handler) or a failure, and then the server is returned.
function nml.serve(sock, options, handler)
  local kind, pattern = shared.pattern_of(sock)
  if kind ~= "socket" or (pattern ~= "rep" and pattern ~= "respondent") then
    error("bad argument #1 to 'serve' (a rep or respondent socket expected, got " .. tostring(sock) .. ")", 2)
  end
  check_options(options)
  if type(handler) ~= "function" then
    error("bad argument #3 to 'serve' (handler function expected, got " .. type(handler) .. ")", 2)
  end
  local adapter = options.loop ~= nil and shared.adapter_for(options.loop, "serve") or nil
  if adapter and not adapter.spawn then
    error("bad argument #2 to 'serve' (loop: a cqueues controller (cqueues.new()) expected, not the module)", 2)
  end
  local server = setmetatable({
    handler = handler, on_error = options.on_error or report_to_stderr, adapter = adapter,
    served = 0, failed = 0, live = 0, idle = {}, stopping = false,
  }, Server)
  local contexts = {}
  for i = 1, options.contexts or (adapter and 8 or 1) do
    local ctx, err, code = sock:context()
    if not ctx then
      for _, c in ipairs(contexts) do c:close() end
      return nil, err, code
    end
    contexts[i] = ctx
  end
  server.live = #contexts
  if not adapter then
    run(server, contexts[1], receive_here)
    return server
  end
  if shared.waiter() == nil then nml.waiter(adapter.wait) end
  for _, ctx in ipairs(contexts) do
    adapter.spawn(function() run(server, ctx, receive_in_loop) end)
  end
  return server
end
