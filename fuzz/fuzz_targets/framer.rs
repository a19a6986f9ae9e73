//! The framer: the input is a byte stream fed in chunks whose sizes the input's first byte
//! picks; every payload it yields is unpacked, and the same stream fed whole yields the same.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "harness.rs"]
mod harness;

const CHECK: &str = r#"
local function frames(data, step)
  local f = nml.framer { max_size = 1 << 20 }
  local out = {}
  for i = 1, #data, step do
    local ok = f:feed(data:sub(i, i + step - 1))
    -- Frames completed before a bad length are still delivered.
    for payload in f:messages() do out[#out + 1] = payload end
    if not ok then return out, true end
  end
  return out, false
end

return function(data)
  if #data == 0 then return end
  local step = data:byte(1) % 17 + 1
  local stream = data:sub(2)
  local chunked, failed_chunked = frames(stream, step)
  local whole, failed_whole = frames(stream, #stream + 1)
  if failed_chunked ~= failed_whole or #chunked ~= #whole then
    error("FINDING: chunked and whole feeding disagree")
  end
  for i = 1, #whole do
    if chunked[i] ~= whole[i] then error("FINDING: frame " .. i .. " differs") end
    pcall(nml.unpack, whole[i])
  end
end
"#;

fuzz_target!(|data: &[u8]| {
    harness::run(CHECK, data);
});
