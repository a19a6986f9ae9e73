-- After `luarocks make` into build/rocks: require nml from the rock tree alone and use it.
local version = _VERSION:match("%d%.%d")
package.cpath = "build/rocks/lib/lua/" .. version .. "/?.so"
local nml = require "nml"
assert(nml.unpack(nml.pack({ 1, "two" }))[2] == "two", "round trip through the installed module")
print("luarocks-installed " .. nml._VERSION .. " loads from the rock tree and round-trips on " .. _VERSION)
