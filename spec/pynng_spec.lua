-- Interop over NNG with a Python peer (pynng + msgpack from PyPI), over ipc, both ways.
local helper = require "helper"
local nml = helper.nml

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"

describe("a Python peer (pynng + msgpack)", function()
  it("exchanges tagged messages and a buffer descriptor with nml", function()
    local path = os.tmpname()
    os.remove(path)
    local url = "ipc://" .. path .. ".ipc"
    local sock = assert(nml.socket("pair", { recv_timeout = 15000, send_timeout = 15000 }))
    assert(sock:listen(url))
    local peer = assert(io.popen(helper.python .. " " .. here .. "/peers/pynng_peer.py " .. url .. " 2>&1", "r"))

    local sent = { id = 42, name = "frame", list = { 1, 2.5, "x" }, nested = { ok = true } }
    assert(sock:send(sent))
    local reply, protocol = sock:recv()
    assert(reply, protocol) -- on failure, protocol holds the error
    assert.are.equal("MessagePack", protocol)
    assert.are.equal("msgpack", reply.protocol)
    helper.assert_same(sent, reply.got)

    local size = 65536
    local buf = nml.allocmsg(size)
    local row = {}
    for i = 0, 250 do row[#row + 1] = string.char(i) end
    local pattern = table.concat(row)
    pattern = string.rep(pattern, math.ceil(size / #pattern)):sub(1, size)
    buf:write(0, pattern)
    assert(sock:send({ buffer = buf, buffer_ud_type = "pattern", buffer_ud_size = size }))
    local check = assert(sock:recv())
    assert.is_true(check.buffer_ok)
    assert.are.equal("pattern", check.type)
    assert.are.equal(size, check.size)
    local echoed = assert(sock:recv())
    assert.are.equal("pattern", echoed.buffer_ud_type)
    assert.are.equal("nml.msg (65536 bytes, view)", tostring(echoed.buffer))
    assert.are.equal(pattern, echoed.buffer:tostring())

    local v, p = sock:recv()
    assert.are.equal("JSON", p)
    assert.are.equal("python", v.from)
    v, p = sock:recv()
    assert.are.equal("cbor", p)
    assert.are.equal("\161\97\97\1", v)
    v, p = sock:recv()
    assert.are.equal("bare bytes", v)
    assert.is_nil(p)

    sock:close() -- the peer waits for this before it exits
    local out = peer:read("*a")
    peer:close()
    assert.matches("pynng peer: ok", out)
  end)
end)
