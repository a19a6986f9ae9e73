-- Shared-buffer references are bytes a peer controls (docs/design.md, "Threat model"): a
-- receiver opens one only on a socket whose own share option is true, only for a message that
-- came over a local transport (ipc, inproc), and only if it is a sealed memfd of nml's making.
-- Everything else keeps the ext it is on the wire, or is refused with one error whatever the
-- cause, so that a peer learns nothing of this host's processes and descriptors.
local helper = require "helper"
local nml = helper.nml

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"

-- n as `width` big-endian bytes (portable to Lua 5.1: no string.pack)
local function be(n, width)
  local out = {}
  for i = width, 1, -1 do
    out[i] = string.char(n % 256)
    n = math.floor(n / 256)
  end
  return table.concat(out)
end

-- The tagged MessagePack body of a descriptor whose buffer is the reference (pid, fd, token,
-- len): what a hostile peer can send.
local function forged(pid, fd, token, len)
  local ref = "\199\24\78" .. be(pid, 4) .. be(fd, 4) .. token .. be(len, 8)
  return "\193\1\130\166buffer" .. ref .. "\174buffer_ud_type\162u8"
end

-- A sender of exact bytes: an untagged string socket writes them as they are.
local function raw_sender(receiver, transport)
  local url = helper.listen_fresh(receiver, transport)
  local sender = helper.socket("push", { tagged = false, protocol = "string" })
  assert(sender:dial(url))
  return sender
end

local function is_reference_ext(v)
  return type(v) == "table" and v.type == 78 and type(v.data) == "string" and #v.data == 24
end

local function pid_of_self()
  return tonumber(io.open("/proc/self/stat"):read("*l"):match("^(%d+)"))
end

