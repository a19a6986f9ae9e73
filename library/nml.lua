---@meta nml
-- LuaLS definitions of nml's public API, for editors: add this folder to the workspace
-- library (".luarc.json": { "workspace.library": ["<path to nml>/library"] }). It is never
-- loaded at run time. The manual (docs/manual.md) says what each function does.
--
-- A call that can fail at run time returns `nil, message, code`; these types give what it
-- returns when it succeeds, so that an editor does not flag every use of, say, a socket. Check
-- the first value, or wrap the call in `assert`.

---@class nml
---@field null lightuserdata nil inside tables (the NULL lightuserdata, as cjson.null)
---@field NN_MSG integer size meaning "the buffer is an nml message, hand it over"
---@field NN_DONTWAIT integer flag: do not block
---@field DONTWAIT integer the same as NN_DONTWAIT
---@field _VERSION string
local nml = {}

---@alias nml.value nil|boolean|number|string|table|lightuserdata
---@alias nml.protocol_name string MessagePack, JSON, string, or a registered name (matched loosely)
---@alias nml.buffers_option { buffers?: "message"|"string" }

---@class nml.tls
---@field ca_file? string
---@field cert_file? string
---@field key_file? string
---@field key_password? string
---@field server_name? string
---@field auth_mode? "none"|"optional"|"required"

---@class nml.socket_options
---@field recv_timeout? integer
---@field send_timeout? integer
---@field recv_max_size? integer
---@field recv_buffer? integer messages (0 to 8192): bus, pair, pair1, sub and raw sockets only
---@field send_buffer? integer messages (0 to 8192): bus, pair, pair1, push, pub and raw sockets only
---@field reconnect_min? integer
---@field reconnect_max? integer
---@field survey_time? integer
---@field resend_time? integer
---@field protocol? nml.protocol_name
---@field tagged? boolean
---@field strings? "str"|"auto"
---@field share? boolean
---@field tcp_nodelay? boolean
---@field tcp_keepalive? boolean
---@field tcp_dead_peer_time? integer
---@field raw? boolean

---@class nml.pipe_event
---@field event "connect"|"disconnect"|"refused"
---@field pipe integer
---@field address string
---@field why? "allow"|"protocol"|"taken"
---@field peer? "pair"|"pair1"|"req"|"rep"|"pub"|"sub"|"push"|"pull"|"bus"|"surveyor"|"respondent"
---@field peer_pid? integer
---@field peer_uid? integer
---@field peer_gid? integer

-- Sockets -----------------------------------------------------------------------------------

---@class nml.socket
local Socket = {}

---@param url string
---@param options? { tls?: nml.tls }
---@return nml.listener, string? err, string? code
function Socket:listen(url, options) end

---@param url string
---@param options? { tls?: nml.tls }
---@return nml.listener, string? err, string? code
function Socket:bind(url, options) end

---@param url string
---@param options? { block?: boolean, tls?: nml.tls }
---@return true|nil, string?, string?
function Socket:dial(url, options) end

---@param url string
---@param options? { block?: boolean, tls?: nml.tls }
---@return true|nil, string?, string?
function Socket:connect(url, options) end

---@param value nml.value
---@param protocol? nml.protocol_name
---@param options? { dontwait?: boolean, topic?: string, strings?: "str"|"auto" }
---@return true|nil, string?, string?
function Socket:send(value, protocol, options) end

---@param options? { dontwait?: boolean, buffers?: "message"|"string" }
---@return any value, string|string? protocol, string|string? topic, string? raw
function Socket:recv(options) end

---@param name string
---@param value any
---@return true|nil, string?, string?
function Socket:setopt(name, value) end

---@param name string
---@return any|nil, string?, string?
function Socket:getopt(name) end

---@param prefix string
---@return true|nil, string?, string?
function Socket:subscribe(prefix) end

---@param prefix string
---@return true|nil, string?, string?
function Socket:unsubscribe(prefix) end

---@return nml.context, string? err, string? code
function Socket:context() end

---@return integer, string? err, string? code
function Socket:recv_fd() end

---@return integer, string? err, string? code
function Socket:send_fd() end

---@return nml.pipe_event[]|nil events, integer|string dropped, string? code
function Socket:pipe_events() end

---@param allow? { uid?: integer|integer[], gid?: integer|integer[] }
---@return true|nil, string?, string?
function Socket:allow(allow) end

---@return table, string? err, string? code
function Socket:stats() end

---@return true
function Socket:close() end

---@class nml.context
local Context = {}

---@param value nml.value
---@param protocol? nml.protocol_name
---@param options? { dontwait?: boolean, strings?: "str"|"auto" }
---@return true|nil, string?, string?
function Context:send(value, protocol, options) end

