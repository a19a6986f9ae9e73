//! The JSON decoder through a real Lua state: what decodes encodes again and decodes the same.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "harness.rs"]
mod harness;

const CHECK: &str = r#"
return function(data)
  local ok, v = pcall(nml.decode, data, "json")
  if not ok or v == nil then return end
  local encoded = nml.encode(v, "json")
  local again = nml.decode(encoded, "json")
  if not same(v, again) then error("FINDING: JSON round trip changed the value") end
  nml.pack(v) -- and it packs as MessagePack
end
"#;

fuzz_target!(|data: &[u8]| {
    harness::run(CHECK, data);
});
