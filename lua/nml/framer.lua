-- Length-prefixed framing for byte streams (docs/wire-format.md, "Byte streams"): a 4-byte
-- big-endian length, then the payload. For peers that are not NNG sockets: a worker on a pipe,
-- a Unix or TCP stream.
--
-- Loaded by `require "nml"` (the file is compiled into the module); it receives the module
-- table and adds nml.frame and nml.framer to it.
local nml = ...

local char, byte, floor = string.char, string.byte, math.floor
local concat = table.concat

local DEFAULT_MAX_SIZE = 64 * 1024 * 1024
local LENGTH_LIMIT = 4294967295 -- what 4 bytes can say

local function be32(n)
  return char(floor(n / 16777216) % 256, floor(n / 65536) % 256, floor(n / 256) % 256, n % 256)
end

--- nml.frame(payload) -> string: the payload with its length in front.
function nml.frame(payload)
  if type(payload) ~= "string" then
    error("bad argument #1 to 'frame' (string expected, got " .. type(payload) .. ")", 2)
  end
  if #payload > LENGTH_LIMIT then
    return nil, "payload of " .. #payload .. " bytes does not fit a 4-byte length", "too_large"
  end
  return be32(#payload) .. payload
end

local Framer = {}
Framer.__index = Framer
Framer.__name = "nml.framer"

--- f:feed(chunk) -> true | nil, err, code: takes any piece of the stream.
-- A frame that announces more than max_size is refused before anything is allocated for it;
-- the framer then stays failed (the stream has lost its framing), and says so on every call.
function Framer:feed(chunk)
  if self.failed then return nil, self.failed, "too_large" end
  if chunk == nil or chunk == "" then return true end
  if type(chunk) ~= "string" then
    error("bad argument #1 to 'feed' (string expected, got " .. type(chunk) .. ")", 2)
  end
  local chunks = self.chunks
  chunks[#chunks + 1] = chunk
  self.buffered = self.buffered + #chunk
  -- Join the pieces only once the frame being waited for is complete, so a large frame fed in
  -- small chunks is copied once, not once per chunk.
  if self.buffered < self.need then return true end
  return self:_split()
end

-- Moves every complete frame from the pending bytes to the ready queue.
function Framer:_split()
  local data = concat(self.chunks)
  local pos, size = 1, #data
  while size - pos + 1 >= 4 do
    local b1, b2, b3, b4 = byte(data, pos, pos + 3)
    local length = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
    if length > self.max_size then
      self.failed = string.format("frame of %d bytes announced, max_size is %d", length, self.max_size)
      self.chunks, self.buffered = {}, 0
      return nil, self.failed, "too_large"
    end
    if size - pos + 1 - 4 < length then break end
    self.tail = self.tail + 1
    self.ready[self.tail] = data:sub(pos + 4, pos + 3 + length)
    pos = pos + 4 + length
  end
  local rest = pos <= size and data:sub(pos) or nil
  self.chunks = { rest }
  self.buffered = rest and #rest or 0
  self.need = 4
  if rest and #rest >= 4 then
    local b1, b2, b3, b4 = byte(rest, 1, 4)
    self.need = 4 + ((b1 * 256 + b2) * 256 + b3) * 256 + b4
  end
  return true
end

--- for payload in f:messages() do ... end: the complete payloads fed so far, in order.
function Framer:messages()
  return function()
    local ready = self.ready
    local payload = ready[self.head]
    if payload == nil then return nil end
    ready[self.head] = nil
    self.head = self.head + 1
    return payload
  end
end

--- f:pending() -> bytes held for a frame not yet complete.
function Framer:pending()
  return self.buffered
end

--- nml.framer{ max_size = bytes } -> a framer.
function nml.framer(options)
  options = options or {}
  if type(options) ~= "table" then
    error("bad argument #1 to 'framer' (table expected, got " .. type(options) .. ")", 2)
  end
  for key in pairs(options) do
    if key ~= "max_size" then
      error(string.format("bad argument #1 to 'framer' (unknown option %q; known: max_size)", tostring(key)), 2)
    end
  end
  local max_size = options.max_size or DEFAULT_MAX_SIZE
  if type(max_size) ~= "number" or max_size < 0 or max_size ~= floor(max_size) or max_size > LENGTH_LIMIT then
    error("bad argument #1 to 'framer' (max_size must be an integer from 0 to 2^32 - 1)", 2)
  end
  return setmetatable({
    max_size = max_size,
    chunks = {}, -- pieces of the stream not yet split into frames
    buffered = 0, -- their total size
    need = 4, -- bytes needed before splitting can produce the next frame
    ready = {}, head = 1, tail = 0, -- complete payloads, a queue
  }, Framer)
end