---@param options? { dontwait?: boolean, buffers?: "message"|"string" }
---@return any value, string|string? protocol, string|string? topic, string? raw
function Context:recv(options) end

---@param name string
---@param value any
---@return true|nil, string?, string?
function Context:setopt(name, value) end

---@param name string
---@return any|nil, string?, string?
function Context:getopt(name) end

---@return integer, string? err, string? code
function Context:recv_fd() end

---@return integer, string? err, string? code
function Context:send_fd() end

---@return true
function Context:close() end

---A sub context's own subscriptions (a new context has none).
---@param prefix string
---@return true|nil, string?, string?
function Context:subscribe(prefix) end

---@param prefix string
---@return true|nil, string?, string?
function Context:unsubscribe(prefix) end

---@class nml.listener
local Listener = {}

---@return integer, string? err, string? code
function Listener:port() end

---@return string, string? err, string? code
function Listener:url() end

---@return true
function Listener:close() end

-- Messages ----------------------------------------------------------------------------------

---@class nml.msg
local Message = {}

---@return integer, string? err, string? code
function Message:size() end

---@return lightuserdata, string? err, string? code
function Message:ptr() end

---@param offset integer
---@param count integer
---@return string, string? err, string? code
function Message:read(offset, count) end

---@param offset integer
---@param data string
---@return nml.msg, string? err, string? code
function Message:write(offset, data) end

---@param offset? integer
---@param count? integer
---@return string, string? err, string? code
function Message:tostring(offset, count) end

---@return 0|nil, string?, string?
function Message:free() end

-- Byte streams ------------------------------------------------------------------------------

---@class nml.framer
local Framer = {}

---@param chunk string
---@return true|nil, string?, string?
function Framer:feed(chunk) end

---@return fun(): string?, string? # the payload; and its protocol, from a typed framer
function Framer:messages() end

---@return integer
function Framer:pending() end

---@class nml.shm_pool
local ShmPool = {}

---@return nml.msg buffer, string? err, string? code
function ShmPool:take() end

---@return integer
function ShmPool:available() end

---@class nml.unpacker
local Unpacker = {}

---@param bytes string
---@return true|nil, string?, string?
function Unpacker:feed(bytes) end

---@return any value, string? err, string? code, string? raw
function Unpacker:next() end

---@return fun(): any
function Unpacker:values() end

---@return integer
function Unpacker:pending() end

---@class nml.stream
local Stream = {}

---@param value nml.value
---@param protocol? nml.protocol_name
---@param options? { topic?: string, strings?: "str"|"auto" }
---@return true|nil, string?, string?
function Stream:send(value, protocol, options) end

---@return any value, string|string? protocol, string|string? topic, string? raw
function Stream:recv() end

-- A streamed reply being read: call it (a `for` loop does) for each chunk.
---@class nml.chunks
---@overload fun(): any, integer|string|nil, any
local Reply = {}

---@return boolean|nil ended true after the end part; nil after a failure; false while not over
---@return string? err
---@return string? code
---@return any raw
function Reply:result() end

--- What nml.serve returns.
---@class nml.server
---@field served integer requests answered with the handler's reply
---@field failed integer requests answered with an error reply (or whose reply could not be sent)
local Server = {}

--- Takes no more requests: idle contexts end now, a busy one after its reply.
---@return true
function Server:stop() end

---@return boolean|nil ended true once stopped; nil when a context ended on a failure; false while running
---@return string? err
---@return string? code
function Server:result() end

--- What nml.deliver returns: jobs sent over a req socket, each kept until a reply acknowledges it.
---@class nml.deliverer
local Deliverer = {}

--- Takes the job once a context is free: waits at most the socket's send_timeout, or is
--- "again" at once with dontwait. A job not taken (nil returned) stays the caller's.
---@param job any
---@param protocol? string
---@param options? { dontwait?: boolean }
---@return true|nil ok, string? err, string? code
function Deliverer:send(job, protocol, options) end

--- True once no job is in flight (each acknowledged or handed back); nil, msg, "timeout".
---@param timeout_ms? integer -1 or nil: forever
---@return true|nil ok, string? err, string? code
function Deliverer:wait(timeout_ms) end

--- One look at the jobs in flight, without waiting (for event loops); returns how many are.
---@return integer
function Deliverer:step() end

---@return integer in_flight
function Deliverer:pending() end

--- The jobs handed back since the last call, oldest first.
---@return { job: any, protocol: string?, error: string, code: "timeout"|"remote"|"closed"|"malformed"|string }[]
function Deliverer:failed() end

--- Hands back every job in flight ("closed") and closes the contexts; the socket stays open.
---@return true
function Deliverer:close() end

-- Module functions --------------------------------------------------------------------------

---@param kind "pair"|"pair0"|"pair1"|"req"|"rep"|"pub"|"sub"|"push"|"pull"|"bus"|"surveyor"|"respondent"
---@param options? nml.socket_options
---@return nml.socket, string? err, string? code
function nml.socket(kind, options) end

