-- Closing sockets never aborts the process, whether by close(), by the garbage collector or at
-- exit, while their dials are reconnecting every millisecond.
local helper = require "helper"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"

local function churn(url, rounds, how)
  local cmd = string.format("LUA_CPATH='%s;;' %s %s/support/reconnect_churn.lua %s %d %s",
    helper.cpath, helper.lua, here, url, rounds, how)
  return helper.run(cmd)
end

local refused_tcp = "tcp://127.0.0.1:1"
local missing_ipc = "ipc:///tmp/nml-spec-nobody-listens-here.ipc"

describe("closing sockets whose dials reconnect", function()
  for _, url in ipairs { refused_tcp, missing_ipc } do
    it("survives 1000 closes by close() (" .. url:match("^%a+") .. ")", function()
      local out, ok = churn(url, 50, "close")
      assert(ok, out)
      assert.matches("closed 1000 sockets", out)
    end)
  end

  it("survives 1000 closes by the garbage collector", function()
    local out, ok = churn(refused_tcp, 50, "gc")
    assert(ok, out)
    assert.matches("closed 1000 sockets", out)
  end)

  it("survives exit with 20 sockets dialing, 20 times over", function()
    for run = 1, 20 do
      local out, ok = churn(refused_tcp, 1, "exit")
      assert(ok, "run " .. run .. ": " .. out)
      assert.matches("exiting with 20 sockets dialing", out)
    end
  end)
end)
