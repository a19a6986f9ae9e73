-- strings = "auto", the default: a Lua string that is not UTF-8 packs as MessagePack bin, so that
-- peers that read str as text (Python's msgpack with raw=False) take binary data without an
-- error. strings = "str" packs every string as str, as other Lua MessagePack libraries do.
local helper = require "helper"
local nml = helper.nml

local STR, BIN = "str", "bin"

-- The MessagePack family of the first object of `packed`: str or bin.
local function family(packed)
  local b = packed:byte(1)
  if (b >= 0xa0 and b <= 0xbf) or (b >= 0xd9 and b <= 0xdb) then return STR end
  if b >= 0xc4 and b <= 0xc6 then return BIN end
  return string.format("0x%02x", b)
end

local cases = {
  { "", STR, "empty" },
  { "plain ascii", STR, "ascii" },
  { "h\195\169llo \226\130\172 \240\159\152\128", STR, "2, 3 and 4-byte sequences" },
  { "\255\1\2", BIN, "a byte that never starts UTF-8" },
  { "\137PNG\r\n\26\n\0\0\0\rIHDR", BIN, "a PNG header" },
  { "\192\128", BIN, "an overlong NUL" },
  { "\237\160\128", BIN, "a surrogate" },
  { "\244\144\128\128", BIN, "above U+10FFFF" },
  { "ok \226\130", BIN, "a sequence cut short" },
  { string.rep("x", 40) .. "\200", BIN, "a str8-sized string ending badly" },
}

local function python_reads(packed)
  local script = "import msgpack,sys; v = msgpack.unpackb(bytes.fromhex(sys.argv[1]), raw=False); "
    .. "print(type(v).__name__)"
  local out, ok = helper.run(helper.python .. ' -c "' .. script .. '" ' .. helper.hex(packed))
  return ok and out:match("^(%a+)") or nil, out
end

describe("strings = \"auto\"", function()
  after_each(function() nml.config { strings = "auto" } end)

  it("is the default: a binary string reaches Python as bytes with no setting", function()
    assert.are.equal("auto", nml.config().strings)
    assert.are.equal(BIN, family(nml.pack("\255\0\1")))
    assert.are.equal("bytes", (python_reads(nml.pack("\255\0\1"))))
    assert.are.equal("bytes", (python_reads(nml.wrap("\255\0\1"):sub(3))))
    local a, b = helper.pair_of("pair", "pair", "inproc")
    assert.are.equal("auto", a:getopt("strings"))
    assert(a:send("\255\0\1"))
    assert.are.equal("\255\0\1", b:recv())
  end)

  it("with strings = \"str\", packs every string as str, which Python (raw=False) cannot read unless UTF-8", function()
    nml.config { strings = "str" }
    assert.are.equal("str", nml.config().strings)
    for _, case in ipairs(cases) do
      assert.are.equal(STR, family(nml.pack(case[1])), case[3])
    end
    local read, out = python_reads(nml.pack("\255\1\2"))
    assert.is_nil(read)
    assert.matches("UnicodeDecodeError", out)
  end)

  it("packs UTF-8 as str and anything else as bin, values and keys, and Python reads each", function()
    nml.config { strings = "auto" }
    for _, case in ipairs(cases) do
      local packed = nml.pack(case[1])
      assert.are.equal(case[2], family(packed), case[3])
      assert.are.equal(case[1], nml.unpack(packed), case[3])
      assert.are.equal(case[2] == STR and "str" or "bytes", (python_reads(packed)), case[3])
    end
    local t = { ["\255key"] = "\0\255", name = "n\195\163o" }
    local packed = nml.pack(t)
    assert.are.same(t, nml.unpack(packed))
    local script = "import msgpack,sys; v = msgpack.unpackb(bytes.fromhex(sys.argv[1]), raw=False); "
      .. "print(sorted((type(k).__name__, type(x).__name__) for k, x in v.items()))"
    local out, ok = helper.run(helper.python .. ' -c "' .. script .. '" ' .. helper.hex(packed))
    assert(ok, out)
    assert.are.equal("[('bytes', 'bytes'), ('str', 'str')]\n", out)
  end)

  it("sizes what it packs exactly (packsize and the one-pass send agree)", function()
    nml.config { strings = "auto" }
    for _, case in ipairs(cases) do
      assert.are.equal(#nml.pack(case[1]), nml.packsize(case[1]), case[3])
    end
    local a, b = helper.pair_of("pair", "pair", "inproc")
    local big = { frame = { buffer = nml.allocmsg(100), buffer_ud_type = "u8" }, raw = "\255", text = "ok" }
    assert(a:send(big))
    local got = assert(b:recv())
    assert.are.same({ "\255", "ok" }, { got.raw, got.text })
  end)

  it("is chosen per call and per socket, the call first, then the socket, then nml.config", function()
    local raw = "\255\254"
    nml.config { strings = "str" }
    assert.are.equal(BIN, family(nml.encode(raw, "msgpack", { strings = "auto" })))
    assert.are.equal(STR, family(nml.encode(raw)))
    assert.are.equal(BIN, family(nml.wrap(raw, nil, { strings = "auto" }):sub(3)))

    local bare = helper.socket("pull", { tagged = false, protocol = "string" })
    local url = "inproc://strings-" .. helper.next_id()
    assert(bare:listen(url))
    local sender = helper.socket("push", { tagged = false, strings = "auto" })
    assert(sender:dial(url))
    assert.are.equal("auto", sender:getopt("strings"))
    assert(sender:send(raw))
    assert.are.equal(BIN, family(bare:recv()))
    assert(sender:send(raw, nil, { strings = "str" }))
    assert.are.equal(STR, family(bare:recv()))
    sender:close()
    local plain = helper.socket("push", { tagged = false })
    assert(plain:dial(url))
    assert.are.equal("str", plain:getopt("strings"))
    nml.config { strings = "auto" }
    assert.are.equal("auto", plain:getopt("strings"))
    assert(plain:send(raw))
    assert.are.equal(BIN, family(bare:recv()))
    plain:setopt("strings", "str")
    assert(plain:send(raw))
    assert.are.equal(STR, family(bare:recv()))
  end)

  it("leaves JSON alone, and refuses other settings", function()
    nml.config { strings = "auto" }
    assert.are.equal('"ok"', nml.encode("ok", "json"))
    assert.has_error(function() nml.encode("\255", "json") end)
    local ok, err = pcall(nml.config, { strings = "bin" })
    assert.is_false(ok)
    assert.matches("bad argument #1 to '[^']*' %(strings must be \"str\" or \"auto\"%)", err)
    assert.has_error(function() nml.encode("x", "msgpack", { strings = true }) end)
    assert.has_error(function() nml.encode("x", "msgpack", { string = "auto" }) end)
    assert.has_error(function() nml.socket("pair", { strings = "yes" }) end)
  end)
end)
