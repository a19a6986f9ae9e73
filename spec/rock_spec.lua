-- The binary rock (`make rock`, tools/make-rock.lua) for the interpreter busted runs under,
-- packed from the nml.so under test: installed with luarocks into a fresh tree where cargo,
-- a C compiler and the network are out of reach, then used from that tree alone. On Lua 5.1
-- and LuaJIT it is the one rock for both, carrying both builds (build/5.1 and build/luajit:
-- `make specs` builds the two).
local helper = require "helper"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local root = here .. "/.."
local LUA_VERSION = jit and "5.1" or _VERSION:match("%d+%.%d+")
-- glibc 2.34 (RHEL 9; Ubuntu 22.04 has 2.35, Debian 12 2.36): the rock must load there.
local GLIBC_MAX = { 2, 34 }

local function quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local write_file = helper.write_file

local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end


-- The libraries the rock packs: this interpreter's build, and for Lua 5.1 the LuaJIT build
-- beside it (one of them is the one under test, the other from build/).
local function libraries()
  if LUA_VERSION ~= "5.1" then return helper.library() end
  local puc = jit and root .. "/build/5.1/nml.so" or helper.library()
  local luajit = jit and helper.library() or root .. "/build/luajit/nml.so"
  assert(exists(puc) and exists(luajit), "the 5.1 rock needs build/5.1 and build/luajit (make build LUA=...)")
  return puc, luajit
end

local function absolute(program)
  local out = helper.run("readlink -f \"$(command -v " .. quote(program) .. ")\"")
  return (out:gsub("%s+$", ""))
end

