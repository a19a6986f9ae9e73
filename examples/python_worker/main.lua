-- A Python worker driven over its stdin and stdout: each request and answer is a frame (a
-- 4-byte big-endian length) holding MessagePack, {id, command, args} one way and
-- {id, success, result} or {id, success = false, error} back; JSON the same way when asked.
--
--   lua main.lua          (from examples/python_worker; NML_PYTHON names the Python to run)
--
-- Why luv: io.popen opens one direction only, and a worker needs both. luv's process API
-- (uv.spawn) gives the two pipes and the exit status without forking from Lua, and it is the
-- loop nml already serves in (examples/event_loop_luv.lua), so the worker's answers arrive as
-- callbacks that never block the program. (luaposix's pipe, fork and exec would do as well for
-- a program that may block.)
local nml = require "nml"
local uv = require "luv"

local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local python = os.getenv("NML_PYTHON") or "python3"

-- One worker process; requests carry ids, so several can be in flight at once.
local Worker = {}
Worker.__index = Worker

function Worker.start(protocol)
  local w = setmetatable({ protocol = protocol, framer = nml.framer(), answers = {}, last_id = 0,
    sent_bytes = 0, received_bytes = 0 }, Worker)
  w.stdin, w.stdout = uv.new_pipe(false), uv.new_pipe(false)
  local mode = protocol == "JSON" and "json" or "msgpack"
  w.process = assert(uv.spawn(python, { args = { here .. "/worker.py", mode }, stdio = { w.stdin, w.stdout, 2 } },
    function(code) w.exit_code = code end))
  w.stdout:read_start(function(err, chunk)
    assert(not err, err)
    if not chunk then w.gone = true return end
    w.received_bytes = w.received_bytes + #chunk
    assert(w.framer:feed(chunk))
    for payload in w.framer:messages() do
      local answer = assert(nml.decode(payload, w.protocol))
      w.answers[answer.id] = answer
    end
  end)
  return w
end

-- Sends a request; returns its id.
function Worker:send(command, args)
  self.last_id = self.last_id + 1
  local frame = nml.frame(nml.encode({ id = self.last_id, command = command, args = args }, self.protocol))
  self.sent_bytes = self.sent_bytes + #frame
  self.stdin:write(frame)
  return self.last_id
end

-- Runs the loop until the answer to `id` is in: its result, or nil and the worker's error.
function Worker:wait(id)
  while not self.answers[id] do
    if self.gone then return nil, "the worker exited" end
    uv.run("once")
  end
  local answer = self.answers[id]
  self.answers[id] = nil
  if answer.success then return answer.result end
  return nil, answer.error
end

function Worker:call(command, args)
  return self:wait(self:send(command, args))
end

-- Closes the worker's stdin (it exits at the end of its input) and waits for it.
function Worker:stop()
  self.stdin:close()
  while self.exit_code == nil do uv.run("once") end
  -- luv wants every handle closed, and the loop run once more, before the program exits.
  self.stdout:close()
  self.process:close()
  uv.run("nowait")
  return self.exit_code
end

-- A batch: 1000 requests written at once, then their answers awaited.
local function batch(worker)
  local t0, ids = nml.clock(), {}
  local sent0, received0 = worker.sent_bytes, worker.received_bytes
  for i = 1, 1000 do ids[i] = worker:send("add", { x = i, y = i / 4 }) end
  for i, id in ipairs(ids) do assert(worker:wait(id) == i + i / 4) end
  return nml.clock() - t0, worker.sent_bytes - sent0, worker.received_bytes - received0
end

local worker = Worker.start("MessagePack")
print(string.format("python worker (MessagePack): 2 + 3 = %s", assert(worker:call("add", { x = 2, y = 3 }))))

-- A 1 MiB buffer crosses as bytes (a bin), not as base64 text.
local size = 1024 * 1024
local buf = nml.allocmsg(size)
local block = {}
for i = 0, 255 do block[#block + 1] = string.char((i * 7) % 256) end
buf:write(0, string.rep(table.concat(block), size / 256))
local expected_sum = 0
for i = 0, 255 do expected_sum = expected_sum + (i * 7) % 256 end
expected_sum = expected_sum * size / 256
local data = { buffer = buf, buffer_ud_type = "bytes", buffer_ud_size = size }
local result = assert(worker:call("checksum", { data = data }))
print(string.format("python worker: a 1 MiB buffer in, size %d and byte sum %d back (%s)", result.size,
  result.sum, (result.size == size and result.sum == expected_sum) and "match" or "MISMATCH"))

local none, err = worker:call("divide", { x = 1, y = 0 })
print(string.format("python worker: 1 / 0 answered with an error: %s (result %s)", err, tostring(none)))

local seconds, sent, received = batch(worker)
print(string.format("MessagePack: 1000 requests in %.3f s, %d bytes out, %d bytes back", seconds, sent, received))
local mp_sent = sent
assert(worker:stop() == 0, "the worker failed")

local json_worker = Worker.start("JSON")
seconds, sent, received = batch(json_worker)
print(string.format("JSON:        1000 requests in %.3f s, %d bytes out, %d bytes back", seconds, sent, received))
print(string.format("MessagePack requests are %.0f%% of JSON's size", 100 * mp_sent / sent))
assert(json_worker:stop() == 0, "the JSON worker failed")
print("python worker ok")
