-- A TLS listener in a process of its own, for what a spec must set in its environment
-- (OPENSSL_CONF): `lua tls_server.lua <pki dir>` prints the port it listens on, then serves
-- until stdin closes.
local nml = require "nml"
local pki = assert(arg[1], "usage: tls_server.lua <pki dir>")
local server = assert(nml.socket("rep"))
local listener = assert(server:listen("tls+tcp://127.0.0.1:0", { tls = {
  cert_file = pki .. "server.crt", key_file = pki .. "server.key" } }))
io.stdout:write(listener:port(), "\n")
io.stdout:flush()
io.stdin:read("*a")
server:close()
