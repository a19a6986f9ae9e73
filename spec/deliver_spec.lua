-- nml.deliver: jobs over a req socket, each kept until a reply acknowledges it, handed back
-- (never dropped) when none comes.
local helper = require "helper"
local nml = helper.nml

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."

-- A worker process (spec/support/deliver_worker.lua) dialing `url`; returns its pid.
local function worker(url, name, log, mode)
  local cmd = string.format("LUA_CPATH='%s;;' %s %s/support/deliver_worker.lua %s %s %s %s > /dev/null 2>&1 & echo $!",
    helper.cpath, helper.lua, here, url, name, log, mode or "answer")
  local f = assert(io.popen(cmd))
  local pid = tonumber(f:read("*l"))
  f:close()
  return pid
end

local function kill(pid)
  os.execute("kill -9 " .. pid .. " 2>/dev/null")
end

-- How many times each job number was run, from the workers' log.
local function runs(log)
  local f = io.open(log)
  local counts, by_worker = {}, {}
  if f then
    for line in f:lines() do
      local name, seq = line:match("^(%S+) (%d+)$")
      if name then
        counts[tonumber(seq)] = (counts[tonumber(seq)] or 0) + 1
        by_worker[name] = (by_worker[name] or 0) + 1
      end
    end
    f:close()
  end
  return counts, by_worker
end

local function wait_for_pipes(sock, n)
  local deadline = nml.clock() + 10
  while sock:stats().pipes < n and nml.clock() < deadline do nml.sleep(10) end
  assert.are.equal(n, sock:stats().pipes)
end

-- A req socket (with `options`) listening on ipc and one worker in `mode` connected to it:
-- the socket, the worker's log, and a function that ends both.
local function with_worker(mode, options)
  local req = helper.socket("req", options)
  local log = helper.tmpname()
  local pid = worker(helper.listen_fresh(req, "ipc"), mode, log, mode)
  wait_for_pipes(req, 1)
  return req, log, function()
    kill(pid)
    req:close()
  end
end

