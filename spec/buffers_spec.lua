-- Buffers in tables (the manual's "Buffers in tables" and "Packing into memory you provide"):
-- descriptors packed byte for byte from nml messages, other modules' full userdata and
-- lightuserdata; unpacked as messages, as views into a received message, or as strings; the
-- allocator hand-off and pack_into.
local helper = require "helper"
local nml = helper.nml
local cbuf = helper.cbuf()

-- `n` bytes of the pattern cbuf makes: byte i = (seed + 7 i) % 256.
local function pattern(n, seed)
  local bytes = {}
  for i = 0, n - 1 do bytes[#bytes + 1] = string.char((seed + 7 * i) % 256) end
  return table.concat(bytes)
end

local function message_of(s)
  local m = assert(nml.allocmsg(#s))
  assert(m:write(0, s))
  return m
end

-- The bytes `nml.pack` gives for a descriptor holding `bytes`, written by hand.
local function expected_descriptor(bytes, ud_type)
  return nml.pack(nml.map { buffer = nml.bin(bytes), buffer_ud_type = ud_type })
end

-- nml.pack(t) raises an error that says `why`.
local function refuses(t, why)
  local ok, err = pcall(nml.pack, t)
  assert.is_false(ok)
  assert.matches(why, err, 1, true)
end

describe("packing a buffer descriptor", function()
  it("writes an nml message's bytes as bin, the whole message when no size is given", function()
    local bytes = pattern(300, 1)
    local packed = nml.pack({ buffer = message_of(bytes), buffer_ud_type = "frame" })
    assert.are.equal(expected_descriptor(bytes, "frame"), packed)
  end)

  it("writes a full userdata made by another C module, all or its first n bytes", function()
    local ud = cbuf.new(1000, 3)
    local whole = nml.unpack(nml.pack({ buffer = ud, buffer_ud_type = "t", buffer_ud_size = 1000 }), 0,
      { buffers = "string" })
    assert.are.equal(pattern(1000, 3), whole.buffer)
    local part = nml.unpack(nml.pack({ buffer = ud, buffer_ud_type = "t", buffer_ud_size = 10 }), 0,
      { buffers = "string" })
    assert.are.equal(pattern(10, 3), part.buffer)
    assert.are.equal(10, part.buffer_ud_size)
  end)

  it("writes a lightuserdata's bytes with the size the caller gives", function()
    local ud = cbuf.new(64, 5)
    local t = { buffer = cbuf.light(ud), buffer_ud_type = "light", buffer_ud_size = 64 }
    local back = nml.unpack(nml.pack(t), 0, { buffers = "string" })
    assert.are.equal(pattern(64, 5), back.buffer)
  end)

  it("finds descriptors at the top, nested in maps and in arrays", function()
    local a, b = cbuf.new(5, 1), cbuf.new(7, 2)
    local value = { list = { { buffer = a, buffer_ud_type = "a", buffer_ud_size = 5 }, 2 },
      deep = { x = { buffer = b, buffer_ud_type = "b", buffer_ud_size = 7 } } }
    local back = nml.unpack(nml.pack(value), 0, { buffers = "string" })
    assert.are.equal(pattern(5, 1), back.list[1].buffer)
    assert.are.equal(2, back.list[2])
    assert.are.equal(pattern(7, 2), back.deep.x.buffer)
    local top = nml.unpack(nml.pack({ buffer = a, buffer_ud_type = "a", buffer_ud_size = 5 }, 9), 0,
      { buffers = "string" })
    assert.are.equal(pattern(5, 1), top.buffer)
  end)

  it("packs a buffer of zero bytes", function()
    local back = nml.unpack(nml.pack({ buffer = cbuf.new(4), buffer_ud_type = "e", buffer_ud_size = 0 }))
    assert.are.equal(0, #back.buffer)
  end)

  it("sizes descriptors exactly in nml.packsize", function()
    local t = { frame = { buffer = cbuf.new(70000), buffer_ud_type = "f", buffer_ud_size = 70000 }, n = 1 }
    assert.are.equal(#nml.pack(t), nml.packsize(t))
  end)

  it("refuses sizes that are negative, fractional, not numbers or past the block", function()
    local ud = cbuf.new(16)
    refuses({ buffer = ud, buffer_ud_type = "t", buffer_ud_size = -1 }, "buffer_ud_size must be a whole number")
    refuses({ buffer = ud, buffer_ud_type = "t", buffer_ud_size = 1.5 }, "buffer_ud_size must be a whole number")
    refuses({ buffer = ud, buffer_ud_type = "t", buffer_ud_size = "8" }, "buffer_ud_size must be a number")
    refuses({ buffer = ud, buffer_ud_type = "t", buffer_ud_size = 17 },
      "buffer_ud_size 17 is larger than the buffer (16 bytes)")
    refuses({ buffer = message_of("abc"), buffer_ud_type = "t", buffer_ud_size = 4 },
      "larger than the buffer (3 bytes)")
  end)

  it("refuses a lightuserdata without a size, and a freed message", function()
    refuses({ buffer = cbuf.light(cbuf.new(4)), buffer_ud_type = "t" }, "a lightuserdata needs buffer_ud_size")
    local m = message_of("abc")
    nml.freemsg(m)
    refuses({ buffer = m, buffer_ud_type = "t" }, "the message was freed")
  end)

  it("finds a descriptor in a table marked nml.map", function()
    local packed = nml.pack(nml.map { buffer = message_of("abc"), buffer_ud_type = "t" })
    assert.are.equal(expected_descriptor("abc", "t"), packed)
  end)

  it("packs nml.null under buffer as nil, so a decoded {buffer = nil} packs again", function()
    local packed = nml.pack(nml.map { buffer = nml.null, buffer_ud_type = "t" })
    local t = nml.unpack(packed)
    assert.are.equal(nml.null, t.buffer)
    local again = nml.unpack(nml.pack(t))
    assert.are.equal(nml.null, again.buffer)
    assert.are.equal("t", again.buffer_ud_type)
  end)

  it("refuses a userdata that is not in a descriptor", function()
    refuses({ data = cbuf.new(4) }, "cannot pack a userdata outside a buffer descriptor")
    refuses({ cbuf.light(cbuf.new(4)) }, "cannot pack a lightuserdata outside a buffer descriptor")
  end)
end)

describe("what makes a buffer descriptor", function()
  it("is buffer and buffer_ud_type together", function()
    refuses({ buffer = message_of("abc") }, "buffer_ud_type")
    refuses({ buffer = cbuf.new(4), buffer_ud_size = 4 }, "buffer_ud_type")
    refuses({ buffer = io.stdout }, "buffer_ud_type") -- never the bytes of a FILE handle
  end)

  it("takes a whole block without buffer_ud_size only from an nml message", function()
    refuses({ buffer = cbuf.new(16), buffer_ud_type = "t" }, "needs buffer_ud_size")
    refuses({ buffer = io.stdout, buffer_ud_type = "t" }, "needs buffer_ud_size")
    local m = message_of("abc")
    assert.are.equal(expected_descriptor("abc", "t"), nml.pack({ buffer = m, buffer_ud_type = "t" }))
  end)

  it("refuses any other buffer value, saying what to do", function()
    for _, v in ipairs { 42, true, {}, print } do
      refuses({ buffer = v, buffer_ud_type = "t" }, "a buffer descriptor's buffer must be")
    end
  end)

  if jit then
    local ffi = require "ffi"
    it("takes LuaJIT FFI arrays whole and pointers with a size, one copy each", function()
      local arr = ffi.new("uint8_t[5]", { 1, 2, 3, 4, 5 })
      local back = nml.unpack(nml.pack({ buffer = arr, buffer_ud_type = "a" }), 0, { buffers = "string" })
      assert.are.equal("\1\2\3\4\5", back.buffer)
      local p = ffi.cast("uint8_t *", arr)
      refuses({ buffer = p, buffer_ud_type = "p" }, "needs buffer_ud_size")
      back = nml.unpack(nml.pack({ buffer = p, buffer_ud_type = "p", buffer_ud_size = 3 }), 0, { buffers = "string" })
      assert.are.equal("\1\2\3", back.buffer)
      refuses({ buffer = arr, buffer_ud_type = "a", buffer_ud_size = 6 }, "larger than the buffer (5 bytes)")
    end)

    it("takes a LuaJIT string.buffer as its contents, never its internals", function()
      local sbuf = require("string.buffer").new()
      sbuf:put("hello, ", "buffer")
      local back = nml.unpack(nml.pack({ buffer = sbuf, buffer_ud_type = "s" }), 0, { buffers = "string" })
      assert.are.equal("hello, buffer", back.buffer)
      back = nml.unpack(nml.pack({ buffer = sbuf, buffer_ud_type = "s", buffer_ud_size = 5 }), 0,
        { buffers = "string" })
      assert.are.equal("hello", back.buffer)
    end)
  else
    pending("takes LuaJIT FFI cdata and string.buffer (LuaJIT only: no FFI elsewhere)")
  end
end)

describe("unpacking a buffer descriptor", function()
  it("gives the same shape back, buffer an nml message holding the bytes", function()
    local bytes = pattern(1000, 9)
    local t = nml.unpack(nml.pack({ buffer = cbuf.new(1000, 9), buffer_ud_type = "img", buffer_ud_size = 1000,
      w = 10 }))
    assert.are.equal("img", t.buffer_ud_type)
    assert.are.equal(10, t.w)
    assert.are.equal(1000, t.buffer:size())
    assert.are.equal(bytes, t.buffer:tostring())
    assert.is_true(cbuf.check(t.buffer:ptr(), 1000, 9)) -- C sees the bytes through ptr()
  end)

  it("packs what it unpacked to the same value", function()
    local packed = nml.pack({ buffer = cbuf.new(100, 4), buffer_ud_type = "x", buffer_ud_size = 100 })
    local again = nml.pack(nml.unpack(packed))
    helper.assert_same(nml.unpack(packed, 0, { buffers = "string" }),
      nml.unpack(again, 0, { buffers = "string" }))
  end)

  it("leaves bin under buffer a string when the map has no buffer_ud_type", function()
    local t = nml.unpack(nml.pack(nml.map { buffer = nml.bin("abc"), other = 1 }))
    assert.are.equal("abc", t.buffer)
  end)

  it("leaves a str buffer a string", function()
    local t = nml.unpack(nml.pack({ buffer = "text", buffer_ud_type = "x" }))
    assert.are.equal("text", t.buffer)
  end)

  it("gives strings with the buffers = 'string' option or setting", function()
    local packed = nml.pack({ buffer = cbuf.new(8, 1), buffer_ud_type = "x", buffer_ud_size = 8 })
    assert.are.equal(pattern(8, 1), nml.unpack(packed, 0, { buffers = "string" }).buffer)
    assert.are.equal(pattern(8, 1), (nml.unpack_one(packed, 0, { buffers = "string" })).buffer)
    local before = nml.config().buffers
    assert.are.equal("message", before)
    nml.config { buffers = "string" }
    local ok, t = pcall(nml.unpack, packed)
    nml.config { buffers = before }
    assert(ok, t)
    assert.are.equal("string", type(t.buffer))
    assert.has_error(function() nml.unpack(packed, 0, { buffers = "copy" }) end)
  end)

  it("reads the last of repeated buffer keys, as a table would", function()
    -- A map holding "buffer" twice (a peer may send it): the later value wins.
    local twice = "\131" .. "\166buffer\196\1a" .. "\166buffer\163str" .. "\174buffer_ud_type\161t"
    assert.are.equal("str", nml.unpack(twice).buffer)
  end)

  it("reports a truncated buffer as malformed", function()
    local packed = nml.pack({ buffer = cbuf.new(100), buffer_ud_type = "x", buffer_ud_size = 100 })
    local v, err, code = nml.unpack(packed:sub(1, 60))
    assert.is_nil(v)
    assert.are.equal("malformed", code, err)
  end)
end)

describe("views into a message", function()
  local function descriptor_message(n, seed)
    local frame = { buffer = cbuf.new(n, seed), buffer_ud_type = "f", buffer_ud_size = n }
    return message_of(nml.pack({ frame = frame, n = n }))
  end

  it("nml.unpack(msg) reads the message in place and makes the buffer a view into it", function()
    local m = descriptor_message(5000, 2)
    local t = nml.unpack(m)
    assert.are.equal("nml.msg (5000 bytes, view)", tostring(t.frame.buffer))
    assert.is_true(cbuf.check(t.frame.buffer:ptr(), 5000, 2))
    assert.are.equal(pattern(5000, 2), t.frame.buffer:tostring())
  end)

  it("keeps its bytes after freemsg of the message it is in", function()
    local m = descriptor_message(3000, 5)
    local view = nml.unpack(m).frame.buffer
    assert.are.equal(0, nml.freemsg(m))
    local _, err, code = m:size()
    assert.are.equal("freed", code, err)
    collectgarbage()
    collectgarbage()
    assert.are.equal(pattern(3000, 5), view:tostring())
    assert.is_true(cbuf.check(view:ptr(), 3000, 5))
  end)

  it("outlives the table it came in and the socket it arrived on", function()
    local a, b = helper.pair_of("pair", "pair", "inproc")
    assert(a:send({ frame = { buffer = cbuf.new(100000, 7), buffer_ud_type = "f", buffer_ud_size = 100000 } }))
    local view = assert(b:recv()).frame.buffer
    a:close()
    b:close()
    a, b = nil, nil
    collectgarbage()
    collectgarbage()
    assert.is_true(cbuf.check(view:ptr(), 100000, 7))
    assert.are.equal(100000, #view)
  end)

  it("writes into its own range of the shared message", function()
    local m = descriptor_message(10, 0)
    local view = nml.unpack(m).frame.buffer
    assert(view:write(0, "ZZ"))
    local _, _, code = view:write(9, "ZZ")
    assert.are.equal("range", code)
    assert.matches("ZZ", m:tostring(), 1, true)
  end)

  it("is copied once when sent with NN_MSG, and the message it is in stays usable", function()
    local a, b = helper.pair_of("pair", "pair", "inproc")
    local m = descriptor_message(1000, 3)
    local view = nml.unpack(m).frame.buffer
    assert.are.equal(0, nml.send(a, view, 0, nml.NN_MSG))
    local got = assert(nml.recv(b, 0))
    assert.are.equal(pattern(1000, 3), got)
    local _, _, code = view:size()
    assert.are.equal("freed", code)
    assert.are.equal("table", type(nml.unpack(m)))
    -- The message itself, its views still alive, is sent whole.
    assert.are.equal(0, nml.send(a, m, 0, nml.NN_MSG))
    assert.are.equal(1000, #nml.unpack((assert(nml.recv(b, 0)))).frame.buffer)
    a:close()
    b:close()
  end)

  it("becomes a message of its own on reallocmsg", function()
    local view = nml.unpack(descriptor_message(10, 1)).frame.buffer
    assert(nml.reallocmsg(view, 4))
    assert.are.equal("nml.msg (4 bytes)", tostring(view))
    assert.are.equal(pattern(4, 1), view:tostring())
  end)

  it("arrives as a view over inproc, ipc and tcp, through sock:recv and nml.recv + nml.unpack", function()
    for _, transport in ipairs { "inproc", "ipc", "tcp" } do
      local push, pull = helper.pair_of("push", "pull", transport)
      local size = 1024 * 1024
      local frame = cbuf.new(size, 11)
      assert(push:send({ frame = { buffer = frame, buffer_ud_type = "gray8", buffer_ud_size = size }, seq = 1 }))
      assert(push:send({ frame = { buffer = frame, buffer_ud_type = "gray8", buffer_ud_size = size }, seq = 2 }))
      local t = assert(pull:recv())
      assert.are.equal(1, t.seq)
      assert.is_true(cbuf.check(t.frame.buffer:ptr(), size, 11), transport)
      local msg, bytes, protocol = nml.recv(pull, 0, nil, nml.NN_MSG)
      assert.are.equal("MessagePack", protocol)
      assert.are.equal(bytes, #msg)
      t = nml.unpack(msg)
      assert.are.equal(2, t.seq)
      assert.are.equal("nml.msg (1048576 bytes, view)", tostring(t.frame.buffer))
      assert.is_true(cbuf.check(t.frame.buffer:ptr(), size, 11), transport)
      push:close()
      pull:close()
    end
  end)

  it("gives strings on sock:recv{buffers = 'string'}", function()
    local a, b = helper.pair_of("pair", "pair", "inproc")
    assert(a:send({ buffer = cbuf.new(10, 1), buffer_ud_type = "x", buffer_ud_size = 10 }))
    local t = assert(b:recv({ buffers = "string" }))
    assert.are.equal(pattern(10, 1), t.buffer)
    a:close()
    b:close()
  end)

  it("lets the collector free received messages once their views are gone", function()
    local a, b = helper.pair_of("pair", "pair", "inproc")
    local frame = cbuf.new(1024 * 1024, 1)
    local keep
    local before
    for i = 1, 300 do -- 300 MiB in total; only the last view is kept
      assert(a:send({ frame = { buffer = frame, buffer_ud_type = "f", buffer_ud_size = 1024 * 1024 } }))
      keep = assert(b:recv()).frame.buffer
      if i == 20 then before = helper.rss_kib() end
    end
    local growth = helper.rss_kib() - before
    assert(growth < 200 * 1024, "RSS grew by " .. growth .. " KiB")
    assert.is_true(cbuf.check(keep:ptr(), 1024 * 1024, 1))
    a:close()
    b:close()
  end)
end)

describe("the allocator hand-off", function()
  local nml_allocator = { malloc = nml.allocmsg, realloc = nml.reallocmsg, free = nml.freemsg }

  -- An allocator over nml messages that counts what it hands out and gets back.
  local function counting(fail)
    local a = { live = 0, calls = {} }
    local function note(name) a.calls[#a.calls + 1] = name end
    a.malloc = function(n)
      note("malloc")
      if fail == "malloc" then return nil, "no memory for you" end
      if fail == "malloc-raises" then error("malloc exploded") end
      a.live = a.live + 1
      return nml.allocmsg(fail == "short" and 1 or n)
    end
    a.realloc = function(m, n)
      note("realloc")
      if fail == "short" then return nil, "cannot grow" end
      return nml.reallocmsg(m, n)
    end
    a.free = function(m)
      note("free")
      a.live = a.live - 1
      return nml.freemsg(m)
    end
    return a
  end

  it("packs straight into the message malloc returns: msg, bytes", function()
    local value = { frame = { buffer = cbuf.new(4096, 6), buffer_ud_type = "f", buffer_ud_size = 4096 }, id = 1 }
    local msg, bytes = nml.pack(value, "second", nml_allocator)
    assert.are.equal("nml.msg (" .. bytes .. " bytes)", tostring(msg))
    assert.are.equal(nml.packsize(value, "second"), bytes)
    assert.are.equal(nml.pack(value, "second"), msg:tostring())
    local t, second = nml.unpack(msg)
    assert.are.equal("second", second)
    assert.is_true(cbuf.check(t.frame.buffer:ptr(), 4096, 6))
  end)

  it("writes maps of 16 entries or more exactly as nml.pack does", function()
    local value = { frame = { buffer = cbuf.new(1000, 1), buffer_ud_type = "f", buffer_ud_size = 1000 } }
    for i = 1, 40 do value["k" .. i] = i end
    value.inner = {}
    for i = 1, 300 do value.inner["j" .. i] = { i, i } end
    value.list = { { a = 1 }, 2, { b = 3 } }
    value.sparse = { { a = 1 }, { b = 2 }, [5] = { c = 3 } } -- tried as an array, then a map
    local msg = nml.pack(value, nml_allocator)
    assert.are.equal(nml.pack(value), msg:tostring())
  end)

  it("calls malloc once with the exact size, and neither realloc nor free", function()
    local a = counting()
    local msg, bytes = nml.pack({ 1, 2, 3 }, a)
    assert.are.equal(4, bytes)
    assert.are.same({ "malloc" }, a.calls)
    assert.are.equal(4, #msg)
  end)

  it("works with any functions of the same contract, here full userdata from C", function()
    local cbuf_allocator = {
      malloc = function(n) return cbuf.new(n) end,
      realloc = function() error("not needed") end,
      free = function() end,
    }
    local ud, bytes = nml.pack({ a = "b" }, cbuf_allocator)
    assert.are.equal("userdata", type(ud))
    assert.are.equal(nml.pack({ a = "b" }), cbuf.tostring(ud, bytes))
  end)

  it("returns nil, err, 'nomem' when malloc fails, and frees nothing", function()
    local a = counting("malloc")
    local v, err, code = nml.pack({ 1 }, a)
    assert.is_nil(v)
    assert.are.equal("nomem", code)
    assert.matches("no memory for you", err, 1, true)
    assert.are.same({ "malloc" }, a.calls)
  end)

  it("turns an error raised by malloc into nil, err, 'nomem'", function()
    local v, err, code = nml.pack({ 1 }, counting("malloc-raises"))
    assert.is_nil(v)
    assert.are.equal("nomem", code)
    assert.matches("malloc exploded", err, 1, true)
  end)

  it("grows a short block with realloc, and frees it when realloc fails", function()
    local a = counting("short")
    local v, err, code = nml.pack({ 1, 2, 3 }, a)
    assert.is_nil(v)
    assert.are.equal("nomem", code, err)
    assert.are.same({ "malloc", "realloc", "free" }, a.calls)
    assert.are.equal(0, a.live)
  end)

  it("raises for a value that cannot be packed before calling malloc", function()
    local a = counting()
    assert.has_error(function() nml.pack({ f = print }, a) end)
    assert.are.same({}, a.calls)
  end)

  it("leaks nothing over many failing packs", function()
    local a = counting("short")
    for _ = 1, 1000 do
      assert.is_nil((nml.pack({ string.rep("x", 65536) }, a)))
    end
    assert.are.equal(0, a.live)
  end)
end)

describe("nml.pack_into", function()
  it("packs into an existing message, growing it", function()
    local m = nml.allocmsg(1)
    local same, bytes = nml.pack_into(m, { hello = "world" }, 2)
    assert.are.equal(m, same)
    assert.are.equal(nml.packsize({ hello = "world" }, 2), bytes)
    assert.are.equal(bytes, #m)
    local t, two = nml.unpack(m)
    assert.are.equal("world", t.hello)
    assert.are.equal(2, two)
  end)

  it("shrinks a larger message to the packed size", function()
    local m = nml.allocmsg(1000)
    local _, bytes = nml.pack_into(m, 1)
    assert.are.equal(1, bytes)
    assert.are.equal(1, #m)
  end)

  it("returns 'freed' for a freed message and raises for a non-message", function()
    local m = nml.allocmsg(4)
    nml.freemsg(m)
    local v, _, code = nml.pack_into(m, 1)
    assert.is_nil(v)
    assert.are.equal("freed", code)
    assert.has_error(function() nml.pack_into("string", 1) end)
    assert.has_error(function() nml.pack_into(nml.allocmsg(1)) end)
  end)

  it("raises for #msg of a freed message, which an operator cannot return as an error", function()
    local m = nml.allocmsg(4)
    assert.are.equal(4, #m)
    nml.freemsg(m)
    local v, err, code = m:size()
    assert.is_nil(v)
    assert.are.equal("freed", code, err)
    local ok, raised = pcall(function() return #m + 1 end)
    assert.is_false(ok)
    assert.matches("#msg: the message was freed", raised, 1, true)
  end)

  it("refuses to pack a message into itself", function()
    local m = nml.allocmsg(4)
    local ok, err = pcall(nml.pack_into, m, { buffer = m, buffer_ud_type = "self" })
    assert.is_false(ok)
    assert.matches("in use", err, 1, true)
  end)
end)
