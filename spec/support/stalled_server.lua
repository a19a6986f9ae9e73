-- A pull that COUNT raw TCP clients (spec/peers/stalled_clients.py, run with PYTHON) connect to,
-- each announcing a message of LENGTH bytes and sending none of it; prints how much this
-- process's address space grew meanwhile, as "grew <KiB> KiB". Run by spec/oversize_spec.lua
-- with MALLOC_ARENA_MAX=1, so that glibc's per-thread arenas (64 MiB of address space each)
-- do not hide what NNG reserves.
--   stalled_server.lua PYTHON PEERS_DIR COUNT LENGTH
local nml = require "nml"

local python, peers, count, length = arg[1], arg[2], tonumber(arg[3]), tonumber(arg[4])

local function vm_size_kib()
  local f = assert(io.open("/proc/self/status"))
  local kib = f:read("*a"):match("VmSize:%s*(%d+)")
  f:close()
  return tonumber(kib)
end

local pull = assert(nml.socket("pull")) -- recv_max_size: 64 MiB by default
local listener = assert(pull:listen("tcp://127.0.0.1:0"))
local before = vm_size_kib()
local clients = assert(io.popen(string.format("%s %s/stalled_clients.py 127.0.0.1 %d %d %d",
  python, peers, listener:port(), count, length)))
assert(clients:read("*l") == "ready", "the clients did not connect")
local stop = nml.clock() + 5 -- until the pull has taken every connection
while pull:stats().pipes < count and nml.clock() < stop do nml.sleep(10) end
assert(pull:stats().pipes == count, "the pull took " .. pull:stats().pipes .. " connections")
nml.sleep(200) -- and read every length
print(string.format("grew %d KiB", vm_size_kib() - before))
pull:close()
clients:close()
