-- Lua errors raised inside nml calls: finalizers that raise, a string longer than the
-- interpreter allows, memory running out part way. Run by spec/lua_errors_spec.lua in a child
-- process, so that an abort is a failed exit rather than the end of busted.
--   lua_errors.lua CASE     prints "ok ..." and exits 0 when the process lived and nml works
local nml = require "nml"

local case = assert(arg[1], "usage: lua_errors.lua CASE")
if os.getenv("NML_CODEC") then nml.config { codec = os.getenv("NML_CODEC") } end

-- An object whose finalizer raises while `armed` (only inside the nml call under test; 5.1
-- and LuaJIT run __gc on userdata only).
local armed = false
local function explode()
  if armed then error("boom in __gc") end
end

local function bomb()
  if newproxy then
    local p = newproxy(true)
    getmetatable(p).__gc = explode
    return p
  end
  return setmetatable({}, { __gc = explode })
end

local function plant(n)
  for _ = 1, n do bomb() end
end

-- A value whose decoding allocates a lot: many strings and tables.
local function big_value(with_blob)
  local t = { blob = with_blob and string.rep("x", 1048576) or nil, items = {} }
  for i = 1, 3000 do t.items[i] = { id = i, name = "item " .. i, tags = { "a" .. i, "b" } } end
  return t
end

local function rss_kib()
  local f = io.open("/proc/self/status")
  if not f then return 0 end
  local kib = tonumber(f:read("*a"):match("VmRSS:%s*(%d+)"))
  f:close()
  return kib
end

-- nml still packs, sends and receives after whatever happened.
local function still_works()
  local a = assert(nml.socket("pair", { recv_timeout = 2000 }))
  local b = assert(nml.socket("pair", { recv_timeout = 2000 }))
  local url = "inproc://still-works-" .. tostring(os.clock())
  assert(a:listen(url))
  assert(b:dial(url))
  assert(a:send({ 1, "two", { three = 3 } }))
  local v = assert(b:recv())
  assert(v[2] == "two" and v[3].three == 3, "round trip after the errors")
  assert(nml.unpack(nml.pack("again")) == "again")
  a:close()
  b:close()
end

-- Runs f once per round with fresh bombs planted; counts the rounds a finalizer's error ended.
local function with_bombs(rounds, f)
  local errors = 0
  for _ = 1, rounds do
    plant(300)
    local ok, err = pcall(function()
      armed = true
      local results = { f() }
      armed = false
      return results
    end)
    armed = false
    if not ok then
      assert(tostring(err):find("boom in __gc", 1, true), "unexpected error: " .. tostring(err))
      errors = errors + 1
    end
  end
  collectgarbage()
  collectgarbage()
  return errors
end

local cases = {}

function cases.gc_unpack()
  local data = nml.pack(big_value(false))
  local errors = with_bombs(30, function() return nml.unpack(data) end)
  return errors
end

