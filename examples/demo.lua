-- make demo: two processes exchange tables over NNG. This one is the client (req); it starts
-- examples/workers/demo_worker.lua as the worker (rep) and talks to it over ipc: a job holding
-- strings, numbers, nested tables and a 1 MiB buffer descriptor, then a plain string.
local nml = require "nml"

local lua = arg and arg[-1] or "lua"
local here = (arg and arg[0] or ""):match("^(.*)/") or "."
local url = "ipc://" .. os.tmpname() .. ".ipc"

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" then return tostring(v) end
  if v.buffer then
    return string.format("<%s: %d bytes>", tostring(v.buffer_ud_type), v.buffer_ud_size or #v.buffer)
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local parts = {}
  for _, k in ipairs(keys) do
    parts[#parts + 1] = (type(k) == "number" and "" or k .. "=") .. show(v[k])
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

local client = assert(nml.socket("req", { recv_timeout = 10000, send_timeout = 10000 }))
assert(client:listen(url))
local worker = assert(io.popen(string.format("%s %s/workers/demo_worker.lua %s", lua, here, url), "r"))

-- A 1 MiB frame in an NNG-owned buffer, filled like an image row by row.
local size = 1024 * 1024
local frame = nml.allocmsg(size)
local row = {}
for i = 1, 1024 do row[i] = string.char(i % 251) end
row = table.concat(row)
for offset = 0, size - 1, 1024 do frame:write(offset, row) end

local job = {
  job = "thumbnail", id = 1,
  params = { width = 640, height = 480, quality = 0.85 },
  tags = { "thumb", "jpeg" },
  frame = { buffer = frame, buffer_ud_type = "rgb_frame", buffer_ud_size = size },
}
assert(client:send(job))
print(string.format("client -> worker  %-11s %9d bytes  %s", "MessagePack", nml.packsize(job) + 2, show(job)))

local reply, protocol = assert(client:recv())
print(worker:read("*l")) -- what the worker says it got, written before it replied
print(string.format("worker -> client  %-11s %9d bytes  %s", protocol, #nml.encode(reply, "json") + 2, show(reply)))

assert(client:send("shutdown", "string"))
print(string.format("client -> worker  %-11s %9d bytes  %s", "string", #"shutdown" + 2, show("shutdown")))
local bye, p = assert(client:recv())
print(string.format("worker -> client  %-11s %9d bytes  %s", p, #bye + 2, show(bye)))

-- NNG drops what a socket has not yet written when it closes, so whoever sends last must not
-- close first: the client's last word goes out, and the client waits for the worker to exit
-- (it has read it then) before closing its own socket.
assert(client:send("close", "string"))
print(string.format("client -> worker  %-11s %9d bytes  %s", "string", #"close" + 2, show("close")))
worker:close()
client:close()
os.remove(url:sub(7))
print("demo ok: 5 messages crossed between two processes")
