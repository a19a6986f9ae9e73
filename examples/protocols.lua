-- One value, three built-in encodings and one registered protocol, all through nml.encode and
-- nml.decode; names are matched loosely ("lua-cjson" is JSON).
local nml = require "nml"

local order = { item = "widget", qty = 3, price = 9.5, tags = { "new", "sale" } }

for _, name in ipairs { "msgpack", "lua-cjson", "string" } do
  local value = name == "string" and "plain text" or order
  local encoded = nml.encode(value, name)
  local decoded = nml.decode(encoded, name)
  print(string.format("%-10s -> %-11s %3d bytes, decoded %s", name, nml.protocol(name), #encoded,
    type(decoded) == "table" and ("qty=" .. decoded.qty) or decoded))
end

-- A protocol of your own: here "key=value" lines for flat tables.
nml.register_protocol("kv", {
  aliases = { "keyvalue" },
  encode = function(t)
    local keys = {}
    for k in pairs(t) do keys[#keys + 1] = k end
    table.sort(keys)
    local lines = {}
    for _, k in ipairs(keys) do lines[#lines + 1] = k .. "=" .. tostring(t[k]) end
    return table.concat(lines, "\n")
  end,
  decode = function(s)
    local t = {}
    for k, v in s:gmatch("([^=\n]+)=([^\n]*)") do t[k] = v end
    return t
  end,
})
local text = nml.encode({ item = "widget", qty = 3 }, "key-value")
print("kv        -> " .. nml.protocol("KeyValue") .. "          " .. text:gsub("\n", "; "))
assert(nml.decode(text, "kv").qty == "3")

local v, err, code = nml.decode("{", "json")
print("bad JSON  -> " .. tostring(v) .. ", " .. code .. ": " .. err)
