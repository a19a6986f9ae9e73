//! The envelope parser, alone and as a received message: bytes sent bare over inproc arrive at
//! tagged pair and sub sockets, which parse them and decode what they say they carry.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "harness.rs"]
mod harness;

const CHECK: &str = r#"
local bare = assert(nml.socket("pair", { tagged = false, protocol = "string" }))
local tagged = assert(nml.socket("pair", { recv_timeout = 1000 }))
assert(tagged:listen("inproc://fuzz-envelope"))
assert(bare:dial("inproc://fuzz-envelope"))
local pub = assert(nml.socket("pub", { tagged = false, protocol = "string" }))
local sub = assert(nml.socket("sub", { recv_timeout = 1000 }))
assert(sub:subscribe(""))
assert(pub:listen("inproc://fuzz-envelope-sub"))
assert(sub:dial("inproc://fuzz-envelope-sub"))
return function(data)
  assert(bare:send(data))
  local v, err, code = tagged:recv()
  if v == nil and code ~= "malformed" and code ~= "too_large" then
    error("FINDING: recv failed with " .. tostring(code) .. ": " .. tostring(err))
  end
  assert(pub:send(data))
  v, err, code = sub:recv()
  if v == nil and code ~= "malformed" and code ~= "too_large" then
    error("FINDING: sub recv failed with " .. tostring(code) .. ": " .. tostring(err))
  end
end
"#;

fuzz_target!(|data: &[u8]| {
    for topics in [false, true] {
        let _ = nml::envelope::parse(data, topics);
    }
    harness::run(CHECK, data);
});
