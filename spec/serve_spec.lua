-- nml.serve: a rep or respondent socket answered by a handler, in this thread or through
-- contexts in luv, cqueues and copas; a handler that raises gets its client an error reply and
-- leaves the server serving.
local helper = require "helper"
local nml = helper.nml

-- A rep socket with `n` req clients, each with one request sent: served in this thread,
-- the requests are already waiting when nml.serve starts.
local function rep_with_requests(requests, options)
  local rep = helper.socket("rep", options)
  local url = helper.listen_fresh(rep, "inproc")
  local clients = {}
  for i, request in ipairs(requests) do
    local req = helper.socket("req", options)
    assert(req:dial(url))
    assert(req:send(request))
    clients[i] = req
  end
  return rep, clients
end

-- Serves until the handler has seen `n` requests, then stops.
local function stop_after(n, handler)
  local seen = 0
  return function(request, protocol, server)
    seen = seen + 1
    if seen == n then server:stop() end
    return handler(request, protocol, server)
  end
end

describe("nml.serve refuses misuse", function()
  local rep = helper.socket("rep")
  local function handler() end

  it("on a socket that takes no requests, naming it", function()
    for _, kind in ipairs { "req", "pull", "pair", "pub" } do
      assert.has_error(function() nml.serve(helper.socket(kind), {}, handler) end,
        "bad argument #1 to 'serve' (a rep or respondent socket expected, got nml.socket ("
          .. kind .. "))")
    end
    assert.has_error(function() nml.serve("rep", {}, handler) end)
  end)

  it("with bad options or no handler", function()
    local function refused(options, message, h)
      assert.has_error(function() nml.serve(rep, options, h == nil and handler or h) end, message)
    end
    refused(nil, "bad argument #2 to 'serve' (options table expected, got nil)")
    refused({ context = 2 }, "bad argument #2 to 'serve' (unknown option \"context\")")
    for _, n in ipairs { 0, 1.5, -1, "2" } do
      assert.has_error(function() nml.serve(rep, { contexts = n, loop = require "luv" }, handler) end,
        "bad argument #2 to 'serve' (contexts: a whole number of 1 or more expected)")
    end
    assert.has_error(function() nml.serve(rep, { contexts = 4 }, handler) end,
      "bad argument #2 to 'serve' (contexts = 4 needs a loop: without one, requests are answered one at a time)")
    refused({ on_error = "log" }, "bad argument #2 to 'serve' (on_error: a function expected)")
    refused({}, "bad argument #3 to 'serve' (handler function expected, got boolean)", false)
  end)

  it("with a loop it does not know, and with the cqueues module where a controller is needed", function()
    assert.has_error(function() nml.serve(rep, { loop = {} }, handler) end)
    local no_fields = setmetatable({}, { __index = function() error("no fields") end })
    local ok, err = pcall(nml.serve, rep, { loop = no_fields }, handler)
    assert.is_false(ok)
    assert.matches("a luv, cqueues or copas loop expected", err)
    assert.has_error(function() nml.serve(rep, { loop = require "cqueues" }, handler) end,
      "bad argument #2 to 'serve' (loop: a cqueues controller (cqueues.new()) expected, not the module)")
    assert.has_error(function() nml.waiter(42) end)
  end)

  it("returns nil, msg, \"closed\" for a closed socket", function()
    local closed = helper.socket("rep")
    closed:close()
    local server, err, code = nml.serve(closed, {}, handler)
    assert.is_nil(server)
    assert.equals("closed", code, err)
  end)
end)

