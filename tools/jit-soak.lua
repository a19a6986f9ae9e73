-- make soak-jit: LuaJIT's two MessagePack codecs side by side (spec/support/differential.lua)
-- with the JIT forced hot (every loop and side exit compiled at once), in child processes with
-- a new seed each, so that a crash of compiled code is counted rather than ending the run.
--   luajit tools/jit-soak.lua SECONDS [CASES [JOBS]]   the driver: runs children until SECONDS
--                                                     pass; exits 1 on any crash or difference
--   luajit tools/jit-soak.lua child SEED CASES         one run (started by the driver)
-- A failed run prints its seed: `luajit tools/jit-soak.lua child SEED CASES` repeats it.
local root = arg[0]:match("^(.-)tools/[^/]*$") or "./"
package.path = root .. "spec/?.lua;" .. package.path

if arg[1] == "child" then
  jit.opt.start("hotloop=1", "hotexit=1")
  local nml = require "nml"
  local differential = require "support.differential"
  local failure = differential.run(nml, tonumber(arg[2]), tonumber(arg[3]))
  if failure then
    print(failure)
    os.exit(1)
  end
  print("ok")
  os.exit(0)
end

io.stdout:setvbuf("line")
local seconds = tonumber(arg[1]) or 60
local cases = tonumber(arg[2]) or 4000
local jobs = tonumber(arg[3]) or 2
local deadline = os.time() + seconds
local interpreter = arg[-1] or "luajit"

-- One child, in the background: its output and exit status land in files.
local function start(seed, slot)
  local out = ("%s/jit-soak.%d"):format(os.getenv("TMPDIR") or "/tmp", slot)
  os.remove(out .. ".status")
  os.execute(("(%s %stools/jit-soak.lua child %d %d > %s.out 2>&1; echo $? > %s.status.tmp; "
    .. "mv %s.status.tmp %s.status) &"):format(interpreter, root, seed, cases, out, out, out, out))
  return out
end

local function read(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local runs, crashes, differences = 0, 0, 0
local base = os.time() * 1000 % 1000000000
local running, next_seed = {}, 0
for slot = 1, jobs do running[slot] = false end
while true do
  local busy = false
  for slot = 1, jobs do
    local run = running[slot]
    if run then
      local status = read(run.out .. ".status")
      if status then
        local code = tonumber(status) or -1
        runs = runs + 1
        if code ~= 0 then
          local output = read(run.out .. ".out") or ""
          if code > 128 or code < 0 then
            crashes = crashes + 1
            print(("seed %d: CRASHED (exit %d): %s"):format(run.seed, code, output:sub(-300)))
          else
            differences = differences + 1
            print(("seed %d: the codecs differ: %s"):format(run.seed, output:sub(1, 600)))
          end
        end
        running[slot] = false
      else
        busy = true
      end
    end
    if not running[slot] and os.time() < deadline then
      next_seed = next_seed + 1
      local seed = base + next_seed
      running[slot] = { seed = seed, out = start(seed, slot) }
      busy = true
    end
  end
  if not busy then break end
  os.execute("sleep 0.2")
end
print(("jit-soak: %d runs of %d cases, %d crashed, %d differed"):format(runs, cases, crashes, differences))
os.exit((crashes == 0 and differences == 0) and 0 or 1)
