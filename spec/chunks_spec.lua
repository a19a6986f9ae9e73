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

describe("streamed replies", function()
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

  it("travel over nml.stream too", function()
    local sent = {}
    local conn = { send = function(_, s) sent[#sent + 1] = s return #s end, receive = function() end }
    local out = nml.stream(conn)
    assert(nml.send_chunks(out, { "a", "b" }))
    local bytes = table.concat(sent)
    local at = 1
    local input = nml.stream({
      send = function() return nil, "closed" end,
      receive = function(_, n)
        local piece = bytes:sub(at, at + n - 1)
        at = at + n
        if #piece < n then return nil, "closed" end
        return piece
      end,
    })
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
