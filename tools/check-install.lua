-- After `luarocks make` into build/rocks: require nml from the rock tree alone and use it.
local version = _VERSION:match("%d%.%d")
package.cpath = "build/rocks/lib/lua/" .. version .. "/?.so"
local nml = require "nml"
assert(nml.unpack(nml.pack({ 1, "two" }))[2] == "two", "round trip through the installed module")
-- The LuaLS definitions are installed beside the rock, not on package.path.
local found = io.popen("ls build/rocks/lib/luarocks/rocks*/nml/*/library/nml.lua 2>/dev/null"):read("*l")
assert(found, "library/nml.lua was not installed with the rock")
assert(not io.open("build/rocks/share/lua/" .. version .. "/nml.lua"), "library/nml.lua must not be on package.path")
print("luarocks-installed " .. nml._VERSION .. " loads from the rock tree and round-trips on " .. _VERSION)
