-- Streamed replies: a reply sent as a start, chunks, then an end or an error (LLM tokens, rows
-- of a query, progress), as ordinary messages on any socket, context or nml.stream
-- (docs/wire-format.md, "Streamed replies"):
--
--   {stream = id, part = "start" [, meta = v]}
--   {stream = id, part = "chunk", seq = n, data = v}      n = 1, 2, 3 ...
--   {stream = id, part = "end", count = n}
--   {stream = id, part = "error", error = "message", count = n}
--
-- Loaded by `require "nml"` (the file is compiled into the module); it receives the module
-- table (and the table the parts share) and adds nml.send_chunks and nml.chunks to it.
local nml, shared = ...

local last_id = 0

-- req, rep, surveyor and respondent carry one reply per request: NNG refuses a second reply
-- (and a req drops the reply it waits for when it sends again), so a stream raises at once.
local ONE_REPLY = { req = true, rep = true, surveyor = true, respondent = true }

local function refuse_one_reply_patterns(x, func)
  local _, pattern = shared.pattern_of(x)
  if ONE_REPLY[pattern] then
    error("bad argument #1 to '" .. func .. "' (a " .. pattern .. " socket carries one reply per request: "
      .. "stream over pair, push/pull or nml.stream)", 3)
  end
end

local function check_options(options, arg, func, known)
  if options == nil then return {} end
  if type(options) ~= "table" then
    error("bad argument #" .. arg .. " to '" .. func .. "' (options table expected, got " .. type(options) .. ")", 3)
  end
  for key in pairs(options) do
    if not known[key] then
      error(string.format("bad argument #%d to '%s' (unknown option %q)", arg, func, tostring(key)), 3)
    end
  end
  return options
end

-- Integers as exact decimal text, which is how ids, seq and count are compared: the text of
-- `v` if it is an integer, else nil. On 5.3+ an integer is of the integer subtype (1.0 is a
-- float, whatever its value); on 5.1 and 5.2 a number with no fraction within ±2^53 (a float
-- with no fraction decodes to the same number there, so it cannot be told apart); on LuaJIT
-- also an int64_t or uint64_t cdata within the int64 range, as nml decodes integers past 2^53.
local math_type = math.type
local format = string.format
local ffi, int64_t, uint64_t, int64_limit
-- LuaJIT's FFI as luajit.lua's `builtin` finds it (never searched for on package.path); the
-- Rust side gives `builtin` only on a LuaJIT with its FFI.
if shared.builtin then
  local loaded = shared.builtin "ffi"
  if loaded then
    ffi = loaded
    int64_t, uint64_t = ffi.typeof("int64_t"), ffi.typeof("uint64_t")
    int64_limit = ffi.new(uint64_t, 2 ^ 63)
  end
end

local function integer_text(v)
  local t = type(v)
  if t == "number" then
    if math_type then
      if math_type(v) == "integer" then return format("%d", v) end
      return nil
    end
    if v % 1 == 0 and v >= -2 ^ 53 and v <= 2 ^ 53 then return format("%.0f", v) end
    return nil
  end
  if t == "cdata" and ffi then
    if ffi.istype(int64_t, v) or (ffi.istype(uint64_t, v) and v < int64_limit) then
      return (tostring(v):gsub("U?LL$", ""))
    end
  end
  return nil
end

-- What an id is compared by: "s" and a string's bytes, "i" and an integer's text; nil for
-- anything that cannot name a stream (a table would never equal the copy a receiver decodes,
-- and a float is no integer). A MessagePack str and bin with the same bytes are both Lua
-- strings, the same id.
local function id_key(id)
  if type(id) == "string" then return "s" .. id end
  local text = integer_text(id)
  return text and "i" .. text
end

local function is_stream_id(id)
  return id_key(id) ~= nil
end

-- `v` as an error message shows it: numbers exactly (a float as the shortest text that reads
-- back as it, with ".0" when it has no fraction on 5.3+), strings as they are.
local function show(v)
  local text = integer_text(v)
  if text then return text end
  local t = type(v)
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return tostring(v) end
    for digits = 14, 17 do
      text = format("%." .. digits .. "g", v)
      if tonumber(text) == v then break end
    end
    if math_type and not text:find("[%.eEn]") then text = text .. ".0" end
    return text
  end
  if t == "cdata" then return (tostring(v):gsub("U?LL$", "")) end
  if t == "string" then return v end
  return t
end

-- How a value that is no stream id is named: "the number 1.0", "a table value".
local function describe(v)
  if type(v) == "number" then return "the number " .. show(v) end
  return "a " .. type(v) .. " value"
end

local function check_id(id, arg, func)
  if id ~= nil and not is_stream_id(id) then
    error(format("bad argument #%d to '%s' (id must be a string or an integer, got %s)", arg, func,
      type(id) == "number" and "the number " .. show(id) or type(id)), 3)
  end
end

-- The chunks as an iterator: a list's elements, or what a function returns until nil.
local function each(chunks)
  if type(chunks) == "function" then return chunks end
  local i = 0
  return function()
    i = i + 1
    return chunks[i]
  end
end