describe("nml.serve in this thread", function()
  it("answers a raising handler's client with an error reply, tells on_error, and goes on", function()
    local rep, clients = rep_with_requests { { op = "raise" }, { op = "add", a = 2, b = 3 } }
    local errors = {}
    local function on_error(message, request) errors[#errors + 1] = { message, request } end
    local server = nml.serve(rep, { on_error = on_error },
      stop_after(2, function(request)
        if request.op == "raise" then error({ reason = "a table" }) end
        return { sum = request.a + request.b }
      end))
    local answers = {}
    for i, req in ipairs(clients) do answers[i] = { req:recv() } end
    local first = answers[1][1] == nml.null and answers[2] or answers[1]
    assert.equals("nml.error", first[2])
    assert.equals("the handler raised a table", first[1])
    local second = first == answers[1] and answers[2] or answers[1]
    assert.same({ sum = 5 }, second[1])
    assert.equals("MessagePack", second[2])
    assert.equals(1, #errors)
    assert.equals("raise", errors[1][2].op)
    assert.equals(1, server.served)
    assert.equals(1, server.failed)
    assert.is_true(server:result())
  end)

  it("sends an error reply for a reply that cannot be packed, and nothing breaks", function()
    local rep, clients = rep_with_requests { { n = 1 } }
    local errors = {}
    nml.serve(rep, { on_error = function(m) errors[#errors + 1] = m end },
      stop_after(1, function() return { f = print } end))
    local value, protocol = clients[1]:recv()
    assert.equals("nml.error", protocol)
    assert.matches("cannot pack a function value", value)
    assert.equals(value, errors[1])
  end)

  it("answers a request it cannot decode with an error reply, and on_error gets its bytes", function()
    local rep = helper.socket("rep")
    local url = helper.listen_fresh(rep, "inproc")
    local req = helper.socket("req", { tagged = false, protocol = "string" })
    assert(req:dial(url))
    assert(req:send("\193\1\217\255 a str8 cut short"))
    local got
    nml.serve(rep, { on_error = function(m, raw, server)
      got = { m, raw }
      server:stop()
    end }, function() error("the handler ran") end)
    assert.matches("the request could not be read", got[1])
    assert.equals("\193\1\217\255 a str8 cut short", got[2])
    local value = req:recv()
    assert.matches("the request could not be read", value)
  end)
end)

describe("nml.serve in this thread, at the edges", function()
  it("goes on when on_error itself raises", function()
    local rep, clients = rep_with_requests { { op = "raise" }, { n = 1 } }
    local stderr = io.stderr
    io.stderr = io.open("/dev/null", "w") -- luacheck: ignore 122 (the report of on_error's failure)
    local server = nml.serve(rep, { on_error = function() error("the log is down") end },
      stop_after(2, function(request)
        if request.op == "raise" then error("raised", 0) end
        return request.n
      end))
    io.stderr:close()
    io.stderr = stderr -- luacheck: ignore 122
    local replies = {}
    for _, req in ipairs(clients) do
      local value, protocol = req:recv()
      replies[protocol] = value
    end
    assert.same({ ["nml.error"] = "raised", MessagePack = 1 }, replies)
    assert.equals(1, server.served)
  end)

  it("gives a nil reply as nml.null, and the protocol the handler names", function()
    local rep, clients = rep_with_requests { { want = "nothing" }, { want = "json" } }
    nml.serve(rep, {}, stop_after(2, function(request)
      if request.want == "json" then return { ok = true }, "JSON" end
    end))
    local a, pa = clients[1]:recv()
    local b, pb = clients[2]:recv()
    assert.equals(nml.null, a)
    assert.equals("MessagePack", pa)
    assert.same({ ok = true }, b)
    assert.equals("JSON", pb)
  end)

  it("ends with nil, msg, \"closed\" when the socket closes under it", function()
    local rep, clients = rep_with_requests { { n = 1 } }
    local server = nml.serve(rep, { on_error = function() end }, function()
      rep:close()
      return "late"
    end)
    local ok, err, code = server:result()
    assert.is_nil(ok)
    assert.equals("closed", code, err)
    assert.equals(1, server.failed) -- its reply could not be sent
    assert.matches("nml.server %(stopped, 0 served, 1 failed%)", tostring(server))
    clients[1]:setopt("recv_timeout", 50)
    assert.is_nil(clients[1]:recv())
  end)

  it("answers surveys on a respondent socket", function()
    local respondent = helper.socket("respondent")
    local url = helper.listen_fresh(respondent, "inproc")
    local surveyor = helper.socket("surveyor", { survey_time = 2000 })
    assert(surveyor:dial(url))
    assert(surveyor:send("who"))
    nml.serve(respondent, {}, stop_after(1, function(question) return question .. ": me" end))
    assert.equals("who: me", surveyor:recv())
  end)
end)

-- Each loop runs in a process of its own (spec/support/serve_in_loop.lua), bounded in time: 8
-- contexts, each handler waiting through the loop until all 8 are busy, then a raising handler
-- and a stop, after which the loop must end by itself.
describe("nml.serve in an event loop", function()
  local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
  local function serve_in(loop, transport)
    local url = transport == "tcp" and "tcp://127.0.0.1:0" or helper.ipc_url()
    -- Debian's copas is packaged for Lua 5.1 and 5.2 only; it is plain Lua, and runs on 5.4.
    local path = _VERSION == "Lua 5.4" and "LUA_PATH='/usr/share/lua/5.2/?.lua;/usr/share/lua/5.3/?.lua;;' " or ""
    return helper.run(string.format("%sLUA_CPATH='%s;;' timeout 30 %s %s/support/serve_in_loop.lua %s %s",
      path, helper.cpath, helper.lua, here, loop, url))
  end

  for _, loop in ipairs { "luv", "cqueues", "copas" } do
    it("under " .. loop .. ": 8 contexts at once, an error reply, a stop that ends the loop", function()
      local out, ok = serve_in(loop, loop == "copas" and "tcp" or "ipc")
      assert.is_true(ok, out)
      assert.matches("sum\t72\n", out)
      assert.matches("raise\tno such thing\tnml.error", out)
      assert.matches("stop\tstopping\tMessagePack", out)
      assert.matches("most at once\t8\n", out)
      assert.matches("errors\tno such thing\n", out)
      assert.matches("result\ttrue\n", out)
      assert.matches("nml.server %(stopped, 9 served, 1 failed%)", out)
    end)
  end

  it("nml.waiter takes the loop itself", function()
    local uv = require "luv"
    local previous = nml.waiter(uv)
    local pull, push = helper.pair_of("pull", "push", "inproc")
    local got
    coroutine.wrap(function() got = nml.await_recv(pull) end)()
    assert.is_nil(got)
    assert(push:send("through luv"))
    uv.run()
    assert.equals("through luv", got)
    nml.waiter(previous)
  end)

  it("under copas 1.x, a wait with a timeout raises: it has no timers", function()
    local path = package.path
    if _VERSION == "Lua 5.4" then package.path = "/usr/share/lua/5.2/?.lua;/usr/share/lua/5.3/?.lua;" .. path end
    local ok, copas = pcall(require, "copas")
    package.path = path
    if not ok then return pending("copas is not installed for " .. _VERSION) end
    if copas.sleep then return pending("this copas has timers") end
    local previous = nml.waiter(copas)
    local pull = helper.socket("pull")
    helper.listen_fresh(pull, "inproc")
    local co = coroutine.create(function() return nml.await(pull, "recv", 10) end)
    local resumed, err = coroutine.resume(co)
    nml.waiter(previous)
    assert.is_false(resumed)
    assert.matches("has no timers, so a wait under it cannot time out", err)
  end)
end)

-- What the outside attack on nml.serve found (each failed on the build before its fix).
describe("nml.serve under attack", function()
  it("answers a request over recv_max_size with an error reply, and goes on serving", function()
    local rep, clients = rep_with_requests({ string.rep("x", 5000), { n = 1 } }, { recv_max_size = 1000 })
    local errors = {}
    local server = nml.serve(rep, { on_error = function(m) errors[#errors + 1] = m end },
      stop_after(1, function(request) return request.n end))
    local big, protocol = clients[1]:recv()
    assert.equals("nml.error", protocol)
    assert.matches("larger than recv_max_size", big)
    assert.equals(1, clients[2]:recv())
    assert.is_true(server:result())
    assert.matches("larger than recv_max_size", errors[1])
  end)

  it("keeps a raised table's address from the client, and survives a __tostring that raises", function()
    local bad = setmetatable({}, { __tostring = function() error("tostring exploded") end })
    local shown = setmetatable({}, { __tostring = function() return "a shown error" end })
    local raised = { {}, bad, shown }
    local rep, clients = rep_with_requests { { i = 1 }, { i = 2 }, { i = 3 } }
    local errors = {}
    nml.serve(rep, { on_error = function(m) errors[#errors + 1] = m end },
      stop_after(3, function(request) error(raised[request.i]) end))
    local replies = {}
    for i, req in ipairs(clients) do
      local value, protocol = req:recv()
      assert.equals("nml.error", protocol)
      replies[i] = value
    end
    table.sort(replies)
    assert.same({ "a shown error", "the handler raised a table", "the handler raised a table" }, replies)
    assert.equals(3, #errors)
    table.sort(errors)
    assert.matches("^%(an error whose __tostring raised", errors[1])
    assert.matches("^a shown error", errors[2])
    assert.matches("^table: ", errors[3])
  end)

  it("answers with an error reply when the handler names a protocol that does not exist", function()
    local rep, clients = rep_with_requests { { n = 1 } }
    nml.serve(rep, { on_error = function() end }, stop_after(1, function() return 1, "no-such-protocol" end))
    local value, protocol = clients[1]:recv()
    assert.equals("nml.error", protocol)
    assert.matches("unknown protocol", value)
  end)

  it("keeps nml.error nml's own: it and its loose spellings cannot be registered", function()
    for _, name in ipairs { "nml.error", "NML_ERROR", "NMLError", "lua-nml-error" } do
      assert.has_error(function() nml.register_protocol(name, { encode = tostring, decode = tostring }) end,
        "bad argument #1 to 'register_protocol' (" .. name
          .. " means nml.error, the protocol of nml.serve's error replies)")
    end
    assert.has_error(function()
      nml.register_protocol("mine", { encode = tostring, decode = tostring, aliases = { "nml-error" } })
    end)
  end)

  it("ends with \"closed\", and lets the loop end, when the socket is closed under it", function()
    local uv = require "luv"
    local rep = helper.socket("rep")
    helper.listen_fresh(rep, "inproc")
    local server = nml.serve(rep, { loop = uv, contexts = 4 }, function() end)
    local timer = uv.new_timer()
    timer:start(50, 0, function()
      timer:close()
      rep:close()
    end)
    local check, started = uv.new_timer(), nml.clock()
    check:start(20, 20, function() -- a server that never ends fails the spec instead of hanging
      if server:result() ~= false or nml.clock() - started > 5 then
        check:close()
      end
    end)
    uv.run()
    assert.is_true(nml.clock() - started < 4, "the server did not end")
    local ok, _, code = server:result()
    assert.is_nil(ok)
    assert.equals("closed", code)
  end)
end)

describe("nml.await in a loop, after the newcomer's trial", function()
  it("keeps the socket's recv_timeout in await_recv", function()
    local uv = require "luv"
    local previous = nml.waiter(uv)
    local pull = helper.socket("pull", { recv_timeout = 30 })
    helper.listen_fresh(pull, "inproc")
    local got
    coroutine.wrap(function() got = { nml.await_recv(pull) } end)()
    local guard, started = uv.new_timer(), nml.clock() -- a wait that never ends fails instead
    guard:start(10, 10, function()
      if got or nml.clock() - started > 3 then
        guard:close()
        uv.stop()
      end
    end)
    uv.run()
    nml.waiter(previous)
    assert.equals("timeout", got[3])
  end)

  it("refuses to wait on a req or surveyor context, whose replies signal nothing", function()
    for _, kind in ipairs { "req", "surveyor" } do
      local ctx = helper.socket(kind):context()
      local ok, err = pcall(nml.await, ctx, "recv", 10)
      assert.is_false(ok)
      assert.matches("a " .. kind .. " context's replies do not signal its socket's descriptor", err)
    end
  end)
end)
