-- After `luarocks make` into build/rocks: require nml from the rock tree alone and use it.
local version = _VERSION:match("%d%.%d")
package.cpath = "build/rocks/lib/lua/" .. version .. "/?.so"
local nml = require "nml"
assert(nml.unpack(nml.pack({ 1, "two" }))[2] == "two", "round trip through the installed module")
-- The LuaLS definitions are installed beside the rock, not on package.path.
local found = io.popen("ls build/rocks/lib/luarocks/rocks*/nml/*/library/nml.lua 2>/dev/null"):read("*l")
assert(found, "library/nml.lua was not installed with the rock")
assert(not io.open("build/rocks/share/lua/" .. version .. "/nml.lua"), "library/nml.lua must not be on package.path")
-- nml-cat is installed as a command that runs on this interpreter (the private tree is not on
-- luarocks' own path, so LUA_CPATH says where nml.so is).
local frame = io.open("build/rocks/frame.bin", "wb")
frame:write(nml.frame(nml.wrap({ installed = true })))
frame:close()
local cat = io.popen("LUA_CPATH='" .. package.cpath .. "' build/rocks/bin/nml-cat --version 2>&1"
  .. " && LUA_CPATH='" .. package.cpath .. "' build/rocks/bin/nml-cat --stream < build/rocks/frame.bin 2>&1")
local shown = cat:read("*a")
cat:close()
assert(shown:find("(nml 0.1.0, " .. (jit and jit.version or _VERSION) .. ")", 1, true), shown)
assert(shown:find("MessagePack  {installed = true}", 1, true), shown)
print("luarocks-installed " .. nml._VERSION .. " loads from the rock tree and round-trips on " .. _VERSION)
