-- Packs a built nml.so into a binary rock for the Lua version of the interpreter running this
-- script:
--
--   lua5.4 tools/make-rock.lua build/5.4/nml.so build/dist/5.4
--   lua5.1 tools/make-rock.lua build/5.1/nml.so build/dist/5.1 build/luajit/nml.so
--
-- leaves build/dist/5.4/nml-<version>-1.linux-x86_64.rock (`make rock` runs it for Lua 5.4
-- and 5.1). The rock carries nml.so (the Lua parts of nml are inside it), the `nml-cat`
-- command, the LuaLS definitions in library/ and the docs in doc/; installing it builds
-- nothing.
--
-- Lua 5.1 and LuaJIT share luarocks' "5.1" tree, so the 5.1 rock is for both: it carries the
-- LuaJIT build too, as nml/luajit.so, which the 5.1 build hands over to when LuaJIT loads it
-- (src/builds.rs). Each rock states the Lua it is for as a dependency (`lua ~> 5.4`), which
-- luarocks checks; their files have the same name (luarocks names rocks by package, version
-- and platform only), so each goes to a directory of its own. The rockspec's other fields
-- come from rockspec/nml-scm-1.rockspec, the one place they are written.
local so, out, luajit_so = arg[1], arg[2], arg[3]
if not (so and out) then
  io.stderr:write("usage: LUA tools/make-rock.lua path/to/nml.so OUT_DIR [path/to/luajit/nml.so]\n")
  os.exit(2)
end

local root = (arg[0]:match("^(.*)/tools/[^/]*$")) or "."

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function run(command)
  local ok = os.execute(command)
  if not (ok == true or ok == 0) then error("failed: " .. command, 0) end
end

-- Runs a luarocks command, showing its output only when it fails.
local function run_quiet(command, log)
  local ok = os.execute(command .. " >" .. shell_quote(log) .. " 2>&1")
  if ok == true or ok == 0 then return end
  local f = io.open(log)
  error("failed: " .. command .. "\n" .. (f and f:read("*a") or ""), 0)
end

local function read_line(command)
  local f = assert(io.popen(command))
  local line = f:read("*l")
  f:close()
  return line
end

-- The interpreter running this script, by its absolute path: luarocks, which needs one of
-- the rock's Lua version to run, is pointed at it rather than at what it would find itself.
local function interpreter()
  local exe = assert(arg[-1], "run this script with a Lua interpreter")
  if not exe:find("/", 1, true) then exe = read_line("command -v " .. shell_quote(exe)) end
  return read_line("readlink -f " .. shell_quote(exe))
end

