-- nml.unpacker: bare MessagePack values (no frames) from a stream fed in any pieces.
local helper = require "helper"
local nml = helper.nml

local function all(u)
  local got = {}
  for v in u:values() do got[#got + 1] = v end
  return got
end

describe("nml.unpacker", function()
  it("gives each value once it is complete, and nothing before", function()
    local u = nml.unpacker()
    local data = nml.pack({ id = 1 }, "two", nil, { 3, { 4 } })
    assert(u:feed(data:sub(1, 6)))
    assert.are.same({ { id = 1 } }, all(u))
    assert.is_nil(u:next())
    assert.are.equal(1, u:pending())
    assert(u:feed(data:sub(7)))
    assert.are.same({ "two", nml.null, { 3, { 4 } } }, all(u))
    assert.are.equal(0, u:pending())
    assert(u:feed(""))
    assert.is_nil(u:next())
    assert.matches("^nml.unpacker %(0 bytes pending%)$", tostring(u))
  end)

  it("reads a 1 MiB string fed one byte at a time, each byte scanned once", function()
    -- Re-parsing the held bytes on every feed would take some 5 * 10^11 steps here.
    local big = string.rep("0123456789abcdef", 65536)
    local data = nml.pack({ blob = big, after = true })
    local u = nml.unpacker()
    local early = 0 -- values given before the last byte (plain counting: luassert is slow)
    for i = 1, #data - 1 do
      assert(u:feed(data:sub(i, i)))
      if u:next() ~= nil then early = early + 1 end
    end
    assert.are.equal(0, early)
    assert.is_nil(u:next())
    assert(u:feed(data:sub(-1)))
    local v = assert(u:next())
    assert.are.equal(big, v.blob)
    assert.is_true(v.after)
  end)

  it("refuses a value past max_size, by its claimed length or as it grows, and stays failed", function()
    local u = nml.unpacker { max_size = 100 }
    assert(u:feed(nml.pack("short")))
    local ok, err, code = u:feed(nml.pack(string.rep("x", 101)):sub(1, 3))
    assert.is_nil(ok)
    assert.are.equal("too_large", code)
    assert.matches("max_size is 100", err, 1, true)
    assert.are.equal("short", u:next()) -- what was complete before is not lost
    assert.are.same({ nil, err, "too_large" }, { u:next() })
    assert.are.same({ nil, err, "too_large" }, { u:feed(nml.pack(1)) })

    local growing = nml.unpacker { max_size = 100 }
    local items = {}
    for i = 1, 200 do items[i] = i end
    local packed, fed = nml.pack(items), 0
    repeat
      ok, err, code = growing:feed(packed:sub(fed + 1, fed + 10))
      fed = fed + 10
    until not ok
    assert.are.equal("too_large", code)
    assert.are.equal(110, fed) -- refused with the piece that passed the limit
    assert.matches("a value of 110 bytes or more", err, 1, true)
  end)

  it("bounds each value by max_size, not what is fed at once", function()
    local u = nml.unpacker { max_size = 10 }
    assert(u:feed(string.rep(nml.pack({ 1, 2 }), 1000)))
    assert.are.equal(1000, #all(u))
  end)

  it("says where bytes are malformed, and gives the values before them", function()
    local u = nml.unpacker()
    local ok, err, code = u:feed(nml.pack(1, { 2 }) .. "\145\193")
    assert.is_nil(ok)
    assert.are.equal("malformed", code)
    assert.matches("0xc1", err, 1, true)
    assert.are.equal(1, u:next())
    assert.are.same({ 2 }, u:next())
    assert.are.equal("malformed", select(3, u:next()))
    assert.has_error(function() all(u) end)

    nml.config { max_depth = 4 }
    local deep = nml.unpacker()
    nml.config { max_depth = 512 }
    local _, deep_err, deep_code = deep:feed(string.rep("\145", 5) .. "\1")
    assert.are.equal("malformed", deep_code)
    assert.matches("at byte 4 of the stream: nesting deeper than max_depth (4)", deep_err, 1, true)
    -- offsets count from the start of the stream, not of the value being read
    local _, at_err = nml.unpacker():feed("\1\2\3\146\1\193")
    assert.matches("at byte 5 of the stream: 0xc1 is never used", at_err, 1, true)
  end)

  it("holds about what it is fed, however small the values (it found 8 bytes more per value)", function()
    local data = string.rep("\1", 4 * 1024 * 1024) -- 4 Mi values of one byte
    collectgarbage()
    collectgarbage()
    local before = helper.rss_kib()
    local u = nml.unpacker()
    for i = 1, #data, 1024 * 1024 do assert(u:feed(data:sub(i, i + 1024 * 1024 - 1))) end
    collectgarbage()
    local grew = math.floor((helper.rss_kib() - before) / 1024)
    assert.is_true(grew < 20, "feeding 4 MiB grew RSS by " .. grew .. " MiB")
    local n = 0
    while u:next() ~= nil do n = n + 1 end
    assert.are.equal(#data, n)
  end)

  it("returns a value that cannot be decoded as an error with its bytes, and goes on", function()
    local u = nml.unpacker()
    local nan_key = "\129\203\127\248\0\0\0\0\0\0\1" -- {[NaN] = 1}
    assert(u:feed(nan_key .. nml.pack("next")))
    local v, err, code, raw = u:next()
    assert.is_nil(v)
    assert.are.equal("malformed", code)
    assert.matches("NaN", err)
    assert.are.equal(nan_key, raw)
    assert.are.equal("next", u:next())
  end)

  it("makes buffers of descriptors new messages, or strings when asked", function()
    local buf = nml.allocmsg(4)
    buf:write(0, "abcd")
    local data = nml.pack({ buffer = buf, buffer_ud_type = "u8" })
    local u = nml.unpacker()
    assert(u:feed(data))
    assert.are.equal("nml.msg (4 bytes)", tostring(u:next().buffer))
    local s = nml.unpacker { buffers = "string" }
    assert(s:feed(data))
    assert.are.equal("abcd", s:next().buffer)
  end)

  it("checks its arguments", function()
    assert.has_error(function() nml.unpacker { max_size = -1 } end)
    assert.has_error(function() nml.unpacker { maxsize = 1 } end)
    assert.has_error(function() nml.unpacker { buffers = "views" } end)
    assert.has_error(function() nml.unpacker():feed(1) end)
    assert.has_error(function() nml.unpacker().feed(nil, "x") end)
  end)
end)
