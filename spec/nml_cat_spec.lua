-- bin/nml-cat, run from a shell as a user would, against nml peers in this process and a pynng
-- peer in another.
local helper = require "helper"
local nml = helper.nml

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local root = here .. "/.."
local CAT = string.format("LUA_CPATH='%s;;' %s %s/bin/nml-cat", helper.cpath, helper.lua, root)
local PATH = string.format("PATH='%s/build/venv/bin':\"$PATH\"; export PATH; ", root)
local TIME = "%d%d:%d%d:%d%d%.%d%d%d"

-- Runs a shell command to the end: its output (stdout and stderr) and its exit status.
local function shell(command)
  local f = assert(io.popen("(" .. command .. ") 2>&1; echo \"exit status $?\""))
  local out = f:read("*a")
  f:close()
  local body, status = out:match("^(.*)exit status (%d+)\n?$")
  return body, tonumber(status)
end

local function cat(args)
  return shell(CAT .. " " .. args)
end

-- Starts nml-cat in the background; `finish()` waits for it and gives what `cat` gives.
local function start(args)
  local f = assert(io.popen("(" .. CAT .. " " .. args .. ") 2>&1; echo \"exit status $?\""))
  return function()
    local out = f:read("*a")
    f:close()
    local body, status = out:match("^(.*)exit status (%d+)\n?$")
    return body, tonumber(status)
  end
end