function cases.gc_unpack_message()
  local data = nml.pack(big_value(false))
  local m = nml.allocmsg(#data)
  m:write(0, data)
  local errors = with_bombs(30, function() return nml.unpack(m) end)
  assert(nml.unpack(m).items[3000].id == 3000, "the message is still readable")
  return errors
end

function cases.gc_pack()
  local value = big_value(false)
  local errors = with_bombs(30, function() return nml.pack(value) end)
  assert(#nml.pack(value) > 0)
  return errors
end

-- Every receive is decoded while finalizers raise; a receive cut short must not leak its
-- message. Each carries a 40 MiB buffer (received as a view, so no 40 MiB Lua string upsets
-- the collector's pace), over glibc's largest mmap threshold: a message freed goes back to the
-- system, a leaked one shows in the RSS.
function cases.gc_recv()
  local a = assert(nml.socket("pair", { recv_timeout = 5000 }))
  local b = assert(nml.socket("pair", { recv_timeout = 5000 }))
  assert(a:listen("inproc://gc-recv"))
  assert(b:dial("inproc://gc-recv"))
  local value = big_value(false)
  value.blob = { buffer = nml.allocmsg(40 * 1048576), buffer_ud_type = "blob" }
  assert(a:send(value))
  assert(b:recv()) -- warm up
  collectgarbage()
  collectgarbage()
  local before = rss_kib()
  local errors = with_bombs(12, function()
    assert(a:send(value))
    return assert(b:recv())
  end)
  local grown = rss_kib() - before
  assert(grown < 40 * 1024, string.format("RSS grew by %d KiB over 12 receives of 40 MiB, "
    .. "%d cut short by a finalizer", grown, errors))
  a:close()
  b:close()
  return errors
end

-- LuaJIT refuses strings of 2 GiB or more: reading that much out of a message raises.
function cases.too_long()
  local m = assert(nml.allocmsg(2 ^ 31))
  local ok, err = pcall(m.tostring, m)
  assert(not ok, "a 2 GiB string was made")
  assert(m:read(0, 4) == "\0\0\0\0", "the message is not left busy")
  m:free()
  return tostring(err):match("[^\n]*")
end

-- Memory runs out at every point of a call in turn: each attempt succeeds or raises "not
-- enough memory", and afterwards the message, the sockets and the module are all usable.
function cases.memory()
  local memlimit = require "memlimit"
  local data = nml.pack(big_value(false))
  local m = nml.allocmsg(#data)
  m:write(0, data)
  local a = assert(nml.socket("pair", { recv_timeout = 5000 }))
  local b = assert(nml.socket("pair", { recv_timeout = 5000 }))
  assert(a:listen("inproc://memory"))
  assert(b:dial("inproc://memory"))
  local calls = {
    unpack = function() return nml.unpack(data) end,
    unpack_message = function() return nml.unpack(m) end,
    read = function() return m:read(0, #data) end,
    tostring = function() return m:tostring() end,
    pack = function() return nml.pack(big_value(false)) end,
    recv = function() return b:recv() end,
    socket = function() return nml.socket("pair") end,
    allocmsg = function() return nml.allocmsg(100) end,
    pack_with_allocator = function()
      return nml.pack(big_value(false), { malloc = nml.allocmsg, realloc = nml.reallocmsg, free = nml.freemsg })
    end,
    register_protocol = function()
      return nml.register_protocol("memory-test", { encode = tostring, decode = tostring, aliases = { "mt1", "mt2" } })
    end,
  }
  local failed = 0
  for name, call in pairs(calls) do
    for budget = 0, 400000, 25000 do
      if name == "recv" then assert(a:send(data, "string")) end
      collectgarbage()
      memlimit.set(budget)
      local ok, err = pcall(call)
      memlimit.clear()
      if not ok then
        failed = failed + 1
        assert(tostring(err):find("memory", 1, true), name .. ": " .. tostring(err))
        if name == "recv" then b:recv { dontwait = true } end -- whatever is left
      end
    end
    assert(m:read(0, 1) == data:sub(1, 1), name .. ": the message is left busy")
  end
  assert(failed > 0, "the budget never ran out")
  a:close()
  b:close()
  return failed .. " calls ran out of memory"
end

-- Memory nml's Rust side asks for, run out (the spec sets an address-space limit): the
-- growth of an unpacker's bytes, of a packed value and of JSON text is refused with "nomem"
-- where Rust's allocator would abort the process.
function cases.rust_memory()
  -- NNG starts its threads first: NNG's own start-up, run out of memory, aborts (its
  -- pollq_sysinit failing calls a sysfini that panics), a case of its own, not this one
  nml.socket("pair"):close()
  local chunk = string.rep("\1", 32 * 1048576)
  local t = {}
  for i = 1, 300000 do t[i] = "string " .. i end
  local hog = {}
  pcall(function()
    while true do hog[#hog + 1] = string.rep("h", 1048576) .. #hog end
  end)
  for _ = 1, 4 do hog[#hog] = nil end -- about 4 MiB free again, for Lua
  collectgarbage()
  collectgarbage()
  local results = {}
  for name, call in pairs {
    feed = function() return nml.unpacker { max_size = 0 }:feed(chunk) end,
    json = function() return nml.encode(t, "JSON") end,
    pack = function() return nml.pack(t) end,
  } do
    -- nomem from nml's side, or Lua's own "not enough memory" where Lua ran out first
    local ok, v, err, code = pcall(call)
    if ok then
      assert(v == nil and code == "nomem", name .. ": " .. tostring(v) .. " " .. tostring(err))
    else
      assert(tostring(v):find("not enough memory", 1, true), name .. " raised: " .. tostring(v))
    end
    results[#results + 1] = name
  end
  hog = nil
  collectgarbage()
  table.sort(results)
  return table.concat(results, ", ") .. " ran out of memory"
end

local result = assert(cases[case], "no case " .. case)()
still_works()
print("ok " .. tostring(result))
