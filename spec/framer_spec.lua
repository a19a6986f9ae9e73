local helper = require "helper"
local nml = helper.nml

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
end)
