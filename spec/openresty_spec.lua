-- nml inside nginx: Debian's nginx and its Lua module on OpenResty's LuaJIT (tools/deps.sh
-- unpacks them into build/nginx-root) run the gateway of examples/openresty, whose config is
-- the example's own with this machine's paths put in. Requests go in with curl.
-- Runs on the LuaJIT stages only (the Makefile gives the other interpreters
-- --exclude-tags=nginx): nginx's LuaJIT loads the build of the interpreter running the spec.
local helper = require "helper"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local top = helper.run("cd " .. here .. "/.. && pwd"):match("^(.-)\n")
local root = top .. "/build/nginx-root"
local example = top .. "/examples/openresty"
local so_dir = helper.cpath:match("([^;]*)%?%.so")

local function sh(cmd)
  local out, ok = helper.run(cmd)
  assert(ok, cmd .. " failed: " .. out)
  return out
end

local function free_port()
  return tonumber(sh(helper.python ..
    [[ -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])']]))
end

-- Starts `cmd` in the background, its output in `log`; returns its pid.
local function start(cmd, log)
  return tonumber(sh(string.format("(%s) > %s 2>&1 & echo $!", cmd, log)))
end

-- Whether process `pid` runs: a zombie no one reaps (an orphan, where PID 1 reaps nothing)
-- does not.
local function alive(pid)
  local f = io.open("/proc/" .. pid .. "/stat")
  if not f then return false end
  local state = f:read("*a"):match("^%d+ %b() (%a)")
  f:close()
  return state ~= nil and state ~= "Z"
end

local function wait_for(what, check)
  for _ = 1, 100 do
    if check() then return end
    sh("sleep 0.05")
  end
  error("timed out waiting for " .. what)
end

local function stop(pid)
  if pid and alive(pid) then
    helper.run("kill " .. pid)
    wait_for("pid " .. pid .. " to exit", function() return not alive(pid) end)
  end
end

-- Replaces `from` (plain text) by `to` in `text`, exactly once: the example may not drift
-- from what the spec expects of it.
local function replace(text, from, to)
  local at = assert(text:find(from, 1, true), "examples/openresty/nginx.conf lacks: " .. from)
  assert(not text:find(from, at + 1, true), "nginx.conf has more than one: " .. from)
  return text:sub(1, at - 1) .. to .. text:sub(at + #from)
end

-- A directory with the example's config for this machine, the given Lua put in front of the
-- /work location (`locations`) and after `require "nml"` in the master (`in_master`).
local function configure(dir, port, workers, options)
  local conf = helper.read_file(example .. "/nginx.conf")
  local modules = root .. "/usr/lib/nginx/modules/"
  local user = sh("id -u"):match("^0\n") and "user root;\n" or ""
  conf = replace(conf, "include /etc/nginx/modules-enabled/*.conf;",
    user .. "load_module " .. modules .. "ndk_http_module.so;\n" ..
    "load_module " .. modules .. "ngx_http_lua_module.so;")
  conf = replace(conf, 'workers = { "/tmp/nml-worker-1.sock", "/tmp/nml-worker-2.sock" },',
    ('workers = { "%s", "%s" },'):format(workers[1], workers[2]))
  conf = replace(conf, "listen 127.0.0.1:8080;", "listen 127.0.0.1:" .. port .. ";")
  conf = replace(conf, 'lua_package_path "$prefix/?.lua;;";', string.format(
    'lua_package_path "%s/?.lua;%s/usr/share/lua/5.1/?.lua;;";', example, root))
  conf = replace(conf, 'lua_package_cpath ";;";', string.format('lua_package_cpath "%s?.so;;";', so_dir))
  conf = replace(conf, "read_timeout = 5000,", "read_timeout = 1000,")
  conf = replace(conf, '    require "nml"\n', '    require "nml"\n' .. (options.in_master or ""))
  conf = replace(conf, "    location = /work {", (options.locations or "") .. "    location = /work {")
  sh("mkdir -p " .. dir .. "/logs")
  local f = assert(io.open(dir .. "/nginx.conf", "wb"))
  f:write(conf)
  f:close()
end

-- POSTs `body` (nil: a GET); returns the status and the decoded JSON answer.
local function request(port, path, body)
  local nml = require "nml"
  local file = os.tmpname()
  local cmd = string.format("curl -s -m 10 -o %s -w '%%{http_code}' http://127.0.0.1:%d%s", file, port, path)
  if body then
    local input = os.tmpname()
    local f = assert(io.open(input, "wb"))
    f:write(body)
    f:close()
    cmd = cmd .. " --data-binary @" .. input
  end
  local status = tonumber(sh(cmd))
  local answer = helper.read_file(file)
  os.remove(file)
  return status, (answer ~= "" and nml.decode(answer, "JSON")) or answer
end

describe("nml inside nginx #nginx", function()
  local dir, port, nginx, log
  local workers, worker_pids = {}, {}

  local function start_worker(i)
    local luv_path = "/usr/lib/x86_64-linux-gnu/lua/" .. _VERSION:match("%d+%.%d+") .. "/?.so"
    if i == 1 then
      worker_pids[1] = start(string.format("LUA_CPATH='%s;%s' exec %s %s/worker.lua %s --faults",
        helper.cpath, luv_path, helper.lua, example, workers[1]), dir .. "/worker1.log")
    else
      worker_pids[2] = start(string.format("PYTHONPATH=%s/python exec %s %s/worker.py %s --faults",
        top, helper.python, example, workers[2]), dir .. "/worker2.log")
    end
    wait_for("worker " .. i, function()
      return helper.read_file(dir .. "/worker" .. i .. ".log"):find("ready", 1, true) ~= nil
    end)
  end

  local function start_nginx(options)
    port = free_port()
    configure(dir, port, workers, options)
    log = dir .. "/logs/error.log"
    local pid = start(string.format(
      "LD_LIBRARY_PATH=%s/usr/lib/x86_64-linux-gnu exec %s/usr/sbin/nginx -p %s -c %s/nginx.conf -e %s",
      root, root, dir, dir, log), dir .. "/nginx.out")
    wait_for("nginx to listen", function()
      assert(alive(pid), "nginx exited: " .. helper.read_file(dir .. "/nginx.out"))
      return select(2, helper.run("curl -s -o /dev/null http://127.0.0.1:" .. port .. "/work"))
    end)
    return pid
  end

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    sh("mkdir -p " .. dir)
    workers = { dir .. "/w1.sock", dir .. "/w2.sock" }
    start_worker(1)
    start_worker(2)
    nginx = start_nginx {
      -- nml required in the master (as the example does), its sockets opened in a worker
      locations = [[
    location = /nng {
      content_by_lua_block {
        local nml = require "nml"
        local url = "inproc://nginx-" .. ngx.worker.pid()
        local a, b = nml.socket("pair"), nml.socket("pair")
        assert(a:listen(url))
        assert(b:dial(url))
        assert(b:send({ from = "worker" }))
        ngx.say(a:recv().from)
        a:close()
        b:close()
      }
    }
]],
    }
  end)

  teardown(function()
    stop(nginx)
    stop(worker_pids[1])
    stop(worker_pids[2])
    helper.run("rm -rf " .. dir)
  end)

  it("answers JSON from the Lua and the Python worker, over connections it keeps open", function()
    local seen = {}
    for i = 1, 16 do
      local status, answer = request(port, "/work", ('{"op": "sum", "values": [%d, 2.5, 3]}'):format(i))
      assert.are.equal(200, status)
      assert.are.equal(i + 5.5, answer.sum)
      seen[answer.worker] = math.max(seen[answer.worker] or 0, answer.connections)
    end
    assert.is_not_nil(seen.lua, "no answer from worker.lua")
    assert.is_not_nil(seen.python, "no answer from worker.py")
    -- two nginx worker processes, each keeping one connection per worker for the next request
    assert.is_true(seen.lua <= 2 and seen.python <= 2,
      ("connections were not reused: lua %d, python %d"):format(seen.lua, seen.python))
  end)

  it("says what is wrong with a request that is no JSON object", function()
    local status, answer = request(port, "/work", "{not json")
    assert.are.equal(400, status)
    assert.matches("the body is not a JSON object", answer.error, 1, true)
    status, answer = request(port, "/work")
    assert.are.equal(405, status)
    assert.matches("POST a JSON object", answer.error, 1, true)
  end)

  -- A request that fails with `status`, saying `says`; then nginx answers the next ones.
  local function fails_then_serves(body, status, says)
    local got, answer = request(port, "/work", body)
    assert.are.equal(status, got)
    assert.matches(says, answer.error, 1, true)
    for i = 1, 4 do
      got, answer = request(port, "/work", ('{"op": "sum", "values": [%d]}'):format(i))
      assert.are.equal(200, got)
      assert.are.equal(i, answer.sum)
    end
    assert.is_true(alive(nginx))
  end

  it("answers 504 when a worker takes longer than the read timeout, and serves on", function()
    fails_then_serves('{"op": "sleep", "seconds": 3}', 504, "did not answer in time")
  end)

  it("answers 502 when a worker answers what is no nml message, and serves on", function()
    fails_then_serves('{"op": "garbage"}', 502, "answered something that is not an nml message")
  end)

  it("answers 502 as JSON when a worker's answer cannot be written as JSON, and serves on", function()
    fails_then_serves('{"op": "nan"}', 502, "the worker answered what JSON cannot hold")
  end)

  it("never gives a client another request's answer, though a worker answers twice", function()
    local status, answer = request(port, "/work", '{"op": "twice", "values": [7]}')
    assert.are.equal(200, status)
    local out_of_step = 0 -- the worker sends the second before its next answer on that connection
    for i = 1, 6 do
      status, answer = request(port, "/work", ('{"op": "sum", "values": [%d]}'):format(i))
      if status == 200 then
        assert.are.equal(i, answer.sum)
      else
        assert.are.equal(502, status)
        assert.matches("answered out of step", answer.error, 1, true)
        out_of_step = out_of_step + 1
      end
    end
    assert.is_true(out_of_step >= 1, "the stale answer was never seen")
  end)

  it("answers 502 when a worker dies mid-request; restarted, it is reached again", function()
    local status, answer = request(port, "/work", '{"op": "crash"}')
    assert.are.equal(502, status)
    assert.matches("closed the connection before answering", answer.error, 1, true)
    for _, path in ipairs(workers) do -- where the workers are is for nginx's log only
      assert.is_nil(answer.error:find(path, 1, true))
    end
    local dead
    wait_for("a worker to exit", function()
      dead = (not alive(worker_pids[1]) and 1) or (not alive(worker_pids[2]) and 2)
      return dead
    end)
    -- until it is back, the requests that go to it fail, and say so
    local failed = 0
    for i = 1, 6 do
      status, answer = request(port, "/work", ('{"op": "sum", "values": [%d]}'):format(i))
      if status ~= 200 then
        assert.are.equal(502, status)
        assert.matches("unreachable", answer.error, 1, true)
        failed = failed + 1
      end
    end
    assert.is_true(failed > 0 and failed < 6, failed .. " of 6 failed")
    start_worker(dead)
    -- the connections nginx kept to the dead worker are found gone and replaced
    for i = 1, 10 do
      status, answer = request(port, "/work", ('{"op": "sum", "values": [%d]}'):format(i))
      assert.are.equal(200, status, answer.error)
      assert.are.equal(i, answer.sum)
    end
  end)

  it("keeps its workers when a peer hangs up before its answer (SIGPIPE killed worker.lua)", function()
    local nml = require "nml"
    -- the request and the hang-up arrive together: the answer is written to a closed socket
    local frame = helper.hex(nml.frame(nml.wrap({ id = 1, request = { op = "sum", values = { 1 } } })))
    for i = 1, 2 do
      sh(helper.python .. [[ -c 'import socket, sys
for _ in range(50):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(bytes.fromhex(sys.argv[2])); s.close()' ]]
        .. workers[i] .. " " .. frame)
    end
    sh("sleep 0.6")
    assert.is_true(alive(worker_pids[1]), "worker.lua died writing to a peer that had gone")
    assert.is_true(alive(worker_pids[2]), "worker.py died writing to a peer that had gone")
  end)

  it("opens NNG sockets in a worker when the master only required nml", function()
    local status, answer = request(port, "/nng")
    assert.are.equal(200, status)
    assert.are.equal("worker\n", answer)
  end)

  it("refuses, clearly, a socket the master opened, and nginx serves on", function()
    local other = dir .. "/master"
    sh("mkdir -p " .. other)
    local saved_dir, saved_port, saved_log = dir, port, log
    dir = other
    local pid = start_nginx {
      in_master = '    master_socket = require("nml").socket("pair")\n',
      locations = [[
    location = /master {
      content_by_lua_block { ngx.say(tostring(master_socket:send("hello"))) }
    }
]],
    }
    local ok, err = pcall(function()
      local status = request(port, "/master")
      assert.are.equal(500, status)
      assert.matches("forked after nml started NNG in it", helper.read_file(log), 1, true)
      assert.matches("init_worker_by_lua, not init_by_lua", helper.read_file(log), 1, true)
      -- nml.stream needs no NNG: the gateway still works in this nginx
      local answer
      status, answer = request(port, "/work", '{"op": "sum", "values": [1, 2]}')
      assert.are.equal(200, status)
      assert.are.equal(3, answer.sum)
      assert.is_true(alive(pid))
    end)
    stop(pid)
    dir, port, log = saved_dir, saved_port, saved_log
    assert(ok, err)
  end)
end)
