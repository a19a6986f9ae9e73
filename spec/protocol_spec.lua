local helper = require "helper"
local nml = helper.nml

describe("nml.protocol: loose names", function()
  it("resolves every alias of the contract to its canonical name", function()
    local aliases = {
      MessagePack = { "MessagePack", "messagepack", "msgpack", "MSGPACK", "lua-messagepack",
        "lua-cmessagepack", "cmsgpack", "lua-cmsgpack", "mpack", "Msg_Pack" },
      JSON = { "json", "JSON", "cjson", "lua-cjson", "dkjson", "lua_cjson" },
      string = { "string", "raw", "bytes", "binary", "text", "RAW" },
    }
    for canonical, names in pairs(aliases) do
      for _, name in ipairs(names) do
        assert.are.equal(canonical, nml.protocol(name), name)
      end
    end
  end)

  it("returns nil, message, 'unknown_protocol' for an unknown name", function()
    local v, err, code = nml.protocol("cbor")
    assert.is_nil(v)
    assert.matches('unknown protocol "cbor"', err)
    assert.are.equal("unknown_protocol", code)
    v, err, code = nml.encode({}, "nope")
    assert.is_nil(v)
    assert.are.equal("unknown_protocol", code)
    v, err, code = nml.decode("x", "nope")
    assert.is_nil(v)
    assert.are.equal("unknown_protocol", code)
  end)

  it("raises when the name is not a string or a frame type", function()
    assert.has_error(function() nml.protocol({}) end)
    assert.has_error(function() nml.protocol(1.5) end)
    assert.has_error(function() nml.encode({}, {}) end)
  end)

  it("gives the frame type of a protocol, and the protocol of a frame type", function()
    assert.are.same({ "JSON", 0 }, { nml.protocol("cjson") })
    assert.are.same({ "MessagePack", 1 }, { nml.protocol(1) })
    assert.are.same({ "string" }, { nml.protocol("raw") })
    local v, err, code = nml.protocol(300)
    assert.is_nil(v)
    assert.matches("no protocol has frame type 300", err, 1, true)
    assert.are.equal("unknown_protocol", code)
    assert.are.equal("unknown_protocol", select(3, nml.protocol(9)))
    nml.register_protocol("tensor", { encode = tostring, decode = tostring, frame_type = 9 })
    assert.are.same({ "tensor", 9 }, { nml.protocol(9) })
    assert.has_error(function()
      nml.register_protocol("other", { encode = tostring, decode = tostring, frame_type = 9 })
    end)
    nml.register_protocol("tensor", { encode = tostring, decode = tostring, frame_type = 10 })
    assert.are.same({ "tensor", 10 }, { nml.protocol(10) })
    assert.is_nil(nml.protocol(9))
    for _, bad in ipairs({ 0, 1, 256, 2.5, "2" }) do
      assert.has_error(function()
        nml.register_protocol("bad", { encode = tostring, decode = tostring, frame_type = bad })
      end)
    end
  end)
end)

