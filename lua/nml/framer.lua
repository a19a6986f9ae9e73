-- Length-prefixed framing for byte streams (docs/wire-format.md, "Byte streams"): a 4-byte
-- big-endian length, then the payload; typed frames put a type byte between the two, naming
-- the payload's protocol (0 JSON, 1 MessagePack, others registered). For peers that are not
-- NNG sockets: a worker on a pipe, a Unix or TCP stream.
--
-- Loaded by `require "nml"` (the file is compiled into the module); it receives the module
-- table and adds nml.frame and nml.framer to it, and the table the module's Lua parts share,
-- to which it adds add_piece (stream.lua gathers frames with it too).
local nml, shared = ...

local char, byte, floor = string.char, string.byte, math.floor
local concat = table.concat

local DEFAULT_MAX_SIZE = 64 * 1024 * 1024
local LENGTH_LIMIT = 4294967295 -- what 4 bytes can say
local BLOCK = 65536 -- pieces fed are joined until they are this long

-- Appends the string `piece` to the list `pieces`, to be joined with table.concat once all
-- have come. Small pieces are merged as they come, as a binary counter merges (each piece
-- below BLOCK bytes is joined to the next one as long as that is no shorter), until they make
-- a block: a list of one-byte strings cost some 35 bytes per byte fed, this stays within about
-- twice the bytes fed, and a byte of a large piece is copied once more at most.
local function add_piece(pieces, piece)
  local n = #pieces + 1
  pieces[n] = piece
  while n > 1 and #pieces[n - 1] < BLOCK and #pieces[n - 1] <= #pieces[n] do
    pieces[n - 1] = pieces[n - 1] .. pieces[n]
    pieces[n] = nil
    n = n - 1
  end
end
shared.add_piece = add_piece

local function be32(n)
  return char(floor(n / 16777216) % 256, floor(n / 65536) % 256, floor(n / 256) % 256, n % 256)
end

-- The frame type `t` stands for (argument `arg` of `func`): a byte, or a protocol's name.
local function frame_type_of(t, arg, func)
  if type(t) == "number" then
    if t < 0 or t > 255 or t ~= floor(t) then
      error("bad argument #" .. arg .. " to '" .. func .. "' (type must be a byte, 0 to 255)", 3)
    end
    return t
  end
  if type(t) ~= "string" then
    error("bad argument #" .. arg .. " to '" .. func .. "' (type must be a byte or a protocol name)", 3)
  end
  local name, frame_type = nml.protocol(t)
  if not frame_type then
    error("bad argument #" .. arg .. " to '" .. func .. "' (" .. (name and ("protocol " .. name
      .. " has no frame type") or frame_type) .. ")", 3)
  end
  return frame_type
end

--- nml.frame(payload [, {type = t}]) -> string: the payload with its length (and its type) in
--- front.
function nml.frame(payload, options)
  if type(payload) ~= "string" then
    error("bad argument #1 to 'frame' (string expected, got " .. type(payload) .. ")", 2)
  end
  local type_byte = ""
  if options ~= nil then
    if type(options) ~= "table" then
      error("bad argument #2 to 'frame' (options table expected, got " .. type(options) .. ")", 2)
    end
    for key in pairs(options) do
      if key ~= "type" then
        error(string.format("bad argument #2 to 'frame' (unknown option %q; known: type)", tostring(key)), 2)
      end
    end
    if options.type ~= nil then type_byte = char(frame_type_of(options.type, 2, "frame")) end
  end
  if #payload > LENGTH_LIMIT then
    return nil, "payload of " .. #payload .. " bytes does not fit a 4-byte length", "too_large"
  end
  return be32(#payload) .. type_byte .. payload
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
  add_piece(self.chunks, chunk)
  self.buffered = self.buffered + #chunk
  -- Join the pieces only once the frame being waited for is complete.
  if self.buffered < self.need then return true end
  return self:_split()
end

-- The protocol a typed frame's type byte names: its canonical name, or "#<byte>" for a type
-- no protocol has (so nothing is dropped; the payload comes as its bytes).
local function protocol_of(frame_type)
  local name = nml.protocol(frame_type)
  return name or ("#" .. frame_type)
end

-- Moves every complete frame from the pending bytes to the ready queue.
function Framer:_split()
  local data = concat(self.chunks)
  local header = self.header
  local pos, size = 1, #data
  while size - pos + 1 >= header do
    local b1, b2, b3, b4 = byte(data, pos, pos + 3)
    local length = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
    if length > self.max_size then
      self.failed = string.format("frame of %d bytes announced, max_size is %d", length, self.max_size)
      self.chunks, self.buffered = {}, 0
      return nil, self.failed, "too_large"
    end
    if size - pos + 1 - header < length then break end
    self.tail = self.tail + 1
    self.ready[self.tail] = data:sub(pos + header, pos + header - 1 + length)
    if header == 5 then self.protocols[self.tail] = protocol_of(byte(data, pos + 4)) end
    pos = pos + header + length
  end
  local rest = pos <= size and data:sub(pos) or nil
  self.chunks = { rest }
  self.buffered = rest and #rest or 0
  self.need = header
  if rest and #rest >= 4 then
    local b1, b2, b3, b4 = byte(rest, 1, 4)
    self.need = header + ((b1 * 256 + b2) * 256 + b3) * 256 + b4
  end
  return true
end

--- for payload [, protocol] in f:messages() do ... end: the complete payloads fed so far, in
--- order; a typed framer gives each one's protocol too.
function Framer:messages()
  return function()
    local ready = self.ready
    local head = self.head
    local payload = ready[head]
    if payload == nil then return nil end
    ready[head] = nil
    self.head = head + 1
    local protocol = self.protocols[head]
    self.protocols[head] = nil
    return payload, protocol
  end
end

--- f:pending() -> bytes held for a frame not yet complete.
function Framer:pending()
  return self.buffered
end

--- nml.framer{ max_size = bytes, type_byte = false } -> a framer.
function nml.framer(options)
  options = options or {}
  if type(options) ~= "table" then
    error("bad argument #1 to 'framer' (table expected, got " .. type(options) .. ")", 2)
  end
  for key in pairs(options) do
    if key ~= "max_size" and key ~= "type_byte" then
      error(string.format("bad argument #1 to 'framer' (unknown option %q; known: max_size, type_byte)",
        tostring(key)), 2)
    end
  end
  if options.type_byte ~= nil and type(options.type_byte) ~= "boolean" then
    error("bad argument #1 to 'framer' (type_byte must be a boolean)", 2)
  end
  local max_size = options.max_size or DEFAULT_MAX_SIZE
  if type(max_size) ~= "number" or max_size < 0 or max_size ~= floor(max_size) or max_size > LENGTH_LIMIT then
    error("bad argument #1 to 'framer' (max_size must be an integer from 0 to 2^32 - 1)", 2)
  end
  return setmetatable({
    max_size = max_size,
    header = options.type_byte and 5 or 4, -- the length, and the type byte of typed frames
    protocols = {}, -- typed frames: the protocol of each ready payload, by queue position
    chunks = {}, -- pieces of the stream not yet split into frames
    buffered = 0, -- their total size
    need = options.type_byte and 5 or 4, -- bytes needed before splitting can produce the next frame
    ready = {}, head = 1, tail = 0, -- complete payloads, a queue
  }, Framer)
end
