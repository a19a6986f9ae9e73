-- Shared by the specs: loads nml for the interpreter busted runs under, and compares values
-- the way the type mapping promises (integer and float subtypes kept where Lua has them).
local nml = require "nml"

local helper = { nml = nml }

-- On LuaJIT `make specs` runs the codec's specs twice more, with NML_CODEC=rust and =lua: the
-- default there ("auto") takes either codec per call, these take one of them alone.
if os.getenv("NML_CODEC") then nml.config { codec = os.getenv("NML_CODEC") } end

-- Lua 5.3+ has 64-bit integers; 5.1, 5.2 and LuaJIT have doubles only.
helper.has_int64 = math.type ~= nil

-- LuaJIT's FFI integers (int64_t and uint64_t cdata), which nml packs exactly and gives for
-- integers beyond ±2^53 (nml.config int64 = "cdata"): `helper.int64 "-5LL"`. nil elsewhere.
helper.int64 = jit and function(literal) return loadstring("return " .. literal)() end or nil
-- The interpreter and module path children run with: what `make specs` says, else this one's.
helper.lua = os.getenv("NML_LUA") or (arg and arg[-1]) or "lua"
helper.cpath = os.getenv("NML_CPATH") or package.cpath

-- Python peers use the venv `make test` makes (tools/deps.sh), when there is one.
local root = (os.getenv("PWD") or ".") .. "/" .. (debug.getinfo(1, "S").source:match("^@(.-)/?spec/[^/]*$") or "")
local venv_bin = root .. "/build/venv/bin"
local venv_python = io.open(venv_bin .. "/python3")
helper.python = venv_python and (venv_bin .. "/python3") or "python3"
if venv_python then venv_python:close() end
local child_env = venv_python and string.format("PATH='%s':\"$PATH\"; export PATH; ", venv_bin) or ""

function helper.hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

function helper.unhex(h)
  return (h:gsub("%s+", ""):gsub("..", function(b) return string.char(tonumber(b, 16)) end))
end

-- Deep equality that also compares number subtypes and the marker metatables of nml.
local function same(a, b, path)
  if type(a) ~= type(b) then
    return false, string.format("%s: %s vs %s", path, type(a), type(b))
  end
  if type(a) == "number" then
    if math.type and math.type(a) ~= math.type(b) then
      return false, string.format("%s: %s %s vs %s %s", path, math.type(a), a, math.type(b), b)
    end
    if a ~= b and not (a ~= a and b ~= b) then
      return false, string.format("%s: %.17g vs %.17g", path, a, b)
    end
    return true
  end
  if type(a) == "cdata" then -- LuaJIT's 64-bit integers: "5LL" and "5ULL" differ
    if tostring(a) ~= tostring(b) then return false, string.format("%s: %s vs %s", path, tostring(a), tostring(b)) end
    return true
  end
  if type(a) ~= "table" then
    if a ~= b then return false, string.format("%s: %s vs %s", path, tostring(a), tostring(b)) end
    return true
  end
  if getmetatable(a) ~= getmetatable(b) then
    return false, path .. ": different metatables"
  end
  for k, v in pairs(a) do
    local ok, why = same(v, b[k], path .. "[" .. tostring(k) .. "]")
    if not ok then return false, why end
  end
  for k in pairs(b) do
    if a[k] == nil then return false, path .. "[" .. tostring(k) .. "]: missing on the left" end
  end
  return true
end

function helper.assert_same(expected, actual)
  local ok, why = same(expected, actual, "value")
  assert(ok, why)
end

function helper.roundtrip(v)
  return nml.unpack(nml.pack(v))
end

-- Runs a shell command; returns its output and whether it exited 0. (The status is echoed
-- because Lua 5.1 and LuaJIT do not return it from close.)
function helper.run(cmd)
  local f = assert(io.popen(child_env .. "(" .. cmd .. ") 2>&1; echo \"exit status $?\""))
  local out = f:read("*a")
  f:close()
  local body, status = out:match("^(.*)exit status (%d+)\n?$")
  return body, tonumber(status) == 0
end