-- A luarocks configuration that points at `interpreter` alone (never the user's own).
local function luarocks_config(dir, interpreter)
  local path = dir .. "/luarocks-" .. interpreter:gsub("[^%w]", "_") .. ".conf"
  write_file(path, string.format("lua_interpreter = %q\nvariables = { LUA_BINDIR = %q }\n",
    interpreter:match("[^/]*$"), interpreter:match("^(.*)/[^/]*$")))
  return path
end

describe("the binary rock", function()
  local work, rock, tree, fakes, lua
  -- A machine view with no toolchain: these names run a stub that records the call and fails.
  local TOOLS = { "cargo", "rustc", "cc", "gcc", "c++", "g++", "cmake", "make", "ld", "wget", "curl" }

  -- luarocks with nothing of this machine's set-up: an empty environment, the stubs first on
  -- the PATH, and a configuration naming one interpreter.
  local function luarocks(interpreter, lua_version, args)
    return helper.run(string.format("env -i HOME=%s PATH=%s:/usr/bin:/bin LUAROCKS_CONFIG=%s luarocks"
      .. " --lua-version=%s %s", quote(work), quote(fakes), quote(luarocks_config(work, interpreter)),
      lua_version, args))
  end

  -- Runs `interpreter` on a script with only the installed tree on its module paths.
  local function run_from_tree(interpreter, the_tree, script)
    local path = work .. "/script.lua"
    write_file(path, script)
    return helper.run(string.format("env -i PATH=/usr/bin:/bin LUA_PATH=%s LUA_CPATH=%s %s %s", quote(the_tree
      .. "/share/lua/" .. LUA_VERSION .. "/?.lua"), quote(the_tree .. "/lib/lua/" .. LUA_VERSION .. "/?.so"),
      quote(interpreter), quote(path)))
  end

  setup(function()
    work = helper.tmpname() .. "-rock"
    fakes, tree = work .. "/fakes", work .. "/tree"
    assert(os.execute("mkdir -p " .. quote(fakes)))
    for _, tool in ipairs(TOOLS) do
      write_file(fakes .. "/" .. tool, "#!/bin/sh\necho \"$0 $*\" >> " .. quote(work .. "/called") .. "\nexit 1\n")
      assert(os.execute("chmod +x " .. quote(fakes .. "/" .. tool)))
    end
    lua = absolute(helper.lua)
    local puc, luajit = libraries()
    local out, ok = helper.run(string.format("%s %s/tools/make-rock.lua %s %s %s", quote(lua), root,
      quote(puc), quote(work .. "/dist"), luajit and quote(luajit) or ""))
    assert(ok, out)
    rock = out:match("(%S+%.linux%-x86_64%.rock)")
    assert(rock, out)
  end)

  teardown(function()
    if work then os.execute("rm -rf " .. quote(work)) end
  end)

  it("installs into a fresh tree with no cargo, compiler or network called", function()
    local out, ok = luarocks(lua, LUA_VERSION, "--tree=" .. quote(tree) .. " install " .. quote(rock))
    assert.is_true(ok, out)
    assert.matches("nml 0.1.0%-1 is now installed", out)
    -- (luarocks asks `gcc -print-multiarch` where libraries go while it reads its configuration:
    -- a question, which the stub's failure answers, not a build.)
    local called = exists(work .. "/called") and helper.read_file(work .. "/called") or ""
    assert.equal("", (called:gsub("[^\n]*/gcc %-print%-multiarch\n", "")))
    assert.is_true(exists(tree .. "/lib/lua/" .. LUA_VERSION .. "/nml.so"))
    assert.is_true(exists(tree .. "/bin/nml-cat"))
    -- library/ goes beside the rock, where `luarocks show --rock-dir` says, never on package.path.
    local dir = luarocks(lua, LUA_VERSION, "--tree=" .. quote(tree) .. " show --rock-dir nml")
    assert.is_true(exists(dir:match("^(%S+)") .. "/library/nml.lua"), dir)
    assert.is_false(exists(tree .. "/share/lua/" .. LUA_VERSION .. "/nml.lua"))
  end)

  it("is required from the tree alone and works: the codec, its Lua parts, ipc and TLS", function()
    local pki = helper.pki()
    local out, ok = run_from_tree(lua, tree, string.format([[
      local nml = require "nml"
      assert(nml.unpack(nml.pack({ 1, "two", x = { 3.5 } })).x[1] == 3.5)
      assert(type(nml.serve) == "function" and type(nml.stream) == "function") -- the Lua parts
      local pki = %q
      for _, case in ipairs {
        { "ipc://" .. os.tmpname() .. ".ipc", {}, {} },
        { "tls+tcp://127.0.0.1:0", { tls = { cert_file = pki .. "server.crt", key_file = pki .. "server.key" } },
          { tls = { ca_file = pki .. "ca.crt", server_name = "localhost" } } },
      } do
        local server, client = nml.socket("rep"), nml.socket("req")
        local listener = assert(server:listen(case[1], case[2]))
        local url = case[1]:gsub(":0$", ":" .. (case[1]:find("^tls") and listener:port() or ""))
        assert(client:dial(url, case[3]))
        assert(client:send({ over = url }))
        local request = assert(server:recv())
        assert(server:send({ back = request.over }))
        assert(assert(client:recv()).back == url)
        server:close(); client:close()
      end
      print("worked: " .. nml._VERSION)
    ]], pki))
    os.execute("rm -rf " .. quote(pki))
    assert.is_true(ok, out)
    assert.matches("worked: nml 0.1.0", out)
  end)

  it("installs nml-cat to run on the interpreter the rock is for", function()
    local nml = helper.nml
    write_file(work .. "/frame.bin", nml.frame(nml.wrap({ installed = true })))
    local cat = "env -i PATH=/usr/bin:/bin " .. quote(tree .. "/bin/nml-cat")
    local out, ok = helper.run(cat .. " --version && " .. cat .. " --stream < " .. quote(work .. "/frame.bin"))
    assert.is_true(ok, out)
    assert.truthy(out:find("(nml 0.1.0, " .. (jit and jit.version or _VERSION) .. ")", 1, true), out)
    assert.truthy(out:find("MessagePack  {installed = true}", 1, true), out)
  end)

  it("needs only libc6 and libgcc-s1 at run time, has no RPATH, and no glibc newer than 2.34", function()
    local dir = tree .. "/lib/lua/" .. LUA_VERSION
    local installed = LUA_VERSION == "5.1" and { dir .. "/nml.so", dir .. "/nml/luajit.so" } or { dir .. "/nml.so" }
    for _, so in ipairs(installed) do
      local dynamic = helper.run("readelf -d " .. quote(so))
      local needed = {}
      for name in dynamic:gmatch("%(NEEDED%)%s+Shared library: %[([^%]]+)%]") do needed[#needed + 1] = name end
      table.sort(needed)
      assert.same({ "ld-linux-x86-64.so.2", "libc.so.6", "libgcc_s.so.1" }, needed) -- libc6, libgcc-s1
      assert.is_nil(dynamic:find("RPATH", 1, true), dynamic)
      assert.is_nil(dynamic:find("RUNPATH", 1, true), dynamic)
      local newest = { 0, 0 }
      for major, minor in helper.run("readelf -V " .. quote(so)):gmatch("GLIBC_(%d+)%.(%d+)") do
        major, minor = tonumber(major), tonumber(minor)
        if major > newest[1] or (major == newest[1] and minor > newest[2]) then newest = { major, minor } end
      end
      assert.is_true(newest[1] == 2 and newest[2] > 0, "no glibc version found")
      assert.is_true(newest[1] < GLIBC_MAX[1] or (newest[1] == GLIBC_MAX[1] and newest[2] <= GLIBC_MAX[2]),
        so .. " needs glibc " .. newest[1] .. "." .. newest[2])
    end
  end)

  -- Another Lua's luarocks refuses the rock by its dependency, before anything is copied: the
  -- 5.4 rock on Lua 5.1, the others on 5.4.
  it("is refused by luarocks for another Lua, naming the dependency", function()
    local other, other_version = "lua5.4", "5.4"
    if LUA_VERSION == "5.4" then other, other_version = "lua5.1", "5.1" end
    local interpreter = absolute(other)
    if interpreter == "" then
      pending(other .. " is not installed here")
      return
    end
    local elsewhere = work .. "/other-tree"
    local out, ok = luarocks(interpreter, other_version, "--tree=" .. quote(elsewhere) .. " install " .. quote(rock))
    assert.is_false(ok, out)
    assert.truthy(out:find("lua ~> " .. LUA_VERSION .. " (not installed)", 1, true), out)
    assert.is_false(exists(elsewhere .. "/lib/lua/" .. other_version .. "/nml.so"))
    -- "lua" is the interpreter's own: luarocks asks no server for it. (A LuaJIT rock that
    -- depended on "luajit" had luarocks search the network for a rock of that name on PUC
    -- Lua, and build whatever a server offered.)
    local called = exists(work .. "/called") and helper.read_file(work .. "/called") or ""
    assert.is_nil(called:find("/wget ", 1, true) or called:find("/curl ", 1, true), called)
  end)

  if LUA_VERSION ~= "5.1" then return end

  -- PUC Lua 5.1 and a LuaJIT (this one, if it is one), or nil when one is not installed.
  local function both_interpreters()
    local puc, luajit = absolute("lua5.1"), jit and lua or absolute("luajit")
    if puc == "" or luajit == "" then
      pending("this needs both lua5.1 and luajit")
      return nil
    end
    return puc, luajit
  end

  -- Lua 5.1 and LuaJIT share luarocks' 5.1 tree: one rock, installed once by either, and each
  -- interpreter gets its own build from it (the LuaJIT one has the FFI codec).
  it("of Lua 5.1 serves PUC Lua 5.1 and LuaJIT from one tree, each with its own build", function()
    local puc, luajit = both_interpreters()
    if not puc then return end
    local shared = work .. "/shared-tree"
    local out, ok = luarocks(puc, "5.1", "--tree=" .. quote(shared) .. " install " .. quote(rock))
    assert.is_true(ok, out)
    local probe = [[
      local nml = require "nml"
      local has_lua_codec, why = pcall(nml.config, { codec = "lua" })
      local cdata = jit and #nml.pack(require("ffi").new("int64_t", 5)) or 0
      print((jit and "LuaJIT" or "PUC") .. " lua codec: " .. tostring(has_lua_codec) .. ", cdata packed: " .. cdata)
      print(has_lua_codec and "" or why) -- the 5.1 build: "this is a build for another Lua"
    ]]
    out, ok = run_from_tree(puc, shared, probe)
    assert.is_true(ok, out)
    assert.matches("PUC lua codec: false, cdata packed: 0", out, 1, true)
    assert.matches("a build for another Lua", out, 1, true)
    out, ok = run_from_tree(luajit, shared, probe)
    assert.is_true(ok, out)
    assert.matches("LuaJIT lua codec: true, cdata packed: 1", out, 1, true)
    -- luarocks lists the LuaJIT build as the module nml.luajit: it opens under that name too
    out, ok = run_from_tree(luajit, shared, "print(require('nml.luajit')._VERSION)")
    assert.is_true(ok, out)
    assert.matches("^nml %d", out)
    -- Which Lua it is comes from the C API nml calls, not from globals a script may set: a
    -- `jit` table on PUC Lua, or none on LuaJIT, changes nothing.
    out, ok = run_from_tree(puc, shared, "jit = { version = 'LuaJIT 2.1' }\n" .. probe:gsub("jit and", "false and"))
    assert.is_true(ok, out)
    assert.matches("PUC lua codec: false, cdata packed: 0", out, 1, true)
    assert.matches("a build for another Lua", out, 1, true)
    local without_jit = probe:gsub("jit and", "true and"):gsub("%(jit and \"LuaJIT\" or \"PUC\"%)", "'LuaJIT'")
    out, ok = run_from_tree(luajit, shared, "local ffi = require 'ffi'; jit = nil\n" .. without_jit)
    assert.is_true(ok, out)
    assert.matches("LuaJIT lua codec: true, cdata packed: 1", out, 1, true)
  end)

  -- Where the 5.1 build looks for the LuaJIT build, and what it takes: the file beside its own
  -- named after it (luarocks `install --keep` renames a kept version's nml.so to
  -- nml_0_1_0_1-nml.so and its LuaJIT build to nml_0_1_0_1-nml/luajit.so), of its own version,
  -- built for LuaJIT; found from the file it was loaded from, bytes as they are (a directory's
  -- name need not be UTF-8), wherever the process has gone since.
  it("of Lua 5.1 hands LuaJIT over only to the LuaJIT build of its own file and version", function()
    local _, luajit = both_interpreters()
    if not luajit then return end
    local puc_so, luajit_so = libraries()
    local version = helper.nml._VERSION
    -- a LuaJIT build claiming another version, as a stale or foreign file would be
    local other = helper.read_file(luajit_so):gsub(version:gsub("%p", "%%%0"), (version:gsub("%d", "9")))
    local base = work .. "/handover"
    local function place(dir, files)
      assert(os.execute("mkdir -p " .. quote(dir .. "/nml") .. " " .. quote(dir .. "/nml_0_1_0_1-nml")))
      for name, bytes in pairs(files) do write_file(dir .. "/" .. name, bytes) end
    end
    local puc, real = helper.read_file(puc_so), helper.read_file(luajit_so)
    place(base .. "/kept", { ["nml_0_1_0_1-nml.so"] = puc, ["nml_0_1_0_1-nml/luajit.so"] = real,
      ["nml/luajit.so"] = other })
    place(base .. "/stale", { ["nml.so"] = puc, ["nml/luajit.so"] = other })
    place(base .. "/cycle", { ["nml.so"] = puc, ["nml/luajit.so"] = puc })
    assert(os.execute("mkdir -p " .. quote(base .. "/cycle/nml/nml") .. " && ln -sf ../../nml.so "
      .. quote(base .. "/cycle/nml/nml/luajit.so")))
    local odd = base .. "/caf\233"
    place(odd, { ["nml.so"] = puc, ["nml/luajit.so"] = real })
    place(base .. "/caf\239\191\189", { ["nml/luajit.so"] = other }) -- what a lossy reading would name
    place(base .. "/moved", { ["nml/luajit.so"] = other })
    local function opens(dir, file, before_open)
      local out = helper.run(string.format("cd %s && env -i PATH=/usr/bin:/bin %s -e %s", quote(dir), quote(luajit),
        quote(string.format("local open = assert(package.loadlib(%q, 'luaopen_nml'))\n%s\n"
          .. "local ok, nml = pcall(open); print(ok and nml._VERSION or nml)", file, before_open or ""))))
      return out
    end
    assert.equal(version .. "\n", opens(base .. "/kept", "./nml_0_1_0_1-nml.so"))
    assert.matches("is " .. (version:gsub("%d", "9")) .. " for LuaJIT, not " .. version .. " for LuaJIT",
      opens(base .. "/stale", "./nml.so"), 1, true)
    assert.matches("is " .. version .. " for Lua 5.1, not " .. version .. " for LuaJIT",
      opens(base .. "/cycle", "./nml.so"), 1, true)
    assert.equal(version .. "\n", opens(odd, odd .. "/nml.so"))
    -- loaded by a relative name, opened after a chdir into a directory with a LuaJIT build of its own
    local moved = "local ffi = require 'ffi'; ffi.cdef 'int chdir(const char *)'; ffi.C.chdir("
      .. string.format("%q", base .. "/moved") .. ")"
    assert.equal(version .. "\n", opens(base .. "/kept", "./nml_0_1_0_1-nml.so", moved))
  end)

  -- Copied by hand, a build alone on the other interpreter refuses, saying what to install:
  -- the LuaJIT build on PUC Lua would let Lua's errors longjmp over its frames, the 5.1 build
  -- on LuaJIT would run without the FFI (src/builds.rs).
  it("of Lua 5.1: either build alone on the other interpreter refuses to open, saying what to install", function()
    local puc, luajit = both_interpreters()
    if not puc then return end
    local puc_so, luajit_so = libraries()
    for _, case in ipairs {
      { luajit, puc_so, "nml.so is built for Lua 5.1 and this is LuaJIT, and no LuaJIT build is beside it" },
      { puc, luajit_so, "nml.so is built for LuaJIT and this is Lua 5.1: install nml's Lua 5.1 rock" },
    } do
      local alone = work .. "/alone/lib/lua/5.1"
      assert(os.execute("rm -rf " .. quote(work .. "/alone") .. " && mkdir -p " .. quote(alone)
        .. " && cp " .. quote(case[2]) .. " " .. quote(alone .. "/nml.so")))
      local out, ok = run_from_tree(case[1], work .. "/alone", "print(pcall(require, 'nml'))")
      assert.is_true(ok, out)
      assert.matches("^false", out)
      assert.truthy(out:find(case[3], 1, true), out)
    end
  end)
end)
