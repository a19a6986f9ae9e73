-- A worker behind nginx: answers the gateway's requests on a unix socket, one nml.stream frame
-- each way, many connections at once (a luv event loop; nginx keeps its connections open).
--
--   lua5.4 worker.lua /path/to/worker.sock [--faults]
--
-- Each frame is {id = n, request = table}, the table decoded from the client's JSON; the
-- answer goes back as {id = n, answer = table}. {op = "sum", values = {...}} answers
-- {worker = "lua", sum = n}; any other op is answered {worker = "lua", error = "..."}. With
-- --faults it also takes the failures the spec and the manual try: "sleep" (answers after
-- `seconds`), "crash" (exits mid-request), "garbage" (answers as an HTTP server would),
-- "twice" (answers it again, before its answer to the next request on that connection) and
-- "nan" (answers what JSON cannot hold).
local uv = require "luv"
local nml = require "nml"

local path = assert(arg[1], "usage: worker.lua SOCKET_PATH [--faults]")
local faults = arg[2] == "--faults"
local connections = 0

local function answer(request)
  if type(request) ~= "table" then
    return { worker = "lua", error = "a JSON object expected" }
  end
  if request.op == "sum" and type(request.values) == "table" then
    local sum = 0
    for _, v in ipairs(request.values) do
      if type(v) ~= "number" then return { worker = "lua", error = "values must be numbers" } end
      sum = sum + v
    end
    return { worker = "lua", sum = sum, connections = connections }
  end
  return { worker = "lua", error = "unknown op " .. tostring(request.op) }
end

-- One connection: frames in, frames out, in order.
local function serve(client)
  connections = connections + 1
  local framer = nml.framer { max_size = 1024 * 1024 }
  local stale -- with --faults, an answer to write again before the next one
  local function reply(id, value)
    if stale then client:write(nml.frame(nml.wrap(stale))) end
    stale = nil
    client:write(nml.frame(nml.wrap({ id = id, answer = value })))
  end
  client:read_start(function(err, chunk)
    if err or not chunk then
      client:close()
      return
    end
    if not framer:feed(chunk) then -- a frame over max_size: this peer is out of step
      client:close()
      return
    end
    for body in framer:messages() do
      local message = nml.unwrap(body)
      local id = type(message) == "table" and message.id
      local request = type(message) == "table" and message.request
      local op = type(request) == "table" and request.op
      if faults and op == "crash" then
        os.exit(3) -- dies with the request unanswered
      elseif faults and op == "garbage" then
        -- what another service on the socket would say: its first 4 bytes read as a length
        -- of 1.2 GB, which the gateway refuses before reading it
        client:write("HTTP/1.1 400 Bad Request\r\n\r\n")
      elseif faults and op == "twice" then
        reply(id, answer(request))
        stale = { id = id, answer = { worker = "lua", stale = true } }
      elseif faults and op == "nan" then
        reply(id, { worker = "lua", sum = 0 / 0 })
      elseif faults and op == "sleep" then
        local timer = uv.new_timer()
        timer:start(math.floor((tonumber(request.seconds) or 1) * 1000), 0, function()
          timer:close()
          if not client:is_closing() then reply(id, { worker = "lua", slept = request.seconds }) end
        end)
      else
        reply(id, answer(request))
      end
    end
  end)
end

-- A peer that hangs up before its answer is written (nginx ending a request that timed out,
-- its client gone) must not end the worker: a write to it would raise SIGPIPE, whose default
-- is to kill the process without a word. With a handler, the write fails instead.
local sigpipe = uv.new_signal()
sigpipe:start("sigpipe", function() end)
os.remove(path)
local server = uv.new_pipe(false)
assert(server:bind(path))
assert(server:listen(128, function(err)
  assert(not err, err)
  local client = uv.new_pipe(false)
  server:accept(client)
  serve(client)
end))
-- Stops on SIGTERM or SIGINT, removing its socket.
for _, name in ipairs { "sigterm", "sigint" } do
  local signal = uv.new_signal()
  signal:start(name, function()
    os.remove(path)
    os.exit(0)
  end)
end
io.stdout:write("ready ", path, "\n")
io.stdout:flush()
uv.run()