--- nml.send_chunks(x, chunks [, {id = id, meta = v, protocol = p}]) -> true | nil, err, code
function nml.send_chunks(x, chunks, options)
  local t = type(x)
  if (t ~= "table" and t ~= "userdata") or x.send == nil then
    error("bad argument #1 to 'send_chunks' (a socket, context or stream expected, got " .. t .. ")", 2)
  end
  refuse_one_reply_patterns(x, "send_chunks")
  if type(chunks) ~= "table" and type(chunks) ~= "function" then
    error("bad argument #2 to 'send_chunks' (a list or an iterator function expected, got " .. type(chunks) .. ")", 2)
  end
  options = check_options(options, 3, "send_chunks", { id = true, meta = true, protocol = true })
  check_id(options.id, 3, "send_chunks")
  local id = options.id
  if id == nil then
    last_id = last_id + 1
    id = last_id
  end
  local protocol = options.protocol
  local ok, err, code = x:send({ stream = id, part = "start", meta = options.meta }, protocol)
  if not ok then return nil, err, code end
  local next_chunk, count = each(chunks), 0
  while true do
    local produced, data = pcall(next_chunk)
    if not produced then
      -- The producer failed: the consumer learns it from an error part, and so does the caller.
      local message = tostring(data)
      ok, err, code = x:send({ stream = id, part = "error", error = message, count = count }, protocol)
      if not ok then return nil, err, code end
      return nil, message, "stream_error"
    end
    if data == nil then break end
    count = count + 1
    ok, err, code = x:send({ stream = id, part = "chunk", seq = count, data = data }, protocol)
    if not ok then return nil, err, code end
  end
  ok, err, code = x:send({ stream = id, part = "end", count = count }, protocol)
  if not ok then return nil, err, code end
  return true
end

-- Why `value` is not the next part of the stream `state` reads, or nil when it is. Ids compare
-- by id_key, seq and count by integer_text: 1.0 is neither stream 1 nor chunk 1.
local function out_of_step(state, value)
  if type(value) ~= "table" or value.stream == nil or type(value.part) ~= "string" then
    return "not a part of a streamed reply"
  end
  local key = id_key(value.stream)
  if state.key == nil then
    if value.part ~= "start" then return "a stream must begin with its start part, not " .. value.part end
    if not key then
      return "a stream id is a string or an integer, not " .. describe(value.stream)
    end
    if state.want_key ~= nil and key ~= state.want_key then
      return "stream " .. show(value.stream) .. " is not the stream awaited (" .. show(state.want) .. ")"
    end
    return nil
  end
  if key ~= state.key then
    return "a part of stream " .. show(value.stream) .. " inside stream " .. show(state.id)
  end
  if value.part == "chunk" and integer_text(value.seq) ~= format("%d", state.count + 1) then
    return "chunk " .. show(value.seq) .. " where chunk " .. format("%d", state.count + 1) .. " was due"
  end
  if value.part ~= "chunk" and value.part ~= "end" and value.part ~= "error" then
    return "unknown part " .. format("%q", value.part)
  end
  return nil
end

-- What nml.chunks returns: called (as a `for` loop calls it), it gives the next chunk;
-- reply:result() says how the stream ended.
local Reply = {}
Reply.__index = Reply
Reply.__name = "nml.chunks"

function Reply:__call()
  return self.next_chunk()
end

--- reply:result() -> true | nil, err, code [, raw] | false, err: true once the end part came,
--- the failure the iterator returned (or raised) once one did, false while the stream is not
--- over. After a `for` loop with errors = "return", the way to tell a complete stream from a
--- broken one.
function Reply:result()
  local done = self.state.done
  if done == true then return true end
  if done then return nil, done[1], done[2], done[3] end
  return false, "nml.chunks: the stream has not ended"
end

--- nml.chunks(x [, {id = id, errors = "raise" | "return"}]) -> reply: an iterator (data, seq,
--- meta) with a result method
function nml.chunks(x, options)
  local t = type(x)
  if (t ~= "table" and t ~= "userdata") or x.recv == nil then
    error("bad argument #1 to 'chunks' (a socket, context or stream expected, got " .. t .. ")", 2)
  end
  refuse_one_reply_patterns(x, "chunks")
  options = check_options(options, 2, "chunks", { id = true, errors = true })
  check_id(options.id, 2, "chunks")
  local raise = true
  if options.errors ~= nil then
    if options.errors ~= "raise" and options.errors ~= "return" then
      error("bad argument #2 to 'chunks' (errors must be \"raise\" or \"return\")", 2)
    end
    raise = options.errors == "raise"
  end
  local state = { want = options.id, want_key = options.id ~= nil and id_key(options.id) or nil, count = 0 }
  local function fail(message, code, raw)
    state.done = { message, code, raw }
    if raise then error(message, 4) end
    return nil, message, code, raw
  end
  local function next_chunk()
    if state.done then
      if state.done == true then return nil end
      if raise then error(state.done[1], 3) end
      return nil, state.done[1], state.done[2], state.done[3]
    end
    while true do
      local value, err, code, raw = x:recv()
      if value == nil then return fail(err, code, raw) end
      local why = out_of_step(state, value)
      if why then return fail("nml.chunks: " .. why, "malformed", value) end
      if value.part == "start" then
        state.id, state.key, state.meta = value.stream, id_key(value.stream), value.meta
      elseif value.part == "chunk" then
        state.count = state.count + 1
        local data = value.data
        if data == nil then data = nml.null end
        return data, state.count, state.meta
      elseif value.part == "end" then
        if integer_text(value.count) ~= format("%d", state.count) then
          return fail(format("nml.chunks: stream %s ended after %d chunks, its end says %s",
            show(state.id), state.count, show(value.count)), "malformed", value)
        end
        state.done = true
        return nil
      else
        return fail(format("stream %s failed after %d chunks: %s", show(state.id), state.count,
          tostring(value.error)), "stream_error")
      end
    end
  end
  return setmetatable({ state = state, next_chunk = next_chunk }, Reply)
end
