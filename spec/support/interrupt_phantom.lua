-- For spec/interrupt_spec.lua: a Ctrl-C ends one wait, never the next. Twenty times, a poll
-- that a Ctrl-C ends (the host's handler counts it), then a send that no Ctrl-C touches and
-- that must time out. (nml's watcher thread, which takes the Ctrl-C apart from the wait, once
-- ended the next wait too: "interrupted" with no Ctrl-C, and on req a lost reply.)
local nml = require "nml"
local sigcount = require "sigcount"
local pid = io.open("/proc/self/stat"):read("*l"):match("^(%d+)")
sigcount.install()
local phantoms, polls = 0, 0
for i = 1, 20 do
  os.execute(string.format("(sleep 0.05; kill -INT %s) >/dev/null 2>&1 &", pid))
  local _, _, code = nml.poll({}, 3000)
  if code == "interrupted" then polls = polls + 1 end
  local push = assert(nml.socket("push", { send_timeout = 100 }))
  assert(push:listen("inproc://phantom-" .. i))
  local _, _, sent = push:send("x")
  if sent ~= "timeout" then phantoms = phantoms + 1 end
  push:close()
end
print(string.format("polls interrupted %d phantoms %d signals %d", polls, phantoms, sigcount.count()))