local function lines_of(text)
  local lines = {}
  for line in text:gmatch("[^\n]+") do lines[#lines + 1] = line end
  return lines
end

-- The line nml-cat prints, without its time.
local function line(size, protocol, rest)
  return string.format("%6d B  %-11s  %s", size, protocol, rest)
end

local function without_time(l)
  local rest = l:match("^" .. TIME .. " (.*)$")
  assert(rest, "no time at the start of " .. l)
  return rest
end

local ipc_url = helper.ipc_url

local function listening(kind, options)
  options = options or {}
  options.send_timeout = options.send_timeout or 10000
  options.recv_timeout = options.recv_timeout or 10000
  local sock = helper.socket(kind, options)
  local url = ipc_url()
  assert(sock:listen(url))
  return sock, url
end

local function buffer_of(size)
  local buf = nml.allocmsg(size)
  local bytes = {}
  for i = 0, size - 1 do bytes[#bytes + 1] = string.char(i % 256) end
  buf:write(0, table.concat(bytes))
  return buf
end

-- Where `text` holds something a terminal would act on, or nil: a control character other
-- than the line end, DEL, a C1 control (raw or in UTF-8), a bidi control, or a byte that is
-- not UTF-8 (a stray 0x9b is CSI to a terminal that is not in UTF-8 mode).
local function terminal_unsafe(text)
  local flat = text:gsub("\n", "")
  local at = flat:find("%c")
  if at then return string.format("control byte 0x%02x at %d", flat:byte(at), at) end
  for _, p in ipairs({ "\194[\128-\159]", "\226\128[\142\143\168-\174]", "\226\129[\166-\169]", "\216\156" }) do
    at = flat:find(p)
    if at then return "a C1 or bidi control at " .. at .. ": " .. helper.hex(flat:sub(at, at + 2)) end
  end
  local i = 1
  while i <= #flat do
    local c = flat:byte(i)
    local len = (c < 0x80 and 1) or (c >= 0xC2 and c < 0xE0 and 2) or (c >= 0xE0 and c < 0xF0 and 3)
      or (c >= 0xF0 and c < 0xF5 and 4)
    if not len then return string.format("byte 0x%02x at %d is not UTF-8", c, i) end
    for j = i + 1, i + len - 1 do
      local b = flat:byte(j)
      if not b or b < 0x80 or b > 0xBF then return string.format("byte 0x%02x at %d is not UTF-8", c, i) end
    end
    i = i + len
  end
  return nil
end

local write_file = helper.write_file

describe("nml-cat", function()
  it("removes its ipc:// file when it exits on a failure", function()
    local path = helper.tmpname() .. ".ipc"
    local out, status = cat("--pull --listen ipc://" .. path .. " --count 1 --timeout 0.2")
    assert.are.equal(1, status, out)
    assert.matches("0 of 1 messages came", out)
    local _, left = shell("test -e " .. path) -- (io.open cannot open a socket file)
    assert.are_not.equal(0, left, path .. " was left behind")
  end)

  it("runs no module of the directory it is started in", function()
    local dir = helper.tmpname() .. "-cwd"
    assert(os.execute("mkdir -p '" .. dir .. "'"))
    assert(os.execute("mkdir -p '" .. dir .. "/opt/app'"))
    for _, file in ipairs { "nml.lua", "opt/app/nml.lua" } do
      write_file(dir .. "/" .. file, "io.stdout:write('ran " .. file .. "\\n') os.exit(7)")
    end
    local script = shell("readlink -f " .. root .. "/bin/nml-cat"):gsub("%s+$", "")
    -- Lua's own ./?.lua, and entries around it: ../ (whose "./" must not eat the next entry's "/")
    local paths = "../lib/?.lua;/opt/app/?.lua;./?.lua;;"
    local out, status = shell(string.format("cd '%s' && LUA_PATH='%s' LUA_PATH_5_4='%s' LUA_CPATH='%s;;' %s %s"
      .. " --version", dir, paths, paths, helper.cpath, helper.lua, script))
    os.execute("rm -rf '" .. dir .. "'")
    assert.are.equal(0, status, out)
    assert.matches("^nml%-cat %(nml ", out)
  end)

  it("shows each message on one line: time, size, protocol and the value", function()
    local push, url = listening("push")
    local finish = start("--pull --dial " .. url .. " --count 5 --timeout 10")
    local op = { op = "add", args = { 2, 3 }, ratio = 0.5, name = "h\195\169llo\n" }
    assert(push:send(op))
    assert(push:send({ 1, 2, { a = nml.null } }, "json"))
    assert(push:send("plain text", "string"))
    local frame = { buffer = buffer_of(1000), buffer_ud_type = "gray8", buffer_ud_size = 1000, width = 40 }
    local frame_size = #nml.wrap(frame)
    assert(push:send(frame))
    assert(push:send({ nml.bin("\255\0\1"), nml.ext(3, "ab"), true, 1e100, -7 }))
    local out, status = finish()
    assert.are.equal(0, status, out)
    local got = lines_of(out)
    assert.are.equal(5, #got, out)
    assert.are.equal(line(#nml.wrap(op), "MessagePack",
      '{args = {2, 3}, name = "h\195\169llo\\n", op = "add", ratio = 0.5}'), without_time(got[1]))
    assert.are.equal(line(#nml.wrap({ 1, 2, { a = nml.null } }, "json"), "JSON", "{1, 2, {a = null}}"),
      without_time(got[2]))
    assert.are.equal(line(12, "string", '"plain text"'), without_time(got[3]))
    assert.are.equal(line(frame_size, "MessagePack", "{buffer = <gray8, 1000 bytes: 00 01 02 03 04 05 06 07 ...>, "
      .. 'buffer_ud_size = 1000, buffer_ud_type = "gray8", width = 40}'), without_time(got[4]))
    assert.matches('{"\\xff\\x00\\x01", ext(3, "ab"), true, 1e+100, -7}', without_time(got[5]), 1, true)
  end)

  it("cuts long strings and tables, and shows them whole with --full", function()
    local push, url = listening("push")
    local long = { text = string.rep("x", 300), list = {} }
    for i = 1, 40 do long.list[i] = i end
    local cut = start("--pull --dial " .. url .. " --count 1 --timeout 10")
    assert(push:send(long))
    local out = cut()
    assert.matches('list = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, ...(40 entries)}', out, 1, true)
    assert.matches('text = "' .. string.rep("x", 64) .. '"...(300 bytes)}', out, 1, true)
    local full = start("--pull --dial " .. url .. " --count 1 --timeout 10 --full")
    assert(push:send(long))
    out = full()
    assert.matches("38, 39, 40}", out, 1, true)
    assert.matches('text = "' .. string.rep("x", 300) .. '"}', out, 1, true)
  end)

  it("subscribes to topics and prints one JSON object per message with --json", function()
    local pub, url = listening("pub")
    local finish = start("--sub --dial " .. url .. " --subscribe weather --count 2 --timeout 10 --json")
    while pub:stats().pipes == 0 do nml.sleep(10) end
    nml.sleep(100) -- the subscription follows the connection
    local value = { city = "Oslo", temp = -3.5, raw = nml.bin("\0\255"), nan = 0 / 0,
      frame = { buffer = buffer_of(32), buffer_ud_type = "u8" } }
    assert(pub:send(value, nil, { topic = "weather" }))
    assert(pub:send({ headline = "not this" }, nil, { topic = "news" }))
    assert(pub:send("sunny", "json", { topic = "weather.today" }))
    local out, status = finish()
    assert.are.equal(0, status, out)
    local got = lines_of(out)
    assert.are.equal(2, #got, out)
    local first = assert(nml.decode(got[1], "json"))
    assert.are.equal(#nml.wrap(value, nil, { topic = "weather" }), first.size)
    assert.are.equal("MessagePack", first.protocol)
    assert.are.equal("weather", first.topic)
    assert.is_true(math.abs(first.time - nml.time()) < 60)
    assert.are.equal("Oslo", first.value.city)
    assert.are.equal(-3.5, first.value.temp)
    assert.are.equal("00ff", first.value.raw["$hex"])
    assert.are.equal("nan", first.value.nan)
    assert.are.equal(32, first.value.frame.buffer["$size"])
    assert.are.equal("0001020304050607", first.value.frame.buffer["$hex"])
    assert.are.equal("u8", first.value.frame.buffer_ud_type)
    local second = assert(nml.decode(got[2], "json"))
    assert.are.same({ "JSON", "weather.today", "sunny" }, { second.protocol, second.topic, second.value })
  end)

  it("prints the bytes with --raw, frames them with --frames, and reads frames with --stream", function()
    local push, url = listening("push")
    local values = { { a = { 1, 2 } }, "two", { buffer = buffer_of(10), buffer_ud_type = "bytes" } }
    local bodies = {}
    for i, v in ipairs(values) do bodies[i] = nml.wrap(v) end
    local capture = os.tmpname()
    for _, mode in ipairs({ "--raw", "--frames" }) do
      local finish = start("--pull --dial " .. url .. " --count 3 --timeout 10 " .. mode .. " > " .. capture)
      for _, v in ipairs(values) do assert(push:send(v)) end
      local out, status = finish()
      assert.are.equal(0, status, out)
      local expected = mode == "--raw" and table.concat(bodies)
        or nml.frame(bodies[1]) .. nml.frame(bodies[2]) .. nml.frame(bodies[3])
      assert.are.equal(helper.hex(expected), helper.hex(helper.read_file(capture)))
    end
    -- What --frames wrote, shown later, from a file and from a pipe.
    local out, status = cat("--stream < " .. capture)
    assert.are.equal(0, status, out)
    local got = lines_of(out)
    assert.are.equal(3, #got, out)
    assert.are.equal(line(#bodies[1], "MessagePack", "{a = {1, 2}}"), without_time(got[1]))
    assert.are.equal(line(#bodies[2], "MessagePack", '"two"'), without_time(got[2]))
    out = shell("cat " .. capture .. " | " .. CAT .. " --stream --json")
    assert.are.equal("bytes", assert(nml.decode(lines_of(out)[3], "json")).value.buffer_ud_type)
    -- A stream cut inside a frame: what came is shown, then the failure, exit status 1.
    local f = assert(io.open(capture .. ".cut", "wb"))
    f:write(nml.frame(bodies[1]), nml.frame(bodies[2]):sub(1, 6))
    f:close()
    out, status = cat("--stream < " .. capture .. ".cut")
    assert.are.equal(1, status)
    assert.matches("{a = {1, 2}}", out, 1, true)
    assert.matches("the stream ends inside a frame (2 of " .. #bodies[2] .. " bytes)", out, 1, true)
    os.remove(capture)
    os.remove(capture .. ".cut")
  end)

  it("shows the bytes as a hex dump with --hex, and shows what it cannot decode", function()
    local push, url = listening("push", { tagged = false, protocol = "string" })
    local finish = start("--pull --dial " .. url .. " --count 2 --timeout 10 --hex")
    assert(push:send("\193\002{not json"))           -- tagged JSON whose payload is broken
    assert(push:send(nml.wrap({ after = true })))     -- the next message still comes
    local out, status = finish()
    assert.are.equal(0, status, out)
    local got = lines_of(out)
    assert.matches(line(11, "-", '! malformed JSON'), without_time(got[1]), 1, true)
    assert.matches('"\\xc1\\x02{not json"', got[1], 1, true)
    assert.are.equal("  00000000  c1 02 7b 6e 6f 74 20 6a 73 6f 6e                 ..{not json", got[2])
    assert.are.equal(line(#nml.wrap({ after = true }), "MessagePack", "{after = true}"), without_time(got[3]))
  end)

  it("sends JSON text as MessagePack, JSON or a string, from --data or --file", function()
    local pull, url = listening("pull")
    local out, status = cat("--push --dial " .. url .. [[ --data '{"op":"add","args":[2,3],"x":1.5}']])
    assert.are.equal(0, status, out)
    local v, protocol = pull:recv()
    assert.are.equal("MessagePack", protocol)
    helper.assert_same({ op = "add", args = { 2, 3 }, x = 1.5 }, v)

    assert.are.equal(0, select(2, cat("--push --dial " .. url .. [[ --protocol json --data '[1,null]']])))
    v, protocol = pull:recv()
    assert.are.equal("JSON", protocol)
    assert.are.same({ 1, nml.null }, v)

    assert.are.equal(0, select(2, cat("--push --dial " .. url .. " --protocol string --data 'not {json'")))
    assert.are.same({ "not {json", "string" }, { pull:recv() })

    local file = os.tmpname()
    local f = assert(io.open(file, "w"))
    f:write('{"from": "a file"}\n')
    f:close()
    out, status = cat("--push --dial " .. url .. " --file " .. file .. " --count 3 --interval 0.05")
    assert.are.equal(0, status, out)
    for _ = 1, 3 do assert.are.equal("a file", pull:recv().from) end
    assert.are.equal(0, select(2, cat("--push --dial " .. url .. " --file - < " .. file)))
    assert.are.equal("a file", pull:recv().from)
    os.remove(file)

    out, status = cat("--push --dial " .. url .. " --data '{broken'")
    assert.are.equal(1, status)
    assert.matches("--data is not JSON", out, 1, true)
  end)

  it("publishes with a topic", function()
    local sub = helper.socket("sub", { recv_timeout = 10000 })
    assert(sub:subscribe("alerts"))
    local url = ipc_url()
    assert(sub:listen(url))
    local out, status = cat("--pub --dial " .. url .. [[ --topic alerts.fire --delay 0.3 --data '{"level":3}']])
    assert.are.equal(0, status, out)
    local v, protocol, topic = sub:recv()
    assert.are.same({ { level = 3 }, "MessagePack", "alerts.fire" }, { v, protocol, topic })
  end)

  it("asks and answers: req, rep, surveyor and respondent", function()
    local rep, url = listening("rep")
    local finish = start("--req --dial " .. url .. [[ --data '{"q":1}' --timeout 10]])
    helper.assert_same({ q = 1 }, rep:recv())
    assert(rep:send({ answer = 42 }))
    local out, status = finish()
    assert.are.equal(0, status, out)
    assert.matches("MessagePack  {answer = 42}\n", out, 1, true)

    -- rep replies with --data, or echoes the request without it.
    local req
    req, url = listening("req")
    finish = start("--rep --dial " .. url .. " --count 2 --timeout 10")
    assert(req:send({ ping = 1 }))
    assert.are.same({ ping = 1 }, req:recv())
    assert(req:send("again", "json"))
    assert.are.same({ "again", "JSON" }, { req:recv() })
    out, status = finish()
    assert.are.equal(0, status, out)
    assert.are.equal(2, #lines_of(out))

    local surveyor
    surveyor, url = listening("surveyor", { survey_time = 5000 })
    finish = start("--respondent --dial " .. url .. [[ --data '"here"' --count 1 --timeout 10]])
    while surveyor:stats().pipes == 0 do nml.sleep(10) end
    assert(surveyor:send({ who = "is there" }))
    assert.are.equal("here", surveyor:recv())
    out, status = finish()
    assert.are.equal(0, status, out)
    assert.matches('{who = "is there"}', out, 1, true)

    local respondent
    respondent, url = listening("respondent")
    finish = start("--surveyor --dial " .. url .. [[ --data '"anyone?"' --delay 0.5 --timeout 2]])
    assert.are.equal("anyone?", respondent:recv())
    assert(respondent:send({ me = true }))
    out, status = finish()
    assert.are.equal(0, status, out)
    assert.matches("{me = true}", out, 1, true)
  end)

  it("sends and shows what arrives on a pair socket", function()
    local pair, url = listening("pair")
    local finish = start("--pair --dial " .. url .. [[ --data '{"hi":1}' --timeout 1]])
    helper.assert_same({ hi = 1 }, pair:recv())
    assert(pair:send("back"))
    local out, status = finish()
    assert.are.equal(0, status, out)
    assert.matches('MessagePack  "back"', out, 1, true)
  end)

  it("shows a pynng peer's tagged and bare messages, and sends it bare ones", function()
    local url = ipc_url()
    local finish = start("--pull --listen " .. url .. " --count 2 --timeout 20")
    local out, ok = helper.run(PATH .. helper.python .. " " .. here .. "/peers/pynng_cat_peer.py send " .. url)
    assert(ok, out)
    local shown, status = finish()
    assert.are.equal(0, status, shown)
    local got = lines_of(shown)
    assert.matches('MessagePack  {frame = {buffer = <gray8, 64 bytes: 00 01 02 03 04 05 06 07 ...>, '
      .. 'buffer_ud_size = 64, buffer_ud_type = "gray8", width = 8}, from = "pynng"}', got[1], 1, true)
    assert.are.equal(line(13, "-", '"\\x82\\xa4bare\\xc3\\xa1n\\x93\\x01\\x02\\x03"'), without_time(got[2]))

    -- Bare MessagePack both ways with --untagged.
    url = ipc_url()
    local python_peer = PATH .. helper.python .. " " .. here .. "/peers/pynng_cat_peer.py "
    local peer = assert(io.popen(python_peer .. "receive " .. url .. " 2>&1"))
    out = cat("--push --dial " .. url .. [[ --untagged --data '{"to":"python","n":[1,2]}']])
    local printed = peer:read("*a")
    peer:close()
    assert.are.equal('{"n": [1, 2], "to": "python"}\n', printed, out)
  end)

  it("reads bare payloads with --untagged", function()
    local push, url = listening("push", { tagged = false, protocol = "json" })
    local finish = start("--pull --dial " .. url .. " --untagged --protocol json --count 1 --timeout 10")
    assert(push:send({ plain = "json" }))
    local out, status = finish()
    assert.are.equal(0, status, out)
    assert.are.equal(line(16, "JSON", '{plain = "json"}'), without_time(lines_of(out)[1]))
  end)

  it("dials over TLS with the TLS options", function()
    local pki = os.tmpname()
    os.remove(pki)
    local made = os.execute(here .. "/support/make_certs.sh " .. pki .. " >/dev/null")
    assert(made == true or made == 0, "openssl could not make the test certificates")
    local push = helper.socket("push", { send_timeout = 10000 })
    local listener = assert(push:listen("tls+tcp://127.0.0.1:0",
      { tls = { cert_file = pki .. "/server.crt", key_file = pki .. "/server.key" } }))
    local url = "tls+tcp://localhost:" .. listener:port()
    local finish = start("--pull --dial " .. url .. " --tls-ca " .. pki .. "/ca.crt --count 1 --timeout 10")
    assert(push:send({ secret = "kept" }))
    local out, status = finish()
    assert.are.equal(0, status, out)
    assert.matches('{secret = "kept"}', out, 1, true)
    -- A CA that did not sign the server's certificate: no message comes.
    out, status = cat("--pull --dial " .. url .. " --tls-ca " .. pki .. "/other-ca.crt --count 1 --timeout 1")
    assert.are.equal(1, status)
    assert.matches("0 of 1 messages came, then: ", out, 1, true)
    push:close()
    os.execute("rm -r " .. pki)
  end)

  it("escapes everything a terminal would act on, in every field, with --stream and --json too", function()
    local hostile = "\27]0;OWNED\7\27[2J\27[31m"
    local c1, bidi = "\194\155", "\226\128\174\226\129\166\216\156\226\128\142\226\128\170"
    local value = { ["k" .. c1 .. "ey" .. bidi] = "v" .. hostile .. "\127" .. c1 .. bidi, plain = "\155 raw C1",
      frame = { buffer = buffer_of(4), buffer_ud_type = hostile .. c1 }, ext = nml.ext(1, "\27[2J") }
    value[hostile] = true
    local bodies = {
      "\193\0" .. string.char(#hostile) .. hostile .. "payload",   -- a protocol name that is all escapes
      nml.wrap(value, nil, { topic = "t" .. hostile .. bidi }),   -- topic, keys, values, buffer type
      "bare " .. hostile .. c1 .. bidi,                             -- no envelope: the bytes, valid UTF-8
      "\193\002{" .. hostile,                                     -- an error line
    }
    local capture = os.tmpname()
    local frames = {}
    for i, body in ipairs(bodies) do frames[i] = nml.frame(body) end
    write_file(capture, table.concat(frames))
    local out, status = cat("--stream < " .. capture)
    assert.are.equal(0, status, out)
    assert.is_nil(terminal_unsafe(out), out)
    assert.are.equal(#bodies, #lines_of(out), out)
    assert.matches("\\x1b]0;OWNED\\x07\\x1b[2J\\x1b[31m", out, 1, true)
    assert.matches("\\u{9b}", out, 1, true)
    assert.matches("\\u{202e}\\u{2066}\\u{61c}\\u{200e}\\u{202a}", out, 1, true)
    assert.matches("\\x9b raw C1", out, 1, true)
    assert.matches("<\\x1b]0;OWNED", out, 1, true)   -- the buffer's type
    -- The same through a socket, and one JSON object per message whose strings read back whole.
    local push, url = listening("push", { tagged = false, protocol = "string" })
    local finish = start("--pull --dial " .. url .. " --count " .. #bodies .. " --timeout 10")
    for _, body in ipairs(bodies) do assert(push:send(body)) end
    local shown
    shown, status = finish()
    assert.are.equal(0, status, shown)
    assert.is_nil(terminal_unsafe(shown), shown)
    out, status = cat("--stream --json < " .. capture)
    assert.are.equal(0, status, out)
    assert.is_nil(terminal_unsafe(out), out)
    local second = assert(nml.decode(lines_of(out)[2], "json"))
    assert.are.equal("t" .. hostile .. bidi, second.topic)
    assert.are.equal(value["k" .. c1 .. "ey" .. bidi], second.value["k" .. c1 .. "ey" .. bidi])
    assert.are.equal(hostile .. c1, second.value.frame.buffer_ud_type)
    assert.are.equal("bare " .. hostile .. c1 .. bidi, assert(nml.decode(lines_of(out)[3], "json")).value)
    os.remove(capture)
  end)

  it("shows a prefix of a large body for the work the prefix takes", function()
    -- Under a limit of CPU seconds, which a loaded machine does not eat into as it does the
    -- wall clock: before, these took 2 s (the string, each) and 40 s (the hex of the body).
    local capture = os.tmpname()
    local big = nml.frame(nml.wrap(string.rep("y", 16 * 1024 * 1024)))
    write_file(capture, big .. big .. big .. big)
    local out, status = shell("ulimit -t 4; " .. CAT .. " --stream < " .. capture)
    assert.are.equal(0, status, out)
    assert.are.equal(4, #lines_of(out))
    assert.matches('"' .. string.rep("y", 64) .. '"...(16777216 bytes)', out, 1, true)
    write_file(capture, nml.frame("\193\002{" .. string.rep("x", 32 * 1024 * 1024)))
    out, status = shell("ulimit -t 4; " .. CAT .. " --stream --json < " .. capture)
    assert.are.equal(0, status, #out < 1000 and out or #out .. " bytes")
    assert.is_true(#out < 2048, #out .. " bytes of output")
    local shown = assert(nml.decode(out, "json"))
    assert.are.equal(32 * 1024 * 1024 + 3, shown.size)
    assert.are.equal("c1027b" .. string.rep("78", 253), shown.hex)
    os.remove(capture)
  end)

  it("bounds each --json line unless --full, marking every cut with $cut", function()
    -- Before, a 16 MiB string of ESC bytes made a 100 MB line, a million integers 6.9 MB, 2 MB
    -- of keys 12 MB. Under a limit of CPU seconds, as the spec above.
    local deep = {}
    for _ = 1, 100 do deep = { deep } end
    local wide = {}
    for i = 1, 1000 do wide[string.format("k%04d", i)] = string.rep("\27", 4096) end
    local ints, keys = {}, {}
    for i = 1, 1000000 do ints[i] = i end
    for i = 1, 200000 do keys[string.format("key%06d", i)] = i end
    local bodies = {
      nml.wrap(string.rep("\27", 16 * 1024 * 1024)),             -- escaping would make it 6 times larger
      nml.wrap(ints),
      nml.wrap(keys),
      nml.wrap(deep),
      nml.wrap(string.rep("\255", 16 * 1024 * 1024)),            -- not UTF-8: hex
      nml.wrap(wide),                                             -- 1,000 entries of 4 KiB each
      nml.wrap(nml.ext(1, string.rep("e", 1024 * 1024))),
      nml.wrap("v", nil, { topic = string.rep("\27", 1024 * 1024) }),
    }
    local frames = {}
    for i, body in ipairs(bodies) do frames[i] = nml.frame(body) end
    local capture = os.tmpname()
    write_file(capture, table.concat(frames))
    local out, status = shell("ulimit -t 8; " .. CAT .. " --stream --json < " .. capture)
    assert.are.equal(0, status, #out < 1000 and out or #out .. " bytes")
    local got = lines_of(out)
    assert.are.equal(#bodies, #got)
    local bounds = { 32768, 16384, 32768, 4096, 16384, 2 * 1024 * 1024, 32768, 32768 }
    for i, l in ipairs(got) do
      assert.is_true(#l < bounds[i], "line " .. i .. " has " .. #l .. " bytes")
    end
    local v = assert(nml.decode(got[1], "json")).value
    assert.are.same({ ["$cut"] = 16 * 1024 * 1024, ["$prefix"] = string.rep("\27", 4096) }, v)
    v = assert(nml.decode(got[2], "json")).value
    assert.are.equal(1001, #v)
    assert.are.equal(1000, v[1000])
    assert.are.same({ ["$cut"] = 1000000 }, v[1001])
    v = assert(nml.decode(got[3], "json")).value
    local count = 0
    for _ in pairs(v) do count = count + 1 end
    assert.are.equal(1001, count)
    assert.are.equal(200000, v["$cut"])
    v = assert(nml.decode(got[4], "json")).value
    local depth = 0
    while v[1] do v, depth = v[1], depth + 1 end
    assert.are.equal(1, v["$cut"])
    assert.is_true(depth >= 16 and depth < 100, depth .. " levels shown")
    v = assert(nml.decode(got[5], "json")).value
    assert.are.same({ ["$cut"] = 16 * 1024 * 1024, ["$hex"] = string.rep("ff", 4096) }, v)
    v = assert(nml.decode(got[6], "json")).value
    assert.are.equal(1000, v["$cut"])
    v = assert(nml.decode(got[7], "json")).value
    assert.are.same({ ["$ext"] = 1, ["$cut"] = 1024 * 1024, ["$hex"] = string.rep("65", 4096) }, v)
    local topic = assert(nml.decode(got[8], "json")).topic
    assert.are.same({ ["$cut"] = 1024 * 1024, ["$prefix"] = string.rep("\27", 4096) }, topic)
    -- Without --json, a long topic is cut as strings are.
    write_file(capture, frames[8])
    out, status = shell(CAT .. " --stream < " .. capture)
    assert.are.equal(0, status, out)
    assert.is_true(#out < 2048, #out .. " bytes")
    assert.matches('"...(1048576 bytes)', out, 1, true)
    -- --full shows everything.
    local some = {}
    for i = 1, 1500 do some[i] = i end
    write_file(capture, nml.frame(nml.wrap({ text = string.rep("x", 5000), list = some })))
    out, status = shell(CAT .. " --stream --json --full < " .. capture)
    assert.are.equal(0, status, out)
    v = assert(nml.decode(out, "json")).value
    assert.are.same({ text = string.rep("x", 5000), list = some }, v)
    os.remove(capture)
  end)

  it("says why nothing came or went when the peer it reached was refused", function()
    local sub, url = listening("sub")
    local out, status = cat("--sub --dial " .. url .. " --timeout 0.5")
    assert.are.equal(0, status, out) -- a timeout without --count ends a receive normally
    assert.matches("nml-cat: nothing came: Timed out (no peer is connected: the last to connect, "
      .. url:sub(7) .. ", was refused: it is a sub socket, and a sub talks to a pub", out, 1, true)
    sub:close()
    local rep
    rep, url = listening("rep")
    out, status = cat("--push --dial " .. url .. " --data 1 --timeout 0.5")
    assert.are.equal(1, status, out)
    assert.matches("0 of 1 messages sent, then: Timed out (no peer is connected: the last to "
      .. "connect, " .. url:sub(7) .. ", was refused: it is a rep socket, and a push talks to a pull", out, 1, true)
    rep:close()
  end)

  it("says what is wrong with a command line, with exit status 2", function()
    local cases = {
      { "--pull --dial", "--dial needs a value" },
      { "--pull --listen ipc:///x --bogus", "unknown option --bogus" },
      { "--listen ipc:///x", "a socket kind" },
      { "--pull --push --listen ipc:///x", "one socket kind: --pull or --push" },
      { "--pull", "--listen URL or --dial URL is needed" },
      { "--push --dial ipc:///x", "--push sends: give --data or --file" },
      { "--pull --dial ipc:///x --data 1", "--pull only receives" },
      { "--pull --dial ipc:///x --count two", "--count wants a whole number" },
      { "--pull --dial ipc:///x --timeout -1", "--timeout wants a number of seconds" },
      { "--push --dial ipc:///x --data 1 --protocol yaml", "--protocol: " },
      { "--pull --dial ipc:///x --json --raw", "one of --json, --hex, --raw, --frames" },
      { "--pull --dial ipc:///x --subscribe a", "--subscribe is for --sub" },
      { "--sub --dial ipc:///x --tls-auth maybe", "--tls-auth is none, optional or required" },
      { "--stream --dial ipc:///x", "--stream reads standard input" },
      { "stray", 'unexpected argument "stray"' },
    }
    for _, case in ipairs(cases) do
      local out, status = cat(case[1])
      assert.are.equal(2, status, case[1] .. ": " .. out)
      assert.matches(case[2], out, 1, true)
    end
    -- Run-time failures are status 1: an address that cannot be used, a count not reached.
    local out, status = cat("--pull --listen nope://x")
    assert.are.equal(1, status)
    assert.matches("cannot listen on nope://x", out, 1, true)
    -- Once, and in nml-cat's own terms: its flags, not the library's option names.
    out, status = cat("--pull --listen tls+tcp://127.0.0.1:0 --timeout 0.2")
    assert.are.equal(1, status)
    assert.matches("nml-cat: cannot listen on tls+tcp://127.0.0.1:0: a TLS listener needs its certificate: "
      .. "--tls-cert and --tls-key", out, 1, true)
    assert.is_nil(out:find("cannot listen on tls+tcp://127.0.0.1:0: cannot listen", 1, true), out)
    out, status = cat("--pull --dial " .. ipc_url() .. " --count 1 --timeout 0.2")
    assert.are.equal(1, status)
    assert.matches("0 of 1 messages came, then: ", out, 1, true)
    -- Without --count, a timeout ends a receive normally.
    assert.are.equal(0, select(2, cat("--pull --dial " .. ipc_url() .. " --timeout 0.2")))
  end)

  it("has a --help that names every option it takes, and takes every option it names", function()
    local help, status = cat("--help")
    assert.are.equal(0, status)
    local source = helper.read_file(root .. "/bin/nml-cat")
    local parsed = {}
    for block in source:gmatch("local KINDS = (%b{})") do
      for name in block:gmatch('"([%w-]+)"') do parsed[name] = true end
    end
    for block in source:gmatch("local VALUED = (%b{})") do
      for name in block:gmatch('%[?"?([%w-]+)"?%]? = {') do parsed[name] = true end
    end
    for block in source:gmatch("local TLS = (%b{})") do
      for name in block:gmatch('flag = "([%w-]+)"') do parsed[name] = true end
    end
    for block in source:gmatch("local FLAGS = (%b{})") do
      for name in block:gmatch("([%w-]+) = true") do parsed[name] = true end
    end
    assert.is_true(parsed.listen and parsed.full and parsed.respondent and parsed["tls-ca"] and true)
    for name in pairs(parsed) do
      local pattern = "%-%-" .. name:gsub("%-", "%%-") .. "%f[^%w-]"
      assert.is_truthy(help:find(pattern), "--" .. name .. " is not in --help")
    end
    for name in help:gmatch("%-%-([%a][%w-]*)") do
      assert.is_true(parsed[name], "--help names --" .. name .. ", which nml-cat does not take")
    end
    assert.matches("^nml%-cat %(nml ", cat("--version"))
  end)
end)
