local helper = require "helper"
local nml = helper.nml
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"

local function collect(f)
  local out = {}
  for payload in f:messages() do out[#out + 1] = payload end
  return out
end

describe("nml.frame / nml.framer: length-prefixed byte streams", function()
  it("puts a 4-byte big-endian length in front of the payload", function()
    assert.are.equal("00000003616263", helper.hex(nml.frame("abc")))
    assert.are.equal("00000000", helper.hex(nml.frame("")))
    assert.are.equal("00010000", helper.hex(nml.frame(string.rep("x", 65536))):sub(1, 8))
  end)

  it("gives back every payload whatever the chunking", function()
    local payloads = { "", "a", nml.pack({ 1, 2, 3 }), string.rep("z", 1000), nml.pack({ k = "v" }) }
    local parts = {}
    for i, p in ipairs(payloads) do parts[i] = nml.frame(p) end
    local stream = table.concat(parts)
    for _, chunk_size in ipairs { 1, 2, 3, 5, 7, 64, #stream } do
      local f = nml.framer()
      local got = {}
      for i = 1, #stream, chunk_size do
        assert.is_true(f:feed(stream:sub(i, i + chunk_size - 1)))
        for _, p in ipairs(collect(f)) do got[#got + 1] = p end
      end
      assert.are.same(payloads, got)
      assert.are.equal(0, f:pending())
    end
  end)

  it("holds an incomplete frame until the rest arrives", function()
    local f = nml.framer()
    local framed = nml.frame("hello")
    f:feed(framed:sub(1, 6))
    assert.are.same({}, collect(f))
    assert.are.equal(6, f:pending())
    f:feed(framed:sub(7))
    assert.are.same({ "hello" }, collect(f))
  end)

  it("holds about twice the frame it assembles, even fed one byte at a time", function()
    local frame = nml.frame(string.rep("x", 1024 * 1024))
    local f = nml.framer()
    local sub = string.sub
    local peak = helper.peak_held(#frame, 65536, function(i) f:feed(sub(frame, i, i)) end)
    local ratio = peak / #frame
    assert.is_true(ratio < 4, string.format("held %.1f times the frame", ratio))
    assert.are.equal(1024 * 1024, #f:messages()())
  end)

  it("refuses a frame over max_size before allocating it, and stays failed", function()
    local f = nml.framer { max_size = 10 }
    local ok, err, code = f:feed("\255\255\255\255")
    assert.is_nil(ok)
    assert.are.equal("too_large", code)
    assert.matches("4294967295 bytes announced, max_size is 10", err)
    ok, err, code = f:feed(nml.frame("ok"))
    assert.is_nil(ok)
    assert.are.equal("too_large", code)
    local g = nml.framer { max_size = 10 }
    assert.is_true(g:feed(nml.frame(string.rep("x", 10))))
    assert.are.equal(1, #collect(g))
    assert.is_nil((g:feed(nml.frame(string.rep("x", 11)))))
  end)

  it("defaults max_size to 64 MiB and checks its arguments", function()
    assert.are.equal(64 * 1024 * 1024, nml.framer().max_size)
    assert.has_error(function() nml.frame({}) end, "bad argument #1 to 'frame' (string expected, got table)")
    assert.has_error(function() nml.framer { max_size = -1 } end)
    assert.has_error(function() nml.framer("x") end)
    assert.has_error(function() nml.framer():feed({}) end)
  end)

  it("carries MessagePack values through a pipe to another process", function()
    local values = { { id = 1, name = "a" }, { 1, 2, 3 }, "last" }
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    for _, v in ipairs(values) do f:write(nml.frame(nml.pack(v))) end
    f:close()
    -- the child reads the stream from stdin in 3-byte reads and prints what it decoded
    local child = [[
      local nml = require "nml"
      local f = nml.framer()
      while true do
        local chunk = io.read(3)
        if not chunk then break end
        assert(f:feed(chunk))
        for payload in f:messages() do io.write(nml.encode(nml.unpack(payload), "json"), "\n") end
      end]]
    local out, ok = helper.run(string.format("LUA_CPATH='%s;;' %s -e '%s' < %s",
      helper.cpath, helper.lua, child:gsub("'", "'\\''"), path))
    os.remove(path)
    assert(ok, out)
    assert.matches('{"[a-z]+":[^\n]*}\n%[1,2,3%]\n"last"\n', out)
  end)

  describe("typed frames", function()
    local peer = here .. "/peers/typed_frames.py"

    it("put a type byte after the length, from a byte or a protocol name", function()
      assert.are.equal("\0\0\0\2\1ab", nml.frame("ab", { type = 1 }))
      assert.are.equal("\0\0\0\2\1ab", nml.frame("ab", { type = "msgpack" }))
      assert.are.equal("\0\0\0\0\0", nml.frame("", { type = "JSON" }))
      assert.are.equal("\0\0\0\2ab", nml.frame("ab", {}))
      assert.has_error(function() nml.frame("x", { type = "string" }) end,
        "bad argument #2 to 'frame' (protocol string has no frame type)")
      assert.has_error(function() nml.frame("x", { type = 256 }) end)
      assert.has_error(function() nml.frame("x", { type = "yaml" }) end)
      assert.has_error(function() nml.frame("x", { typ = 1 }) end)
      assert.has_error(function() nml.framer { type_byte = 1 } end)
    end)

    it("read a Python peer's struct.pack('>IB', len, type) frames in any chunking", function()
      nml.register_protocol("arrow-ipc", { frame_type = 2,
        encode = function(s) return s end, decode = function(s) return s end })
      local out, ok = helper.run(helper.python .. " " .. peer .. " write")
      assert(ok, out)
      for _, chunk_size in ipairs({ 1, 2, 3, 7, #out }) do
        local f = nml.framer { type_byte = true }
        for at = 1, #out, chunk_size do assert(f:feed(out:sub(at, at + chunk_size - 1))) end
        local got = {}
        for payload, protocol in f:messages() do got[#got + 1] = { payload, protocol } end
        assert.are.equal(4, #got)
        assert.are.equal(0, f:pending())
        assert.are.same({ "JSON", "MessagePack", "arrow-ipc", "#3" },
          { got[1][2], got[2][2], got[3][2], got[4][2] })
        assert.are.same({ from = "python", list = { 1, 2 } }, nml.decode(got[1][1], got[1][2]))
        assert.are.same({ id = 7, blob = "\0\255" }, nml.decode(got[2][1], got[2][2]))
        assert.are.equal("ARROW1\0\0", nml.decode(got[3][1], got[3][2]))
        assert.are.equal("\147NUMPY\1\0", got[4][1])
      end
      assert.are.same({ "arrow-ipc", 2 }, { nml.protocol(2) })
    end)

    it("are read by the Python peer", function()
      local path = os.tmpname()
      local f = assert(io.open(path, "wb"))
      f:write(nml.frame(nml.pack({ n = 1 }), { type = "MessagePack" }),
        nml.frame(nml.encode({ 1, 2 }, "json"), { type = 0 }),
        nml.frame("\1\2", { type = 3 }))
      f:close()
      local out, ok = helper.run(helper.python .. " " .. peer .. " read < " .. path)
      os.remove(path)
      assert(ok, out)
      assert.are.equal('1 {"n": 1}\n0 [1, 2]\n3 0102\n', out)
    end)

    it("refuse a frame over max_size by its length, the type byte apart", function()
      local f = nml.framer { type_byte = true, max_size = 4 }
      assert(f:feed(nml.frame("1234", { type = 1 })))
      assert.are.equal("1234", f:messages()())
      local ok, err, code = f:feed(nml.frame("12345", { type = 1 }))
      assert.is_nil(ok)
      assert.are.equal("too_large", code)
      assert.matches("frame of 5 bytes announced, max_size is 4", err, 1, true)
    end)
  end)
end)
