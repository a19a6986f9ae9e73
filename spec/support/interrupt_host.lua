-- A host with a SIGINT handler of its own (sigcount) around nml, for spec/interrupt_spec.lua:
-- nml's handler stands in front of the host's only while a wait blocks, so a library that
-- installs a handler calling the one it finds, between two waits, chains to the host's, and
-- a Ctrl-C in the next wait reaches all three once.
local nml = require "nml"
local sigcount = require "sigcount"
local pid = io.open("/proc/self/stat"):read("*l"):match("^(%d+)")
sigcount.install()

local pull = assert(nml.socket("pull", { recv_timeout = 50 }))
assert(pull:listen("inproc://interrupt-host"))
local _, _, code = pull:recv()
assert(code == "timeout", code)
print("host's after a wait " .. tostring(sigcount.ours()))

sigcount.install_chain() -- a library that calls the handler it found: the host's
assert(pull:setopt("recv_timeout", 3000))
-- (not io.popen or os.execute's wait: system() ignores SIGINT in the caller meanwhile)
os.execute(string.format("(sleep 0.3; kill -INT %s) >/dev/null 2>&1 &", pid))
local _, _, again = pull:recv()
print("recv " .. tostring(again))
print("host " .. sigcount.count() .. " chain " .. sigcount.chained())

-- A second Lua state that loads nml, waits and closes leaves the handlers as they were.
local ok, err = sigcount.in_state(string.format([[
  package.cpath = %q
  local nml = require "nml"
  local s = assert(nml.socket("pull", { recv_timeout = 20 }))
  assert(s:listen("inproc://interrupt-host-2"))
  s:recv()
  s:close()
]], package.cpath))
print("state " .. tostring(ok) .. " " .. err)
pull:close()