describe("nml.encode / nml.decode", function()
  it("uses MessagePack when no protocol is given", function()
    assert.are.equal(nml.pack({ 1, 2 }), nml.encode({ 1, 2 }))
    helper.assert_same({ 1, 2 }, nml.decode(nml.pack({ 1, 2 })))
  end)

  it("carries strings as they are with the string protocol", function()
    assert.are.equal("\0\255abc", nml.encode("\0\255abc", "raw"))
    assert.are.equal("\0\255abc", nml.decode("\0\255abc", "bytes"))
    assert.has_error(function() nml.encode({}, "string") end)
  end)

  it("round-trips JSON values with exact numbers and strings", function()
    local v = {
      int = 9007199254740993, neg = -42, float = 0.1, tiny = 5e-324, big = 1.7976931348623157e308,
      str = "héllo \"quoted\" \\ \n\t\1 日本語 🎉", list = { 1, "two", true, false, nml.null },
      nested = { a = { b = { c = {} } } }, empty_map = nml.map {},
    }
    if not helper.has_int64 then v.int = 9007199254740992 end
    local text = nml.encode(v, "json")
    local back = nml.decode(text, "json")
    helper.assert_same(v, back)
    assert.are.equal("[]", nml.encode({}, "json"))
    assert.are.equal("{}", nml.encode(nml.map {}, "json"))
    assert.are.equal("null", nml.encode(nml.null, "json"))
    assert.is_nil(nml.decode("null", "json"))
    assert.are.equal('{"10":1}', nml.encode({ [10] = 1 }, "json"))
    if helper.has_int64 then
      assert.are.equal("9223372036854775807", nml.encode(math.maxinteger, "json"))
      assert.are.equal(math.mininteger, nml.decode("-9223372036854775808", "json"))
      assert.are.equal("1.0", nml.encode(1.0, "json"))
      assert.are.equal("float", math.type(nml.decode("1.0", "json")))
    end
  end)

  it("reports invalid UTF-8 and values JSON cannot hold", function()
    local ok, err = pcall(nml.encode, { s = "\255" }, "json")
    assert.is_false(ok)
    assert.matches("not valid UTF%-8", err)
    ok, err = pcall(nml.encode, { 0 / 0 }, "json")
    assert.is_false(ok)
    assert.matches("no JSON form", err)
    ok, err = pcall(nml.encode, { f = print }, "json")
    assert.matches("function value has no JSON form", err)
    local t = {}
    t[1] = t
    ok, err = pcall(nml.encode, t, "json")
    assert.matches("cycle", err)
    local v, msg, code = nml.decode('"\255"', "json")
    assert.is_nil(v)
    assert.are.equal("malformed", code)
    assert.matches("malformed JSON", msg)
  end)

  it("returns 'malformed' for bad JSON, trailing garbage and deep nesting", function()
    for _, text in ipairs { "", "[1,", "{\"a\"}", "[1] x", "nul", string.rep("[", 600) .. string.rep("]", 600) } do
      local v, msg, code = nml.decode(text, "json")
      assert.is_nil(v)
      assert.are.equal("malformed", code, text)
      assert.is_string(msg)
    end
  end)
end)

describe("nml.register_protocol", function()
  local function register_upper()
    return nml.register_protocol("upper", {
      encode = function(v) return string.upper(v) end,
      decode = function(s) return string.lower(s) end,
      aliases = { "shout", "lua-loud" },
    })
  end

  it("registers a protocol usable by name and alias", function()
    assert.are.equal("upper", register_upper())
    assert.are.equal("upper", nml.protocol("UPPER"))
    assert.are.equal("upper", nml.protocol("shout"))
    assert.are.equal("upper", nml.protocol("loud"))
    assert.are.equal("ABC", nml.encode("abc", "shout"))
    assert.are.equal("abc", nml.decode("ABC", "upper"))
  end)

  it("propagates errors of its functions", function()
    nml.register_protocol("fragile", {
      encode = function() error("cannot encode this") end,
      decode = function() error("cannot decode this") end,
    })
    local ok, err = pcall(nml.encode, 1, "fragile")
    assert.is_false(ok)
    assert.matches("cannot encode this", err)
    local v, msg, code = nml.decode("x", "fragile")
    assert.is_nil(v)
    assert.matches("cannot decode this", msg)
    assert.are.equal("malformed", code)
    nml.register_protocol("badtype", { encode = function() return {} end, decode = tostring })
    ok, err = pcall(nml.encode, 1, "badtype")
    assert.matches("returned a table value, not a string", err)
    -- a decode function that reports failure as Lua functions do: nil, message
    nml.register_protocol("polite", { encode = tostring, decode = function() return nil, "not mine" end })
    v, msg, code = nml.decode("x", "polite")
    assert.is_nil(v)
    assert.matches("protocol polite: decode failed: not mine", msg, 1, true)
    assert.are.equal("malformed", code)
    local a, b = helper.pair_of("pair", "pair", "inproc")
    assert(a:send("x", "polite"))
    local got, got_msg, got_code = b:recv()
    assert.is_nil(got)
    assert.are.equal("malformed", got_code)
    assert.matches("not mine", got_msg, 1, true)
    a:close()
    b:close()
  end)

  it("refuses to redefine a built-in name and checks its arguments", function()
    assert.has_error(function()
      nml.register_protocol("cjson", { encode = tostring, decode = tostring })
    end)
    assert.has_error(function() nml.register_protocol("x", { encode = tostring }) end)
    assert.has_error(function() nml.register_protocol("x", "nope") end)
    assert.has_error(function()
      nml.register_protocol("x", { encode = tostring, decode = tostring, aliases = { 1 } })
    end)
  end)

  it("replaces a protocol registered again under its name", function()
    register_upper()
    nml.register_protocol("upper", { encode = function(v) return v .. "!" end, decode = tostring })
    assert.are.equal("a!", nml.encode("a", "upper"))
  end)
end)

