-- luacheck (make lint): every Lua file of nml, its specs, examples and tools.
std = "max"
max_line_length = 120
exclude_files = { "build", "target", "fuzz/target" }
-- Specs keep every value a call returns in named locals, used or not, so the reader sees the
-- call's shape (`local v, err, code = f()`).
files["spec"] = { std = "+busted", ignore = { "311", "231" } }
-- LuaLS definitions: empty functions whose arguments only document the signature, and the
-- classes' tables that exist only to hold them.
files["library"] = { ignore = { "212", "241" } }
-- Run by nginx's Lua module, which gives them `ngx`.
files["examples/openresty"] = { std = "max+ngx_lua" }
-- wrk's script: wrk gives `wrk` and calls the global `done`.
files["benches/nginx_wrk.lua"] = { globals = { "wrk", "done" } }
