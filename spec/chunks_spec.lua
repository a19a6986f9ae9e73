-- Streamed replies (nml.send_chunks, nml.chunks) between nml sockets, over nml.stream, and
-- with a Python peer using the companion's counterpart.
local helper = require "helper"
local nml = helper.nml

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"

-- Two connected pair sockets in this process, with room for whole streams in their queues.
local function pair(options)
  options = options or {}
  options.send_buffer, options.recv_buffer = 256, 256
  return helper.pair_of("pair", "pair", "inproc", options)
end

local function collect(iterator)
  local got = {}
  for data, seq in iterator do got[#got + 1] = { data, seq } end
  return got
end

-- Parts written as a peer might write them, byte for byte (so that 1.0 stays a float and a bin
-- a bin, whatever this Lua would pack): tagged MessagePack maps of pre-packed values.
local function str(s) return string.char(0xa0 + #s) .. s end
local function part(fields)
  local out = { string.char(0x80 + #fields) }
  for _, f in ipairs(fields) do out[#out + 1] = str(f[1]) .. f[2] end
  return "\193\001" .. table.concat(out)
end
local FLOAT_ONE, FLOAT_ZERO = "\203\063\240\000\000\000\000\000\000", "\203" .. string.rep("\000", 8)
local INT64_MAX = "\211\127" .. string.rep("\255", 7)       -- 9223372036854775807
local UINT64_MAX = "\207" .. string.rep("\255", 8)           -- 18446744073709551615
local TWO_53_PLUS_1 = "\207\000\032\000\000\000\000\000\001" -- 9007199254740993
local TWO_53 = "\207\000\032\000\000\000\000\000\000"
local function start_of(id) return part { { "stream", id }, { "part", str "start" } } end
local function chunk_of(id, seq)
  return part { { "stream", id }, { "part", str "chunk" }, { "seq", seq }, { "data", str "x" } }
end
local function end_of(id, count) return part { { "stream", id }, { "part", str "end" }, { "count", count } } end

-- An nml.stream that reads `bytes`, then says "closed".
local function reading(bytes)
  local at = 1
  return nml.stream({
    send = function() return nil, "closed" end,
    receive = function(_, n)
      local piece = bytes:sub(at, at + n - 1)
      at = at + n
      if #piece < n then return nil, "closed" end
      return piece
    end,
  })
end

-- An nml.stream that reads these bodies, then says "closed".
local function stream_of(bodies)
  local frames = {}
  for i, body in ipairs(bodies) do frames[i] = nml.frame(body) end
  return reading(table.concat(frames))
end

-- What nml.chunks makes of these bodies: the data of each chunk, then what ended the loop (true
-- for the end part, or the message and code of the failure).
local function read_parts(bodies, options)
  options = options or {}
  options.errors = "return"
  local reply = nml.chunks(stream_of(bodies), options)
  local got = {}
  for data in reply do got[#got + 1] = data end
  local ok, err, code = reply:result()
  return got, ok, err, code
end

-- Lua 5.3 and later tell floats from integers; LuaJIT has exact 64-bit integers (as cdata).
local has_subtypes = math.type ~= nil
local exact_int64 = math.type ~= nil or jit ~= nil

describe("streamed replies", function()
  it("are refused at once on sockets and contexts that answer a request with one message", function()
    for _, kind in ipairs { "req", "rep", "surveyor", "respondent" } do
      local sock = helper.socket(kind)
      for _, x in ipairs { sock, sock:context() } do
        for func, call in pairs { send_chunks = function() nml.send_chunks(x, { 1, 2 }) end,
                                  chunks = function() nml.chunks(x) end } do
          local ok, err = pcall(call)
          assert.is_false(ok)
          assert.equals("bad argument #1 to '" .. func .. "' (a " .. kind .. " socket carries one reply per "
            .. "request: stream over pair, push/pull or nml.stream)", (err:gsub("^[^:]*:%d+: ", "")))
        end
      end
    end
  end)

  it("send a list or an iterator's values as start, chunks and end, read back in order", function()
    local a, b = pair()
    assert(nml.send_chunks(a, { "one", { two = 2 }, 3 }, { id = "r1", meta = { rows = 3 } }))
    local seen_meta
    local got = {}
    for data, seq, meta in nml.chunks(b, { id = "r1" }) do
      got[seq] = data
      seen_meta = meta
    end
    assert.are.same({ "one", { two = 2 }, 3 }, got)
    assert.are.same({ rows = 3 }, seen_meta)

    local i = 0
    assert(nml.send_chunks(a, function() i = i + 1; if i <= 5 then return i * 10 end end, { protocol = "json" }))
    assert.are.same({ { 10, 1 }, { 20, 2 }, { 30, 3 }, { 40, 4 }, { 50, 5 } }, collect(nml.chunks(b)))
    assert(nml.send_chunks(a, {}))
    assert.are.same({}, collect(nml.chunks(b)))
    a:close()
    b:close()
  end)

  it("turn a producer's error into an error part, which the iterator raises or returns", function()
    local a, b = pair()
    local n = 0
    local ok, err, code = nml.send_chunks(a, function()
      n = n + 1
      if n > 2 then error("disk full", 0) end
      return n
    end)
    assert.is_nil(ok)
    assert.are.same({ "disk full", "stream_error" }, { err, code })
    local got = {}
    local raised, message = pcall(function()
      for data in nml.chunks(b) do got[#got + 1] = data end
    end)
    assert.is_false(raised)
    assert.are.same({ 1, 2 }, got)
    assert.matches("failed after 2 chunks: disk full", message, 1, true)

    n = 0
    nml.send_chunks(a, function()
      n = n + 1
      if n > 1 then error("again", 0) end
      return n
    end)
    local next_chunk = nml.chunks(b, { errors = "return" })
    assert.are.equal(1, (next_chunk()))
    local data, why, why_code = next_chunk()
    assert.is_nil(data)
    assert.are.equal("stream_error", why_code)
    assert.matches("failed after 1 chunks: again", why, 1, true)
    assert.are.equal("stream_error", select(3, next_chunk())) -- it stays ended
    a:close()
    b:close()
  end)

  it("say when parts come out of step, and give a receive failure", function()
    local a, b = pair({ recv_timeout = 100 })
    assert(a:send({ stream = 1, part = "chunk", seq = 1, data = "x" }))
    local data, err, code, raw = nml.chunks(b, { errors = "return" })()
    assert.is_nil(data)
    assert.are.equal("malformed", code)
    assert.matches("must begin with its start part", err, 1, true)
    assert.are.equal("x", raw.data)

    assert(a:send({ stream = 2, part = "start" }))
    assert(a:send({ stream = 2, part = "chunk", seq = 2, data = "skipped one" }))
    assert.has_error(function() collect(nml.chunks(b)) end, "nml.chunks: chunk 2 where chunk 1 was due")

    local nothing, _, timed_out = nml.chunks(b, { errors = "return" })()
    assert.is_nil(nothing)
    assert.are.equal("timeout", timed_out)
    assert.has_error(function() nml.chunks({}) end)
    assert.has_error(function() nml.chunks(b, { errors = "ignore" }) end)
    assert.has_error(function() nml.send_chunks(a, 5) end)
    assert.has_error(function() nml.send_chunks(a, {}, { ids = 1 }) end)
    a:close()
    b:close()
  end)

  it("take stream ids that compare by value, strings and integers, and refuse others", function()
    local a, b = pair()
    for _, id in ipairs({ "r1", 7, 0, -3, math.floor(2 ^ 40) }) do
      assert(nml.send_chunks(a, { id }, { id = id }))
      assert.are.same({ { id, 1 } }, collect(nml.chunks(b, { id = id })))
    end
    for _, bad in ipairs({ {}, true, 1.5, 0 / 0, 1 / 0, print, nml.null }) do
      local ok, err = pcall(nml.send_chunks, a, { 1 }, { id = bad })
      assert.is_false(ok, tostring(bad))
      assert.matches("bad argument #3 to 'send_chunks' (id must be a string or an integer", err, 1, true)
      ok, err = pcall(nml.chunks, b, { id = bad })
      assert.is_false(ok, tostring(bad))
      assert.matches("bad argument #2 to 'chunks' (id must be a string or an integer", err, 1, true)
    end
    -- A peer's start whose id is no string or integer is out of step.
    for _, bad in ipairs({ { 1 }, 1.5, true }) do
      assert(a:send({ stream = bad, part = "start" }))
      assert(a:send({ stream = bad, part = "end", count = 0 }))
      local data, err, code = nml.chunks(b, { errors = "return" })()
      assert.is_nil(data)
      assert.are.equal("malformed", code)
      assert.matches("a stream id is a string or an integer", err, 1, true)
      assert(b:recv()) -- the end part
    end
    a:close()
    b:close()
  end)

  it("compare ids by type and value on every part, and take only integers for seq and count", function()
    local one = "\001"
    -- The same id on every part: read whole.
    local got, ok = read_parts({ start_of(one), chunk_of(one, "\001"), end_of(one, "\001") })
    assert.are.same({ { "x" }, true }, { got, ok })
    -- An id of another type or value is another stream, on a chunk as on an end.
    for _, case in ipairs({
      { start_of(str "1"), chunk_of(one, "\001") },
      { start_of(one), chunk_of(str "1", "\001") },
      { start_of(one), end_of(str "1", "\000") },
      { start_of(one), chunk_of("\002", "\001") },
    }) do
      local _, done, err, code = read_parts(case)
      assert.are.same({ nil, "malformed" }, { done, code })
      assert.matches("inside stream", err, 1, true)
    end
    if has_subtypes then
      -- 1.0 is a float: refused on a start, and not stream 1 on a chunk or an end.
      local _, done, err, code = read_parts({ start_of(FLOAT_ONE), end_of(FLOAT_ONE, "\000") })
      assert.are.same({ nil, "malformed" }, { done, code })
      assert.matches("a stream id is a string or an integer, not the number 1.0", err, 1, true)
      _, done, err = read_parts({ start_of(one), chunk_of(FLOAT_ONE, "\001"), end_of(one, "\001") })
      assert.is_nil(done)
      assert.matches("a part of stream 1.0 inside stream 1", err, 1, true)
      _, done, err = read_parts({ start_of(one), end_of(FLOAT_ONE, "\000") })
      assert.is_nil(done)
      assert.matches("a part of stream 1.0 inside stream 1", err, 1, true)
      -- seq 1.0 and count 0.0 are out of step.
      _, done, err = read_parts({ start_of(one), chunk_of(one, FLOAT_ONE), end_of(one, "\001") })
      assert.is_nil(done)
      assert.matches("chunk 1.0 where chunk 1 was due", err, 1, true)
      _, done, err = read_parts({ start_of(one), end_of(one, FLOAT_ZERO) })
      assert.is_nil(done)
      assert.matches("ended after 0 chunks, its end says 0.0", err, 1, true)
    end
    -- 64-bit ids, where integers are exact; an id one past 2^53 is not 2^53.
    local _, done, err = read_parts({ start_of(INT64_MAX), end_of(INT64_MAX, "\000") })
    if exact_int64 then
      assert.is_true(done, err)
      local big = TWO_53_PLUS_1
      got, done = read_parts({ start_of(big), chunk_of(big, "\001"), end_of(big, "\001") })
      assert.are.same({ { "x" }, true }, { got, done })
      _, done, err = read_parts({ start_of(TWO_53_PLUS_1), chunk_of(TWO_53, "\001") })
      assert.is_nil(done)
      assert.matches("a part of stream 9007199254740992 inside stream 9007199254740993", err, 1, true)
    else
      assert.is_nil(done)
      assert.matches("a stream id is a string or an integer", err, 1, true)
    end
    -- Numbers in messages are exact.
    _, done, err = read_parts({ start_of(one), chunk_of(one, INT64_MAX) })
    assert.is_nil(done)
    assert.matches(exact_int64 and "chunk 9223372036854775807 where chunk 1 was due"
      or "chunk 9.223372036854776e+18 where chunk 1 was due", err, 1, true)
    _, done, err = read_parts({ start_of(one), end_of(one, UINT64_MAX) })
    assert.is_nil(done)
    assert.matches(jit and "its end says 18446744073709551615"
      or "its end says 1.8446744073709552e+19", err, 1, true)
    _, done, err = read_parts({ start_of(one), chunk_of(one, "\203\063\248\000\000\000\000\000\000") })
    assert.is_nil(done)
    assert.matches("chunk 1.5 where chunk 1 was due", err, 1, true)
    -- A str id and a bin id of the same bytes: both are Lua strings, the same id.
    got, done = read_parts({ start_of(str "a"), chunk_of("\196\001a", "\001"), end_of(str "a", "\001") })
    assert.are.same({ { "x" }, true }, { got, done })
  end)

  it("say after a for loop whether the stream ended with its end part", function()
    local one = "\001"
    local complete = nml.chunks(stream_of({ start_of(one), chunk_of(one, "\001"), end_of(one, "\001") }),
      { errors = "return" })
    assert.are.same({ false, "nml.chunks: the stream has not ended" }, { complete:result() })
    for _ in complete do end
    assert.is_true(complete:result())
    -- Cut short: the loop ends as quietly, but the result says why.
    local broken = nml.chunks(stream_of({ start_of(one), chunk_of(one, "\001") }), { errors = "return" })
    local got = {}
    for data in broken do got[#got + 1] = data end
    assert.are.same({ "x" }, got)
    local ok, err, code = broken:result()
    assert.is_nil(ok)
    assert.are.same({ "closed", "closed" }, { err, code })
    -- An error part, the same; and the iterator still returns the failure when called.
    local failed = nml.chunks(stream_of({ start_of(one),
      part { { "stream", one }, { "part", str "error" }, { "error", str "boom" }, { "count", "\000" } } }),
      { errors = "return" })
    for _ in failed do end
    ok, err, code = failed:result()
    assert.are.same({ nil, "stream_error" }, { ok, code })
    assert.matches("stream 1 failed after 0 chunks: boom", err, 1, true)
    assert.are.equal("stream_error", select(3, failed()))
    -- With errors = "raise" the loop raises, and the result says so too.
    local raising = nml.chunks(stream_of({ start_of(one) }))
    assert.has_error(function() for _ in raising do end end)
    assert.are.equal("closed", select(3, raising:result()))
  end)

  it("travel over nml.stream too", function()
    local sent = {}
    local conn = { send = function(_, s) sent[#sent + 1] = s return #s end, receive = function() end }
    local out = nml.stream(conn)
    assert(nml.send_chunks(out, { "a", "b" }))
    local input = reading(table.concat(sent))
    assert.are.same({ { "a", 1 }, { "b", 2 } }, collect(nml.chunks(input)))
  end)

  it("cross with a Python peer both ways: 100 chunks in, an error mid-stream, a stream out", function()
    local path = os.tmpname()
    os.remove(path)
    local url = "ipc://" .. path .. ".ipc"
    local sock = helper.socket("pair", { recv_timeout = 15000, send_timeout = 15000 })
    assert(sock:listen(url))
    local peer = assert(io.popen(helper.python .. " " .. here .. "/peers/chunk_peer.py " .. url .. " 2>&1"))

    local tokens, model = {}, nil
    for data, seq, meta in nml.chunks(sock, { id = "reply-1" }) do
      tokens[seq] = data
      model = meta.model
    end
    assert.are.equal(100, #tokens)
    assert.are.equal("token 1", tokens[1])
    assert.are.equal("token 100", tokens[100])
    assert.are.equal("demo", model)

    local got = {}
    local ok, err = pcall(function()
      for data in nml.chunks(sock) do got[#got + 1] = data end
    end)
    assert.is_false(ok)
    assert.are.equal(40, #got)
    assert.matches("stream reply%-2 failed after 40 chunks: RuntimeError: the model ran out of memory", err)

    assert(nml.send_chunks(sock, { 1, 2, 3, 4 }))
    assert.are.same({ sum = 10, count = 4 }, sock:recv())
    sock:close()
    local out = peer:read("*a")
    peer:close()
    assert.matches("chunk peer: ok", out)
  end)
end)
