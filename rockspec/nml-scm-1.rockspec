-- luarocks make rockspec/nml-scm-1.rockspec      (from the repository root; needs cargo)
-- Builds the Rust crate for the Lua that luarocks targets (--lua-version) and installs nml.so.
rockspec_format = "3.0"
package = "nml"
version = "scm-1"
source = {
  url = "git+https://invalid.example/nml.git", -- `luarocks make` builds the checkout it runs in
}
description = {
  summary = "MessagePack-aware messaging over NNG for Lua",
  detailed = [[
    nml packs Lua tables (and the C buffers they point to) straight into NNG messages, tags
    every message with its encoding (MessagePack, JSON, string or one you register), and frames
    MessagePack over plain byte streams. Written in Rust.
    LuaLS definitions for editors: library/ in `luarocks show --rock-dir nml`.
  ]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.1, < 5.5",
}
build = {
  type = "command",
  build_command = [[sh tools/rock-build "$(LUA)"]],
  install = {
    lib = { nml = "build/rock/nml.so" },
    -- luarocks wraps the script to run with the interpreter the rock was built for.
    bin = { ["nml-cat"] = "bin/nml-cat" },
  },
  -- The LuaLS definitions go into the rock's own directory, never on package.path, where they
  -- could shadow nml.so (`luarocks show nml` tells where; the manual's "Editor support").
  copy_directories = { "library" },
}
test = {
  type = "busted", -- the .busted file at the root: the specs on the Lua luarocks targets
}
