-- The gateway nginx runs for each request (nginx.conf's `content_by_lua_block`): the request's
-- JSON body goes as a table to one of the workers, over nml.stream on a unix cosocket that
-- nginx keeps open for the next request (setkeepalive); the worker's answer goes back as
-- JSON. Nothing here blocks the nginx worker: cosockets yield while they wait.
--
-- Every failure is a 5xx whose JSON body says what happened, and the connection it happened
-- on is closed, never pooled:
--   504  the worker did not answer within the read timeout
--   502  the worker closed the connection (it died), answered what is not an nml message,
--        or could not be reached
local nml = require "nml"

local gateway = {}

local settings = {
  workers = {},            -- unix socket paths, taken in turn
  connect_timeout = 1000,  -- milliseconds
  send_timeout = 1000,
  read_timeout = 5000,
  max_size = 1024 * 1024,  -- the largest answer taken, in bytes
  pool_size = 32,          -- connections kept open per worker and nginx worker process
  idle_timeout = 60000,    -- how long a pooled connection may stay idle
}

--- gateway.configure{workers = {"/run/w1.sock", ...}, read_timeout = ms, ...}, in init_by_lua.
function gateway.configure(options)
  for k, v in pairs(options) do
    if settings[k] == nil then error("gateway.configure: unknown setting " .. tostring(k), 2) end
    settings[k] = v
  end
  assert(#settings.workers > 0, "gateway.configure: workers expected")
end

local function respond(status, value)
  ngx.status = status
  ngx.header.content_type = "application/json"
  ngx.print(nml.encode(value, "JSON"))
  return ngx.exit(status)
end

local function fail(status, message)
  ngx.log(ngx.ERR, "gateway: ", message)
  return respond(status, { error = message })
end

-- What a failed stream call becomes for the client.
local function failure(worker, code, message)
  if code == "timeout" then
    return 504, "worker " .. worker .. " did not answer in time"
  elseif code == "closed" then
    return 502, "worker " .. worker .. " closed the connection before answering (did it die?)"
  elseif code == "too_large" or code == "malformed" then
    return 502, "worker " .. worker .. " answered something that is not an nml message: " .. message
  end
  return 502, "worker " .. worker .. ": " .. tostring(message)
end

local turn = 0
local function next_worker()
  turn = turn % #settings.workers + 1
  return settings.workers[turn]
end

local function connect(worker)
  local conn = ngx.socket.tcp()
  conn:settimeouts(settings.connect_timeout, settings.send_timeout, settings.read_timeout)
  local ok, err = conn:connect("unix:" .. worker)
  if not ok then return nil, err end
  return conn
end

-- Sends `request` and takes the answer: the answer, or nil, status, message. (A pooled
-- connection its worker closes is dropped from the pool by nginx as it closes.)
local function ask(worker, request)
  local conn, err = connect(worker)
  if not conn then return nil, 502, "worker " .. worker .. " unreachable: " .. err end
  local stream = nml.stream(conn, { max_size = settings.max_size })
  local sent, send_err, send_code = stream:send(request)
  if not sent then
    conn:close()
    return nil, failure(worker, send_code, send_err)
  end
  local answer, protocol, code = stream:recv()
  if type(answer) == "table" then
    conn:setkeepalive(settings.idle_timeout, settings.pool_size)
    return answer
  end
  conn:close()
  if answer == nil and code then return nil, failure(worker, code, protocol) end
  return nil, 502, "worker " .. worker .. " answered a " .. type(answer) .. ", not a table"
end

--- Serves one request: POST a JSON object, get the worker's answer as JSON.
function gateway.handle()
  if ngx.req.get_method() ~= "POST" then return fail(405, "POST a JSON object") end
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if not body then return fail(400, "a JSON body expected (at most client_body_buffer_size)") end
  local request, err = nml.decode(body, "JSON")
  if type(request) ~= "table" then
    return fail(400, "the body is not a JSON object: " .. tostring(err or type(request)))
  end
  local answer, status, message = ask(next_worker(), request)
  if not answer then return fail(status, message) end
  return respond(200, answer)
end

return gateway
