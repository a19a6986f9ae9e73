-- The worker of the nginx bench (benches/run nginx): one Lua process (luv) answering the same
-- request two ways, so that only the way in differs:
--   STREAM_PATH  nml.stream frames, as examples/openresty/worker.lua (nginx's gateway.lua)
--   HTTP_PATH    HTTP/1.1 with a JSON body, kept alive (nginx's proxy_pass)
-- Both answer {"op": "sum", "values": [...]} with {worker = "lua", sum = n}.
--   lua5.4 nginx_worker.lua STREAM_PATH HTTP_PATH
local uv = require "luv"
local nml = require "nml"

local stream_path, http_path = assert(arg[1]), assert(arg[2])

local function answer(request)
  local sum = 0
  for _, v in ipairs(request.values or {}) do sum = sum + v end
  return { worker = "lua", sum = sum }
end

local function serve_stream(client)
  local framer = nml.framer()
  client:read_start(function(err, chunk)
    if err or not chunk then return client:close() end
    assert(framer:feed(chunk))
    for body in framer:messages() do
      local message = nml.unwrap(body) -- {id = n, request = t}, as gateway.lua sends
      client:write(nml.frame(nml.wrap({ id = message.id, answer = answer(message.request) })))
    end
  end)
end

-- HTTP/1.1 requests with a Content-Length body, one after another on a connection.
local function serve_http(client)
  local held = ""
  client:read_start(function(err, chunk)
    if err or not chunk then return client:close() end
    held = held .. chunk
    while true do
      local head_end = held:find("\r\n\r\n", 1, true)
      if not head_end then return end
      local length = tonumber(held:sub(1, head_end):lower():match("\ncontent%-length:%s*(%d+)")) or 0
      if #held < head_end + 3 + length then return end
      local body = held:sub(head_end + 4, head_end + 3 + length)
      held = held:sub(head_end + 4 + length)
      local json = nml.encode(answer(nml.decode(body, "JSON")), "JSON")
      client:write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        .. #json .. "\r\n\r\n" .. json)
    end
  end)
end

local function listen(path, serve)
  os.remove(path)
  local server = uv.new_pipe(false)
  assert(server:bind(path))
  assert(server:listen(128, function(err)
    assert(not err, err)
    local client = uv.new_pipe(false)
    server:accept(client)
    serve(client)
  end))
end

-- A peer that hangs up before its answer is written (nginx ending a request that timed out,
-- its client gone) must not end the worker: a write to it would raise SIGPIPE, whose default
-- is to kill the process without a word. With a handler, the write fails instead.
local sigpipe = uv.new_signal()
sigpipe:start("sigpipe", function() end)
listen(stream_path, serve_stream)
listen(http_path, serve_http)
local signal = uv.new_signal()
signal:start("sigterm", function()
  os.remove(stream_path)
  os.remove(http_path)
  os.exit(0)
end)
io.stdout:write("ready\n")
io.stdout:flush()
uv.run()
