-- Every way a message can be lost has a counter someone will look at (the manual's "What NNG
-- delivers", the loss table). Each row of that table has a spec here or where it names.
local helper = require "helper"
local nml = helper.nml

describe("messages lost by design are counted", function()
  it("pub: a send with no subscriber counts in send_drops", function()
    local pub = helper.socket("pub")
    helper.listen_fresh(pub, "inproc")
    for i = 1, 3 do assert(pub:send(i)) end
    assert.are.equal(3, pub:stats().send_drops)
    assert.are.equal(3, pub:stats().sent)
    pub:close()
  end)

  it("pub: what a slow subscriber's full queue pushes out counts in send_drops", function()
    local pub = helper.socket("pub", { send_buffer = 1 })
    local url = helper.listen_fresh(pub, "ipc")
    local sub = helper.socket("sub", { recv_buffer = 1 })
    assert(sub:subscribe(""))
    assert(sub:dial(url))
    while pub:stats().pipes < 1 do nml.sleep(5) end
    nml.sleep(50)
    local big = string.rep("x", 256 * 1024) -- fills the connection, so the queue fills
    for _ = 1, 200 do assert(pub:send(big)) end
    nml.sleep(200)
    local got = 0
    while sub:recv({ dontwait = true }) do got = got + 1 end
    local drops = pub:stats().send_drops
    assert.is_true(drops > 0, "nothing counted")
    assert.is_true(got + drops <= 200, got .. " received and " .. drops .. " counted of 200")
    pub:close()
    sub:close()
  end)

  for _, transport in ipairs({ "inproc", "ipc" }) do
    it("sub: what its full queue loses counts in recv_drops, every message accounted (" .. transport .. ")", function()
      -- The pub queues all (so that they reach the sub), the sub holds one and reads none.
      local pub = helper.socket("pub", { send_buffer = 8192 })
      local url = helper.listen_fresh(pub, transport)
      local sub = helper.socket("sub", { recv_buffer = 1 })
      assert(sub:subscribe("t"))
      assert(sub:dial(url))
      while pub:stats().pipes < 1 do nml.sleep(5) end
      nml.sleep(50)
      local n = 300
      for i = 1, n do
        assert(pub:send(i, nil, { topic = "t" }))
        assert(pub:send(i, nil, { topic = "other" })) -- not subscribed: no loss
      end
      local deadline = nml.clock() + 5 -- until all have crossed: each is received or dropped
      while sub:stats().recv_drops + 1 < n and nml.clock() < deadline do nml.sleep(10) end
      local got = 0
      while sub:recv({ dontwait = true }) do got = got + 1 end
      local drops = sub:stats().recv_drops
      assert.is_true(drops > 0, "nothing counted")
      local lost_at_pub = pub:stats().send_drops
      assert.are.equal(n, got + drops + lost_at_pub,
        string.format("%d received, %d dropped by sub, %d by pub, of %d", got, drops, lost_at_pub, n))
      pub:close()
      sub:close()
    end)
  end

  it("raw sub (a forwarder's front): what its full queue loses counts in recv_drops", function()
    local front = assert(nml.socket("sub", { raw = true, recv_buffer = 1 }))
    local url = helper.listen_fresh(front, "inproc")
    local pub = helper.socket("pub")
    assert(pub:dial(url))
    while front:stats().pipes < 1 do nml.sleep(5) end
    nml.sleep(50)
    for i = 1, 50 do assert(pub:send(i)) end
    nml.sleep(200)
    assert.is_true(front:stats().recv_drops > 0, "nothing counted")
    pub:close()
    front:close()
  end)

  it("bus: what a full queue loses, either side, counts in send_drops and recv_drops", function()
    local a = helper.socket("bus")
    local url = helper.listen_fresh(a, "inproc")
    local b = helper.socket("bus", { recv_buffer = 1 })
    assert(b:dial(url))
    while a:stats().pipes < 1 do nml.sleep(5) end
    nml.sleep(50)
    local n = 300
    for i = 1, n do assert(a:send(i)) end
    local deadline = nml.clock() + 5
    local function counted() return a:stats().send_drops + b:stats().recv_drops end
    while counted() + 1 < n and nml.clock() < deadline do nml.sleep(10) end
    local got = 0
    while b:recv({ dontwait = true }) do got = got + 1 end
    assert.is_true(counted() > 0, "nothing counted")
    assert.are.equal(n, got + counted(), string.format("%d received, %d counted, of %d", got, counted(), n))
    a:close()
    b:close()
  end)
end)
