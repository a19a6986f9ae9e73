-- The nml side of test_nml_peer.py: reads framed message bodies on stdin, decodes each with
-- nml.unwrap, and answers on stdout with a framed body saying what it got; on "done" it sends
-- bodies nml made itself (a descriptor, JSON with a topic, a string, a custom protocol); on
-- "tables", tables whose keys and strings Python holds otherwise.
local nml = require "nml"
nml.register_protocol("kv", { encode = function(t) return t.k .. "=" .. t.v end,
  decode = function(s) local k, v = s:match("(.-)=(.*)") return { k = k, v = v } end })

local function reply(value, protocol, options)
  io.stdout:write(assert(nml.frame(nml.wrap(value, protocol, options))))
  io.stdout:flush()
end

-- Reads one frame from stdin (io.read(n) waits for all n bytes): nil at the end.
local function read_frame()
  local head = io.stdin:read(4)
  if not head or #head < 4 then return nil end
  local a, b, c, d = head:byte(1, 4)
  return io.stdin:read(((a * 256 + b) * 256 + c) * 256 + d) or ""
end

while true do
  local body = read_frame()
  if not body then break end
  local value, protocol, topic = nml.unwrap(body)
  if value == "tables" then
    -- Tables Python's dicts and strings do not take as they are: keys that are integers,
    -- floats, booleans and tables, and a string that is not UTF-8.
    reply({ 1, 2, nil, 4 })
    reply({ [10] = "x" })
    reply({ [1.5] = "f", [true] = "t", [-3] = "n" })
    reply({ [{ 1, 2 }] = "list key", [{ a = 1 }] = "map key" })
    reply({ bytes = "\255\254" })
    reply({ n = 1 }, "json")
  elseif value == "done" then
    local frame = nml.allocmsg(5)
    frame:write(0, "\1\2\3\4\5")
    reply({ seq = 1, frame = { buffer = frame, buffer_ud_type = "bytes5" } })
    reply({ ok = true, list = { 1, 2, 3 } }, "json", { topic = "news.lua" })
    reply("plain text", "string")
    reply({ k = "key", v = "value" }, "kv")
    os.exit(0)
  else
    reply({ echo = value, protocol = protocol or false, topic = topic or false })
  end
end
