-- The other process of spec/shm_spec.lua.
--   lua shm_peer.lua send URL N     push N shared buffers (64 KiB, every byte = its seq) to URL
--                                   with share = true, then exit without waiting for them to
--                                   be read
--   lua shm_peer.lua hold URL       pair: send one shared buffer ("held" x 1000), wait for
--                                   "close", free the buffer, exit
--   lua shm_peer.lua receive URL    pull: listen on URL, receive one message, print what recv
--                                   returned (run as another user)
--   lua shm_peer.lua offer URL      push: listen on URL, print "listening", send one shared
--                                   buffer to whoever dials, wait a little, exit (run as
--                                   another user)
--   lua shm_peer.lua view URL       pull: dial URL, receive one message, print "holding <pid>"
--                                   and wait, holding its view, until killed
--   lua shm_peer.lua starved URL    a pool lends its one buffer to a `view` receiver it starts,
--                                   then, out of descriptors, prints what take said ("starved:
--                                   <code>"), then kills the receiver and prints "after: <n>",
--                                   what the pool has available (run under a low ulimit -n)
local nml = require "nml"
local mode, url, n = arg[1], arg[2], tonumber(arg[3])

if mode == "send" then
  local push = assert(nml.socket("push", { share = true, send_timeout = 10000 }))
  assert(push:dial(url))
  for seq = 1, n do
    local buf = assert(nml.shm_alloc(65536))
    buf:write(0, string.rep(string.char(seq), 65536))
    assert(push:send({ seq = seq, frame = { buffer = buf, buffer_ud_type = "u8" } }))
  end
  nml.sleep(200) -- NNG writes what it holds; the buffers go with this process
  print("sent " .. n)
elseif mode == "hold" then
  local pair = assert(nml.socket("pair", { share = true, recv_timeout = 10000, send_timeout = 10000 }))
  assert(pair:dial(url))
  local buf = assert(nml.shm_alloc(4000))
  buf:write(0, string.rep("held", 1000))
  assert(pair:send({ frame = { buffer = buf, buffer_ud_type = "text" } }))
  assert(pair:recv() == "close")
  buf:free()
  pair:close()
  print("closed")
elseif mode == "view" then
  local pull = assert(nml.socket("pull", { recv_timeout = 10000, share = true }))
  assert(pull:dial(url))
  local t = assert(pull:recv())
  local pid = io.open("/proc/self/stat"):read("*l"):match("^(%d+)")
  print("holding " .. pid .. " " .. t.buffer:read(0, 4))
  io.stdout:flush()
  while t do nml.sleep(1000) end
elseif mode == "starved" then
  local pool = assert(nml.shm_pool { size = 4096, count = 1 })
  local push = assert(nml.socket("push", { share = true, send_timeout = 10000 }))
  assert(push:listen(url))
  local holder = assert(io.popen(string.format("%s %s view %s", arg[-1], arg[0], url)))
  local buf = assert(pool:take())
  buf:write(0, "kept")
  assert(push:send({ buffer = buf, buffer_ud_type = "u8" }))
  buf:free()
  local pid = assert(holder:read("*l"):match("^holding (%d+)"))
  local files = {}
  while true do -- every descriptor taken: /proc cannot be read now
    local f = io.open("/dev/null")
    if not f then break end
    files[#files + 1] = f
  end
  print("starved:", select(3, pool:take()))
  for _, f in ipairs(files) do f:close() end
  os.execute("kill -9 " .. pid)
  holder:close()
  print("after:", pool:available())
elseif mode == "offer" then
  local push = assert(nml.socket("push", { share = true, send_timeout = 10000 }))
  assert(push:listen(url))
  print("listening")
  io.stdout:flush()
  local buf = assert(nml.shm_alloc(100))
  buf:write(0, "not yours")
  assert(push:send({ buffer = buf, buffer_ud_type = "u8" }))
  nml.sleep(1000)
elseif mode == "receive" then
  local pull = assert(nml.socket("pull", { recv_timeout = 10000, share = true }))
  assert(pull:listen(url))
  print("listening")
  io.stdout:flush()
  local v, err, code = pull:recv()
  print("recv:", type(v), tostring(err), tostring(code))
end
