-- Forwarders: nml.forward joins two raw sockets with NNG's device, on NNG's threads; messages
-- cross with their envelope (protocol tag, topic) intact.
local helper = require "helper"
local nml = require "nml"

local raw, forwarder = helper.raw, helper.forwarder

describe("nml.forward", function()
  it("fans pub/sub out to every subscriber, protocol and topic intact", function()
    local front, back, front_url, back_url = forwarder("sub", "pub", "ipc")
    local subs = {}
    for i = 1, 2 do
      subs[i] = helper.socket("sub")
      assert(subs[i]:subscribe(""))
      assert(subs[i]:dial(back_url))
    end
    local publisher = helper.socket("pub")
    assert(publisher:dial(front_url))
    -- Pub/sub drops what is sent before a subscriber is connected all the way: probe until
    -- each has one, and skip the probes still on their way.
    local probed = {}
    for _ = 1, 300 do
      assert(publisher:send("probe", "string", { topic = "probe" }))
      nml.sleep(10)
      for i, sub in ipairs(subs) do
        while sub:recv({ dontwait = true }) do probed[i] = true end -- drained: queues stay short
      end
      if probed[1] and probed[2] then break end
    end
    assert.is_true(probed[1] and probed[2])
    assert(publisher:send({ n = 1 }, nil, { topic = "t.msgpack" }))
    assert(publisher:send({ n = 2 }, "json", { topic = "t.json" }))
    assert(publisher:send("three", "string", { topic = "t.string" }))
    for _, sub in ipairs(subs) do
      local v, p, t = sub:recv()
      while t == "probe" do v, p, t = sub:recv() end
      assert.same({ 1, "MessagePack", "t.msgpack" }, { v.n, p, t })
      v, p, t = sub:recv()
      assert.same({ 2, "JSON", "t.json" }, { v.n, p, t })
      v, p, t = sub:recv()
      assert.same({ "three", "string", "t.string" }, { v, p, t })
    end
    for _, s in ipairs { publisher, subs[1], subs[2], front, back } do s:close() end
  end)

  it("carries push/pull through", function()
    local front, back, front_url, back_url = forwarder("pull", "push", "inproc")
    local pusher, puller = helper.socket("push"), helper.socket("pull")
    assert(pusher:dial(front_url))
    assert(puller:dial(back_url))
    -- Nothing is buffered on the way, so each message is taken before the next is sent.
    for i = 1, 10 do
      assert(pusher:send({ i = i }))
      assert.equals(i, puller:recv().i)
    end
    for _, s in ipairs { pusher, puller, front, back } do s:close() end
  end)

  it("carries req/rep both ways, each reply to its requester", function()
    local front, back, front_url, back_url = forwarder("rep", "req", "inproc")
    local server = helper.socket("rep")
    assert(server:dial(back_url))
    local clients = {}
    for i = 1, 3 do
      clients[i] = helper.socket("req")
      assert(clients[i]:dial(front_url))
      assert(clients[i]:send({ from = i }))
    end
    for _ = 1, 3 do
      local request = assert(server:recv())
      assert(server:send({ to = request.from }))
    end
    for i = 1, 3 do assert.equals(i, clients[i]:recv().to) end
    for _, s in ipairs { server, front, back, clients[1], clients[2], clients[3] } do s:close() end
  end)

  it("takes raw sockets only, of protocols that pair", function()
    local cooked = helper.socket("sub")
    assert.has_error(function() nml.forward(cooked, raw("pub")) end)
    local ok, _, code = nml.forward(raw("pub"), raw("pull"))
    assert.is_nil(ok)
    assert.is_string(code)
    local r = raw("pull")
    assert.has_error(function() r:recv() end)
    assert.has_error(function() r:send(1) end)
    assert.has_error(function() nml.recv(r, 0) end)
    assert.has_error(function() nml.socket("pull", { raw = "yes" }) end)
    cooked:close()
    r:close()
  end)

  it("stops when either socket closes, and leaves nothing behind", function()
    for round = 1, 20 do
      local front, back = forwarder("sub", "pub", "inproc")
      if round % 2 == 0 then front:close() else back:close() end
      local again, _, code = nml.forward(front, back)
      assert.is_nil(again)
      assert.equals("closed", code)
    end
    collectgarbage()
    collectgarbage()
  end)

  it("refuses to forward between two sockets one of which dials the other", function()
    for _, transport in ipairs({ "inproc", "ipc", "tcp" }) do
      local front, back = raw("sub"), raw("pub")
      local url = helper.listen_fresh(front, transport)
      if transport == "tcp" then url = url:gsub("127%.0%.0%.1", "localhost") end
      assert(back:dial(url))
      local ok, err, code = nml.forward(front, back)
      assert.is_nil(ok, transport .. ": a forwarder that feeds itself was started")
      assert.equals("state", code)
      assert.matches("the back dials .* where the front listens", err)
      front:close()
      back:close()
    end
  end)

  it("refuses a dialer that names the listener's ipc path another way", function()
    -- A directory of its own, a link to it, and the cwd (ipc paths without a leading / are
    -- relative to it) as a path up to the root.
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p '" .. dir .. "/sub' && ln -s '" .. dir .. "' '" .. dir .. "-link'"))
    local pwd = assert(io.popen("pwd")):read("*l")
    local up = pwd:gsub("[^/]+", ".."):sub(2) -- "/a/b" -> "../.."
    local relative = up .. dir                -- "../../tmp/lua_xxx"
    local spellings = {
      { "ipc://" .. dir .. "/fw.ipc", "ipc://" .. dir .. "/./fw.ipc" },
      { "ipc://" .. dir .. "/fw.ipc", "ipc://" .. dir .. "//fw.ipc" },
      { "ipc://" .. dir .. "/fw.ipc", "ipc://" .. dir .. "/sub/../fw.ipc" },
      { "ipc://" .. dir .. "/fw.ipc", "ipc://" .. dir .. "-link/fw.ipc" },
      { "ipc://" .. dir .. "/fw.ipc", "unix://" .. dir .. "-link/./fw.ipc" },
      { "ipc://" .. dir .. "/fw.ipc", "ipc://" .. relative .. "/fw.ipc" },
      { "ipc://" .. relative .. "/fw.ipc", "ipc://" .. dir .. "/fw.ipc" },
      { "ipc://" .. dir .. "-link/fw.ipc", "ipc://" .. dir .. "/sub/../fw.ipc" },
    }
    for i, case in ipairs(spellings) do
      local name = "fw" .. i .. ".ipc" -- a socket file of its own each time
      local listened, dialed = case[1]:gsub("fw%.ipc$", name), case[2]:gsub("fw%.ipc$", name)
      local front, back = raw("pull"), raw("push")
      assert(front:listen(listened))
      assert(back:dial(dialed))
      local ok, err, code = nml.forward(front, back)
      assert.is_nil(ok, dialed .. " reaches " .. listened .. ": a forwarder that feeds itself was started")
      assert.equals("state", code)
      assert.matches("the back dials .* where the front listens", err)
      back:close()
      front:close()
    end
    -- Another file in the same directory is another address.
    local front, back = raw("pull"), raw("push")
    assert(front:listen("ipc://" .. dir .. "/fw.ipc"))
    assert(back:dial("ipc://" .. dir .. "-link/other.ipc", { block = false }))
    assert(nml.forward(front, back))
    back:close()
    front:close()
    os.execute("rm -rf '" .. dir .. "' '" .. dir .. "-link'")
  end)

  it("says why a socket in a forwarder takes no new endpoint", function()
    local front, back = forwarder("pull", "push", "inproc")
    for _, s in ipairs({ front, back }) do
      local ok, err, code = s:listen("inproc://forward-late-" .. helper.next_id())
      assert.is_nil(ok)
      assert.equals("state", code)
      assert.matches("give it its listeners and dialers before nml.forward", err, 1, true)
      ok, err, code = s:dial("inproc://forward-late-" .. helper.next_id(), { block = false })
      assert.is_nil(ok)
      assert.equals("state", code)
    end
    front:close()
    back:close()
  end)

  it("says why a socket in a forwarder takes no new queue size", function()
    local front, back = forwarder("sub", "pub", "inproc")
    for _, case in ipairs({ { front, "recv_buffer" }, { back, "send_buffer" } }) do
      local ok, err, code = case[1]:setopt(case[2], 16)
      assert.is_nil(ok)
      assert.equals("state", code)
      assert.matches("give it in nml.socket's options, before nml.forward", err, 1, true)
    end
    front:close()
    back:close()
  end)

  it("refuses to join an inproc address to one that leaves the host (shared-buffer references would cross)", function()
    for _, kinds in ipairs({ { "sub", "pub" }, { "pull", "push" } }) do
      for _, order in ipairs({ { "inproc", "tcp" }, { "tcp", "inproc" }, { "inproc", "ws" } }) do
        local front, back = raw(kinds[1]), raw(kinds[2])
        if order[1] == "ws" or order[2] == "ws" then
          assert(front:listen(order[1] == "ws" and "ws://127.0.0.1:0/f" or "inproc://fw-" .. helper.next_id()))
          assert(back:listen(order[2] == "ws" and "ws://127.0.0.1:0/b" or "inproc://fw-" .. helper.next_id()))
        else
          helper.listen_fresh(front, order[1])
          helper.listen_fresh(back, order[2])
        end
        local ok, err, code = nml.forward(front, back)
        assert.is_nil(ok, order[1] .. " to " .. order[2])
        assert.equals("state", code)
        assert.matches("leave the host", err)
        front:close()
        back:close()
      end
    end
    local front, back = raw("pull"), raw("push") -- inproc and ipc stay on the host
    helper.listen_fresh(front, "inproc")
    helper.listen_fresh(back, "ipc")
    assert(nml.forward(front, back))
    front:close()
    back:close()
  end)
end)
