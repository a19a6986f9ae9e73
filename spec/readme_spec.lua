-- The README's snippets run as written. Each ```lua block is a program; blocks whose first
-- line names a file (`-- worker.lua`) are the programs of one quick start: all but the last
-- run in the background, the last in front, and what it prints is checked. The Python peer's
-- block runs against a Lua peer of this spec's own.
local helper = require "helper"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local readme = helper.read_file(here .. "/../README.md")

-- The quick starts: heading -> their code blocks, in order ({lang =, code =, name =}).
local sections, order = {}, {}
do
  local heading, block = "", nil
  for line in (readme .. "\n"):gmatch("([^\n]*)\n") do
    if block then
      if line == "```" then
        block.name = block.code:match("^%-%- ([%w_]+%.lua)\n")
        table.insert(sections[heading], block)
        block = nil
      else
        block.code = block.code .. line .. "\n"
      end
    elseif line:match("^## ") then
      heading = line:sub(4)
      sections[heading] = {}
      order[#order + 1] = heading
    elseif line:match("^```") and sections[heading] then
      block = { lang = line:sub(4), code = "" }
    end
  end
end

-- What the last program of each quick start prints (a pattern).
local prints = {
  ["Quick start: tables between processes"] = "^5\tJSON\n$",
  ["Quick start: a server in an event loop"] = "^42\nn must be a number\tnml%.error\n$",
  ["Quick start: across machines"] = "^ping pong\n$",
  ["Quick start: buffers"] = "^nml%.msg %(307200 bytes, view%)\nuserdata: 0x%x+\t307200\n$",
  ["Quick start: the codec alone"] = "^$",
}

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

-- Every program ends within 20 s: a snippet that waits forever fails instead of hanging.
local function lua_command(dir, file)
  return string.format("cd %s && LUA_CPATH='%s;;' timeout 20 %s %s", dir, helper.cpath, helper.lua, file)
end

-- Runs the blocks of one quick start in `dir`; returns what the last one printed.
local function run_programs(dir, blocks)
  local background = {}
  for i = 1, #blocks - 1 do
    local file = blocks[i].name or ("program" .. i .. ".lua")
    write(dir .. "/" .. file, blocks[i].code)
    local pid = io.popen(lua_command(dir, file) .. " > " .. dir .. "/" .. file .. ".log 2>&1 & echo $!"):read("*l")
    background[#background + 1] = pid
  end
  local last = blocks[#blocks]
  local file = last.name or "main.lua"
  write(dir .. "/" .. file, last.code)
  local out, ok
  -- A program in the background may not listen yet: the front one tries again until it does.
  for _ = 1, 50 do
    out, ok = helper.run(lua_command(dir, file))
    if ok or not out:find("nothing listens there", 1, true) then break end
    helper.run("sleep 0.1")
  end
  for _, pid in ipairs(background) do
    -- gone before the next quick start listens on the same port
    helper.run("kill " .. pid .. " 2>/dev/null; while kill -0 " .. pid .. " 2>/dev/null; do sleep 0.02; done")
  end
  return out, ok
end

describe("README.md", function()
  it("has the quick starts this spec runs", function()
    for heading in pairs(prints) do
      assert.is_truthy(sections[heading], "no section " .. heading)
    end
  end)

  for _, heading in ipairs(order) do
    local blocks = {}
    for _, block in ipairs(sections[heading]) do
      if block.lang == "lua" then blocks[#blocks + 1] = block end
    end
    if #blocks > 0 then
      it("runs " .. heading .. " as written", function()
        local dir = heading:find("across machines", 1, true) and helper.pki() or helper.tmpname() .. "-readme"
        helper.run("mkdir -p " .. dir)
        local out, ok = run_programs(dir, blocks)
        assert(ok, heading .. ": " .. out)
        local expected = assert(prints[heading], "what should " .. heading .. " print? (readme_spec)")
        assert.matches(expected, out)
        helper.run("rm -rf " .. dir)
      end)
    end
  end

  it("runs the Python peer's snippet against nml", function()
    local python
    for _, block in ipairs(sections["Quick start: a peer in another language"]) do
      if block.lang == "python" then python = block.code end
    end
    local nml = require "nml"
    os.remove("/tmp/nml.ipc")
    local peer = nml.socket("pair", { recv_timeout = 5000 })
    assert(peer:listen("ipc:///tmp/nml.ipc"))
    local script = helper.tmpname() .. ".py"
    write(script, python)
    local child = io.popen(helper.python .. " " .. script .. " 2>&1")
    local got, protocol = peer:recv()
    assert.are.same({ from = "python" }, got)
    assert.are.equal("MessagePack", protocol)
    assert(peer:send(got))
    assert.are.equal("{'from': 'python'}\n", child:read("*a"))
    child:close()
    peer:close()
    os.remove(script)
  end)
end)
