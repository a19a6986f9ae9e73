-- A script that forks, as a pre-forking server does (nginx's master before its workers), for
-- spec/fork_spec.lua. NNG cannot run in a child forked after it started (its threads stay in
-- the parent, and it aborts at the first lock it takes there): nml must say so instead.
--   fork_child.lua after-socket     NNG started, then fork: the child is refused, the parent goes on
--   fork_child.lua before-socket    fork before any socket: the child starts NNG of its own
--   fork_child.lua sleep-interrupt  Ctrl-C watcher started, then fork: Ctrl-C ends the child's sleep
--   fork_child.lua shared-view      a view of a pool's buffer held across a fork, let go on
--                                   each side in turn: the pool lends it only once both did
local nml = require "nml"
local forker = require "forker"
local mode = arg[1]
io.stdout:setvbuf("no")

local function round_trip(url)
  local pull = assert(nml.socket("pull", { recv_timeout = 2000 }))
  assert(pull:listen(url))
  local push = assert(nml.socket("push", { send_timeout = 2000 }))
  assert(push:dial(url))
  assert(push:send({ hello = "world" }))
  local got = assert(pull:recv())
  push:close()
  pull:close()
  return got.hello
end

if mode == "after-socket" then
  local pull = assert(nml.socket("pull", { recv_timeout = 2000 }))
  assert(pull:listen("inproc://before-fork"))
  local push = assert(nml.socket("push", { send_timeout = 2000 }))
  assert(push:dial("inproc://before-fork"))
  local pool = assert(nml.shm_pool { size = 4096, count = 1 })
  local pid = forker.fork()
  if pid == 0 then
    print("child send:", pcall(push.send, push, "from the child"))
    print("child socket:", pcall(nml.socket, "pair"))
    print("child stats:", pcall(pull.stats, pull))
    print("child codec:", nml.unpack(nml.pack({ 1, 2, 3 }))[3])
    print("child pool:", pcall(pool.take, pool))
    push, pull = nil, nil
    collectgarbage()
    collectgarbage()
    print("child collected")
    return -- the interpreter closes its state: every __gc runs
  end
  print("parent sees the child end:", forker.wait(pid))
  print("parent pool:", pool:take() ~= nil)
  assert(push:send("after the fork"))
  print("parent round trip:", pull:recv(), round_trip("inproc://parent-after-fork"))
elseif mode == "before-socket" then
  local pid = forker.fork()
  if pid == 0 then
    print("child round trip:", round_trip("inproc://child"))
    return
  end
  print("parent sees the child end:", forker.wait(pid))
  print("parent round trip:", round_trip("inproc://parent"))
elseif mode == "shared-view" then
  local pool = assert(nml.shm_pool { size = 4096, count = 1 })
  local pull = assert(nml.socket("pull", { recv_timeout = 2000, share = true }))
  assert(pull:listen("inproc://views"))
  local push = assert(nml.socket("push", { send_timeout = 2000, share = true }))
  assert(push:dial("inproc://views"))
  local buf = assert(pool:take())
  buf:write(0, "data")
  assert(push:send({ frame = { buffer = buf, buffer_ud_type = "u8" } }))
  buf:free()
  local view = assert(pull:recv()).frame.buffer
  local pid = forker.fork()
  if pid == 0 then -- the child lets go of its copy of the view, and ends
    view = nil -- luacheck: ignore (dropped)
    collectgarbage()
    collectgarbage()
    return
  end
  forker.wait(pid)
  print("parent pool after the child let go of its copy:", pool:available())
  pid = forker.fork()
  if pid == 0 then -- the child keeps its copy while the parent lets go of its own
    nml.sleep(500)
    print("child read after the parent let go:", view:read(0, 4))
    return
  end
  view:free() -- at once, before the child may have run at all
  print("parent pool while the child holds its copy:", pool:available())
  local lent = pool:take() -- would be the child's buffer, if it were counted in the child alone
  if lent then lent:write(0, "XXXX") end
  forker.wait(pid)
  print("parent pool once both let go:", pool:available())
elseif mode == "sleep-interrupt" then
  local sigcount = require "sigcount"
  sigcount.install() -- a handler of the script's own: nml returns "interrupted" and goes on
  nml.sleep(1) -- starts nml's Ctrl-C watcher in the parent
  local pull = assert(nml.socket("pull", { recv_timeout = 1500 }))
  assert(pull:listen("inproc://parent-waits"))
  local pid = forker.fork()
  if pid == 0 then
    local started = nml.clock()
    local r = { nml.sleep(3000) }
    print(string.format("child slept %d ms: %s %s", math.floor((nml.clock() - started) * 1000),
      tostring(r[1]), tostring(r[3])))
    return
  end
  -- Ctrl-C for the child alone, while the parent waits in recv: it must not end that wait.
  os.execute("(sleep 0.5; kill -INT " .. pid .. ") &")
  local started = nml.clock()
  local r = { pull:recv() }
  print(string.format("parent waited %d ms: %s %s", math.floor((nml.clock() - started) * 1000),
    tostring(r[1]), tostring(r[3])))
  print("parent sees the child end:", forker.wait(pid))
end
