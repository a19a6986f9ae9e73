//! The MessagePack unpacker through a real Lua state: from a string and from a message (views),
//! every value packed again and compared.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "harness.rs"]
mod harness;

const CHECK: &str = r#"
return function(data)
  local values = table.pack(pcall(nml.unpack, data))
  if not values[1] then return end
  -- Everything unpacked packs again, and unpacks to the same values.
  local repacked = nml.pack(table.unpack(values, 2, values.n))
  local again = table.pack(nml.unpack(repacked))
  for i = 2, values.n do
    local a, b = values[i], again[i - 1]
    if type(a) == "userdata" or type(b) == "userdata" then -- descriptors' buffers: messages
    elseif not same(a, b) then error("FINDING: round trip changed value " .. (i - 1)) end
  end
  -- From a message, buffers are views into it.
  local m = nml.allocmsg(#data)
  m:write(0, data)
  pcall(nml.unpack, m)
  pcall(nml.unpack, data, 0, { buffers = "string" })
  local offset = 0
  while offset < #data do
    local v, next_offset = nml.unpack_one(data, offset)
    if v == nil and type(next_offset) == "string" then break end
    offset = next_offset
  end
end
"#;

fuzz_target!(|data: &[u8]| {
    harness::run(CHECK, data);
});
