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
-- table and adds nml.send_chunks and nml.chunks to it.
local nml = ...

local last_id = 0

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

-- Whether `id` can name a stream: a string or an integer, which compare by value (a table
-- would never equal the copy a receiver decodes) and travel as they are. Before Lua 5.3 an
-- integer is a number with no fraction that nml packs as one (magnitude up to 2^53).
local math_type = math.type
local function is_stream_id(id)
  local t = type(id)
  if t == "string" then return true end
  if t ~= "number" then return false end
  if math_type then return math_type(id) == "integer" end
  return id % 1 == 0 and id >= -2 ^ 53 and id <= 2 ^ 53
end

local function check_id(id, arg, func)
  if id ~= nil and not is_stream_id(id) then
    error(string.format("bad argument #%d to '%s' (id must be a string or an integer, got %s)", arg, func,
      type(id) == "number" and "the number " .. tostring(id) or type(id)), 3)
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

-- Why `value` is not the next part of the stream `state` reads, or nil when it is.
local function out_of_step(state, value)
  if type(value) ~= "table" or value.stream == nil or type(value.part) ~= "string" then
    return "not a part of a streamed reply"
  end
  if state.id == nil then
    if value.part ~= "start" then return "a stream must begin with its start part, not " .. value.part end
    if not is_stream_id(value.stream) then
      return "a stream id is a string or an integer, not a " .. type(value.stream) .. " value"
    end
    if state.want ~= nil and value.stream ~= state.want then
      return "stream " .. tostring(value.stream) .. " is not the stream awaited (" .. tostring(state.want) .. ")"
    end
    return nil
  end
  if value.stream ~= state.id then
    return "a part of stream " .. tostring(value.stream) .. " inside stream " .. tostring(state.id)
  end
  if value.part == "chunk" and value.seq ~= state.count + 1 then
    return "chunk " .. tostring(value.seq) .. " where chunk " .. (state.count + 1) .. " was due"
  end
  if value.part ~= "chunk" and value.part ~= "end" and value.part ~= "error" then
    return "unknown part " .. string.format("%q", value.part)
  end
  return nil
end

--- nml.chunks(x [, {id = id, errors = "raise" | "return"}]) -> iterator: data, seq, meta
function nml.chunks(x, options)
  local t = type(x)
  if (t ~= "table" and t ~= "userdata") or x.recv == nil then
    error("bad argument #1 to 'chunks' (a socket, context or stream expected, got " .. t .. ")", 2)
  end
  options = check_options(options, 2, "chunks", { id = true, errors = true })
  check_id(options.id, 2, "chunks")
  local raise = true
  if options.errors ~= nil then
    if options.errors ~= "raise" and options.errors ~= "return" then
      error("bad argument #2 to 'chunks' (errors must be \"raise\" or \"return\")", 2)
    end
    raise = options.errors == "raise"
  end
  local state = { want = options.id, count = 0 }
  local function fail(message, code, raw)
    state.done = { message, code, raw }
    if raise then error(message, 3) end
    return nil, message, code, raw
  end
  return function()
    if state.done then
      if state.done == true then return nil end
      if raise then error(state.done[1], 2) end
      return nil, state.done[1], state.done[2], state.done[3]
    end
    while true do
      local value, err, code, raw = x:recv()
      if value == nil then return fail(err, code, raw) end
      local why = out_of_step(state, value)
      if why then return fail("nml.chunks: " .. why, "malformed", value) end
      if value.part == "start" then
        state.id, state.meta = value.stream, value.meta
      elseif value.part == "chunk" then
        state.count = state.count + 1
        local data = value.data
        if data == nil then data = nml.null end
        return data, state.count, state.meta
      elseif value.part == "end" then
        if value.count ~= state.count then
          return fail(string.format("nml.chunks: stream %s ended after %d chunks, its end says %s",
            tostring(state.id), state.count, tostring(value.count)), "malformed", value)
        end
        state.done = true
        return nil
      else
        return fail(string.format("stream %s failed after %d chunks: %s", tostring(state.id), state.count,
          tostring(value.error)), "stream_error")
      end
    end
  end
end
