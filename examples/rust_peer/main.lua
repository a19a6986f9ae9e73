-- A Rust peer (src/main.rs: serde structs through rmp-serde) talking to Lua over a Unix
-- socket, each message a frame (a 4-byte big-endian length) holding bare MessagePack, at most
-- 64 MiB on both sides. Both directions: Lua asks the Rust server, then the Rust client asks
-- a Lua server.
--
--   lua main.lua      (from examples/rust_peer; builds the peer with cargo on first use)
--
-- The Unix socket is LuaSocket's (socket.unix); nml frames and packs. A request is
-- {id, call = {<name> = args}}, which is how serde writes the Rust enum `Call`; an answer is
-- {id, result = {<kind> = value}} or {id, error = "..."}.
local nml = require "nml"
local unix = require "socket.unix"

local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local target = here .. "/../../build/rust_peer"
local MAX_FRAME = 64 * 1024 * 1024

local function sh(command)
  local ok = os.execute(command)
  return ok == true or ok == 0
end

assert(sh("cargo build --release --quiet --manifest-path " .. here .. "/Cargo.toml --target-dir " .. target),
  "cargo could not build the Rust peer")
local peer = target .. "/release/nml-rust-peer"

-- Frames over a LuaSocket connection: nml.frame to write, a header and a body to read.
local function send(conn, value)
  assert(conn:send(nml.frame(nml.pack(value))))
end

local function receive(conn)
  local header, err = conn:receive(4)
  if not header then return nil, err end
  local a, b, c, d = header:byte(1, 4)
  local length = ((a * 256 + b) * 256 + c) * 256 + d
  assert(length <= MAX_FRAME, "a frame over 64 MiB")
  return nml.unpack(assert(conn:receive(length)))
end

local function socket_path(name)
  local path = os.tmpname()
  os.remove(path)
  return path .. "-" .. name .. ".sock"
end

-- Connects to `path` once the peer listens there.
local function connect(path)
  for _ = 1, 500 do
    local conn = assert(unix.stream())
    if conn:connect(path) then return conn end
    conn:close()
    nml.sleep(10)
  end
  error("the Rust peer did not listen on " .. path)
end

-- Lua asks, Rust answers.
local path = socket_path("rust")
local server = assert(io.popen(peer .. " serve " .. path))
local conn = connect(path)

send(conn, { id = 1, call = { add = { x = 2, y = 3 } } })
print(string.format("lua -> rust: add 2 3 = %d", receive(conn).result.number))

send(conn, { id = 2, call = { divide = { x = 1, y = 0 } } })
print("lua -> rust: divide 1 0 answered with an error: " .. receive(conn).error)

local size = 1024 * 1024
local buf = nml.allocmsg(size)
buf:write(0, string.rep("\1\2\3\4", size / 4))
local descriptor = { buffer = buf, buffer_ud_type = "bytes", buffer_ud_size = size }
send(conn, { id = 3, call = { checksum = { data = descriptor } } })
local checksum = receive(conn).result.checksum
print(string.format("lua -> rust: a 1 MiB buffer as bin, size %d and byte sum %d back (%s)", checksum.size,
  checksum.sum, (checksum.size == size and checksum.sum == size / 4 * 10) and "match" or "MISMATCH"))

-- A frame that claims more than 64 MiB: refused before the peer allocates anything for it.
assert(conn:send("\5\0\0\0"))
print("lua -> rust: a 80 MiB frame header refused: " .. receive(conn).error)
conn:close()
for line in server:lines() do print(line) end
server:close()

-- Rust asks, Lua answers.
path = socket_path("lua")
local listening = assert(unix.stream())
assert(listening:bind(path))
assert(listening:listen(1))
local client = assert(io.popen(peer .. " ask " .. path))
local accepted = assert(listening:accept())
local answered = 0
while true do
  local request = receive(accepted)
  if not request then break end
  local call, answer = request.call, { id = request.id }
  if call.add then
    answer.result = { number = call.add.x + call.add.y }
  elseif call.divide then
    if call.divide.y == 0 then answer.error = "division by zero" else
      answer.result = { number = math.floor(call.divide.x / call.divide.y) } end
  elseif call.checksum then
    local bytes, sum = call.checksum.data.buffer:tostring(), 0
    for i = 1, #bytes do sum = sum + bytes:byte(i) end
    answer.result = { checksum = { size = #bytes, sum = sum } }
  end
  send(accepted, answer)
  answered = answered + 1
end
accepted:close()
listening:close()
os.remove(path)
for line in client:lines() do print(line) end
client:close()
print(string.format("rust -> lua: answered %d requests", answered))
print("rust peer ok")
