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

local DONTWAIT = { dontwait = true }
local unpack = table.unpack or unpack -- luacheck: ignore (5.1's global)

local function pack(...)
  return { n = select("#", ...), ... }
end

-- pcall that a handler may yield across. Lua 5.1's pcall cannot be: there the handler runs in
-- a coroutine of its own, whose yields (waits) are passed on to the loop and whose resumptions
-- are passed back; shared.tasks tells the loop's adapter which coroutine to resume.
local pcall_yields = _VERSION ~= "Lua 5.1" or jit ~= nil

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

-- The next request on `ctx`, waiting through the loop's adapter: value, protocol, code, raw as
-- ctx:recv returns them; nil, "stopped", "stopped" once the server stops.
local function receive_in_loop(server, ctx)
  local fd = assert(ctx:recv_fd())
  local task = shared.current_task()
  while true do
    local value, protocol, code, raw = ctx:recv(DONTWAIT)
    if value ~= nil or code ~= "again" then return value, protocol, code, raw end
    if server.stopping then return nil, "stopped", "stopped" end
    server.idle[task] = true
    server.adapter.wait(fd)
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

-- Tells `on_error`; one that raises is reported on stderr, and the server goes on.
local function report(server, message, request)
  local ok, err = pcall(server.on_error, message, request, server)
  if not ok then report_to_stderr("on_error raised: " .. tostring(err) .. " (reporting: " .. message .. ")") end
end

-- A request that gets no result: the client gets an error reply holding `message`.
local function fail(server, ctx, message, request)
  server.failed = server.failed + 1
  report(server, message, request)
  local ok, err = ctx:send(message, ERROR_PROTOCOL)
  if not ok then report(server, "the error reply could not be sent: " .. tostring(err), request) end
end

-- Answers one request: the handler's reply, or an error reply when it raises or its reply
-- cannot be packed (nothing was sent then, so the context can still answer).
local function answer(server, ctx, request, protocol)
  local results = pack(protected_call(server.handler, request, protocol, server))
  if not results[1] then return fail(server, ctx, tostring(results[2]), request) end
  local packed, ok, err = pcall(ctx.send, ctx, results[2], results[3])
  if not packed then return fail(server, ctx, "the handler's reply cannot be sent: " .. tostring(ok), request) end
  if ok then
    server.served = server.served + 1
  else
    server.failed = server.failed + 1
    report(server, "the reply could not be sent: " .. tostring(err), request)
  end
end

-- A context's life: requests answered until the server stops or the socket fails.
local function run(server, ctx, receive)
  while not server.stopping do
    local request, protocol, code, raw = receive(server, ctx)
    if request ~= nil then
      answer(server, ctx, request, protocol)
    elseif raw ~= nil then
      -- A request came but cannot be decoded: the client still gets an answer.
      fail(server, ctx, "the request could not be read: " .. tostring(protocol), raw)
    elseif code ~= "stopped" then
      server.error, server.code = protocol, code
      server.stopping = true
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

-- A socket's pattern, from its description ("nml.socket (rep)"), or nil for anything else.
local function pattern_of(sock)
  return tostring(sock):match("^nml%.socket %((%a+)")
end

--- nml.serve(sock, options, handler) -> server | nil, message, code: answers each request on
-- the rep or respondent socket `sock` with `handler(request, protocol, server) -> reply
-- [, protocol]`. With `options.loop`, `options.contexts` (default 8) contexts run in the loop
-- and the server is returned at once; without, requests are answered here, one at a time,
-- until server:stop() (from the handler) or a failure, and then the server is returned.
function nml.serve(sock, options, handler)
  local pattern = pattern_of(sock)
  if pattern ~= "rep" and pattern ~= "respondent" then
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
