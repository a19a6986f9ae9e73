-- Shared buffers (nml.shm_alloc, the socket option share): a buffer crosses as a reference to
-- its memory, and the receiver maps it read-only. Each safety rule has its spec.
local helper = require "helper"
local nml = helper.nml

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local peer = string.format("env LUA_CPATH='%s;;' %s %s/support/shm_peer.lua", helper.cpath, helper.lua, here)

local function ipc_url()
  local path = os.tmpname()
  os.remove(path)
  return "ipc://" .. path .. ".ipc"
end

describe("shared buffers", function()
  it("cross as a reference on a socket with share = true: the receiver maps the same memory", function()
    local pull, push = helper.pair_of("pull", "push", "inproc")
    push:setopt("share", true)
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
    local pull, push = helper.pair_of("pull", "push", "inproc")
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
    local pull = helper.socket("pull", { recv_timeout = 10000, recv_buffer = 16 })
    local url = ipc_url()
    assert(pull:listen(url))
    local out, ok = helper.run(peer .. " send " .. url .. " 3")
    assert(ok, out)
    assert.matches("sent 3", out)
    for _ = 1, 3 do
      local v, err, code, raw = pull:recv()
      assert.is_nil(v)
      assert.are.equal("gone", code)
      assert.matches("has exited or freed it", err)
      assert.is_true(#raw > 0 and #raw < 100, "the message's bytes are given back")
    end
    pull:close()
  end)

  it("stay readable in a receiver after their sender freed them and exited", function()
    local pair = helper.socket("pair", { recv_timeout = 10000, send_timeout = 10000 })
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
    local uid = io.popen("id -u"):read("*l")
    local setpriv = io.popen("command -v setpriv"):read("*l")
    if uid ~= "0" or not setpriv then
      pending("running a receiver as another user needs root and setpriv")
      return
    end
    local url = ipc_url()
    local child = assert(io.popen("setpriv --reuid=65534 --regid=65534 --clear-groups " .. peer
      .. " receive " .. url .. " 2>&1"))
    assert.are.equal("listening", child:read("*l"))
    local push = helper.socket("push", { share = true, send_timeout = 10000 })
    assert(push:dial(url))
    local buf = assert(nml.shm_alloc(100))
    assert(push:send({ buffer = buf, buffer_ud_type = "u8" }))
    local said = child:read("*a")
    child:close()
    assert.matches("recv:%s+nil%s+the shared buffer of pid %d+ belongs to another user%s+permission", said)
    push:close()
  end)

  it("check their arguments and the option", function()
    assert.are.equal("range", select(3, nml.shm_alloc(-1)))
    assert.has_error(function() nml.shm_alloc("x") end)
    assert.has_error(function() nml.shm_alloc(1.5) end)
    assert.has_error(function() nml.socket("push", { share = "yes" }) end)
    local s = nml.socket("push")
    assert.is_false(s:getopt("share"))
    s:close()
  end)
end)
