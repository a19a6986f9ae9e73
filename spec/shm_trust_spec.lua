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

  it("stay the ext they are over tcp, even between two sockets with share", function()
    local pull, push = helper.pair_of("pull", "push", "tcp", { share = true })
    local buf = assert(nml.shm_alloc(4096))
    assert(push:send({ buffer = buf, buffer_ud_type = "u8" }))
    local t = assert(pull:recv())
    assert.is_true(is_reference_ext(t.buffer), "got " .. tostring(t.buffer))
    push:close()
    pull:close()
  end)

  it("that name anything but an nml buffer are refused unopened, all with one message", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -m 700 " .. dir))
    local child = assert(io.popen(string.format("%s %s/support/hostile_fds.py %s 3", helper.python, here, dir)))
    local line = child:read("*l")
    local pid = tonumber(line:match("^(%d+)"))
    local fds = {}
    for name, fd in line:gmatch("(%w+)=(%d+)") do fds[name] = tonumber(fd) end
    assert.is_truthy(pid and fds.fifo and fds.ptmx, line)

    local pull = helper.socket("pull", { share = true })
    local push = raw_sender(pull, "ipc")
    local token = string.rep("\0", 8)
    local cases = {
      fifo = forged(pid, fds.fifo, token, 4096),
      plain = forged(pid, fds.plain, token, 4096),
      directory = forged(pid, fds.dir, token, 4096),
      ptmx = forged(pid, fds.ptmx, token, 4096),
      other_memfd = forged(pid, fds.memfd, token, 4096),
      no_such_fd = forged(pid, 999, token, 4096),
      no_such_pid = forged(2 ^ 31 - 1, 3, token, 4096),
      huge_len = forged(pid, fds.memfd, token, 2 ^ 63),
    }
    -- and a real buffer of this process, named with the wrong token or length
    local real_pull = helper.socket("pull", { tagged = false, protocol = "string" })
    local real_push = helper.socket("push", { share = true })
    assert(real_push:dial(helper.listen_fresh(real_pull, "inproc")))
    local buf = assert(nml.shm_alloc(4096))
    assert(real_push:send({ buffer = buf, buffer_ud_type = "u8" }))
    local body = assert(real_pull:recv())
    local at = assert(body:find("\199\24\78", 1, true))
    local real = body:sub(at + 3, at + 26) -- the reference's 24 bytes
    local real_fd = (real:byte(5) * 2 ^ 24) + (real:byte(6) * 2 ^ 16) + real:byte(7) * 256 + real:byte(8)
    cases.wrong_token = forged(pid_of_self(), real_fd, string.rep("\1", 8), 4096)
    cases.wrong_len = forged(pid_of_self(), real_fd, real:sub(9, 16), 4095)

    local said = {}
    for name, case in pairs(cases) do
      assert(push:send(case))
      local v, err, code, raw = pull:recv()
      assert.is_nil(v, name)
      said[name] = tostring(err) .. " / " .. tostring(code)
      assert.are.equal(case:sub(3), raw, name .. ": the bytes are given back")
      assert.is_nil(err:find(tostring(pid), 1, true), name .. " names the pid: " .. err)
    end
    local first
    for name, text in pairs(said) do
      first = first or text
      assert.are.equal(first, text, name)
    end
    assert.matches("gone", first)
    assert.are.equal("fifo: not opened", child:read("*l"))
    child:close()
    os.execute("rm -r " .. dir)
    for _, s in ipairs({ push, pull, real_push, real_pull }) do s:close() end
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

  it("are not lent again while the second subscriber still reads them", function()
    local pub, subs, close = fan_out()
    local pool = assert(nml.shm_pool { size = 4096, count = 1 })
    local buf = assert(pool:take())
    buf:write(0, "first")
    assert(pub:send({ buffer = buf, buffer_ud_type = "u8" }))
    buf:free()
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
    local pool = assert(nml.shm_pool { size = 4096, count = 1 })
    local buf = assert(pool:take())
    buf:write(0, "first")
    assert(pub:send({ buffer = buf, buffer_ud_type = "u8" }))
    buf:free()
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
