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
end)
