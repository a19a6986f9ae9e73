-- The gateway nginx runs for each request (nginx.conf's `content_by_lua_block`): the request's
-- JSON body goes as a table to one of the workers, over nml.stream on a unix cosocket that
-- nginx keeps open for the next request (setkeepalive); the worker's answer goes back as
-- JSON. Nothing here blocks the nginx worker: cosockets yield while they wait.
--
-- Each request goes as {id = n, request = body}; the worker answers {id = n, answer = table}.
-- The id ties an answer to its request: on a pooled connection, an answer a worker sent late
-- or twice would otherwise be taken for the next request's.
--
-- Every failure is a 5xx whose JSON body says what happened, and the connection it happened
-- on is closed, never pooled:
--   504  the worker did not answer within the read timeout
--   502  the worker closed the connection (it died), answered what is not an nml message,
--        answered out of step (another request's id) or what JSON cannot hold, or could not
--        be reached
-- The client is told what happened, not where: worker paths and the worker's own words go to
-- nginx's error log only.
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

local function send_json(status, text)
  ngx.status = status
  ngx.header.content_type = "application/json"
  ngx.print(text)
  return ngx.exit(status)
end

-- `detail` (where, and what the worker said) goes to the error log only.
local function fail(status, message, detail)
  ngx.log(ngx.ERR, "gateway: ", message, detail and " (" .. detail .. ")" or "")
  return send_json(status, nml.encode({ error = message }, "JSON"))
end

local function respond(status, value)
  local ok, text = pcall(nml.encode, value, "JSON")
  if not ok then return fail(502, "the worker answered what JSON cannot hold", text) end
  return send_json(status, text)
end

-- What a failed stream call becomes for the client: status, message, detail.
local function failure(worker, code, message)
  local detail = "worker " .. worker .. ": " .. tostring(message)
  if code == "timeout" then
    return 504, "the worker did not answer in time", detail
  elseif code == "closed" then
    return 502, "the worker closed the connection before answering (did it die?)", detail
  elseif code == "too_large" or code == "malformed" then
    return 502, "the worker answered something that is not an nml message", detail
  end
  return 502, "the worker failed", detail
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

local last_id = 0 -- per nginx worker process; each has its own pool

-- Sends `request` and takes the answer: the answer, or nil, status, message, detail. (A pooled
-- connection its worker closes is dropped from the pool by nginx as it closes.)
local function ask(worker, request)
  local conn, err = connect(worker)
  if not conn then return nil, 502, "the worker is unreachable", "worker " .. worker .. ": " .. err end
  local stream = nml.stream(conn, { max_size = settings.max_size })
  last_id = last_id + 1
  local id = last_id
  local sent, send_err, send_code = stream:send({ id = id, request = request })
  if not sent then
    conn:close()
    return nil, failure(worker, send_code, send_err)
  end
  local message, protocol, code = stream:recv()
  if type(message) == "table" and message.id == id and type(message.answer) == "table" then
    conn:setkeepalive(settings.idle_timeout, settings.pool_size)
    return message.answer
  end
  conn:close()
  if message == nil and code then return nil, failure(worker, code, protocol) end
  if type(message) == "table" and message.id ~= id then
    return nil, 502, "the worker answered out of step", "worker " .. worker .. ": an answer to id "
      .. tostring(message.id) .. " came for id " .. id
  end
  return nil, 502, "the worker answered what is not {id, answer = table}", "worker " .. worker
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
  local answer, status, message, detail = ask(next_worker(), request)
  if not answer then return fail(status, message, detail) end
  return respond(200, answer)
end

return gateway