--- The whole content of the file at `path`.
function helper.read_file(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

--- The nml.so the specs run: the first on helper.cpath that exists.
function helper.library()
  for pattern in helper.cpath:gmatch("[^;]+") do
    local path = pattern:gsub("%?", "nml")
    local f = io.open(path)
    if f then
      f:close()
      return path
    end
  end
  error("no nml.so on " .. helper.cpath)
end

--- Writes `data` to the file at `path`, replacing what was there.
function helper.write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

function helper.tmpname()
  local name = os.tmpname()
  return name
end

-- This process's resident memory in KiB (0 where /proc is missing).
function helper.rss_kib()
  local f = io.open("/proc/self/status")
  if not f then return 0 end
  local kib = f:read("*a"):match("VmRSS:%s*(%d+)")
  f:close()
  return tonumber(kib)
end

-- Sockets for the specs: every receive has a timeout.
helper.TIMEOUT = 2000

local counter = 0
-- busted loads this file afresh for each spec file while sockets of the last one may still be
-- open, so inproc names carry a token of this load (a fresh table's address).
local load_token = tostring({}):match("0x(%x+)") or tostring(os.time())
function helper.next_id()
  counter = counter + 1
  return counter
end

-- A fresh ipc address, listened on by nothing yet.
function helper.ipc_url()
  local path = os.tmpname()
  os.remove(path)
  return "ipc://" .. path .. ".ipc"
end

-- Listens on a fresh address of `transport`; returns the URL.
function helper.listen_fresh(sock, transport)
  if transport == "inproc" then
    local url = "inproc://nml-spec-" .. load_token .. "-" .. helper.next_id()
    assert(sock:listen(url))
    return url
  elseif transport == "ipc" then
    local url = helper.ipc_url()
    assert(sock:listen(url))
    return url
  end
  assert(transport == "tcp" or transport == "ws", "listen_fresh knows no " .. tostring(transport))
  local path = transport == "ws" and "/nml" or ""
  for _ = 1, 50 do -- tcp and ws: a random high port, tried again if taken
    local url = transport .. "://127.0.0.1:" .. math.random(20000, 60000) .. path
    local ok, err, code = sock:listen(url)
    if ok then return url end
    assert(code == "address_in_use", err)
  end
  error("no free tcp port found")
end

function helper.socket(kind, options)
  options = options or {}
  options.recv_timeout = options.recv_timeout or helper.TIMEOUT
  options.send_timeout = options.send_timeout or helper.TIMEOUT
  return assert(nml.socket(kind, options))
end

-- The pipe events of `sock` until `n` have come: NNG reports them from its threads, so a
-- "connect" may come after the peer's first message has been received.
function helper.pipe_events_until(sock, n)
  local all = {}
  for _ = 1, 400 do
    local events = assert(sock:pipe_events())
    for _, e in ipairs(events) do all[#all + 1] = e end
    if #all >= n then break end
    nml.sleep(5)
  end
  return all
end

-- Two connected sockets: the first listens on a fresh address, the second dials it.
function helper.pair_of(kind_a, kind_b, transport, options)
  local a, b = helper.socket(kind_a, options), helper.socket(kind_b, options)
  local url = helper.listen_fresh(a, transport)
  assert(b:dial(url))
  return a, b, url
end

-- A raw socket; a raw sub drops what arrives while its queue is full, so it gets a deep one
-- (as the manual advises for a forwarder's front), and a raw pub deep send queues.
function helper.raw(kind)
  local options = { raw = true }
  if kind == "sub" then options.recv_buffer = 8192 end
  if kind == "pub" then options.send_buffer = 8192 end
  return assert(nml.socket(kind, options))
end

-- A forwarder whose front listens on a fresh address of `transport` and whose back listens on
-- another; returns front, back and the two URLs.
function helper.forwarder(front_kind, back_kind, transport)
  local front, back = helper.raw(front_kind), helper.raw(back_kind)
  local front_url = helper.listen_fresh(front, transport)
  local back_url = helper.listen_fresh(back, transport)
  assert(nml.forward(front, back))
  return front, back, front_url, back_url
end

-- Calls `step(i)` for i = 1 to n (until it returns true) and gives the most the Lua heap held
-- meanwhile beyond what it held before, in bytes, sampled every `every` steps after a full
-- collection (what is held, not garbage not yet collected).
function helper.peak_held(n, every, step)
  collectgarbage()
  collectgarbage()
  local base, peak = collectgarbage("count"), 0
  for i = 1, n do
    if step(i) then break end
    if i % every == 0 then
      collectgarbage()
      peak = math.max(peak, collectgarbage("count") - base)
    end
  end
  return peak * 1024
end

-- A throwaway PKI (spec/support/make_certs.sh) in a fresh directory; returns its path, ending
-- in "/".
function helper.pki()
  local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
  local dir = helper.tmpname() .. "-pki/"
  local made = os.execute(here .. "/support/make_certs.sh " .. dir .. " >/dev/null")
  assert(made == true or made == 0, "openssl could not make the test certificates")
  return dir
end

-- A fresh FIFO's path (mkfifo).
function helper.mkfifo(suffix)
  local path = helper.tmpname() .. (suffix or "-fifo")
  local made = os.execute("mkfifo " .. path)
  assert(made == true or made == 0, "mkfifo " .. path)
  return path
end

-- The interpreter as user nobody can run it. One given by path may sit in a checkout nobody
-- can reach (OpenResty's LuaJIT, which tools/deps.sh unpacks into build/, statically linked):
-- then a copy in `dir`, a directory nobody can read.
function helper.lua_for_nobody(dir)
  if not helper.lua:find("/", 1, true) then return helper.lua end
  local made = os.execute(string.format("cp %s %s/lua && chmod 755 %s/lua", helper.lua, dir, dir))
  assert(made == true or made == 0, "cannot copy the interpreter for user nobody")
  return dir .. "/lua"
end

-- Runs `script` (a file in spec/support) with `args` as user nobody, from a directory that user
-- can read (a clone in a private directory hides the checkout from it), holding copies of
-- nml.so and the script; returns the child (io.popen, output and errors) and that directory.
-- nil when this is not root or setpriv is missing.
function helper.as_nobody(script, args)
  local uid = io.popen("id -u"):read("*l")
  local setpriv = io.popen("command -v setpriv"):read("*l")
  if uid ~= "0" or not setpriv then return nil end
  local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
  local dir = os.tmpname()
  os.remove(dir)
  local so = helper.cpath:match("([^;]*)%?%.so") .. "nml.so"
  assert(os.execute(string.format("mkdir -m 777 %s && cp %s %s/support/%s %s/ && chmod 644 %s/*",
    dir, so, here, script, dir, dir)))
  args = args:gsub("%$DIR", dir)
  local lua = helper.lua_for_nobody(dir)
  local child = assert(io.popen(string.format(
    "cd / && setpriv --reuid=65534 --regid=65534 --clear-groups env LUA_CPATH='%s/?.so' %s %s/%s %s 2>&1",
    dir, lua, dir, script, args)))
  return child, dir
end

-- The test-only C module of spec/support/cbuf.c (built by `make specs`): plain full userdata
-- buffers made by a module that is not nml.
function helper.cbuf()
  return require "cbuf"
end

return helper
