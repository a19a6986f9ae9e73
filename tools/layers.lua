-- Checks that every `crate::` path in src/ points down the layer order of src/lib.rs.
-- (`super::` paths stay inside one directory, whose files the list orders among themselves.)
--
--   lua tools/layers.lua [src-dir]
--
-- The order is read from the module comment of src/lib.rs: the lines of its "Layers" list,
-- lowest first, each naming one or more files (files on one line are one unit and may use each
-- other). A file may use its own unit and the units before it; anything else is a violation,
-- printed as file:line, and the script exits with 1. A file missing from the list is one too.
-- lib.rs, which puts the module together, is the top and may use everything.
-- A file may allow unsafe code (`allow(unsafe_code)`) only if its line in the list says
-- "unsafe code allowed": the crate denies it everywhere else.

local src = arg[1] or "src"

local function read(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- The layer list: after a line "//! Layers", lines "//! N. `file.rs` `file.rs`: what they
-- are", which may go on over indented lines. Its units are ranked by their place in the list;
-- the numbers are for the reader.
local rank, order, unsafe_allowed = {}, {}, {}
do
  local in_list, current_unit = false, nil
  for line in (read(src .. "/lib.rs") .. "\n"):gmatch("([^\n]*)\n") do
    if line:match("^//! Layers") then
      in_list = true
    elseif in_list then
      local files = line:match("^//!%s+%d+%.%s+(.*)$")
      if files then
        current_unit = #order + 1
        order[current_unit] = {}
      elseif current_unit and line:match("^//!%s+%S") then
        files = line:match("^//!%s+(.*)$") -- the unit's line goes on
      elseif not line:match("^//!") then
        break
      end
      for file in (files or ""):gmatch("`([%w_/]+%.rs)`") do
        rank[file] = current_unit
        table.insert(order[current_unit], file)
      end
      if current_unit and line:find("unsafe code allowed", 1, true) then
        unsafe_allowed[current_unit] = true
      end
    end
  end
end
assert(#order > 0, "no '//! Layers' list in " .. src .. "/lib.rs")

-- The file a path of module names (after `crate::`) resolves to: the longest prefix that is a
-- file. Macros exported at the crate root resolve through the file that defines them.
local macros = { lua_functions = "lua.rs" }
local function file_of(path)
  if macros[path[1]] then
    return macros[path[1]]
  end
  for n = #path, 1, -1 do
    local base = table.concat(path, "/", 1, n)
    if exists(src .. "/" .. base .. ".rs") then
      return base .. ".rs"
    elseif exists(src .. "/" .. base .. "/mod.rs") then
      return base .. "/mod.rs"
    end
  end
  return "lib.rs"
end

-- Each `crate::a::b` (and each name in `crate::a::{b, c::d}`) in `text`, with its line. A
-- file's tests (from its `#[cfg(test)]` on) may use anything, as tests drive code from above.
local function crate_paths(text)
  local found, line_no = {}, 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    line_no = line_no + 1
    if line:match("^%s*#%[cfg%(test%)%]") then break end
    local code = line:gsub("//.*", "")
    for rest in code:gmatch("crate::([%w_:{}, ]+)") do
      local prefix, group = rest:match("^([%w_:]-){([^}]*)}")
      local heads = {}
      if group then
        for item in group:gmatch("[^,]+") do heads[#heads + 1] = prefix .. item end
      else
        heads[1] = rest
      end
      for _, head in ipairs(heads) do
        local path = {}
        for name in head:gmatch("[%w_]+") do
          if name == "self" or name == "as" then break end
          path[#path + 1] = name
        end
        if #path > 0 then found[#found + 1] = { path = path, line = line_no } end
      end
    end
  end
  return found
end

local failures = 0
local listing = io.popen("cd '" .. src .. "' && find . -name '*.rs' | sort")
for file in listing:lines() do
  file = file:gsub("^%./", "")
  local text = read(src .. "/" .. file)
  if not rank[file] then
    print(("%s/%s: not in the layer list of %s/lib.rs"):format(src, file, src))
    failures = failures + 1
  elseif text:find("allow%(unsafe_code%)") and not unsafe_allowed[rank[file]] then
    print(("%s/%s: allows unsafe code, which its line in %s/lib.rs does not"):format(src, file, src))
    failures = failures + 1
  else
    local seen = {}
    local uses = crate_paths(text)
    for _, use in ipairs(uses) do
      local target = file_of(use.path)
      local key = target .. ":" .. use.line
      if not seen[key] and rank[target] and rank[target] > rank[file] then
        seen[key] = true
        print(("%s/%s:%d: uses crate::%s (%s, layer %d) from layer %d"):format(
          src, file, use.line, table.concat(use.path, "::"), target, rank[target], rank[file]))
        failures = failures + 1
      end
    end
  end
end
listing:close()

if failures > 0 then
  print(("layers: %d faults against the list in %s/lib.rs"):format(failures, src))
  os.exit(1)
end
print(("layers: %d layers, every crate:: path points down, unsafe code only where allowed")
  :format(#order))
