-- A host with a SIGINT handler of its own (sigcount) around nml, for spec/interrupt_spec.lua:
-- the handler is called for a Ctrl-C between waits, once nml's stands in front of it, and is
-- SIGINT's again once the Lua state that loaded nml closes.
local sigcount = require "sigcount"
local pid = io.open("/proc/self/stat"):read("*l"):match("^(%d+)")
sigcount.install()

-- In a state of its own: a wait that blocks puts nml's handler in front; a Ctrl-C after it,
-- outside any wait, reaches the host's handler; closing the state puts the host's back.
local ok, err = sigcount.in_state(string.format([[
  package.cpath = %q
  local nml = require "nml"
  local sigcount = require "sigcount"
  local pull = assert(nml.socket("pull", { recv_timeout = 50 }))
  assert(pull:listen("inproc://interrupt-host"))
  local _, _, code = pull:recv()
  assert(code == "timeout", code)
  print("in front " .. tostring(not sigcount.ours()))
  -- (not os.execute: system() ignores SIGINT in the caller while its child runs)
  io.popen("kill -INT %s"):close()
  local deadline = os.time() + 2
  while sigcount.count() == 0 and os.time() < deadline do end
  print("between waits " .. sigcount.count())
  pull:close()
]], package.cpath, pid))
print("state " .. tostring(ok) .. " " .. err)
print("host's again " .. tostring(sigcount.ours()))