---@param sockets (nml.socket|nml.context)[]
---@param timeout_ms? integer
---@param send_sockets? (nml.socket|nml.context)[]
---@return (nml.socket|nml.context)[]|nil readable, (nml.socket|nml.context)[]|string writable, string? code
function nml.poll(sockets, timeout_ms, send_sockets) end

---@param sock nml.socket
---@param buffer string|nml.msg|userdata|lightuserdata|nml.value
---@param flags integer
---@param size? integer
---@param protocol? nml.protocol_name
---@return 0|nil, string?, string?
function nml.send(sock, buffer, flags, size, protocol) end

---@param sock nml.socket
---@param flags integer
---@param ud? nml.msg|userdata
---@param size? integer
---@return string|nml.msg|nil buffer, integer|string bytes, string? protocol
function nml.recv(sock, flags, ud, size) end

---@param front nml.socket
---@param back nml.socket
---@return true|nil, string?, string?
function nml.forward(front, back) end

---@param size integer
---@return nml.msg buffer, string? err, string? code
function nml.shm_alloc(size) end

---@param options { size: integer, count: integer }
---@return nml.shm_pool pool, string? err, string? code
function nml.shm_pool(options) end

---@param size integer
---@return nml.msg, string? err, string? code
function nml.allocmsg(size) end

---@param msg nml.msg
---@param size integer
---@return nml.msg, string? err, string? code
function nml.reallocmsg(msg, size) end

---@param msg nml.msg
---@return 0|nil, string?, string?
function nml.freemsg(msg) end

---@param ... any values, then optionally an allocator table {malloc, realloc, free}
---@return string|nml.msg|userdata|lightuserdata|nil, integer|string?, string?
function nml.pack(...) end

---@param msg nml.msg
---@param ... any
---@return nml.msg|nil, integer|string?, string?
function nml.pack_into(msg, ...) end

---@param data string|nml.msg
---@param offset? integer
---@param options? nml.buffers_option
---@return any ...
function nml.unpack(data, offset, options) end

---@param data string|nml.msg
---@param offset? integer
---@param options? nml.buffers_option
---@return any value, integer|string next_offset, string? code
function nml.unpack_one(data, offset, options) end

---@param ... any
---@return integer
function nml.packsize(...) end

---@param value any
---@param protocol? nml.protocol_name
---@param options? { strings?: "str"|"auto" }
---@return string
function nml.encode(value, protocol, options) end

---@param data string
---@param protocol? nml.protocol_name
---@return any value, string? err, string? code
function nml.decode(data, protocol) end

---@param value any
---@param protocol? nml.protocol_name
---@param options? { topic?: string, strings?: "str"|"auto" }
---@return string
function nml.wrap(value, protocol, options) end

---@param bytes string
---@param options? nml.buffers_option
---@return any value, string|string? protocol, string|string? topic, string? raw
function nml.unwrap(bytes, options) end

---@param name string|integer a protocol's name, or a frame type
---@return string|nil name, integer|string|nil frame_type_or_error, string? code
function nml.protocol(name) end

---@param name string
---@class nml.protocol_spec
---@field encode fun(value: any): string
---@field decode fun(data: string): any
---@field aliases? string[]
---@field frame_type? integer

---@param spec nml.protocol_spec
---@return string
function nml.register_protocol(name, spec) end

---The settings nml.config changes (any of them) and returns (all of them).
---@class nml.settings
---@field max_depth? integer
---@field float32? boolean
---@field strings? "str"|"auto"
---@field buffers? "message"|"string"
---@field codec? "auto"|"lua"|"rust"
---@field int64? "cdata"|"number"|"integer"

---@param settings? nml.settings
---@return nml.settings
function nml.config(settings) end

---@generic T: table
---@param t? T
---@return T
function nml.map(t) end

---@generic T: table
---@param t? T
---@return T
function nml.array(t) end

---@param s string
---@return table
function nml.bin(s) end

---@param type integer
---@param data string
---@return { type: integer, data: string }
function nml.ext(type, data) end

---@return number seconds a monotonic clock, for measuring
function nml.clock() end

---@return number seconds the wall clock: seconds since 1970, with the fraction
function nml.time() end

---@param ms integer
function nml.sleep(ms) end

---@param payload string
---@param options? { type?: integer|nml.protocol_name }
---@return string, string? err, string? code
function nml.frame(payload, options) end

---@param options? { max_size?: integer, type_byte?: boolean }
---@return nml.framer
function nml.framer(options) end

---@param x { send: function }
---@param chunks any[]|fun(): any
---@param options? { id?: string|integer, meta?: any, protocol?: nml.protocol_name }
---@return true|nil, string?, string?
function nml.send_chunks(x, chunks, options) end

