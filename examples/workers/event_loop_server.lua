-- The server of examples/event_loop_luv.lua and examples/event_loop_cqueues.lua, for any
-- scheduler: a rep socket served through 8 contexts (80 requests, answered after a pause in
-- which the other contexts take theirs), a pull socket read (100 items) and a push socket
-- written (100 items), every call through nml.await_recv / nml.await_send, so that nothing
-- blocks the loop. The clients are another process (workers/event_loop_client.lua).
local nml = require "nml"

local server = {}

--- Opens the sockets and starts the client process; `here` is the examples directory.
function server.open(here)
  local base = os.tmpname()
  local urls = {}
  for _, name in ipairs { "rep", "pull", "push" } do urls[name] = "ipc://" .. base .. "." .. name end
  local s = { answered = 0, pulled = 0, busy = 0, most_at_once = 0 }
  s.rep = assert(nml.socket("rep"))
  assert(s.rep:listen(urls.rep))
  s.inbox = assert(nml.socket("pull"))
  assert(s.inbox:listen(urls.pull))
  s.outbox = assert(nml.socket("push"))
  assert(s.outbox:listen(urls.push))
  local lua = arg and arg[-1] or "lua"
  s.client = assert(io.popen(string.format("%s %s/workers/event_loop_client.lua %s %s %s",
    lua, here, urls.rep, urls.pull, urls.push), "r"))
  return s
end

--- Starts the server's coroutines with the scheduler's `spawn(fn)`; `pause(ms)` lets the
-- loop run for a while inside one of them.
function server.serve(s, spawn, pause)
  for _ = 1, 8 do
    local ctx = assert(s.rep:context())
    spawn(function()
      while s.answered < 80 do
        local request = assert(nml.await_recv(ctx))
        s.busy = s.busy + 1
        s.most_at_once = math.max(s.most_at_once, s.busy)
        pause(1) -- the work; other contexts take requests meanwhile
        s.busy = s.busy - 1
        assert(nml.await_send(ctx, { client = request.client, double = 2 * request.n }))
        s.answered = s.answered + 1
      end
    end)
  end
  spawn(function()
    local sum = 0
    for _ = 1, 100 do
      sum = sum + assert(nml.await_recv(s.inbox)).item
      s.pulled = s.pulled + 1
    end
    print(string.format("server: pulled 100 items (sum %d)", sum))
  end)
  spawn(function()
    for i = 1, 100 do assert(nml.await_send(s.outbox, { item = i })) end
  end)
end

--- True once every request is answered and every item pulled.
function server.done(s)
  return s.answered >= 80 and s.pulled >= 100
end

--- After the loop: the last word goes out, and the client process is awaited (NNG drops what
-- a socket has not written when it closes, so the server closes last).
function server.finish(s, name)
  assert(server.done(s), "the loop ended before everything crossed")
  assert(s.outbox:send("done"))
  print(string.format("server: answered 80 requests through 8 contexts, up to %d at once", s.most_at_once))
  io.write(s.client:read("*a"))
  s.client:close()
  print(name .. " event loop ok")
end

return server
