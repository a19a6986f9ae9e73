-- Readiness for event loops: descriptors and nml.poll for both directions, non-blocking calls
-- that say "again", and nml.sleep.
local helper = require "helper"
local nml = require "nml"

-- Sends with dontwait until NNG has no room; returns how many went and the last code.
local function fill(sock)
  for sent = 0, 100000 do
    local ok, _, code = sock:send("x", nil, { dontwait = true })
    if not ok then return sent, code end
  end
  error("the socket never filled")
end

describe("readiness", function()
  it("a push socket that cannot send says again at once, and polls writable when it can", function()
    local pull, push = helper.pair_of("pull", "push", "inproc")
    assert(push:setopt("send_buffer", 1))
    local _, writable = nml.poll({}, 1000, { push })
    assert.equals(push, writable[1])
    local sent, code = fill(push)
    assert.equals("again", code)
    assert.is_true(sent >= 1)
    -- The transport may still move a message or two on towards the peer; while the socket
    -- polls writable, a send goes through at once. Then it stays full.
    local full = false
    for _ = 1, 100 do
      local _, w = nml.poll({}, 50, { push })
      if #w == 0 then
        full = true
        break
      end
      assert(push:send("x", nil, { dontwait = true }))
    end
    assert.is_true(full)
    assert.equals("x", pull:recv())
    _, writable = nml.poll({}, 1000, { push })
    assert.equals(push, writable[1])
    pull:close()
    push:close()
  end)

  it("recv_fd stays readable until every message is received (level-triggered)", function()
    local a, b = helper.pair_of("pair", "pair", "inproc", { send_buffer = 8, recv_buffer = 8 })
    local readable = nml.poll({ b }, 0)
    assert.same({}, readable)
    for i = 1, 3 do assert(a:send(i)) end
    for i = 1, 3 do
      readable = nml.poll({ b }, 1000)
      assert.equals(b, readable[1])
      assert.equals(i, b:recv({ dontwait = true }))
    end
    local v, _, code = b:recv({ dontwait = true })
    assert.is_nil(v)
    assert.equals("again", code)
    assert.same({}, (nml.poll({ b }, 20)))
    a:close()
    b:close()
  end)

  it("polls both directions at once, each list in its order", function()
    local a, b = helper.pair_of("pair", "pair", "inproc")
    local c, d = helper.pair_of("pair", "pair", "inproc")
    assert(a:send("for b"))
    assert.same({ b }, (nml.poll({ b }, 1000)))
    -- A sender becomes writable once its pipe attaches (after dial returns) and its queue
    -- drains (after a send): wait for each, so the poll below sees both.
    assert.same({ c }, select(2, nml.poll({}, 1000, { c })))
    assert.same({ a }, select(2, nml.poll({}, 1000, { a })))
    -- poll returns as soon as any socket is ready; b is, and so are both senders.
    local readable, writable = nml.poll({ d, b }, 1000, { c, a })
    assert.same({ b }, readable)
    assert.equals(2, #writable)
    assert.equals(c, writable[1])
    assert.equals(a, writable[2])
    assert.is_number(a:send_fd())
    assert.is_number(a:recv_fd())
    assert.has_error(function() nml.poll({ b }, 0, { "not a socket" }) end)
    assert.has_error(function() nml.poll({ b }, 0, "nope") end)
    for _, s in ipairs { a, b, c, d } do s:close() end
  end)

  it("nml.await waits in nml.poll outside coroutines, with a timeout", function()
    local a, b = helper.pair_of("pair", "pair", "inproc", { send_buffer = 4, recv_buffer = 4 })
    local ok, _, code = nml.await(b, "recv", 20)
    assert.is_nil(ok)
    assert.equals("timeout", code)
    assert.is_true(nml.await(a, "send", 1000))
    assert(a:send("hello"))
    assert.is_true(nml.await(b, "recv", 1000))
    assert.equals("hello", nml.await_recv(b))
    assert.has_error(function() nml.await(b, "sideways") end)
    assert.has_error(function() nml.await(b, "recv", -5) end)
    assert.has_error(function() nml.waiter(42) end)
    a:close()
    b:close()
  end)

  it("nml.await yields through the waiter inside a coroutine, for any scheduler", function()
    local a, b = helper.pair_of("pair", "pair", "inproc", { send_buffer = 4, recv_buffer = 4 })
    -- A scheduler of a few lines: coroutines wait on descriptors; the loop polls them all.
    local waiting = {}
    local previous = nml.waiter(function(fd, timeout_ms)
      waiting[#waiting + 1] = { co = coroutine.running(), fd = fd, timeout = timeout_ms }
      return coroutine.yield()
    end)
    local got = {}
    local receiver = coroutine.create(function()
      for _ = 1, 3 do got[#got + 1] = assert(nml.await_recv(b)) end
    end)
    assert(coroutine.resume(receiver))
    assert.equals(1, #waiting)
    assert.equals(b:recv_fd(), waiting[1].fd)
    assert.equals("suspended", coroutine.status(receiver))
    for i = 1, 3 do assert(nml.await_send(a, i)) end -- outside a coroutine: no waiter
    while coroutine.status(receiver) ~= "dead" do
      assert(#nml.poll({ b }, 1000) == 1)
      local w = table.remove(waiting, 1)
      assert(coroutine.resume(w.co, true))
    end
    assert.same({ 1, 2, 3 }, got)
    assert.is_function(nml.waiter(previous)) -- gives back ours, restores the one before
    a:close()
    b:close()
  end)

  it("nml.sleep waits at least the time asked, and checks its argument", function()
    local t0 = nml.clock()
    nml.sleep(30)
    assert.is_true(nml.clock() - t0 >= 0.029)
    nml.sleep(0)
    assert.has_error(function() nml.sleep(-1) end)
    assert.has_error(function() nml.sleep(1.5) end)
    assert.has_error(function() nml.sleep("1") end)
  end)

  it("nml.time is the wall clock, with the fraction of the second", function()
    -- os.time() reads the kernel's coarse clock, which may tick apart from the fine one by a
    -- second: within 2 s of it is the wall clock (a monotonic clock would be years off).
    local now = nml.time()
    assert.is_true(math.abs(now - os.time()) < 2, now .. " vs " .. os.time())
    local t1 = nml.time()
    nml.sleep(20)
    local elapsed = nml.time() - t1
    assert.is_true(elapsed >= 0.015 and elapsed < 5, "20 ms measured as " .. elapsed)
  end)
end)