-- The Lua version the rock is for (this interpreter's), and what its rockspec says of it.
local function flavour()
  local version = _VERSION:match("%d+%.%d+")
  local name = "Lua " .. version
  if luajit_so then
    assert(version == "5.1", "only the Lua 5.1 rock carries a LuaJIT build")
    name = "Lua 5.1 and LuaJIT"
  end
  return { lua_version = version, dependencies = { "lua ~> " .. version }, name = name }
end

-- The crate's version, which nml._VERSION gives too.
local function crate_version()
  local f = assert(io.open(root .. "/Cargo.toml"))
  local version = assert(f:read("*a"):match('%[package%][^%[]-\nversion%s*=%s*"([^"]+)"'), "no version in Cargo.toml")
  f:close()
  return version
end

-- rockspec/nml-scm-1.rockspec's fields, as a table.
local function scm_rockspec()
  local path = root .. "/rockspec/nml-scm-1.rockspec"
  local fields = {}
  local chunk
  if setfenv then
    chunk = assert(loadfile(path))
    setfenv(chunk, fields)
  else
    chunk = assert(loadfile(path, "t", fields))
  end
  chunk()
  return fields
end

-- Writes `value` as Lua source: strings quoted, tables with their keys in order.
local function serialize(value, indent)
  if type(value) ~= "table" then
    return type(value) == "string" and string.format("%q", value) or tostring(value)
  end
  indent = indent or ""
  local inner = indent .. "  "
  local lines = {}
  for _, item in ipairs(value) do lines[#lines + 1] = inner .. serialize(item, inner) .. "," end
  local keys = {}
  for key in pairs(value) do
    if type(key) == "string" then keys[#keys + 1] = key end
  end
  table.sort(keys)
  for _, key in ipairs(keys) do
    local name = key:match("^[%a_][%w_]*$") and key or "[" .. string.format("%q", key) .. "]"
    lines[#lines + 1] = inner .. name .. " = " .. serialize(value[key], inner) .. ","
  end
  return "{\n" .. table.concat(lines, "\n") .. "\n" .. indent .. "}"
end

local function binary_rockspec(version, kind)
  local scm = scm_rockspec()
  -- `luarocks show` prints the summary: it says which Lua the rock is for.
  local description = {}
  for key, value in pairs(scm.description) do description[key] = value end
  description.summary = scm.description.summary .. " (binary, " .. kind.name .. ")"
  local fields = {
    { "rockspec_format", scm.rockspec_format },
    { "package", scm.package },
    { "version", version .. "-1" },
    { "source", scm.source },
    { "description", description },
    { "supported_platforms", { "linux" } },
    { "dependencies", kind.dependencies },
    -- Installing a binary rock runs no build: these say where the files came from in the
    -- staging directory `luarocks make` packed.
    { "build", {
      type = "command",
      install = { lib = kind.libraries, bin = { ["nml-cat"] = "bin/nml-cat" } },
      copy_directories = { "library", "doc" }, -- `luarocks doc nml` finds doc/
    } },
  }
  local text = { "-- nml's binary rock for " .. kind.name .. " (made by `make rock`, tools/make-rock.lua, from",
    "-- rockspec/nml-scm-1.rockspec): nml.so built with cargo, nml-cat, library/ and doc/." }
  for _, field in ipairs(fields) do text[#text + 1] = field[1] .. " = " .. serialize(field[2]) end
  return table.concat(text, "\n") .. "\n"
end

local function write_file(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local version = crate_version()
local kind = flavour()
kind.libraries = { nml = "lib/nml.so", ["nml.luajit"] = luajit_so and "lib/nml/luajit.so" or nil }
local lua = interpreter()

run("mkdir -p " .. shell_quote(out))
out = read_line("readlink -f " .. shell_quote(out))
local stage, tree = out .. "/.stage", out .. "/.tree"
run("rm -rf " .. shell_quote(stage) .. " " .. shell_quote(tree))
for _, dir in ipairs { "/lib/nml", "/bin", "/library", "/doc" } do run("mkdir -p " .. shell_quote(stage .. dir)) end
run("cp " .. shell_quote(so) .. " " .. shell_quote(stage .. "/lib/nml.so"))
if luajit_so then run("cp " .. shell_quote(luajit_so) .. " " .. shell_quote(stage .. "/lib/nml/luajit.so")) end
run("cp " .. shell_quote(root .. "/bin/nml-cat") .. " " .. shell_quote(stage .. "/bin/nml-cat"))
run("cp " .. shell_quote(root .. "/library/nml.lua") .. " " .. shell_quote(stage .. "/library/nml.lua"))
run("cp " .. shell_quote(root .. "/README.md") .. " " .. shell_quote(root) .. "/docs/*.md "
  .. shell_quote(stage .. "/doc/"))
local rockspec = "nml-" .. version .. "-1.rockspec"
write_file(stage .. "/" .. rockspec, binary_rockspec(version, kind))
-- luarocks is told which interpreter by a configuration of its own, so that it never reads
-- (or writes) the user's.
write_file(stage .. "/luarocks.conf", string.format("lua_interpreter = %q\nvariables = { LUA_BINDIR = %q }\n",
  lua:match("[^/]*$"), lua:match("^(.*)/[^/]*$")))

local luarocks = "LUAROCKS_CONFIG=" .. shell_quote(stage .. "/luarocks.conf") .. " luarocks --lua-version="
  .. kind.lua_version .. " --tree=" .. shell_quote(tree)
local log = stage .. "/luarocks.log"
run_quiet("cd " .. shell_quote(stage) .. " && " .. luarocks .. " make --deps-mode=none " .. rockspec, log)
run_quiet("cd " .. shell_quote(out) .. " && " .. luarocks .. " pack nml " .. version .. "-1", log)
local packed = assert(io.open(log)):read("*a"):match("Packed: (%S+%.rock)")
run("rm -rf " .. shell_quote(stage) .. " " .. shell_quote(tree))
print((assert(packed, "luarocks pack named no rock")))
