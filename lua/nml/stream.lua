-- nml messages over any byte stream that has `receive(n)` and `send(s)`: a LuaSocket tcp
-- object, an OpenResty cosocket, a pipe wrapper (the manual's "Byte streams"). Each message is
-- a frame (a 4-byte big-endian length, docs/wire-format.md) holding a message body as
-- nml.wrap makes it, so the peer learns the protocol from the message itself.
--
-- Loaded by `require "nml"` (the file is compiled into the module); it receives the module
-- table and adds nml.stream to it, and the table the module's Lua parts share.
local nml, shared = ...

local byte, concat = string.byte, table.concat
local add_piece = shared.add_piece -- framer.lua's: small pieces merged as they come
local DEFAULT_MAX_SIZE = 64 * 1024 * 1024

local Stream = {}
Stream.__index = Stream
Stream.__name = "nml.stream"

-- The code of a failed stream call: LuaSocket and cosockets say "closed" and "timeout"; any
-- other failure of the connection is "io".
local function code_of(err)
  if err == "closed" or err == "timeout" then return err end
  return "io"
end

--- nml.stream(conn [, {max_size = n, buffers = "string"}]) -> stream
function nml.stream(conn, options)
  local t = type(conn)
  if (t ~= "table" and t ~= "userdata") or conn.receive == nil or conn.send == nil then
    error("bad argument #1 to 'stream' (an object with receive and send expected, got " .. t .. ")", 2)
  end
  local max_size, buffers = DEFAULT_MAX_SIZE, nil
  if options ~= nil then
    if type(options) ~= "table" then
      error("bad argument #2 to 'stream' (options table expected, got " .. type(options) .. ")", 2)
    end
    for k in pairs(options) do
      if k ~= "max_size" and k ~= "buffers" then
        error("bad argument #2 to 'stream' (unknown option " .. string.format("%q", tostring(k))
          .. "; known: max_size, buffers)", 2)
      end
    end
    if options.max_size ~= nil then
      max_size = options.max_size
      if type(max_size) ~= "number" or max_size < 0 or max_size % 1 ~= 0 then
        error("bad argument #2 to 'stream' (max_size must be a whole number of bytes)", 2)
      end
    end
    buffers = options.buffers
  end
  -- `length`: the frame being read, once its header has come; `parts`: what came of it.
  local stream = { conn = conn, max_size = max_size, parts = {}, have = 0 }
  stream.unwrap_options = buffers and { buffers = buffers }
  return setmetatable(stream, Stream)
end

--- stream:send(value [, protocol [, {topic = t}]]) -> true | nil, err, code
function Stream:send(value, protocol, options)
  if self.failed then return nil, self.failed, "io" end
  local frame, err, code = nml.frame(nml.wrap(value, protocol, options))
  if not frame then return nil, err, code end
  local rest = frame
  while true do
    -- LuaSocket says how far it got when it stops early (a timeout); a cosocket sends all.
    local done, send_err, sent = self.conn:send(rest)
    if done then return true end
    if #rest < #frame or (sent and sent > 0) then
      -- Part of the frame went out: the stream is out of step unless the rest follows.
      if send_err ~= "timeout" or not sent or sent < 1 then
        self.failed = "a frame was cut short: " .. tostring(send_err)
        return nil, self.failed, code_of(send_err)
      end
      rest = rest:sub(sent + 1)
    else
      return nil, send_err, code_of(send_err)
    end
  end
end

-- Reads exactly `n` bytes; nil, err, code if the connection says otherwise, keeping what
-- arrived for the next call. The pieces are joined once, when all have come; small ones are
-- merged as they come, so that what is held stays about twice the frame, even when the
-- connection gives a byte a call.
function Stream:_take(n)
  local parts = self.parts
  while self.have < n do
    local data, err, part = self.conn:receive(n - self.have)
    local piece = data or part
    if piece and #piece > 0 then
      add_piece(parts, piece)
      self.have = self.have + #piece
    end
    if not data then return nil, err, code_of(err) end
  end
  self.parts, self.have = {}, 0
  return concat(parts)
end

--- stream:recv() -> value, protocol, topic | nil, err, code [, raw]
function Stream:recv()
  if self.failed then return nil, self.failed, "too_large" end
  if not self.length then
    local head, err, code = self:_take(4)
    if not head then return nil, err, code end
    local a, b, c, d = byte(head, 1, 4)
    local length = ((a * 256 + b) * 256 + c) * 256 + d
    if length > self.max_size then
      self.failed = "a frame of " .. length .. " bytes is larger than max_size (" .. self.max_size .. ")"
      return nil, self.failed, "too_large"
    end
    self.length = length
  end
  local body, err, code = self:_take(self.length)
  if not body then return nil, err, code end
  self.length = nil
  return nml.unwrap(body, self.unwrap_options)
end