---@param x { recv: function }
---@param options? { id?: string|integer, errors?: "raise"|"return" }
---@return nml.chunks reply called as an iterator: data, seq, meta (or nil, msg, code)
function nml.chunks(x, options) end

---@param options? { max_size?: integer, buffers?: "message"|"string" }
---@return nml.unpacker
function nml.unpacker(options) end

---@param conn { receive: function, send: function }
---@param options? { max_size?: integer, buffers?: "message"|"string" }
---@return nml.stream
function nml.stream(conn, options) end

--- How a coroutine waits: a function, or a loop nml knows (the luv module, a cqueues controller
--- or the cqueues module, the copas module).
---@param fn? fun(fd: integer, timeout_ms?: integer): boolean|table|userdata
---@return function|nil previous
function nml.waiter(fn) end

--- Answers each request on a rep or respondent socket with `handler`, through `contexts`
--- contexts in `loop` (the server is returned at once), or here, one at a time, until
--- `server:stop()` (then the server is returned). A handler that raises gets its client a reply
--- of protocol "nml.error" holding the message, and `on_error(message, request, server)` is told.
---@param sock nml.socket
---@alias nml.on_error fun(message: string, request: any, server: nml.server)
---@param options { contexts?: integer, loop?: table|userdata, on_error?: nml.on_error }
---@param handler fun(request: any, protocol: string, server: nml.server): any, string?
---@return nml.server server
---@overload fun(sock: nml.socket, options: table, handler: function): nil, string, string
function nml.serve(sock, options, handler) end

--- At-least-once delivery over a req socket: each job is kept until a worker's reply
--- acknowledges it, sent again after resend_time (and at once when its connection breaks), and
--- handed back through `failed()` after give_up.
---@param sock nml.socket a req socket
---@alias nml.on_reply fun(reply: any, protocol: string, job: any)
---@param options? { window?: integer, resend_time?: integer, give_up?: integer, on_reply?: nml.on_reply }
---@return nml.deliverer|nil, string? err, string? code
function nml.deliver(sock, options) end

---@param x nml.socket|nml.context
---@param direction "recv"|"send"
---@param timeout_ms? integer
---@return true|nil, string?, string?
function nml.await(x, direction, timeout_ms) end

---@param x nml.socket|nml.context
---@param options? { buffers?: "message"|"string" }
---@return any value, string|string? protocol, string|string? topic, string? raw
function nml.await_recv(x, options) end

---@param x nml.socket|nml.context
---@param value nml.value
---@param protocol? nml.protocol_name
---@param options? { topic?: string, strings?: "str"|"auto" }
---@return true|nil, string?, string?
function nml.await_send(x, value, protocol, options) end

-- Socket methods are module functions too, taking the socket first.

---@param sock nml.socket
---@param url string
---@param options? { tls?: nml.tls }
---@return nml.listener, string? err, string? code
function nml.listen(sock, url, options) end

---@param sock nml.socket
---@param url string
---@param options? { tls?: nml.tls }
---@return nml.listener, string? err, string? code
function nml.bind(sock, url, options) end

---@param sock nml.socket
---@param url string
---@param options? { block?: boolean, tls?: nml.tls }
---@return true|nil, string?, string?
function nml.dial(sock, url, options) end

---@param sock nml.socket
---@param url string
---@param options? { block?: boolean, tls?: nml.tls }
---@return true|nil, string?, string?
function nml.connect(sock, url, options) end

---@param sock nml.socket
---@param name string
---@param value any
---@return true|nil, string?, string?
function nml.setopt(sock, name, value) end

---@param sock nml.socket
---@param name string
---@return any|nil, string?, string?
function nml.getopt(sock, name) end

---@param sock nml.socket
---@param prefix string
---@return true|nil, string?, string?
function nml.subscribe(sock, prefix) end

---@param sock nml.socket
---@param prefix string
---@return true|nil, string?, string?
function nml.unsubscribe(sock, prefix) end

---@param sock nml.socket
---@return nml.context, string? err, string? code
function nml.context(sock) end

---@param sock nml.socket
---@return integer, string? err, string? code
function nml.recv_fd(sock) end

---@param sock nml.socket
---@return integer, string? err, string? code
function nml.send_fd(sock) end

---@param sock nml.socket
---@return nml.pipe_event[]|nil events, integer|string dropped, string? code
function nml.pipe_events(sock) end

---@param sock nml.socket
---@param allow? { uid?: integer|integer[], gid?: integer|integer[] }
---@return true|nil, string?, string?
function nml.allow(sock, allow) end

---@param sock nml.socket
---@return table, string? err, string? code
function nml.stats(sock) end

---@param sock nml.socket
---@return true
function nml.close(sock) end

return nml