describe("nml.deliver", function()
  describe("misuse raises", function()
    it("on a socket that is not req, a bad option or a nil job", function()
      for _, kind in ipairs({ "rep", "push", "sub" }) do
        local s = helper.socket(kind)
        assert.has_error(function() nml.deliver(s) end)
        s:close()
      end
      assert.has_error(function() nml.deliver("req") end)
      local req = helper.socket("req")
      for _, options in ipairs({ { window = 0 }, { window = 1025 }, { window = 1.5 }, { resend_time = 0 },
        { give_up = -2 }, { give_up = 0 / 0 }, { on_reply = 1 }, { windw = 4 }, "fast" }) do
        local ok, err = pcall(nml.deliver, req, options)
        assert.is_false(ok)
        -- Said as nml.socket says it.
        assert.matches("^bad argument #2 to 'deliver' %(", err)
      end
      assert.has_error(function() nml.deliver(req, { send_timeout = 5 }) end,
        "bad argument #2 to 'deliver' (unknown option \"send_timeout\"; known: give_up, on_reply, resend_time, window;"
        .. " send_timeout is the socket's: nml.socket's options or sock:setopt)")
      local d = nml.deliver(req, { window = 2 })
      assert.has_error(function() d:send(nil) end)
      assert.has_error(function() d:wait("soon") end)
      d:close()
      req:close()
    end)

    it("with no worker, send waits send_timeout and the job stays the caller's", function()
      local req = helper.socket("req", { send_timeout = 100 })
      helper.listen_fresh(req, "ipc")
      local d = nml.deliver(req)
      local ok, why, code = d:send({ seq = 1 })
      assert.is_nil(ok)
      assert.are.equal("timeout", code)
      assert.matches("no worker took the job in 100 ms", why)
      req:setopt("send_timeout", -1)
      ok, why, code = d:send({ seq = 1 }, nil, { dontwait = true }) -- and never waits with dontwait
      assert.is_nil(ok)
      assert.are.equal("again", code)
      assert.are.equal(0, d:pending())
      req:close()
    end)

    it("a closed socket is nil, message, \"closed\"", function()
      local req = helper.socket("req")
      req:close()
      local d, why, code = nml.deliver(req)
      assert.is_nil(d)
      assert.are.equal("closed", code)
      assert.is_string(why)
    end)
  end)

  describe("hands back what it cannot deliver", function()
    it("a job nobody answers, after give_up, with the job itself", function()
      local req, _, done = with_worker("silent")
      local d = nml.deliver(req, { give_up = 300 })
      assert.is_true(d:send({ seq = 1, payload = "kept" }))
      assert.are.equal(1, d:pending())
      assert.is_true(d:wait(5000))
      local failed = d:failed()
      assert.are.equal(1, #failed)
      assert.are.equal("timeout", failed[1].code)
      assert.are.equal("kept", failed[1].job.payload)
      assert.are.same({}, d:failed()) -- handed back once
      done()
    end)

    it("a job handed back is not sent again", function()
      local req, log, done = with_worker("silent")
      local d = nml.deliver(req, { resend_time = 50, give_up = 200 })
      assert.is_true(d:send({ seq = 1 }))
      assert.is_true(d:wait(5000))
      assert.are.equal("timeout", d:failed()[1].code)
      nml.sleep(100)
      local before = runs(log)[1]
      nml.sleep(2200) -- NNG looks for requests to send again once a second
      assert.are.equal(before, runs(log)[1], "the job ran again after it was handed back")
      done()
    end)

    it("on_reply that raises: the error reaches the caller, the other replies come later", function()
      local req, _, done = with_worker("answer")
      local seen, raised = {}, false
      local d = nml.deliver(req, { window = 8, on_reply = function(reply)
        if reply.seq == 3 and not raised then
          raised = true
          error("on_reply failed", 0)
        end
        seen[#seen + 1] = reply.seq
      end })
      -- The raise reaches whichever call harvests reply 3 (a send, on a slow machine, or the
      -- wait); a send that raised took no job, so it is called again.
      local raises = 0
      local function catching(f, ...)
        local ok, result = pcall(f, ...)
        if ok then return result end
        assert.matches("on_reply failed", result)
        raises = raises + 1
        return f(...)
      end
      for seq = 1, 8 do assert.is_true(catching(d.send, d, { seq = seq })) end
      nml.sleep(300)
      assert.is_true(catching(d.wait, d, 5000))
      assert.are.equal(1, raises)
      table.sort(seen)
      assert.are.same({ 1, 2, 4, 5, 6, 7, 8 }, seen)
      done()
    end)

    -- Workers listened for on `url` (the req socket itself, or a forwarder's back): a mute one
    -- and a forger that answers the ids around each job it gets.
    local function forgery_case(req, url, workers_sock)
      local mute_log = helper.tmpname()
      local mute = worker(url, "mute", mute_log, "silent")
      wait_for_pipes(workers_sock, 1)
      local port = url:match(":(%d+)$")
      local f = assert(io.popen(string.format("%s %s/support/reply_forger.py 127.0.0.1 %s > /dev/null 2>&1 & echo $!",
        helper.python, here, port)))
      local forger = tonumber(f:read("*l"))
      f:close()
      wait_for_pipes(workers_sock, 2)
      local acked = {}
      local d = nml.deliver(req, { window = 8, on_reply = function(_, _, job) acked[#acked + 1] = job.seq end })
      for seq = 1, 8 do assert.is_true(d:send({ seq = seq })) end
      nml.sleep(500)
      d:step()
      -- The forger took some of the jobs and answered the ids around them; the mute worker took
      -- the others and answers nothing: none of those may count as done.
      local to_mute = runs(mute_log)
      assert.is_not_nil(next(to_mute), "the mute worker got no job: the spec tested nothing")
      for _, seq in ipairs(acked) do
        assert.is_nil(to_mute[seq], "job " .. seq .. " went to the mute worker and was acknowledged")
      end
      assert.are.equal(8, d:pending() + #acked)
      kill(forger)
      kill(mute)
      d:close()
    end

    it("a worker cannot acknowledge the jobs that went to another (forged request ids)", function()
      local req = helper.socket("req")
      forgery_case(req, helper.listen_fresh(req, "tcp"), req)
      req:close()
    end)

    it("nor can a worker behind a forwarder (its raw req side knows where each request went)", function()
      local front = helper.socket("rep", { raw = true })
      local back = helper.socket("req", { raw = true })
      local front_url = helper.listen_fresh(front, "tcp")
      local back_url = helper.listen_fresh(back, "tcp")
      assert(nml.forward(front, back))
      local req = helper.socket("req")
      assert(req:dial(front_url))
      wait_for_pipes(front, 1)
      forgery_case(req, back_url, back)
      -- What the forwarder refused is counted.
      assert.is_true(back:stats().recv_drops > 0)
      req:close()
      front:close()
      back:close()
    end)

    -- many_requests.py through a forwarder: `count` requests (65540) from one client (after
    -- some from another, with "--other N"), the first and last answered (and the other's).
    -- Gives the answered ids per client, as the script printed them, the replies the
    -- forwarder refused (back) and those it could not hand on (front).
    local function flood_a_forwarder(extra, count)
      local front = helper.socket("rep", { raw = true })
      local back = helper.socket("req", { raw = true })
      local front_port = helper.listen_fresh(front, "tcp"):match(":(%d+)$")
      local back_port = helper.listen_fresh(back, "tcp"):match(":(%d+)$")
      assert(nml.forward(front, back))
      local f = assert(io.popen(string.format("%s %s/support/many_requests.py 127.0.0.1 %s %s %d %s",
        helper.python, here, front_port, back_port, count or 65540, extra)))
      local flooder, other = f:read("*l"), f:read("*l")
      f:close()
      local refused, unsent = back:stats().recv_drops, front:stats().send_drops
      front:close()
      back:close()
      return { flooder = flooder, other = other, refused = refused, unsent = unsent }
    end

    it("a forwarder remembers 65536 requests: a reply to an older one is refused and counted #once", function()
      local run = flood_a_forwarder("")
      assert.are.equal("65540", run.flooder)
      assert.are.equal(1, run.refused)
    end)

    it("one client flooding a forwarder forgets its own oldest requests, not another's #once", function()
      local run = flood_a_forwarder("--other 1")
      assert.are.equal("1", run.other, "the other client's request was forgotten")
      assert.are.equal("65540", run.flooder)
      assert.are.equal(1, run.refused)
    end)

    it("a client that floods over connection after connection pushes out no other client's requests #once", function()
      -- 70 connections of 1000 requests each, each closed once sent; the other client holds
      -- 1500, more than any of them: the closed connections' requests go first. Only the
      -- flood's first reply is refused. (Its 1500 replies come in a burst, and the front
      -- queues 64 per client: what it drops there is counted, not refused.)
      local run = flood_a_forwarder("--other 1500 --churn 70", 70000)
      local answered = 0
      for _ in run.other:gmatch("%d+") do answered = answered + 1 end
      assert.are.equal(1, run.refused, string.format("%d refused (the other client got %d)", run.refused, answered))
      assert.are.equal(1500, answered + run.unsent - 1, -- the flood's last reply: its client is gone
        string.format("%d answered, %d dropped at the front", answered, run.unsent))
    end)

    it("a job that cannot be packed raises and costs no context", function()
      local req, _, done = with_worker("silent")
      local d = nml.deliver(req, { window = 2 })
      for _ = 1, 4 do assert.has_error(function() d:send({ f = print }) end) end
      assert.is_true(d:send({ seq = 1 }))
      assert.is_true(d:send({ seq = 2 }))
      assert.are.equal(2, d:pending())
      d:close()
      done()
    end)

    it("closed from on_reply, it takes no more jobs", function()
      local req, _, done = with_worker("answer")
      local d
      d = nml.deliver(req, { window = 1, on_reply = function() d:close() end })
      assert.is_true(d:send({ seq = 1 }))
      nml.sleep(200)
      local ok, _, code = d:send({ seq = 2 })
      assert.is_nil(ok)
      assert.are.equal("closed", code)
      assert.are.equal(0, d:pending())
      done()
    end)

    it("collected with jobs in flight, it says so on stderr", function()
      local rep = helper.socket("rep") -- a worker that never answers
      local url = helper.listen_fresh(rep, "ipc")
      local script = helper.tmpname()
      helper.write_file(script, string.format([[
        local nml = require "nml"
        local req = assert(nml.socket("req", { send_timeout = 5000 }))
        assert(req:dial(%q))
        local d = nml.deliver(req)
        assert(d:send({ seq = 1 }))
        assert(d:send({ seq = 2 }))
        -- no d:wait(): the process ends with both in flight
      ]], url))
      local out, ok = helper.run(string.format("LUA_CPATH='%s;;' %s %s", helper.cpath, helper.lua, script))
      assert.is_true(ok, out)
      assert.matches("nml.deliver: a deliverer was collected with 2 jobs in flight", out)
      rep:close()
    end)

    it("a late reply after give_up is not taken for the next job's", function()
      local req, _, done = with_worker("slow")
      local replies = {}
      local d = nml.deliver(req, { window = 1, give_up = 100,
        on_reply = function(reply, _, job) replies[#replies + 1] = { reply.seq, job.seq } end })
      assert.is_true(d:send({ seq = 1 }))
      assert.is_true(d:wait(5000))
      assert.are.equal("timeout", d:failed()[1].code)
      d.give_up = 5000
      assert.is_true(d:send({ seq = 2 }))
      assert.is_true(d:wait(5000))
      assert.are.same({ { 2, 2 } }, replies)
      done()
    end)

    it("an error reply (a handler that raised) with the error", function()
      local req = helper.socket("req")
      local url = helper.listen_fresh(req, "inproc")
      local rep = helper.socket("rep")
      assert(rep:dial(url))
      local d = nml.deliver(req)
      assert.is_true(d:send({ seq = 1 }))
      local server = nml.serve(rep, { contexts = 1, on_error = function() end }, function(job, _, s)
        s:stop()
        error("no such job " .. job.seq, 0)
      end)
      assert.is_true(server:result())
      assert.is_true(d:wait(5000))
      local failed = d:failed()
      assert.are.equal("remote", failed[1].code)
      assert.matches("no such job 1", failed[1].error)
      req:close()
      rep:close()
    end)

    it("every job in flight when the deliverer closes, and when its socket closes", function()
      local req = helper.socket("req")
      local pid = worker(helper.listen_fresh(req, "ipc"), "mute", helper.tmpname(), "silent")
      wait_for_pipes(req, 1)
      local d = nml.deliver(req, { window = 4 })
      for seq = 1, 4 do assert.is_true(d:send({ seq = seq })) end
      d:close()
      local failed = d:failed()
      assert.are.equal(4, #failed)
      for i, f in ipairs(failed) do
        assert.are.equal(i, f.job.seq)
        assert.are.equal("closed", f.code)
      end
      local _, _, code = d:send({ seq = 5 })
      assert.are.equal("closed", code)

      local d2 = nml.deliver(req, { window = 1 })
      assert.is_true(d2:send({ seq = 1 }))
      req:close()
      assert.is_true(d2:wait(2000))
      failed = d2:failed()
      assert.are.equal(1, #failed)
      assert.are.equal("closed", failed[1].code)
      local t0 = nml.clock()
      local ok, _, send_code = d2:send({ seq = 2 })
      assert.is_nil(ok)
      assert.are.equal("closed", send_code)
      assert.is_true(nml.clock() - t0 < 1)
      kill(pid)
    end)

    it("a full window: dontwait is \"again\", past send_timeout \"timeout\"; the job stays the caller's", function()
      local req, _, done = with_worker("silent", { send_timeout = 200 })
      local d = nml.deliver(req, { window = 2 })
      assert.is_true(d:send({ seq = 1 }))
      assert.is_true(d:send({ seq = 2 }))
      local ok, why, code = d:send({ seq = 3 }, nil, { dontwait = true })
      assert.is_nil(ok)
      assert.are.equal("again", code)
      local t0 = nml.clock()
      ok, why, code = d:send({ seq = 3 })
      assert.is_nil(ok)
      assert.are.equal("timeout", code)
      assert.matches("2 in flight", why)
      assert.is_true(nml.clock() - t0 >= 0.19)
      assert.are.equal(2, d:pending())
      d:close()
      done()
    end)
  end)

  -- A req socket (with `options`) whose workers dial `transport` addresses: itself, or a
  -- forwarder's back (nml.forward(rep_raw, req_raw)) when `forwarded`. Gives the socket, the
  -- address workers dial, the socket they connect to, and a function that closes it all.
  local function req_for_workers(forwarded, transport, options)
    local req = helper.socket("req", options)
    if not forwarded then
      return req, helper.listen_fresh(req, transport), req, function() req:close() end
    end
    local front = helper.socket("rep", { raw = true })
    local back = helper.socket("req", { raw = true })
    local front_url = helper.listen_fresh(front, transport)
    local back_url = helper.listen_fresh(back, transport)
    assert(nml.forward(front, back))
    assert(req:dial(front_url))
    wait_for_pipes(front, 1)
    return req, back_url, back, function()
      req:close()
      front:close()
      back:close()
    end
  end

  for _, forwarded in ipairs({ false, true }) do
    -- (Through a forwarder, what differs from the cases above is NNG's: once per make test.)
    local through = forwarded and " (through a forwarder) #once" or ""
    describe("delivers at least once" .. through, function()
      it("a worker killed with jobs in flight: each job runs on the other worker, none is lost", function()
        local req, url, workers_sock, close = req_for_workers(forwarded, "tcp")
        local log = helper.tmpname()
        local a = worker(url, "a", log, "slow")
        local b = worker(url, "b", log)
        wait_for_pipes(workers_sock, 2)
        local acked = {}
        -- Through a forwarder the client's connection stays up: its resend_time sends again.
        local d = nml.deliver(req, { window = 16, resend_time = forwarded and 1000 or 60000,
          on_reply = function(reply) acked[reply.seq] = (acked[reply.seq] or 0) + 1 end })
        for seq = 1, 16 do assert.is_true(d:send({ seq = seq })) end
        -- Kill "a" once it holds some of them, sleeping over each (on a loaded machine its
        -- first may come later than any fixed pause).
        local deadline = nml.clock() + 10
        while not select(2, runs(log)).a and nml.clock() < deadline do nml.sleep(10) end
        kill(a)
        assert.is_true(d:wait(10000))
        assert.are.same({}, d:failed())
        for seq = 1, 16 do assert.are.equal(1, acked[seq], "job " .. seq) end
        local counts, by_worker = runs(log)
        for seq = 1, 16 do assert.is_true((counts[seq] or 0) >= 1) end
        assert.is_true((by_worker.a or 0) >= 1, "worker a took none: the spec did not test a kill")
        kill(b)
        close()
      end)

      it("a job slower than resend_time, with two workers: the first reply is taken", function()
        local req, url, workers_sock, close =
          req_for_workers(forwarded, "tcp", { resend_time = 1000, recv_timeout = 8000 })
        local log = helper.tmpname()
        local a, b = worker(url, "a", log, "slower"), worker(url, "b", log, "slower")
        wait_for_pipes(workers_sock, 2)
        local ctx = req:context()
        local t0 = nml.clock()
        assert.is_true(ctx:send({ seq = 1 }))
        local reply, why = ctx:recv()
        assert.is_table(reply, why)
        assert.are.equal(1, reply.seq)
        assert.is_true(nml.clock() - t0 < 4, "answered only after " .. (nml.clock() - t0) .. " s")
        kill(a)
        kill(b)
        close()
      end)

      it("1000 jobs through two workers: every one acknowledged once, each reply to its job", function()
        local req, url, workers_sock, close = req_for_workers(forwarded, "ipc")
        local log = helper.tmpname()
        local a, b = worker(url, "a", log), worker(url, "b", log)
        wait_for_pipes(workers_sock, 2)
        local acked, mismatched = {}, 0
        local d = nml.deliver(req, { window = 32, on_reply = function(reply, protocol, job)
          if reply.seq ~= job.seq or protocol ~= "MessagePack" then mismatched = mismatched + 1 end
          acked[reply.seq] = (acked[reply.seq] or 0) + 1
        end })
        for seq = 1, 1000 do assert.is_true(d:send({ seq = seq })) end
        assert.is_true(d:wait(20000))
        assert.are.equal(0, mismatched)
        for seq = 1, 1000 do assert.are.equal(1, acked[seq]) end
        assert.are.equal(0, #d:failed())
        assert.matches("1000 delivered, 0 handed back", tostring(d))
        -- Every reply was to a request its worker had: the forwarder refused none.
        assert.are.equal(0, workers_sock:stats().recv_drops)
        kill(a)
        kill(b)
        close()
      end)
    end)
  end
end)
