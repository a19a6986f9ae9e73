-- Shared buffers (nml.shm_alloc, the socket option share): a buffer crosses as a reference to
-- its memory, and the receiver maps it read-only. Each safety rule has its spec.
local helper = require "helper"
local nml = helper.nml

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local peer = string.format("env LUA_CPATH='%s;;' %s %s/support/shm_peer.lua", helper.cpath, helper.lua, here)

local ipc_url = helper.ipc_url

describe("shared buffers", function()
  it("cross as a reference on a socket with share = true: the receiver maps the same memory", function()
    local pull, push = helper.pair_of("pull", "push", "inproc", { share = true })
    local buf = assert(nml.shm_alloc(1024 * 1024))
    assert.are.equal("nml.msg (1048576 bytes, shared)", tostring(buf))
    buf:write(0, "hello")
    assert(push:send({ frame = { buffer = buf, buffer_ud_type = "rgba", width = 512 } }))
    local t = assert(pull:recv())
    assert.are.equal("nml.msg (1048576 bytes, shared view)", tostring(t.frame.buffer))
    assert.are.equal(512, t.frame.width)
    assert.are.equal("hello", t.frame.buffer:tostring(0, 5))
    assert.is_true(pull:stats().received_bytes < 100, "a reference, not 1 MiB")
    buf:write(0, "J") -- the same memory: what the sender writes, the view reads
    assert.are.equal("Jello", t.frame.buffer:read(0, 5))
    local ok, err = pcall(t.frame.buffer.write, t.frame.buffer, 0, "x")
    assert.is_false(ok)
    assert.matches("read%-only", err)
    push:close()
    pull:close()
  end)

  it("cross as bytes on any other socket, and in nml.pack", function()
    local pull, push = helper.pair_of("pull", "push", "inproc", { share = true })
    push:setopt("share", false)
    local buf = assert(nml.shm_alloc(4096))
    buf:write(0, "bytes")
    assert(push:send({ buffer = buf, buffer_ud_type = "u8" }))
    local t = assert(pull:recv())
    assert.are.equal("nml.msg (4096 bytes, view)", tostring(t.buffer))
    assert.is_true(pull:stats().received_bytes > 4096)
    assert.are.equal("bytes", nml.unpack(nml.pack({ buffer = buf, buffer_ud_type = "u8" })).buffer:read(0, 5))
    push:close()
    pull:close()
  end)

  it("are refused with nil, msg, \"gone\" once their sender has exited, and nothing else is lost", function()
    local pull = helper.socket("pull", { recv_timeout = 10000, share = true })
    local url = ipc_url()
    assert(pull:listen(url))
    local out, ok = helper.run(peer .. " send " .. url .. " 3")
    assert(ok, out)
    assert.matches("sent 3", out)
    for _ = 1, 3 do
      local v, err, code, raw = pull:recv()
      assert.is_nil(v)
      assert.are.equal("gone", code)
      assert.matches("could not be opened: its sender freed it or exited", err)
      assert.is_true(#raw > 0 and #raw < 100, "the message's bytes are given back")
    end
    pull:close()
  end)

  it("stay readable in a receiver after their sender freed them and exited", function()
    local pair = helper.socket("pair", { recv_timeout = 10000, send_timeout = 10000, share = true })
    local url = ipc_url()
    assert(pair:listen(url))
    local child = assert(io.popen(peer .. " hold " .. url .. " 2>&1"))
    local t = assert(pair:recv())
    assert.are.equal("nml.msg (4000 bytes, shared view)", tostring(t.frame.buffer))
    assert(pair:send("close"))
    local said = child:read("*a")
    child:close()
    assert.matches("closed", said)
    -- The sender freed the buffer and exited: the mapping keeps the memory, sealed at its size.
    assert.are.equal(string.rep("held", 1000), t.frame.buffer:tostring())
    pair:close()
  end)

  it("are refused to a receiver of another user", function()
    local url = ipc_url()
    local child, dir = helper.as_nobody("shm_peer.lua", "receive " .. url)
    if not child then
      pending("running a receiver as another user needs root and setpriv")
      return
    end
    assert.are.equal("listening", child:read("*l"))
    local push = helper.socket("push", { share = true, send_timeout = 10000 })
    assert(push:dial(url))
    local buf = assert(nml.shm_alloc(100))
    assert(push:send({ buffer = buf, buffer_ud_type = "u8" }))
    local said = child:read("*a")
    child:close()
    assert.matches("recv:%s+nil%s+a shared buffer could not be opened[^\n]*gone", said)
    push:close()
    os.execute("rm -r " .. dir)
  end)

  it("of another user are refused to a receiver, root included", function()
    local child, dir = helper.as_nobody("shm_peer.lua", "offer ipc://$DIR/offer.ipc")
    if not child then
      pending("running a sender as another user needs root and setpriv")
      return
    end
    assert.are.equal("listening", child:read("*l"))
    local pull = helper.socket("pull", { share = true, recv_timeout = 10000 })
    assert(pull:dial("ipc://" .. dir .. "/offer.ipc"))
    local v, err, code = pull:recv()
    child:read("*a")
    child:close()
    assert.is_nil(v, "root opened another user's buffer")
    assert.are.equal("gone", code)
    assert.matches("could not be opened", err)
    pull:close()
    os.execute("rm -r " .. dir)
  end)

  it("keep no descriptor per view, and a message carries and opens at most 256", function()
    local function fds()
      local n = 0
      for _ in io.popen("ls /proc/self/fd"):lines() do n = n + 1 end
      return n
    end
    local pull, push = helper.pair_of("pull", "push", "inproc", { share = true })
    local bufs = {}
    for i = 1, 300 do bufs[i] = { buffer = assert(nml.shm_alloc(64)), buffer_ud_type = "u8" } end
    local before = fds()
    local some = {}
    for i = 1, 100 do some[i] = bufs[i] end
    assert(push:send(some))
    local views = assert(pull:recv())
    assert.are.equal(100, #views)
    assert.is_true(fds() - before < 10, (fds() - before) .. " descriptors for 100 views")
    local ok, err = pcall(push.send, push, bufs) -- packing what no receiver opens: a mistake
    assert.is_false(ok, "the sender sent what no receiver opens")
    assert.matches("more than 256 shared buffers in one message", err)
    local code

    -- a receiver opens no more either: 257 references to one real buffer, sent as bytes
    local grab = helper.socket("pull", { tagged = false, protocol = "string" })
    local sharer = helper.socket("push", { share = true })
    assert(sharer:dial(helper.listen_fresh(grab, "inproc")))
    assert(sharer:send({ buffer = bufs[1].buffer, buffer_ud_type = "u8" }))
    local body = assert(grab:recv())
    local at = assert(body:find(string.char(0xc7, 24, 78), 1, true))
    local descriptor = string.char(0x82, 0xa6) .. "buffer" .. body:sub(at, at + 26)
      .. string.char(0xae) .. "buffer_ud_type" .. string.char(0xa2) .. "u8"
    local raw = helper.socket("push", { tagged = false, protocol = "string" })
    assert(raw:dial(helper.listen_fresh(pull, "inproc")))
    assert(raw:send(string.char(0xc1, 1, 0xdc, 1, 1) .. string.rep(descriptor, 257)))
    local v
    v, err, code = pull:recv()
    assert.is_nil(v)
    assert.are.equal("too_large", code)
    assert.matches("more than 256 shared buffers in one message", err)
    for _, sock in ipairs({ grab, sharer, raw }) do sock:close() end
    push:close()
    pull:close()
  end)

  it("come back from a receiver that dropped its views and waits in recv, without a collection of its own", function()
    local pool = assert(nml.shm_pool { size = 4096, count = 2 })
    local pull, push = helper.pair_of("pull", "push", "inproc", { share = true })
    pull:setopt("recv_timeout", 20)
    collectgarbage("stop") -- only nml may collect now
    local views = {} -- luacheck: ignore (held, then dropped)
    for i = 1, 2 do
      local buf = assert(pool:take())
      assert(push:send({ frame = { buffer = buf, buffer_ud_type = "u8" } }))
      buf:free()
      views[i] = assert(pull:recv()).frame.buffer
    end
    views = nil -- luacheck: ignore (dropped without freeing them)
    local none, err = pool:take()
    local pid = io.open("/proc/self/stat"):read("*l"):match("^(%d+)")
    assert.is_nil(none)
    assert.matches("2 held by receivers; views open by pid " .. pid .. ": 2%)", err)
    assert.are.same({ nil, "timeout" }, { pull:recv(), select(3, pull:recv()) }) -- waits, idle
    collectgarbage("restart")
    assert.are.equal(2, pool:available())
  end)

  it("say when a buffer is kept by a reference nobody opened", function()
    local pool = assert(nml.shm_pool { size = 4096, count = 1 })
    local sharer = helper.socket("push", { share = true })
    local url = helper.ipc_url()
    local plain = helper.socket("pull", { recv_timeout = 5000 }) -- no share: it never opens one
    assert(plain:listen(url))
    assert(sharer:dial(url))
    local buf = assert(pool:take())
    assert(sharer:send({ frame = { buffer = buf, buffer_ud_type = "u8" } }))
    buf:free()
    assert.are.equal(78, assert(plain:recv()).frame.buffer.type)
    local none, err = pool:take()
    assert.is_nil(none)
    assert.matches("1 held by receivers, 1 of them by references sent and not opened", err)
    assert.matches("a reference that is never opened %(lost, refused, or received without share%) keeps", err)
    sharer:close()
    plain:close()
  end)

  it("cost a receiver that keeps a view one collection per second at most while it waits", function()
    -- A full collection before each wait, with a view open, is what gives dropped views back;
    -- with one view kept and nothing new, each wait ran one, which a peer could pace.
    local collections = 0
    local function count_collections() -- a sentinel that comes back after each collection
      local mt = { __gc = function() collections = collections + 1; count_collections() end }
      if newproxy then -- luacheck: ignore (Lua 5.1, LuaJIT: __gc on userdata only)
        local p = newproxy(true) -- luacheck: ignore
        getmetatable(p).__gc = mt.__gc
      else
        setmetatable({}, mt)
      end
    end
    local pool = assert(nml.shm_pool { size = 4096, count = 1 })
    local pull, push = helper.pair_of("pull", "push", "inproc", { share = true })
    pull:setopt("recv_timeout", 1)
    local buf = assert(pool:take())
    assert(push:send({ frame = { buffer = buf, buffer_ud_type = "u8" } }))
    buf:free()
    local kept = assert(pull:recv()).frame.buffer
    collectgarbage("stop")
    collectgarbage()
    count_collections()
    local started = nml.clock()
    for _ = 1, 50 do assert.are.equal("timeout", select(3, pull:recv())) end
    local seconds = nml.clock() - started
    collectgarbage("restart")
    assert.is_true(collections <= 2 + seconds, collections .. " collections in " .. seconds .. " s")
    assert.are.equal(4096, #kept)
    push:close()
    pull:close()
  end)

  it("come from a bounded pool, lent again only once the message is gone and every view released", function()
    local pool = assert(nml.shm_pool { size = 65536, count = 2 })
    assert.are.equal("nml.shm_pool (2 buffers of 65536 bytes)", tostring(pool))
    local a, b = assert(pool:take()), assert(pool:take())
    assert.are.equal("nml.msg (65536 bytes, shared)", tostring(a))
    local none, err, code = pool:take()
    assert.is_nil(none)
    assert.are.same({ "again" }, { code })
    assert.matches("every buffer of the pool is in use %(2 lent here, 0 held by receivers%)", err)

    local pull, push = helper.pair_of("pull", "push", "inproc", { share = true })
    a:write(0, "first")
    assert(push:send({ frame = { buffer = a, buffer_ud_type = "u8" } }))
    a:free()
    b = nil -- luacheck: ignore (collected, it goes home)
    collectgarbage()
    collectgarbage()
    assert.are.equal(1, pool:available(), "the sent one is held until its receiver lets go")
    local t = assert(pull:recv())
    assert.are.equal("first", t.frame.buffer:read(0, 5))
    assert.are.equal(1, pool:available())
    t.frame.buffer:free()
    assert.are.equal(2, pool:available())
    -- A send that fails gives its holds back.
    local lonely = helper.socket("push", { share = true, send_timeout = 0 })
    local c = assert(pool:take())
    assert.is_nil(lonely:send({ buffer = c, buffer_ud_type = "u8" }, nil, { dontwait = true }))
    c:free()
    assert.are.equal(2, pool:available())
    lonely:close()
    push:close()
    pull:close()
  end)

  it("go to every subscriber of a pub socket, each release counted", function()
    local pool = assert(nml.shm_pool { size = 4096, count = 1 })
    local pub = helper.socket("pub", { share = true })
    local url = "inproc://shm-pub-" .. helper.next_id()
    assert(pub:listen(url))
    local subs = {}
    for i = 1, 3 do
      subs[i] = helper.socket("sub", { share = true })
      assert(subs[i]:subscribe(""))
      assert(subs[i]:dial(url))
    end
    while pub:stats().pipes < 3 do nml.sleep(5) end
    nml.sleep(50)
    local buf = assert(pool:take())
    buf:write(0, "to all")
    assert(pub:send({ buffer = buf, buffer_ud_type = "u8" }))
    buf:free()
    local views = {}
    for i = 1, 3 do
      views[i] = assert(subs[i]:recv()).buffer
      assert.are.equal("to all", views[i]:read(0, 6))
    end
    for i = 1, 3 do
      assert.are.equal(0, pool:available(), (i - 1) .. " of 3 released")
      views[i]:free()
    end
    assert.are.equal(1, pool:available())
    for i = 1, 3 do subs[i]:close() end
    pub:close()
  end)

  it("leave nothing in /dev/shm, and come back to the pool from a receiver killed holding them", function()
    local function shm_entries()
      local listing = io.popen("ls -A /dev/shm 2>/dev/null")
      local names = listing:read("*a")
      listing:close()
      return names
    end
    local before = shm_entries()
    local pool = assert(nml.shm_pool { size = 4096, count = 1 })
    local push = helper.socket("push", { share = true, send_timeout = 10000 })
    local url = ipc_url()
    assert(push:listen(url))
    local child = assert(io.popen(peer .. " view " .. url .. " 2>&1"))
    local buf = assert(pool:take())
    buf:write(0, "kept")
    assert(push:send({ buffer = buf, buffer_ud_type = "u8" }))
    buf:free()
    local pid, seen = child:read("*l"):match("^holding (%d+) (%a+)$")
    assert.are.equal("kept", seen)
    -- While it holds the view, the pool says who does.
    local none, err, code = pool:take()
    os.execute("kill -9 " .. pid)
    child:close()
    assert.are.same({ nil, "again" }, { none, code })
    assert.matches("1 held by receivers; views open by pid " .. pid .. ": 1%)", err)
    -- The receiver died holding its view: it can read nothing now, so the pool takes the
    -- buffer back.
    assert.are.equal(1, pool:available())
    local again = assert(pool:take())
    again:free()
    push:close()
    pool = nil -- luacheck: ignore
    collectgarbage()
    assert.are.equal(before, shm_entries(), "a segment was left in /dev/shm")
  end)

  it("stay with a live receiver while the lending process cannot read /proc", function()
    -- Out of descriptors, the pool cannot tell whether a holder lives: it must keep the buffer
    -- (it once took the views back and lent the buffer under a reader).
    local out = helper.run(string.format("ulimit -n 64; %s starved %s", peer, ipc_url()))
    assert.matches("starved:%s+again", out)
    assert.matches("after:%s+1", out)
  end)

  it("check their arguments and the option", function()
    assert.has_error(function() nml.shm_pool() end)
    assert.has_error(function() nml.shm_pool { size = 0, count = 1 } end)
    assert.has_error(function() nml.shm_pool { size = 10, count = 1, counts = 2 } end)
    assert.are.equal("range", select(3, nml.shm_alloc(-1)))
    assert.matches("size %-1 is negative", select(2, nml.shm_alloc(-1)))
    assert.has_error(function() nml.shm_alloc("x") end)
    assert.has_error(function() nml.shm_alloc(1.5) end)
    assert.has_error(function() nml.socket("push", { share = "yes" }) end)
    local s = nml.socket("push")
    assert.is_false(s:getopt("share"))
    s:close()
  end)
end)