describe("shared-buffer references from a peer", function()
  it("stay the ext they are on a receiver without share, and are never mapped", function()
    local pull, push = helper.pair_of("pull", "push", "inproc")
    push:setopt("share", true)
    local buf = assert(nml.shm_alloc(4096))
    buf:write(0, "secret")
    assert(push:send({ buffer = buf, buffer_ud_type = "u8" }))
    local t = assert(pull:recv())
    assert.is_true(is_reference_ext(t.buffer), "got " .. tostring(t.buffer))
    push:close()
    pull:close()
  end)

  it("stay the ext they are in nml.unpack, nml.decode, nml.unwrap and nml.unpacker", function()
    local pull = helper.socket("pull", { tagged = false, protocol = "string" })
    local push = helper.socket("push", { share = true })
    local url = helper.listen_fresh(pull, "inproc")
    assert(push:dial(url))
    local buf = assert(nml.shm_alloc(4096))
    assert(push:send({ buffer = buf, buffer_ud_type = "u8" }))
    local body = assert(pull:recv())
    local payload = body:sub(3) -- after the tag 0xC1 0x01
    assert.is_true(is_reference_ext(nml.unpack(payload).buffer))
    assert.is_true(is_reference_ext(nml.unpack(payload, 0, { buffers = "string" }).buffer))
    assert.is_true(is_reference_ext(nml.decode(payload).buffer))
    assert.is_true(is_reference_ext(nml.unwrap(body).buffer))
    local u = nml.unpacker()
    u:feed(payload)
    assert.is_true(is_reference_ext(u:next().buffer))
    push:close()
    pull:close()
  end)

  it("stay the ext they are over tcp, and a socket with share takes no endpoint off this host", function()
    local pull = helper.socket("pull")
    local push = raw_sender(pull, "tcp")
    assert(push:send(forged(pid_of_self(), 3, string.rep("\0", 8), 4096)))
    local t = assert(pull:recv())
    assert.is_true(is_reference_ext(t.buffer), "got " .. tostring(t.buffer))
    push:close()
    pull:close()
    local share = helper.socket("pull", { share = true })
    for _, url in ipairs({ "tcp://127.0.0.1:0", "ws://127.0.0.1:0/x", "tls+tcp://127.0.0.1:0" }) do
      local ok, err, code = share:listen(url)
      assert.is_nil(ok, url)
      assert.equals("invalid", code)
      assert.matches("stays on this host", err)
      ok, _, code = share:dial(url:gsub(":0", ":9"), { block = false })
      assert.is_nil(ok, url)
      assert.equals("invalid", code)
    end
    share:close()
    local plain = helper.socket("pull")
    assert(plain:listen("tcp://127.0.0.1:0"))
    local ok, err, code = plain:setopt("share", true)
    assert.is_nil(ok)
    assert.equals("invalid", code)
    assert.matches("stays on this host", err)
    plain:close()
  end)

  it("that name anything but the sender's nml buffer are refused unopened, all with one message", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -m 700 " .. dir))
    local pull = helper.socket("pull", { share = true, recv_timeout = 5000 })
    local url = helper.listen_fresh(pull, "ipc")
    local child = assert(io.popen(string.format("%s %s/support/hostile_fds.py %s %s %d",
      helper.python, here, dir, url, pid_of_self())))
    local said, raws = {}, {}
    for i = 1, 8 do
      local v, err, code, raw = pull:recv()
      assert.is_nil(v, "case " .. i .. " was opened")
      said[i] = tostring(err) .. " / " .. tostring(code)
      raws[i] = raw
      assert.is_nil(tostring(err):find("%d%d%d"), "case " .. i .. " names a number: " .. tostring(err))
    end
    for i = 2, 8 do assert.are.equal(said[1], said[i], "case " .. i) end
    assert.matches("could not be opened.* / gone", said[1])
    for i = 1, 8 do assert.is_truthy(raws[i] and #raws[i] > 30, "case " .. i .. ": the bytes are given back") end
    assert.are.equal("sent 8", child:read("*l"))
    assert.are.equal("fifo: not opened", child:read("*l"))
    child:close()
    os.execute("rm -r " .. dir)

    -- a real buffer of this process, named with the wrong token or length, over inproc
    local real_pull = helper.socket("pull", { tagged = false, protocol = "string" })
    local real_push = helper.socket("push", { share = true })
    assert(real_push:dial(helper.listen_fresh(real_pull, "inproc")))
    local buf = assert(nml.shm_alloc(4096))
    assert(real_push:send({ buffer = buf, buffer_ud_type = "u8" }))
    local body = assert(real_pull:recv())
    local at = assert(body:find("\199\24\78", 1, true))
    local real = body:sub(at + 3, at + 26) -- the reference's 24 bytes
    local real_fd = (real:byte(5) * 2 ^ 24) + (real:byte(6) * 2 ^ 16) + real:byte(7) * 256 + real:byte(8)
    local share_pull = helper.socket("pull", { share = true })
    local push = raw_sender(share_pull, "inproc")
    for _, body2 in ipairs({
      forged(pid_of_self(), real_fd, string.rep("\1", 8), 4096),
      forged(pid_of_self(), real_fd, real:sub(9, 16), 4095),
    }) do
      assert(push:send(body2))
      local v, err, code = share_pull:recv()
      assert.is_nil(v)
      assert.are.equal(said[1], tostring(err) .. " / " .. tostring(code))
    end
    for _, s in ipairs({ push, share_pull, real_push, real_pull, pull }) do s:close() end
  end)
end)

describe("a message with a reference that cannot be opened", function()
  it("is refused, and gives back at once the buffers of its other references", function()
    local pool = assert(nml.shm_pool { size = 4096, count = 2 })
    -- Two real references, taken off the wire by a raw receiver (which leaves them on their way)
    local raw_pull = helper.socket("pull", { tagged = false, protocol = "string" })
    local sharer = helper.socket("push", { share = true })
    assert(sharer:dial(helper.listen_fresh(raw_pull, "inproc")))
    local refs = {}
    for i = 1, 2 do
      local buf = assert(pool:take())
      assert(sharer:send({ buffer = buf, buffer_ud_type = "u8" }))
      buf:free()
      local body = assert(raw_pull:recv())
      local at = assert(body:find("\199\24\78", 1, true))
      refs[i] = body:sub(at, at + 26)
    end
    assert.are.equal(0, pool:available())
    local function descriptor(ref) return "\130\166buffer" .. ref .. "\174buffer_ud_type\162u8" end
    local bad = "\199\24\78" .. be(pid_of_self(), 4) .. be(999999, 4) .. string.rep("\0", 8) .. be(4096, 8)
    local body = "\193\1\147" .. descriptor(refs[1]) .. descriptor(bad) .. descriptor(refs[2])
    local share_pull = helper.socket("pull", { share = true })
    local push = raw_sender(share_pull, "inproc")
    collectgarbage("stop") -- given back by nml itself, not by a collection of the spec's
    assert(push:send(body))
    local v, err, code = share_pull:recv()
    assert.are.same({ nil, "gone" }, { v, code })
    assert.matches("could not be opened", err)
    assert.are.equal(2, pool:available(), "both others were opened and given back")
    collectgarbage("restart")
    for _, sock in ipairs({ push, share_pull, sharer, raw_pull }) do sock:close() end
  end)
end)

describe("shared buffers through a forwarder", function()
  -- pub (share) -> raw sub -> nml.forward -> raw pub -> two subscribers (share): the pub counts
  -- one receiver, the forwarder, but two read the buffer.
  local function fan_out()
    local front = assert(nml.socket("sub", { raw = true, recv_buffer = 64 }))
    local back = assert(nml.socket("pub", { raw = true, send_buffer = 64 }))
    local front_url = helper.listen_fresh(front, "inproc")
    local back_url = helper.listen_fresh(back, "inproc")
    assert(nml.forward(front, back))
    local subs = {}
    for i = 1, 2 do
      subs[i] = helper.socket("sub", { share = true })
      assert(subs[i]:subscribe(""))
      assert(subs[i]:dial(back_url))
    end
    local pub = helper.socket("pub", { share = true })
    assert(pub:dial(front_url))
    while pub:stats().pipes < 1 or back:stats().pipes < 2 do nml.sleep(5) end
    nml.sleep(50)
    local function close()
      for _, s in ipairs({ pub, subs[1], subs[2], front, back }) do s:close() end
    end
    return pub, subs, close
  end

  -- A pool of one buffer, "first" written in it, published and let go of by the publisher.
  local function send_first(pub)
    local pool = assert(nml.shm_pool { size = 4096, count = 1 })
    local buf = assert(pool:take())
    buf:write(0, "first")
    assert(pub:send({ buffer = buf, buffer_ud_type = "u8" }))
    buf:free()
    return pool
  end

  it("are not lent again while the second subscriber still reads them", function()
    local pub, subs, close = fan_out()
    local pool = send_first(pub)
    local a = assert(subs[1]:recv()).buffer
    local b = assert(subs[2]:recv()).buffer
    a:free()
    local again, _, code = pool:take()
    assert.is_nil(again, "lent again while a view is open")
    assert.are.equal("again", code)
    assert.are.equal("first", b:read(0, 5))
    b:free()
    assert(pool:take())
    close()
  end)

  it("read by a late subscriber after reuse are refused, never read anew", function()
    local pub, subs, close = fan_out()
    local pool = send_first(pub)
    assert(subs[1]:recv()).buffer:free()
    local reused = pool:take()
    if reused then -- lent again: the second subscriber's reference must no longer open
      reused:write(0, "SECOND")
      local v, _, code = subs[2]:recv()
      assert.is_nil(v, "the late subscriber read the buffer after it was lent again")
      assert.are.equal("gone", code)
    else
      assert.are.equal("first", assert(subs[2]:recv()).buffer:read(0, 5))
    end
    close()
  end)
end)