describe("protocol names: printable ASCII, 1 to 255 bytes", function()
  local fns = { encode = tostring, decode = tostring }
  local function options(aliases)
    return { encode = tostring, decode = tostring, aliases = aliases }
  end

  it("are what register_protocol takes, for names and aliases", function()
    for _, name in ipairs({ "arrow-ipc", "x.y_z+1", "A~!", "memory-test", string.rep("n", 255) }) do
      assert.are.equal(name, nml.register_protocol(name, fns))
    end
    local bad = { "\27]0;OWNED\7\27[2J\27[31m", "k\193v", "two words", "caf\195\169", "tab\t", "del\127",
      "\194\155x", " lead" }
    for _, name in ipairs(bad) do
      local ok, err = pcall(nml.register_protocol, name, fns)
      assert.is_false(ok, helper.hex(name))
      assert.matches("printable", err, 1, true)
      assert.is_nil(err:find("\27", 1, true), err) -- the error names it escaped
      ok, err = pcall(nml.register_protocol, "fine", options({ name }))
      assert.is_false(ok, helper.hex(name))
      assert.matches("printable", err, 1, true)
    end
    assert.has_error(function() nml.register_protocol("", fns) end)
    assert.has_error(function() nml.register_protocol(string.rep("n", 256), fns) end)
  end)

  it("are what an envelope may name: others are malformed, the body kept", function()
    local bodies = {
      "\193\0\0payload",                          -- a name of 0 bytes
      "\193\0\5\27[2Jpayload",                    -- ESC
      "\193\0\3k\193vpayload",                     -- 0xC1
      "\193\0\3a bpayload",                        -- a space
      "\193\0\2\194\155payload",                   -- U+009B, valid UTF-8
      "topic\193\0\0payload",                     -- with a topic
    }
    for _, body in ipairs(bodies) do
      local v, err, code, raw = nml.unwrap(body)
      assert.is_nil(v, helper.hex(body))
      assert.are.equal("malformed", code, helper.hex(body))
      assert.matches("malformed envelope", err, 1, true)
      assert.is_nil(err:find("[%c\128-\255]"), err)
      assert.are.equal(body, raw)
    end
    assert.are.same({ "payload", "cbor" }, { nml.unwrap("\193\0\4cborpayload") })
    -- the same through a socket
    local bare, tagged = helper.pair_of("pair", "pair", "inproc")
    bare:setopt("tagged", false)
    for _, body in ipairs(bodies) do
      if body:sub(1, 1) == "\193" then
        assert(bare:send(body, "string"))
        local v, _, code, raw = tagged:recv()
        assert.is_nil(v)
        assert.are.same({ "malformed", body }, { code, raw })
      end
    end
    bare:close()
    tagged:close()
  end)
end)
